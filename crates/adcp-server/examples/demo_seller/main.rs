//! The demo seller: a sales + signals AdCP agent on MCP, with in-memory stores by default and
//! PostgreSQL with `--database-url` (feature `postgres`).
//!
//! ```text
//! cargo run --release -p adcp-server --example demo_seller            # http://127.0.0.1:3001/mcp
//! cargo run --release -p adcp-server --features postgres --example demo_seller -- \
//!     --database-url postgres://...
//! ```
//!
//! Callers authenticate with a compliance test-kit key, e.g. `Authorization: Bearer
//! demo-acme-outdoor-v1` (sandbox); `demo-acme-outdoor-live-v1` is a live-mode principal.
//! Discovery with a `push_notification_config` hands off to a short simulated curation, so a
//! buyer sees the whole async path: `submitted`, polling, and the signed terminal webhook.

mod access;
mod buyer_data;
mod catalog;
mod delivery;
mod fixtures;
mod sales;
mod signals;
mod update;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use adcp_server::{
    AdcpServer, AdcpServerBuilder, ConnectionLimits, HttpConfig, SessionLimits, StopPolicy,
    WebhookDelivery,
};
use adcp_types::Specialism;
use adcp_webhooks::signing::{SignatureAlgorithm, WebhookSigner, WebhookSigningKey};
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{InMemoryConfig, InMemorySupervisor, SenderConfig, WebhookSender};
use clap::Parser;
use serde_json::json;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(about = "An AdCP demo seller (sales + signals) served over MCP")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3001")]
    addr: SocketAddr,
    /// PostgreSQL URL: tasks, the webhook outbox and idempotency keys go to PostgreSQL.
    #[arg(long, env = "DATABASE_URL")]
    database_url: Option<String>,
    /// The URL buyers reach this agent at (brand.json links; `identity.brand_json_url` when
    /// HTTPS).
    #[arg(long)]
    public_url: Option<String>,
    /// How long the simulated curation of a handed-off task takes, in milliseconds.
    #[arg(long, default_value_t = 1500)]
    curation_ms: u64,
    /// Serve without authentication (every caller is anonymous and has no account).
    #[arg(long)]
    no_auth: bool,
    /// Serve MCP statelessly (no `initialize` session; suits replicas behind a balancer).
    #[arg(long)]
    stateless: bool,
    /// The most connections served at once (past it: 503 with an AdCP error).
    #[arg(long, default_value_t = 768)]
    max_connections: usize,
    /// Seconds a connection may take to send a request head (and may idle between requests).
    #[arg(long, default_value_t = 10)]
    header_read_timeout_secs: u64,
    /// The most MCP sessions held at once.
    #[arg(long, default_value_t = 1_000)]
    max_sessions: usize,
    /// The most MCP sessions one principal holds at once.
    #[arg(long, default_value_t = 16)]
    max_sessions_per_principal: usize,
    /// On SIGTERM, how long running tasks may take before they fail as retryable (ms).
    #[arg(long, default_value_t = 20_000)]
    task_deadline_ms: u64,
}

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// mimalloc: the dispatcher builds and drops many small JSON nodes per call, which the
/// system allocator serves markedly slower (measured in `cargo xtask bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the demo declares beyond what the server derives from its platforms.
fn capabilities() -> serde_json::Value {
    json!({
        "account": { "supported_billing": ["operator", "agent"] },
        "media_buy": {},
        "signals": {}
    })
}

/// The demo's platforms and server options (the catalog, media buys and delivery ledger are
/// shared by the sales side and the sandbox fixtures).
fn demo_platforms(public_url: &str, curation: Duration) -> AdcpServerBuilder {
    let catalog = Arc::new(catalog::Catalog::new());
    let media_buys: sales::MediaBuys = Arc::default();
    let deliveries = Arc::new(delivery::DeliveryLedger::default());
    let registries = Arc::new(buyer_data::Registries::default());
    AdcpServer::builder()
        .sales(sales::DemoSales {
            catalog: Arc::clone(&catalog),
            media_buys: Arc::clone(&media_buys),
            deliveries: Arc::clone(&deliveries),
            registries: Arc::clone(&registries),
            curation,
        })
        .buyer_data(buyer_data::DemoBuyerData { registries })
        .signals(signals::DemoSignals {
            curation,
            agent_url: format!("{public_url}/mcp"),
        })
        .tool("list_creatives", fixtures::DemoCreatives)
        .sandbox_fixtures(fixtures::DemoFixtures {
            catalog,
            media_buys,
            deliveries,
        })
        .specialism(Specialism::SalesNonGuaranteed)
        .specialism(Specialism::SignalOwned)
        .accounts(access::DemoAccounts)
        .strict(true)
        .auto_paginate(true)
        .agent_name("adcp-rs demo seller")
        .allow_insecure_webhook_host("127.0.0.1")
        .allow_insecure_webhook_host("localhost")
        .capabilities(capabilities())
}

#[tokio::main]
async fn main() -> DemoResult<()> {
    // Secret-safe whatever RUST_LOG says: dependencies that dump request payloads are capped.
    if let Err(error) = adcp_server::logging::init("info", &["demo_seller"]) {
        eprintln!("logging not installed: {error}");
    }
    let args = Args::parse();
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.addr));
    let curation = Duration::from_millis(args.curation_ms);
    let key = WebhookSigningKey::generate(
        format!("demo-{}", chrono::Utc::now().format("%Y%m%d%H%M%S")),
        SignatureAlgorithm::Ed25519,
    );
    let mut builder = demo_platforms(&public_url, curation)
        .publish_signing_key(&key)
        .public_url(public_url.clone());
    let sender = WebhookSender::new(
        SenderConfig {
            // Development: loopback receivers are allowed; production keeps the strict policy.
            policy: SsrfPolicy::strict().allow_loopback(),
            ..SenderConfig::default()
        },
        Some(WebhookSigner::new(key)),
    )?;
    if let Some(url) = &args.database_url {
        builder = with_postgres(builder, url, sender).await?;
    } else {
        let supervisor = InMemorySupervisor::start(sender, InMemoryConfig::default());
        builder = builder.webhooks(WebhookDelivery::Supervisor(Arc::new(supervisor)));
    }
    let server = builder.build()?;

    let mut http = HttpConfig {
        sessions: !args.stateless,
        connections: ConnectionLimits::default()
            .with_max_connections(args.max_connections)
            .with_header_read_timeout(Duration::from_secs(args.header_read_timeout_secs)),
        session_limits: SessionLimits::default()
            .with_max_sessions(args.max_sessions)
            .with_max_sessions_per_principal(args.max_sessions_per_principal),
        ..HttpConfig::default()
    };
    if !args.no_auth {
        http = http.with_authenticator(access::DemoKeys);
    }
    if let Some(host) = url_host(&public_url) {
        http.allowed_hosts.push(host);
    }
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let bound = listener.local_addr()?;
    println!("adcp-rs demo seller serving MCP at http://{bound}/mcp");
    println!("  tools: {}", server.tool_names().join(", "));
    println!(
        "  stores: {}",
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "in-memory"
        }
    );
    if !args.no_auth {
        println!("  auth: Authorization: Bearer demo-acme-outdoor-v1 (sandbox)");
    }
    // SIGTERM or Ctrl-C: refuse new work, keep answering task polling, finish (or fail as
    // retryable) running tasks, deliver their webhooks, then close the connections.
    let policy = StopPolicy::default().with_task_deadline(Duration::from_millis(args.task_deadline_ms));
    let report = adcp_server::run(listener, &server, http, &policy).await?;
    println!(
        "stopped: {} tasks finished, {} failed on shutdown, {} webhooks undelivered",
        report.tasks_finished, report.tasks_failed, report.webhooks_undelivered
    );
    Ok(())
}

fn url_host(url: &str) -> Option<String> {
    let rest = url.split("://").nth(1)?;
    Some(rest.split('/').next()?.to_owned())
}

#[cfg(feature = "postgres")]
async fn with_postgres(
    builder: adcp_server::AdcpServerBuilder,
    url: &str,
    sender: WebhookSender,
) -> DemoResult<adcp_server::AdcpServerBuilder> {
    use adcp_webhooks::outbox::{OutboxWorkerConfig, PgOutbox};
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await?;
    let outbox = PgOutbox::new(pool.clone());
    outbox.migrate().await?;
    let registry = adcp_tasks::pg::PgTaskRegistry::builder(pool.clone())
        .outbox(Arc::new(outbox.clone()))
        .build()?;
    registry.migrate().await?;
    let idempotency = adcp_server::idempotency::PgIdempotencyStore::new(pool);
    idempotency.migrate().await?;
    let purger = idempotency.clone();
    let worker = outbox.clone();
    Ok(builder
        .background_job("idempotency purge", move |stop| async move {
            let mut every = tokio::time::interval(Duration::from_hours(1));
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = every.tick() => {}
                }
                if let Err(error) = purger.purge_expired().await {
                    tracing::warn!(%error, "purging expired idempotency keys failed");
                }
            }
        })
        // Stopped by the server only after the last task settled, so the drain's webhooks go out.
        .background_job("webhook outbox worker", move |stop| async move {
            if let Err(error) = worker
                .run_worker(sender, OutboxWorkerConfig::default(), stop)
                .await
            {
                tracing::error!(%error, "outbox worker stopped");
            }
        })
        .task_registry(Arc::new(registry))
        .idempotency_store(Arc::new(idempotency))
        .webhooks(WebhookDelivery::Transactional))
}

/// Without the `postgres` feature: the same signature as the real one, always an error.
#[cfg(not(feature = "postgres"))]
#[allow(clippy::unused_async)]
async fn with_postgres(
    _builder: adcp_server::AdcpServerBuilder,
    _url: &str,
    _sender: WebhookSender,
) -> DemoResult<adcp_server::AdcpServerBuilder> {
    Err("--database-url needs the `postgres` feature: cargo run -p adcp-server --features postgres --example demo_seller".into())
}
