//! `cargo xtask conformance [--protocol mcp|a2a|all] [--url URL] [--storyboard PATH]...
//! [--report FILE] [--junit FILE]`: grades an agent against the rc.9 compliance storyboards with
//! `adcp-conformance`, over MCP (the default) or A2A. Without `--url` it builds and starts the
//! demo seller on a free loopback port, grades it at `/mcp` or `/a2a` against the storyboards
//! that apply to it, and stops it. `--protocol all` runs the whole command once per protocol,
//! MCP then A2A (what CI runs: the demo's must-pass set over each transport).

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

fn start_demo(protocol: Protocol) -> Result<(DemoSeller, String)> {
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
    passthrough.extend(["--protocol".into(), protocol.as_str().into()]);
    let report_dir = protocol.report_dir();
    let default_report = format!("{report_dir}/report.json");
    if !passthrough.iter().any(|a| a == "--report") {
        passthrough.extend(["--report".into(), default_report.clone()]);
        passthrough.extend(["--junit".into(), format!("{report_dir}/junit.xml")]);
        std::fs::create_dir_all(workspace_root().join(report_dir))?;
    }
    let graded_demo = url.is_none() && !storyboards;
    let mut seller = None;
    let url = if let Some(url) = url {
        url
    } else {
        let (started, url) = start_demo(protocol)?;
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
    compare_with_baseline(&default_report)
}

/// Compares the demo seller's report (at `report`, relative to the workspace) with
/// `crates/adcp-conformance/demo-baseline.json`: any failure not listed there is a regression; a
/// listed storyboard that now passes must leave the list.
fn compare_with_baseline(report: &str) -> Result<()> {
    let root = workspace_root();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(report))
            .with_context(|| format!("reading the conformance report {report}"))?,
    )?;
    let baseline: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("crates/adcp-conformance/demo-baseline.json"))
            .context("reading crates/adcp-conformance/demo-baseline.json")?,
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
        "conformance baseline: {} storyboards graded, {} known gaps (crates/adcp-conformance/demo-baseline.json)",
        storyboards.len(),
        known.len()
    );
    if !regressions.is_empty() {
        bail!("conformance regressions (failed, not in the baseline): {regressions:?}");
    }
    if !fixed.is_empty() {
        bail!(
            "these storyboards now pass; remove them from crates/adcp-conformance/demo-baseline.json: {fixed:?}"
        );
    }
    Ok(())
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
    fn every_protocol_refuses_an_explicit_url() {
        let error = run_per_protocol(&args(&["--protocol", "all", "--url", "http://x/mcp"]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("--url"), "{error}");
    }
}
