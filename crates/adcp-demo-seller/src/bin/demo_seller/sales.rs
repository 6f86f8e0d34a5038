//! The demo's sales platform: discovery over the catalog (brief discovery with a push config
//! hands off to a short simulated curation), media buys kept in memory.

use std::sync::Arc;
use std::time::Duration;

use adcp_server::{
    Account, CallContext, DiscoveryResult, Outcome, SalesPlatform, SalesTool, TaskResult,
};
use adcp_tasks::TaskProgress;
use adcp_types::generated::{
    CreateMediaBuyRequest, CreateMediaBuyResponse, GetMediaBuyDeliveryRequest,
    GetMediaBuyDeliveryResponse, GetMediaBuysRequest, GetMediaBuysResponse, GetProductsRequest,
    GetProductsResponse, UpdateMediaBuyRequest, UpdateMediaBuyResponse,
};
use adcp_types::{AdcpError, codes};
use dashmap::DashMap;
use serde_json::{Value, json};

use crate::buyer_data::{self, Registries};
use crate::catalog::{Catalog, matches_filters};
use crate::delivery::{self, DeliveryLedger};
use crate::update;

/// The goal fields a product's `metric_optimization` limits, each with the list that declares
/// the supported values and the demo's default when a product declares none.
const GOAL_LIMITS: [(&str, &str, &[f64], &[&str]); 2] = [
    (
        "reach_unit",
        "supported_reach_units",
        &[],
        &["individuals", "households"],
    ),
    (
        "view_duration_seconds",
        "supported_view_durations",
        &[2.0, 6.0, 15.0, 30.0],
        &[],
    ),
];

/// JSON equality that also holds between `6` and `6.0`.
fn same(a: &Value, b: &Value) -> bool {
    a == b || a.as_f64().is_some_and(|x| b.as_f64() == Some(x))
}

/// Checks package `i`'s metric optimization goals against what `product` supports (its
/// `metric_optimization`, else the demo's defaults): an unsupported `reach_unit` or
/// `view_duration_seconds` is `INVALID_REQUEST` naming that goal's field. Returns the reach
/// unit of the package's reach goal, if any.
fn check_goals(package: &Value, product: &Value, i: usize) -> Result<Option<String>, AdcpError> {
    let goals = package["optimization_goals"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (j, goal) in goals.iter().enumerate() {
        for (field, list, default_numbers, default_names) in GOAL_LIMITS {
            let Some(value) = goal.get(field) else {
                continue;
            };
            let supported = match product
                .pointer(&format!("/metric_optimization/{list}"))
                .and_then(Value::as_array)
            {
                Some(declared) => declared.iter().any(|v| same(v, value)),
                None => {
                    default_numbers.iter().any(|n| value.as_f64() == Some(*n))
                        || default_names.iter().any(|n| value == n)
                }
            };
            if !supported {
                return Err(AdcpError::invalid_request(format!(
                    "product `{}` does not support `{field}` {value} for optimization",
                    product["product_id"].as_str().unwrap_or_default()
                ))
                .with_field(format!("packages[{i}].optimization_goals[{j}].{field}")));
            }
        }
    }
    Ok(goals
        .iter()
        .find_map(|goal| goal.get("reach_unit").and_then(Value::as_str))
        .map(str::to_owned))
}

/// The stored buy's private field: the (event source, value field) pairs its conversion value
/// is summed from.
const VALUED_SOURCES: &str = "_valued_sources";
/// The stored buy's private field: the buyer agent (principal) that created it.
const BUYER: &str = "_buyer";

/// The stored buy's private flag: created under a sandbox account.
pub(crate) const SANDBOX_BUY: &str = "_sandbox";

/// A package of a new buy as the seller records it, with what its goals imply.
struct AcceptedPackage {
    package: Value,
    reach_unit: Option<String>,
    valued_sources: Vec<(String, String)>,
}

/// The media buys, per account id.
pub(crate) type MediaBuys = Arc<DashMap<String, Vec<Value>>>;

/// The demo seller's sales side.
#[derive(Debug, Clone)]
pub(crate) struct DemoSales {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) media_buys: MediaBuys,
    pub(crate) deliveries: Arc<DeliveryLedger>,
    pub(crate) registries: Arc<Registries>,
    pub(crate) curation: Duration,
}

/// The demo's JSON-built response as its generated type; a mismatch is the demo's bug, logged
/// and answered as an internal error.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, AdcpError> {
    serde_json::from_value(value).map_err(|error| {
        tracing::error!(%error, "demo seller built an invalid response");
        AdcpError::internal()
    })
}

fn to_value<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl DemoSales {
    /// Every matching product; the server cuts the page (`auto_paginate`).
    fn products_for(&self, request: &Value) -> Value {
        let products: Vec<Value> = self
            .catalog
            .all()
            .into_iter()
            .filter(|p| matches_filters(p, request.get("filters")))
            .collect();
        json!({ "products": products })
    }

    /// The caller's account's media buys, limited to the request's `media_buy_ids` if any.
    fn buys_of(&self, ctx: &CallContext, request: &Value) -> Vec<Value> {
        let wanted: Option<Vec<&str>> = request
            .get("media_buy_ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(Value::as_str).collect());
        let account = ctx.account().map(|a| a.id().to_owned()).unwrap_or_default();
        self.media_buys
            .get(&account)
            .map(|buys| {
                buys.iter()
                    .filter(|buy| {
                        wanted.as_ref().is_none_or(|ids| {
                            buy["media_buy_id"]
                                .as_str()
                                .is_some_and(|id| ids.contains(&id))
                        })
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks package `i` of a new buy (budget, product, goals, buyer-data references) and
    /// returns the package as the seller records it.
    fn accept_package(
        &self,
        package: &Value,
        i: usize,
        buyer: &str,
    ) -> Result<AcceptedPackage, AdcpError> {
        if package
            .get("budget")
            .and_then(Value::as_f64)
            .is_some_and(|b| b < 0.0)
        {
            return Err(
                AdcpError::new(codes::VALIDATION_ERROR, "budget must not be negative")
                    .with_field(format!("packages[{i}].budget")),
            );
        }
        let product_id = package
            .get("product_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(product) = self.catalog.find(product_id) else {
            return Err(AdcpError::new(
                codes::PRODUCT_NOT_FOUND,
                format!("no product `{product_id}`"),
            )
            .with_field(format!("packages[{i}].product_id")));
        };
        let reach_unit = check_goals(package, &product, i)?;
        let valued_sources = buyer_data::check_references(package, buyer, &self.registries, i)?;
        let mut out = json!({
            "package_id": format!("pkg_{}_{}", i, uuid::Uuid::new_v4().simple()),
            "product_id": product_id,
        });
        for key in [
            "budget",
            "pricing_option_id",
            "bid_price",
            "targeting_overlay",
            "context",
        ] {
            if let Some(value) = package.get(key) {
                out[key] = value.clone();
            }
        }
        Ok(AcceptedPackage {
            package: out,
            reach_unit,
            valued_sources,
        })
    }

    /// Whether discovery should run as a task: the buyer registered a webhook.
    fn wants_async(request: &Value) -> bool {
        request
            .get("push_notification_config")
            .is_some_and(|p| !p.is_null())
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
        let request = to_value(&request);
        let mut body = self.products_for(&request);
        let wholesale = request.get("buying_mode").and_then(Value::as_str) == Some("wholesale");
        if wholesale || !Self::wants_async(&request) {
            return Ok(Outcome::Completed(typed(body)?));
        }
        // A task's result is not paged by the server: the curated shortlist honours the
        // requested page size itself.
        let limit = request
            .pointer("/pagination/max_results")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(50);
        if let Some(products) = body["products"].as_array_mut() {
            products.truncate(limit);
        }
        // Brief (or refine) discovery with a webhook registered: curate in the background.
        let curation = self.curation;
        Ok(ctx
            .handoff_to_task(move |task| async move {
                task.update_progress(TaskProgress::new().percentage(50.0).steps(1, 2))
                    .await;
                tokio::time::sleep(curation).await;
                typed::<GetProductsResponse>(body)
            })
            .into())
    }

    async fn create_media_buy(
        &self,
        request: CreateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<CreateMediaBuyResponse>, AdcpError> {
        let request = to_value(&request);
        let start = request
            .get("start_time")
            .and_then(Value::as_str)
            .unwrap_or("asap");
        let end = request
            .get("end_time")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if start != "asap" {
            let parsed = (
                chrono::DateTime::parse_from_rfc3339(start),
                chrono::DateTime::parse_from_rfc3339(end),
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
        let packages = request
            .get("packages")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if packages.is_empty() {
            return Err(
                AdcpError::invalid_request("a media buy needs at least one package")
                    .with_field("packages"),
            );
        }
        let mut created = Vec::new();
        let mut reach_unit = None;
        let mut valued_sources = std::collections::BTreeSet::new();
        let buyer = buyer_data::buyer_of(ctx);
        for (i, package) in packages.iter().enumerate() {
            let accepted = self.accept_package(package, i, &buyer)?;
            if let Some(unit) = accepted.reach_unit {
                reach_unit.get_or_insert(unit);
            }
            valued_sources.extend(accepted.valued_sources);
            created.push(accepted.package);
        }
        let media_buy = json!({
            "media_buy_id": format!("mb_{}", uuid::Uuid::new_v4().simple()),
            "media_buy_status": "pending_creatives",
            "confirmed_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "revision": 1,
            "packages": created,
        });
        // Only a buy that is valid on the wire is recorded (an invalid one fails the call, and
        // the server then keeps the idempotency key's failure for replays).
        let response: CreateMediaBuyResponse = typed(media_buy.clone())?;
        let mut stored = media_buy;
        // Private bookkeeping (never sent): only sandbox buys accept simulated delivery.
        stored[SANDBOX_BUY] = Value::Bool(ctx.account().is_some_and(Account::is_sandbox));
        if let Some(unit) = reach_unit {
            stored[delivery::REACH_UNIT] = Value::from(unit);
        }
        stored[VALUED_SOURCES] = json!(valued_sources);
        stored[BUYER] = json!(buyer);
        let account = ctx.account().map(|a| a.id().to_owned()).unwrap_or_default();
        self.media_buys.entry(account).or_default().push(stored);
        // The buy is confirmed at once; a buyer that registered a webhook also gets the result
        // pushed (recorded as a completed task), as media-buy buyers expect.
        ctx.push_completion();
        Ok(Outcome::Completed(response))
    }

    async fn update_media_buy(
        &self,
        request: UpdateMediaBuyRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<UpdateMediaBuyResponse>, AdcpError> {
        let request = to_value(&request);
        let account = ctx.account().map(|a| a.id().to_owned()).unwrap_or_default();
        let id = request["media_buy_id"].as_str().unwrap_or_default();
        let not_found = || {
            AdcpError::new(codes::MEDIA_BUY_NOT_FOUND, format!("no media buy `{id}`"))
                .with_field("media_buy_id")
        };
        // A changed targeting overlay may only name what the buyer registered.
        let buyer = buyer_data::buyer_of(ctx);
        let updates = request["packages"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (k, package) in updates.iter().enumerate() {
            buyer_data::check_references(package, &buyer, &self.registries, k)?;
        }
        let mut buys = self.media_buys.get_mut(&account).ok_or_else(not_found)?;
        let buy = buys
            .iter_mut()
            .find(|buy| buy["media_buy_id"] == id)
            .ok_or_else(not_found)?;
        let (next, body) = update::apply(buy, &request)?;
        // Recorded only once the reply is known to be valid.
        let response = typed(body)?;
        *buy = next;
        drop(buys);
        ctx.push_completion();
        Ok(Outcome::Completed(response))
    }

    async fn get_media_buys(
        &self,
        request: GetMediaBuysRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuysResponse, AdcpError> {
        let buys: Vec<Value> = self
            .buys_of(ctx, &to_value(&request))
            .iter()
            .map(|b| {
                json!({
                    "media_buy_id": b["media_buy_id"],
                    "status": b["media_buy_status"],
                    "currency": "USD",
                    "total_budget": update::total_budget(b),
                    "confirmed_at": b["confirmed_at"],
                    "revision": b["revision"],
                    "packages": b["packages"],
                })
            })
            .collect();
        typed(json!({ "media_buys": buys }))
    }

    async fn get_media_buy_delivery(
        &self,
        request: GetMediaBuyDeliveryRequest,
        ctx: &CallContext,
    ) -> Result<GetMediaBuyDeliveryResponse, AdcpError> {
        let buys = self.buys_of(ctx, &to_value(&request));
        let deliveries: Vec<Value> = buys
            .iter()
            .map(|buy| {
                let id = buy["media_buy_id"].as_str().unwrap_or_default();
                let value = buy[VALUED_SOURCES].as_array().map(|pairs| {
                    pairs
                        .iter()
                        .map(|pair| {
                            self.registries.logged_value(
                                buy[BUYER].as_str().unwrap_or_default(),
                                pair[0].as_str().unwrap_or_default(),
                                pair[1].as_str().unwrap_or_default(),
                            )
                        })
                        .sum::<f64>()
                });
                delivery::report(buy, &self.deliveries.totals(id), value, &self.catalog)
            })
            .collect();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let start = buys
            .iter()
            .filter_map(|buy| buy["confirmed_at"].as_str())
            .min()
            .map_or_else(|| now.clone(), str::to_owned);
        typed(json!({
            "reporting_period": { "start": start, "end": now },
            "currency": "USD",
            "media_buy_deliveries": deliveries,
        }))
    }
}
