//! `cargo xtask conformance [--url URL] [--storyboard PATH]... [--report FILE] [--junit FILE]`:
//! grades an agent against the rc.9 compliance storyboards with `adcp-conformance`. Without
//! `--url` it builds and starts the demo seller on a free loopback port, grades it against the
//! storyboards that apply to it, and stops it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::schemas;
use crate::util::{cargo, run, workspace_root};

/// The storyboards the demo seller must pass (issue 7), relative to the compliance folder.
pub(crate) const DEMO_STORYBOARDS: [&str; 16] = [
    "domains/media-buy/scenarios/get_products_async.yaml",
    "domains/signals/scenarios/get_signals_async.yaml",
    "universal/webhook-emission.yaml",
    "universal/idempotency.yaml",
    "universal/error-compliance.yaml",
    "universal/error-compliance-signals.yaml",
    "universal/capability-discovery.yaml",
    "universal/schema-validation.yaml",
    "universal/schema-validation-signals.yaml",
    "universal/version-negotiation.yaml",
    "universal/v3-envelope-integrity.yaml",
    "universal/read-tool-idempotency.yaml",
    "universal/security.yaml",
    "universal/comply-controller-mode-gate.yaml",
    "universal/get-signals-pagination-integrity.yaml",
    "universal/deterministic-testing.yaml",
];

/// The specialism bundles the demo seller claims.
const DEMO_SPECIALISMS: [&str; 2] = ["sales-non-guaranteed", "signal-owned"];

struct DemoSeller(Child);

impl Drop for DemoSeller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// Builds the release demo seller with PostgreSQL support, the one binary `demo`,
/// `conformance` and `faults` run (one build serves all three), and returns its path.
pub(crate) fn release_demo() -> Result<std::path::PathBuf> {
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "adcp-demo-seller",
        "--features",
        "postgres",
        "--bin",
        "demo_seller",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), Into::into);
    let binary = target.join("release/demo_seller");
    if !binary.is_file() {
        bail!("the release demo seller is missing at {}", binary.display());
    }
    Ok(binary)
}

fn start_demo() -> Result<(DemoSeller, String)> {
    let binary = release_demo()?;
    let port = free_port()?;
    let child = Command::new(&binary)
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--curation-ms",
            "300",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let seller = DemoSeller(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("the demo seller did not start listening on port {port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((seller, format!("http://127.0.0.1:{port}/mcp")))
}

/// Runs the conformance suite.
pub(crate) fn run_conformance(args: &[String]) -> Result<()> {
    schemas::materialise()?;
    let mut url = None;
    let mut passthrough = Vec::new();
    let mut storyboards = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--url" {
            url = Some(iter.next().context("--url needs a value")?.clone());
        } else {
            storyboards |= arg == "--storyboard" || arg == "--specialism";
            passthrough.push(arg.clone());
        }
    }
    if !passthrough.iter().any(|a| a == "--report") {
        passthrough.extend(["--report".into(), "target/conformance/report.json".into()]);
        passthrough.extend(["--junit".into(), "target/conformance/junit.xml".into()]);
        std::fs::create_dir_all(workspace_root().join("target/conformance"))?;
    }
    let graded_demo = url.is_none() && !storyboards;
    let mut seller = None;
    let url = if let Some(url) = url {
        url
    } else {
        let (started, url) = start_demo()?;
        seller = Some(started);
        // The demo seller's credentials (a compliance test-kit key, sandbox principal).
        if !passthrough.iter().any(|a| a == "--auth") {
            passthrough.extend(["--auth".into(), "demo-acme-outdoor-v1".into()]);
        }
        if !storyboards {
            for storyboard in DEMO_STORYBOARDS {
                passthrough.extend(["--storyboard".into(), storyboard.into()]);
            }
            for specialism in DEMO_SPECIALISMS {
                passthrough.extend(["--specialism".into(), specialism.into()]);
            }
        }
        url
    };
    let status = cargo()
        .current_dir(workspace_root())
        .args([
            "run",
            "--quiet",
            "-p",
            "adcp-conformance",
            "--",
            "--url",
            &url,
        ])
        .args(&passthrough)
        .status()
        .context("running adcp-conformance")?;
    drop(seller);
    if !graded_demo {
        if !status.success() {
            bail!("conformance failed ({status})");
        }
        return Ok(());
    }
    compare_with_baseline()
}

/// Compares the demo seller's report with `tests/conformance/demo-baseline.json`: any failure
/// not listed there is a regression; a listed storyboard that now passes must leave the list.
fn compare_with_baseline() -> Result<()> {
    let root = workspace_root();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("target/conformance/report.json"))
            .context("reading the conformance report")?,
    )?;
    let baseline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("tests/conformance/demo-baseline.json"))
            .context("reading tests/conformance/demo-baseline.json")?,
    )?;
    let known = baseline["known_failures"]
        .as_object()
        .context("baseline.known_failures")?;
    let mut regressions = Vec::new();
    let mut fixed = Vec::new();
    let storyboards = report["storyboards"]
        .as_array()
        .context("report.storyboards")?;
    for storyboard in storyboards {
        let id = storyboard["id"].as_str().unwrap_or_default();
        let outcome = storyboard["outcome"].as_str().unwrap_or_default();
        match (outcome, known.contains_key(id)) {
            ("failed", false) => regressions.push(id.to_owned()),
            ("passed", true) => fixed.push(id.to_owned()),
            _ => {}
        }
    }
    println!(
        "conformance baseline: {} storyboards graded, {} known gaps (tests/conformance/demo-baseline.json)",
        storyboards.len(),
        known.len()
    );
    if !regressions.is_empty() {
        bail!("conformance regressions (failed, not in the baseline): {regressions:?}");
    }
    if !fixed.is_empty() {
        bail!(
            "these storyboards now pass; remove them from tests/conformance/demo-baseline.json: {fixed:?}"
        );
    }
    Ok(())
}
