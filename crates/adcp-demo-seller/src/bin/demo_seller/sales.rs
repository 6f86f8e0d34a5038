//! The demo's sales platform: discovery over the catalog (brief discovery with a push config
//! hands off to a short simulated curation), media buys kept in memory.

use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::time::Duration;

use adcp_server::{
    Account, CallContext, DiscoveryResult, Outcome, SalesPlatform, SalesTool, TaskResult,
};
use adcp_tasks::TaskProgress;
use adcp_types::generated::{
    CreateMediaBuyRequest, CreateMediaBuyResponse, CreateMediaBuySuccess,
    GetMediaBuyDeliveryRequest, GetMediaBuyDeliveryResponse,
    GetMediaBuyDeliveryResponseReportingPeriod, GetMediaBuysRequest, GetMediaBuysResponse,
    GetProductsRequest, GetProductsRequestBuyingMode, GetProductsResponse, MediaBuyStatus,
    OptimizationGoal, Package, PackageRequest, Product, ReachUnit, StartTiming,
    UpdateMediaBuyRequest, UpdateMediaBuyResponse,
};
use adcp_types::{AdcpError, codes};
use serde_json::Value;

use crate::buyer_data::{self, Registries};
use crate::buys::{MediaBuy, MediaBuys};
use crate::catalog::Catalog;
use crate::delivery::{self, DeliveryLedger};
use crate::reply::built;
use crate::update;

/// The reach units a product supports for optimization when it declares none.
const DEFAULT_REACH_UNITS: [ReachUnit; 2] = [ReachUnit::Individuals, ReachUnit::Households];
/// The view durations (seconds) a product supports for optimization when it declares none.
const DEFAULT_VIEW_DURATIONS: [f64; 4] = [2.0, 6.0, 15.0, 30.0];

/// Checks package `i`'s metric optimization goals against what `product` supports (its
/// `metric_optimization`, else the demo's defaults): an unsupported `reach_unit` or
/// `view_duration_seconds` is `INVALID_REQUEST` naming that goal's field. Returns the reach
/// unit of the package's reach goal, if any.
fn check_goals(
    goals: &[OptimizationGoal],
    product: &Product,
    i: usize,
) -> Result<Option<ReachUnit>, AdcpError> {
    let declared = product.metric_optimization.as_ref();
    let unsupported = |j: usize, field: &str, value: Value| {
        AdcpError::invalid_request(format!(
            "product `{}` does not support `{field}` {value} for optimization",
            product.product_id
        ))
        .with_field(format!("packages[{i}].optimization_goals[{j}].{field}"))
    };
    let mut reach_unit = None;
    for (j, goal) in goals.iter().enumerate() {
        // Only metric goals carry a reach unit or a view duration.
        let OptimizationGoal::Variant0 {
            reach_unit: unit,
            view_duration_seconds: seconds,
            ..
        } = goal
        else {
            continue;
        };
        if let Some(unit) = unit {
            let supported = match declared.and_then(|m| m.supported_reach_units.as_ref()) {
                Some(units) => units.contains(unit),
                None => DEFAULT_REACH_UNITS.contains(unit),
            };
            if !supported {
                return Err(unsupported(j, "reach_unit", Value::from(unit.to_string())));
            }
            reach_unit.get_or_insert(*unit);
        }
        if let Some(seconds) = *seconds {
            let supported = match declared.and_then(|m| m.supported_view_durations.as_ref()) {
                Some(durations) => durations.contains(&seconds),
                None => DEFAULT_VIEW_DURATIONS.contains(&seconds),
            };
            if !supported {
                return Err(unsupported(
                    j,
                    "view_duration_seconds",
                    Value::from(seconds),
                ));
            }
        }
    }
    Ok(reach_unit)
}

/// A package of a new buy as the seller records it, with what its goals imply.
struct AcceptedPackage {
    package: Package,
    reach_unit: Option<ReachUnit>,
    valued_sources: Vec<(String, String)>,
}

/// The demo seller's sales side.
#[derive(Debug, Clone)]
pub(crate) struct DemoSales {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) media_buys: MediaBuys,
    pub(crate) deliveries: Arc<DeliveryLedger>,
    pub(crate) registries: Arc<Registries>,
    pub(crate) curation: Duration,
}

impl DemoSales {
    /// The caller's account's media buys, limited to `media_buy_ids` if given.
    fn buys_of(&self, ctx: &CallContext, media_buy_ids: Option<&[String]>) -> Vec<MediaBuy> {
        let account = ctx.account().map(|a| a.id().to_owned()).unwrap_or_default();
        self.media_buys
            .get(&account)
            .map(|buys| {
                buys.iter()
                    .filter(|buy| media_buy_ids.is_none_or(|ids| ids.contains(&buy.id)))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks package `i` of a new buy (budget, product, goals, buyer-data references) and
    /// returns the package as the seller records it.
    fn accept_package(
        &self,
        package: &PackageRequest,
        i: usize,
        buyer: &str,
    ) -> Result<AcceptedPackage, AdcpError> {
        if package.budget < 0.0 {
            return Err(
                AdcpError::new(codes::VALIDATION_ERROR, "budget must not be negative")
                    .with_field(format!("packages[{i}].budget")),
            );
        }
        let product_id = &package.product_id;
        let Some(product) = self.catalog.find(product_id) else {
            return Err(AdcpError::new(
                codes::PRODUCT_NOT_FOUND,
                format!("no product `{product_id}`"),
            )
            .with_field(format!("packages[{i}].product_id")));
        };
        let goals = package.optimization_goals.as_deref().unwrap_or_default();
        let reach_unit = check_goals(goals, &product, i)?;
        let valued_sources = buyer_data::check_references(
            package.targeting_overlay.as_ref(),
            goals,
            buyer,
            &self.registries,
            i,
        )?;
        let mut recorded = built(
            Package::builder()
                .package_id(format!("pkg_{}_{}", i, uuid::Uuid::new_v4().simple()))
                .product_id(product_id.clone())
                .budget(package.budget)
                .pricing_option_id(package.pricing_option_id.clone())
                .build(),
        )?;
        recorded.bid_price = package.bid_price;
        recorded
            .targeting_overlay
            .clone_from(&package.targeting_overlay);
        recorded.context.clone_from(&package.context);
        Ok(AcceptedPackage {
            package: recorded,
            reach_unit,
            valued_sources,
        })
    }
}

#[async_trait::async_trait]
impl SalesPlatform for DemoSales {
    fn tools(&self) -> Vec<SalesTool> {
        vec![
            SalesTool::GetProducts,
            SalesTool::CreateMediaBuy,
            SalesTool::UpdateMediaBuy,
            SalesTool::GetMediaBuys,
            SalesTool::GetMediaBuyDelivery,
        ]
    }

    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        // Every product the protocol's filters keep (with pricing options pruned to the
        // requested currencies and price type); the server cuts the page (`auto_paginate`).
        let mut products: Vec<Product> =
            adcp_server::rules::discovery::apply_product_filters(self.catalog.all(), &request);
        let wholesale = request.buying_mode == GetProductsRequestBuyingMode::Wholesale;
        if wholesale || request.push_notification_config.is_none() {
            return Ok(Outcome::Completed(GetProductsResponse {
                products: Some(products),
                ..GetProductsResponse::default()
            }));
        }
        // A task's result is not paged by the server: the curated shortlist honours the
        // requested page size itself.
        let limit = request
            .pagination
            .as_ref()
            .and_then(|p| p.max_results)
            .and_then(|n| usize::try_from(n.get()).ok())
            .unwrap_or(50);
        products.truncate(limit);
        let body = GetProductsResponse {
            products: Some(products),
            ..GetProductsResponse::default()
        };
        // Brief (or refine) discovery with a webhook registered: curate in the background.
        let curation = self.curation;
        Ok(ctx
            .handoff_to_task(move |task| async move {
                task.update_progress(TaskProgress::new().percentage(50.0).steps(1, 2))
                    .await;
                tokio::time::sleep(curation).await;
                Ok::<_, AdcpError>(body)
            })
            .into())
    }

    async fn create_media_buy(
        &self,
        request: CreateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<CreateMediaBuyResponse>, AdcpError> {
        let (StartTiming::Variant0(start) | StartTiming::Variant1(start)) = &request.start_time;
        if start != "asap" {
            let parsed = (
                chrono::DateTime::parse_from_rfc3339(start),
                chrono::DateTime::parse_from_rfc3339(&request.end_time),
            );
            if let (Ok(start), Ok(end)) = parsed
                && end <= start
            {
                return Err(
                    AdcpError::invalid_request("`end_time` must be after `start_time`")
                        .with_field("end_time"),
                );
            }
        }
        let packages = request.packages.as_deref().unwrap_or_default();
        if packages.is_empty() {
            return Err(
                AdcpError::invalid_request("a media buy needs at least one package")
                    .with_field("packages"),
            );
        }
        let mut created = Vec::new();
        let mut reach_unit = None;
        let mut valued_sources = BTreeSet::new();
        let buyer = buyer_data::buyer_of(ctx);
        for (i, package) in packages.iter().enumerate() {
            let accepted = self.accept_package(package, i, &buyer)?;
            if let Some(unit) = accepted.reach_unit {
                reach_unit.get_or_insert(unit);
            }
            valued_sources.extend(accepted.valued_sources);
            created.push(accepted.package);
        }
        let buy = MediaBuy {
            id: format!("mb_{}", uuid::Uuid::new_v4().simple()),
            status: MediaBuyStatus::PendingCreatives,
            confirmed_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            revision: NonZeroU64::MIN,
            packages: created,
            // Only sandbox buys accept simulated delivery.
            sandbox: ctx.account().is_some_and(Account::is_sandbox),
            buyer,
            reach_unit,
            valued_sources,
            resume_status: None,
        };
        // Only a buy whose reply could be built is recorded (a failure fails the call, and the
        // server then keeps the idempotency key's failure for replays).
        let reply = built(
            CreateMediaBuySuccess::builder()
                .media_buy_id(buy.id.clone())
                .media_buy_status(buy.status)
                .confirmed_at(buy.confirmed_at.clone())
                .revision(buy.revision)
                .packages(buy.packages.clone())
                .build(),
        )?;
        let account = ctx.account().map(|a| a.id().to_owned()).unwrap_or_default();
        self.media_buys.entry(account).or_default().push(buy);
        // The buy is confirmed at once; a buyer that registered a webhook also gets the result
        // pushed (recorded as a completed task), as media-buy buyers expect.
        ctx.push_completion();
        Ok(Outcome::Completed(reply.into()))
    }

    async fn update_media_buy(
        &self,
        request: UpdateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<UpdateMediaBuyResponse>, AdcpError> {
        let account = ctx.account().map(|a| a.id().to_owned()).unwrap_or_default();
        let id = &request.media_buy_id;
        let not_found = || {
            AdcpError::new(codes::MEDIA_BUY_NOT_FOUND, format!("no media buy `{id}`"))
                .with_field("media_buy_id")
        };
        // A changed targeting overlay may only name what the buyer registered.
        let buyer = buyer_data::buyer_of(ctx);
        for (k, package) in request.packages.iter().flatten().enumerate() {
            buyer_data::check_references(
                package.targeting_overlay.as_ref(),
                package.optimization_goals.as_deref().unwrap_or_default(),
                &buyer,
                &self.registries,
                k,
            )?;
        }
        let mut buys = self.media_buys.get_mut(&account).ok_or_else(not_found)?;
        let buy = buys
            .iter_mut()
            .find(|buy| buy.id == *id)
            .ok_or_else(not_found)?;
        // Recorded only once the reply is built.
        let (next, reply) = update::apply(buy, &request)?;
        *buy = next;
        drop(buys);
        ctx.push_completion();
        Ok(Outcome::Completed(reply.into()))
    }

    async fn get_media_buys(
        &self,
        request: GetMediaBuysRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuysResponse, AdcpError> {
        let media_buys = self
            .buys_of(ctx, request.media_buy_ids.as_deref())
            .iter()
            .map(MediaBuy::listing)
            .collect::<Result<Vec<_>, _>>()?;
        built(
            GetMediaBuysResponse::builder()
                .media_buys(media_buys)
                .build(),
        )
    }

    async fn get_media_buy_delivery(
        &self,
        request: GetMediaBuyDeliveryRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuyDeliveryResponse, AdcpError> {
        let buys = self.buys_of(ctx, request.media_buy_ids.as_deref());
        let deliveries = buys
            .iter()
            .map(|buy| {
                let value = buy
                    .valued_sources
                    .iter()
                    .map(|(source, field)| self.registries.logged_value(&buy.buyer, source, field))
                    .sum::<f64>();
                let totals = self.deliveries.totals(&buy.id);
                delivery::report(buy, &totals, Some(value), &self.catalog)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let start = buys
            .iter()
            .map(|buy| buy.confirmed_at.as_str())
            .min()
            .map_or_else(|| now.clone(), str::to_owned);
        let period = built(
            GetMediaBuyDeliveryResponseReportingPeriod::builder()
                .start(start)
                .end(now)
                .build(),
        )?;
        built(
            GetMediaBuyDeliveryResponse::builder()
                .reporting_period(period)
                .currency("USD")
                .media_buy_deliveries(deliveries)
                .build(),
        )
    }
}
