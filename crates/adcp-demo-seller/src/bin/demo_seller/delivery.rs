//! The demo's delivery: a ledger of simulated delivery per media buy (fed by the sandbox
//! `simulate_delivery` controller scenario) and the `get_media_buy_delivery` report built from
//! it. Reach and frequency are the last simulated values when a simulation injected them, else
//! a simple audience model: each reach unit sees the buy [`NATURAL_FREQUENCY`] times on
//! average; either way never more often than the tightest package frequency cap. The totals
//! are cumulative since the buy started, and say so in `reach_window` unless a simulation
//! declared another window.

use adcp_types::AdcpError;
use adcp_types::generated::{
    CreativeDeliveryMetrics, GetMediaBuyDeliveryResponseMediaBuyDeliveriesItem as BuyDelivery,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemByPackageItem as PackageDelivery,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemByPackageItemReachWindow as PackageWindow,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemByPackageItemReachWindowKind as PackageWindowKind,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemStatus as DeliveryStatus,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemTotals as BuyTotals,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemTotalsReachWindow as TotalsWindow,
    GetMediaBuyDeliveryResponseMediaBuyDeliveriesItemTotalsReachWindowKind as TotalsWindowKind,
    MediaBuyStatus, Package, PricingModel, ReachUnit, ViewabilityStandard,
};
use dashmap::DashMap;
use serde_json::{Map, Value, json};

use crate::buys::MediaBuy;
use adcp_server::rules::pricing::PricingTerms;

use crate::catalog::Catalog;
use crate::reply::built;

/// Average impressions per reach unit when no simulation set the frequency.
const NATURAL_FREQUENCY: f64 = 2.5;

/// Delivery metrics injected by one simulation, or accumulated over all of them.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Delivered {
    pub(crate) impressions: f64,
    pub(crate) clicks: f64,
    pub(crate) conversions: f64,
    pub(crate) completed_views: f64,
    pub(crate) spend: f64,
}

/// Simulated viewability (`core/delivery-metrics.json` `viewability`): impressions add up, and
/// the in-view duration is kept as a total over the measurable impressions so the average
/// stays exact across simulations.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Viewability {
    measurable: f64,
    viewable: f64,
    /// Seconds in view summed over the measurable impressions.
    seconds_in_view: f64,
    /// The measurement standard the latest simulation named.
    standard: Option<String>,
}

impl Viewability {
    /// The viewability a `simulate_delivery` call's `params.viewability` injects, if any:
    /// `measurable_impressions` and `viewable_impressions` (no more than the measurable ones)
    /// from 0 to 10^12, `viewed_seconds` the average in-view seconds (0 to 86400), `standard`.
    fn from_params(params: &Value) -> Result<Option<Self>, AdcpError> {
        let Some(block) = params.get("viewability").filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        if !block.is_object() {
            return Err(AdcpError::new(
                "INVALID_PARAMS",
                "`params.viewability` must be an object",
            ));
        }
        let measurable = number(params, "/viewability/measurable_impressions")?.unwrap_or(0.0);
        let viewable = number(params, "/viewability/viewable_impressions")?.unwrap_or(0.0);
        if viewable > measurable {
            return Err(AdcpError::new(
                "INVALID_PARAMS",
                "`params.viewability.viewable_impressions` cannot exceed the measurable ones",
            ));
        }
        let seconds = number(params, "/viewability/viewed_seconds")?.unwrap_or(0.0);
        if seconds > 86_400.0 {
            return Err(AdcpError::new(
                "INVALID_PARAMS",
                "`params.viewability.viewed_seconds` is an average per impression, at most 86400",
            ));
        }
        Ok(Some(Self {
            measurable,
            viewable,
            seconds_in_view: seconds * measurable,
            standard: block
                .get("standard")
                .filter(|v| !v.is_null())
                .map(|standard| {
                    serde_json::from_value::<ViewabilityStandard>(standard.clone())
                        .map(|s| s.to_string())
                        .map_err(|_| {
                            AdcpError::new(
                                "INVALID_PARAMS",
                                "`params.viewability.standard` is not a viewability standard",
                            )
                        })
                })
                .transpose()?,
        }))
    }

    fn add(&mut self, newer: Self) {
        self.measurable += newer.measurable;
        self.viewable += newer.viewable;
        self.seconds_in_view += newer.seconds_in_view;
        if newer.standard.is_some() {
            self.standard = newer.standard;
        }
    }

    /// The block as `delivery-metrics.json` spells it; `None` before anything was measured.
    fn to_json(&self) -> Option<Value> {
        (self.measurable > 0.0).then(|| {
            let mut block = json!({
                "measurable_impressions": self.measurable,
                "viewable_impressions": self.viewable,
                "viewable_rate": (self.viewable / self.measurable).min(1.0),
                "viewed_seconds": self.seconds_in_view / self.measurable,
            });
            if let Some(standard) = &self.standard {
                block["standard"] = Value::from(standard.as_str());
            }
            block
        })
    }
}

/// Audience metrics a simulation may set: not additive, so the latest value stands (save
/// viewability, which accumulates).
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Audience {
    pub(crate) reach: Option<f64>,
    pub(crate) frequency: Option<f64>,
    /// The window as the controller sent it: `simulate_delivery` echoes it verbatim, so the
    /// ledger keeps the controller's JSON and the report parses it.
    pub(crate) reach_window: Option<Value>,
    /// Simulated viewability, if any simulation measured it.
    pub(crate) viewability: Option<Viewability>,
}

/// What the ledger holds for one buy.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Totals {
    pub(crate) delivered: Delivered,
    pub(crate) audience: Audience,
}

/// A simulation's numeric `params` entry at `pointer`: absent, or a number from 0 to 10^12
/// (bounded so running totals stay finite; JSON has no infinity).
fn number(params: &Value, pointer: &str) -> Result<Option<f64>, AdcpError> {
    match params.pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_f64()
            .filter(|v| (0.0..=1e12).contains(v))
            .map(Some)
            .ok_or_else(|| {
                AdcpError::new(
                    "INVALID_PARAMS",
                    format!(
                        "`params{}` must be a number from 0 to 10^12",
                        pointer.replace('/', ".")
                    ),
                )
            }),
    }
}

impl Audience {
    /// The audience values a `simulate_delivery` call's `params` set (`reach`, `frequency`,
    /// `reach_window` with a `kind` of cumulative, period or rolling).
    pub(crate) fn from_params(params: &Value) -> Result<Self, AdcpError> {
        let reach_window = match params.get("reach_window") {
            None | Some(Value::Null) => None,
            Some(window) => {
                let kind = window.get("kind").and_then(Value::as_str);
                let needs_period = match kind {
                    Some("cumulative") => false,
                    Some("period" | "rolling") => true,
                    _ => {
                        return Err(AdcpError::new(
                            "INVALID_PARAMS",
                            "`params.reach_window.kind` must be cumulative, period or rolling",
                        ));
                    }
                };
                if needs_period && !window.get("period").is_some_and(Value::is_object) {
                    return Err(AdcpError::new(
                        "INVALID_PARAMS",
                        "a period or rolling `params.reach_window` needs its `period`",
                    ));
                }
                Some(window.clone())
            }
        };
        Ok(Self {
            reach: number(params, "/reach")?,
            frequency: number(params, "/frequency")?
                .map(|f| {
                    if f >= 1.0 {
                        Ok(f)
                    } else {
                        Err(AdcpError::new(
                            "INVALID_PARAMS",
                            "`params.frequency` is exposures per reach unit, at least 1",
                        ))
                    }
                })
                .transpose()?,
            reach_window,
            viewability: Viewability::from_params(params)?,
        })
    }

    fn update(&mut self, newer: Self) {
        self.reach = newer.reach.or(self.reach);
        self.frequency = newer.frequency.or(self.frequency);
        self.reach_window = newer.reach_window.or(self.reach_window.take());
        if let Some(newer) = newer.viewability {
            self.viewability
                .get_or_insert_with(Viewability::default)
                .add(newer);
        }
    }

    /// The values this simulation set, as JSON.
    pub(crate) fn to_json(&self, map: &mut Map<String, Value>) {
        if let Some(reach) = self.reach {
            map.insert("reach".into(), json!(reach));
        }
        if let Some(frequency) = self.frequency {
            map.insert("frequency".into(), json!(frequency));
        }
        if let Some(window) = &self.reach_window {
            map.insert("reach_window".into(), window.clone());
        }
        if let Some(block) = self.viewability.as_ref().and_then(Viewability::to_json) {
            map.insert("viewability".into(), block);
        }
    }
}

impl Delivered {
    /// The metrics a `simulate_delivery` call's `params` inject; a value that is not a number
    /// from 0 to 10^12 is `INVALID_PARAMS`.
    pub(crate) fn from_params(params: &Value) -> Result<Self, AdcpError> {
        let metric = |pointer: &str| Ok::<f64, AdcpError>(number(params, pointer)?.unwrap_or(0.0));
        Ok(Self {
            impressions: metric("/impressions")?,
            clicks: metric("/clicks")?,
            conversions: metric("/conversions")?,
            completed_views: metric("/completed_views")?,
            spend: metric("/reported_spend/amount")?,
        })
    }

    fn add(self, other: Self) -> Self {
        Self {
            impressions: self.impressions + other.impressions,
            clicks: self.clicks + other.clicks,
            conversions: self.conversions + other.conversions,
            completed_views: self.completed_views + other.completed_views,
            spend: self.spend + other.spend,
        }
    }

    /// The metrics as a JSON object (`reported_spend` in the buy's currency).
    pub(crate) fn to_json(self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("impressions".into(), json!(self.impressions));
        map.insert("clicks".into(), json!(self.clicks));
        map.insert("conversions".into(), json!(self.conversions));
        map.insert("completed_views".into(), json!(self.completed_views));
        map.insert(
            "reported_spend".into(),
            json!({ "amount": self.spend, "currency": "USD" }),
        );
        map
    }

    /// A share of these metrics (for splitting a buy's delivery across its packages).
    fn share(self, fraction: f64) -> Self {
        Self {
            impressions: (self.impressions * fraction).round(),
            clicks: (self.clicks * fraction).round(),
            conversions: (self.conversions * fraction).round(),
            completed_views: (self.completed_views * fraction).round(),
            spend: self.spend * fraction,
        }
    }
}

/// Simulated delivery per media buy id.
#[derive(Debug, Default)]
pub(crate) struct DeliveryLedger {
    totals: DashMap<String, Totals>,
}

impl DeliveryLedger {
    /// Adds `injected` to the buy's running totals and takes the audience values it sets;
    /// returns the new totals.
    pub(crate) fn record(
        &self,
        media_buy_id: &str,
        injected: Delivered,
        audience: Audience,
    ) -> Totals {
        let mut entry = self.totals.entry(media_buy_id.to_owned()).or_default();
        entry.delivered = entry.delivered.add(injected);
        entry.audience.update(audience);
        entry.clone()
    }

    /// The buy's running totals (zero before any simulation).
    pub(crate) fn totals(&self, media_buy_id: &str) -> Totals {
        self.totals
            .get(media_buy_id)
            .map(|entry| entry.clone())
            .unwrap_or_default()
    }
}

/// The tightest per-individual frequency cap over the buy's packages, if any.
fn frequency_cap(buy: &MediaBuy) -> Option<f64> {
    buy.packages
        .iter()
        .filter_map(|package| package.targeting_overlay.as_ref()?.frequency_cap.as_ref())
        .filter(|cap| cap.per == Some(ReachUnit::Individuals))
        .filter_map(|cap| cap.max_impressions)
        // A cap above 2^53 impressions is no cap in practice.
        .map(|max| {
            #[allow(clippy::cast_precision_loss)]
            let max = max.get() as f64;
            max
        })
        .reduce(f64::min)
}

/// The delivery metrics (`core/delivery-metrics.json`) the demo reports for a buy's totals or
/// a package's share, beyond the `spend` every row is built with.
#[derive(Debug)]
struct Metrics {
    impressions: f64,
    clicks: f64,
    conversions: Option<f64>,
    exposure: Option<Exposure>,
    cost_per_acquisition: Option<f64>,
    cost_per_click: Option<f64>,
}

/// The metrics that exist once something was delivered.
#[derive(Debug)]
struct Exposure {
    ctr: f64,
    cpm: f64,
    reach: f64,
    reach_unit: ReachUnit,
    frequency: f64,
    /// A simulated window (the controller's JSON); `None` is cumulative.
    reach_window: Option<Value>,
    /// Completed views and the completion rate, when any view completed.
    completion: Option<(f64, f64)>,
}

/// The metrics for `delivered` under `buy`, with the simulated `audience` values for the
/// buy's totals (`None` for a package's share).
fn metrics(delivered: Delivered, audience: Option<&Audience>, buy: &MediaBuy) -> Metrics {
    let exposure = (delivered.impressions > 0.0).then(|| {
        let simulated = audience
            .and_then(|a| a.frequency)
            .unwrap_or(NATURAL_FREQUENCY);
        let frequency = frequency_cap(buy).map_or(simulated, |cap| simulated.min(cap));
        Exposure {
            ctr: (delivered.clicks / delivered.impressions).min(1.0),
            cpm: delivered.spend * 1000.0 / delivered.impressions,
            reach: audience
                .and_then(|a| a.reach)
                .unwrap_or_else(|| (delivered.impressions / frequency).round()),
            reach_unit: buy.reach_unit.unwrap_or(ReachUnit::Individuals),
            frequency,
            reach_window: audience.and_then(|a| a.reach_window.clone()),
            completion: (delivered.completed_views > 0.0).then(|| {
                (
                    delivered.completed_views,
                    (delivered.completed_views / delivered.impressions).min(1.0),
                )
            }),
        }
    });
    Metrics {
        impressions: delivered.impressions,
        clicks: delivered.clicks,
        conversions: (delivered.conversions > 0.0).then_some(delivered.conversions),
        exposure,
        cost_per_acquisition: (delivered.conversions > 0.0)
            .then(|| delivered.spend / delivered.conversions),
        cost_per_click: (delivered.clicks > 0.0).then(|| delivered.spend / delivered.clicks),
    }
}

/// A simulated block (a reach window, a viewability block) as the report's type; the controller
/// checked what it could, so a block the schema still rejects is answered as an internal error,
/// logged.
fn simulated<W: serde::de::DeserializeOwned>(window: &Value) -> Result<W, AdcpError> {
    serde_json::from_value(window.clone()).map_err(|error| {
        tracing::error!(%error, "a simulated block does not fit the delivery report");
        AdcpError::internal()
    })
}

/// Copies `metrics` into a report row (`BuyTotals` or `PackageDelivery`: the same metric
/// fields, with a reach-window type of each's own).
macro_rules! fill_row {
    ($row:expr, $metrics:expr, $window:ident, $kind:ident) => {{
        let row = $row;
        let metrics: &Metrics = $metrics;
        row.impressions = Some(metrics.impressions);
        row.clicks = Some(metrics.clicks);
        row.conversions = metrics.conversions;
        row.cost_per_acquisition = metrics.cost_per_acquisition;
        row.cost_per_click = metrics.cost_per_click;
        if let Some(exposure) = &metrics.exposure {
            row.ctr = Some(exposure.ctr);
            row.cpm = Some(exposure.cpm);
            row.reach = Some(exposure.reach);
            row.reach_unit = Some(exposure.reach_unit);
            row.frequency = Some(exposure.frequency);
            row.reach_window = Some(match &exposure.reach_window {
                Some(window) => simulated::<$window>(window)?,
                None => built($window::builder().kind($kind::Cumulative).build())?,
            });
            if let Some((views, rate)) = exposure.completion {
                row.completed_views = Some(views);
                row.completion_rate = Some(rate);
            }
        }
    }};
}

/// The pricing model and rate of a package's pricing option in the catalog (the option the
/// package names, else the product's first; CPM at no rate when the product is gone).
fn pricing_of(package: &Package, catalog: &Catalog) -> Result<(PricingModel, f64), AdcpError> {
    let product = package
        .product_id
        .as_deref()
        .and_then(|id| catalog.find(id));
    let option = product.as_ref().and_then(|product| {
        let options: Vec<PricingTerms> = product
            .pricing_options
            .iter()
            .filter_map(PricingTerms::of)
            .collect();
        let selected = options
            .iter()
            .position(|o| {
                Some(o.pricing_option_id.as_str()) == package.pricing_option_id.as_deref()
            })
            .unwrap_or(0);
        options.into_iter().nth(selected)
    });
    let model = match &option {
        Some(option) => option.pricing_model.parse().map_err(|error| {
            tracing::error!(%error, model = option.pricing_model, "unknown pricing model");
            AdcpError::internal()
        })?,
        None => PricingModel::Cpm,
    };
    let rate = package
        .bid_price
        .or_else(|| option.as_ref().and_then(|o| o.fixed_price))
        .or_else(|| option.as_ref().and_then(|o| o.floor_price))
        .unwrap_or(0.0);
    Ok((model, rate))
}

/// A media buy's status as the delivery report spells it.
fn delivery_status(status: MediaBuyStatus) -> DeliveryStatus {
    match status {
        MediaBuyStatus::PendingCreatives => DeliveryStatus::PendingCreatives,
        MediaBuyStatus::PendingStart => DeliveryStatus::PendingStart,
        MediaBuyStatus::Active => DeliveryStatus::Active,
        MediaBuyStatus::Paused => DeliveryStatus::Paused,
        MediaBuyStatus::Completed => DeliveryStatus::Completed,
        MediaBuyStatus::Rejected => DeliveryStatus::Rejected,
        MediaBuyStatus::Canceled => DeliveryStatus::Canceled,
    }
}

/// A package's delivery split across its assigned creatives (`by_creative[]`): by assignment
/// weight, evenly when none is weighted; conversions are attributed along the same split (the
/// demo's stand-in for click and view-through correlation). Empty when the package has no
/// creative assigned.
fn by_creative(
    package: &Package,
    share: Delivered,
) -> Result<Vec<CreativeDeliveryMetrics>, AdcpError> {
    let assigned = package.creative_assignments.as_deref().unwrap_or_default();
    let weights: Vec<f64> = assigned
        .iter()
        .map(|a| a.weight.unwrap_or(1.0).max(0.0))
        .collect();
    let total: f64 = weights.iter().sum();
    let mut rows = Vec::with_capacity(assigned.len());
    for (assignment, weight) in assigned.iter().zip(&weights) {
        #[allow(clippy::cast_precision_loss)]
        let fraction = if total > 0.0 {
            weight / total
        } else {
            1.0 / assigned.len() as f64
        };
        let part = share.share(fraction);
        let mut row = built(
            CreativeDeliveryMetrics::builder()
                .creative_id(assignment.creative_id.clone())
                .impressions(part.impressions)
                .spend(part.spend)
                .build(),
        )?;
        row.clicks = Some(part.clicks);
        row.conversions = Some(part.conversions);
        row.weight = Some(fraction * 100.0);
        if part.impressions > 0.0 {
            row.ctr = Some((part.clicks / part.impressions).min(1.0));
            row.cpm = Some(part.spend * 1000.0 / part.impressions);
        }
        rows.push(row);
    }
    Ok(rows)
}

/// One `media_buy_deliveries[]` entry: the buy's totals and its packages' shares (by budget).
/// `conversion_value` is the logged value of the buy's valued event sources, if it has any.
pub(crate) fn report(
    buy: &MediaBuy,
    totals: &Totals,
    conversion_value: Option<f64>,
    catalog: &Catalog,
) -> Result<BuyDelivery, AdcpError> {
    let delivered = totals.delivered;
    let mut buy_totals = built(BuyTotals::builder().spend(delivered.spend).build())?;
    fill_row!(
        &mut buy_totals,
        &metrics(delivered, Some(&totals.audience), buy),
        TotalsWindow,
        TotalsWindowKind
    );
    if let Some(block) = totals
        .audience
        .viewability
        .as_ref()
        .and_then(Viewability::to_json)
    {
        buy_totals.viewability = Some(simulated(&block)?);
    }
    if let Some(value) = conversion_value.filter(|_| delivered.conversions > 0.0) {
        buy_totals.conversion_value = Some(value);
        if delivered.spend > 0.0 {
            buy_totals.roas = Some(value / delivered.spend);
        }
    }
    let budgets: Vec<f64> = buy
        .packages
        .iter()
        .map(|p| p.budget.unwrap_or(0.0))
        .collect();
    let total_budget: f64 = budgets.iter().sum();
    #[allow(clippy::cast_precision_loss)]
    let even = 1.0 / buy.packages.len().max(1) as f64;
    let mut by_package = Vec::with_capacity(buy.packages.len());
    for (package, budget) in buy.packages.iter().zip(&budgets) {
        let fraction = if total_budget > 0.0 {
            budget / total_budget
        } else {
            even
        };
        let share = delivered.share(fraction);
        let (pricing_model, rate) = pricing_of(package, catalog)?;
        let mut entry = built(
            PackageDelivery::builder()
                .package_id(package.package_id.clone())
                .pricing_model(pricing_model)
                .rate(rate)
                .currency(buy.currency.clone())
                .spend(share.spend)
                .build(),
        )?;
        let creatives = by_creative(package, share)?;
        if !creatives.is_empty() {
            entry.by_creative = Some(creatives);
        }
        fill_row!(
            &mut entry,
            &metrics(share, None, buy),
            PackageWindow,
            PackageWindowKind
        );
        by_package.push(entry);
    }
    built(
        BuyDelivery::builder()
            .media_buy_id(buy.id.clone())
            .status(delivery_status(buy.status))
            .totals(buy_totals)
            .by_package(by_package)
            .build(),
    )
}
