//! The AdCP ↔ A2A wire mapping the runner needs as a buyer: the `SendMessage` request that
//! invokes a skill, the agent card's skill list, and the answer flattened into the same
//! [`ToolResponse`] an MCP `tools/call` produces.
//!
//! The mapping follows the rc.9 transport text: a skill call is a message whose data part is
//! `{"skill": <tool>, "parameters": {…}}`; the AdCP body travels in the task's
//! `artifacts[0].parts[].data` for final states and in `status.message.parts[].data` for
//! interim ones. Answers are read leniently: A2A 1.0 (`{"task": …}`, `TASK_STATE_*`, parts
//! keyed by content) and v0.3 (the task itself with `kind: "task"`, lower-case states, parts
//! with `kind: "data"`) both map. Everything here is pure; the HTTP exchanges live in
//! [`crate::client`] and [`crate::probe`].

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde_json::{Value, json};

use crate::client::ToolResponse;

/// The JSON-RPC method that sends a message (A2A 1.0).
pub const SEND_MESSAGE: &str = "SendMessage";

/// The A2A protocol version the runner speaks, sent as the `A2A-Version` header.
pub const VERSION: &str = "1.0";

/// The agent card's well-known paths, in the order they are tried: A2A 1.0's, then the
/// earlier name the rc.9 transport text still uses.
pub const AGENT_CARD_PATHS: [&str; 2] = ["/.well-known/agent-card.json", "/.well-known/agent.json"];

/// A process-wide JSON-RPC request id: every request the runner sends gets a distinct one.
pub fn next_request_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The `SendMessage` request invoking `skill` with `arguments` (sent as `parameters` when it
/// is a JSON object, else as an empty object).
///
/// Guarantees: the message carries exactly one data part, `{"skill", "parameters"}`, a fresh
/// UUID `messageId` and `role: ROLE_USER`.
pub fn send_message(id: u64, skill: &str, arguments: &Value) -> Value {
    let parameters = if arguments.is_object() {
        arguments.clone()
    } else {
        json!({})
    };
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": SEND_MESSAGE,
        "params": {
            "message": {
                "messageId": uuid::Uuid::new_v4().to_string(),
                "role": "ROLE_USER",
                "parts": [{"data": {"skill": skill, "parameters": parameters}}]
            }
        }
    })
}

/// The agent card URLs for an A2A endpoint: its origin (`scheme://host:port`) joined with
/// each of [`AGENT_CARD_PATHS`]. `None` when `agent_url` is not an absolute URL.
pub fn agent_card_urls(agent_url: &str) -> Option<Vec<String>> {
    let url = url::Url::parse(agent_url).ok()?;
    let origin = url.origin();
    if !origin.is_tuple() {
        return None;
    }
    let origin = origin.ascii_serialization();
    Some(
        AGENT_CARD_PATHS
            .iter()
            .map(|path| format!("{origin}{path}"))
            .collect(),
    )
}

/// The skill ids an agent card advertises (`skills[].id`, else the skill's `name`), in card
/// order. `None` when the document has no `skills` array, i.e. is not an agent card.
pub fn skill_ids(card: &Value) -> Option<Vec<String>> {
    let skills = card.get("skills")?.as_array()?;
    Some(
        skills
            .iter()
            .filter_map(|skill| {
                skill
                    .get("id")
                    .or_else(|| skill.get("name"))
                    .and_then(Value::as_str)
            })
            .map(str::to_owned)
            .collect(),
    )
}

/// An A2A task state, normalised across A2A 1.0 (`TASK_STATE_INPUT_REQUIRED`) and v0.3
/// (`input-required`) spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// Accepted, not started.
    Submitted,
    /// In progress.
    Working,
    /// Waiting for the buyer.
    InputRequired,
    /// Waiting for credentials.
    AuthRequired,
    /// Finished.
    Completed,
    /// Finished with an error.
    Failed,
    /// Cancelled.
    Canceled,
    /// Refused.
    Rejected,
    /// Absent, `unspecified`/`unknown`, or a spelling neither version defines.
    Unknown,
}

impl TaskState {
    /// Reads a state string in either version's spelling.
    pub fn parse(state: &str) -> Self {
        let bare = state.strip_prefix("TASK_STATE_").unwrap_or(state);
        match bare.to_ascii_lowercase().replace('_', "-").as_str() {
            "submitted" => Self::Submitted,
            "working" => Self::Working,
            "input-required" => Self::InputRequired,
            "auth-required" => Self::AuthRequired,
            "completed" => Self::Completed,
            "failed" => Self::Failed,
            "canceled" | "cancelled" => Self::Canceled,
            "rejected" => Self::Rejected,
            _ => Self::Unknown,
        }
    }

    /// Whether the task is over (completed, failed, canceled, rejected): its result is then an
    /// artifact rather than a status message.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Canceled | Self::Rejected
        )
    }

    /// Whether the state itself reports an error (failed, rejected).
    pub fn is_error(self) -> bool {
        matches!(self, Self::Failed | Self::Rejected)
    }
}

/// The A2A envelope around a tool result, kept for the report next to the AdCP body.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskSummary {
    /// `task.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `task.contextId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_id: Option<String>,
    /// `task.status.state` as the agent spelled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Maps a JSON-RPC answer to `SendMessage` (`{"result": …}` or `{"error": …}`).
///
/// Guarantees: an `error` object becomes [`ToolResponse::from_rpc_error`]; a result becomes a
/// response whose `structured` is the AdCP body found in it (see the module docs) and whose
/// `is_error` is set when the task state is failed or rejected or the body carries
/// `adcp_error`; a result of no recognisable shape is an error response that says so.
pub fn response_from_rpc(message: &Value) -> ToolResponse {
    if let Some(error) = message.get("error").filter(|e| !e.is_null()) {
        return ToolResponse::from_rpc_error(error.clone());
    }
    match message.get("result") {
        Some(result) => response_from_result(result),
        None => unrecognised("the JSON-RPC answer carries neither `result` nor `error`"),
    }
}

/// Maps a `SendMessage` result: a task or a message, in A2A 1.0's wrapped form or v0.3's bare
/// form (see [`response_from_rpc`]).
pub fn response_from_result(result: &Value) -> ToolResponse {
    if let Some(task) = result.get("task").filter(|t| t.is_object()) {
        return from_task(task);
    }
    if let Some(message) = result.get("message").filter(|m| m.is_object()) {
        return from_message(message);
    }
    match result.get("kind").and_then(Value::as_str) {
        Some("task") => from_task(result),
        Some("message") => from_message(result),
        _ if result.pointer("/status/state").is_some() => from_task(result),
        _ if result.get("parts").is_some_and(Value::is_array) => from_message(result),
        _ => unrecognised(&format!(
            "expected a task or a message, got {}",
            abbreviated(result)
        )),
    }
}

fn from_task(task: &Value) -> ToolResponse {
    let raw_state = task.pointer("/status/state").and_then(Value::as_str);
    let state = raw_state.map_or(TaskState::Unknown, TaskState::parse);
    let status_parts = task.pointer("/status/message/parts");
    let artifact_parts: Vec<&Value> = task
        .get("artifacts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|artifact| artifact.get("parts"))
        .collect();
    // Where the body belongs first, then where a lenient agent may have put it instead.
    let mut sources: Vec<&Value> = Vec::with_capacity(artifact_parts.len() + 1);
    if state.is_final() || state == TaskState::Unknown {
        sources.extend(&artifact_parts);
        sources.extend(status_parts);
    } else {
        sources.extend(status_parts);
        sources.extend(&artifact_parts);
    }
    let body = sources.iter().find_map(|parts| last_data_object(parts));
    let text = sources.iter().find_map(|parts| joined_text(parts));
    let string = |pointer: &str| {
        task.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    ToolResponse {
        is_error: state.is_error() || body.as_ref().is_some_and(has_adcp_error),
        structured: body,
        text,
        rpc_error: None,
        a2a_task: Some(TaskSummary {
            id: string("/id"),
            context_id: string("/contextId"),
            state: raw_state.map(str::to_owned),
        }),
    }
}

fn from_message(message: &Value) -> ToolResponse {
    let parts = message.get("parts").unwrap_or(&Value::Null);
    let body = last_data_object(parts);
    ToolResponse {
        is_error: body.as_ref().is_some_and(has_adcp_error),
        structured: body,
        text: joined_text(parts),
        rpc_error: None,
        a2a_task: None,
    }
}

/// The last part whose `data` is a JSON object (the rc.9 rule for the AdCP body: "the last
/// non-null, object-typed DataPart"). A 1.0 part is `{"data": …}`; a v0.3 part adds
/// `kind: "data"`; parts of another kind are skipped.
fn last_data_object(parts: &Value) -> Option<Value> {
    parts
        .as_array()?
        .iter()
        .filter(|part| part.get("kind").is_none_or(|kind| kind == "data"))
        .filter_map(|part| part.get("data"))
        .rfind(|data| data.is_object())
        .cloned()
}

/// Every text part, joined by newlines; `None` when there is none.
fn joined_text(parts: &Value) -> Option<String> {
    let texts: Vec<&str> = parts
        .as_array()?
        .iter()
        .filter(|part| part.get("kind").is_none_or(|kind| kind == "text"))
        .filter_map(|part| part.get("text").and_then(Value::as_str))
        .collect();
    (!texts.is_empty()).then(|| texts.join("\n"))
}

fn has_adcp_error(body: &Value) -> bool {
    body.get("adcp_error").is_some_and(|e| !e.is_null())
}

fn unrecognised(reason: &str) -> ToolResponse {
    ToolResponse {
        is_error: true,
        text: Some(format!("unrecognised SendMessage answer: {reason}")),
        ..ToolResponse::default()
    }
}

fn abbreviated(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 200 {
        return text;
    }
    let cut: String = text.chars().take(200).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(result: &Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 7, "result": result})
    }

    #[test]
    fn the_request_invokes_the_skill_with_its_parameters() {
        let request = send_message(3, "get_products", &json!({"brief": "x"}));
        assert_eq!(request["method"], "SendMessage");
        assert_eq!(request["id"], 3);
        let message = &request["params"]["message"];
        assert_eq!(message["role"], "ROLE_USER");
        assert!(
            uuid::Uuid::parse_str(message["messageId"].as_str().unwrap()).is_ok(),
            "{message}"
        );
        assert_eq!(
            message["parts"],
            json!([{"data": {"skill": "get_products", "parameters": {"brief": "x"}}}])
        );
        let no_args = send_message(4, "get_adcp_capabilities", &Value::Null);
        assert_eq!(
            no_args["params"]["message"]["parts"][0]["data"]["parameters"],
            json!({})
        );
        assert_ne!(
            no_args["params"]["message"]["messageId"],
            message["messageId"]
        );
    }

    #[test]
    fn card_urls_use_the_origin_and_skills_are_listed_by_id() {
        assert_eq!(
            agent_card_urls("http://127.0.0.1:3001/a2a/v1?x=1").unwrap(),
            [
                "http://127.0.0.1:3001/.well-known/agent-card.json",
                "http://127.0.0.1:3001/.well-known/agent.json"
            ]
        );
        assert!(agent_card_urls("not a url").is_none());
        let card = json!({
            "name": "seller",
            "skills": [
                {"id": "get_products", "name": "Get products"},
                {"name": "get_signals"},
                {"description": "no id"}
            ]
        });
        assert_eq!(skill_ids(&card).unwrap(), ["get_products", "get_signals"]);
        assert!(skill_ids(&json!({"error": "not found"})).is_none());
    }

    #[test]
    fn states_parse_in_both_spellings() {
        assert_eq!(
            TaskState::parse("TASK_STATE_INPUT_REQUIRED"),
            TaskState::InputRequired
        );
        assert_eq!(TaskState::parse("input-required"), TaskState::InputRequired);
        assert_eq!(TaskState::parse("auth-required"), TaskState::AuthRequired);
        assert_eq!(TaskState::parse("TASK_STATE_CANCELED"), TaskState::Canceled);
        assert_eq!(TaskState::parse("completed"), TaskState::Completed);
        assert_eq!(
            TaskState::parse("TASK_STATE_UNSPECIFIED"),
            TaskState::Unknown
        );
        assert!(TaskState::Rejected.is_final() && TaskState::Rejected.is_error());
        assert!(!TaskState::Working.is_final() && !TaskState::Canceled.is_error());
    }

    #[test]
    fn a_completed_task_carries_its_body_in_the_artifact() {
        let body =
            json!({"status": "completed", "products": [], "context": {"correlation_id": "c"}});
        let response = response_from_rpc(&answer(&json!({"task": {
            "id": "t1",
            "contextId": "ctx1",
            "status": {
                "state": "TASK_STATE_COMPLETED",
                "message": {"role": "ROLE_AGENT", "parts": [{"data": {"status": "working"}}]}
            },
            "artifacts": [{"artifactId": "a1", "name": "result", "parts": [{"data": body}]}]
        }})));
        assert_eq!(response.structured, Some(body.clone()));
        assert!(!response.is_error);
        assert!(response.text.is_none() && response.rpc_error.is_none());
        assert!(response.succeeded());
        assert_eq!(response.data(), Some(body));
        assert_eq!(
            response.a2a_task,
            Some(TaskSummary {
                id: Some("t1".into()),
                context_id: Some("ctx1".into()),
                state: Some("TASK_STATE_COMPLETED".into()),
            })
        );
    }

    #[test]
    fn a_submitted_task_carries_its_body_in_the_status_message() {
        let body = json!({"status": "submitted", "task_id": "task_9"});
        let response = response_from_rpc(&answer(&json!({"task": {
            "id": "t2",
            "contextId": "ctx2",
            "status": {
                "state": "TASK_STATE_SUBMITTED",
                "message": {"role": "ROLE_AGENT", "messageId": "m", "parts": [{"data": body}]}
            }
        }})));
        assert_eq!(response.structured, Some(body));
        assert!(!response.is_error);
        assert!(response.succeeded());
        let working = response_from_result(&json!({"task": {
            "id": "t3",
            "status": {"state": "TASK_STATE_INPUT_REQUIRED",
                       "message": {"parts": [{"data": {"status": "input-required"}}]}},
            "artifacts": [{"parts": [{"data": {"status": "stale"}}]}]
        }}));
        assert_eq!(
            working.structured,
            Some(json!({"status": "input-required"})),
            "interim states read the status message before any artifact"
        );
    }

    #[test]
    fn a_failed_task_with_adcp_error_is_an_error() {
        let error =
            json!({"code": "VERSION_UNSUPPORTED", "message": "no", "recovery": "correctable"});
        let body = json!({"status": "failed", "adcp_error": error, "errors": [error]});
        let response = response_from_rpc(&answer(&json!({"task": {
            "id": "t4",
            "contextId": "ctx4",
            "status": {"state": "TASK_STATE_FAILED"},
            "artifacts": [{"artifactId": "a", "name": "result", "parts": [{"data": body}]}]
        }})));
        assert!(response.is_error);
        assert!(!response.succeeded());
        assert_eq!(response.structured, Some(body));
        let rejected_without_body = response_from_result(&json!({"task": {
            "id": "t5", "status": {"state": "TASK_STATE_REJECTED"}
        }}));
        assert!(rejected_without_body.is_error);
        assert!(rejected_without_body.structured.is_none());
        let completed_with_error = response_from_result(&json!({"task": {
            "id": "t6",
            "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"parts": [{"data": {"adcp_error": {"code": "X"}}}]}]
        }}));
        assert!(
            completed_with_error.is_error,
            "adcp_error alone marks an error"
        );
    }

    #[test]
    fn a_json_rpc_error_maps_like_mcp() {
        let error = json!({
            "code": -32602,
            "message": "invalid params",
            "data": {"adcp_error": {"code": "INVALID_REQUEST", "message": "m", "recovery": "correctable"}}
        });
        let response = response_from_rpc(&json!({"jsonrpc": "2.0", "id": 1, "error": error}));
        assert!(response.is_error);
        assert_eq!(response.rpc_error, Some(error));
        assert_eq!(response.text.as_deref(), Some("invalid params"));
        assert_eq!(
            response
                .data()
                .and_then(|d| d.pointer("/adcp_error/code").cloned()),
            Some(json!("INVALID_REQUEST"))
        );
        assert!(response.a2a_task.is_none());
    }

    #[test]
    fn v0_3_answers_map_leniently() {
        let body = json!({"status": "completed", "signals": []});
        let completed = response_from_rpc(&answer(&json!({
            "kind": "task",
            "id": "t7",
            "contextId": "ctx7",
            "status": {"state": "completed"},
            "artifacts": [{"artifactId": "a", "parts": [
                {"kind": "text", "text": "Found 0 signals."},
                {"kind": "data", "data": body}
            ]}]
        })));
        assert_eq!(completed.structured, Some(body));
        assert_eq!(completed.text.as_deref(), Some("Found 0 signals."));
        assert!(completed.succeeded());
        let interim = response_from_result(&json!({
            "kind": "task",
            "id": "t8",
            "status": {"state": "input-required", "message": {"kind": "message", "role": "agent",
                "parts": [{"kind": "data", "data": {"status": "input-required", "message": "which market?"}}]}}
        }));
        assert_eq!(
            interim.structured,
            Some(json!({"status": "input-required", "message": "which market?"}))
        );
        assert!(!interim.is_error);
        let failed = response_from_result(&json!({
            "kind": "task", "id": "t9", "status": {"state": "failed"},
            "artifacts": [{"parts": [{"kind": "data", "data": {"adcp_error": {"code": "RATE_LIMITED"}}}]}]
        }));
        assert!(failed.is_error);
        let message = response_from_result(&json!({
            "kind": "message", "role": "agent",
            "parts": [{"kind": "data", "data": {"status": "completed"}}]
        }));
        assert_eq!(message.structured, Some(json!({"status": "completed"})));
        assert!(message.succeeded() && message.a2a_task.is_none());
    }

    #[test]
    fn the_last_object_data_part_is_the_body() {
        let response = response_from_result(&json!({"task": {
            "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"parts": [
                {"data": {"status": "working"}},
                {"data": null},
                {"data": {"status": "completed"}},
                {"data": [1, 2]}
            ]}]
        }}));
        assert_eq!(response.structured, Some(json!({"status": "completed"})));
    }

    #[test]
    fn unrecognised_answers_are_errors_that_say_so() {
        let response = response_from_rpc(&answer(&json!({"ok": true})));
        assert!(response.is_error);
        assert!(
            response
                .text
                .as_deref()
                .is_some_and(|t| t.contains("expected a task or a message")),
            "{response:?}"
        );
        let empty = response_from_rpc(&json!({"jsonrpc": "2.0", "id": 1}));
        assert!(empty.is_error && empty.structured.is_none());
    }
}
