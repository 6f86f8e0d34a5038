//! # adcp-server
//!
//! Composes the AdCP building blocks into a seller agent: adopters implement the platform
//! traits ([`SalesPlatform`], [`SignalsPlatform`]; the optional families [`AccountsPlatform`],
//! [`BuyerDataPlatform`], [`CreativePlatform`], and with the features `governance`, `brand` and
//! `sponsored-intelligence` `GovernancePlatform`, `BrandRightsPlatform` and
//! `SponsoredIntelligencePlatform`; [`ToolHandler`] for JSON) and an
//! [`AccountResolver`]; the server runs every call through decoding, version negotiation,
//! the guards of `adcp-guards`, idempotency, account resolution, the platform, the task
//! handoff of `adcp-tasks`, terminal webhooks through `adcp-webhooks`, and (strict mode)
//! response validation against the rc.9 schemas. [`router`] serves it over MCP streamable
//! HTTP with `rmcp`; the framework tools (`get_adcp_capabilities`, `get_task_status`,
//! `list_tasks`, `tasks/get`, and in sandbox mode `comply_test_controller`) come for free.
//!
//! ```no_run
//! use adcp_server::{AdcpServer, DiscoveryResult, CallContext, SalesPlatform, HttpConfig};
//! use adcp_types::AdcpError;
//! use adcp_types::generated::{GetProductsRequest, GetProductsResponse};
//!
//! struct Seller;
//!
//! #[async_trait::async_trait]
//! impl SalesPlatform for Seller {
//!     async fn get_products(
//!         &self,
//!         request: GetProductsRequest,
//!         ctx: &CallContext,
//!     ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
//!         let curated = serde_json::json!({ "products": [] });
//!         // Wholesale answers at once; a brief from a buyer with a webhook may take a while,
//!         // so it runs as a task and the buyer gets `submitted` now.
//!         if request.push_notification_config.is_none() {
//!             let products = serde_json::from_value(curated).map_err(|_| AdcpError::internal())?;
//!             return Ok(DiscoveryResult::Completed(products));
//!         }
//!         Ok(ctx
//!             .handoff_to_task(|_task| async move {
//!                 serde_json::from_value::<GetProductsResponse>(curated)
//!             })
//!             .into())
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = AdcpServer::builder().sales(Seller).build()?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3001").await?;
//! adcp_server::serve(listener, adcp_server::router(&server, HttpConfig::default()), std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! Guarantees: every reply echoes the request's `context` and the served `adcp_version`;
//! every failure is an AdCP error (`adcp_error` + `errors[]` + `status: failed`, MCP
//! `isError`), never a stack trace (a panicking platform method is caught and answered with a
//! generic transient error); a handoff answers exactly
//! `{task_id, status: "submitted"}` (+ echo) and produces exactly one terminal webhook when the
//! buyer registered a push config and delivery is wired; a discovery request's `fields` and
//! (with [`AdcpServerBuilder::auto_paginate`]) its page shape only the synchronous wire reply,
//! never what result hooks such as persist-draft see.

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
mod sandbox;
mod server;
mod transport;

use std::future::Future;

pub use account::{
    Account, AccountQuery, AccountResolver, ExplicitAccounts, PrincipalAccounts, SingletonAccount,
    account_id_of,
};
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

/// Serves `server` over HTTP (MCP at `/mcp`, `GET /ready`, brand.json, JWKS) on `listener`
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
