//! A minimal seller, in typed Rust: product discovery (a wholesale catalog answered at once, a
//! brief with a push config handed off to a task), `create_media_buy` and `get_signals`, served
//! over MCP with strict schema validation and signed terminal webhooks.
//!
//! ```console
//! $ cargo run -p adcp-server --example minimal_seller -- 127.0.0.1:3001 --dev
//! ```
//!
//! `--dev` accepts `http://` webhook receivers on loopback (a local buyer); without it only
//! public HTTPS receivers are accepted. Buyers authenticate with `Authorization: Bearer
//! buyer-token` (replace [`BearerTokens`] with your own [`adcp_server::Authenticator`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use adcp_server::webhooks::signing::{SignatureAlgorithm, WebhookSigningKey};
use adcp_server::webhooks::ssrf::SsrfPolicy;
use adcp_server::{
    AdcpServer, BearerTokens, CallContext, DiscoveryResult, HttpConfig, Principal,
    PrincipalAccounts, SalesPlatform, SalesTool, SignalsPlatform, StopPolicy, TaskResult,
};
use adcp_types::generated::{
    AvailableMetric, CpmOption, CreateMediaBuyRequest, CreateMediaBuyResponse,
    CreateMediaBuySuccess, DeliveryType, Deployment, FormatId, GetProductsRequest,
    GetProductsRequestBuyingMode, GetProductsResponse, GetProductsResponseCacheScope,
    GetSignalsRequest, GetSignalsResponse, GetSignalsResponseCacheScope,
    GetSignalsResponseSignalsItem, MediaBuyStatus, Package, Product, PublisherPropertySelector,
    ReportingCapabilities, ReportingCapabilitiesDateRangeSupport, ReportingFrequency,
    SignalCatalogType, SignalId,
};
use adcp_types::{AdcpError, MissingField};

/// The seller: a fixed catalog of one product and one signal.
struct Seller;

/// Media buy ids (a real seller's come from its ad server).
static NEXT_BUY: AtomicU64 = AtomicU64::new(1);

/// A builder left a required field unset: a bug in this seller, never the buyer's fault.
fn internal(error: MissingField) -> AdcpError {
    tracing::error!(%error, "reply could not be built");
    AdcpError::internal()
}

fn catalog() -> Result<Vec<Product>, MissingField> {
    Ok(vec![
        Product::builder()
            .product_id("homepage_display")
            .name("Homepage display")
            .description("Run-of-homepage display, auction priced")
            .delivery_type(DeliveryType::NonGuaranteed)
            .publisher_properties(vec![PublisherPropertySelector::all("news.example")])
            .format_ids(vec![
                FormatId::builder()
                    .agent_url("https://creative.adcontextprotocol.org")
                    .id("display_300x250")
                    .build()?,
            ])
            .pricing_options(vec![
                CpmOption::builder()
                    .pricing_option_id("cpm_usd")
                    .currency("USD")
                    .floor_price(2.0)
                    .build()?
                    .into(),
            ])
            .reporting_capabilities(
                ReportingCapabilities::builder()
                    .available_metrics(vec![AvailableMetric::Impressions, AvailableMetric::Spend])
                    .available_reporting_frequencies(vec![ReportingFrequency::Daily])
                    .date_range_support(ReportingCapabilitiesDateRangeSupport::DateRange)
                    .expected_delay_minutes(240_u32)
                    .supports_webhooks(false)
                    .timezone("UTC")
                    .build()?,
            )
            .build()?,
    ])
}

fn products_reply() -> Result<GetProductsResponse, MissingField> {
    GetProductsResponse::builder()
        .cache_scope(GetProductsResponseCacheScope::Public)
        .products(catalog()?)
        .build()
}

#[async_trait::async_trait]
impl SalesPlatform for Seller {
    fn tools(&self) -> Vec<SalesTool> {
        vec![SalesTool::GetProducts, SalesTool::CreateMediaBuy]
    }

    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        // Wholesale is the catalog as it stands: always synchronous.
        let curating = request.buying_mode == GetProductsRequestBuyingMode::Brief
            && request.push_notification_config.is_some();
        if !curating {
            return Ok(DiscoveryResult::completed(
                products_reply().map_err(internal)?,
            ));
        }
        // A brief with a webhook: curate in the background; the buyer gets `submitted` now
        // and exactly one signed webhook when the task ends.
        Ok(ctx
            .handoff_to_task(|_task| async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                products_reply()
            })
            .into())
    }

    async fn create_media_buy(
        &self,
        request: CreateMediaBuyRequest,
        _ctx: &CallContext,
    ) -> Result<TaskResult<CreateMediaBuyResponse>, AdcpError> {
        let packages = request
            .packages
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, asked)| {
                Package::builder()
                    .package_id(format!("pkg_{index}"))
                    .product_id(asked.product_id)
                    .pricing_option_id(asked.pricing_option_id)
                    .budget(asked.budget)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(internal)?;
        let buy = CreateMediaBuySuccess::builder()
            .media_buy_id(format!("mb_{}", NEXT_BUY.fetch_add(1, Ordering::Relaxed)))
            .media_buy_status(MediaBuyStatus::PendingCreatives)
            .revision(std::num::NonZeroU64::MIN)
            .packages(packages)
            .build()
            .map_err(internal)?;
        Ok(TaskResult::completed(buy.into()))
    }
}

#[async_trait::async_trait]
impl SignalsPlatform for Seller {
    async fn get_signals(
        &self,
        _request: GetSignalsRequest,
        _ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetSignalsResponse>, AdcpError> {
        let signal = GetSignalsResponseSignalsItem::builder()
            .signal_agent_segment_id("sports_readers")
            .signal_id(SignalId::agent(
                "https://news.example/mcp",
                "sports_readers",
            ))
            .name("Sports readers")
            .description("Readers of the sports section in the last 30 days")
            .signal_type(SignalCatalogType::Owned)
            .deployments(vec![Deployment::agent("https://news.example/mcp", true)])
            .build()
            .map_err(internal)?;
        let reply = GetSignalsResponse::builder()
            .cache_scope(GetSignalsResponseCacheScope::Public)
            .signals(vec![signal])
            .build();
        Ok(DiscoveryResult::completed(reply.map_err(internal)?))
    }
}

/// The seller's server: strict validation, signed webhooks, accounts per principal. With `dev`,
/// `http://` webhook receivers on loopback are accepted (a buyer on this machine).
pub(crate) fn server(dev: bool) -> Result<AdcpServer, Box<dyn std::error::Error>> {
    let key = WebhookSigningKey::generate("minimal-seller-1", SignatureAlgorithm::Ed25519);
    let policy = if dev {
        SsrfPolicy::strict().allow_loopback()
    } else {
        SsrfPolicy::strict()
    };
    let mut builder = AdcpServer::builder()
        .sales(Seller)
        .signals(Seller)
        .accounts(PrincipalAccounts::new())
        .strict(true)
        .signed_webhooks(key, policy)?;
    if dev {
        builder = builder.allow_insecure_webhook_host("127.0.0.1");
    }
    Ok(builder.build()?)
}

/// MCP over HTTP; buyers present `Authorization: Bearer buyer-token`.
pub(crate) fn http() -> HttpConfig {
    let tokens = BearerTokens::new().with_token("buyer-token", Principal::new("buyer"));
    HttpConfig::default().with_authenticator(tokens)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    adcp_server::logging::init("info", &["minimal_seller"])?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.iter().find(|a| !a.starts_with("--"));
    let listener =
        tokio::net::TcpListener::bind(addr.map_or("127.0.0.1:3001", String::as_str)).await?;
    let server = server(args.iter().any(|a| a == "--dev"))?;
    println!(
        "minimal seller serving MCP at http://{}/mcp",
        listener.local_addr()?
    );
    // SIGTERM or Ctrl-C: refuse new work, finish running tasks, deliver their webhooks.
    adcp_server::run(listener, &server, http(), &StopPolicy::default()).await?;
    Ok(())
}
