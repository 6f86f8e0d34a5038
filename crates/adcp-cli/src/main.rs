//! `adcp`: the command line a seller's team uses every day against an AdCP agent.
//!
//! ```text
//! adcp tools URL                          list the agent's tools (MCP, or --protocol a2a)
//! adcp call URL TOOL [JSON | @file | -]   call one tool; --wait polls a handed-off task,
//!                                         --webhook receives and verifies its webhook
//! adcp capabilities URL                   the agent's get_adcp_capabilities, readable
//! adcp assess URL                         grade the agent against every applicable storyboard
//! adcp storyboard run URL [--file F | ID…] grade it against chosen storyboards
//! adcp validate TOOL [FILE]               validate a request (or --response) against rc.9
//! adcp webhook listen                     receive webhooks, verify RFC 9421 or legacy HMAC
//! adcp keys generate                      a webhook-signing private JWK and its public JWKS
//! adcp demo [ARGS…]                       run the demo seller (`demo_seller`)
//! ```
//!
//! Every command has `--help`. Output meant for pipes (`--json`, tables, payloads) goes to
//! standard output; progress, hints and errors go to standard error. Colours follow the
//! terminal and are off when `NO_COLOR` is set or the stream is not a terminal.
//!
//! # Exit status
//!
//! - `0`: the command did what it was asked and everything it checked passed.
//! - `1`: it ran, but what it checked failed: a storyboard failed, the agent answered with an
//!   error or a failed task, a payload is invalid, a webhook's signature did not verify.
//! - `2`: it could not run: bad arguments or files, an unreachable URL, refused credentials,
//!   an endpoint that is not an AdCP agent, or a port that cannot be bound.
//!
//! Errors are one line each, saying what to do next; no stack traces.

mod agent;
mod cli;
mod commands;
mod diagnose;
mod error;
mod input;
mod output;
mod progress;
mod webhook;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
use crate::error::{CliError, Outcome};

fn main() -> ExitCode {
    output::init_colours();
    let cli = Cli::parse();
    progress::init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return report(&CliError::Runtime(e.to_string())),
    };
    match runtime.block_on(commands::run(cli.command)) {
        Ok(Outcome::Passed) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(error::EXIT_FAILED),
        Err(e) => report(&e),
    }
}

/// Prints `error` as one line on standard error and returns its exit status.
fn report(error: &CliError) -> ExitCode {
    output::error_line(&error.to_string());
    ExitCode::from(error::EXIT_ERROR)
}
