//! `cargo xtask conformance [--protocol mcp|a2a|all] [--url URL] [--storyboard PATH]...
//! [--report FILE] [--junit FILE]`: grades an agent against the rc.9 compliance storyboards,
//! over MCP (the default) or A2A.
//!
//! Every binary it runs is a release build (`release::build`). Without `--url` and
//! `--storyboard` it starts the demo seller on a free loopback
//! port and assesses it whole, the way a buyer's compliance check does, with the built `adcp`
//! command (`adcp assess --json`): the storyboards its declarations select, run back to back
//! against one process, a claimed specialism's gaps failed. The JSON report is then held
//! against `crates/adcp-conformance/demo-baseline.json`: no failure and no not-applicable
//! storyboard that the baseline does not list with its justification, and no listed entry
//! that no longer holds. `--protocol all` runs the whole command once per protocol, MCP then
//! A2A (what CI runs). With `--url` or `--storyboard`, `adcp-conformance` grades exactly what
//! was asked.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::release::{self, ReleaseBinaries};
use crate::schemas;
use crate::util::workspace_root;

/// The demo seller's credentials (a compliance test-kit key, sandbox principal).
const DEMO_AUTH: &str = "demo-acme-outdoor-v1";

/// The transport a conformance run drives the agent over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    /// MCP streamable HTTP at the demo's `/mcp`.
    Mcp,
    /// A2A JSON-RPC at the demo's `/a2a`.
    A2a,
}

impl Protocol {
    /// Every protocol, in the order `--protocol all` grades them.
    const ALL: [Self; 2] = [Self::Mcp, Self::A2a];

    fn parse(value: &str) -> Result<Self> {
        match value {
            "mcp" => Ok(Self::Mcp),
            "a2a" => Ok(Self::A2a),
            other => bail!("--protocol must be mcp, a2a or all, not {other:?}"),
        }
    }

    /// The name the runner's `--protocol` takes.
    fn as_str(self) -> &'static str {
        match self {
            Self::Mcp => "mcp",
            Self::A2a => "a2a",
        }
    }

    /// Where the runner's default reports go: MCP keeps `target/conformance/`, other
    /// protocols get a subfolder so one CI run keeps both.
    fn report_dir(self) -> &'static str {
        match self {
            Self::Mcp => "target/conformance",
            Self::A2a => "target/conformance/a2a",
        }
    }
}

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

/// Starts the release demo seller at `binary` on a free loopback port and returns it with the
/// URL of its `protocol` endpoint.
fn start_demo(binary: &Path, protocol: Protocol) -> Result<(DemoSeller, String)> {
    let port = free_port()?;
    let child = Command::new(binary)
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
    // The demo serves MCP at /mcp and A2A JSON-RPC at /a2a on the same port.
    Ok((
        seller,
        format!("http://127.0.0.1:{port}/{}", protocol.as_str()),
    ))
}

/// Runs `conformance` with `args` once per protocol, MCP then A2A, each with `--protocol all`
/// replaced by that protocol; stops at the first protocol that fails. Without `--url` each
/// run starts its own demo seller and compares with `crates/adcp-conformance/demo-baseline.json`.
fn run_per_protocol(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--url") {
        bail!("--protocol all grades the demo seller; with --url, name one protocol");
    }
    let mut rest = Vec::with_capacity(args.len() + 2);
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--protocol" {
            iter.next();
        } else if !arg.starts_with("--protocol=") {
            rest.push(arg.clone());
        }
    }
    for protocol in Protocol::ALL {
        println!("conformance over {}", protocol.as_str());
        let mut one = rest.clone();
        one.extend(["--protocol".to_owned(), protocol.as_str().to_owned()]);
        run_conformance(&one).with_context(|| format!("conformance over {}", protocol.as_str()))?;
    }
    Ok(())
}

/// Whether `args` ask for `--protocol all`.
fn wants_every_protocol(args: &[String]) -> bool {
    args.iter().any(|a| a == "--protocol=all")
        || args
            .windows(2)
            .any(|pair| pair[0] == "--protocol" && pair[1] == "all")
}

/// Runs the conformance suite (see the module docs for the arguments).
pub(crate) fn run_conformance(args: &[String]) -> Result<()> {
    if wants_every_protocol(args) {
        return run_per_protocol(args);
    }
    schemas::materialise()?;
    let mut url = None;
    let mut protocol = Protocol::Mcp;
    let mut passthrough = Vec::new();
    let mut storyboards = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--url" {
            url = Some(iter.next().context("--url needs a value")?.clone());
        } else if arg == "--protocol" {
            protocol = Protocol::parse(iter.next().context("--protocol needs a value")?)?;
        } else if let Some(value) = arg.strip_prefix("--protocol=") {
            protocol = Protocol::parse(value)?;
        } else {
            storyboards |= arg == "--storyboard" || arg == "--specialism";
            passthrough.push(arg.clone());
        }
    }
    let binaries = release::build()?;
    let report_dir = protocol.report_dir();
    let default_report = format!("{report_dir}/report.json");
    let default_junit = format!("{report_dir}/junit.xml");
    std::fs::create_dir_all(workspace_root().join(report_dir))?;
    match url {
        None if !storyboards => assess_demo(
            &binaries,
            protocol,
            &passthrough,
            &default_report,
            &default_junit,
        ),
        url => {
            let (seller, url) = if let Some(url) = url {
                (None, url)
            } else {
                let (seller, url) = start_demo(&binaries.demo, protocol)?;
                if !passthrough.iter().any(|a| a == "--auth") {
                    passthrough.extend(["--auth".into(), DEMO_AUTH.into()]);
                }
                (Some(seller), url)
            };
            passthrough.extend(["--protocol".into(), protocol.as_str().into()]);
            if !passthrough.iter().any(|a| a == "--report") {
                passthrough.extend(["--report".into(), default_report]);
                passthrough.extend(["--junit".into(), default_junit]);
            }
            let status = Command::new(&binaries.conformance)
                .current_dir(workspace_root())
                .args(["--url", &url])
                .args(&passthrough)
                .status()
                .context("running adcp-conformance")?;
            drop(seller);
            if !status.success() {
                bail!("conformance failed ({status})");
            }
            Ok(())
        }
    }
}

/// Starts the demo seller, assesses it whole over `protocol` with the built `adcp` command
/// (`extra` passed through), writes the JSON and JUnit reports, and holds the JSON report
/// against the baseline.
fn assess_demo(
    binaries: &ReleaseBinaries,
    protocol: Protocol,
    extra: &[String],
    report: &str,
    junit: &str,
) -> Result<()> {
    let (seller, url) = start_demo(&binaries.demo, protocol)?;
    let mut command = Command::new(&binaries.adcp);
    command
        .current_dir(workspace_root())
        .args(["assess", &url, "--protocol", protocol.as_str()])
        .args(["--auth", DEMO_AUTH, "--report", report, "--junit", junit])
        .args(extra);
    let status = command.status().context("running adcp assess")?;
    drop(seller);
    // Exit 1 is a graded failure, held against the baseline below; anything else means the
    // assessment itself did not run.
    if !matches!(status.code(), Some(0 | 1)) {
        bail!("adcp assess could not grade the demo seller ({status})");
    }
    compare_with_baseline(report)
}

/// The baseline the demo's assessment is held against.
const BASELINE: &str = "crates/adcp-conformance/demo-baseline.json";

/// Holds the demo seller's report (at `report`, relative to the workspace) against the
/// baseline and fails with every finding.
fn compare_with_baseline(report: &str) -> Result<()> {
    let root = workspace_root();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(report))
            .with_context(|| format!("reading the conformance report {report}"))?,
    )?;
    let baseline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(BASELINE))
            .with_context(|| format!("reading {BASELINE}"))?,
    )?;
    let summary = &report["summary"];
    println!(
        "assessment: {} storyboards graded: {} passed, {} failed, {} not applicable (baseline {BASELINE})",
        report["storyboards"].as_array().map_or(0, Vec::len),
        summary["storyboards_passed"],
        summary["storyboards_failed"],
        summary["storyboards_not_applicable"],
    );
    let findings = baseline_findings(&report, &baseline)?;
    if findings.is_empty() {
        return Ok(());
    }
    for finding in &findings {
        eprintln!("  {finding}");
    }
    bail!(
        "the demo's assessment disagrees with {BASELINE} ({} findings above)",
        findings.len()
    )
}

/// What disagrees between an assessment report and the baseline: a failed storyboard not
/// in `known_failures`, a not-applicable one not in `not_applicable` (each entry there is the
/// justification: a capability the demo legitimately does not claim), and an entry of either
/// list that no longer holds (the storyboard now has another outcome, or is not graded).
fn baseline_findings(
    report: &serde_json::Value,
    baseline: &serde_json::Value,
) -> Result<Vec<String>> {
    let list = |key: &str| {
        baseline[key]
            .as_object()
            .with_context(|| format!("{BASELINE} needs an object `{key}`"))
    };
    let known_failures = list("known_failures")?;
    let not_applicable = list("not_applicable")?;
    let mut outcomes = std::collections::BTreeMap::new();
    for storyboard in report["storyboards"]
        .as_array()
        .context("report.storyboards")?
    {
        let id = storyboard["id"].as_str().unwrap_or_default().to_owned();
        let outcome = storyboard["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let reason = storyboard["skip"]["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        outcomes.insert(id, (outcome, reason));
    }
    let mut findings = Vec::new();
    for (id, (outcome, reason)) in &outcomes {
        match outcome.as_str() {
            "failed" if !known_failures.contains_key(id) => {
                findings.push(format!("{id} failed and is not a known failure"));
            }
            "not_applicable" if !not_applicable.contains_key(id) => findings.push(format!(
                "{id} was not applicable ({reason}) and the baseline does not justify it"
            )),
            _ => {}
        }
    }
    for (listed, expected) in [
        (known_failures, "failed"),
        (not_applicable, "not_applicable"),
    ] {
        for id in listed.keys() {
            match outcomes.get(id) {
                Some((outcome, _)) if outcome == expected => {}
                Some((outcome, _)) => findings.push(format!(
                    "{id} is listed as {expected} but was {outcome}: update the baseline"
                )),
                None => findings.push(format!(
                    "{id} is listed as {expected} but was not graded: update the baseline"
                )),
            }
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|&a| a.to_owned()).collect()
    }

    #[test]
    fn protocol_arguments_parse() {
        assert!(wants_every_protocol(&args(&["--protocol", "all"])));
        assert!(wants_every_protocol(&args(&[
            "--junit",
            "x",
            "--protocol=all"
        ])));
        assert!(!wants_every_protocol(&args(&["--protocol", "a2a"])));
        assert!(!wants_every_protocol(&args(&["--storyboard", "all"])));
        assert_eq!(Protocol::parse("a2a").unwrap(), Protocol::A2a);
        assert_eq!(Protocol::parse("mcp").unwrap(), Protocol::Mcp);
        assert!(Protocol::parse("http").is_err());
        assert_ne!(Protocol::Mcp.report_dir(), Protocol::A2a.report_dir());
    }

    #[test]
    fn the_baseline_justifies_every_failure_and_skip_and_stays_current() {
        let report = serde_json::json!({"storyboards": [
            {"id": "a", "outcome": "passed"},
            {"id": "b", "outcome": "failed"},
            {"id": "c", "outcome": "not_applicable", "skip": {"detail": "no wholesale feed"}},
            {"id": "d", "outcome": "failed"},
            {"id": "e", "outcome": "not_applicable", "skip": {"detail": "not proposals"}},
        ]});
        let baseline = serde_json::json!({
            "known_failures": {"b": "why", "a": "fixed since"},
            "not_applicable": {"c": "the demo has no wholesale feed", "gone": "x"}
        });
        let findings = baseline_findings(&report, &baseline).unwrap();
        assert_eq!(findings.len(), 4, "{findings:?}");
        assert!(findings.iter().any(|f| f.starts_with("d failed")));
        assert!(
            findings
                .iter()
                .any(|f| f.starts_with("e was not applicable (not proposals)"))
        );
        assert!(
            findings
                .iter()
                .any(|f| f.starts_with("a is listed as failed but was passed"))
        );
        assert!(findings.iter().any(|f| f.starts_with("gone is listed")));
        let clean = serde_json::json!({
            "known_failures": {"b": "why", "d": "why"},
            "not_applicable": {"c": "x", "e": "y"}
        });
        assert!(baseline_findings(&report, &clean).unwrap().is_empty());
        assert!(baseline_findings(&report, &serde_json::json!({})).is_err());
    }

    #[test]
    fn every_protocol_refuses_an_explicit_url() {
        let error = run_per_protocol(&args(&["--protocol", "all", "--url", "http://x/mcp"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--url"), "{error}");
    }
}
