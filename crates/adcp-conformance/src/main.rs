//! `adcp-conformance`: grade an AdCP agent (over MCP or A2A) against the rc.9 compliance
//! storyboards.
//!
//! Exits 0 when every selected storyboard passed or did not apply, 1 when any failed, and 2
//! when the run could not start.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use adcp_conformance::Protocol;
use clap::Parser;

/// Grade an AdCP seller agent over MCP or A2A against the protocol's compliance storyboards.
#[derive(Debug, Parser)]
#[command(name = "adcp-conformance", version)]
struct Cli {
    /// The agent's endpoint: with --protocol mcp (the default) its MCP endpoint, e.g.
    /// http://127.0.0.1:3001/mcp; with --protocol a2a its A2A JSON-RPC endpoint, e.g.
    /// http://127.0.0.1:3001/a2a (the agent card is then read from the URL's origin).
    #[arg(long)]
    url: String,
    /// The transport to drive the agent over: mcp (tools/call) or a2a (SendMessage, with
    /// the agent card's skills as the tool list).
    #[arg(long, value_enum, default_value_t = Protocol::Mcp)]
    protocol: Protocol,
    /// A storyboard file or folder (relative to the compliance folder when not found as
    /// given). Repeatable.
    #[arg(long = "storyboard", value_name = "PATH")]
    storyboards: Vec<PathBuf>,
    /// A specialism bundle to run (e.g. sales-non-guaranteed). Repeatable.
    #[arg(long = "specialism", value_name = "SLUG")]
    specialisms: Vec<String>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// The compliance/<version> folder (default: ADCP_COMPLIANCE_DIR or ../shared/compliance).
    #[arg(long, value_name = "DIR")]
    compliance_dir: Option<PathBuf>,
    /// The schema folder (default: ADCP_SCHEMAS_DIR or the workspace's schemas/).
    #[arg(long, value_name = "DIR")]
    schemas_dir: Option<PathBuf>,
    /// Bearer token for ordinary calls (default: ADCP_CONFORMANCE_AUTH, else the storyboard
    /// test kit's demo key).
    #[arg(long)]
    auth: Option<String>,
    /// Seconds any single request may take.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Do not run the rate-limit trip burst (its step is then reported not applicable).
    #[arg(long)]
    skip_rate_limit_trip: bool,
    /// Assert that prerequisite state was seeded out of band (requires: [seeded_state]).
    #[arg(long)]
    seeded_state: bool,
    /// Fetch the agent's brand.json (for its webhook-signing JWKS) from this URL first.
    #[arg(long, value_name = "URL")]
    brand_json_url: Option<String>,
    /// Grade the whole agent as a buyer's compliance check does: the storyboards its
    /// declarations select, with a claimed specialism's gaps (missing required tools,
    /// scenarios gated on undeclared capabilities, steps skipped for a missing tool) failed.
    #[arg(long)]
    assess: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rmcp=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = adcp_conformance::RunConfig::new(&cli.url);
    config.protocol = cli.protocol;
    config.storyboards = cli.storyboards;
    config.specialisms = cli.specialisms;
    config.compliance_dir = cli.compliance_dir;
    config.schemas_dir = cli.schemas_dir;
    config.auth = cli
        .auth
        .or_else(|| std::env::var("ADCP_CONFORMANCE_AUTH").ok());
    config.request_timeout = Duration::from_secs(cli.timeout.max(1));
    config.rate_limit_trip = !cli.skip_rate_limit_trip;
    config.seeded_state = cli.seeded_state;
    config.brand_json_url = cli.brand_json_url;
    config.whole_agent = cli.assess;
    let report = match adcp_conformance::run(&config).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("adcp-conformance: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", report.to_table());
    for (path, contents) in [
        (cli.report.as_ref(), report.to_json()),
        (cli.junit.as_ref(), report.to_junit()),
    ] {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, contents)
        {
            eprintln!("adcp-conformance: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
