//! `adcp tools URL`: the agent's tools with their descriptions.

use clap::Args;
use serde_json::json;

use crate::agent::Agent;
use crate::cli::{AgentArgs, EXIT_STATUS};
use crate::error::{CliError, Outcome};
use crate::output;

/// `adcp tools`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_STATUS)]
pub(crate) struct ToolsArgs {
    /// How to reach the agent.
    #[command(flatten)]
    pub(crate) agent: AgentArgs,
    /// Print a JSON array of `{name, description}` instead of a list.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Lists the tools; warns (exit 0 all the same) when `get_adcp_capabilities` is missing,
/// since every AdCP agent has it.
pub(crate) async fn run(args: &ToolsArgs) -> Result<Outcome, CliError> {
    let agent = Agent::connect(&args.agent)?;
    let tools = agent.tools().await?;
    if args.json {
        let listed: Vec<_> = tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description}))
            .collect();
        output::print_json(&serde_json::Value::Array(listed), true);
    } else {
        let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0);
        for tool in &tools {
            let description = tool
                .description
                .as_deref()
                .map(|d| output::truncate(&output::one_line(d), 100))
                .unwrap_or_default();
            output::print_out(&format!(
                "{:<width$}  {}",
                tool.name,
                output::dim(&description)
            ));
        }
    }
    if !tools.iter().any(|t| t.name == "get_adcp_capabilities") {
        output::warn_line(&format!(
            "{} does not offer get_adcp_capabilities: it is not an AdCP agent, or not at this URL",
            agent.url()
        ));
    }
    Ok(Outcome::Passed)
}
