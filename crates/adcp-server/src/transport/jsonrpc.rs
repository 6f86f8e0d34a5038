//! The shape of a JSON-RPC message, checked before the MCP layer sees it, so that transport-level
//! garbage gets an error that says what is wrong (rmcp answers a mistyped `tools/call` with
//! "Method not found", and a batch or a non-object body with a bare HTTP 415).

use adcp_types::AdcpError;
use serde_json::Value;

/// JSON-RPC's code for a message that is not a valid request.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's code for parameters of the wrong shape.
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// What is wrong with a message, as the JSON-RPC error to answer with.
#[derive(Debug)]
pub(crate) struct Malformed {
    /// The JSON-RPC error code.
    pub(crate) code: i64,
    /// The request's `id`, when it had a usable one.
    pub(crate) id: Value,
    /// The AdCP error carried in `error.data.adcp_error` (its `field` names the offending
    /// member).
    pub(crate) error: AdcpError,
}

fn malformed(code: i64, id: &Value, field: &str, message: &str) -> Malformed {
    Malformed {
        code,
        id: id.clone(),
        error: AdcpError::invalid_request(message).with_field(field),
    }
}

/// The JSON-RPC method of a well-formed single message.
pub(crate) fn method(message: &Value) -> Option<&str> {
    message.get("method").and_then(Value::as_str)
}

/// Checks that `message` is one JSON-RPC 2.0 message MCP can serve, and that a `tools/call`
/// names its tool and passes its arguments as an object.
pub(crate) fn check(message: &Value) -> Result<(), Malformed> {
    let object = match message {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(malformed(
                INVALID_REQUEST,
                &Value::Null,
                "body",
                "JSON-RPC batches are not supported: send one request per HTTP POST",
            ));
        }
        _ => {
            return Err(malformed(
                INVALID_REQUEST,
                &Value::Null,
                "body",
                "the body must be a JSON-RPC 2.0 request object \
                 ({\"jsonrpc\": \"2.0\", \"id\", \"method\", \"params\"})",
            ));
        }
    };
    let id = match object.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id.clone(),
        None => Value::Null,
        Some(_) => {
            return Err(malformed(
                INVALID_REQUEST,
                &Value::Null,
                "id",
                "`id` must be a string or a number",
            ));
        }
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(malformed(
            INVALID_REQUEST,
            &id,
            "jsonrpc",
            "`jsonrpc` must be \"2.0\"",
        ));
    }
    let is_response = object.contains_key("result") || object.contains_key("error");
    match object.get("method") {
        Some(Value::String(_)) => {}
        None if is_response => return Ok(()),
        _ => {
            return Err(malformed(
                INVALID_REQUEST,
                &id,
                "method",
                "`method` must be a string naming the JSON-RPC method",
            ));
        }
    }
    match object.get("params") {
        None | Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(malformed(
                INVALID_PARAMS,
                &id,
                "params",
                "`params` must be an object",
            ));
        }
    }
    if method(message) == Some("tools/call") {
        check_tool_call(object.get("params"), &id)?;
    }
    Ok(())
}

fn check_tool_call(params: Option<&Value>, id: &Value) -> Result<(), Malformed> {
    let Some(params) = params else {
        return Err(malformed(
            INVALID_PARAMS,
            id,
            "params",
            "tools/call needs `params` with the tool's `name` and its `arguments` object",
        ));
    };
    if !params.get("name").is_some_and(Value::is_string) {
        return Err(malformed(
            INVALID_PARAMS,
            id,
            "params.name",
            "tools/call needs `params.name`, the tool's name as a string",
        ));
    }
    match params.get("arguments") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(malformed(
            INVALID_PARAMS,
            id,
            "params.arguments",
            "`params.arguments` must be a JSON object of the tool's parameters",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(message: &Value) -> Malformed {
        match check(message) {
            Err(malformed) => malformed,
            Ok(()) => panic!("{message} was accepted"),
        }
    }

    #[test]
    fn well_formed_messages_pass() {
        for message in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": "a", "method": "tools/call",
                   "params": {"name": "get_products", "arguments": {"brief": "x"}}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t"}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {}}),
        ] {
            assert!(check(&message).is_ok(), "{message}");
        }
    }

    #[test]
    fn garbage_is_named_with_its_field_and_code() {
        let cases = [
            (json!([{"jsonrpc": "2.0"}]), INVALID_REQUEST, "body"),
            (json!("hello"), INVALID_REQUEST, "body"),
            (json!(42), INVALID_REQUEST, "body"),
            (
                json!({"jsonrpc": "1.0", "id": 1, "method": "x"}),
                INVALID_REQUEST,
                "jsonrpc",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": 7}),
                INVALID_REQUEST,
                "method",
            ),
            (
                json!({"jsonrpc": "2.0", "id": {}, "method": "x"}),
                INVALID_REQUEST,
                "id",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "x"}),
                INVALID_PARAMS,
                "params",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}),
                INVALID_PARAMS,
                "params",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call"}),
                INVALID_PARAMS,
                "params",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 3}}),
                INVALID_PARAMS,
                "params.name",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "get_products", "arguments": [1, 2]}}),
                INVALID_PARAMS,
                "params.arguments",
            ),
        ];
        for (message, code, field) in cases {
            let malformed = refused(&message);
            assert_eq!(malformed.code, code, "{message}");
            assert_eq!(malformed.error.field.as_deref(), Some(field), "{message}");
            assert_eq!(malformed.error.code, "INVALID_REQUEST");
        }
    }

    #[test]
    fn the_id_is_echoed_when_usable() {
        let malformed =
            refused(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": 1}));
        assert_eq!(malformed.id, json!(9));
    }
}
