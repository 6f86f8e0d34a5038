//! The release binaries `demo`, `conformance` and `faults` run, built by one `cargo build` so
//! that they share one compilation of every dependency (features unified across the four), and
//! run from `target/release/` directly: no `cargo run`, whose own feature set would compile
//! `adcp-types` once more.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::util::{cargo, run, workspace_root};

/// Paths of the built release binaries.
#[derive(Debug)]
pub(crate) struct ReleaseBinaries {
    /// The demo seller, with PostgreSQL support (used only with `--database-url`).
    pub(crate) demo: PathBuf,
    /// The `adcp` command.
    pub(crate) adcp: PathBuf,
    /// The storyboard runner's own binary.
    pub(crate) conformance: PathBuf,
    /// The fault suite.
    pub(crate) faults: PathBuf,
}

/// Builds (or finds fresh) every release binary the commands run and returns their paths.
pub(crate) fn build() -> Result<ReleaseBinaries> {
    run(cargo().args([
        "build",
        "--release",
        "--features",
        "adcp-demo-seller/postgres",
        "-p",
        "adcp-demo-seller",
        "--bin",
        "demo_seller",
        "-p",
        "adcp-cli",
        "--bin",
        "adcp",
        "-p",
        "adcp-conformance",
        "--bin",
        "adcp-conformance",
        "-p",
        "adcp-faults",
        "--bin",
        "adcp-faults",
    ]))?;
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("release");
    let binary = |name: &str| -> Result<PathBuf> {
        let path = dir.join(name);
        if !path.is_file() {
            bail!("the release build left no {} binary", path.display());
        }
        Ok(path)
    };
    Ok(ReleaseBinaries {
        demo: binary("demo_seller")?,
        adcp: binary("adcp")?,
        conformance: binary("adcp-conformance")?,
        faults: binary("adcp-faults")?,
    })
}
