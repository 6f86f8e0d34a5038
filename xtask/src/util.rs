//! Helpers shared by the commands: workspace paths, running tools, and fresh-file checks.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs `cmd`, streaming its output, and fails with the command line when it exits non-zero.
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Removes `dir` and everything below it; a folder that is already gone is fine.
pub(crate) fn remove_dir(dir: &std::path::Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", dir.display()))
        }
        _ => Ok(()),
    }
}

/// A `cargo` command run from the workspace root.
pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

/// Writes `contents` to `path`, or in check mode fails with a unified diff and the command to run.
///
/// Returns whether the file changed (always `false` in check mode, which fails instead).
pub(crate) fn ensure_file_contents(
    path: &Path,
    contents: &str,
    check: bool,
    regenerate_with: &str,
) -> Result<bool> {
    let current = std::fs::read_to_string(path).unwrap_or_default();
    if current == contents {
        return Ok(false);
    }
    if check {
        let diff = similar::TextDiff::from_lines(&current, contents);
        let mut shown = diff
            .unified_diff()
            .context_radius(2)
            .header("committed", "regenerated")
            .to_string();
        if shown.len() > 8_000 {
            shown.truncate(8_000);
            shown.push_str("\n... (diff truncated)\n");
        }
        bail!(
            "{} is stale:\n{shown}\nrun `{regenerate_with}` and commit",
            path.strip_prefix(workspace_root())
                .unwrap_or(path)
                .display()
        );
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    Ok(true)
}

/// Formats Rust source with rustfmt (edition 2024), so generated files match `cargo fmt`.
pub(crate) fn rustfmt(source: &str) -> Result<String> {
    use std::io::Write;
    let mut child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .current_dir(workspace_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("could not start rustfmt (rustup component add rustfmt)")?;
    let mut stdin = child.stdin.take().context("rustfmt stdin")?;
    let input = source.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("rustfmt writer panicked"))??;
    if !output.status.success() {
        bail!(
            "rustfmt failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}
