//! The HTTP surface: MCP streamable HTTP at `/mcp`, brand.json and the JWKS, and the edge
//! checks that run before MCP sees a request (authentication, body size, well-formed JSON).

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::{Authenticator, Principal, auth_required};
use crate::server::AdcpServer;
use crate::transport::mcp::McpHandler;

/// The default largest request body accepted (1 MiB); larger bodies get HTTP 413 with an
/// AdCP error.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// JSON-RPC error codes the edge answers with.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
/// AdCP's reserved transport code for missing or invalid credentials.
const AUTH_MISSING: i64 = -32028;
/// AdCP's reserved transport code for a seller-side outage.
const SERVICE_UNAVAILABLE: i64 = -32027;

/// How the HTTP surface behaves.
#[derive(Clone)]
pub struct HttpConfig {
    /// Host names (or `host:port`) accepted in the `Host` header; DNS-rebinding protection.
    /// Default: loopback only. Production must list its public host names.
    pub allowed_hosts: Vec<String>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// MCP session mode (`mcp-session-id` after `initialize`); `false` serves statelessly,
    /// which suits replicas behind a load balancer.
    pub sessions: bool,
    /// Who may call: with an authenticator, invalid credentials always get HTTP 401; missing
    /// credentials get HTTP 401 for every `tools/call` except the public tools, and for GET and
    /// DELETE (session streams). MCP sessions are not bound to the principal that opened them;
    /// every request is authenticated on its own. Note that rmcp logs requests at `debug`
    /// level, arguments included: keep `rmcp` at `info` or above in production filters.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// Tools callable without credentials when an authenticator is set.
    pub public_tools: Vec<String>,
    /// The realm named in `WWW-Authenticate`.
    pub realm: String,
    /// Cancelled to close MCP streams on shutdown.
    pub shutdown: CancellationToken,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("sessions", &self.sessions)
            .field("authenticated", &self.authenticator.is_some())
            .field("public_tools", &self.public_tools)
            .finish_non_exhaustive()
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            allowed_hosts: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            sessions: true,
            authenticator: None,
            public_tools: vec!["get_adcp_capabilities".into()],
            realm: "adcp".into(),
            shutdown: CancellationToken::new(),
        }
    }
}

impl HttpConfig {
    /// Requires credentials checked by `authenticator`.
    #[must_use]
    pub fn with_authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Accepts these `Host` values (in addition to none else).
    #[must_use]
    pub fn with_allowed_hosts(
        mut self,
        hosts: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.allowed_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }
}

#[derive(Clone)]
struct Edge {
    config: HttpConfig,
}

/// The axum router serving `server`: `POST/GET/DELETE /mcp`, `GET /.well-known/brand.json`
/// and `GET /.well-known/jwks.json` (when a signing key is published).
pub fn router(server: &AdcpServer, config: HttpConfig) -> Router {
    let handler = McpHandler::new(server.clone());
    let mcp_config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(config.allowed_hosts.clone())
        .with_max_request_body_bytes(config.max_body_bytes)
        .with_cancellation_token(config.shutdown.child_token())
        .with_legacy_session_mode(config.sessions)
        .with_json_response(!config.sessions);
    let mcp = if config.sessions {
        Router::new().fallback_service(StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(LocalSessionManager::default()),
            mcp_config,
        ))
    } else {
        Router::new().fallback_service(StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            mcp_config,
        ))
    };
    let edge = Edge { config };
    let mcp = mcp.layer(middleware::from_fn_with_state(edge, guard_edge));
    let brand = server.brand.clone();
    let jwks = server.jwks.clone();
    Router::new()
        .nest("/mcp", mcp)
        .route(
            "/.well-known/brand.json",
            get(move || std::future::ready(json_or_404(brand.clone()))),
        )
        .route(
            "/.well-known/jwks.json",
            get(move || std::future::ready(json_or_404(jwks.clone()))),
        )
}

fn json_or_404(document: Option<Value>) -> Response {
    match document {
        Some(document) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            document.to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A JSON-RPC error response carrying an AdCP error in `error.data.adcp_error`.
fn rpc_error(status: StatusCode, id: &Value, code: i64, error: &adcp_types::AdcpError) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": error.message, "data": { "adcp_error": error.to_value() } },
    });
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body.to_string(),
    )
        .into_response()
}

fn unauthorized(
    config: &HttpConfig,
    id: &Value,
    error: &adcp_types::AdcpError,
    invalid: bool,
) -> Response {
    let challenge = if invalid {
        format!("Bearer realm=\"{}\", error=\"invalid_token\"", config.realm)
    } else {
        format!("Bearer realm=\"{}\"", config.realm)
    };
    let mut response = rpc_error(StatusCode::UNAUTHORIZED, id, AUTH_MISSING, error);
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// Edge checks, in order: credentials (invalid → 401), body size (→ 413), well-formed JSON
/// (→ JSON-RPC parse error), missing credentials on a protected `tools/call` (→ 401).
async fn guard_edge(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let config = &edge.config;
    let (mut parts, body) = request.into_parts();
    let mut principal: Option<Principal> = None;
    if let Some(authenticator) = &config.authenticator {
        match authenticator.authenticate(&parts.headers).await {
            Ok(found) => principal = found,
            Err(error) if error.code.starts_with("AUTH_") => {
                return unauthorized(config, &Value::Null, &error, true);
            }
            // The authenticator itself failed (e.g. its backing store is down): not the
            // buyer's credentials' fault, so not a 401 that would make them drop a valid token.
            Err(error) => {
                tracing::warn!(code = %error.code, "the authenticator failed");
                return rpc_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &Value::Null,
                    SERVICE_UNAVAILABLE,
                    &adcp_types::AdcpError::internal(),
                );
            }
        }
    }
    if let Some(principal) = &principal {
        parts.extensions.insert(principal.clone());
    }
    if parts.method != http::Method::POST {
        // GET opens (or resumes) a session's event stream and DELETE ends a session: with an
        // authenticator, both need credentials.
        if config.authenticator.is_some() && principal.is_none() {
            return unauthorized(config, &Value::Null, &auth_required(), false);
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    let too_large = || {
        rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Value::Null,
            INVALID_REQUEST,
            &adcp_types::AdcpError::invalid_request(format!(
                "the request body exceeds {} bytes",
                config.max_body_bytes
            )),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > config.max_body_bytes) {
        return too_large();
    }
    let Ok(bytes): Result<Bytes, _> = axum::body::to_bytes(body, config.max_body_bytes).await
    else {
        return too_large();
    };
    let message: Value = match serde_json::from_slice(&bytes) {
        Ok(message) => message,
        Err(error) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                &Value::Null,
                PARSE_ERROR,
                &adcp_types::AdcpError::invalid_request(format!(
                    "the request body is not valid JSON: {error}"
                )),
            );
        }
    };
    if config.authenticator.is_some() && principal.is_none() && needs_credentials(config, &message)
    {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        return unauthorized(config, &id, &auth_required(), false);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Whether a JSON-RPC message (or batch) calls a tool that is not public.
fn needs_credentials(config: &HttpConfig, message: &Value) -> bool {
    let calls_protected = |m: &Value| {
        m.get("method").and_then(Value::as_str) == Some("tools/call")
            && !m
                .get("params")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .is_some_and(|name| config.public_tools.iter().any(|p| p == name))
    };
    match message {
        Value::Array(batch) => batch.iter().any(calls_protected),
        single => calls_protected(single),
    }
}
