//! # adcp-server
//!
//! A conformant AdCP seller agent from a few traits. You implement what your business does
//! (products, signals, media buys, ...); the server runs every call through decoding, version
//! negotiation, the guards of `adcp-guards`, idempotency, account resolution, your method, the
//! task handoff of `adcp-tasks`, terminal webhooks through `adcp-webhooks`, and (strict mode,
//! [`AdcpServerBuilder::strict`]) response validation against the rc.9 schemas, and serves it
//! over MCP streamable HTTP and A2A JSON-RPC on one port (both transports call the same
//! dispatch, [`AdcpServer::call_tool`]). The framework tools (`get_adcp_capabilities`, `get_task_status`,
//! `list_tasks`, `tasks/get`, and in sandbox mode `comply_test_controller`) come for free.
//!
//! Guarantees: every reply echoes the request's `context` and the served `adcp_version`;
//! every failure is an AdCP error (`adcp_error` + `errors[]` + `status: failed`; MCP
//! `isError`, an A2A `failed` task), never a stack trace (a panicking platform method is caught and answered with a
//! generic transient error); a handoff answers exactly
//! `{task_id, status: "submitted"}` (+ echo) and produces exactly one terminal webhook when the
//! buyer registered a push config and delivery is wired; a discovery request's `fields` and
//! (with [`AdcpServerBuilder::auto_paginate`]) its page shape only the synchronous wire reply,
//! never what result hooks such as persist-draft see.
//!
//! ## Which trait do I implement
//!
//! One trait per role your agent plays, each registered on [`AdcpServer::builder`]:
//!
//! - media (a publisher, a retail media network): [`SalesPlatform`], with
//!   [`AdcpServerBuilder::sales`]; only `get_products` is required;
//! - signals: [`SignalsPlatform`], with [`AdcpServerBuilder::signals`]; only `get_signals` is
//!   required;
//! - the optional families: [`AccountsPlatform`] ([`AdcpServerBuilder::account_tools`]),
//!   [`BuyerDataPlatform`] ([`AdcpServerBuilder::buyer_data`]), [`CreativePlatform`]
//!   ([`AdcpServerBuilder::creative`]), and with the features `governance`, `brand` and
//!   `sponsored-intelligence` `GovernancePlatform`, `BrandRightsPlatform` and
//!   `SponsoredIntelligencePlatform` (`governance`, `brand_rights`, `sponsored_intelligence`);
//! - any other manifest tool, or a tool you prefer to serve as JSON: [`ToolHandler`], with
//!   [`AdcpServerBuilder::tool`].
//!
//! Each trait's `tools()` lists what you implement; the server exposes exactly those, and
//! [`AdcpServerBuilder::build`] fails with [`ServerError::MissingTools`] when a specialism you
//! claim ([`AdcpServerBuilder::specialism`]) needs one you did not list. A method whose tool is
//! a protocol task type returns [`TaskResult`] (discovery: [`DiscoveryResult`]) and may hand
//! off; the others answer within the call.
//!
//! Two more seams decide who a call is for. An [`AccountResolver`]
//! ([`AdcpServerBuilder::accounts`]) resolves the account: [`ExplicitAccounts`] (the default:
//! the buyer names it), [`PrincipalAccounts`] (the caller is the account), [`SingletonAccount`],
//! or your own store. An [`Authenticator`] ([`BearerTokens`], or yours; set with
//! [`HttpConfig::with_authenticator`]) decides the principal. Tasks and idempotency keys are
//! scoped by (account, principal).
//!
//! ```no_run
//! use adcp_server::{AdcpServer, CallContext, DiscoveryResult, HttpConfig, SalesPlatform};
//! use adcp_server::{BearerTokens, Principal, PrincipalAccounts, StopPolicy};
//! use adcp_server::webhooks::signing::{SignatureAlgorithm, WebhookSigningKey};
//! use adcp_server::webhooks::ssrf::SsrfPolicy;
//! use adcp_types::generated::{
//!     AvailableMetric, CpmOption, DeliveryType, FormatId, GetProductsRequest,
//!     GetProductsRequestBuyingMode, GetProductsResponse, GetProductsResponseCacheScope, Product,
//!     PublisherPropertySelector, ReportingCapabilities, ReportingCapabilitiesDateRangeSupport,
//!     ReportingFrequency,
//! };
//! use adcp_types::{AdcpError, MissingField};
//!
//! struct Seller;
//!
//! fn catalog() -> Result<GetProductsResponse, MissingField> {
//!     let product = Product::builder()
//!         .product_id("homepage_display")
//!         .name("Homepage display")
//!         .description("Run-of-homepage display, auction priced")
//!         .delivery_type(DeliveryType::NonGuaranteed)
//!         .publisher_properties(vec![PublisherPropertySelector::all("news.example")])
//!         .format_ids(vec![FormatId::builder().agent_url("https://creative.example").id("display_300x250").build()?])
//!         .pricing_options(vec![CpmOption::builder().pricing_option_id("cpm_usd").currency("USD").floor_price(2.0).build()?.into()])
//!         .reporting_capabilities(
//!             ReportingCapabilities::builder()
//!                 .available_metrics(vec![AvailableMetric::Impressions, AvailableMetric::Spend])
//!                 .available_reporting_frequencies(vec![ReportingFrequency::Daily])
//!                 .date_range_support(ReportingCapabilitiesDateRangeSupport::DateRange)
//!                 .expected_delay_minutes(240_u32)
//!                 .supports_webhooks(false)
//!                 .timezone("UTC")
//!                 .build()?,
//!         )
//!         .build()?;
//!     GetProductsResponse::builder()
//!         .cache_scope(GetProductsResponseCacheScope::Public)
//!         .products(vec![product])
//!         .build()
//! }
//!
//! #[async_trait::async_trait]
//! impl SalesPlatform for Seller {
//!     async fn get_products(
//!         &self,
//!         request: GetProductsRequest,
//!         ctx: &CallContext,
//!     ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
//!         // Wholesale answers at once; a brief from a buyer with a webhook may take a while,
//!         // so it runs as a task and the buyer gets `submitted` now.
//!         let brief = request.buying_mode == GetProductsRequestBuyingMode::Brief;
//!         if !brief || request.push_notification_config.is_none() {
//!             return Ok(DiscoveryResult::completed(catalog().map_err(|_| AdcpError::internal())?));
//!         }
//!         Ok(ctx.handoff_to_task(|_task| async move { catalog() }).into())
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // A handoff needs a resolved account (here: one per authenticated principal) and a way to
//! // deliver its terminal webhook (here: signed, in memory).
//! let key = WebhookSigningKey::generate("seller-key-1", SignatureAlgorithm::Ed25519);
//! let server = AdcpServer::builder()
//!     .sales(Seller)
//!     .accounts(PrincipalAccounts::new())
//!     .strict(true)
//!     .signed_webhooks(key, SsrfPolicy::strict())?
//!     .build()?;
//! let tokens = BearerTokens::new().with_token("buyer-token", Principal::new("buyer"));
//! let http = HttpConfig::default().with_authenticator(tokens);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
//! adcp_server::run(listener, &server, http, &StopPolicy::default()).await?;
//! # Ok(()) }
//! ```
//!
//! A whole seller — signed webhooks, `create_media_buy`, signals, a buyer test over HTTP — is
//! `examples/minimal_seller.rs`.
//!
//! The protocol's seller-side rules that are not your business choice — discovery filters and
//! pricing-option pruning, package pricing, flight dates, `measurement_terms`, available
//! actions, numeric bounds — are typed functions in [`rules`], to call from your methods.
//!
//! ## Handing off to a task
//!
//! When an answer takes minutes or days, return `Ok(ctx.handoff_to_task(work).into())`
//! ([`CallContext::handoff_to_task`]) instead of the response:
//!
//! 1. The server first checks that a task is allowed: never for wholesale discovery (answer it
//!    synchronously and report gaps in `incomplete[]`), never without a resolved account. A
//!    refused handoff fails the call and leaves no task behind.
//! 2. The task is issued with the request's `push_notification_config` and `context`, and the
//!    buyer gets exactly `{task_id, status: "submitted"}` (+ the `context` and `adcp_version`
//!    echo) at once.
//! 3. `work` runs in the background. Its value becomes the task's result; an `AdcpError` it
//!    returns becomes the task's error; any other error, or a panic, fails the task with a
//!    generic error. A task ends exactly once.
//! 4. If the buyer registered a `push_notification_config` and delivery is wired
//!    ([`AdcpServerBuilder::webhooks`]: [`WebhookDelivery::Supervisor`], or
//!    [`WebhookDelivery::Transactional`] with [PostgreSQL](#postgresql)), exactly one terminal
//!    webhook is sent, under one `idempotency_key` across retries. With the default
//!    [`WebhookDelivery::Disabled`] a request carrying a push config is refused
//!    (`INVALID_REQUEST`) rather than accepted and never called back.
//! 5. The buyer polls with `get_task_status` (`include_result` for the result) and
//!    `list_tasks`, which the server answers itself; it sees only its own (account, principal)
//!    tasks, and another's task is indistinguishable from an unknown id.
//!
//! A synchronous result can be pushed too ([`CallContext::push_completion`]); a side effect that
//! must happen exactly when a result is final (persisting a proposal draft) is a
//! [`CallContext::on_complete`] hook. Tasks live in memory by default and do not survive a
//! restart.
//!
//! ## PostgreSQL
//!
//! The `postgres` feature makes every store durable in one call:
//! `builder.postgres(PostgresStores::new(pool, sender)).await?` ([`PostgresStores`],
//! [`AdcpServerBuilder::postgres`]). It runs the migrations (under an advisory lock, so any
//! number of replicas may start together), sets the task registry with its transactional outbox
//! (a task's terminal state and its webhook row commit together), the idempotency store and
//! [`WebhookDelivery::Transactional`], and starts the outbox workers and the retention job,
//! which stop only after the last task settled. Running tasks hold leases
//! ([`AdcpServerBuilder::task_lease`]): a task whose process died is failed, not left running.
//! The options (sealing push credentials at rest, worker count, retention) and an example are
//! on [`PostgresStores`].
//!
//! ## Running in production
//!
//! [`run`] serves a built server (MCP at `/mcp`, A2A at `/a2a` with its agent card, `GET /ready`,
//! brand.json, JWKS) until SIGTERM,
//! SIGINT or a cancelled [`HttpConfig::shutdown`], then stops without losing work
//! ([`AdcpServer::stop`]): new calls are refused as transient while task polling goes on and
//! `/ready` answers 503; running tasks get [`StopPolicy::task_deadline`], the rest fail as
//! retryable with their webhooks; webhooks and background jobs get
//! [`StopPolicy::webhook_deadline`]; connections close last. It returns a [`StopReport`]. The
//! defaults fit a 30-second termination grace period.
//!
//! [`HttpConfig`] bounds what any caller can take: [`HttpConfig::allowed_hosts`] (loopback by
//! default: list your public host names), [`HttpConfig::max_body_bytes`],
//! [`HttpConfig::body_read_timeout`], [`ConnectionLimits`] (header-read timeout, connection
//! cap, graceful close) and [`SessionLimits`] (or [`HttpConfig::sessions`] off, for stateless
//! replicas behind a load balancer). Past a limit the caller gets an AdCP error, never a hang.
//! [`logging::init`] keeps secrets out of the logs whatever `RUST_LOG` says. To mount the routes
//! in your own axum app, use [`router`] with [`serve_with_limits`] and call
//! [`AdcpServer::stop`] yourself.
//!
//! ## Testing your seller
//!
//! `adcp-conformance` (`crates/adcp-conformance` in this repository; not published) grades any
//! agent URL against the protocol's rc.9 compliance storyboards. From a checkout, with your agent
//! running:
//!
//! ```text
//! cargo xtask conformance --url http://127.0.0.1:3001/mcp --auth "$TOKEN"
//! ```
//!
//! Without `--storyboard PATH` or `--specialism SLUG` (both repeatable) the run follows your
//! capabilities: every universal storyboard, the baseline of each protocol you support and the
//! bundle of each specialism you claim; a storyboard that does not apply is reported
//! `not_applicable` with the reason. It prints a table per step, writes
//! `target/conformance/report.json` and `junit.xml`, and fails when any storyboard fails.
//! `cargo run -p adcp-conformance -- --url URL` runs the runner itself (`--help` for its
//! flags). Storyboards are read from `ADCP_COMPLIANCE_DIR` or `../shared/compliance`; `--auth`
//! is a bearer token your [`Authenticator`] accepts (default: the storyboards' test-kit key).
//!
//! What the agent under test needs: storyboards that set up state call
//! `comply_test_controller`, served only with [`AdcpServerBuilder::sandbox`] (seeds:
//! [`AdcpServerBuilder::sandbox_fixtures`]) and only for sandbox accounts, so the token must
//! resolve to one. Webhook storyboards register push URLs on a receiver the runner binds on
//! `127.0.0.1`: they pass only against an agent on the same machine that accepts those URLs
//! ([`AdcpServerBuilder::allow_insecure_webhook_host`] and a sender whose SSRF policy allows
//! loopback), a development setup. Signatures are checked against the JWKS your brand.json
//! declares ([`AdcpServerBuilder::publish_signing_key`], [`AdcpServerBuilder::public_url`]).
//! Without `--url`, `cargo xtask conformance` builds and grades the workspace's demo seller,
//! which is set up this way.

// The PostgreSQL items exist only with the `postgres` feature; without it their links point to
// the section that names the feature, so the docs build warning-free either way.
#![cfg_attr(
    feature = "postgres",
    doc = "",
    doc = "[`PostgresStores`]: crate::PostgresStores",
    doc = "[`AdcpServerBuilder::postgres`]: crate::AdcpServerBuilder::postgres"
)]
#![cfg_attr(
    not(feature = "postgres"),
    doc = "",
    doc = "[`PostgresStores`]: #postgresql",
    doc = "[`AdcpServerBuilder::postgres`]: #postgresql"
)]
#![deny(missing_docs)]

mod account;
mod auth;
mod call;
mod dispatch;
mod error;
mod framework;
mod hooks;
pub mod idempotency;
mod lifecycle;
pub mod logging;
mod platform;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
pub mod retention;
pub mod rules;
mod sandbox;
mod server;
mod transport;

use std::future::Future;

pub use account::{
    Account, AccountQuery, AccountResolver, ExplicitAccounts, PrincipalAccounts, SingletonAccount,
    account_id_of,
};
/// The task registry and runtime (`adcp-tasks`).
pub use adcp_tasks as tasks;
/// The wire types (`adcp-types`), re-exported so a seller can depend on this crate alone.
pub use adcp_types as types;
/// Webhook signing, sending and delivery (`adcp-webhooks`): the signing key for
/// [`AdcpServerBuilder::signed_webhooks`], the SSRF policy, supervisors.
pub use adcp_webhooks as webhooks;
pub use auth::{Authenticator, BearerTokens, Principal, auth_required, bearer_token};
pub use call::{CallContext, CompletedResult};
pub use dispatch::{SERVED_VERSION, SUPPORTED_MAJOR, SUPPORTED_VERSIONS, ToolReply};
pub use error::ServerError;
pub use framework::SandboxFixtures;
pub use hooks::ResultHook;
pub use platform::{
    AccountsPlatform, AccountsTool, BuyerDataPlatform, BuyerDataTool, CreativePlatform,
    CreativeTool, DiscoveryResult, Outcome, SalesPlatform, SalesTool, SignalsPlatform, SignalsTool,
    TaskResult, ToolHandler, not_implemented,
};
#[cfg(feature = "brand")]
pub use platform::{BrandRightsPlatform, BrandRightsTool};
#[cfg(feature = "governance")]
pub use platform::{GovernancePlatform, GovernanceTool};
#[cfg(feature = "sponsored-intelligence")]
pub use platform::{SponsoredIntelligencePlatform, SponsoredIntelligenceTool};
pub use server::{AdcpServer, AdcpServerBuilder, WebhookDelivery};
pub use transport::http::{DEFAULT_MAX_BODY_BYTES, HttpConfig, router};

pub use lifecycle::{StopPolicy, StopReport, stop_signal};
#[cfg(feature = "postgres")]
pub use postgres::PostgresStores;
pub use transport::listen::ConnectionLimits;
pub use transport::sessions::SessionLimits;

/// Serves `router` on `listener` under the default [`ConnectionLimits`] until `shutdown`
/// resolves, then stops accepting connections and lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_with_limits(listener, router, &ConnectionLimits::default(), shutdown).await
}

/// Serves `router` on `listener` under `limits` (header-read and idle timeouts, a cap on
/// concurrent connections) until `shutdown` resolves, then stops accepting connections and
/// gives in-flight requests `limits.graceful_close` to finish.
pub async fn serve_with_limits(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let stop = tokio_util::sync::CancellationToken::new();
    let accepting = transport::listen::accept_loop(listener, router, limits, stop.clone());
    tokio::pin!(accepting);
    tokio::select! {
        () = &mut accepting => return Ok(()),
        () = shutdown => stop.cancel(),
    }
    accepting.await;
    Ok(())
}

/// Serves `server` over HTTP (MCP at `/mcp`, A2A at `/a2a`, `GET /ready`, brand.json, JWKS,
/// as [`router`] lays them out) on `listener`
/// until SIGTERM, SIGINT or `config.shutdown` is cancelled, then stops without losing work
/// ([`AdcpServer::stop`]: drain, tasks, webhooks, background jobs) while still answering task
/// polling, and closes the connections last. Returns what the stop did.
pub async fn run(
    listener: tokio::net::TcpListener,
    server: &AdcpServer,
    mut config: HttpConfig,
    policy: &StopPolicy,
) -> Result<StopReport, ServerError> {
    // The caller's token triggers the stop; the MCP layer gets its own, cancelled only once
    // the drain is over (cancelling it closes every session and refuses every request).
    let trigger = std::mem::take(&mut config.shutdown);
    let http_stop = config.shutdown.clone();
    let limits = config.connections.clone();
    let router = router(server, config);
    let mut accepting = AbortOnDrop(tokio::spawn({
        let http_stop = http_stop.clone();
        async move { transport::listen::accept_loop(listener, router, &limits, http_stop).await }
    }));
    tokio::select! {
        () = stop_signal() => {}
        () = trigger.cancelled() => tracing::info!("shutdown requested; stopping"),
    }
    let report = server.stop(policy).await;
    http_stop.cancel();
    if let Err(error) = (&mut accepting.0).await {
        tracing::error!(%error, "the accept loop ended abnormally");
    }
    Ok(report)
}

/// Aborts the accept loop if [`run`] is dropped before it returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
