//! `adcp capabilities URL`: the agent's `get_adcp_capabilities`, readable.

use clap::Args;
use serde_json::{Map, Value, json};

use crate::agent::Agent;
use crate::cli::{AgentArgs, EXIT_STATUS};
use crate::commands::call::print_response;
use crate::error::{CliError, Outcome};
use crate::output;

/// Top-level fields shown first, in this order; the rest follow alphabetically.
const FIRST: [&str; 3] = ["adcp", "supported_protocols", "specialisms"];

/// Fields not shown (they echo the request, not the agent).
const HIDDEN: [&str; 1] = ["context"];

/// Array entries shown before `… N more`.
const MAX_ENTRIES: usize = 5;

/// `adcp capabilities`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_STATUS)]
pub(crate) struct CapabilitiesArgs {
    /// How to reach the agent.
    #[command(flatten)]
    pub(crate) agent: AgentArgs,
    /// Print the raw response as JSON instead.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Calls `get_adcp_capabilities` and prints it.
pub(crate) async fn run(args: &CapabilitiesArgs) -> Result<Outcome, CliError> {
    let agent = Agent::connect(&args.agent)?;
    let response = agent.call("get_adcp_capabilities", &json!({})).await?;
    if let Some(error) = &response.rpc_error
        && matches!(
            error.get("code").and_then(Value::as_i64),
            Some(-32601 | -32602)
        )
        && response.data().is_none()
    {
        return Err(CliError::NotAdcp {
            url: agent.url().to_owned(),
            detail: format!(
                "it has no get_adcp_capabilities tool ({})",
                error
                    .get("message")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown tool")
            ),
        });
    }
    let Some(data) = response.data().filter(|_| response.succeeded()) else {
        print_response("get_adcp_capabilities", &response, args.json);
        return Ok(Outcome::Failed);
    };
    if args.json {
        output::print_json(&data, true);
        return Ok(Outcome::Passed);
    }
    output::print_out(&output::heading(&format!(
        "AdCP agent at {} ({})",
        agent.url(),
        agent.protocol()
    )));
    for line in readable(&data) {
        output::print_out(&line);
    }
    Ok(Outcome::Passed)
}

/// The capabilities as lines: scalars and short lists as `key  value`, objects as a heading
/// followed by their leaves (dotted paths), long lists cut after [`MAX_ENTRIES`].
fn readable(data: &Value) -> Vec<String> {
    let Some(map) = data.as_object() else {
        return vec![data.to_string()];
    };
    let mut keys: Vec<&String> = map
        .keys()
        .filter(|k| !HIDDEN.contains(&k.as_str()))
        .collect();
    keys.sort_by_key(|k| (FIRST.iter().position(|f| f == k).unwrap_or(FIRST.len()), *k));
    let mut lines = Vec::new();
    for key in keys {
        match &map[key] {
            Value::Object(inner) if inner.is_empty() => {
                lines.push(format!("{}  (declared, no details)", output::heading(key)));
            }
            Value::Object(inner) => {
                lines.push(output::heading(key));
                let mut leaves = Vec::new();
                flatten(inner, "", &mut leaves);
                let width = leaves.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
                for (path, value) in leaves {
                    lines.push(format!(
                        "  {}  {value}",
                        output::dim(&format!("{path:<width$}"))
                    ));
                }
            }
            value => lines.push(format!("{}  {}", output::heading(key), scalar(value))),
        }
    }
    lines
}

fn flatten(map: &Map<String, Value>, prefix: &str, out: &mut Vec<(String, String)>) {
    for (key, value) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) if !inner.is_empty() => flatten(inner, &path, out),
            value => out.push((path, scalar(value))),
        }
    }
}

/// A value on one line: lists joined with commas (objects as compact JSON), cut when long.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let mut shown: Vec<String> = items
                .iter()
                .take(MAX_ENTRIES)
                .map(|item| match item {
                    Value::String(s) => s.clone(),
                    other => output::truncate(&other.to_string(), 80),
                })
                .collect();
            if items.len() > MAX_ENTRIES {
                shown.push(format!("… {} more", items.len() - MAX_ENTRIES));
            }
            if shown.is_empty() {
                "(none)".to_owned()
            } else {
                shown.join(", ")
            }
        }
        other => output::truncate(&other.to_string(), 100),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_declaration_reads_top_down() {
        let lines = readable(&json!({
            "webhook_signing": {"algorithms": ["ed25519"], "supported": true},
            "supported_protocols": ["media_buy", "signals"],
            "adcp": {"major_versions": [3]},
            "context": {"correlation_id": "x"},
            "specialisms": ["a", "b", "c", "d", "e", "f"],
            "signals": {}
        }))
        .join("\n");
        let adcp = lines.find("adcp").unwrap();
        let protocols = lines.find("supported_protocols").unwrap();
        let signing = lines.find("webhook_signing").unwrap();
        assert!(adcp < protocols && protocols < signing, "{lines}");
        assert!(lines.contains("major_versions"), "{lines}");
        assert!(lines.contains("media_buy, signals"), "{lines}");
        assert!(lines.contains("… 1 more"), "{lines}");
        assert!(!lines.contains("correlation_id"), "{lines}");
        assert!(lines.contains("signals  (declared, no details)"), "{lines}");
    }
}
