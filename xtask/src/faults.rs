//! `cargo xtask faults [ARGS]`: the fault suite (`tests/faults`, package `adcp-faults`) against
//! the release demo seller built with `--features postgres` and a real PostgreSQL
//! (`DATABASE_URL`, or a throwaway cluster started for the run and stopped after it). ARGS go
//! to `adcp-faults` (e.g. `--only 9`). The table is printed and written to
//! `target/faults/report.json`; any loss, stall past a bound or crash fails the command.

use std::process::Command;

use anyhow::Result;

use crate::ci::with_database;
use crate::release;
use crate::schemas;
use crate::util::{run, workspace_root};

/// Builds the release demo seller and the suite (`release::build`), then runs the suite.
pub(crate) fn run_faults(args: &[String]) -> Result<()> {
    schemas::materialise()?;
    let binaries = release::build()?;
    with_database(|database_url| {
        let mut suite = Command::new(&binaries.faults);
        suite
            .current_dir(workspace_root())
            .arg("--demo")
            .arg(&binaries.demo)
            .args(["--report", "target/faults/report.json"])
            .args(["--logs", "target/faults/logs"])
            .args(args);
        if let Some(url) = database_url {
            suite.env("DATABASE_URL", url);
        }
        run(&mut suite)
    })
}
