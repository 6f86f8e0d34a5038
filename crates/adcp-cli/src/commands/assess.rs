//! `adcp assess URL`: grade the agent against every storyboard that applies to it.

use clap::Args;

use crate::cli::EXIT_STATUS;
use crate::commands::grade::{self, GradeArgs, Selection};
use crate::error::{CliError, Outcome};

/// `adcp assess`.
#[derive(Debug, Args)]
#[command(
    after_help = EXIT_STATUS,
    long_about = "Grade the agent against every storyboard that applies to it: every universal \
storyboard, the baseline of each protocol it supports and the bundle of each specialism it \
declares (the rest are reported not applicable, with the reason). Progress is shown live on a \
terminal and as plain lines otherwise; the table (or --json) goes to standard output."
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
        ..Selection::default()
    };
    grade::grade(&args.grade, selection).await
}
