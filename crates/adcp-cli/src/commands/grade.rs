//! Grading an agent with the storyboard runner: what `assess` and `storyboard run` share
//! (options, finding the compliance and schema folders, the pre-flight check, the live display,
//! the reports).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use adcp_conformance::{Protocol, RunConfig};
use clap::Args;
use serde_json::json;

use crate::agent::Agent;
use crate::cli::AgentArgs;
use crate::error::{CliError, Outcome};
use crate::output;
use crate::progress::RunProgress;

/// The options of a graded run.
#[derive(Debug, Clone, Args)]
pub(crate) struct GradeArgs {
    /// The agent's endpoint: its MCP endpoint (e.g. http://127.0.0.1:3001/mcp) or, with
    /// --protocol a2a, its A2A JSON-RPC endpoint (e.g. http://127.0.0.1:3001/a2a).
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    /// The transport to grade over.
    #[arg(long, value_enum, default_value_t = Protocol::Mcp)]
    pub(crate) protocol: Protocol,
    /// Bearer token for ordinary calls (default: each storyboard test kit's demo key).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "ADCP_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub(crate) auth: Option<String>,
    /// Print the JSON report on standard output instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) report: Option<PathBuf>,
    /// Also write a JUnit XML report to this file (one suite per storyboard).
    #[arg(long, value_name = "FILE")]
    pub(crate) junit: Option<PathBuf>,
    /// The compliance storyboards: the AdCP repository's compliance/<version> folder (or its
    /// parent). Required for an installed binary; a workspace build finds
    /// ../shared/compliance on its own.
    #[arg(long, value_name = "DIR", env = "ADCP_COMPLIANCE_DIR")]
    pub(crate) compliance_dir: Option<PathBuf>,
    /// The AdCP JSON schemas folder (`cargo xtask schemas` writes one) for response_schema
    /// checks. Without one those checks fail.
    #[arg(long, value_name = "DIR", env = "ADCP_SCHEMAS_DIR")]
    pub(crate) schemas_dir: Option<PathBuf>,
    /// Seconds any one request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(crate) timeout: u64,
    /// Do not run the rate-limit trip burst (its step is then reported not applicable).
    #[arg(long)]
    pub(crate) skip_rate_limit_trip: bool,
    /// Assert that prerequisite state was seeded out of band (requires: [seeded_state]).
    #[arg(long)]
    pub(crate) seeded_state: bool,
    /// Fetch the agent's brand.json (for its webhook-signing JWKS) from this URL first.
    #[arg(long, value_name = "URL")]
    pub(crate) brand_json_url: Option<String>,
}

/// What to run.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    /// Storyboard files or folders.
    pub(crate) storyboards: Vec<PathBuf>,
    /// Specialism bundles.
    pub(crate) specialisms: Vec<String>,
    /// The folder to use as the compliance folder when none is configured (the folder of
    /// the storyboard files given), instead of failing.
    pub(crate) fallback_root: Option<PathBuf>,
    /// Grade the whole agent (see `adcp_conformance::assess`).
    pub(crate) whole_agent: bool,
}

/// The compliance folder: `--compliance-dir` / `ADCP_COMPLIANCE_DIR` (its `<version>`
/// subfolder when it has one), else the workspace's `../shared/compliance/<version>` when this
/// binary was built in the workspace and it exists, else `fallback`.
pub(crate) fn compliance_dir(
    given: Option<&Path>,
    fallback: Option<&Path>,
) -> Result<PathBuf, CliError> {
    if let Some(dir) = given {
        let dir = versioned(dir);
        if !dir.is_dir() {
            return Err(CliError::Usage(format!(
                "the compliance folder {} does not exist",
                dir.display()
            )));
        }
        return Ok(dir);
    }
    let built_in = adcp_conformance::catalog::default_compliance_dir();
    if built_in.is_dir() {
        return Ok(built_in);
    }
    fallback.map(Path::to_owned).ok_or_else(|| {
        CliError::Usage(format!(
            "no compliance storyboards: pass --compliance-dir DIR or set ADCP_COMPLIANCE_DIR to the AdCP repository's compliance/{} folder",
            adcp_types::ADCP_VERSION
        ))
    })
}

/// `dir/<version>` when that folder exists, else `dir`.
fn versioned(dir: &Path) -> PathBuf {
    let inner = dir.join(adcp_types::ADCP_VERSION);
    if inner.is_dir() {
        inner
    } else {
        dir.to_owned()
    }
}

/// The schema folder, or `None` (with a warning) when there is none.
fn schemas_dir(given: Option<&Path>) -> Option<PathBuf> {
    let dir = given.map_or_else(adcp_conformance::catalog::default_schemas_dir, versioned);
    if dir.is_dir() {
        return Some(dir);
    }
    output::warn_line(&format!(
        "no schema folder at {}: response_schema checks will fail (pass --schemas-dir or set ADCP_SCHEMAS_DIR; `cargo xtask schemas` writes one)",
        dir.display()
    ));
    None
}

/// Runs `selection` against the agent, prints the table (or `--json`), writes the reports,
/// and passes when no storyboard failed.
pub(crate) async fn grade(args: &GradeArgs, selection: Selection) -> Result<Outcome, CliError> {
    let compliance = compliance_dir(
        args.compliance_dir.as_deref(),
        selection.fallback_root.as_deref(),
    )?;
    preflight(args).await?;
    let mut config = RunConfig::new(&args.url);
    config.protocol = args.protocol;
    config.storyboards = selection.storyboards;
    config.specialisms = selection.specialisms;
    config.compliance_dir = Some(compliance);
    config.schemas_dir = schemas_dir(args.schemas_dir.as_deref());
    config.auth.clone_from(&args.auth);
    config.request_timeout = Duration::from_secs(args.timeout.max(1));
    config.rate_limit_trip = !args.skip_rate_limit_trip;
    config.seeded_state = args.seeded_state;
    config.brand_json_url.clone_from(&args.brand_json_url);
    config.whole_agent = selection.whole_agent;
    let progress = Arc::new(RunProgress::start(&args.url));
    let report = adcp_conformance::run_observed(&config, progress.clone())
        .await
        .map_err(|e| CliError::Conformance(e.to_string()))?;
    progress.finish();
    for (path, contents) in [
        (args.report.as_ref(), report.to_json()),
        (args.junit.as_ref(), report.to_junit()),
    ] {
        if let Some(path) = path {
            std::fs::write(path, contents).map_err(|source| CliError::Write {
                path: path.clone(),
                source,
            })?;
        }
    }
    if args.json {
        output::print_out(&report.to_json());
    } else {
        output::print_out(report.to_table().trim_end());
        output::print_out(&output::verdict_label(report.passed()));
    }
    Ok(Outcome::from_ok(report.passed()))
}

/// Refuses, before a long run, an agent that cannot be reached or is not an AdCP agent.
/// Refused credentials do not stop the run: storyboards bring their own test-kit keys.
async fn preflight(args: &GradeArgs) -> Result<(), CliError> {
    let agent = Agent::connect(&AgentArgs {
        url: args.url.clone(),
        protocol: args.protocol,
        auth: args.auth.clone(),
        headers: Vec::new(),
        timeout: args.timeout,
    })?;
    match agent.call("get_adcp_capabilities", &json!({})).await {
        Err(e @ (CliError::Unreachable { .. } | CliError::NotAdcp { .. } | CliError::Usage(_))) => {
            Err(e)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_compliance_folder_must_exist() {
        let missing = compliance_dir(Some(Path::new("/nonexistent/compliance")), None)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("does not exist"), "{missing}");
        let here = std::env::temp_dir();
        assert_eq!(compliance_dir(Some(&here), None).unwrap(), here);
    }
}
