//! The demo's sales platform: discovery over the catalog (hand-off to a simulated curation when
//! the buyer registered a webhook), media buys checked by the SDK's rules and recorded per
//! principal and account, creatives (`sync_creatives`, `list_creative_formats`, and the
//! `list_creatives` tool), and delivery reporting from the sandbox ledger. All in memory.

pub(crate) mod create;
pub(crate) mod creative_list;
pub(crate) mod creative_sync;
pub(crate) mod creatives;
pub(crate) mod formats;
mod goals;
mod paging;
mod relevance;
mod signal_targeting;

use std::sync::Arc;
use std::time::Duration;

use adcp_server::{CallContext, DiscoveryResult, Outcome, SalesPlatform, SalesTool, TaskResult};
use adcp_tasks::TaskProgress;
use adcp_types::generated::{
    CreateMediaBuyRequest, CreateMediaBuyResponse, CreateMediaBuySuccess,
    GetMediaBuyDeliveryRequest, GetMediaBuyDeliveryResponse,
    GetMediaBuyDeliveryResponseReportingPeriod, GetMediaBuysRequest,
    GetMediaBuysRequestStatusFilter, GetMediaBuysResponse, GetProductsRequest,
    GetProductsRequestBuyingMode, GetProductsResponse, MediaBuyListCreativeFormatsRequest,
    MediaBuyListCreativeFormatsResponse, MediaBuyStatus, Product, SyncCreativesRequest,
    SyncCreativesResponse, UpdateMediaBuyRequest, UpdateMediaBuyResponse, UpdateMediaBuySuccess,
};
use adcp_types::{AdcpError, codes};

use crate::buyer_data::{self, Registries};
use crate::buys::{MediaBuy, MediaBuys, Scope, Surface, clock};
use crate::catalog::Catalog;
use crate::delivery::{self, DeliveryLedger};
use crate::reply::built;
use crate::update::{self, Change};

/// The demo seller's sales side.
#[derive(Debug, Clone)]
pub(crate) struct DemoSales {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) media_buys: MediaBuys,
    pub(crate) deliveries: Arc<DeliveryLedger>,
    pub(crate) registries: Arc<Registries>,
    pub(crate) curation: Duration,
}

/// Every product the protocol's filters keep for `request` (pricing options pruned to the
/// requested currencies and price type), ranked against its brief; the server cuts the page
/// (`auto_paginate`).
fn shortlist(catalog: &Catalog, request: &GetProductsRequest) -> Vec<Product> {
    let products = adcp_server::rules::discovery::apply_product_filters(catalog.all(), request);
    match request.brief.as_deref() {
        Some(brief) => relevance::rank(products, brief),
        None => products,
    }
}

/// What a read reports of `buy` beyond its record: its available actions (from its products'
/// templates), open impairments and creative approvals.
pub(crate) fn surface_of(buy: &MediaBuy, catalog: &Catalog) -> Result<Surface, AdcpError> {
    let products = create::products_of(buy, catalog);
    surface_with(buy, &products)
}

/// [`surface_of`] with the buy's products already looked up.
fn surface_with(buy: &MediaBuy, products: &[Product]) -> Result<Surface, AdcpError> {
    let library = creatives::library();
    Ok(Surface {
        available_actions: update::actions::available(buy, products)?,
        impairments: library.impairments(buy),
        approvals: library.approvals(buy),
    })
}

impl DemoSales {
    /// The media buys the caller sees, limited to `media_buy_ids` if given, each settled first
    /// (its status brought up to date with its flight and creatives).
    fn buys_of(&self, scope: &Scope, media_buy_ids: Option<&[String]>) -> Vec<MediaBuy> {
        let mut out = Vec::new();
        let library = creatives::library();
        self.media_buys.for_each_visible(scope, |buy| {
            if media_buy_ids.is_none_or(|ids| ids.contains(&buy.id)) {
                library.settle(buy);
                out.push(buy.clone());
            }
        });
        out
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
            SalesTool::SyncCreatives,
            SalesTool::ListCreativeFormats,
        ]
    }

    async fn get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        // A read ends the current seed batch (see the catalog's order).
        self.catalog.close_batch();
        let wholesale = request.buying_mode == GetProductsRequestBuyingMode::Wholesale;
        if wholesale || request.push_notification_config.is_none() {
            return Ok(Outcome::Completed(GetProductsResponse {
                products: Some(shortlist(&self.catalog, &request)),
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
        // Brief (or refine) discovery with a webhook registered: curate in the background. The
        // shortlist is drawn when the curation ends, so a waiting task holds its request, not a
        // copy of the catalog.
        let (catalog, curation) = (Arc::clone(&self.catalog), self.curation);
        Ok(ctx
            .handoff_to_task(move |task| async move {
                task.update_progress(TaskProgress::new().percentage(50.0).steps(1, 2))
                    .await;
                tokio::time::sleep(curation).await;
                let mut products = shortlist(&catalog, &request);
                products.truncate(limit);
                Ok::<_, AdcpError>(GetProductsResponse {
                    products: Some(products),
                    ..GetProductsResponse::default()
                })
            })
            .into())
    }

    async fn refine_get_products(
        &self,
        request: GetProductsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetProductsResponse>, AdcpError> {
        // The demo issues no proposals, so every proposal a refinement names is unknown.
        for (i, entry) in request.refine.iter().flatten().enumerate() {
            let entry = serde_json::to_value(entry).unwrap_or_default();
            if entry.get("scope").and_then(serde_json::Value::as_str) == Some("proposal") {
                let id = entry
                    .get("proposal_id")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default();
                return Err(AdcpError::new(
                    codes::PROPOSAL_NOT_FOUND,
                    format!("no proposal `{id}`: this seller does not issue proposals"),
                )
                .with_field(format!("refine[{i}].proposal_id")));
            }
        }
        self.get_products(request, ctx).await
    }

    async fn create_media_buy(
        &self,
        request: CreateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<CreateMediaBuyResponse>, AdcpError> {
        let scope = Scope::of(ctx);
        let accepted = create::accept(&request, &scope, &self.catalog, &self.registries)?;
        let mut buy = accepted.buy;
        let products = create::products_of(&buy, &self.catalog);
        // Inline creatives enter the library first, so the buy can start on them.
        for candidate in &accepted.creatives {
            creative_sync::store(&scope, candidate, false);
        }
        creatives::library().settle(&mut buy);
        let surface = surface_with(&buy, &products)?;
        let valid_actions = adcp_server::rules::actions::valid_actions(&surface.available_actions);
        // Only a buy whose reply could be built is recorded (a failure fails the call, and the
        // server then keeps the idempotency key's failure for replays).
        let mut reply = built(
            CreateMediaBuySuccess::builder()
                .media_buy_id(buy.id.clone())
                .media_buy_status(buy.status)
                .confirmed_at(buy.confirmed_at.clone())
                .revision(buy.revision)
                .packages(buy.packages.clone())
                .build(),
        )?;
        reply.currency = Some(buy.currency.clone());
        reply.total_budget = Some(buy.total_budget());
        reply.available_actions = Some(surface.available_actions);
        reply.valid_actions = Some(valid_actions);
        self.media_buys.insert(buy);
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
        let scope = Scope::of(ctx);
        let id = &request.media_buy_id;
        let not_found = || {
            AdcpError::new(codes::MEDIA_BUY_NOT_FOUND, format!("no media buy `{id}`"))
                .with_field("media_buy_id")
        };
        // A changed targeting overlay may only name what the buyer registered.
        for (k, package) in request.packages.iter().flatten().enumerate() {
            buyer_data::check_references(
                package.targeting_overlay.as_ref(),
                package.optimization_goals.as_deref().unwrap_or_default(),
                scope.principal(),
                &self.registries,
                k,
            )?;
        }
        let library = creatives::library();
        let catalog = &self.catalog;
        let reply = self
            .media_buys
            .update(&scope, id, |buy| {
                library.settle(buy);
                let products = create::products_of(buy, catalog);
                let change = Change {
                    products: &products,
                    scope: &scope,
                    catalog,
                };
                let applied = update::apply(buy, &request, &change)?;
                let mut next = applied.buy;
                for candidate in &applied.creatives {
                    creative_sync::store(&scope, candidate, false);
                }
                library.settle(&mut next);
                let surface = surface_with(&next, &products)?;
                let valid_actions =
                    adcp_server::rules::actions::valid_actions(&surface.available_actions);
                let mut reply = built(
                    UpdateMediaBuySuccess::builder()
                        .media_buy_id(next.id.clone())
                        .media_buy_status(next.status)
                        .revision(next.revision)
                        .affected_packages(applied.affected)
                        .build(),
                )?;
                reply.currency = Some(next.currency.clone());
                reply.total_budget = Some(next.total_budget());
                reply.available_actions = Some(surface.available_actions);
                reply.valid_actions = Some(valid_actions);
                // Recorded only once the reply is built.
                *buy = next;
                Ok::<_, AdcpError>(reply)
            })
            .ok_or_else(not_found)??;
        ctx.push_completion();
        Ok(Outcome::Completed(reply.into()))
    }

    async fn get_media_buys(
        &self,
        request: GetMediaBuysRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuysResponse, AdcpError> {
        let scope = Scope::of(ctx);
        let query = serde_json::to_value(&request).unwrap_or_default();
        let page = paging::Page::read(request.pagination.as_ref(), &query)?;
        // rc.9: the status filter "Defaults to [\"active\"] when media_buy_ids is omitted. When
        // media_buy_ids is provided, no implicit status filter is applied."
        let ids = request.media_buy_ids.as_deref();
        let statuses: Option<Vec<MediaBuyStatus>> = match &request.status_filter {
            Some(GetMediaBuysRequestStatusFilter::MediaBuyStatus(status)) => Some(vec![*status]),
            Some(GetMediaBuysRequestStatusFilter::Array(statuses)) => Some(statuses.clone()),
            None if ids.is_none() => Some(vec![MediaBuyStatus::Active]),
            None => None,
        };
        let matching: Vec<MediaBuy> = self
            .buys_of(&scope, ids)
            .into_iter()
            .filter(|buy| statuses.as_ref().is_none_or(|s| s.contains(&buy.status)))
            .collect();
        let (buys, pagination) = page.cut(matching);
        let media_buys = buys
            .iter()
            .map(|buy| buy.listing(surface_of(buy, &self.catalog)?))
            .collect::<Result<Vec<_>, _>>()?;
        let mut reply = built(
            GetMediaBuysResponse::builder()
                .media_buys(media_buys)
                .build(),
        )?;
        reply.pagination = Some(pagination);
        Ok(reply)
    }

    async fn get_media_buy_delivery(
        &self,
        request: GetMediaBuyDeliveryRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuyDeliveryResponse, AdcpError> {
        let scope = Scope::of(ctx);
        let buys = self.buys_of(&scope, request.media_buy_ids.as_deref());
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
        let now = clock::wire(scope.now());
        let start = buys
            .iter()
            .map(|buy| buy.confirmed_at.as_str())
            .min()
            .map_or_else(|| now.clone(), str::to_owned);
        let currency = buys
            .first()
            .map_or_else(|| "USD".to_owned(), |buy| buy.currency.clone());
        let period = built(
            GetMediaBuyDeliveryResponseReportingPeriod::builder()
                .start(start)
                .end(now)
                .build(),
        )?;
        built(
            GetMediaBuyDeliveryResponse::builder()
                .reporting_period(period)
                .currency(currency)
                .media_buy_deliveries(deliveries)
                .build(),
        )
    }

    async fn sync_creatives(
        &self,
        request: SyncCreativesRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncCreativesResponse>, AdcpError> {
        let scope = Scope::of(ctx);
        let reply = creative_sync::sync(&request, &scope, &self.catalog, &self.media_buys)?;
        Ok(Outcome::Completed(reply.into()))
    }

    async fn list_creative_formats(
        &self,
        request: MediaBuyListCreativeFormatsRequest,
        _ctx: &CallContext,
    ) -> Result<MediaBuyListCreativeFormatsResponse, AdcpError> {
        formats::list(&self.catalog, &request)
    }
}
