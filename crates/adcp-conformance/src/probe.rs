//! Raw HTTP probes: tool calls made JSON-RPC-by-hand (MCP `tools/call` or A2A `SendMessage`)
//! so the runner can grade what rmcp's client deliberately hides (HTTP status codes,
//! `WWW-Authenticate`, per-request credentials), and plain GETs for the well-known documents
//! (RFC 9728 / RFC 8414 metadata, brand.json, JWKS, the A2A agent card).
//!
//! Why hand-rolled here: `security.yaml` grades `http_status`, `http_status_in` and
//! `on_401_require_header` on a tool call made with no, invalid, or test-kit credentials, and
//! the `initialize` request itself may be the one the agent rejects. An MCP client that
//! turns a 401 into an opaque transport error cannot be graded against that. The handshake
//! here is the minimum the streamable-HTTP transport requires: `initialize`,
//! `notifications/initialized`, `tools/call`, then a best-effort `DELETE` of the session.
//! A2A needs no handshake: one `SendMessage` POST is the whole exchange.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::Protocol;
use crate::a2a;
use crate::client::ToolResponse;

/// The MCP protocol version the probe offers.
const PROTOCOL_VERSION: &str = "2025-06-18";

/// Largest body a probe reads.
const MAX_BODY: usize = 1 << 20;

/// One HTTP exchange as the runner grades it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpObservation {
    /// The URL requested.
    pub url: String,
    /// The status code (0 when no response arrived).
    pub status: u16,
    /// Response headers, names lower-cased (credential-bearing ones are never recorded).
    pub headers: BTreeMap<String, String>,
    /// The body: JSON when it parsed, else the text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// Why the exchange failed at the transport level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl HttpObservation {
    fn failed(url: &str, error: String) -> Self {
        Self {
            url: url.to_owned(),
            error: Some(error),
            ..Self::default()
        }
    }
}

/// Builds the HTTP client probes share.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    crate::install_tls_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// GETs `url` and records the exchange.
pub async fn get(http: &reqwest::Client, url: &str) -> HttpObservation {
    match http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
    {
        Ok(response) => observe(url, response).await,
        Err(e) => HttpObservation::failed(url, format!("GET failed: {e}")),
    }
}

async fn observe(url: &str, response: reqwest::Response) -> HttpObservation {
    let status = response.status().as_u16();
    let mut headers = BTreeMap::new();
    for (name, value) in response.headers() {
        let name = name.as_str().to_ascii_lowercase();
        if matches!(name.as_str(), "set-cookie" | "authorization") {
            continue;
        }
        if let Ok(value) = value.to_str() {
            headers.insert(name, value.to_owned());
        }
    }
    let content_type = headers.get("content-type").cloned().unwrap_or_default();
    let body = match response.bytes().await {
        Ok(bytes) => {
            let bytes = &bytes[..bytes.len().min(MAX_BODY)];
            let text = String::from_utf8_lossy(bytes).into_owned();
            if text.is_empty() {
                None
            } else if content_type.contains("text/event-stream") {
                Some(Value::String(text))
            } else {
                Some(serde_json::from_str(&text).unwrap_or(Value::String(text)))
            }
        }
        Err(e) => {
            return HttpObservation {
                url: url.to_owned(),
                status,
                headers,
                body: None,
                error: Some(format!("reading the body failed: {e}")),
            };
        }
    };
    HttpObservation {
        url: url.to_owned(),
        status,
        headers,
        body,
        error: None,
    }
}

/// The JSON-RPC message answering request `id`, from a JSON or SSE body.
fn rpc_message(observation: &HttpObservation, id: u64) -> Option<Value> {
    let matches = |v: &Value| v.get("id").and_then(Value::as_u64) == Some(id);
    match observation.body.as_ref()? {
        Value::String(text) => text
            .lines()
            .filter_map(|line| line.strip_prefix("data:"))
            .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
            .find(|v| matches(v)),
        Value::Array(batch) => batch.iter().find(|v| matches(v)).cloned(),
        other => matches(other).then(|| other.clone()),
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    session: Option<&str>,
    body: &Value,
) -> HttpObservation {
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    if let Some(session) = session {
        request = request
            .header("mcp-session-id", session)
            .header("mcp-protocol-version", PROTOCOL_VERSION);
    }
    match request.send().await {
        Ok(response) => observe(url, response).await,
        Err(e) => HttpObservation::failed(url, format!("POST failed: {e}")),
    }
}

/// Calls `tool` over a fresh MCP session with exactly the `authorization` header given (none
/// when `None`). Returns the HTTP exchange that decided the outcome (the first one the agent
/// rejected, else the `tools/call`) and, when a JSON-RPC answer arrived, the tool response.
pub async fn raw_tool_call(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    tool: &str,
    arguments: &Value,
) -> (HttpObservation, Option<ToolResponse>) {
    let initialize = json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "adcp-conformance raw probe", "version": env!("CARGO_PKG_VERSION")}
        }
    });
    let init = post(http, url, authorization, None, &initialize).await;
    if init.error.is_some() || init.status >= 400 {
        let response = rpc_message(&init, 1)
            .and_then(|m| m.get("error").cloned())
            .map(ToolResponse::from_rpc_error);
        return (init, response);
    }
    if let Some(error) = rpc_message(&init, 1).and_then(|m| m.get("error").cloned()) {
        return (init, Some(ToolResponse::from_rpc_error(error)));
    }
    let session = init.headers.get("mcp-session-id").cloned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let ack = post(http, url, authorization, session.as_deref(), &initialized).await;
    if ack.error.is_some() || ack.status >= 400 {
        return (ack, None);
    }
    let call = json!({
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments}
    });
    let observation = post(http, url, authorization, session.as_deref(), &call).await;
    let response = rpc_message(&observation, 2).map(|message| {
        if let Some(error) = message.get("error") {
            return ToolResponse::from_rpc_error(error.clone());
        }
        let result = message.get("result").cloned().unwrap_or(Value::Null);
        serde_json::from_value(result).map_or_else(
            |e| ToolResponse {
                is_error: true,
                text: Some(format!("unparseable tools/call result: {e}")),
                ..ToolResponse::default()
            },
            ToolResponse::from_result,
        )
    });
    if let Some(session) = session {
        let mut delete = http.delete(url).header("mcp-session-id", session);
        if let Some(value) = authorization {
            delete = delete.header("authorization", value);
        }
        // Closing the session is a courtesy; its outcome is not graded.
        let _ = delete.send().await;
    }
    (observation, response)
}

/// Calls `tool` over `protocol` with exactly the `authorization` header given (none when
/// `None`): [`raw_tool_call`] for MCP, [`raw_a2a_call`] for A2A. Both return the HTTP exchange
/// that decided the outcome and, when a JSON-RPC answer arrived, the tool response.
pub async fn raw_call(
    protocol: Protocol,
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    tool: &str,
    arguments: &Value,
) -> (HttpObservation, Option<ToolResponse>) {
    match protocol {
        Protocol::Mcp => raw_tool_call(http, url, authorization, tool, arguments).await,
        Protocol::A2a => raw_a2a_call(http, url, authorization, tool, arguments).await,
    }
}

/// Calls `tool` as one A2A `SendMessage` POST (see [`a2a::send_message`]) with exactly the
/// `authorization` header given (none when `None`). Returns the exchange and, when its body
/// holds the JSON-RPC answer (whatever the HTTP status), the response
/// [`a2a::response_from_rpc`] maps from it.
pub async fn raw_a2a_call(
    http: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    tool: &str,
    arguments: &Value,
) -> (HttpObservation, Option<ToolResponse>) {
    let id = a2a::next_request_id();
    let body = a2a::send_message(id, tool, arguments);
    let mut request = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("a2a-version", a2a::VERSION)
        .body(body.to_string());
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let observation = match request.send().await {
        Ok(response) => observe(url, response).await,
        Err(e) => HttpObservation::failed(url, format!("POST failed: {e}")),
    };
    // An agent that refuses the request before reading it (bad credentials, unparseable
    // body) may answer with a JSON-RPC error whose id is null.
    let anonymous_error = || {
        observation
            .body
            .clone()
            .filter(|b| b.get("id").is_some_and(Value::is_null) && b.get("error").is_some())
    };
    let response = rpc_message(&observation, id)
        .filter(|m| m.get("result").is_some() || m.get("error").is_some())
        .or_else(anonymous_error)
        .map(|m| a2a::response_from_rpc(&m));
    (observation, response)
}

/// `<origin>/.well-known/oauth-protected-resource<path>` for an agent URL (RFC 9728 §3.1).
pub fn protected_resource_metadata_url(agent_url: &str) -> Option<String> {
    let url = url::Url::parse(agent_url).ok()?;
    let origin = url.origin().ascii_serialization();
    let path = url.path().trim_end_matches('/');
    Some(format!(
        "{origin}/.well-known/oauth-protected-resource{path}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_messages_are_found_in_json_and_sse_bodies() {
        let sse = HttpObservation {
            body: Some(Value::String(
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{}}\n\n".into(),
            )),
            ..HttpObservation::default()
        };
        assert!(rpc_message(&sse, 2).is_some());
        assert!(rpc_message(&sse, 1).is_none());
        let plain = HttpObservation {
            body: Some(json!({"jsonrpc": "2.0", "id": 1, "result": {}})),
            ..HttpObservation::default()
        };
        assert!(rpc_message(&plain, 1).is_some());
    }

    #[test]
    fn protected_resource_metadata_keeps_the_agent_path() {
        assert_eq!(
            protected_resource_metadata_url("http://127.0.0.1:3001/mcp").as_deref(),
            Some("http://127.0.0.1:3001/.well-known/oauth-protected-resource/mcp")
        );
    }
}
