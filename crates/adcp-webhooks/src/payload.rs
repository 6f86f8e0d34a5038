//! The `core/mcp-webhook-payload.json` body: built once per logical event, serialized once, and
//! re-sent byte for byte on every retry so the `idempotency_key` and the signed digest match.

use adcp_types::{AdcpProtocol, TaskStatus, TaskType};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::config::{PushNotificationConfig, WebhookEnvelope};

/// Object members removed from any result before it leaves the seller, at any depth.
///
/// `authentication`/`credentials` carry shared secrets (push configs, governance agents);
/// `bank` is write-only in `core/business-entity.json`; the rest are generic secret names.
pub const STRIPPED_MEMBERS: &[&str] = &[
    "authentication",
    "credentials",
    "bank",
    "password",
    "secret",
    "client_secret",
    "api_key",
    "access_token",
    "refresh_token",
    "private_key",
];

/// A new idempotency key: `whk_` and a UUIDv4 in hex (36 characters of `[A-Za-z0-9_]`).
pub fn new_idempotency_key() -> String {
    format!("whk_{}", uuid::Uuid::new_v4().simple())
}

/// Whether `key` matches the schema's `^[A-Za-z0-9_.:-]{16,255}$`.
pub fn is_valid_idempotency_key(key: &str) -> bool {
    (16..=255).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

/// The protocol a task type belongs to, as the payload's `protocol` reports it.
pub const fn protocol_for(task_type: TaskType) -> AdcpProtocol {
    match task_type {
        TaskType::ActivateSignal | TaskType::GetSignals => AdcpProtocol::Signals,
        TaskType::SyncCreatives | TaskType::GetCreativeDelivery => AdcpProtocol::Creative,
        TaskType::CreatePropertyList
        | TaskType::UpdatePropertyList
        | TaskType::GetPropertyList
        | TaskType::ListPropertyLists
        | TaskType::DeletePropertyList => AdcpProtocol::Governance,
        TaskType::GetBrandIdentity
        | TaskType::SearchBrands
        | TaskType::GetRights
        | TaskType::AcquireRights => AdcpProtocol::Brand,
        _ => AdcpProtocol::MediaBuy,
    }
}

/// Removes [`STRIPPED_MEMBERS`] from `value` recursively.
pub fn strip_credentials(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !STRIPPED_MEMBERS.contains(&key.as_str()));
            map.values_mut().for_each(strip_credentials);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_credentials),
        _ => {}
    }
}

/// The `result` of a failed task: an `{errors: [...]}` response built from the wire error, or
/// the value itself when it already is such a response.
pub fn failure_result(error: &Value) -> Value {
    if error.get("errors").is_some_and(Value::is_array) {
        return error.clone();
    }
    let mut map = Map::new();
    map.insert("errors".into(), Value::Array(vec![error.clone()]));
    Value::Object(map)
}

/// One state change of a task to report.
#[derive(Debug, Clone)]
pub struct WebhookEvent {
    /// The task's id.
    pub task_id: String,
    /// The task's type (a spec webhook task type).
    pub task_type: TaskType,
    /// The protocol; derived from `task_type` when `None`.
    pub protocol: Option<AdcpProtocol>,
    /// The task's status.
    pub status: TaskStatus,
    /// Completed: the full task response. Failed: the error response (see [`failure_result`]).
    pub result: Option<Value>,
    /// A human-readable summary.
    pub message: Option<String>,
    /// The session id, if the task has one.
    pub context_id: Option<String>,
    /// The caller's original `context` object, echoed verbatim.
    pub context: Option<Value>,
}

/// A payload serialized once, with the key that identifies it on every retry.
#[derive(Clone, PartialEq, Eq)]
pub struct PreparedPayload {
    /// The payload's `idempotency_key`.
    pub idempotency_key: String,
    /// The exact compact-JSON bytes to send (and sign) on every attempt.
    pub body: Vec<u8>,
}

impl std::fmt::Debug for PreparedPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The body carries the echoed token, so only its size is shown.
        f.debug_struct("PreparedPayload")
            .field("idempotency_key", &self.idempotency_key)
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// Builds the payload object for `event` addressed by `config`.
///
/// `operation_id` is the config's value verbatim; when the buyer registered none it falls back to
/// `"{task_type}.{task_id}"` (never anything parsed from the URL). `token` is echoed verbatim.
/// The result is stripped of credentials.
pub fn build_payload(
    config: &PushNotificationConfig,
    event: &WebhookEvent,
    idempotency_key: &str,
    timestamp: DateTime<Utc>,
) -> Value {
    let mut map = Map::new();
    let mut put = |key: &str, value: Value| {
        map.insert(key.to_owned(), value);
    };
    put("idempotency_key", Value::String(idempotency_key.to_owned()));
    let operation_id = config
        .operation_id
        .clone()
        .unwrap_or_else(|| format!("{}.{}", event.task_type.as_str(), event.task_id));
    put("operation_id", Value::String(operation_id));
    put("task_id", Value::String(event.task_id.clone()));
    put(
        "task_type",
        Value::String(event.task_type.as_str().to_owned()),
    );
    let protocol = event
        .protocol
        .unwrap_or_else(|| protocol_for(event.task_type));
    put("protocol", Value::String(protocol.as_str().to_owned()));
    put("status", Value::String(event.status.as_str().to_owned()));
    put(
        "timestamp",
        Value::String(timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)),
    );
    if let Some(message) = &event.message {
        put("message", Value::String(message.clone()));
    }
    if let Some(context_id) = &event.context_id {
        put("context_id", Value::String(context_id.clone()));
    }
    if let Some(context) = &event.context {
        put("context", context.clone());
    }
    if let Some(token) = &config.token {
        put("token", Value::String(token.expose().to_owned()));
    }
    if let Some(result) = &event.result {
        let mut result = result.clone();
        strip_credentials(&mut result);
        put("result", result);
    }
    Value::Object(map)
}

/// Builds the A2A body for `event` ([`WebhookEnvelope::A2aTask`]): an A2A 1.0 `StreamResponse`
/// `{"task": Task}` whose `status.state` mirrors the AdCP status (`TASK_STATE_COMPLETED`, …),
/// whose one artifact's data part is the (credential-stripped) result, and whose
/// `metadata.adcp` carries what the AdCP payload would (`idempotency_key`, `operation_id`,
/// `task_type`, `protocol`, `context`, `token`).
pub fn build_a2a_payload(
    config: &PushNotificationConfig,
    event: &WebhookEvent,
    idempotency_key: &str,
    timestamp: DateTime<Utc>,
) -> Value {
    let adcp = build_payload(config, event, idempotency_key, timestamp);
    let state = format!(
        "TASK_STATE_{}",
        event.status.as_str().replace('-', "_").to_ascii_uppercase()
    );
    let mut status = Map::new();
    status.insert("state".to_owned(), Value::String(state));
    status.insert(
        "timestamp".to_owned(),
        Value::String(timestamp.to_rfc3339_opts(SecondsFormat::Micros, true)),
    );
    let mut task = Map::new();
    task.insert("id".to_owned(), Value::String(event.task_id.clone()));
    task.insert(
        "contextId".to_owned(),
        Value::String(
            event
                .context_id
                .clone()
                .unwrap_or_else(|| event.task_id.clone()),
        ),
    );
    task.insert("status".to_owned(), Value::Object(status));
    let mut metadata = match adcp {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    if let Some(result) = metadata.remove("result") {
        let mut part = Map::new();
        part.insert("data".to_owned(), result);
        let mut artifact = Map::new();
        artifact.insert(
            "artifactId".to_owned(),
            Value::String(format!("{}.result", event.task_id)),
        );
        artifact.insert("name".to_owned(), Value::String("result".to_owned()));
        artifact.insert("parts".to_owned(), Value::Array(vec![Value::Object(part)]));
        task.insert(
            "artifacts".to_owned(),
            Value::Array(vec![Value::Object(artifact)]),
        );
    }
    for duplicate in ["task_id", "status", "timestamp"] {
        metadata.remove(duplicate);
    }
    let mut envelope = Map::new();
    envelope.insert("adcp".to_owned(), Value::Object(metadata));
    task.insert("metadata".to_owned(), Value::Object(envelope));
    let mut body = Map::new();
    body.insert("task".to_owned(), Value::Object(task));
    Value::Object(body)
}

/// An A2A 1.0 task (JSON) in A2A v0.3's shapes: tagged `kind: "task"`, its state in v0.3's
/// lowercase kebab case (`TASK_STATE_INPUT_REQUIRED` → `input-required`), its status message
/// tagged `kind: "message"` with a lowercase role, and every part tagged with its kind
/// (`data`, `text`, or `file` for `url`/`raw`). The one home of the v0.3 shape rule, for
/// webhook bodies and for adcp-server's v0.3 answers alike.
pub fn a2a_task_v03(mut task: Value) -> Value {
    let Some(map) = task.as_object_mut() else {
        return task;
    };
    map.insert("kind".to_owned(), Value::String("task".to_owned()));
    if let Some(status) = map.get_mut("status").and_then(Value::as_object_mut) {
        if let Some(Value::String(state)) = status.get_mut("state") {
            *state = enum_v03(state, "TASK_STATE_");
        }
        if let Some(message) = status.get_mut("message").and_then(Value::as_object_mut) {
            message.insert("kind".to_owned(), Value::String("message".to_owned()));
            if let Some(Value::String(role)) = message.get_mut("role") {
                *role = enum_v03(role, "ROLE_");
            }
            if let Some(Value::Array(parts)) = message.get_mut("parts") {
                parts.iter_mut().for_each(part_v03);
            }
        }
    }
    if let Some(Value::Array(artifacts)) = map.get_mut("artifacts") {
        for artifact in artifacts {
            if let Some(Value::Array(parts)) = artifact.get_mut("parts") {
                parts.iter_mut().for_each(part_v03);
            }
        }
    }
    task
}

/// `TASK_STATE_INPUT_REQUIRED` → `input-required`; `ROLE_AGENT` → `agent`.
fn enum_v03(value: &str, prefix: &str) -> String {
    value
        .strip_prefix(prefix)
        .unwrap_or(value)
        .to_ascii_lowercase()
        .replace('_', "-")
}

fn part_v03(part: &mut Value) {
    let Some(map) = part.as_object_mut() else {
        return;
    };
    let kind = match ["data", "text", "url", "raw"]
        .into_iter()
        .find(|kind| map.contains_key(*kind))
    {
        Some("url" | "raw") => "file",
        Some(kind) => kind,
        None => return,
    };
    map.insert("kind".to_owned(), Value::String(kind.to_owned()));
}

/// Builds the payload with a new idempotency key and the current time, and serializes it once.
/// The config's [`WebhookEnvelope`] decides the shape: the AdCP payload or the A2A task.
pub fn prepare_payload(config: &PushNotificationConfig, event: &WebhookEvent) -> PreparedPayload {
    let idempotency_key = new_idempotency_key();
    let payload = match config.envelope {
        WebhookEnvelope::A2aTask => build_a2a_payload(config, event, &idempotency_key, Utc::now()),
        // The v0.3 push body is the task itself.
        WebhookEnvelope::A2aTaskV03 => {
            let mut body = build_a2a_payload(config, event, &idempotency_key, Utc::now());
            a2a_task_v03(body.get_mut("task").map(Value::take).unwrap_or_default())
        }
        _ => build_payload(config, event, &idempotency_key, Utc::now()),
    };
    // Serializing a `Value` built from strings and `Value`s cannot fail.
    let body = serde_json::to_vec(&payload).unwrap_or_default();
    PreparedPayload {
        idempotency_key,
        body,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_a2a_registration_gets_an_a2a_task_body_with_the_adcp_fields_in_metadata() {
        let config = PushNotificationConfig::from_value(&json!({
            "url": "https://buyer.example/a2a",
            "token": "tok_0123456789abcdef",
            crate::config::A2A_ENVELOPE_MEMBER: true,
        }))
        .unwrap();
        assert_eq!(config.envelope, WebhookEnvelope::A2aTask);
        let event = WebhookEvent {
            task_id: "task_1".into(),
            task_type: TaskType::GetProducts,
            protocol: None,
            status: TaskStatus::Completed,
            result: Some(json!({"products": [], "authentication": {"credentials": "x"}})),
            message: None,
            context_id: None,
            context: Some(json!({"correlation_id": "c1"})),
        };
        let prepared = prepare_payload(&config, &event);
        let body: Value = serde_json::from_slice(&prepared.body).unwrap();
        let task = &body["task"];
        assert_eq!(task["id"], "task_1");
        assert_eq!(task["contextId"], "task_1");
        assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED");
        assert_eq!(
            task["artifacts"][0]["parts"][0]["data"],
            json!({"products": []})
        );
        let adcp = &task["metadata"]["adcp"];
        assert_eq!(adcp["idempotency_key"], prepared.idempotency_key.as_str());
        assert_eq!(adcp["task_type"], "get_products");
        assert_eq!(adcp["protocol"], "media-buy");
        assert_eq!(adcp["token"], "tok_0123456789abcdef");
        assert_eq!(adcp["context"]["correlation_id"], "c1");
        let failed = WebhookEvent {
            status: TaskStatus::InputRequired,
            result: None,
            ..event
        };
        let body = build_a2a_payload(&config, &failed, "whk_0123456789abcdef", Utc::now());
        assert_eq!(body["task"]["status"]["state"], "TASK_STATE_INPUT_REQUIRED");
        assert!(body["task"].get("artifacts").is_none());
    }

    #[test]
    fn a_v03_registration_gets_the_bare_v03_task() {
        let config = PushNotificationConfig::from_value(&json!({
            "url": "https://buyer.example/a2a",
            crate::config::A2A_ENVELOPE_MEMBER: crate::config::A2A_V03_ENVELOPE,
        }))
        .unwrap();
        assert_eq!(config.envelope, WebhookEnvelope::A2aTaskV03);
        let event = WebhookEvent {
            task_id: "task_1".into(),
            task_type: TaskType::GetProducts,
            protocol: None,
            status: TaskStatus::Completed,
            result: Some(json!({"products": []})),
            message: None,
            context_id: Some("ctx".into()),
            context: None,
        };
        let body: Value = serde_json::from_slice(&prepare_payload(&config, &event).body).unwrap();
        assert_eq!(body["kind"], "task");
        assert_eq!(body["id"], "task_1");
        assert_eq!(body["contextId"], "ctx");
        assert_eq!(body["status"]["state"], "completed");
        assert_eq!(body["artifacts"][0]["parts"][0]["kind"], "data");
        assert_eq!(
            body["artifacts"][0]["parts"][0]["data"],
            json!({"products": []})
        );
        assert!(body["metadata"]["adcp"]["idempotency_key"].is_string());
    }

    fn config() -> PushNotificationConfig {
        PushNotificationConfig::from_value(&json!({
            "url": "https://buyer.example/hooks/op_from_url?x=1",
            "operation_id": "op_registered",
            "token": "tok_0123456789abcdef",
        }))
        .unwrap()
    }

    fn event(status: TaskStatus, result: Value) -> WebhookEvent {
        WebhookEvent {
            task_id: "task_1".into(),
            task_type: TaskType::GetProducts,
            protocol: None,
            status,
            result: Some(result),
            message: None,
            context_id: None,
            context: None,
        }
    }

    #[test]
    fn keys_are_unique_and_match_the_schema_pattern() {
        let (a, b) = (new_idempotency_key(), new_idempotency_key());
        assert_ne!(a, b);
        assert!(is_valid_idempotency_key(&a));
        assert!(!is_valid_idempotency_key("short"));
        assert!(!is_valid_idempotency_key("has spaces in it!!"));
    }

    #[test]
    fn operation_id_and_token_are_echoed_and_credentials_stripped() {
        let result = json!({"products": [], "governance_agents": [{"url": "u", "authentication": {"credentials": "s"}}]});
        let prepared = prepare_payload(&config(), &event(TaskStatus::Completed, result));
        let body: Value = serde_json::from_slice(&prepared.body).unwrap();
        assert_eq!(body["operation_id"], "op_registered");
        assert_eq!(body["token"], "tok_0123456789abcdef");
        assert_eq!(body["protocol"], "media-buy");
        assert_eq!(body["idempotency_key"], prepared.idempotency_key.as_str());
        assert_eq!(body["result"]["governance_agents"][0], json!({"url": "u"}));
        assert!(!format!("{prepared:?}").contains("tok_"));
    }

    #[test]
    fn failed_result_is_wrapped_in_errors() {
        let error =
            json!({"code": "SERVICE_UNAVAILABLE", "message": "down", "recovery": "transient"});
        assert_eq!(failure_result(&error), json!({"errors": [error]}));
        let already = json!({"errors": []});
        assert_eq!(failure_result(&already), already);
    }

    #[test]
    fn missing_operation_id_falls_back_to_task_identity_not_the_url() {
        let mut cfg = config();
        cfg.operation_id = None;
        let payload = build_payload(
            &cfg,
            &event(TaskStatus::Completed, json!({})),
            "whk_0123456789abcdef",
            Utc::now(),
        );
        assert_eq!(payload["operation_id"], "get_products.task_1");
    }
}
