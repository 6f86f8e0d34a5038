//! `cargo xtask faults [ARGS]`: the fault suite (`tests/faults`, package `adcp-faults`) against
//! the release demo seller built with `--features postgres` and a real PostgreSQL
//! (`DATABASE_URL`, or a throwaway cluster started for the run and stopped after it). ARGS go
//! to `adcp-faults` (e.g. `--only 9`). The table is printed and written to
//! `target/faults/report.json`; any loss, stall past a bound or crash fails the command.

use anyhow::Result;

use crate::ci::with_database;
use crate::schemas;
use crate::util::{cargo, run, workspace_root};

/// Builds the release demo seller and the suite, then runs the suite.
pub(crate) fn run_faults(args: &[String]) -> Result<()> {
    schemas::materialise()?;
    let demo = crate::conformance::release_demo()?;
    run(cargo().args(["build", "--quiet", "-p", "adcp-faults"]))?;
    with_database(|database_url| {
        let mut suite = cargo();
        suite
            .current_dir(workspace_root())
            .args(["run", "--quiet", "-p", "adcp-faults", "--", "--demo"])
            .arg(&demo)
            .args(["--report", "target/faults/report.json"])
            .args(["--logs", "target/faults/logs"])
            .args(args);
        if let Some(url) = database_url {
            suite.env("DATABASE_URL", url);
        }
        run(&mut suite)
    })
}
