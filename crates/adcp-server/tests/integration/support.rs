//! Test support: a scripted seller platform, the server on a loopback port, an MCP buyer, a
//! loopback webhook receiver and a raw HTTP client.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adcp_server::{
    AdcpServer, AdcpServerBuilder, BearerTokens, CallContext, CompletedResult, DiscoveryResult,
    HttpConfig, Outcome, Principal, ResultHook, SalesPlatform, SalesTool, SignalsPlatform,
    SignalsTool, TaskResult, WebhookDelivery,
};
use adcp_types::generated::{
    CreateMediaBuyRequest, CreateMediaBuyResponse, GetProductsRequest, GetProductsResponse,
    GetSignalsRequest, GetSignalsResponse,
};
use adcp_types::{AdcpError, Specialism};
use adcp_webhooks::signing::{WebhookSigner, WebhookSigningKey};
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{InMemoryConfig, InMemorySupervisor, SenderConfig, WebhookSender};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use rmcp::model::CallToolRequestParams;
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Installs the process-wide rustls provider the workspace's reqwest (built without a default
/// provider) needs before any client is created.
pub(crate) fn init() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A schema-valid product.
pub(crate) fn product(id: &str) -> Value {
    json!({
        "product_id": id,
        "name": format!("Product {id}"),
        "description": "Test inventory.",
        "publisher_properties": [{ "publisher_domain": "news.example", "selection_type": "all" }],
        "delivery_type": "non_guaranteed",
        "channels": ["display"],
        "format_ids": [{ "agent_url": "https://creative.adcontextprotocol.org/", "id": "display_300x250" }],
        "pricing_options": [{ "pricing_option_id": "cpm", "pricing_model": "cpm", "currency": "USD", "fixed_price": 5.0 }],
        "reporting_capabilities": {
            "available_reporting_frequencies": ["daily"], "expected_delay_minutes": 60, "timezone": "UTC",
            "supports_webhooks": false, "available_metrics": ["impressions"], "date_range_support": "date_range"
        }
    })
}

/// A schema-valid signal.
pub(crate) fn signal(id: &str) -> Value {
    json!({
        "signal_agent_segment_id": id, "name": "Hikers", "description": "Hikers.", "signal_type": "owned",
        "signal_id": { "source": "agent", "agent_url": "https://seller.example/mcp", "id": id },
        "value_type": "binary",
        "deployments": [{ "type": "platform", "platform": "the-trade-desk", "is_live": true }],
        "pricing_options": [{ "pricing_option_id": "cpm_std", "model": "cpm", "cpm": 1.5, "currency": "USD" }]
    })
}

/// What the scripted platform observed.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub(crate) platform_calls: AtomicUsize,
    pub(crate) media_buys_created: AtomicUsize,
    /// (tool, task_id) of every persist-draft hook run.
    pub(crate) drafts: Mutex<Vec<(String, Option<String>)>>,
    /// The field names of the first product each persist-draft hook run saw.
    pub(crate) draft_product_fields: Mutex<Vec<Vec<String>>>,
    /// How many products each persist-draft hook run saw.
    pub(crate) draft_product_counts: Mutex<Vec<usize>>,
}

#[derive(Debug)]
struct DraftHook(Arc<Observed>);

#[async_trait::async_trait]
impl ResultHook for DraftHook {
    async fn on_complete(&self, completed: CompletedResult<'_>) -> Result<(), AdcpError> {
        assert!(
            completed.result.get("products").is_some(),
            "the hook sees the full result"
        );
        let fields = completed
            .result
            .pointer("/products/0")
            .and_then(Value::as_object)
            .map(|product| product.keys().cloned().collect())
            .unwrap_or_default();
        self.0.draft_product_fields.lock().unwrap().push(fields);
        let count = completed
            .result
            .get("products")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        self.0.draft_product_counts.lock().unwrap().push(count);
        self.0.drafts.lock().unwrap().push((
            completed.tool.to_owned(),
            completed.task_id.map(str::to_owned),
        ));
        Ok(())
    }
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("test fixture matches the type")
}

fn ext_flag(request: &Value, flag: &str) -> bool {
    request
        .pointer(&format!("/ext/{flag}"))
        .and_then(Value::as_bool)
        == Some(true)
}

/// A sales + signals platform scripted by the request:
/// - `ext.handoff: true` hands off (in any mode, so the guards can be exercised); the task
///   works for `ext.work_ms` milliseconds (default 50);
/// - `ext.fail: true` (with handoff) fails the task with `PRODUCT_UNAVAILABLE`;
/// - `ext.forge: true` answers a hand-rolled `{status: submitted, task_id}` envelope;
/// - `ext.draft: true` registers a persist-draft hook;
/// - otherwise answers synchronously.
#[derive(Debug, Clone)]
pub(crate) struct Scripted {
    pub(crate) observed: Arc<Observed>,
}

impl Scripted {
    fn answer<T>(
        &self,
        request: &Value,
        ctx: &CallContext,
        body: Value,
    ) -> Result<Outcome<T>, AdcpError>
    where
        T: serde::de::DeserializeOwned + serde::Serialize + Send + Sync + 'static,
    {
        self.observed.platform_calls.fetch_add(1, Ordering::SeqCst);
        assert!(!ext_flag(request, "panic"), "scripted panic");
        if ext_flag(request, "push") {
            ctx.push_completion();
        }
        if ext_flag(request, "draft") {
            ctx.on_complete(Arc::new(DraftHook(Arc::clone(&self.observed))));
        }
        if ext_flag(request, "forge") {
            let mut forged = body;
            forged["status"] = json!("submitted");
            forged["task_id"] = json!("task_forged");
            return Ok(Outcome::Completed(typed(forged)));
        }
        if !ext_flag(request, "handoff") {
            return Ok(Outcome::Completed(typed(body)));
        }
        let fail = ext_flag(request, "fail");
        let work_ms = request
            .pointer("/ext/work_ms")
            .and_then(Value::as_u64)
            .unwrap_or(50);
        Ok(ctx
            .handoff_to_task(move |_task| async move {
                tokio::time::sleep(Duration::from_millis(work_ms)).await;
                if fail {
                    return Err(AdcpError::new(
                        "PRODUCT_UNAVAILABLE",
                        "curation found nothing",
                    ));
                }
                Ok::<T, AdcpError>(typed(body))
            })
            .into())
    }
}

#[async_trait::async_trait]
impl SalesPlatform for Scripted {
    fn tools(&self) -> Vec<SalesTool> {
        vec![SalesTool::GetProducts, SalesTool::CreateMediaBuy]
    }

    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap();
        self.answer(
            &request,
            ctx,
            json!({ "products": [product("p1"), product("p2")] }),
        )
    }

    async fn create_media_buy(
        &self,
        request: CreateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<CreateMediaBuyResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap();
        if request.get("po_number").and_then(Value::as_str) == Some("slow") {
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        let n = self
            .observed
            .media_buys_created
            .fetch_add(1, Ordering::SeqCst)
            + 1;
        let body = json!({
            "media_buy_id": format!("mb_{n}"),
            "media_buy_status": "pending_creatives",
            "confirmed_at": "2026-11-26T10:00:00Z",
            "revision": 1,
            "packages": [{ "package_id": "pkg_1", "product_id": "p1" }]
        });
        self.answer(&request, ctx, body)
    }
}

#[async_trait::async_trait]
impl SignalsPlatform for Scripted {
    fn tools(&self) -> Vec<SignalsTool> {
        vec![SignalsTool::GetSignals]
    }

    async fn get_signals(
        &self,
        request: GetSignalsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetSignalsResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap();
        self.answer(&request, ctx, json!({ "signals": [signal("seg_1")] }))
    }
}

/// One webhook request as received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Received {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook bodies are JSON")
    }
}

#[derive(Debug, Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    failures_left: AtomicUsize,
    arrived: Notify,
}

/// A loopback webhook receiver.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    pub(crate) base: String,
    state: Arc<ReceiverState>,
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> StatusCode {
    let failing = state
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    state.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    });
    state.arrived.notify_waiters();
    if failing {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    }
}

impl Receiver {
    pub(crate) async fn start() -> Self {
        let state = Arc::new(ReceiverState::default());
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// Answers the next `n` deliveries with 503.
    pub(crate) fn fail_next(&self, n: usize) {
        self.state.failures_left.store(n, Ordering::SeqCst);
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    /// Waits until `count` requests arrived at `path` (or `timeout`); returns them.
    pub(crate) async fn wait_for(
        &self,
        path: &str,
        count: usize,
        timeout: Duration,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let arrived = self.state.arrived.notified();
            let at_path: Vec<Received> = self
                .received()
                .into_iter()
                .filter(|r| r.path == format!("/{path}"))
                .collect();
            if at_path.len() >= count || tokio::time::Instant::now() >= deadline {
                return at_path;
            }
            let _ = tokio::time::timeout_at(deadline, arrived).await;
        }
    }
}

/// Verifies `hook`'s RFC 9421 signature against the JWKS the server at `base` publishes, as a
/// buyer would; `url` is where the webhook was delivered.
pub(crate) async fn verify_signature(base: &str, url: &str, hook: &Received) {
    let jwks: Value = reqwest::get(format!("{base}/.well-known/jwks.json"))
        .await
        .expect("the JWKS is served")
        .json()
        .await
        .expect("the JWKS is JSON");
    let headers: Vec<(&str, &str)> = hook
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    adcp_webhooks::verify::WebhookVerifier::new(&jwks)
        .verify_now(&adcp_webhooks::verify::InboundWebhook {
            method: "POST",
            url,
            headers: &headers,
            body: &hook.body,
        })
        .expect("the webhook signature verifies with the published JWKS");
}

/// The signing key the test server publishes.
pub(crate) fn signing_key() -> WebhookSigningKey {
    WebhookSigningKey::from_ed25519_seed("test-key-1", &[7; 32])
}

/// The standard test server builder: scripted sales + signals, sandbox, strict mode, in-memory
/// webhook delivery to loopback, the published signing key.
pub(crate) fn builder(observed: &Arc<Observed>) -> AdcpServerBuilder {
    let platform = Scripted {
        observed: Arc::clone(observed),
    };
    AdcpServer::builder()
        .accounts(adcp_server::ExplicitAccounts::open().trust_buyer_sandbox_flag())
        .sales(platform.clone())
        .signals(platform)
        .specialism(Specialism::SalesNonGuaranteed)
        .specialism(Specialism::SignalOwned)
        .sandbox(true)
        .strict(true)
        .publish_signing_key(&signing_key())
        .public_url("https://seller.example")
        .allow_insecure_webhook_host("127.0.0.1")
}

/// In-memory webhook delivery signing with [`signing_key`], loopback allowed.
pub(crate) fn in_memory_webhooks() -> WebhookDelivery {
    let sender = WebhookSender::new(
        SenderConfig {
            policy: SsrfPolicy::strict().allow_loopback(),
            request_timeout: Duration::from_secs(5),
            ..SenderConfig::default()
        },
        Some(WebhookSigner::new(signing_key())),
    )
    .unwrap();
    let mut config = InMemoryConfig::default();
    config.retry.base_delay = Duration::from_millis(50);
    WebhookDelivery::Supervisor(Arc::new(InMemorySupervisor::start(sender, config)))
}

/// The test tokens: `token-a` is buyer A, `token-b` buyer B.
pub(crate) fn tokens() -> BearerTokens {
    BearerTokens::new()
        .with_token("token-a", Principal::new("buyer-a"))
        .with_token("token-b", Principal::new("buyer-b"))
}

/// A server listening on a loopback port.
#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) url: String,
    pub(crate) base: String,
    #[allow(dead_code)]
    pub(crate) server: AdcpServer,
    stop: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

pub(crate) async fn serve(server: AdcpServer) -> Running {
    serve_with(server, HttpConfig::default().with_authenticator(tokens())).await
}

pub(crate) async fn serve_with(server: AdcpServer, mut http: HttpConfig) -> Running {
    init();
    let stop = CancellationToken::new();
    http.shutdown = stop.clone();
    let limits = http.connections.clone();
    let router = adcp_server::router(&server, http);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = stop.clone();
    tokio::spawn(async move {
        adcp_server::serve_with_limits(listener, router, &limits, async move {
            token.cancelled().await;
        })
        .await
    });
    Running {
        url: format!("http://{addr}/mcp"),
        base: format!("http://{addr}"),
        server,
        stop,
    }
}

/// A buyer agent: an MCP client session.
pub(crate) struct Buyer {
    client: RunningService<RoleClient, ()>,
}

/// One tool reply as the buyer sees it.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub(crate) body: Value,
    pub(crate) is_error: bool,
}

impl Reply {
    pub(crate) fn code(&self) -> Option<&str> {
        self.body
            .pointer("/adcp_error/code")
            .and_then(Value::as_str)
    }

    pub(crate) fn field(&self) -> Option<&str> {
        self.body
            .pointer("/adcp_error/field")
            .and_then(Value::as_str)
    }

    #[track_caller]
    pub(crate) fn ok(&self) -> &Value {
        assert!(!self.is_error, "expected success, got {:#}", self.body);
        &self.body
    }

    #[track_caller]
    pub(crate) fn expect_error(&self, code: &str, field: Option<&str>) {
        assert!(
            self.is_error,
            "expected {code}, got success {:#}",
            self.body
        );
        assert_eq!(self.code(), Some(code), "{:#}", self.body);
        if let Some(field) = field {
            assert_eq!(self.field(), Some(field), "{:#}", self.body);
        }
        assert!(
            self.body.pointer("/adcp_error/recovery").is_some(),
            "recovery is always set"
        );
    }
}

impl Buyer {
    pub(crate) async fn connect(url: &str, token: Option<&str>) -> Self {
        init();
        let mut config = StreamableHttpClientTransportConfig::with_uri(url.to_owned());
        if let Some(token) = token {
            config = config.auth_header(token.to_owned());
        }
        let transport = StreamableHttpClientTransport::from_config(config);
        let client = ().serve(transport).await.expect("MCP initialize succeeds");
        Self { client }
    }

    pub(crate) async fn call(&self, tool: &str, arguments: Value) -> Reply {
        let Value::Object(arguments) = arguments else {
            panic!("arguments must be an object")
        };
        let result = self
            .client
            .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments))
            .await
            .expect("tools/call answers");
        let body = result.structured_content.clone().unwrap_or_else(|| {
            let text = result
                .content
                .first()
                .and_then(|c| c.as_text())
                .map(|t| t.text.clone());
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null)
        });
        Reply {
            body,
            is_error: result.is_error.unwrap_or(false),
        }
    }

    pub(crate) async fn tool_names(&self) -> Vec<String> {
        self.client
            .list_all_tools()
            .await
            .expect("tools/list answers")
            .into_iter()
            .map(|t| t.name.to_string())
            .collect()
    }
}

/// A sandbox account reference for buyer `brand`.
pub(crate) fn account(brand: &str) -> Value {
    json!({ "brand": { "domain": brand }, "operator": "agency.example", "sandbox": true })
}

/// A push-notification registration to the receiver.
pub(crate) fn push(receiver: &Receiver, path: &str, operation_id: &str) -> Value {
    json!({ "url": receiver.url(path), "operation_id": operation_id, "token": "receiver-token-0123456789abcdef" })
}

/// Polls `get_task_status` until the task is terminal.
pub(crate) async fn poll_until_terminal(buyer: &Buyer, task_id: &str, account: &Value) -> Value {
    for _ in 0..200 {
        let reply = buyer
            .call(
                "get_task_status",
                json!({ "task_id": task_id, "account": account, "include_result": true }),
            )
            .await;
        let body = reply.ok().clone();
        if matches!(
            body["status"].as_str(),
            Some("completed" | "failed" | "canceled" | "rejected")
        ) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("task {task_id} never became terminal");
}

/// A started test seller with its buyer (token-a) and a receiver.
pub(crate) struct Seller {
    pub(crate) observed: Arc<Observed>,
    pub(crate) running: Running,
    pub(crate) buyer: Buyer,
    pub(crate) receiver: Receiver,
}

/// Starts the standard test seller, with in-memory webhook delivery when `webhooks`.
pub(crate) async fn seller(webhooks: bool) -> Seller {
    seller_with(webhooks, |builder| builder).await
}

/// Starts the standard test seller with `configure` applied to its builder.
pub(crate) async fn seller_with(
    webhooks: bool,
    configure: impl FnOnce(AdcpServerBuilder) -> AdcpServerBuilder,
) -> Seller {
    let observed = Arc::new(Observed::default());
    let mut server = configure(builder(&observed));
    if webhooks {
        server = server.webhooks(in_memory_webhooks());
    }
    let running = serve(server.build().unwrap()).await;
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    let receiver = Receiver::start().await;
    Seller {
        observed,
        running,
        buyer,
        receiver,
    }
}
