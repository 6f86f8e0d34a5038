//! The demo's delivery: a ledger of simulated delivery per media buy (fed by the sandbox
//! `simulate_delivery` controller scenario) and the `get_media_buy_delivery` report built from
//! it. Reach and frequency are the last simulated values when a simulation injected them, else
//! a simple audience model: each reach unit sees the buy [`NATURAL_FREQUENCY`] times on
//! average; either way never more often than the tightest package frequency cap. The totals
//! are cumulative since the buy started, and say so in `reach_window` unless a simulation
//! declared another window.

use adcp_types::AdcpError;
use dashmap::DashMap;
use serde_json::{Map, Value, json};

use crate::catalog::Catalog;

/// The stored buy's private field: the reach unit its reach goal asked for.
pub(crate) const REACH_UNIT: &str = "_reach_unit";

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

/// Audience metrics a simulation may set: not additive, so the latest value stands.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Audience {
    pub(crate) reach: Option<f64>,
    pub(crate) frequency: Option<f64>,
    pub(crate) reach_window: Option<Value>,
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
        })
    }

    fn update(&mut self, newer: Self) {
        self.reach = newer.reach.or(self.reach);
        self.frequency = newer.frequency.or(self.frequency);
        self.reach_window = newer.reach_window.or(self.reach_window.take());
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
fn frequency_cap(buy: &Value) -> Option<f64> {
    buy["packages"]
        .as_array()?
        .iter()
        .filter_map(|package| package.pointer("/targeting_overlay/frequency_cap"))
        .filter(|cap| cap.get("per").and_then(Value::as_str) == Some("individuals"))
        .filter_map(|cap| cap.get("max_impressions").and_then(Value::as_f64))
        .reduce(f64::min)
}

/// The delivery metrics object (`core/delivery-metrics.json`) for `delivered` under `buy`,
/// with the simulated `audience` values for the buy's totals (`None` for a package's share).
fn metrics(delivered: Delivered, audience: Option<&Audience>, buy: &Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("impressions".into(), json!(delivered.impressions));
    map.insert("spend".into(), json!(delivered.spend));
    map.insert("clicks".into(), json!(delivered.clicks));
    if delivered.conversions > 0.0 {
        map.insert("conversions".into(), json!(delivered.conversions));
    }
    if delivered.impressions > 0.0 {
        map.insert(
            "ctr".into(),
            json!((delivered.clicks / delivered.impressions).min(1.0)),
        );
        map.insert(
            "cpm".into(),
            json!(delivered.spend * 1000.0 / delivered.impressions),
        );
        let simulated = audience
            .and_then(|a| a.frequency)
            .unwrap_or(NATURAL_FREQUENCY);
        let frequency = frequency_cap(buy).map_or(simulated, |cap| simulated.min(cap));
        let reach = audience
            .and_then(|a| a.reach)
            .unwrap_or_else(|| (delivered.impressions / frequency).round());
        map.insert("reach".into(), json!(reach));
        map.insert(
            "reach_unit".into(),
            buy.get(REACH_UNIT)
                .cloned()
                .unwrap_or_else(|| json!("individuals")),
        );
        map.insert("frequency".into(), json!(frequency));
        map.insert(
            "reach_window".into(),
            audience
                .and_then(|a| a.reach_window.clone())
                .unwrap_or_else(|| json!({ "kind": "cumulative" })),
        );
        if delivered.completed_views > 0.0 {
            map.insert("completed_views".into(), json!(delivered.completed_views));
            map.insert(
                "completion_rate".into(),
                json!((delivered.completed_views / delivered.impressions).min(1.0)),
            );
        }
    }
    if delivered.conversions > 0.0 {
        map.insert(
            "cost_per_acquisition".into(),
            json!(delivered.spend / delivered.conversions),
        );
    }
    if delivered.clicks > 0.0 {
        map.insert(
            "cost_per_click".into(),
            json!(delivered.spend / delivered.clicks),
        );
    }
    map
}

/// The pricing model and rate of a package's pricing option in the catalog.
fn pricing_of(package: &Value, catalog: &Catalog) -> (String, f64) {
    let option = package["product_id"]
        .as_str()
        .and_then(|id| catalog.find(id))
        .and_then(|product| {
            product["pricing_options"].as_array().and_then(|options| {
                options
                    .iter()
                    .find(|o| o["pricing_option_id"] == package["pricing_option_id"])
                    .or_else(|| options.first())
                    .cloned()
            })
        })
        .unwrap_or(Value::Null);
    let model = option["pricing_model"].as_str().unwrap_or("cpm").to_owned();
    let rate = package["bid_price"]
        .as_f64()
        .or_else(|| option["fixed_price"].as_f64())
        .or_else(|| option["floor_price"].as_f64())
        .unwrap_or(0.0);
    (model, rate)
}

/// One `media_buy_deliveries[]` entry: the buy's totals and its packages' shares (by budget).
/// `conversion_value` is the logged value of the buy's valued event sources, if it has any.
pub(crate) fn report(
    buy: &Value,
    totals: &Totals,
    conversion_value: Option<f64>,
    catalog: &Catalog,
) -> Value {
    let delivered = totals.delivered;
    let mut buy_totals = metrics(delivered, Some(&totals.audience), buy);
    if let Some(value) = conversion_value.filter(|_| delivered.conversions > 0.0) {
        buy_totals.insert("conversion_value".into(), json!(value));
        if delivered.spend > 0.0 {
            buy_totals.insert("roas".into(), json!(value / delivered.spend));
        }
    }
    let packages = buy["packages"].as_array().cloned().unwrap_or_default();
    let budgets: Vec<f64> = packages
        .iter()
        .map(|p| p["budget"].as_f64().unwrap_or(0.0))
        .collect();
    let total_budget: f64 = budgets.iter().sum();
    #[allow(clippy::cast_precision_loss)]
    let even = 1.0 / packages.len().max(1) as f64;
    let by_package: Vec<Value> = packages
        .iter()
        .zip(&budgets)
        .map(|(package, budget)| {
            let fraction = if total_budget > 0.0 {
                budget / total_budget
            } else {
                even
            };
            let (pricing_model, rate) = pricing_of(package, catalog);
            let mut entry = metrics(delivered.share(fraction), None, buy);
            entry.insert("package_id".into(), package["package_id"].clone());
            entry.insert("pricing_model".into(), json!(pricing_model));
            entry.insert("rate".into(), json!(rate));
            entry.insert("currency".into(), json!("USD"));
            Value::Object(entry)
        })
        .collect();
    json!({
        "media_buy_id": buy["media_buy_id"],
        "status": buy["media_buy_status"],
        "totals": buy_totals,
        "by_package": by_package,
    })
}
