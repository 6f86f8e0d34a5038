//! The demo seller: the reference sales + signals AdCP agent on MCP and A2A that `cargo xtask
//! conformance` grades against the compliance storyboards (and `cargo xtask demo` and the fault
//! suite run), with in-memory stores by default and PostgreSQL with `--database-url` (feature
//! `postgres`).
//!
//! ```text
//! cargo run --release -p adcp-demo-seller --bin demo_seller   # 127.0.0.1:3001/mcp and /a2a
//! cargo run --release -p adcp-demo-seller --features postgres --bin demo_seller -- \
//!     --database-url postgres://...
//! ```
//!
//! Callers authenticate with a compliance test-kit key, e.g. `Authorization: Bearer
//! demo-acme-outdoor-v1` (sandbox); `demo-acme-outdoor-live-v1` is a live-mode principal.
//! Discovery with a `push_notification_config` hands off to a short simulated curation, so a
//! buyer sees the whole async path: `submitted`, polling, and the signed terminal webhook.

mod access;
mod accounts;
mod buyer_data;
mod buys;
mod catalog;
mod delivery;
mod fixtures;
mod reply;
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
use adcp_webhooks::retry::RetryPolicy;
use adcp_webhooks::signing::{SignatureAlgorithm, WebhookSigner, WebhookSigningKey};
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{
    BreakerPolicy, InMemoryConfig, InMemorySupervisor, SenderConfig, WebhookSender,
};
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
    /// The most MCP sessions open at once (active or dormant).
    #[arg(long, default_value_t = 10_000)]
    max_sessions: usize,
    /// The most MCP sessions one principal holds open at once.
    #[arg(long, default_value_t = 16)]
    max_sessions_per_principal: usize,
    /// The most MCP sessions holding a worker at once (the least recently used idle one goes
    /// dormant past it).
    #[arg(long, default_value_t = 1_000)]
    max_active_sessions: usize,
    /// Milliseconds an MCP session may sit unused before its worker is released (its next
    /// request restores it).
    #[arg(long, default_value_t = 15_000)]
    session_dormant_after_ms: u64,
    /// On SIGTERM, how long running tasks may take before they fail as retryable (ms).
    #[arg(long, default_value_t = 15_000)]
    task_deadline_ms: u64,
    /// How long a running task's claim lasts without a heartbeat (PostgreSQL): after it, a
    /// live replica fails the task of a dead one as retryable and sends its webhook (ms; the
    /// server's default, 30 s, when unset).
    #[arg(long)]
    task_lease_ms: Option<u64>,
    /// The webhook sender's whole-request timeout (ms).
    #[arg(long, default_value_t = 20_000)]
    webhook_timeout_ms: u64,
    /// The ceiling of the first webhook retry's delay; later ones double (ms).
    #[arg(long, default_value_t = 1_000)]
    webhook_retry_base_ms: u64,
    /// The largest ceiling of any webhook retry's delay (ms).
    #[arg(long, default_value_t = 3_600_000)]
    webhook_retry_max_ms: u64,
    /// How long a host's open circuit defers its webhooks before one probe (ms).
    #[arg(long, default_value_t = 30_000)]
    webhook_breaker_open_ms: u64,
    /// How long the PostgreSQL outbox worker's claim of a row is exclusive; a killed worker's
    /// rows are re-attempted after it. Must exceed the webhook timeout by more than a second (ms).
    #[arg(long, default_value_t = 60_000)]
    outbox_lease_ms: u64,
}

impl Args {
    /// The webhook retry backoff the flags ask for (the horizon stays the default 24 h).
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(self.webhook_retry_base_ms),
            max_delay: Duration::from_millis(self.webhook_retry_max_ms),
            ..RetryPolicy::default()
        }
    }

    /// The per-host circuit breaker the flags ask for.
    fn breaker_policy(&self) -> BreakerPolicy {
        BreakerPolicy {
            open_for: Duration::from_millis(self.webhook_breaker_open_ms),
            ..BreakerPolicy::default()
        }
    }
}

type DemoResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// mimalloc: the dispatcher builds and drops many small JSON nodes per call, which the
/// system allocator serves markedly slower (measured in `cargo xtask bench`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the demo declares beyond what the server derives from its platforms: a partial
/// document the server deep-merges over the derived one, so JSON rather than a whole
/// `get_adcp_capabilities` reply.
///
/// Each `media_buy` entry is a claim the demo serves, and the one that makes the matching
/// `sales-non-guaranteed` scenario apply (its `requires_capability`):
/// - `audience_targeting`: `sync_audiences` registers audiences (any size is matched, so the
///   minimum is one member) and buys may only target registered ones (`audience_buy_flow`);
/// - `supported_optimization_metrics`: clicks, completed views and reach goals are accepted
///   and delivery reports those metrics (`clicks_buy_flow`, `completed_views_buy_flow`,
///   `reach_buy_flow`);
/// - `conversion_tracking`: `sync_event_sources` and `log_event`; an `event_id` is counted
///   once across every source of the buyer (`event_dedup_flow`), conversions are split across
///   a package's creatives (`per_creative_conversion_attribution`), and every target kind is
///   computed from the logged conversions and their values (`performance_buy_flow`,
///   `performance_buy_flow_roas`);
/// - `frequency_capping`: delivery never exceeds the tightest per-individual cap
///   (`frequency_cap_enforcement`), so individuals is the one unit declared;
/// - `creative_approval_mode`: synced creatives pass review at once, nothing waits on a
///   person (`pending_creatives_to_start`).
fn capabilities() -> serde_json::Value {
    json!({
        "account": {
            "supported_billing": accounts::SUPPORTED_BILLING,
            // Sandbox accounts: every test-kit key provisions them through sync_accounts.
            "sandbox": true
        },
        "media_buy": {
            "audience_targeting": {
                "supported_identifier_types": ["hashed_email", "hashed_phone"],
                "minimum_audience_size": 1
            },
            "supported_optimization_metrics": ["clicks", "completed_views", "reach"],
            "conversion_tracking": {
                "multi_source_event_dedup": true,
                "per_creative_attribution": true,
                "supported_targets": ["cost_per", "per_ad_spend", "maximize_value"]
            },
            "frequency_capping": { "supported_per_units": ["individuals"] },
            "creative_approval_mode": "auto_approve"
        },
        // get_signals serves both: brief (semantic, may hand off) and wholesale (the whole
        // priced feed, synchronously).
        "signals": { "discovery_modes": ["brief", "wholesale"] }
    })
}

/// The demo's platforms and server options (the catalog, media buys and delivery ledger are
/// shared by the sales side and the sandbox fixtures). Fails only when a house product misses
/// a required field (the demo's bug).
fn demo_platforms(
    public_url: &str,
    curation: Duration,
) -> Result<AdcpServerBuilder, adcp_types::MissingField> {
    let catalog = Arc::new(catalog::Catalog::new()?);
    let media_buys: buys::MediaBuys = Arc::default();
    let deliveries = Arc::new(delivery::DeliveryLedger::default());
    let registries = Arc::new(buyer_data::Registries::default());
    let account_book = Arc::new(accounts::AccountBook::default());
    Ok(AdcpServer::builder()
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
        .account_tools(accounts::DemoAccountTools {
            book: Arc::clone(&account_book),
        })
        .sandbox_fixtures(accounts::WithAccountScenarios {
            inner: fixtures::DemoFixtures {
                catalog,
                media_buys,
                deliveries,
            },
            book: Arc::clone(&account_book),
        })
        .specialism(Specialism::SalesNonGuaranteed)
        .specialism(Specialism::SignalOwned)
        .accounts(access::DemoAccounts { book: account_book })
        .strict(true)
        .auto_paginate(true)
        .agent_name("adcp-rs demo seller")
        .allow_insecure_webhook_host("127.0.0.1")
        .allow_insecure_webhook_host("localhost")
        .capabilities(capabilities()))
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
    let mut builder = demo_platforms(&public_url, curation)?
        .publish_signing_key(&key)
        .public_url(public_url.clone());
    let sender = WebhookSender::new(
        SenderConfig {
            // Development: loopback receivers are allowed; production keeps the strict policy.
            policy: SsrfPolicy::strict().allow_loopback(),
            request_timeout: Duration::from_millis(args.webhook_timeout_ms),
            connect_timeout: Duration::from_millis(args.webhook_timeout_ms.min(10_000)),
            ..SenderConfig::default()
        },
        Some(WebhookSigner::new(key)),
    )?;
    if let Some(url) = &args.database_url {
        builder = with_postgres(builder, url, sender, &args).await?;
    } else {
        let config = InMemoryConfig {
            retry: args.retry_policy(),
            breaker: args.breaker_policy(),
            ..InMemoryConfig::default()
        };
        let supervisor = InMemorySupervisor::start(sender, config);
        builder = builder.webhooks(WebhookDelivery::Supervisor(Arc::new(supervisor)));
    }
    if let Some(lease) = args.task_lease_ms {
        builder = builder.task_lease(Duration::from_millis(lease));
    }
    let server = builder.build()?;

    let mut http = HttpConfig {
        sessions: !args.stateless,
        connections: ConnectionLimits::default()
            .with_max_connections(args.max_connections)
            .with_header_read_timeout(Duration::from_secs(args.header_read_timeout_secs)),
        session_limits: SessionLimits::default()
            .with_max_sessions(args.max_sessions)
            .with_max_sessions_per_principal(args.max_sessions_per_principal)
            .with_max_active_sessions(args.max_active_sessions)
            .with_dormant_after(Duration::from_millis(args.session_dormant_after_ms)),
        ..HttpConfig::default()
    };
    if !args.no_auth {
        http = http.with_authenticator(access::DemoKeys);
    }
    if let Some(host) = url_host(&public_url) {
        http.allowed_hosts.push(host);
    }
    // The agent card advertises `<public URL>/a2a`; without one it names the request's host.
    http.public_url.clone_from(&args.public_url);
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let bound = listener.local_addr()?;
    println!("adcp-rs demo seller serving MCP at http://{bound}/mcp");
    println!(
        "  A2A: http://{bound}/a2a (agent card at http://{bound}/.well-known/agent-card.json)"
    );
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
    let policy =
        StopPolicy::default().with_task_deadline(Duration::from_millis(args.task_deadline_ms));
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
    args: &Args,
) -> DemoResult<adcp_server::AdcpServerBuilder> {
    use adcp_webhooks::outbox::OutboxWorkerConfig;
    let worker_config = OutboxWorkerConfig {
        lease: Duration::from_millis(args.outbox_lease_ms),
        retry: args.retry_policy(),
        breaker: args.breaker_policy(),
        ..OutboxWorkerConfig::default()
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect(url)
        .await?;
    // One call: migrations (safe for replicas starting together), the task registry with its
    // transactional outbox, the idempotency store, two outbox workers and the retention job,
    // stopped by the server only after the last task settled so the drain's webhooks go out.
    let stores = adcp_server::PostgresStores::new(pool, sender).outbox_workers(2, worker_config);
    Ok(builder.postgres(stores).await?)
}

/// Without the `postgres` feature: the same signature as the real one, always an error.
#[cfg(not(feature = "postgres"))]
#[allow(clippy::unused_async)]
async fn with_postgres(
    _builder: adcp_server::AdcpServerBuilder,
    _url: &str,
    _sender: WebhookSender,
    _args: &Args,
) -> DemoResult<adcp_server::AdcpServerBuilder> {
    Err("--database-url needs the `postgres` feature: cargo run -p adcp-demo-seller --features postgres --bin demo_seller".into())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use adcp_server::Principal;
    use serde_json::{Value, json};

    /// The reply the demo gives a sandbox caller's `get_adcp_capabilities`.
    async fn capabilities_reply() -> Value {
        let server = super::demo_platforms("http://127.0.0.1:3911", Duration::from_millis(10))
            .unwrap()
            .build()
            .unwrap();
        let reply = server
            .call_tool(
                "get_adcp_capabilities",
                json!({}),
                Some(Principal::new("sandbox:acme-outdoor")),
            )
            .await;
        // Strict mode validates the reply against get-adcp-capabilities-response.json: a
        // declaration of the wrong shape fails here, as it would fail every buyer's call.
        assert!(!reply.is_error, "{}", reply.body);
        reply.body
    }

    #[tokio::test]
    async fn the_declarations_open_the_specialisms_scenarios() {
        let reply = capabilities_reply().await;
        let media_buy = &reply["media_buy"];
        // Each `requires_capability` gate of sales-non-guaranteed's required scenarios.
        assert!(media_buy["audience_targeting"].is_object());
        let metrics = media_buy["supported_optimization_metrics"]
            .as_array()
            .unwrap();
        for metric in ["clicks", "completed_views", "reach"] {
            assert!(metrics.contains(&json!(metric)), "{metric}");
        }
        let tracking = &media_buy["conversion_tracking"];
        assert_eq!(tracking["multi_source_event_dedup"], true);
        assert_eq!(tracking["per_creative_attribution"], true);
        assert!(
            tracking["supported_targets"]
                .as_array()
                .unwrap()
                .contains(&json!("per_ad_spend"))
        );
        assert!(media_buy["frequency_capping"].is_object());
        assert_eq!(media_buy["creative_approval_mode"], "auto_approve");
        assert_eq!(
            reply["account"]["supported_billing"],
            json!(["operator", "agent"])
        );
    }

    #[tokio::test]
    async fn only_served_protocols_are_claimed() {
        let reply = capabilities_reply().await;
        let protocols = reply["supported_protocols"].as_array().unwrap();
        assert!(protocols.contains(&json!("media_buy")));
        assert!(protocols.contains(&json!("signals")));
        // list_creatives and sync_creatives serve media buys; the creative protocol is not
        // served (no preview, build or creative-agent formats).
        assert!(!protocols.contains(&json!("creative")), "{protocols:?}");
    }
}
