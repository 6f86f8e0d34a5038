//! Shaping responses: the flat MCP envelope every AdCP answer carries.

use adcp_types::AdcpError;
use serde_json::{Map, Value, json};

/// What one tool call answers, transport-neutral: the body (MCP `structuredContent`, A2A
/// data part) and whether it is an error.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolReply {
    /// The response object.
    pub body: Value,
    /// Whether the call failed (MCP `isError`).
    pub is_error: bool,
}

impl ToolReply {
    /// The `adcp_error` of a failed reply.
    pub fn error(&self) -> Option<&Value> {
        self.body.get("adcp_error").filter(|_| self.is_error)
    }
}

/// Why a call failed: a wire error to wrap in the standard error envelope, or a body that is
/// already the tool's own error arm (the test controller's `ControllerError`).
#[derive(Debug)]
pub(crate) enum Failure {
    Error(AdcpError),
    Body(Value),
}

impl From<AdcpError> for Failure {
    fn from(error: AdcpError) -> Self {
        Self::Error(error)
    }
}

/// The envelope fields echoed into every reply.
#[derive(Debug, Clone, Default)]
pub(crate) struct Echo {
    pub(crate) context: Option<Value>,
    pub(crate) adcp_version: Option<&'static str>,
}

impl Echo {
    pub(crate) fn read(request: &Value) -> Self {
        Self {
            context: request.get("context").filter(|c| c.is_object()).cloned(),
            adcp_version: None,
        }
    }

    pub(crate) fn apply(&self, body: &mut Map<String, Value>) {
        if let Some(context) = &self.context {
            body.insert("context".to_owned(), context.clone());
        }
        if let Some(version) = self.adcp_version {
            body.insert("adcp_version".to_owned(), Value::from(version));
        }
    }
}

/// A successful synchronous body: `status: completed` unless the body says otherwise, and the
/// echoed envelope.
pub(crate) fn completed(body: Value, echo: &Echo) -> Value {
    let mut map = match body {
        Value::Object(map) => map,
        other => {
            let mut map = Map::new();
            map.insert("result".to_owned(), other);
            map
        }
    };
    // The protocol envelope's `status` is the task status. A media buy's deprecated top-level
    // `status` shares the field; `completed` is valid under both enums.
    map.entry("status")
        .or_insert_with(|| Value::from("completed"));
    echo.apply(&mut map);
    Value::Object(map)
}

/// The submitted arm: exactly `{task_id, status: "submitted"}` plus the echoed envelope.
pub(crate) fn submitted(body: Value, echo: &Echo) -> Value {
    let mut map = match body {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    echo.apply(&mut map);
    Value::Object(map)
}

/// A failed reply: `adcp_error`, the body-level `errors[]`, `status: failed`, and the echo.
pub(crate) fn failed(error: &AdcpError, echo: &Echo) -> ToolReply {
    let wire = error.to_value();
    let mut map = Map::new();
    map.insert("adcp_error".to_owned(), wire.clone());
    map.insert("errors".to_owned(), json!([wire]));
    map.insert("status".to_owned(), Value::from("failed"));
    echo.apply(&mut map);
    ToolReply {
        body: Value::Object(map),
        is_error: true,
    }
}
