//! The bench server `cargo xtask bench` runs (release): synchronous get_products over MCP
//! (stateless, and in session mode) and over A2A, strict mode on (`BENCH_NO_STRICT` turns it
//! off; `BENCH_PRODUCTS` sets the catalog size), against a bare axum endpoint returning the same
//! bytes, at concurrency 1 and 16; and handoff → terminal-webhook latency. Prints one JSON
//! document.
//!
//! A further endpoint, the *floor*, is plain axum doing only the work the protocol mandates for
//! this call (in strict mode the arguments validated against the request schema, as the peers'
//! strict mode does and as a buyer's bad input must be answered; the platform's copy of the
//! catalog, serialising it, validating it against the response schema, and answering with the
//! JSON twice: `structuredContent` and the text item). No MCP framework can beat it with
//! validation on; it shows how much of the gap to the bare endpoint is the framework and how
//! much is the protocol. A2A carries the body once, so it has a floor of its own (the same work,
//! answered as a completed task). Two more locate the framework's share: the floor behind the
//! SDK's accept loop, and the SDK's dispatcher behind plain axum (everything but the MCP
//! framing).
//!
//! MCP is then measured against two floors built on rmcp, since the SDK serves MCP through rmcp
//! rather than re-implementing it. The *rmcp-model floor* does the floor's work through rmcp's
//! own types (the request decoded as `ClientJsonRpcMessage`, the reply a `CallToolResult`
//! serialised by serde, `structuredContent` a JSON tree written a second time). The
//! *rmcp-service floor* does it inside a bare rmcp `ServerHandler` served by rmcp's
//! `StreamableHttpService` as the SDK configures it. Both run behind the SDK's accept loop, as
//! MCP does (its header-read timeout and connection cap are the hardening every endpoint facing
//! buyers needs; the rmcp-model floor behind plain axum is reported beside them). So MCP against
//! the rmcp-model floor is rmcp's per-request handling and the SDK's together, the rmcp-service
//! floor against the rmcp-model floor is rmcp's alone, and MCP against the rmcp-service floor
//! is the SDK's alone (the edge, the dispatcher, the guards).
//!
//! Every measurement first sends half a second of uncounted load (new connections, first
//! pages, cold caches), so the endpoint measured first pays nothing the others do not. Runs on
//! a shared 2-core machine swing by ±10 %, so the ratios that matter most are also measured
//! paired: MCP and the two rmcp floors run in turn for six rounds (each order of the three once),
//! with the median of the rounds' ratios.
//!
//! `BENCH_ONLY=<endpoint>` loads one endpoint alone, for a profiler; `BENCH_LOG=info` installs
//! the SDK's logging at that level (to compare per-call CPU with logging on and off).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adcp_server::{
    AdcpServer, CallContext, DiscoveryResult, HttpConfig, Outcome, SalesPlatform, WebhookDelivery,
};
use adcp_types::AdcpError;
use adcp_types::generated::{GetProductsRequest, GetProductsResponse};
use adcp_webhooks::signing::{SignatureAlgorithm, WebhookSigner, WebhookSigningKey};
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{InMemoryConfig, InMemorySupervisor, SenderConfig, WebhookSender};
use axum::response::IntoResponse as _;
use rmcp::model::{
    CallToolResult, ClientJsonRpcMessage, ClientRequest, ContentBlock, JsonRpcMessage, RequestId,
    ServerJsonRpcMessage, ServerResult,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

mod rmcp_floor;

/// The allocator a seller's binary would choose; the library leaves the choice to the binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Products per response (`BENCH_PRODUCTS` overrides).
fn products() -> usize {
    std::env::var("BENCH_PRODUCTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
}
/// Whether validation is strict (`BENCH_NO_STRICT` turns it off), for the SDK and the floors.
fn strict() -> bool {
    std::env::var_os("BENCH_NO_STRICT").is_none()
}

const RUN: Duration = Duration::from_secs(3);
/// Load each measurement sends first, uncounted: new connections, the allocator's first pages
/// and the caches of an endpoint that has not run yet, so the endpoint measured first is not
/// the one that pays for them.
const WARMUP: Duration = Duration::from_millis(500);
/// The orders of the paired measurement's rounds (indices into MCP, the rmcp-service floor and
/// the rmcp-model floor): every permutation once, so each endpoint runs in each position, and
/// before each other endpoint, equally often.
const PAIRED_ORDERS: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];
/// How long each endpoint runs in a paired round.
const PAIRED_RUN: Duration = Duration::from_secs(2);

fn product(i: usize) -> Value {
    json!({
        "product_id": format!("p{i}"), "name": format!("Product {i}"), "description": "Bench inventory.",
        "publisher_properties": [{ "publisher_domain": "news.example", "selection_type": "all" }],
        "delivery_type": "non_guaranteed",
        "format_ids": [{ "agent_url": "https://creative.adcontextprotocol.org/", "id": "display_300x250" }],
        "pricing_options": [{ "pricing_option_id": "cpm", "pricing_model": "cpm", "currency": "USD", "fixed_price": 5.0 }],
        "reporting_capabilities": {
            "available_reporting_frequencies": ["daily"], "expected_delay_minutes": 60, "timezone": "UTC",
            "supports_webhooks": false, "available_metrics": ["impressions"], "date_range_support": "date_range"
        }
    })
}

/// A seller answering from a fixed catalog; brief requests with a push config hand off.
struct BenchSeller {
    response: GetProductsResponse,
}

#[async_trait::async_trait]
impl SalesPlatform for BenchSeller {
    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        let response = self.response.clone();
        if request.push_notification_config.is_none() {
            return Ok(Outcome::Completed(response));
        }
        Ok(ctx
            .handoff_to_task(move |_| async move { Ok::<_, AdcpError>(response) })
            .into())
    }
}

#[derive(serde::Serialize)]
struct Load {
    concurrency: usize,
    requests: u64,
    requests_per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

async fn load(
    url: &str,
    body: &'static str,
    token: Option<&'static str>,
    concurrency: usize,
) -> BenchResult<Load> {
    load_for(url, body, token, concurrency, RUN).await
}

async fn load_for(
    url: &str,
    body: &'static str,
    token: Option<&'static str>,
    concurrency: usize,
    run: Duration,
) -> BenchResult<Load> {
    load_with(url, body, token, concurrency, run, false).await
}

/// Opens an MCP session (`initialize`, then `notifications/initialized`); returns its id.
async fn open_session(client: &reqwest::Client, url: &str) -> BenchResult<String> {
    let initialize = json!({ "jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": { "name": "bench", "version": "1" } } });
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(initialize.to_string())
        .send()
        .await?;
    let id = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .ok_or("no mcp-session-id on initialize")?
        .to_owned();
    response.bytes().await?;
    client
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &id)
        .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .send()
        .await?
        .bytes()
        .await?;
    Ok(id)
}

/// Checks that a reply (JSON, or the `data:` line of an SSE event) is a JSON-RPC `result`
/// that is not a tool error and holds no AdCP error anywhere.
fn check_reply(bytes: &[u8]) -> BenchResult<()> {
    let text = std::str::from_utf8(bytes)?;
    let json = text
        .lines()
        .filter_map(|line| line.strip_prefix("data:").map(str::trim))
        .find(|data| data.starts_with('{'))
        .unwrap_or(text);
    let reply: Value = serde_json::from_str(json)?;
    let failed = reply.get("result").is_none_or(|result| {
        result.get("isError") == Some(&Value::Bool(true)) || json.contains("adcp_error")
    });
    if failed {
        return Err(format!("not a successful reply: {json:.300}").into());
    }
    Ok(())
}

/// `concurrency` keep-alive clients posting `body` for `run`; with `session`, each client
/// opens an MCP session first and sends every call in it.
async fn load_with(
    url: &str,
    body: &'static str,
    token: Option<&'static str>,
    concurrency: usize,
    run: Duration,
    session: bool,
) -> BenchResult<Load> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let count = Arc::new(AtomicU64::new(0));
    let mut sessions = Vec::new();
    for _ in 0..concurrency {
        sessions.push(if session {
            Some(open_session(&client, url).await?)
        } else {
            None
        });
    }
    // Calls that start before `started` warm the endpoint up and are not counted.
    let started = Instant::now() + WARMUP;
    let ends = started + run;
    let mut workers = Vec::new();
    for session in sessions {
        let (client, url, count) = (client.clone(), url.to_owned(), Arc::clone(&count));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut checked = 0_u64;
            while Instant::now() < ends {
                let at = Instant::now();
                let mut request = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .body(body);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some(session) = &session {
                    request = request.header("mcp-session-id", session);
                }
                let response = request.send().await?;
                let ok = response.status().is_success();
                let bytes = response.bytes().await?;
                if !ok || bytes.is_empty() {
                    return Err(format!("bad response: {}", String::from_utf8_lossy(&bytes)).into());
                }
                // Every 100th reply (the first included) is read whole: a successful result,
                // not a fast error.
                if checked.is_multiple_of(100) {
                    check_reply(&bytes)?;
                }
                checked += 1;
                if at >= started {
                    latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(latencies)
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let requests = count.load(Ordering::Relaxed);
    #[allow(clippy::cast_precision_loss)]
    Ok(Load {
        concurrency,
        requests,
        requests_per_sec: requests as f64 / elapsed,
        p50_ms: percentile(&all, 0.5),
        p99_ms: percentile(&all, 0.99),
    })
}

async fn receiver() -> BenchResult<(String, mpsc::UnboundedReceiver<Instant>)> {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Instant::now());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let url = spawn_loopback(app, "/hook").await?;
    Ok((url, rx))
}

/// The arguments of every benchmarked `get_products` call.
fn bench_arguments() -> Value {
    json!({ "buying_mode": "wholesale", "context": { "correlation_id": "bench" } })
}

/// The `get_products` call as an MCP buyer sends it (`tools/call`) and as an A2A buyer sends it
/// (A2A 1.0 `SendMessage` with a DataPart), each leaked once for the load loops.
fn request_bodies() -> (&'static str, &'static str) {
    let arguments = bench_arguments();
    let mcp = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                      "params": { "name": "get_products", "arguments": arguments } });
    let a2a = json!({ "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
                      "params": { "message": { "messageId": "bench", "role": "ROLE_USER", "parts": [
                          { "data": { "skill": "get_products", "parameters": arguments } }
                      ] } } });
    (
        Box::leak(mcp.to_string().into_boxed_str()),
        Box::leak(a2a.to_string().into_boxed_str()),
    )
}

#[tokio::main]
async fn main() -> BenchResult<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // `BENCH_LOG=info` logs as the demo seller does at its default level (to stderr).
    if let Ok(level) = std::env::var("BENCH_LOG") {
        adcp_server::logging::init(&level, &[])?;
    }
    let response: GetProductsResponse = serde_json::from_value(
        json!({ "products": (0..products()).map(product).collect::<Vec<_>>() }),
    )?;
    let sender = WebhookSender::new(
        SenderConfig {
            policy: SsrfPolicy::strict().allow_loopback(),
            ..SenderConfig::default()
        },
        Some(WebhookSigner::new(WebhookSigningKey::generate(
            "bench",
            SignatureAlgorithm::Ed25519,
        ))),
    )?;
    let supervisor = InMemorySupervisor::start(sender, InMemoryConfig::default());
    let floor_response = response.clone();
    let server = AdcpServer::builder()
        .sales(BenchSeller { response })
        .strict(strict())
        .webhooks(WebhookDelivery::Supervisor(Arc::new(supervisor)))
        .allow_insecure_webhook_host("127.0.0.1")
        .build()?;
    let (call, a2a_call) = request_bodies();
    let (urls, response_bytes) = start_endpoints(&server, floor_response.clone(), call).await?;
    let floor_breakdown = floor_breakdown(&floor_response)?;

    // The dispatcher alone (no HTTP, no MCP framing): decode, guards, platform, envelope,
    // strict validation.
    let arguments = bench_arguments();
    let calls = 20_000_u32;
    let at = Instant::now();
    for _ in 0..calls {
        let reply = server
            .call_tool("get_products", arguments.clone(), None)
            .await;
        if reply.is_error {
            return Err(format!("dispatch failed: {}", reply.body).into());
        }
    }
    let dispatch_us = at.elapsed().as_secs_f64() * 1e6 / f64::from(calls);

    if let Ok(only) = std::env::var("BENCH_ONLY") {
        return profile_only(&only, &urls, call, a2a_call, dispatch_us, floor_breakdown).await;
    }
    let mut runs = Vec::new();
    for concurrency in [1, 16] {
        runs.push(measure(&urls, call, a2a_call, concurrency).await?);
    }

    let paired = paired_with_rmcp_floors(&urls, call).await?;
    let latencies = handoff_latencies(&urls.mcp).await?;
    let report = json!({
        "benchmark": format!(
            "adcp-server get_products ({} products) over MCP (stateless and in session mode) and A2A (SendMessage), strict validation {}, vs bare axum and the mandated-work floors",
            products(),
            if strict() { "on" } else { "off" },
        ),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "products_per_response": products(),
        "strict_validation": strict(),
        "dispatch_only_us_per_call": dispatch_us,
        "floor_work_us_per_call": floor_breakdown,
        "response_bytes": response_bytes,
        "seconds_per_run": RUN.as_secs(),
        "runs": runs,
        "mcp_paired_with_rmcp_floors": paired,
        "handoff_to_terminal_webhook_ms": { "samples": latencies.len(), "p50": percentile(&latencies, 0.5), "p95": percentile(&latencies, 0.95), "max": percentile(&latencies, 1.0) },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Where each endpoint under test listens.
struct Endpoints {
    /// The SDK over MCP, stateless (as replicas behind a load balancer run).
    mcp: String,
    /// The SDK over MCP in session mode (each client calls within its own session).
    mcp_session: String,
    /// The SDK over A2A.
    a2a: String,
    /// Plain axum answering the MCP reply's bytes.
    bare: String,
    /// Plain axum doing the mandated work, answering as MCP does (the body twice).
    floor: String,
    /// Plain axum doing the mandated work, answering as A2A does (the body once).
    a2a_floor: String,
    /// The mandated work through rmcp's model types (no rmcp service), behind the SDK's accept
    /// loop as MCP is.
    mcp_model_floor: String,
    /// The same behind plain axum's accept loop (no header-read timeout, no connection cap).
    mcp_model_floor_plain: String,
    /// The mandated work inside a bare rmcp service, behind the SDK's accept loop.
    rmcp_floor: String,
    /// The floor behind the SDK's accept loop (timeouts, connection cap).
    floor_sdk: String,
    /// The SDK's dispatcher behind plain axum, answering like the floor.
    dispatch: String,
}

/// Serves every endpoint on its own loopback port; returns them and the MCP reply's size.
async fn start_endpoints(
    server: &AdcpServer,
    floor_response: GetProductsResponse,
    call: &'static str,
) -> BenchResult<(Endpoints, usize)> {
    let stateless = HttpConfig {
        sessions: false,
        ..HttpConfig::default()
    };
    let (mcp, a2a) = serve_sdk(adcp_server::router(server, stateless), &["/mcp", "/a2a"]).await?;
    let (mcp_session, _) = serve_sdk(
        adcp_server::router(server, HttpConfig::default()),
        &["/mcp"],
    )
    .await?;
    let (floor_sdk, _) = serve_sdk(
        floor_router(floor_response.clone(), Framing::Mcp)?,
        &["/floor"],
    )
    .await?;
    let (mcp_model_floor, _) = serve_sdk(
        floor_router(floor_response.clone(), Framing::McpModel)?,
        &["/mcp-model-floor"],
    )
    .await?;
    let work = Arc::new(FloorWork::new(floor_response.clone())?);
    let (rmcp_floor, _) =
        serve_sdk(rmcp_floor::router(work, "/rmcp-floor"), &["/rmcp-floor"]).await?;
    // The bare endpoint answers with exactly the bytes the MCP endpoint answers with.
    let sample = reqwest::Client::new()
        .post(&mcp)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(call)
        .send()
        .await?
        .bytes()
        .await?;
    let response_bytes = sample.len();
    let urls = Endpoints {
        mcp,
        mcp_session,
        a2a: a2a.ok_or("the stateless router serves no /a2a")?,
        bare: serve_bare(sample).await?,
        floor: spawn_loopback(
            floor_router(floor_response.clone(), Framing::Mcp)?,
            "/floor",
        )
        .await?,
        mcp_model_floor,
        rmcp_floor,
        mcp_model_floor_plain: spawn_loopback(
            floor_router(floor_response.clone(), Framing::McpModel)?,
            "/mcp-model-floor",
        )
        .await?,
        a2a_floor: spawn_loopback(floor_router(floor_response, Framing::A2a)?, "/a2a-floor")
            .await?,
        floor_sdk,
        dispatch: spawn_loopback(dispatch_router(server.clone()), "/dispatch").await?,
    };
    Ok((urls, response_bytes))
}

/// Serves `router` with the SDK's accept loop on a free loopback port; returns the URL of the
/// first path and, if given, of the second.
async fn serve_sdk(router: axum::Router, paths: &[&str]) -> BenchResult<(String, Option<String>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(adcp_server::serve(listener, router, std::future::pending()));
    let first = format!("{base}{}", paths.first().copied().unwrap_or_default());
    Ok((first, paths.get(1).map(|path| format!("{base}{path}"))))
}

/// MCP, the rmcp-service floor and the rmcp-model floor at concurrency 16, one round per order
/// in [`PAIRED_ORDERS`] (every order once, so a drift over the run favours none of them): each
/// round's runs share the machine's conditions, so the median of the rounds' ratios is steadier
/// than one ratio from runs seconds apart (runs here swing by ±10 %).
async fn paired_with_rmcp_floors(urls: &Endpoints, call: &'static str) -> BenchResult<Value> {
    let endpoints = [&urls.mcp, &urls.rmcp_floor, &urls.mcp_model_floor];
    let mut rounds = Vec::new();
    let mut ratios: [Vec<f64>; 3] = Default::default();
    for order in PAIRED_ORDERS {
        let mut per_sec = [0.0_f64; 3];
        for which in order {
            let run = load_with(endpoints[which], call, None, 16, PAIRED_RUN, false).await?;
            per_sec[which] = run.requests_per_sec;
        }
        let [mcp, rmcp, model] = per_sec;
        for (series, ratio) in ratios
            .iter_mut()
            .zip([mcp / model, mcp / rmcp, rmcp / model])
        {
            series.push(ratio);
        }
        let names = order.map(|which| ["mcp", "rmcp_floor", "mcp_model_floor"][which]);
        rounds.push(json!({
            "order": names,
            "mcp_per_sec": mcp,
            "rmcp_floor_per_sec": rmcp,
            "mcp_model_floor_per_sec": model,
            "mcp_vs_mcp_model_floor": mcp / model,
        }));
    }
    let [vs_model, vs_rmcp, rmcp_vs_model] = ratios.map(median);
    Ok(json!({
        "concurrency": 16,
        "seconds_per_run": PAIRED_RUN.as_secs(),
        "rounds": rounds,
        "median_ratio": vs_model,
        "mcp_vs_rmcp_floor_median_ratio": vs_rmcp,
        "rmcp_floor_vs_mcp_model_floor_median_ratio": rmcp_vs_model,
    }))
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => 0.0,
        len if len % 2 == 0 => f64::midpoint(values[middle - 1], values[middle]),
        _ => values[middle],
    }
}

/// Every endpoint in turn at `concurrency`, with the ratios that matter.
async fn measure(
    urls: &Endpoints,
    call: &'static str,
    a2a_call: &'static str,
    concurrency: usize,
) -> BenchResult<Value> {
    let mcp = load(&urls.mcp, call, None, concurrency).await?;
    let mcp_session = load_with(&urls.mcp_session, call, None, concurrency, RUN, true).await?;
    let a2a = load(&urls.a2a, a2a_call, None, concurrency).await?;
    let bare = load(&urls.bare, call, None, concurrency).await?;
    let floor = load(&urls.floor, call, None, concurrency).await?;
    let a2a_floor = load(&urls.a2a_floor, a2a_call, None, concurrency).await?;
    let floor_sdk = load(&urls.floor_sdk, call, None, concurrency).await?;
    let mcp_model_floor = load(&urls.mcp_model_floor, call, None, concurrency).await?;
    let mcp_model_floor_plain = load(&urls.mcp_model_floor_plain, call, None, concurrency).await?;
    let rmcp_floor = load(&urls.rmcp_floor, call, None, concurrency).await?;
    let dispatch = load(&urls.dispatch, call, None, concurrency).await?;
    let vs_floor = |load: &Load| load.requests_per_sec / floor.requests_per_sec;
    Ok(json!({
        "concurrency": concurrency,
        "mcp_get_products": mcp,
        "mcp_session_get_products": mcp_session,
        "a2a_get_products": a2a,
        "bare_axum": bare,
        "mandated_work_floor": floor,
        "a2a_mandated_work_floor": a2a_floor,
        "floor_on_sdk_listener": floor_sdk,
        "mcp_model_floor": mcp_model_floor,
        "mcp_model_floor_plain_axum": mcp_model_floor_plain,
        "rmcp_service_floor": rmcp_floor,
        "dispatcher_without_mcp": dispatch,
        "floor_vs_bare_throughput": floor.requests_per_sec / bare.requests_per_sec,
        "mcp_vs_floor_throughput": vs_floor(&mcp),
        "mcp_vs_mcp_model_floor_throughput": mcp.requests_per_sec / mcp_model_floor.requests_per_sec,
        "mcp_vs_rmcp_floor_throughput": mcp.requests_per_sec / rmcp_floor.requests_per_sec,
        "rmcp_floor_vs_mcp_model_floor_throughput": rmcp_floor.requests_per_sec / mcp_model_floor.requests_per_sec,
        "mcp_model_floor_vs_floor_throughput": vs_floor(&mcp_model_floor),
        "mcp_session_vs_floor_throughput": vs_floor(&mcp_session),
        "a2a_vs_a2a_floor_throughput": a2a.requests_per_sec / a2a_floor.requests_per_sec,
        "dispatcher_vs_floor_throughput": vs_floor(&dispatch),
    }))
}

/// `BENCH_ONLY=mcp|mcp-session|a2a|dispatch|floor|floor-sdk|mcp-model-floor|mcp-model-floor-plain|rmcp-floor|a2a-floor`: that endpoint alone at concurrency 16 for
/// `BENCH_SECONDS` (default 10), for a profiler attached to this process.
async fn profile_only(
    only: &str,
    urls: &Endpoints,
    call: &'static str,
    a2a_call: &'static str,
    dispatch_us: f64,
    floor_work: Value,
) -> BenchResult<()> {
    let (url, body) = match only {
        "mcp" | "mcp-session" => (&urls.mcp, call),
        "a2a" => (&urls.a2a, a2a_call),
        "dispatch" => (&urls.dispatch, call),
        "floor" => (&urls.floor, call),
        "floor-sdk" => (&urls.floor_sdk, call),
        "mcp-model-floor" => (&urls.mcp_model_floor, call),
        "mcp-model-floor-plain" => (&urls.mcp_model_floor_plain, call),
        "rmcp-floor" => (&urls.rmcp_floor, call),
        "a2a-floor" => (&urls.a2a_floor, a2a_call),
        other => return Err(format!("BENCH_ONLY={other}: not an endpoint").into()),
    };
    let session = only == "mcp-session";
    let url = if session { &urls.mcp_session } else { url };
    let seconds = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let result = load_with(url, body, None, 16, Duration::from_secs(seconds), session).await?;
    let report = json!({
        "load": result,
        "dispatch_only_us_per_call": dispatch_us,
        "floor_work_us_per_call": floor_work,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// Serves `app` on a free loopback port; returns the URL of `path` on it.
async fn spawn_loopback(app: axum::Router, path: &str) -> BenchResult<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}{path}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// Serves the bare endpoint: answers every POST with `bytes`.
async fn serve_bare(bytes: axum::body::Bytes) -> BenchResult<String> {
    let bare = axum::Router::new().route(
        "/bare",
        axum::routing::post(move |_body: axum::body::Bytes| {
            let bytes = bytes.clone();
            async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    bytes,
                )
            }
        }),
    );
    let url = spawn_loopback(bare, "/bare").await?;
    Ok(url)
}

/// How a floor endpoint frames its reply: as MCP's `tools/call` result (the body twice), the
/// same through rmcp's model types (what any server built on rmcp must do: the request decoded
/// into `ClientJsonRpcMessage`, the reply a `CallToolResult` whose `structuredContent` is a JSON
/// tree rmcp serialises beside the text item), or as A2A's `SendMessage` result (the body once,
/// as a task artifact's data part).
#[derive(Clone, Copy)]
enum Framing {
    Mcp,
    McpModel,
    A2a,
}

impl Framing {
    /// The floor endpoint's path.
    fn path(self) -> &'static str {
        match self {
            Self::Mcp => "/floor",
            Self::McpModel => "/mcp-model-floor",
            Self::A2a => "/a2a-floor",
        }
    }

    /// Where the tool's arguments sit in the request.
    fn arguments_pointer(self) -> &'static str {
        match self {
            Self::Mcp | Self::McpModel => "/params/arguments",
            Self::A2a => "/params/message/parts/0/data/parameters",
        }
    }
}

/// A floor endpoint's router: per request, the floor's work ([`FloorWork`]) and the least reply
/// `framing` allows.
fn floor_router(response: GetProductsResponse, framing: Framing) -> BenchResult<axum::Router> {
    let work = Arc::new(FloorWork::new(response)?);
    let tasks = Arc::new(AtomicU64::new(0));
    let path = framing.path();
    Ok(axum::Router::new().route(
        path,
        axum::routing::post(move |request: axum::body::Bytes| {
            let work = Arc::clone(&work);
            let task = tasks.fetch_add(1, Ordering::Relaxed);
            async move {
                let (request, mut typed): (Value, _) = match framing {
                    Framing::McpModel => (
                        Value::Null,
                        serde_json::from_slice::<ClientJsonRpcMessage>(&request).ok(),
                    ),
                    Framing::Mcp | Framing::A2a => {
                        (serde_json::from_slice(&request).unwrap_or_default(), None)
                    }
                };
                let typed_arguments = typed.as_mut().and_then(take_arguments);
                let arguments = match framing {
                    Framing::McpModel => typed_arguments.as_ref(),
                    Framing::Mcp | Framing::A2a => request.pointer(framing.arguments_pointer()),
                };
                let (body, valid) = work.reply(arguments);
                let status = if valid {
                    axum::http::StatusCode::OK
                } else {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                };
                match framing {
                    Framing::Mcp => (status, rpc_reply(&request, &body, false)).into_response(),
                    Framing::McpModel => (status, rmcp_reply(typed, body)).into_response(),
                    Framing::A2a => (status, a2a_reply(&request, body, task)).into_response(),
                }
            }
        }),
    ))
}

/// The work the protocol mandates for one `get_products` reply, whatever carries it: strict
/// validation of the arguments (a buyer's bad input must come back as `INVALID_REQUEST` naming
/// the field), the platform's copy of the catalog, serialising it, the envelope fields, and
/// strict validation of the reply. `BENCH_NO_STRICT` skips both validations.
struct FloorWork {
    response: GetProductsResponse,
    schemas: &'static adcp_types::validate::SchemaSet,
    strict: bool,
}

impl FloorWork {
    fn new(response: GetProductsResponse) -> BenchResult<Self> {
        Ok(Self {
            response,
            schemas: adcp_types::validate::SchemaSet::load_default()?,
            strict: strict(),
        })
    }

    /// The reply body for a call with `arguments`, and whether both validations passed.
    fn reply(&self, arguments: Option<&Value>) -> (Value, bool) {
        let arguments_valid = !self.strict
            || arguments.is_some_and(|a| self.schemas.validate_request("get_products", a).is_ok());
        let mut body = serde_json::to_value(self.response.clone()).unwrap_or_default();
        add_envelope(&mut body, arguments);
        let valid = arguments_valid
            && (!self.strict
                || self
                    .schemas
                    .validate_response("get_products", &body)
                    .is_ok());
        (body, valid)
    }
}

/// The envelope fields a completed `get_products` reply carries: `status`, `cache_scope`, the
/// buyer's `context` from `arguments` (echoed), and `adcp_version`.
fn add_envelope(body: &mut Value, arguments: Option<&Value>) {
    if let Some(map) = body.as_object_mut() {
        map.insert("status".into(), json!("completed"));
        map.insert("cache_scope".into(), json!("public"));
        if let Some(context) = arguments.and_then(|a| a.get("context")) {
            map.insert("context".into(), context.clone());
        }
        map.insert("adcp_version".into(), json!(adcp_server::SERVED_VERSION));
    }
}

/// A `tools/call`'s arguments, moved out of the message rmcp decoded (as a handler receives
/// them).
fn take_arguments(message: &mut ClientJsonRpcMessage) -> Option<Value> {
    let JsonRpcMessage::Request(request) = message else {
        return None;
    };
    let ClientRequest::CallToolRequest(call) = &mut request.request else {
        return None;
    };
    call.params.arguments.take().map(Value::Object)
}

/// A `tools/call` result built and serialised with rmcp's model, as `McpHandler` builds it: the
/// body serialised once for the text item, and the tree itself as `structuredContent`.
fn rmcp_reply(
    request: Option<ClientJsonRpcMessage>,
    body: Value,
) -> ([(axum::http::HeaderName, &'static str); 1], Vec<u8>) {
    let id = match request {
        Some(JsonRpcMessage::Request(request)) => request.id,
        _ => RequestId::Number(0),
    };
    let text = serde_json::to_string(&body).unwrap_or_default();
    let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
    result.structured_content = Some(body);
    let reply = ServerJsonRpcMessage::response(ServerResult::CallToolResult(result), id);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&reply).unwrap_or_default(),
    )
}

/// An A2A 1.0 `SendMessage` result: a completed task whose artifact carries `body` once
/// (moved into the reply: `json!` would copy it).
fn a2a_reply(
    request: &Value,
    body: Value,
    task: u64,
) -> ([(axum::http::HeaderName, &'static str); 1], Vec<u8>) {
    let object = |members: Vec<(&str, Value)>| {
        Value::Object(
            members
                .into_iter()
                .map(|(key, value)| (key.to_owned(), value))
                .collect(),
        )
    };
    let artifact = object(vec![
        ("artifactId", Value::String(format!("result-{task}"))),
        ("name", json!("result")),
        ("parts", Value::Array(vec![object(vec![("data", body)])])),
    ]);
    let task = object(vec![
        ("id", Value::String(format!("task-{task}"))),
        ("contextId", Value::String(format!("ctx-{task}"))),
        ("status", json!({ "state": "TASK_STATE_COMPLETED" })),
        ("artifacts", Value::Array(vec![artifact])),
    ]);
    let reply = object(vec![
        ("jsonrpc", json!("2.0")),
        ("id", request.get("id").cloned().unwrap_or(Value::Null)),
        ("result", object(vec![("task", task)])),
    ]);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&reply).unwrap_or_default(),
    )
}

/// A JSON-RPC `tools/call` result carrying `body` twice: serialised once, written as
/// `structuredContent` and escaped as the text item.
fn rpc_reply(
    request: &Value,
    body: &Value,
    is_error: bool,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let text = serde_json::to_string(body).unwrap_or_default();
    let escaped = serde_json::to_string(&text).unwrap_or_default();
    let id = request
        .get("id")
        .map_or_else(|| "null".to_owned(), Value::to_string);
    let reply = format!(
        r#"{{"jsonrpc":"2.0","id":{id},"result":{{"content":[{{"type":"text","text":{escaped}}}],"structuredContent":{text},"isError":{is_error}}}}}"#
    );
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        reply,
    )
}

/// The SDK's dispatcher (decode, guards, platform, envelope, strict validation of request and
/// reply) behind plain axum, answering like the floor: the framework's cost without MCP.
fn dispatch_router(server: AdcpServer) -> axum::Router {
    axum::Router::new().route(
        "/dispatch",
        axum::routing::post(move |request: axum::body::Bytes| {
            let server = server.clone();
            async move {
                let request: Value = serde_json::from_slice(&request).unwrap_or_default();
                let arguments = request
                    .pointer("/params/arguments")
                    .cloned()
                    .unwrap_or_default();
                let reply = server.call_tool("get_products", arguments, None).await;
                let status = if reply.is_error {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                };
                (status, rpc_reply(&request, &reply.body, reply.is_error))
            }
        }),
    )
}

/// The floor's mandated work, stage by stage, in µs per call (single-threaded, no HTTP): what
/// any server answering this call spends before it writes a byte (the two validations only in
/// strict mode).
fn floor_breakdown(response: &GetProductsResponse) -> BenchResult<Value> {
    let schemas = adcp_types::validate::SchemaSet::load_default()?;
    let calls = 2_000_u32;
    let mut stages = [std::time::Duration::ZERO; 6];
    let arguments = bench_arguments();
    let strict = strict();
    for _ in 0..calls {
        let at = Instant::now();
        if strict {
            schemas
                .validate_request("get_products", &arguments)
                .map_err(|issues| format!("the bench request is invalid: {issues:?}"))?;
        }
        stages[5] += at.elapsed();
        let at = Instant::now();
        let copy = response.clone();
        stages[0] += at.elapsed();
        let at = Instant::now();
        let mut body = serde_json::to_value(copy)?;
        add_envelope(&mut body, Some(&arguments));
        stages[1] += at.elapsed();
        let at = Instant::now();
        if strict {
            schemas
                .validate_response("get_products", &body)
                .map_err(|issues| format!("the bench reply is invalid: {issues:?}"))?;
        }
        stages[2] += at.elapsed();
        let at = Instant::now();
        let text = serde_json::to_string(&body)?;
        let escaped = serde_json::to_string(&text)?;
        stages[3] += at.elapsed();
        let at = Instant::now();
        drop((body, text, escaped));
        stages[4] += at.elapsed();
    }
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / f64::from(calls);
    Ok(json!({
        "validate_request": us(stages[5]),
        "platform_clone": us(stages[0]),
        "to_value": us(stages[1]),
        "validate_response": us(stages[2]),
        "serialise_and_escape": us(stages[3]),
        "free": us(stages[4]),
        "total": us(stages.iter().sum()),
    }))
}

/// Handoff → terminal webhook latency: 100 sequential brief calls with a push config, each
/// timed from the request to the webhook's arrival at a loopback receiver. Sorted.
async fn handoff_latencies(mcp_url: &str) -> BenchResult<Vec<f64>> {
    let (hook_url, mut arrivals) = receiver().await?;
    let client = reqwest::Client::new();
    let mut latencies = Vec::new();
    for i in 0..100 {
        let body = json!({ "jsonrpc": "2.0", "id": i, "method": "tools/call",
            "params": { "name": "get_products", "arguments": {
                "buying_mode": "brief", "brief": "bench", "account": { "account_id": "acc_bench" },
                "push_notification_config": { "url": hook_url, "operation_id": format!("op-{i}") } } } });
        let at = Instant::now();
        let reply: Value = client
            .post(mcp_url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(body.to_string())
            .send()
            .await?
            .json()
            .await?;
        if reply
            .pointer("/result/structuredContent/status")
            .and_then(Value::as_str)
            != Some("submitted")
        {
            return Err(format!("expected a submitted arm, got {reply}").into());
        }
        let arrived = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
            .await?
            .ok_or("receiver closed")?;
        latencies.push(arrived.duration_since(at).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}
