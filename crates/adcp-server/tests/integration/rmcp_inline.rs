//! The vendored rmcp's stateless JSON path (`vendor/rmcp/ADCP-PATCH.md`), over loopback HTTP:
//! a handler that answers at once gets one JSON body, its error included; one that sends a
//! notification before answering gets the whole sequence as SSE, in order; a handler whose
//! client went away still runs to its end.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
    ProgressNotificationParam, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Value, json};

/// Four tools: `quiet` answers, `chatty` reports progress first, `broken` fails, `slow` takes
/// 300 ms and then records that it finished.
#[derive(Clone, Default)]
struct Tools {
    slow_finished: Arc<AtomicBool>,
}

impl ServerHandler for Tools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        match request.name.as_ref() {
            "chatty" => {
                let token = context
                    .meta
                    .get_progress_token()
                    .ok_or_else(|| McpError::invalid_params("no progress token", None))?;
                context
                    .peer
                    .notify_progress(ProgressNotificationParam::new(token, 0.5))
                    .await
                    .map_err(|e| McpError::internal_error(e.to_string(), None))?;
            }
            "broken" => return Err(McpError::invalid_params("broken on purpose", None)),
            "slow" => {
                tokio::time::sleep(Duration::from_millis(300)).await;
                self.slow_finished.store(true, Ordering::SeqCst);
            }
            _ => {}
        }
        Ok(
            CallToolResult::success(vec![ContentBlock::text(format!("{} done", request.name))])
                .into(),
        )
    }
}

async fn serve() -> (String, Tools) {
    let tools = Tools::default();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true);
    let factory = tools.clone();
    let service = StreamableHttpService::new(
        move || Ok(factory.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let router = axum::Router::new().fallback_service(service);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, tools)
}

/// The `tools/call` request for `tool`.
fn call_request(client: &reqwest::Client, url: &str, tool: &str) -> reqwest::RequestBuilder {
    client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(
            json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": tool, "arguments": {}, "_meta": {"progressToken": "p-1"}}})
            .to_string(),
        )
}

/// Calls `tool`; the status, the content type and the body.
async fn call(url: &str, tool: &str) -> (u16, String, String) {
    crate::support::init();
    let response = call_request(&reqwest::Client::new(), url, tool)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

/// Calls `tool` and checks the answer is one JSON body for the call; that body.
async fn json_answer(url: &str, tool: &str) -> Value {
    let (status, content_type, body) = call(url, tool).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["id"], 7);
    reply
}

#[tokio::test]
async fn an_answer_without_messages_before_it_is_one_json_body() {
    let (url, _tools) = serve().await;
    let reply = json_answer(&url, "quiet").await;
    assert_eq!(reply["result"]["content"][0]["text"], "quiet done");

    let reply = json_answer(&url, "broken").await;
    assert_eq!(reply["error"]["code"], -32602);
    assert_eq!(reply["error"]["message"], "broken on purpose");
}

#[tokio::test]
async fn a_message_before_the_answer_turns_the_exchange_into_sse_in_order() {
    let (url, _tools) = serve().await;
    let (status, content_type, body) = call(&url, "chatty").await;
    assert_eq!(status, 200, "{body}");
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let messages: Vec<Value> = body
        .lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str(data.trim()).ok())
        .collect();
    assert_eq!(messages.len(), 2, "{body}");
    assert_eq!(messages[0]["method"], "notifications/progress");
    assert_eq!(messages[0]["params"]["progressToken"], "p-1");
    assert_eq!(messages[1]["id"], 7);
    assert_eq!(messages[1]["result"]["content"][0]["text"], "chatty done");
}

#[tokio::test]
async fn a_handler_whose_client_went_away_runs_to_its_end() {
    crate::support::init();
    let (url, tools) = serve().await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let gave_up = call_request(&impatient, &url, "slow").send().await;
    assert!(gave_up.is_err(), "the client gives up before the answer");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !tools.slow_finished.load(Ordering::SeqCst) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the handler was dropped with the exchange"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
