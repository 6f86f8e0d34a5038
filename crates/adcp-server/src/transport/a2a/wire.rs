//! The AdCP ↔ A2A mapping (rc.9 transport text, §A2A): which skill a message invokes, and the
//! A2A `Task` that carries an AdCP body. Pure functions over JSON, no I/O.

use a2a::{Artifact, Message, Part, Role, Task, TaskState, TaskStatus};
use adcp_types::AdcpError;
use serde_json::{Map, Value};

/// What a `SendMessage` asks for: a skill (an AdCP tool) and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Invocation {
    /// The AdCP tool name.
    pub(super) skill: String,
    /// The tool's arguments, with an A2A-native push config translated into the AdCP
    /// `push_notification_config` when the buyer sent one.
    pub(super) parameters: Map<String, Value>,
    /// The message's `contextId`, if it named one (also passed to the skill as the envelope's
    /// `context_id` when the parameters carry none, so a handed-off task keeps it).
    pub(super) context_id: Option<String>,
    /// Whether the push config came from A2A's `configuration` (errors about it are named
    /// there, not at `push_notification_config`).
    pub(super) native_push: bool,
}

/// Why a `SendMessage` could not be read.
#[derive(Debug)]
pub(super) enum Unreadable {
    /// The JSON-RPC params are not an A2A `SendMessageRequest` (a transport fault: answered
    /// with a JSON-RPC invalid-params error).
    Params(AdcpError),
    /// A well-formed message that invokes no skill (answered with a failed task whose data
    /// part carries the AdCP error).
    Message(AdcpError),
}

/// The shape every skill call takes, named in errors so a buyer can fix the call.
pub(super) const EXPECTED_DATA_PART: &str = "send the call as a DataPart \
     {\"data\": {\"skill\": \"<tool name>\", \"parameters\": {…}}} in message.parts \
     (`input` is accepted for `parameters`; A2A v0.3: {\"kind\": \"data\", \"data\": {…}})";

/// Reads a `SendMessage` / `message/send` params object.
/// `v03` is whether the call came by a v0.3 method name (its push webhooks then take v0.3
/// shapes).
pub(super) fn invocation(params: &Value, v03: bool) -> Result<Invocation, Unreadable> {
    let Some(message) = params.get("message").filter(|m| m.is_object()) else {
        return Err(Unreadable::Params(
            AdcpError::invalid_request("SendMessage needs `params.message`, an A2A Message object")
                .with_field("params.message"),
        ));
    };
    let Some(parts) = message.get("parts").and_then(Value::as_array) else {
        return Err(Unreadable::Params(
            AdcpError::invalid_request("`params.message.parts` must be an array of parts")
                .with_field("params.message.parts"),
        ));
    };
    let context_id = match message.get("contextId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if crate::dispatch::is_context_id(id) => Some(id.clone()),
        Some(_) => {
            return Err(Unreadable::Params(
                AdcpError::invalid_request("`contextId` must be 1 to 255 printable characters")
                    .with_field("params.message.contextId"),
            ));
        }
    };
    // The first data part carrying a skill is the call; text parts (a human-readable note
    // beside it) are ignored. The AdCP v3.2 profile sends the call as JSON text
    // (`mediaType: application/json`), so a string `data` is parsed.
    let Some(call) = parts
        .iter()
        .filter_map(|part| part.get("data"))
        .filter_map(|data| match data {
            Value::String(text) => serde_json::from_str::<Value>(text).ok(),
            other => Some(other.clone()),
        })
        .find(|data| data.get("skill").is_some())
    else {
        return Err(Unreadable::Message(
            AdcpError::invalid_request(format!(
                "the message carries no skill call: {EXPECTED_DATA_PART}"
            ))
            .with_field("params.message.parts"),
        ));
    };
    let Some(skill) = call.get("skill").and_then(Value::as_str) else {
        return Err(Unreadable::Message(
            AdcpError::invalid_request("`skill` must be the tool's name as a string")
                .with_field("params.message.parts.data.skill"),
        ));
    };
    // `parameters` (A2A v0.3 buyers, the Python SDK) or `input` (the AdCP A2A profile).
    let mut parameters = match call.get("parameters").or_else(|| call.get("input")) {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map.clone(),
        Some(_) => {
            return Err(Unreadable::Message(
                AdcpError::invalid_request(
                    "`parameters` must be a JSON object of the skill's arguments",
                )
                .with_field("params.message.parts.data.parameters"),
            ));
        }
    };
    let native = native_push_config(params);
    if let Some(native) = native {
        if parameters.contains_key("push_notification_config") {
            return Err(Unreadable::Message(
                AdcpError::invalid_request(
                    "send one push config: either the AdCP `push_notification_config` in the \
                     skill's parameters or A2A's `configuration.taskPushNotificationConfig`",
                )
                .with_field("params.configuration"),
            ));
        }
        let translated = adcp_push_config(native, v03).map_err(Unreadable::Message)?;
        parameters.insert("push_notification_config".to_owned(), translated);
    }
    // The message's contextId is the task's conversation: passed on as the envelope's
    // `context_id`, and a different one in the parameters is a contradiction, not a choice.
    if let Some(context_id) = &context_id {
        match parameters.get("context_id") {
            None | Some(Value::Null) => {
                parameters.insert("context_id".to_owned(), Value::String(context_id.clone()));
            }
            Some(Value::String(given)) if given == context_id => {}
            Some(_) => {
                return Err(Unreadable::Message(
                    AdcpError::invalid_request(
                        "the parameters' `context_id` differs from the message's `contextId`",
                    )
                    .with_field("params.message.parts.data.parameters.context_id"),
                ));
            }
        }
    }
    Ok(Invocation {
        skill: skill.to_owned(),
        parameters,
        context_id,
        native_push: native.is_some(),
    })
}

/// A2A's own push config on the request (1.0 `taskPushNotificationConfig`, v0.3
/// `pushNotificationConfig`), if any.
fn native_push_config(params: &Value) -> Option<&Value> {
    let configuration = params.get("configuration")?;
    ["taskPushNotificationConfig", "pushNotificationConfig"]
        .iter()
        .find_map(|name| configuration.get(*name).filter(|v| !v.is_null()))
}

/// The AdCP `push_notification_config` an A2A push config stands for: its `url` and `token`,
/// its `authentication` (1.0 `{scheme, credentials}`, v0.3 `{schemes, credentials}`) as the
/// legacy AdCP block, and the marker that makes its webhooks A2A `Task` bodies.
fn adcp_push_config(native: &Value, v03: bool) -> Result<Value, AdcpError> {
    let invalid = |what: &str| {
        AdcpError::invalid_request(format!("configuration.taskPushNotificationConfig: {what}"))
            .with_field("params.configuration.taskPushNotificationConfig")
    };
    let Some(url) = native.get("url").and_then(Value::as_str) else {
        return Err(invalid("`url` is required"));
    };
    let mut config = Map::new();
    config.insert("url".to_owned(), Value::String(url.to_owned()));
    if let Some(token) = native.get("token").filter(|t| !t.is_null()) {
        config.insert("token".to_owned(), token.clone());
    }
    if let Some(auth) = native.get("authentication").filter(|a| !a.is_null()) {
        let schemes = match (auth.get("scheme"), auth.get("schemes")) {
            (Some(Value::String(scheme)), _) => vec![Value::String(scheme.clone())],
            (_, Some(Value::Array(schemes))) => schemes.clone(),
            _ => return Err(invalid("`authentication` needs a `scheme`")),
        };
        let mut block = Map::new();
        block.insert("schemes".to_owned(), Value::Array(schemes));
        if let Some(credentials) = auth.get("credentials") {
            block.insert("credentials".to_owned(), credentials.clone());
        }
        config.insert("authentication".to_owned(), Value::Object(block));
    }
    config.insert(
        adcp_webhooks::A2A_ENVELOPE_MEMBER.to_owned(),
        if v03 {
            Value::String(adcp_webhooks::A2A_V03_ENVELOPE.to_owned())
        } else {
            Value::Bool(true)
        },
    );
    Ok(Value::Object(config))
}

/// The A2A state an AdCP `status` stands for; an unknown status reads as failed for an error
/// reply and completed otherwise.
pub(super) fn state_of(status: Option<&str>, is_error: bool) -> TaskState {
    match status {
        Some("submitted") => TaskState::Submitted,
        Some("working") => TaskState::Working,
        Some("input-required") => TaskState::InputRequired,
        Some("auth-required") => TaskState::AuthRequired,
        Some("completed") if !is_error => TaskState::Completed,
        Some("canceled") => TaskState::Canceled,
        Some("rejected") => TaskState::Rejected,
        _ if is_error => TaskState::Failed,
        Some("failed") => TaskState::Failed,
        _ => TaskState::Completed,
    }
}

/// A fresh A2A id (a UUID), for messages, artifacts and synchronous calls' tasks.
pub(super) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The A2A task carrying `body` (an AdCP response) in `state`: final states put it in
/// `artifacts[0].parts[0].data`, interim states in `status.message.parts[0].data`.
pub(super) fn task(id: String, context_id: String, state: TaskState, body: Value) -> Task {
    let data = vec![Part::data(body)];
    let (message, artifacts) = if state.is_terminal() {
        let artifact = Artifact {
            artifact_id: new_id(),
            name: Some("result".to_owned()),
            description: None,
            parts: data,
            metadata: None,
            extensions: None,
        };
        (None, Some(vec![artifact]))
    } else {
        let message = Message {
            message_id: new_id(),
            context_id: Some(context_id.clone()),
            task_id: Some(id.clone()),
            role: Role::Agent,
            parts: data,
            metadata: None,
            extensions: None,
            reference_task_ids: None,
        };
        (Some(message), None)
    };
    Task {
        id,
        context_id,
        status: TaskStatus {
            state,
            message,
            timestamp: Some(chrono::Utc::now()),
        },
        artifacts,
        history: None,
        metadata: None,
    }
}

/// The task a tool reply stands for: always final, the AdCP body in its artifact. rc.9's
/// storyboard schema (`check: a2a_submitted_artifact`) normalises a `submitted` arm to
/// `completed` with the AdCP discriminator (`status: "submitted"`) kept in the data part, and the
/// AdCP A2A profile does the same for every non-error arm; an error reply is `failed`. A
/// handed-off call's `task.id` is its AdCP `task_id` (where `GetTask` follows the AdCP task's
/// own lifecycle); a synchronous answer gets a fresh id that names nothing to poll.
pub(super) fn reply_task(body: Value, is_error: bool, message_context: Option<String>) -> Task {
    // A successful reply is completed whatever its body's `status` says (a deprecated
    // media-buy `status: canceled` on an update is the buy's state, not the call's).
    let state = if is_error {
        match state_of(body.get("status").and_then(Value::as_str), true) {
            state @ (TaskState::Rejected | TaskState::Canceled) => state,
            _ => TaskState::Failed,
        }
    } else {
        TaskState::Completed
    };
    let task_id = body
        .get("task_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let context_id = body
        .get("context_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or(message_context)
        .or_else(|| task_id.clone())
        .unwrap_or_else(new_id);
    task(task_id.unwrap_or_else(new_id), context_id, state, body)
}

/// The task a `get_task_status` body describes: a completed task's AdCP result as its
/// artifact, a failed one's error as an AdCP error body, an unfinished one's status body as
/// its status message.
pub(super) fn status_task(status: Value) -> Task {
    let (task_id, context_id) = ids_of(&status);
    let state = state_of(status.get("status").and_then(Value::as_str), false);
    let body = match state {
        TaskState::Completed => status.get("result").cloned().unwrap_or(status),
        TaskState::Failed => match status.get("error") {
            Some(error) => failed_body(&task_id, error),
            None => status,
        },
        _ => status,
    };
    task(task_id, context_id, state, body)
}

/// The task a `list_tasks` summary describes: its state, and the summary as the status
/// message (a summary holds no result, so no artifact).
pub(super) fn summary_task(summary: Value) -> Task {
    let (task_id, context_id) = ids_of(&summary);
    let state = state_of(summary.get("status").and_then(Value::as_str), false);
    // Built as an unfinished task so the summary rides in the status message.
    let mut task = task(task_id, context_id, TaskState::Working, summary);
    task.status.state = state;
    task
}

/// A registry task's A2A ids from its status or summary body: its `task_id`, and its
/// `context_id` (the task id when it was created in no conversation).
fn ids_of(body: &Value) -> (String, String) {
    let task_id = body
        .get("task_id")
        .and_then(Value::as_str)
        .map_or_else(new_id, str::to_owned);
    let context_id = body
        .get("context_id")
        .and_then(Value::as_str)
        .map_or_else(|| task_id.clone(), str::to_owned);
    (task_id, context_id)
}

/// The AdCP error body of a failed task (as the synchronous error reply would have been).
fn failed_body(task_id: &str, error: &Value) -> Value {
    let mut body = Map::new();
    body.insert("status".to_owned(), Value::String("failed".to_owned()));
    body.insert("task_id".to_owned(), Value::String(task_id.to_owned()));
    body.insert("adcp_error".to_owned(), error.clone());
    body.insert("errors".to_owned(), Value::Array(vec![error.clone()]));
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn invocation_v1(params: &Value) -> Result<Invocation, Unreadable> {
        invocation(params, false)
    }

    fn message(parts: &Value) -> Value {
        json!({"message": {"messageId": "m1", "role": "ROLE_USER", "contextId": "ctx-1", "parts": parts}})
    }

    #[test]
    fn a_data_part_names_the_skill_and_its_parameters() {
        let call = invocation_v1(&message(&json!([
            {"text": "find me products"},
            {"data": {"skill": "get_products", "parameters": {"buying_mode": "wholesale"}}}
        ])))
        .unwrap();
        assert_eq!(call.skill, "get_products");
        assert_eq!(call.parameters["buying_mode"], "wholesale");
        assert_eq!(call.context_id.as_deref(), Some("ctx-1"));
        let legacy = invocation_v1(&message(&json!([
            {"kind": "data", "data": {"skill": "get_signals"}}
        ])))
        .unwrap();
        assert_eq!(legacy.skill, "get_signals");
        // The message's contextId is passed on as the envelope's context_id.
        assert_eq!(
            Value::Object(legacy.parameters),
            json!({"context_id": "ctx-1"})
        );
        let profile = invocation_v1(&message(&json!([
            {"data": "{\"skill\": \"get_products\", \"input\": {\"brief\": \"b\"}}",
             "mediaType": "application/json"}
        ])))
        .unwrap();
        assert_eq!(profile.skill, "get_products");
        assert_eq!(profile.parameters["brief"], "b");
    }

    #[test]
    fn a_text_only_message_names_the_expected_data_part() {
        let Err(Unreadable::Message(error)) =
            invocation_v1(&message(&json!([{"text": "get me products"}])))
        else {
            panic!("a text-only message was read as a call");
        };
        assert_eq!(error.code, "INVALID_REQUEST");
        assert_eq!(error.field.as_deref(), Some("params.message.parts"));
        assert!(error.message.contains("DataPart"), "{}", error.message);
    }

    #[test]
    fn malformed_params_are_a_transport_fault() {
        for params in [
            json!({}),
            json!({"message": "x"}),
            json!({"message": {"parts": 3}}),
        ] {
            assert!(
                matches!(invocation_v1(&params), Err(Unreadable::Params(_))),
                "{params}"
            );
        }
        let Err(Unreadable::Message(error)) = invocation_v1(&message(&json!([
            {"data": {"skill": "get_products", "parameters": [1]}}
        ]))) else {
            panic!("array parameters were accepted");
        };
        assert_eq!(
            error.field.as_deref(),
            Some("params.message.parts.data.parameters")
        );
    }

    #[test]
    fn a_native_push_config_becomes_an_adcp_one_marked_for_a2a_bodies() {
        let mut params = message(&json!([{"data": {"skill": "get_products", "parameters": {}}}]));
        params["configuration"] = json!({"taskPushNotificationConfig": {
            "url": "https://buyer.example/a2a-hook", "token": "tok_0123456789abcdef",
            "authentication": {"scheme": "Bearer", "credentials": "c".repeat(32)}
        }});
        let call = invocation_v1(&params).unwrap();
        let push = &call.parameters["push_notification_config"];
        assert_eq!(push["url"], "https://buyer.example/a2a-hook");
        assert_eq!(push["token"], "tok_0123456789abcdef");
        assert_eq!(push["authentication"]["schemes"], json!(["Bearer"]));
        assert_eq!(push[adcp_webhooks::A2A_ENVELOPE_MEMBER], true);
        params["message"]["parts"][0]["data"]["parameters"] =
            json!({"push_notification_config": {"url": "https://buyer.example/h"}});
        assert!(matches!(
            invocation_v1(&params),
            Err(Unreadable::Message(_))
        ));
    }

    #[test]
    fn every_reply_is_a_final_task_with_the_body_as_its_artifact() {
        let done = reply_task(json!({"status": "completed", "products": []}), false, None);
        assert_eq!(done.status.state, TaskState::Completed);
        let artifacts = done.artifacts.unwrap();
        assert_eq!(
            artifacts[0].parts[0],
            Part::data(json!({"status": "completed", "products": []}))
        );
        assert!(done.status.message.is_none());

        let submitted = reply_task(
            json!({"status": "submitted", "task_id": "task_1"}),
            false,
            Some("ctx".into()),
        );
        assert_eq!(submitted.id, "task_1");
        assert_eq!(submitted.context_id, "ctx");
        // rc.9 `a2a_submitted_artifact`: the A2A task is completed, the AdCP discriminator
        // stays in the data part.
        assert_eq!(submitted.status.state, TaskState::Completed);
        assert!(submitted.status.message.is_none());
        assert_eq!(
            submitted.artifacts.unwrap()[0].parts[0],
            Part::data(json!({"status": "submitted", "task_id": "task_1"}))
        );

        let failed = reply_task(
            json!({"status": "failed", "adcp_error": {"code": "INVALID_REQUEST"}}),
            true,
            None,
        );
        assert_eq!(failed.status.state, TaskState::Failed);
        assert!(failed.artifacts.is_some());
    }

    #[test]
    fn a_status_body_maps_result_error_and_progress() {
        let completed = status_task(json!({
            "task_id": "task_1", "status": "completed", "result": {"products": [1]}
        }));
        assert_eq!(completed.id, "task_1");
        assert_eq!(completed.context_id, "task_1");
        assert_eq!(
            completed.artifacts.unwrap()[0].parts[0],
            Part::data(json!({"products": [1]}))
        );
        let failed = status_task(json!({
            "task_id": "task_2", "status": "failed", "error": {"code": "SERVICE_UNAVAILABLE"}
        }));
        let body = match &failed.artifacts.unwrap()[0].parts[0].content {
            a2a::PartContent::Data(body) => body.clone(),
            other => panic!("not a data part: {other:?}"),
        };
        assert_eq!(body["adcp_error"]["code"], "SERVICE_UNAVAILABLE");
        assert_eq!(body["status"], "failed");
        let working = status_task(json!({"task_id": "task_3", "status": "working"}));
        assert_eq!(working.status.state, TaskState::Working);
        assert!(working.status.message.is_some());
    }
}
