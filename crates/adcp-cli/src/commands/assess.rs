//! `adcp assess URL`: grade the agent against every storyboard that applies to it.

use clap::Args;

use crate::cli::EXIT_STATUS;
use crate::commands::grade::{self, GradeArgs, Selection};
use crate::error::{CliError, Outcome};

/// `adcp assess`.
#[derive(Debug, Args)]
#[command(
    after_help = EXIT_STATUS,
    long_about = "Grade the agent as a buyer's compliance check does: every universal \
storyboard, the baseline of each protocol it supports, the bundle of each specialism it \
declares and the scenarios those bundles require, run back to back. A claimed specialism's gaps \
fail: a required tool the agent does not advertise, a required scenario gated on a capability \
it does not declare, a required step skipped for a missing tool. Everything else that does not \
apply is reported not applicable, with the reason. Progress is shown live on a terminal and as \
plain lines otherwise; the table (or --json) goes to standard output."
)]
pub(crate) struct AssessArgs {
    /// The run's options.
    #[command(flatten)]
    pub(crate) grade: GradeArgs,
    /// Only these specialism bundles (e.g. sales-non-guaranteed) instead of the
    /// capability-driven selection. Repeatable.
    #[arg(long = "specialism", value_name = "SLUG")]
    pub(crate) specialisms: Vec<String>,
}

/// Runs the capability-driven selection (or the named bundles).
pub(crate) async fn run(args: &AssessArgs) -> Result<Outcome, CliError> {
    let selection = Selection {
        specialisms: args.specialisms.clone(),
        whole_agent: true,
        ..Selection::default()
    };
    grade::grade(&args.grade, selection).await
}
