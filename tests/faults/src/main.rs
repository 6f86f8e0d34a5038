//! # adcp-faults
//!
//! The fault suite `cargo xtask faults` runs: the release demo seller as real processes, a real
//! PostgreSQL, loopback webhook receivers. Each scenario (kill -9 during handoff and during
//! delivery, receiver outages, replicas booting together, SIGTERM drains, connection and
//! session floods, hung receivers beside healthy ones) has its own time bound; the suite prints
//! a table (tasks, webhooks expected, delivered, lost, duplicated) and writes it as JSON, and
//! exits non-zero on any loss, any stall past a bound, any crash. Re-sends of the same
//! `idempotency_key` are allowed only after a kill -9 (at-least-once), and always counted.
//!
//! ```text
//! adcp-faults --demo target/release/demo_seller [--only 3a] [--report FILE]
//! ```
//!
//! PostgreSQL: `DATABASE_URL` (a role with CREATEDB) or the workspace's throwaway cluster;
//! every scenario gets a fresh database of its own.
//!
//! `adcp-faults --demo BIN --bench [--load-secs N]` runs no scenario: it measures the demo
//! process instead (memory, first calls, sessions, pending tasks, log cost; see `bench.rs`) and
//! prints one JSON document, for `cargo xtask bench`.

mod bench;
mod client;
mod error;
mod process;
mod receiver;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio::time::Instant;

use crate::report::{Findings, ScenarioResult};
use crate::scenarios::Ctx;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "Fault scenarios against the release demo seller and a real PostgreSQL")]
struct Args {
    /// The demo seller binary (built with `--features postgres`).
    #[arg(long)]
    demo: PathBuf,
    /// Run only scenarios whose name starts with one of these (e.g. `3a`, `9`).
    #[arg(long)]
    only: Vec<String>,
    /// Where the JSON report goes.
    #[arg(long, default_value = "target/faults/report.json")]
    report: PathBuf,
    /// Where each process's log goes.
    #[arg(long, default_value = "target/faults/logs")]
    logs: PathBuf,
    /// Measure the demo process instead of running the scenarios; print the JSON.
    #[arg(long)]
    bench: bool,
    /// With `--bench`: how long the load phase runs, in seconds.
    #[arg(long, default_value_t = 30)]
    load_secs: u64,
}

/// How much longer than its bound a scenario may run before it is abandoned (its own waits
/// end at the bound; this only catches a wait that does not).
const ABANDON_AFTER: Duration = Duration::from_secs(15);

/// The idle-connection flood opens over a thousand sockets: more than the common soft limit.
const WANTED_OPEN_FILES: u64 = 8_192;

fn raise_open_file_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < WANTED_OPEN_FILES
    {
        let wanted = WANTED_OPEN_FILES.min(hard);
        if let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, wanted, hard) {
            eprintln!("could not raise the open-file limit from {soft}: {error}");
        }
    }
}

async fn run_one(ctx: &Ctx, scenario: &scenarios::Scenario) -> ScenarioResult {
    println!(
        "== {} (bound {} s)",
        scenario.name,
        scenario.bound.as_secs()
    );
    let started = Instant::now();
    let deadline = started + scenario.bound;
    let findings = match tokio::time::timeout(
        scenario.bound + ABANDON_AFTER,
        (scenario.run)(ctx, deadline),
    )
    .await
    {
        Ok(Ok(findings)) => findings,
        Ok(Err(error)) => {
            let mut findings = Findings::new(false);
            findings.fail(format!("harness: {error}"));
            findings
        }
        Err(_) => {
            let mut findings = Findings::new(false);
            findings.fail("stalled past its bound");
            findings
        }
    };
    let mut findings = findings;
    let elapsed = started.elapsed();
    if elapsed > scenario.bound {
        findings.fail(format!(
            "took {:.1} s, past its bound of {} s",
            elapsed.as_secs_f64(),
            scenario.bound.as_secs()
        ));
    }
    let result = findings.finish(scenario.name, scenario.bound, elapsed);
    println!(
        "   {} in {:.1} s",
        if result.passed { "passed" } else { "FAILED" },
        elapsed.as_secs_f64()
    );
    result
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    // reqwest is built without a TLS provider when the workspace enables `rustls-no-provider`.
    let _ = rustls::crypto::ring::default_provider().install_default();
    raise_open_file_limit();
    if !args.demo.is_file() {
        eprintln!("no demo seller binary at {}", args.demo.display());
        return ExitCode::FAILURE;
    }
    if let Err(error) = std::fs::create_dir_all(&args.logs) {
        eprintln!("creating {}: {error}", args.logs.display());
        return ExitCode::FAILURE;
    }
    let ctx = Ctx {
        demo: args.demo.clone(),
        logs: args.logs.clone(),
    };
    if args.bench {
        return match bench::run(&ctx, args.load_secs).await {
            Ok(report) => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("bench: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let selected: Vec<scenarios::Scenario> = scenarios::all()
        .into_iter()
        .filter(|s| {
            args.only.is_empty() || args.only.iter().any(|o| s.name.starts_with(o.as_str()))
        })
        .collect();
    let suite = Instant::now();
    let mut results = Vec::new();
    for scenario in &selected {
        results.push(run_one(&ctx, scenario).await);
    }
    report::print_table(&results);
    println!(
        "suite took {:.1} s; logs in {}",
        suite.elapsed().as_secs_f64(),
        args.logs.display()
    );
    let json = serde_json::json!({
        "elapsed_secs": suite.elapsed().as_secs_f64(),
        "scenarios": results,
    });
    if let Some(parent) = args.report.parent() {
        let _ = std::fs::create_dir_all(parent);
    }
    match serde_json::to_string_pretty(&json) {
        Ok(text) => {
            if let Err(error) = std::fs::write(&args.report, text) {
                eprintln!("writing {}: {error}", args.report.display());
            }
        }
        Err(error) => eprintln!("serializing the report: {error}"),
    }
    if results.iter().all(|r| r.passed) && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
