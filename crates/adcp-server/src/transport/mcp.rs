//! The MCP binding: an rmcp `ServerHandler` whose tools are registered at run time from the
//! server's tool table (no per-tool macros). Only this module knows MCP.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};

use crate::auth::Principal;
use crate::dispatch::Core;
use crate::server::AdcpServer;

/// The MCP face of an [`AdcpServer`]. rmcp builds one from its service factory for every
/// stateless request (and per session, per restore, per tool-schema lookup), so building one
/// is two reference counts.
#[derive(Clone)]
pub(crate) struct McpHandler {
    core: Arc<Core>,
    tools: Arc<[Tool]>,
}

impl McpHandler {
    pub(crate) fn new(server: &AdcpServer) -> Self {
        let tools = server.tool_names().into_iter().map(describe).collect();
        Self {
            core: Arc::clone(&server.core),
            tools,
        }
    }
}

/// The MCP tool entry for a manifest tool. The input schema is deliberately open (the
/// protocol's request schemas are open and envelope fields must be accepted); the request
/// schema's id is named in the description, and requests are validated server-side.
fn describe(name: &'static str) -> Tool {
    let spec = adcp_types::manifest::tool(name);
    let description = spec.map_or_else(
        || format!("AdCP task `{name}`."),
        |spec| {
            format!(
                "AdCP {} task `{name}`; request schema /schemas/{}/{}",
                spec.protocol,
                adcp_types::ADCP_VERSION,
                spec.request_schema
            )
        },
    );
    let schema: Map<String, Value> = match json!({"type": "object", "additionalProperties": true}) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    Tool::new(name, description, schema)
}

impl ServerHandler for McpHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("adcp-rs", env!("CARGO_PKG_VERSION")))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        Ok(ListToolsResult::with_all_items(self.tools.to_vec()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.iter().find(|tool| tool.name == name).cloned()
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let principal = context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Principal>())
            .cloned();
        let arguments = request
            .arguments
            .map_or_else(|| Value::Object(Map::new()), Value::Object);
        let reply = self.core.call(&request.name, arguments, principal).await;
        // The text item is the body's JSON. `serde_json::to_string` writes it straight into a
        // buffer; rmcp's `structured` constructors go through `Display`, which validates and
        // copies every fragment through a formatter (about twice the cost on a catalog reply).
        let text = match serde_json::to_string(&reply.body) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(%error, "a tool reply could not be serialised");
                return Err(McpError::internal_error(
                    "the reply could not be serialised",
                    None,
                ));
            }
        };
        let text_item = vec![ContentBlock::text(text)];
        let mut result = if reply.is_error {
            CallToolResult::error(text_item)
        } else {
            CallToolResult::success(text_item)
        };
        result.structured_content = Some(reply.body);
        Ok(result.into())
    }
}
