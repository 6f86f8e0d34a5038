//! `cargo xtask`: the workspace's automation, one module per command.
//!
//! Commands: `schemas`, `codegen [--check]`, `api-snapshot [--check]`, `ci`, `validate`, `demo`,
//! `conformance`, `faults`, `bench`, `package-check`, `adopter`.

// Code generators build source text by appending formatted pieces and run long linear passes;
// these pedantic lints fight that style without catching bugs here.
#![allow(
    clippy::format_push_string,
    clippy::too_many_lines,
    clippy::similar_names
)]

mod adopter;
mod api_snapshot;
mod ci;
mod codegen;
mod conformance;
mod faults;
mod package_check;
mod release;
mod schemas;
mod util;

use anyhow::{Result, bail};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  schemas                 materialise the pinned AdCP schemas into schemas/<version>/
  codegen [--check]       regenerate crates/adcp-types/src/generated (or check it is fresh)
  api-snapshot [--check]  regenerate api/*.txt from rustdoc JSON (or check it is fresh)
  ci                      everything CI runs: checks, clippy, deny, tests
  validate TOOL [FILE]    validate a JSON request (file or stdin) for TOOL; print the typed value or errors
  demo [ARGS]             the main job: the demo seller on http://127.0.0.1:3001/mcp and /a2a (ARGS go to it)
  conformance [ARGS]      grade the demo seller (or --url URL) against the compliance storyboards
                          (--protocol mcp|a2a|all; default mcp)
  faults [ARGS]           the fault suite: release demo seller, real PostgreSQL, kill -9/SIGTERM/floods
  bench                   run the benchmarks (release) and print their numbers
  package-check           package adcp-types with its schemas, then build and test it outside the workspace
  adopter                 build the minimal seller as a fresh project outside the workspace, ship its binary alone, drive it";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = args
        .split_first()
        .map_or(("help", &[][..]), |(c, r)| (c.as_str(), r));
    let check = rest.iter().any(|a| a == "--check");
    match command {
        "schemas" => schemas::materialise().map(|_| ()),
        "codegen" => codegen::run(check),
        "api-snapshot" => api_snapshot::run(check),
        "ci" => ci::run_ci(),
        "validate" => ci::validate(rest),
        "demo" => ci::demo(rest),
        "bench" => ci::bench(rest),
        "conformance" => conformance::run_conformance(rest),
        "faults" => faults::run_faults(rest),
        "package-check" => package_check::run_package_check(),
        "adopter" => adopter::run_adopter(),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
}
