//! `adcp call URL TOOL [JSON | @file | -]`: one tool call, its reply printed; `--wait` follows a
//! handoff by polling, `--webhook` by receiving (and verifying) the task's webhook.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use adcp_conformance::client::ToolResponse;
use clap::Args;
use serde_json::{Value, json};

use crate::agent::Agent;
use crate::cli::{AgentArgs, EXIT_STATUS};
use crate::commands::wait::{self, Waited, Waiting};
use crate::error::{CliError, Outcome};
use crate::input;
use crate::output;
use crate::webhook::{self, Receiver, Trust, TrustArgs};

/// `adcp call`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_STATUS)]
pub(crate) struct CallArgs {
    /// How to reach the agent.
    #[command(flatten)]
    pub(crate) agent: AgentArgs,
    /// The tool to call, e.g. get_products.
    #[arg(value_name = "TOOL")]
    pub(crate) tool: String,
    /// The tool's arguments: JSON text, @FILE, or - for standard input (default: {}).
    #[arg(value_name = "JSON | @FILE | -")]
    pub(crate) arguments: Option<String>,
    /// Print only the reply's JSON, on one line (for pipes).
    #[arg(long)]
    pub(crate) json: bool,
    /// When the call is handed off to a task, poll get_task_status until the task ends and
    /// print its final status (exit 1 unless it completed).
    #[arg(long, conflicts_with = "webhook")]
    pub(crate) wait: bool,
    /// Register a receiver on 127.0.0.1 as the call's push_notification_config and print the
    /// task's webhooks with their signature verdicts (exit 1 unless the final one verifies and
    /// the task completed). The agent must be able to reach this machine's loopback. Keys: the
    /// agent's brand.json jwks_uri or /.well-known/jwks.json, unless --jwks, --brand-json or
    /// --secret says otherwise.
    #[arg(long)]
    pub(crate) webhook: bool,
    /// Seconds --wait or --webhook waits for the task to end.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) wait_timeout: u64,
    /// What --webhook verifies against.
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
}

/// Calls the tool and prints the reply (see [`CallArgs`] for `--wait` and `--webhook`).
pub(crate) async fn run(args: &CallArgs) -> Result<Outcome, CliError> {
    if args.trust.given() && !args.webhook {
        return Err(CliError::Usage(
            "--jwks, --brand-json and --secret apply to --webhook only".to_owned(),
        ));
    }
    let agent = Agent::connect(&args.agent)?;
    let arguments = input::tool_arguments(args.arguments.as_deref())?;
    let timeout = Duration::from_secs(args.wait_timeout.max(1));
    if args.webhook {
        return with_webhook(&agent, args, arguments, timeout).await;
    }
    let response = agent.call(&args.tool, &arguments).await?;
    let task = wait::handed_off(&response);
    match task {
        Some(task_id) if args.wait => {
            if !args.json {
                print_response(&args.tool, &response, false);
            }
            match wait::poll(&agent, &task_id, &arguments, timeout).await? {
                Waited::Ended(last) => {
                    print_response("get_task_status", &last, args.json);
                    Ok(Outcome::from_ok(completed(&last)))
                }
                Waited::TimedOut(last) => {
                    output::warn_line(&format!(
                        "task {task_id} was still {last} after {} s (--wait-timeout raises it)",
                        timeout.as_secs()
                    ));
                    Ok(Outcome::Failed)
                }
            }
        }
        Some(task_id) => {
            print_response(&args.tool, &response, args.json);
            output::hint_line(&format!(
                "handed off as task {task_id}: rerun with --wait (or --webhook) to follow it, or call get_task_status with {{\"task_id\": \"{task_id}\"}}"
            ));
            Ok(Outcome::Passed)
        }
        None => {
            print_response(&args.tool, &response, args.json);
            Ok(Outcome::from_ok(response.succeeded()))
        }
    }
}

/// The `--webhook` flow: receiver up, push config in, call, then every webhook until a
/// terminal one.
async fn with_webhook(
    agent: &Agent,
    args: &CallArgs,
    mut arguments: Value,
    timeout: Duration,
) -> Result<Outcome, CliError> {
    if arguments.get("push_notification_config").is_some() {
        return Err(CliError::Usage(
            "the arguments already carry push_notification_config: drop it, or drop --webhook"
                .to_owned(),
        ));
    }
    let trust = if args.trust.given() {
        Trust::load(&args.trust, agent.http()).await?
    } else {
        Trust::discover(agent.url(), agent.http()).await
    };
    output::hint_line(&trust.describe());
    let mut receiver =
        Receiver::start(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), Arc::new(trust)).await?;
    let operation_id = format!("adcp-cli-{}", uuid::Uuid::new_v4().simple());
    let token = uuid::Uuid::new_v4().simple().to_string();
    let mut push = json!({
        "url": format!("{}/adcp/webhooks/{operation_id}", receiver.base_url()),
        "operation_id": operation_id,
        "token": token,
    });
    if let Some(secret) = &args.trust.secret {
        push["authentication"] = json!({"schemes": ["HMAC-SHA256"], "credentials": secret});
    }
    arguments["push_notification_config"] = push;
    let response = agent.call(&args.tool, &arguments).await?;
    let Some(task_id) = wait::handed_off(&response) else {
        print_response(&args.tool, &response, args.json);
        output::hint_line("the agent answered at once; no webhook follows a synchronous answer");
        return Ok(Outcome::from_ok(response.succeeded()));
    };
    if !args.json {
        print_response(&args.tool, &response, false);
    }
    let display = Waiting::start(&format!("the webhook of task {task_id}"));
    let deadline = tokio::time::Instant::now() + timeout;
    let mut index = 0;
    loop {
        let Ok(Some((delivery, verdict))) =
            tokio::time::timeout_at(deadline, receiver.next()).await
        else {
            drop(display);
            output::warn_line(&format!(
                "no webhook ended task {task_id} within {} s (--wait-timeout raises it)",
                timeout.as_secs()
            ));
            return Ok(Outcome::Failed);
        };
        index += 1;
        let payload = delivery.json().unwrap_or(Value::Null);
        display.suspend(|| webhook::print_delivery(index, &delivery, &verdict, args.json));
        let echoed = payload.get("token").and_then(Value::as_str) == Some(token.as_str());
        if !echoed {
            display.suspend(|| {
                output::warn_line("the webhook does not echo the registered token");
            });
        }
        let status = webhook::status_of(&payload).unwrap_or_default().to_owned();
        if wait::stops_waiting(&status) {
            return Ok(Outcome::from_ok(
                verdict.passed() && echoed && status == "completed",
            ));
        }
        display.update(&format!("the webhook of task {task_id} (last: {status})"));
    }
}

/// Whether the reply's `status` is `completed`.
fn completed(response: &ToolResponse) -> bool {
    response
        .data()
        .is_some_and(|d| d.get("status").and_then(Value::as_str) == Some("completed"))
}

/// Prints a reply: with `json`, its AdCP payload on one line (the whole response when it has
/// none); otherwise a status line and the payload indented. When the reply is an error, a
/// one-line summary also goes to standard error.
pub(crate) fn print_response(tool: &str, response: &ToolResponse, json: bool) {
    let data = response.data();
    let failed = !response.succeeded();
    if failed {
        output::warn_line(&format!("{tool}: {}", error_summary(response)));
    }
    if json {
        let value = data.unwrap_or_else(|| serde_json::to_value(response).unwrap_or(Value::Null));
        output::print_json(&value, false);
        return;
    }
    let state = data
        .as_ref()
        .and_then(|d| d.get("status").and_then(Value::as_str))
        .map_or_else(
            || if failed { "error" } else { "ok" }.to_owned(),
            str::to_owned,
        );
    output::print_out(&format!(
        "{} {} {}",
        output::heading(tool),
        output::dim("→"),
        if failed {
            output::verdict_label(false) + " " + &state
        } else {
            state
        }
    ));
    match (data, &response.text) {
        (Some(data), _) => output::print_json(&data, true),
        (None, Some(text)) => output::print_out(text),
        (None, None) => {}
    }
}

/// One line: the AdCP error's code, field and message, or the JSON-RPC error's.
fn error_summary(response: &ToolResponse) -> String {
    let data = response.data();
    let adcp = data.as_ref().and_then(|d| {
        d.get("adcp_error")
            .or_else(|| d.get("errors").and_then(|e| e.get(0)))
            .cloned()
    });
    if let Some(error) = adcp {
        let field = |name: &str| error.get(name).and_then(Value::as_str);
        let mut line = format!("error {}", field("code").unwrap_or("(no code)"));
        if let Some(at) = field("field") {
            let _ = write!(line, " at {at}");
        }
        if let Some(message) = field("message") {
            let _ = write!(line, ": {message}");
        }
        return output::one_line(&line);
    }
    if let Some(rpc) = &response.rpc_error {
        return output::one_line(&format!(
            "JSON-RPC error {}: {}",
            rpc.get("code").map(Value::to_string).unwrap_or_default(),
            rpc.get("message").and_then(Value::as_str).unwrap_or("")
        ));
    }
    if let Some(status) = data
        .as_ref()
        .and_then(|d| d.get("status"))
        .and_then(Value::as_str)
    {
        return format!("the task ended {status}");
    }
    response.text.as_deref().map_or_else(
        || "the agent reported an error".to_owned(),
        output::one_line,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_summarised_with_code_field_and_message() {
        let adcp = ToolResponse {
            structured: Some(
                json!({"adcp_error": {"code": "INVALID_REQUEST", "field": "packages[0].budget", "message": "too\nlow"}}),
            ),
            is_error: true,
            ..ToolResponse::default()
        };
        assert_eq!(
            error_summary(&adcp),
            "error INVALID_REQUEST at packages[0].budget: too low"
        );
        let rpc = ToolResponse::from_rpc_error(json!({"code": -32602, "message": "unknown tool"}));
        assert_eq!(error_summary(&rpc), "JSON-RPC error -32602: unknown tool");
        let failed = ToolResponse {
            structured: Some(json!({"status": "failed"})),
            ..ToolResponse::default()
        };
        assert_eq!(error_summary(&failed), "the task ended failed");
    }
}
