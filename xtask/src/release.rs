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
    /// The fault suite (and, with `--bench`, the demo process bench).
    pub(crate) faults: PathBuf,
    /// `target/release`, where the binaries `build_with` added are.
    pub(crate) dir: PathBuf,
}

/// Builds (or finds fresh) every release binary the commands run and returns their paths.
pub(crate) fn build() -> Result<ReleaseBinaries> {
    build_with(&[])
}

/// [`build`], plus the demo package's binaries named in `more` (the benches) in the same
/// invocation, so they share its dependencies' compilation too.
pub(crate) fn build_with(more: &[&str]) -> Result<ReleaseBinaries> {
    let mut command = cargo();
    command.args([
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
    ]);
    for bin in more {
        command.args(["--bin", bin]);
    }
    run(&mut command)?;
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
        .join("release");
    Ok(ReleaseBinaries {
        demo: binary_in(&dir, "demo_seller")?,
        adcp: binary_in(&dir, "adcp")?,
        conformance: binary_in(&dir, "adcp-conformance")?,
        faults: binary_in(&dir, "adcp-faults")?,
        dir,
    })
}

/// The built binary `name` in `dir`, or why there is none.
pub(crate) fn binary_in(dir: &std::path::Path, name: &str) -> Result<PathBuf> {
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        bail!("the release build left no {} binary", path.display());
    }
    Ok(path)
}
