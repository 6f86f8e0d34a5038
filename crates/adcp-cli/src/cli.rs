//! The command line: every command, its arguments and its help text.

use std::time::Duration;

use adcp_conformance::Protocol;
use clap::{Args, Parser, Subcommand};

use crate::commands;

/// The exit status paragraph every command's `--help` ends with.
pub(crate) const EXIT_STATUS: &str = "\
Exit status:
  0  everything checked passed
  1  the command ran but a check failed (a storyboard, an agent error or failed task,
     an invalid payload, a webhook signature that does not verify)
  2  the command could not run (arguments or files, an unreachable URL, refused
     credentials, an endpoint that is not an AdCP agent, a port in use)

Colours are off when NO_COLOR is set or the output is not a terminal.";

/// Call, grade and debug AdCP agents: tools, storyboards, schemas, webhooks and signing keys.
#[derive(Debug, Parser)]
#[command(name = "adcp", version, after_help = EXIT_STATUS, propagate_version = true)]
pub(crate) struct Cli {
    /// The command to run.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the agent's tools (MCP tools/list, or the A2A agent card's skills).
    Tools(commands::tools::ToolsArgs),
    /// Call one tool and print the reply; follow a handoff with --wait or --webhook.
    Call(commands::call::CallArgs),
    /// Show the agent's get_adcp_capabilities, readable.
    Capabilities(commands::capabilities::CapabilitiesArgs),
    /// Grade the agent against every storyboard that applies to it.
    Assess(commands::assess::AssessArgs),
    /// Storyboards: run chosen ones against an agent.
    #[command(subcommand)]
    Storyboard(StoryboardCommand),
    /// Validate a request (or --response) against the embedded AdCP rc.9 schemas.
    Validate(commands::validate::ValidateArgs),
    /// Webhooks: receive and verify them.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Webhook-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Run the demo seller (the `demo_seller` binary), passing ARGS through.
    Demo(commands::demo::DemoArgs),
}

/// `adcp storyboard …`.
#[derive(Debug, Subcommand)]
pub(crate) enum StoryboardCommand {
    /// Grade the agent against storyboard files or ids.
    Run(commands::storyboard::RunArgs),
}

/// `adcp webhook …`.
#[derive(Debug, Subcommand)]
pub(crate) enum WebhookCommand {
    /// Receive webhooks on a local port; verify, replay-check and print each one.
    Listen(commands::webhook_listen::ListenArgs),
}

/// `adcp keys …`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a webhook-signing key: the private JWK and the public JWKS to publish.
    Generate(commands::keys::GenerateArgs),
}

/// How to reach an agent: shared by the commands that call one.
#[derive(Debug, Clone, Args)]
pub(crate) struct AgentArgs {
    /// The agent's endpoint: its MCP endpoint (e.g. http://127.0.0.1:3001/mcp) or, with
    /// --protocol a2a, its A2A JSON-RPC endpoint (e.g. http://127.0.0.1:3001/a2a).
    #[arg(value_name = "URL")]
    pub(crate) url: String,
    /// The transport: mcp (tools/call) or a2a (SendMessage; tools are the agent card's skills).
    #[arg(long, value_enum, default_value_t = Protocol::Mcp)]
    pub(crate) protocol: Protocol,
    /// Bearer token, sent as `Authorization: Bearer TOKEN`.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "ADCP_AUTH_TOKEN",
        hide_env_values = true
    )]
    pub(crate) auth: Option<String>,
    /// An extra request header, `NAME=VALUE` (or `NAME: VALUE`). Repeatable.
    #[arg(short = 'H', long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,
    /// Seconds any one request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) timeout: u64,
}

impl AgentArgs {
    /// The per-request timeout (at least one second).
    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.timeout.max(1))
    }
}

/// Parses `NAME=VALUE` or `NAME: VALUE`.
fn parse_header(raw: &str) -> Result<(String, String), String> {
    let split = raw
        .find(['=', ':'])
        .ok_or_else(|| format!("`{raw}` is not NAME=VALUE"))?;
    let name = raw[..split].trim();
    let value = raw[split + 1..].trim();
    if name.is_empty() {
        return Err(format!("`{raw}` has no header name"));
    }
    Ok((name.to_owned(), value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_parse_in_both_spellings() {
        assert_eq!(
            parse_header("X-Trace=abc").unwrap(),
            ("X-Trace".into(), "abc".into())
        );
        assert_eq!(
            parse_header("X-Trace: a=b").unwrap(),
            ("X-Trace".into(), "a=b".into())
        );
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("=x").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
