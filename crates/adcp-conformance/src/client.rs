//! The client the runner drives the agent with, results flattened into a [`ToolResponse`]:
//! over MCP, rmcp's streamable-HTTP client with one session per bearer credential; over A2A,
//! one JSON-RPC `SendMessage` POST per call (mapped by [`crate::a2a`]) and the agent card's
//! skills as the tool list.
//!
//! Steps that override credentials (`auth:`) or grade HTTP status codes go through the raw
//! probe in [`crate::probe`] instead, because rmcp (rightly) hides HTTP details behind its
//! transport.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::Protocol;
use crate::a2a;
use crate::probe;

/// What one tool call returned, as the runner grades it.
///
/// Guarantees: `data()` is the AdCP payload wherever the agent put it: `structuredContent`
/// (over A2A: the task's data part) first (L3), else a JSON object in the text content (L2),
/// else the JSON-RPC error's `data`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ToolResponse {
    /// `structuredContent`, when the agent sent one (over A2A: the AdCP body of the task).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub structured: Option<Value>,
    /// The MCP `isError` flag (also set when the call failed with a JSON-RPC error; over A2A,
    /// set for a failed or rejected task or a body carrying `adcp_error`).
    pub is_error: bool,
    /// Every text content block (over A2A: text part), joined by newlines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The JSON-RPC error, when the call failed before a tool result existed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rpc_error: Option<Value>,
    /// Over A2A, the task envelope the body came in (id, context id, state as sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a2a_task: Option<a2a::TaskSummary>,
}

impl ToolResponse {
    /// Builds a response from an MCP tool result.
    pub fn from_result(result: CallToolResult) -> Self {
        let texts: Vec<String> = result
            .content
            .iter()
            .filter_map(|block| block.as_text().map(|t| t.text.clone()))
            .collect();
        Self {
            structured: result.structured_content.filter(|v| !v.is_null()),
            is_error: result.is_error.unwrap_or(false),
            text: (!texts.is_empty()).then(|| texts.join("\n")),
            rpc_error: None,
            a2a_task: None,
        }
    }

    /// Builds a response from a JSON-RPC error object (`{code, message, data}`).
    pub fn from_rpc_error(error: Value) -> Self {
        let text = error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Self {
            structured: None,
            is_error: true,
            text,
            rpc_error: Some(error),
            a2a_task: None,
        }
    }

    /// The AdCP payload to grade (see the type's guarantees).
    pub fn data(&self) -> Option<Value> {
        if let Some(structured) = &self.structured {
            return Some(structured.clone());
        }
        if let Some(text) = &self.text {
            for candidate in std::iter::once(text.as_str()).chain(text.lines()) {
                if let Ok(value @ Value::Object(_)) =
                    serde_json::from_str::<Value>(candidate.trim())
                {
                    return Some(value);
                }
            }
        }
        self.rpc_error
            .as_ref()
            .and_then(|e| e.get("data"))
            .filter(|d| d.is_object())
            .cloned()
    }

    /// Whether the task succeeded: not `isError`, no `adcp_error`, and no `status: failed`.
    pub fn succeeded(&self) -> bool {
        if self.is_error {
            return false;
        }
        let Some(data) = self.data() else {
            return true;
        };
        data.get("adcp_error").is_none()
            && data.get("status").and_then(Value::as_str) != Some("failed")
    }
}

/// Why a tool call produced no tool result at all.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct CallError(pub String);

type Session = Arc<RunningService<RoleClient, ()>>;

/// How an [`AgentClient`] reaches the agent.
enum Transport {
    /// MCP sessions, keyed by bearer token.
    Mcp(Mutex<HashMap<Option<String>, Session>>),
    /// A2A: stateless JSON-RPC POSTs with this HTTP client.
    A2a(reqwest::Client),
}

/// A client bound to one agent URL and one [`Protocol`].
///
/// Guarantees: over MCP, sessions are opened lazily, one per distinct bearer token, and
/// reused; over A2A, every call is one `SendMessage` POST carrying the bearer token, if any;
/// a call never outlives `timeout`.
pub struct AgentClient {
    url: String,
    timeout: Duration,
    transport: Transport,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("url", &self.url)
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}

impl AgentClient {
    /// An MCP client for `url` (e.g. `http://127.0.0.1:3001/mcp`).
    pub fn new(url: &str, timeout: Duration) -> Self {
        Self::with_protocol(url, timeout, Protocol::Mcp)
    }

    /// A client for `url` over `protocol`: the MCP endpoint (e.g.
    /// `http://127.0.0.1:3001/mcp`) or the A2A JSON-RPC endpoint (e.g.
    /// `http://127.0.0.1:3001/a2a`).
    pub fn with_protocol(url: &str, timeout: Duration, protocol: Protocol) -> Self {
        let transport = match protocol {
            Protocol::Mcp => Transport::Mcp(Mutex::new(HashMap::new())),
            Protocol::A2a => Transport::A2a(probe::http_client(timeout)),
        };
        Self {
            url: url.to_owned(),
            timeout,
            transport,
        }
    }

    /// The agent URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The protocol this client speaks.
    pub fn protocol(&self) -> Protocol {
        match self.transport {
            Transport::Mcp(_) => Protocol::Mcp,
            Transport::A2a(_) => Protocol::A2a,
        }
    }

    async fn session(
        &self,
        sessions: &Mutex<HashMap<Option<String>, Session>>,
        bearer: Option<&str>,
    ) -> Result<Session, CallError> {
        let key = bearer.map(str::to_owned);
        let mut sessions = sessions.lock().await;
        if let Some(session) = sessions.get(&key) {
            return Ok(session.clone());
        }
        let mut config = StreamableHttpClientTransportConfig::with_uri(self.url.clone());
        if let Some(token) = bearer {
            config = config.auth_header(token);
        }
        crate::install_tls_provider();
        let transport = StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
        let service = tokio::time::timeout(self.timeout, ().serve(transport))
            .await
            .map_err(|_| CallError(format!("MCP initialize timed out after {:?}", self.timeout)))?
            .map_err(|e| CallError(format!("MCP initialize failed: {}", root_cause(&e))))?;
        let session = Arc::new(service);
        sessions.insert(key, session.clone());
        Ok(session)
    }

    /// The tool names the agent advertises: MCP `tools/list`, or over A2A the agent card's
    /// `skills[].id` (the card is public, so `bearer` is not sent for it).
    pub async fn list_tools(&self, bearer: Option<&str>) -> Result<Vec<String>, CallError> {
        let sessions = match &self.transport {
            Transport::Mcp(sessions) => sessions,
            Transport::A2a(http) => return self.agent_card_skills(http).await,
        };
        let session = self.session(sessions, bearer).await?;
        let tools = tokio::time::timeout(self.timeout, session.list_all_tools())
            .await
            .map_err(|_| CallError("tools/list timed out".into()))?
            .map_err(|e| CallError(format!("tools/list failed: {}", root_cause(&e))))?;
        Ok(tools.into_iter().map(|t| t.name.into_owned()).collect())
    }

    /// Reads the agent card at the endpoint's origin, trying each of
    /// [`a2a::AGENT_CARD_PATHS`] until one answers 2xx with a `skills` array.
    async fn agent_card_skills(&self, http: &reqwest::Client) -> Result<Vec<String>, CallError> {
        let urls = a2a::agent_card_urls(&self.url)
            .ok_or_else(|| CallError(format!("the agent URL {} has no origin", self.url)))?;
        let mut failures = Vec::with_capacity(urls.len());
        for url in urls {
            let observation = probe::get(http, &url).await;
            if let Some(error) = &observation.error {
                failures.push(format!("{url}: {error}"));
            } else if !(200..300).contains(&observation.status) {
                failures.push(format!("{url} answered HTTP {}", observation.status));
            } else if let Some(skills) = observation.body.as_ref().and_then(a2a::skill_ids) {
                return Ok(skills);
            } else {
                failures.push(format!("{url} is not an agent card (no skills array)"));
            }
        }
        Err(CallError(format!("no agent card: {}", failures.join("; "))))
    }

    /// Calls `tool` with `arguments` (a JSON object). A JSON-RPC error from the agent is a
    /// [`ToolResponse`] with `rpc_error` set; only transport failures (and, over A2A, an HTTP
    /// answer with no JSON-RPC message in it) are `Err`.
    pub async fn call_tool(
        &self,
        bearer: Option<&str>,
        tool: &str,
        arguments: &Value,
    ) -> Result<ToolResponse, CallError> {
        let sessions = match &self.transport {
            Transport::Mcp(sessions) => sessions,
            Transport::A2a(http) => return self.send_message(http, bearer, tool, arguments).await,
        };
        let session = self.session(sessions, bearer).await?;
        let mut params = CallToolRequestParams::new(tool.to_owned());
        if let Value::Object(map) = arguments {
            params = params.with_arguments(map.clone());
        }
        let result = tokio::time::timeout(self.timeout, session.peer().call_tool(params))
            .await
            .map_err(|_| CallError(format!("{tool} timed out after {:?}", self.timeout)))?;
        match result {
            Ok(result) => Ok(ToolResponse::from_result(result)),
            Err(rmcp::ServiceError::McpError(error)) => Ok(ToolResponse::from_rpc_error(
                serde_json::to_value(&error).unwrap_or(Value::Null),
            )),
            Err(other) => {
                // A transport failure may leave the session unusable; drop it so the next
                // call opens a fresh one.
                sessions.lock().await.remove(&bearer.map(str::to_owned));
                Err(CallError(format!("{tool} failed: {}", root_cause(&other))))
            }
        }
    }

    /// One A2A `SendMessage` for `tool`, mapped by [`a2a::response_from_rpc`].
    async fn send_message(
        &self,
        http: &reqwest::Client,
        bearer: Option<&str>,
        tool: &str,
        arguments: &Value,
    ) -> Result<ToolResponse, CallError> {
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        let exchange =
            probe::raw_a2a_call(http, &self.url, authorization.as_deref(), tool, arguments);
        let (observation, response) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| CallError(format!("{tool} timed out after {:?}", self.timeout)))?;
        if let Some(response) = response {
            return Ok(response);
        }
        Err(CallError(match observation.error {
            Some(error) => format!("{tool} failed: {error}"),
            None => format!(
                "{tool}: HTTP {} with no JSON-RPC answer{}",
                observation.status,
                observation
                    .body
                    .as_ref()
                    .map(|b| format!(": {}", first_line(&b.to_string())))
                    .unwrap_or_default()
            ),
        }))
    }

    /// Closes every MCP session (best effort); nothing to close over A2A.
    pub async fn close(&self) {
        let Transport::Mcp(sessions) = &self.transport else {
            return;
        };
        let sessions: Vec<Session> = sessions.lock().await.drain().map(|(_, s)| s).collect();
        for session in sessions {
            session.cancellation_token().cancel();
        }
    }
}

/// The innermost cause of an error: rmcp wraps transport failures in several layers whose
/// messages name internal types; the root (e.g. "Connection refused") is what a reader needs.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    let root = without_type_names(&current.to_string());
    if std::ptr::addr_eq(current, error) {
        root
    } else {
        format!(
            "{root} ({})",
            first_line(&without_type_names(&error.to_string()))
        )
    }
}

/// Drops `[path::to::Type<...>]` segments rmcp puts in its transport error messages.
fn without_type_names(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find(']').map(|c| open + c) else {
            break;
        };
        out.push_str(&rest[..open]);
        if !rest[open..close].contains("::") {
            out.push_str(&rest[open..=close]);
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    let cut: String = line.chars().take(120).collect();
    if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_prefers_structured_then_text_then_rpc_data() {
        let structured = ToolResponse {
            structured: Some(json!({"a": 1})),
            text: Some("{\"b\":2}".into()),
            ..ToolResponse::default()
        };
        assert_eq!(structured.data(), Some(json!({"a": 1})));
        let text = ToolResponse {
            text: Some("{\"adcp_error\":{\"code\":\"X\"}}\nsomething went wrong".into()),
            is_error: true,
            ..ToolResponse::default()
        };
        assert_eq!(text.data(), Some(json!({"adcp_error": {"code": "X"}})));
        assert!(!text.succeeded());
        let rpc = ToolResponse::from_rpc_error(
            json!({"code": -32602, "message": "bad", "data": {"adcp_error": {"code": "INVALID_REQUEST"}}}),
        );
        assert_eq!(
            rpc.data(),
            Some(json!({"adcp_error": {"code": "INVALID_REQUEST"}}))
        );
    }

    #[test]
    fn transport_type_names_are_dropped_from_messages() {
        assert_eq!(
            without_type_names(
                "Send message error Transport [rmcp::a::B<c::D>] error: refused [x]"
            ),
            "Send message error Transport error: refused [x]"
        );
    }

    #[test]
    fn failed_status_is_not_success() {
        let failed = ToolResponse {
            structured: Some(json!({"status": "failed", "errors": []})),
            ..ToolResponse::default()
        };
        assert!(!failed.succeeded());
        let ok = ToolResponse {
            structured: Some(json!({"status": "completed"})),
            ..ToolResponse::default()
        };
        assert!(ok.succeeded());
    }
}
