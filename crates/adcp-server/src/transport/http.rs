//! The HTTP surface: MCP streamable HTTP at `/mcp`, brand.json and the JWKS, and the edge
//! checks that run before MCP sees a request (authentication, body size, well-formed JSON).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::model::ClientJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::session::store::SessionStore;
use rmcp::transport::streamable_http_server::{
    ParsedMessage, StreamableHttpServerConfig, StreamableHttpService,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::auth::{Authenticator, Principal, auth_required};
use crate::server::AdcpServer;
use crate::transport::hosts::AllowedHosts;
use crate::transport::jsonrpc::{self, INVALID_REQUEST};
use crate::transport::listen::ConnectionLimits;
use crate::transport::mcp::McpHandler;
use crate::transport::sessions::{
    BoundedSessions, SessionLimits, SessionRefusal, with_session_owner,
};

/// The default largest request body accepted (1 MiB); larger bodies get HTTP 413 with an
/// AdCP error.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// JSON-RPC error codes the edge answers with.
const PARSE_ERROR: i64 = -32700;
/// AdCP's reserved transport code for missing or invalid credentials.
const AUTH_MISSING: i64 = -32028;
/// AdCP's reserved transport code for a seller-side outage.
const SERVICE_UNAVAILABLE: i64 = -32027;

/// How the HTTP surface behaves.
#[derive(Clone)]
pub struct HttpConfig {
    /// Host names (or `host:port`) accepted in the `Host` header; DNS-rebinding protection.
    /// Default: loopback only. Production must list its public host names. An empty list
    /// accepts every request, whatever its `Host` (or without one).
    pub allowed_hosts: Vec<String>,
    /// The largest request body accepted.
    pub max_body_bytes: usize,
    /// MCP session mode (`mcp-session-id` after `initialize`); `false` serves statelessly,
    /// which suits replicas behind a load balancer.
    pub sessions: bool,
    /// Who may call: with an authenticator, invalid credentials always get HTTP 401; missing
    /// credentials get HTTP 401 for every `tools/call` except the public tools, for an
    /// `initialize` in session mode (a held session is only for an authenticated principal,
    /// counted against [`SessionLimits::max_sessions_per_principal`]), and for GET and DELETE
    /// (session streams). A session is not otherwise bound to the principal that opened it:
    /// every request is authenticated on its own. rmcp logs requests at `debug` level,
    /// arguments included; [`crate::logging::init`] (or a [`crate::logging::SecretSafe`]
    /// filter) caps it whatever `RUST_LOG` says.
    pub authenticator: Option<Arc<dyn Authenticator>>,
    /// Tools callable without credentials when an authenticator is set.
    pub public_tools: Vec<String>,
    /// The realm named in `WWW-Authenticate`.
    pub realm: String,
    /// Cancelled to close MCP streams on shutdown (and, with [`crate::run`], to stop the
    /// server the way a SIGTERM does).
    pub shutdown: CancellationToken,
    /// Timeouts and the cap on concurrent connections, applied by [`crate::run`] (with
    /// [`crate::router`], pass them to [`crate::serve_with_limits`] yourself).
    pub connections: ConnectionLimits,
    /// Caps on MCP sessions (session mode).
    pub session_limits: SessionLimits,
    /// The longest a request body may take to arrive once its head has; a slower body gets
    /// HTTP 408 with an AdCP error. Default 30 s.
    pub body_read_timeout: Duration,
    /// Serve A2A beside MCP: JSON-RPC at `/a2a` and the agent card at
    /// `/.well-known/agent-card.json` (and `/.well-known/agent.json`). Default `true`.
    pub a2a: bool,
    /// The agent's public base URL (e.g. `https://seller.example`), which the agent card
    /// advertises as `<public_url>/a2a`. Default: `http://` and the request's (allowed) `Host`,
    /// which suits loopback and tests; set it behind TLS or a proxy.
    pub public_url: Option<String>,
}

impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("allowed_hosts", &self.allowed_hosts)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("sessions", &self.sessions)
            .field("authenticated", &self.authenticator.is_some())
            .field("public_tools", &self.public_tools)
            .field("connections", &self.connections)
            .field("session_limits", &self.session_limits)
            .field("body_read_timeout", &self.body_read_timeout)
            .field("a2a", &self.a2a)
            .field("public_url", &self.public_url)
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
            connections: ConnectionLimits::default(),
            session_limits: SessionLimits::default(),
            body_read_timeout: Duration::from_secs(30),
            a2a: true,
            public_url: None,
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

/// An [`HttpConfig`] with what the edge derives from it once, when the router is built (the
/// parsed `Host` allow-list); it reads as the `HttpConfig` it holds.
pub(crate) struct EdgeConfig {
    http: HttpConfig,
    /// [`HttpConfig::allowed_hosts`], parsed.
    pub(crate) hosts: AllowedHosts,
}

impl EdgeConfig {
    fn new(http: HttpConfig) -> Self {
        let hosts = AllowedHosts::new(&http.allowed_hosts);
        Self { http, hosts }
    }
}

impl std::ops::Deref for EdgeConfig {
    type Target = HttpConfig;

    fn deref(&self) -> &HttpConfig {
        &self.http
    }
}

#[derive(Clone)]
struct Edge {
    /// Shared, not copied: axum clones the state for every request.
    config: Arc<EdgeConfig>,
    /// The session ledger, in session mode.
    sessions: Option<Arc<BoundedSessions>>,
}

/// `/mcp` (and any path below it, as a nested service would take) served by rmcp's `service`,
/// as routes of the top-level router: one path lookup per request, no nested router. The
/// service is shared, not cloned: axum clones a route's handler for every request, and rmcp's
/// own `Service::call` clones the whole service (its configuration, with the cancellation token
/// and the allow-lists) into every request's future. (A macro: the session and stateless
/// services are different types.)
macro_rules! route_mcp {
    ($service:expr) => {{
        let service = Arc::new($service);
        let serve = tower::service_fn(move |request: Request| {
            let service = Arc::clone(&service);
            async move { Ok::<_, std::convert::Infallible>(service.handle(request).await) }
        });
        Router::new()
            .route_service("/mcp", serve.clone())
            .route_service("/mcp/{*rest}", serve)
    }};
}

/// The axum router serving `server`: `POST/GET/DELETE /mcp`, A2A (`POST /a2a` and the agent
/// card at `GET /.well-known/agent-card.json` and `/.well-known/agent.json`, unless
/// [`HttpConfig::a2a`] is off), `GET /ready` (503 while draining), `GET /.well-known/brand.json`
/// and `GET /.well-known/jwks.json` (when a signing key is published).
pub fn router(server: &AdcpServer, config: HttpConfig) -> Router {
    let handler = McpHandler::new(server);
    // The edge checks `Host` (answering with an AdCP error, where rmcp answers with a bare
    // 403), so rmcp's own check would only repeat it.
    let mcp_config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_max_request_body_bytes(config.max_body_bytes)
        .with_cancellation_token(config.shutdown.child_token())
        .with_legacy_session_mode(config.sessions)
        .with_json_response(!config.sessions);
    let (mcp, sessions) = if config.sessions {
        let sessions = BoundedSessions::start(config.session_limits.clone());
        // The ledger is also rmcp's session store: a dormant session is restored from it.
        let mut mcp_config = mcp_config;
        mcp_config.session_store = Some(Arc::clone(&sessions) as Arc<dyn SessionStore>);
        let service = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::clone(&sessions),
            mcp_config,
        );
        (route_mcp!(service), Some(sessions))
    } else {
        let service = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            mcp_config,
        );
        (route_mcp!(service), None)
    };
    // One copy of the configuration, shared by the edge and A2A.
    let config = Arc::new(EdgeConfig::new(config));
    let a2a = config
        .a2a
        .then(|| crate::transport::a2a::routes(server, Arc::clone(&config)));
    let edge = Edge { config, sessions };
    // A route layer: a path off `/mcp` still gets axum's plain 404.
    let mcp = mcp.route_layer(middleware::from_fn_with_state(edge, guard_edge));
    let brand = server.brand.clone();
    let jwks = server.jwks.clone();
    let readiness = server.clone();
    let routes = mcp
        .route("/ready", get(move || std::future::ready(ready(&readiness))))
        .route(
            "/.well-known/brand.json",
            get(move || std::future::ready(json_or_404(brand.as_deref()))),
        )
        .route(
            "/.well-known/jwks.json",
            get(move || std::future::ready(json_or_404(jwks.as_deref()))),
        );
    match a2a {
        Some(a2a) => routes.merge(a2a),
        None => routes,
    }
}

/// `GET /ready`: 200 while serving, 503 once a stop began (so a load balancer sends new work
/// to another replica while this one drains).
fn ready(server: &AdcpServer) -> Response {
    let (status, state) = if server.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else {
        (StatusCode::OK, "ready")
    };
    json_response(status, &json!({ "status": state }))
}

fn json_or_404(document: Option<&Value>) -> Response {
    match document {
        Some(document) => json_response(StatusCode::OK, document),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `body` as an `application/json` response with `status`. Serialised straight into the
/// response buffer (`Value`'s `Display` would copy every fragment through a formatter).
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let content_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )];
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, content_type, bytes).into_response(),
        Err(error) => {
            // A map with non-string keys or a failing `Serialize` impl: no reply here has one.
            tracing::error!(%error, "a reply could not be serialised");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                content_type,
                r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32603,"message":"the reply could not be serialised"}}"#,
            )
                .into_response()
        }
    }
}

/// One JSON-RPC message from a request body: not JSON → HTTP 400 with a parse error; not one
/// well-shaped JSON-RPC message → HTTP 400 naming the offending member.
pub(crate) fn parse_message(bytes: &[u8]) -> Result<Value, Response> {
    let message: Value = serde_json::from_slice(bytes).map_err(|error| {
        rpc_error(
            StatusCode::BAD_REQUEST,
            &Value::Null,
            PARSE_ERROR,
            &adcp_types::AdcpError::invalid_request(format!(
                "the request body is not valid JSON: {error}"
            ))
            .with_field("body"),
        )
    })?;
    if let Err(malformed) = jsonrpc::check(&message) {
        return Err(rpc_error(
            StatusCode::BAD_REQUEST,
            &malformed.id,
            malformed.code,
            &malformed.error,
        ));
    }
    Ok(message)
}

/// A JSON-RPC error response carrying an AdCP error in `error.data.adcp_error`.
pub(crate) fn rpc_error(
    status: StatusCode,
    id: &Value,
    code: i64,
    error: &adcp_types::AdcpError,
) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code, "message": error.message, "data": { "adcp_error": error.to_value() } },
    });
    json_response(status, &body)
}

pub(crate) fn unauthorized(
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

/// Authenticates a request with the configured authenticator: `Ok(None)` without one or
/// without credentials; invalid credentials → HTTP 401 (`AUTH_*`); an authenticator that
/// itself failed → HTTP 503 (not the buyer's credentials' fault, so not a 401 that would make
/// them drop a valid token).
pub(crate) async fn authenticate(
    config: &HttpConfig,
    headers: &http::HeaderMap,
) -> Result<Option<Principal>, Response> {
    let Some(authenticator) = &config.authenticator else {
        return Ok(None);
    };
    match authenticator.authenticate(headers).await {
        Ok(found) => Ok(found),
        Err(error) if error.code.starts_with("AUTH_") => {
            Err(unauthorized(config, &Value::Null, &error, true))
        }
        Err(error) => {
            tracing::warn!(code = %error.code, "the authenticator failed");
            Err(rpc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                &Value::Null,
                SERVICE_UNAVAILABLE,
                &adcp_types::AdcpError::internal(),
            ))
        }
    }
}

/// The answer to a request whose `Host` is not on [`HttpConfig::allowed_hosts`]: HTTP 403
/// with an AdCP `PERMISSION_DENIED` naming the `Host` header.
pub(crate) fn forbidden_host(id: &Value) -> Response {
    rpc_error(
        StatusCode::FORBIDDEN,
        id,
        INVALID_REQUEST,
        &adcp_types::AdcpError::new(
            adcp_types::codes::PERMISSION_DENIED,
            "the Host header names a host this agent does not serve",
        )
        .with_field("Host"),
    )
}

/// Edge checks, in order: the `Host` allow-list (→ 403), credentials (invalid → 401), body size (→ 413) and arrival time
/// (→ 408), well-formed JSON (→ JSON-RPC parse error), one well-shaped JSON-RPC message
/// (→ JSON-RPC invalid request / invalid params naming the member), missing credentials on a
/// protected `tools/call` or on an `initialize` (→ 401), and the session caps (→ 429 / 503).
async fn guard_edge(State(edge): State<Edge>, request: Request, next: Next) -> Response {
    let config = &edge.config;
    let (mut parts, body) = request.into_parts();
    if !config.hosts.allows(&parts.uri, &parts.headers) {
        return forbidden_host(&Value::Null);
    }
    let principal = match authenticate(config, &parts.headers).await {
        Ok(principal) => principal,
        Err(response) => return response,
    };
    if let Some(principal) = &principal {
        parts.extensions.insert(principal.clone());
    }
    if parts.method != http::Method::POST {
        // GET opens (or resumes) a session's event stream and DELETE ends a session: with an
        // authenticator, both need credentials.
        if config.authenticator.is_some() && principal.is_none() {
            return unauthorized(config, &Value::Null, &auth_required(), false);
        }
        // A GET for a dormant session restores it: refused here, clearly, if it cannot be (a
        // DELETE needs no worker).
        if parts.method == http::Method::GET
            && let (Some(sessions), Some(session_id)) =
                (&edge.sessions, session_header(&parts.headers))
            && let Err(refusal) = sessions.admit(session_id)
        {
            return session_refused(&Value::Null, refusal);
        }
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match read_body(config, &parts.headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    // The message as rmcp's model reads it: rmcp serves it as parsed here, not parsing the body
    // again, and for a tool call with arguments the edge takes its facts from it too. Any other
    // message's facts are read from the bytes without a JSON tree; a message that reading does
    // not accept is parsed and checked, and refused with what is wrong.
    let model: Option<ClientJsonRpcMessage> = serde_json::from_slice(&bytes).ok();
    let facts = match model.as_ref().and_then(jsonrpc::Summary::of_model_call) {
        Some(summary) => Facts::new(config, summary),
        None => match jsonrpc::Summary::read(&bytes) {
            Some(summary) => Facts::new(config, summary),
            None => match parse_message(&bytes) {
                Ok(message) => Facts::new(config, jsonrpc::Summary::of(&message)),
                Err(response) => return response,
            },
        },
    };
    let Facts {
        id,
        initialize,
        protected,
    } = facts;
    let anonymous = config.authenticator.is_some() && principal.is_none();
    // In session mode an `initialize` holds server memory until it idles out: only
    // authenticated principals get one. Stateless, it holds nothing and stays public.
    let opens_held_session = initialize && edge.sessions.is_some();
    if anonymous && (opens_held_session || protected) {
        return unauthorized(config, &id, &auth_required(), false);
    }
    let body = match model {
        Some(message) => {
            parts.extensions.insert(ParsedMessage(message));
            Body::empty()
        }
        None => Body::from(bytes),
    };
    let request = Request::from_parts(parts, body);
    let Some(sessions) = &edge.sessions else {
        return next.run(request).await;
    };
    let session_id = session_header(request.headers());
    if let Some(session_id) = session_id
        && let Err(refusal) = sessions.admit(session_id)
    {
        return session_refused(&id, refusal);
    }
    let has_session_id = session_id.is_some();
    let owner = principal.as_ref().map_or("", Principal::id);
    let reserved = if initialize && !has_session_id {
        match sessions.reserve(owner).await {
            Ok(reservation) => Some(reservation),
            Err(refusal) => return session_refused(&id, refusal),
        }
    } else {
        None
    };
    // Every POST runs with its caller in scope, so any session rmcp creates is counted under
    // the right principal, in the slot reserved here (the ledger refuses one out of scope).
    with_session_owner(owner, reserved, next.run(request)).await
}

/// Reads a POST body within the size limit (→ 413) and the body-read timeout (→ 408).
pub(crate) async fn read_body(
    config: &HttpConfig,
    headers: &http::HeaderMap,
    body: Body,
) -> Result<Bytes, Response> {
    let too_large = || {
        rpc_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &Value::Null,
            INVALID_REQUEST,
            &adcp_types::AdcpError::invalid_request(format!(
                "the request body exceeds {} bytes",
                config.max_body_bytes
            ))
            .with_field("body"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > config.max_body_bytes) {
        return Err(too_large());
    }
    let mut collect = std::pin::pin!(axum::body::to_bytes(body, config.max_body_bytes));
    // A body that came with its head (the usual small call) is read without arming a timer.
    let collected = match futures::FutureExt::now_or_never(collect.as_mut()) {
        Some(collected) => Ok(collected),
        None => tokio::time::timeout(config.body_read_timeout, collect).await,
    };
    match collected {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(rpc_error(
            StatusCode::REQUEST_TIMEOUT,
            &Value::Null,
            INVALID_REQUEST,
            &adcp_types::AdcpError::invalid_request(format!(
                "the request body did not arrive within {} s",
                config.body_read_timeout.as_secs()
            ))
            .with_field("body")
            // A slow network, not a wrong request: the same request may be sent again.
            .with_recovery(adcp_types::Recovery::Transient),
        )),
    }
}

/// The request's MCP session id, read as rmcp reads it: a value it cannot read counts as none.
fn session_header(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
}

/// The answer to a request past a session cap (an `initialize`, or a dormant session's request
/// when no worker can be freed): 429 for the principal's own cap, 503 for the server's; both
/// transient with `Retry-After`.
fn session_refused(id: &Value, refusal: SessionRefusal) -> Response {
    let (status, code, retry_after) = match refusal {
        SessionRefusal::PrincipalFull => (
            StatusCode::TOO_MANY_REQUESTS,
            adcp_types::codes::RATE_LIMITED,
            30,
        ),
        SessionRefusal::Full => (
            StatusCode::SERVICE_UNAVAILABLE,
            adcp_types::codes::SERVICE_UNAVAILABLE,
            5,
        ),
    };
    let error = adcp_types::AdcpError::new(
        code,
        format!("{refusal}; close an idle session (HTTP DELETE) or retry later"),
    )
    .with_retry_after(retry_after);
    let mut response = rpc_error(status, id, SERVICE_UNAVAILABLE, &error);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
    response
}

/// What the edge acts on in a well-formed JSON-RPC message.
struct Facts {
    /// The message's `id`, for an answer the edge gives itself.
    id: Value,
    /// Whether it is an `initialize`.
    initialize: bool,
    /// Whether it calls a tool that is not public.
    protected: bool,
}

impl Facts {
    fn new(config: &HttpConfig, summary: jsonrpc::Summary<'_>) -> Self {
        let method = summary.method.as_deref();
        let public = |tool: &str| config.public_tools.iter().any(|public| public == tool);
        Self {
            initialize: method == Some("initialize"),
            protected: method == Some("tools/call") && !summary.tool.as_deref().is_some_and(public),
            id: summary.id,
        }
    }
}
