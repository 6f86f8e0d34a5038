//! `cargo xtask package-check`: the packaged `adcp-types` builds and validates on its own.
//!
//! The crate embeds the pinned schemas at build time, and the schemas are never committed, so a
//! package must carry a copy: the materialised `schemas/<version>/` is copied into the
//! git-ignored `crates/adcp-types/schemas/<version>/` (the crate's `include` list takes it,
//! though git ignores it), packaged with `cargo package`, and the copy removed again. The
//! `.crate` is then unpacked in a fresh directory under the system temp dir, where no workspace
//! file is reachable, and its unit tests and `tests/embedded.rs` run there with the package's
//! own `Cargo.lock`, without `ADCP_SCHEMAS_DIR`, into `target/package-check` (never the
//! workspace's build output).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::schemas::{self, Pin};
use crate::util::{cargo, remove_dir, run, workspace_root};

const CRATE: &str = "adcp-types";

/// Packages `adcp-types` with its schemas, then builds and tests the package outside the
/// workspace. Leaves the unpacked package in place when its tests fail.
pub(crate) fn run_package_check() -> Result<()> {
    let schemas = schemas::materialise()?;
    let version = Pin::load()?.version;
    let target = workspace_root().join("target/package-check");
    let package = package_with_schemas(&schemas, &version, &target)?;

    let scratch =
        std::env::temp_dir().join(format!("{CRATE}-package-check-{}", std::process::id()));
    remove_dir(&scratch)?;
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&package)
        .arg("-C")
        .arg(&scratch))?;
    let unpacked = scratch.join(
        package
            .file_stem()
            .context("a .crate file is named <crate>-<version>.crate")?,
    );
    if !unpacked.join("Cargo.lock").is_file() {
        // Older cargo packages a library without its lock file: use the workspace's.
        std::fs::copy(
            workspace_root().join("Cargo.lock"),
            unpacked.join("Cargo.lock"),
        )
        .context("copying Cargo.lock into the unpacked package")?;
    }

    let mut tests = cargo();
    tests
        .current_dir(&unpacked)
        .env_remove("ADCP_SCHEMAS_DIR")
        .env("CARGO_TARGET_DIR", &target)
        .args([
            "test",
            "--locked",
            "--offline",
            "--features",
            "full",
            "--lib",
            "--test",
            "embedded",
        ]);
    run(&mut tests)
        .with_context(|| format!("the packaged crate failed in {}", unpacked.display()))?;
    remove_dir(&scratch)?;
    eprintln!(
        "package-check: {} builds and validates on its own",
        package.display()
    );
    Ok(())
}

/// Copies the schema folder into the crate, runs `cargo package`, and removes the copy whatever
/// happened. Returns the path of the `.crate`.
fn package_with_schemas(schemas: &Path, version: &str, target: &Path) -> Result<PathBuf> {
    let copy = workspace_root().join("crates").join(CRATE).join("schemas");
    remove_dir(&copy)?;
    let packaged = copy_tree(schemas, &copy.join(version)).and_then(|()| package(target));
    remove_dir(&copy)?;
    packaged
}

/// `cargo package` into `<target>/package/`, emptied first so the one `.crate` there is ours.
fn package(target: &Path) -> Result<PathBuf> {
    let out = target.join("package");
    remove_dir(&out)?;
    // `--no-verify`: the unpacked package is built and tested outside the workspace instead.
    run(cargo()
        .args([
            "package",
            "-p",
            CRATE,
            "--no-verify",
            "--allow-dirty",
            "--target-dir",
        ])
        .arg(target))?;
    let mut crates = std::fs::read_dir(&out)
        .with_context(|| format!("reading {}", out.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "crate"))
        .collect::<Vec<_>>();
    match (crates.pop(), crates.is_empty()) {
        (Some(found), true) => Ok(found),
        _ => bail!("expected one .crate in {}", out.display()),
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let path = entry?.path();
        let dest = to.join(path.file_name().context("a directory entry has a name")?);
        if path.is_dir() {
            copy_tree(&path, &dest)?;
        } else {
            std::fs::copy(&path, &dest)
                .with_context(|| format!("copying {} to {}", path.display(), dest.display()))?;
        }
    }
    Ok(())
}
