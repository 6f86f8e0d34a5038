//! `cargo xtask ci`, `demo`, `validate` and `bench`: the commands the README promises.
//!
//! `ci` ends with `cargo xtask conformance` (the demo seller graded against its storyboards)
//! and `cargo xtask faults` (the release demo seller under kill -9, SIGTERM, floods and
//! receiver faults).
//!
//! `ci` is the whole gate, in the order that fails fastest: schemas, generated-code and API
//! freshness, formatting, clippy, cargo-deny, then every test against a real PostgreSQL started
//! for the run (or `DATABASE_URL` when set), then `cargo xtask adopter` (the minimal seller as
//! a fresh project outside the workspace, its release binary run alone) and `cargo xtask
//! package-check` (the packaged `adcp-types` built and tested outside the workspace).

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::util::{cargo, remove_dir, run, workspace_root};
use crate::{adopter, api_snapshot, codegen, conformance, faults, package_check, schemas};

/// Runs every check CI runs.
///
/// With `ADCP_CI_RECLAIM=1` (`.ci/run` sets it) each build tree is removed as soon as no later
/// step reads it: rustdoc's after the API check, the debug tree after the tests and the adopter
/// (whose test reuses the test build), the packaged crate's after its check. The release tree
/// the conformance and fault steps share is kept. Disk use is printed after each step either way.
pub(crate) fn run_ci() -> Result<()> {
    let disk = Disk::from_env();
    schemas::materialise()?;
    codegen::run(true)?;
    api_snapshot::run(true)?;
    disk.step_done("api-snapshot", &["target/api"])?;
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--all-features",
        "--",
        "-D",
        "warnings",
    ]))?;
    deny()?;
    with_database(|database_url| {
        let mut tests = cargo();
        tests.args([
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ]);
        if let Some(url) = database_url {
            tests.env("DATABASE_URL", url);
        }
        run(&mut tests)
    })?;
    // nextest skips doctests; `cargo test --doc` runs every crate's examples.
    run(cargo().args(["test", "--workspace", "--all-features", "--doc"]))?;
    disk.step_done("tests", &[])?;
    // A seller's own project, outside the workspace: built, shipped alone, driven as a buyer.
    adopter::run_adopter()?;
    disk.step_done("adopter", &["target/debug"])?;
    // The published form of adcp-types: its embedded schemas, with no workspace around it.
    package_check::run_package_check()?;
    disk.step_done("package-check", &["target/package-check"])?;
    // The demo seller against the compliance storyboards it must pass, over both transports
    // (MCP, then A2A), each against the same baseline.
    conformance::run_conformance(&["--protocol".to_owned(), "all".to_owned()])?;
    // The release demo seller killed, drained, flooded and starved of receivers (a few minutes).
    faults::run_faults(&[])?;
    disk.step_done("faults", &[])
}

/// Disk use across the CI steps: reported after each, and build trees reclaimed when asked.
struct Disk {
    /// Whether trees no later step reads are removed (`ADCP_CI_RECLAIM=1`).
    reclaim: bool,
}

impl Disk {
    fn from_env() -> Self {
        Self {
            reclaim: std::env::var("ADCP_CI_RECLAIM").is_ok_and(|v| v == "1"),
        }
    }

    /// After `step`: removes `spent` (paths relative to the workspace) when reclaiming, then
    /// prints the size of `target/` and the space left on its disk.
    fn step_done(&self, step: &str, spent: &[&str]) -> Result<()> {
        let root = workspace_root();
        if self.reclaim {
            for dir in spent {
                remove_dir(&root.join(dir))?;
            }
        }
        let used = first_field(Command::new("du").arg("-sh").arg(root.join("target")));
        let free = Command::new("df")
            .args(["-h", "--output=avail"])
            .arg(&root)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|text| text.lines().nth(1).map(|l| l.trim().to_owned()));
        eprintln!(
            "disk after {step}: target/ {}, {} free{}",
            used.as_deref().unwrap_or("?"),
            free.as_deref().unwrap_or("?"),
            if self.reclaim && !spent.is_empty() {
                format!(" (removed {})", spent.join(", "))
            } else {
                String::new()
            }
        );
        Ok(())
    }
}

/// The first whitespace-separated field of `cmd`'s output, when it ran.
fn first_field(cmd: &mut Command) -> Option<String> {
    let output = cmd.output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    text.split_whitespace().next().map(str::to_owned)
}

fn deny() -> Result<()> {
    let available = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        bail!(
            "cargo-deny is not installed: `cargo install --locked cargo-deny` (.ci/run does this)"
        );
    }
    run(cargo().args(["deny", "--offline", "check", "bans", "licenses", "sources"]))
}

/// Runs `f` with a PostgreSQL URL: `DATABASE_URL` when set, otherwise a throwaway cluster the
/// test harness starts for this run and stops afterwards, whatever `f` returned.
pub(crate) fn with_database(f: impl FnOnce(Option<String>) -> Result<()>) -> Result<()> {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return f(Some(url));
    }
    let harness = workspace_root().join("tests/pg-harness/Cargo.toml");
    if !harness.is_file() {
        return f(None);
    }
    let output = cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "adcp-pg-harness",
            "--bin",
            "pg-harness",
            "--",
            "start",
        ])
        .output()
        .context("starting the test PostgreSQL")?;
    if !output.status.success() {
        bail!(
            "the test PostgreSQL did not start:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let url = String::from_utf8(output.stdout)?.trim().to_owned();
    let outcome = f(Some(url));
    let _ = run(cargo().args([
        "run",
        "--quiet",
        "-p",
        "adcp-pg-harness",
        "--bin",
        "pg-harness",
        "--",
        "stop",
    ]));
    outcome
}

/// `cargo xtask validate <tool> [FILE]`: materialise the schemas, then validate a request.
pub(crate) fn validate(args: &[String]) -> Result<()> {
    schemas::materialise()?;
    run(cargo()
        .args([
            "run",
            "--quiet",
            "-p",
            "adcp-types",
            "--features",
            "full",
            "--example",
            "validate_request",
            "--",
        ])
        .args(args))
}

/// `cargo xtask demo [ARGS]`: the main job, the demo seller (release build) on
/// `127.0.0.1:3001/mcp` with in-memory stores; `--database-url URL` switches to PostgreSQL.
pub(crate) fn demo(args: &[String]) -> Result<()> {
    schemas::materialise()?;
    // The same binary conformance and the fault suite run (PostgreSQL support built in; it
    // is used only with `--database-url`).
    let binaries = crate::release::build()?;
    run(std::process::Command::new(binaries.demo).args(args))
}

/// `cargo xtask bench [--load-secs N]`: every benchmark, built in release, printing its numbers
/// as JSON: request and response validation; get_products over MCP and A2A against the bare,
/// mandated-work-floor and rmcp-floor endpoints (`bench_server`: 10 and 1 products with strict
/// validation, and 10 without); 100,000 pending tasks in the in-memory
/// registry (`bench_registry`); the demo seller as a process — memory at start, after the first
/// calls and under load, first-call latency, sessions, pending tasks, log cost (`adcp-faults
/// --bench`, its load phase `--load-secs` long, default 30); and the PostgreSQL webhook outbox
/// (against a throwaway cluster) while a hung receiver is present.
pub(crate) fn bench(args: &[String]) -> Result<()> {
    schemas::materialise()?;
    run(cargo().args([
        "bench",
        "-p",
        "adcp-types",
        "--features",
        "full",
        "--bench",
        "validator",
    ]))?;
    let binaries = crate::release::build_with(&["bench_server", "bench_registry"])?;
    let bench_server = crate::release::binary_in(&binaries.dir, "bench_server")?;
    // A 10-product reply and a 1-product reply with strict validation, then the production
    // profile (strict off) against its own floor.
    for (products, strict) in [("10", true), ("1", true), ("10", false)] {
        let mut server = Command::new(&bench_server);
        server
            .env_remove("BENCH_NO_STRICT")
            .env_remove("BENCH_ONLY")
            .env("BENCH_PRODUCTS", products);
        if !strict {
            server.env("BENCH_NO_STRICT", "1");
        }
        run(&mut server)?;
    }
    run(&mut Command::new(crate::release::binary_in(
        &binaries.dir,
        "bench_registry",
    )?))?;
    let logs = workspace_root().join("target/bench/logs");
    run(Command::new(&binaries.faults)
        .current_dir(workspace_root())
        .arg("--demo")
        .arg(&binaries.demo)
        .arg("--logs")
        .arg(&logs)
        .arg("--bench")
        .args(args))?;
    with_database(|database_url| {
        let mut outbox = cargo();
        outbox.args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "adcp-webhooks",
            "--features",
            "postgres",
            "--example",
            "bench_outbox",
        ]);
        if let Some(url) = database_url {
            outbox.env("DATABASE_URL", url);
        }
        run(&mut outbox)
    })
}
