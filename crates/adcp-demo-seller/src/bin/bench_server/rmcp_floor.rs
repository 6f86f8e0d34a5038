//! The *rmcp-service floor*: the floor's work inside a bare rmcp `ServerHandler`, served by
//! rmcp's `StreamableHttpService` configured as the SDK configures its stateless endpoint (JSON
//! replies, no sessions, rmcp's own `Host` check off: the SDK's edge makes that check, so it
//! counts in the SDK's share), routed as the SDK routes it, behind the SDK's accept loop. It is
//! rmcp exactly as the SDK runs it, doing nothing but the mandated work: MCP against it is the
//! SDK's own share (the edge, the dispatcher, the guards), and it against the rmcp-model floor
//! is rmcp's per-request handling.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::Value;

use super::FloorWork;

/// A `ServerHandler` whose one tool does the floor's work and nothing else.
#[derive(Clone)]
struct FloorHandler {
    work: Arc<FloorWork>,
}

impl ServerHandler for FloorHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.map(Value::Object);
        let (body, valid) = self.work.reply(arguments.as_ref());
        if !valid {
            return Err(ErrorData::internal_error(
                "the floor's reply failed validation",
                None,
            ));
        }
        let text = serde_json::to_string(&body)
            .map_err(|_| ErrorData::internal_error("the floor's reply did not serialise", None))?;
        let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
        result.structured_content = Some(body);
        Ok(result.into())
    }
}

/// The rmcp-service floor's router, serving `POST path`.
pub(crate) fn router(work: Arc<FloorWork>, path: &'static str) -> axum::Router {
    let handler = FloorHandler { work };
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_legacy_session_mode(false)
        .with_json_response(true);
    let service = Arc::new(StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    ));
    let serve = tower::service_fn(move |request: axum::extract::Request| {
        let service = Arc::clone(&service);
        async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
    });
    axum::Router::new().route_service(path, serve)
}
