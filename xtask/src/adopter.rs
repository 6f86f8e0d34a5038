//! `cargo xtask adopter`: a seller's project outside this workspace builds, ships and runs.
//!
//! As a new adopter would: a fresh Cargo project in a scratch directory under the system temp
//! dir depends on `adcp-server` and `adcp-types` by path, with the minimal seller example
//! (`crates/adcp-server/examples/minimal_seller.rs`) pasted in as its `main.rs`. Its release
//! binary is copied alone into an empty directory; the minimal-seller integration test then
//! starts that copy with no environment variable at all (strict validation on, so the schemas
//! must be the embedded ones) and drives it over MCP as a buyer: a typed `get_products`, a
//! handed-off brief with exactly one signed webhook, `get_task_status`, `create_media_buy`,
//! `get_signals`.
//!
//! The project builds into the workspace's `target/` (so dependencies compiled by earlier steps
//! are reused) from a copy of the workspace's `Cargo.lock` (the versions CI already vetted).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::util::{cargo, remove_dir, run, workspace_root};

/// The adopter's package and binary name.
const NAME: &str = "my-seller";

/// Builds the adopter project, copies its binary alone, and drives it.
pub(crate) fn run_adopter() -> Result<()> {
    let root = workspace_root();
    let scratch = std::env::temp_dir().join(format!("adcp-adopter-{}", std::process::id()));
    remove_dir(&scratch)?;
    let project = scratch.join(NAME);
    std::fs::create_dir_all(project.join("src"))?;
    std::fs::write(project.join("Cargo.toml"), manifest(&root))?;
    std::fs::copy(
        root.join("crates/adcp-server/examples/minimal_seller.rs"),
        project.join("src/main.rs"),
    )
    .context("pasting the minimal seller in")?;
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock"))?;

    let target = root.join("target");
    run(cargo()
        .current_dir(&project)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("ADCP_SCHEMAS_DIR")
        .args(["build", "--release"]))?;

    let shipped = scratch.join("shipped");
    std::fs::create_dir_all(&shipped)?;
    let binary = shipped.join(NAME);
    std::fs::copy(target.join("release").join(NAME), &binary)
        .context("copying the release binary alone")?;

    run(cargo().env("ADCP_MINIMAL_SELLER_BINARY", &binary).args([
        "nextest",
        "run",
        // The features the workspace tests build with, so CI reuses that test binary.
        "--all-features",
        "-p",
        "adcp-server",
        "--test",
        "integration",
        "--no-fail-fast",
        "minimal_seller::",
    ]))?;
    // The test leaves this marker only when it drove the shipped binary, so a test run that
    // fell back to its in-process seller cannot pass this step.
    if !scratch.join("driven").is_file() {
        anyhow::bail!("the minimal-seller test did not drive the shipped binary");
    }
    remove_dir(&scratch)?;
    eprintln!("adopter: a project outside the workspace built, shipped and served a buyer");
    Ok(())
}

/// The adopter's `Cargo.toml`: the two SDK crates by path, the runtime crates from crates.io,
/// and the release profile this workspace recommends for the generated types.
fn manifest(root: &Path) -> String {
    let path = |krate: &str| -> PathBuf { root.join("crates").join(krate) };
    format!(
        r#"[package]
name = "{NAME}"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
adcp-server = {{ path = "{server}" }}
adcp-types = {{ path = "{types}" }}
async-trait = "0.1"
tokio = {{ version = "1", features = ["rt-multi-thread", "macros", "net", "time", "signal"] }}
tracing = "0.1"

# adcp-types is ~200k lines of generated serde code: opt-level 1 builds it in a fraction of
# the time for the same request latency.
[profile.release]
debug = "line-tables-only"

[profile.release.package.adcp-types]
opt-level = 1

# A project of its own, not a member of any enclosing workspace.
[workspace]
"#,
        server = path("adcp-server").display(),
        types = path("adcp-types").display(),
    )
}
