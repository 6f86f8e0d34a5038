//! A tiny MCP client over plain HTTP POSTs: stateless `tools/call`, and bare `initialize`
//! requests for the session flood.

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{Error, Result};

/// The demo seller's sandbox credentials.
pub(crate) const TOKEN: &str = "demo-acme-outdoor-v1";

/// The account every call names (the demo resolves it to a sandbox account of the principal).
pub(crate) fn account() -> Value {
    json!({ "brand": { "domain": "acmeoutdoor.example" }, "operator": "pinnacle-agency.example" })
}

/// The `initialize` request a session starts with.
pub(crate) const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"adcp-faults","version":"1"}}}"#;

/// A tool's reply: its structured content and whether it is an error.
#[derive(Debug, Clone)]
pub(crate) struct ToolReply {
    /// `structuredContent` (or the first text content parsed as JSON).
    pub(crate) body: Value,
    /// `isError`.
    pub(crate) is_error: bool,
}

/// One agent's MCP endpoint, called statelessly with the sandbox credentials.
#[derive(Debug, Clone)]
pub(crate) struct Mcp {
    http: reqwest::Client,
    url: String,
}

/// A shared HTTP client: loopback only, bounded request time, no proxy.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(3))
        .no_proxy()
        .build()?)
}

impl Mcp {
    /// A client of the MCP endpoint `url` (`http://127.0.0.1:PORT/mcp`).
    pub(crate) fn new(url: &str) -> Result<Self> {
        Ok(Self {
            http: http_client(Duration::from_secs(15))?,
            url: url.to_owned(),
        })
    }

    /// POSTs a JSON-RPC body with `token` (if any); the HTTP status and the JSON reply (the
    /// `data:` line of an SSE-framed one).
    pub(crate) async fn post(&self, body: String, token: Option<&str>) -> Result<(u16, Value)> {
        post(&self.http, &self.url, body, token).await
    }

    /// `tools/call` of `tool` with `arguments`.
    pub(crate) async fn call(&self, tool: &str, arguments: Value) -> Result<ToolReply> {
        let request = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments },
        });
        let (status, reply) = self.post(request.to_string(), Some(TOKEN)).await?;
        if status != 200 {
            return Err(Error::Unexpected(format!(
                "{tool}: HTTP {status}: {}",
                truncate(&reply.to_string())
            )));
        }
        let Some(result) = reply.get("result") else {
            return Err(Error::Unexpected(format!(
                "{tool}: JSON-RPC error: {}",
                truncate(&reply.to_string())
            )));
        };
        let body = result.get("structuredContent").cloned().unwrap_or_else(|| {
            result
                .pointer("/content/0/text")
                .and_then(Value::as_str)
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or(Value::Null)
        });
        Ok(ToolReply {
            body,
            is_error: result
                .get("isError")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// A brief `get_products` that hands off, with its webhook going to `push_url`; the task id.
    pub(crate) async fn submit_brief(&self, n: usize, push_url: &str) -> Result<String> {
        let reply = self
            .call(
                "get_products",
                json!({
                    "buying_mode": "brief",
                    "brief": format!("fault suite brief {n}"),
                    "account": account(),
                    "push_notification_config": { "url": push_url, "operation_id": format!("op-{n}") },
                    "context": { "correlation_id": format!("faults-{n}") },
                }),
            )
            .await?;
        let status = reply.body["status"].as_str().unwrap_or_default();
        match reply.body["task_id"].as_str() {
            Some(task_id) if !reply.is_error && status == "submitted" => Ok(task_id.to_owned()),
            _ => Err(Error::Unexpected(format!(
                "brief {n} was not handed off: {}",
                truncate(&reply.body.to_string())
            ))),
        }
    }

    /// The task's status as `get_task_status` reports it.
    pub(crate) async fn task_status(&self, task_id: &str) -> Result<String> {
        let reply = self
            .call(
                "get_task_status",
                json!({ "task_id": task_id, "account": account() }),
            )
            .await?;
        match reply.body["status"].as_str() {
            Some(status) if !reply.is_error => Ok(status.to_owned()),
            _ => Err(Error::Unexpected(format!(
                "get_task_status {task_id}: {}",
                truncate(&reply.body.to_string())
            ))),
        }
    }
}

/// Whether a task status is terminal.
pub(crate) fn is_terminal(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "canceled" | "rejected")
}

/// POSTs a JSON-RPC body to `url`.
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    body: String,
    token: Option<&str>,
) -> Result<(u16, Value)> {
    let mut request = http.post(url);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    send(request, body).await
}

/// Sends a JSON-RPC POST as an MCP client does; the status and the JSON reply (the answer's
/// `data:` line of an SSE-framed one).
async fn send(request: reqwest::RequestBuilder, body: String) -> Result<(u16, Value)> {
    let response = request
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let json = serde_json::from_str(&text)
        .ok()
        .or_else(|| {
            text.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
                .find(|v| v.get("result").is_some() || v.get("error").is_some())
        })
        .unwrap_or(Value::String(text));
    Ok((status, json))
}

/// Opens an MCP session as a buyer without an event stream does (`initialize`, then
/// `initialized`); its id.
pub(crate) async fn open_session(http: &reqwest::Client, url: &str, token: &str) -> Result<String> {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(INITIALIZE)
        .send()
        .await?;
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Read the body through, so the connection goes back to the pool.
    let _ = response.bytes().await?;
    let id =
        id.ok_or_else(|| Error::Unexpected(format!("initialize: HTTP {status}, no session")))?;
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
    let (status, _) = post_in_session(http, url, initialized, token, &id).await?;
    if status == 202 {
        Ok(id)
    } else {
        Err(Error::Unexpected(format!("initialized: HTTP {status}")))
    }
}

/// POSTs a JSON-RPC body within MCP session `session`; the status and the JSON reply.
pub(crate) async fn post_in_session(
    http: &reqwest::Client,
    url: &str,
    body: String,
    token: &str,
    session: &str,
) -> Result<(u16, Value)> {
    send(
        http.post(url)
            .header("mcp-session-id", session)
            .header("authorization", format!("Bearer {token}")),
        body,
    )
    .await
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}
