//! `adcp demo [ARGS…]`: runs the demo seller binary (`demo_seller`), found next to `adcp` or on
//! the PATH, with ARGS passed through.

use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;

use crate::cli::EXIT_STATUS;
use crate::error::{CliError, Outcome};

/// The demo seller's binary name.
const DEMO_BINARY: &str = "demo_seller";

/// `adcp demo`.
#[derive(Debug, Args)]
#[command(
    after_help = EXIT_STATUS,
    long_about = "Run the demo seller: MCP at http://127.0.0.1:3001/mcp and A2A at /a2a, in-memory \
stores (--database-url for PostgreSQL). ARGS go to it unchanged; `adcp demo -- --help` lists them. \
It is a separate binary: install it with \
`cargo install --path crates/adcp-demo-seller --bin demo_seller` (next to adcp or on the PATH). \
The exit status is the demo seller's."
)]
pub(crate) struct DemoArgs {
    /// Arguments for demo_seller (e.g. --addr 127.0.0.1:3002 --curation-ms 200).
    #[arg(
        value_name = "ARGS",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(crate) args: Vec<String>,
}

/// Runs the demo seller in the foreground; on Unix it replaces this process, so signals
/// (Ctrl-C, SIGTERM) reach it directly.
pub(crate) fn run(args: &DemoArgs) -> Result<Outcome, CliError> {
    let binary = find().ok_or_else(|| {
        CliError::Demo(format!(
            "{DEMO_BINARY} not found next to adcp or on the PATH; install it with `cargo install --path crates/adcp-demo-seller --bin {DEMO_BINARY}`"
        ))
    })?;
    let mut command = Command::new(&binary);
    command.args(&args.args);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let error = command.exec();
        Err(CliError::Demo(format!(
            "cannot start {}: {error}",
            binary.display()
        )))
    }
    #[cfg(not(unix))]
    {
        let status = command.status().map_err(|error| {
            CliError::Demo(format!("cannot start {}: {error}", binary.display()))
        })?;
        Ok(Outcome::from_ok(status.success()))
    }
}

/// `demo_seller` next to the running executable, else the first on the PATH.
fn find() -> Option<PathBuf> {
    let name = format!("{DEMO_BINARY}{}", std::env::consts::EXE_SUFFIX);
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(&name)));
    beside
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .into_iter()
                .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
                .map(|dir| dir.join(&name)),
        )
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}
