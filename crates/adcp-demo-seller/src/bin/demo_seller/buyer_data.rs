//! The demo's buyer-data side: the audiences and conversion event sources a buyer registers,
//! and the conversion events it logs. Registrations belong to the calling buyer agent (the
//! principal): `log_event` names no account, so the principal is what ties an event to the
//! source it was registered as. Media buys may only reference what their buyer registered, and
//! delivery reports the value of the logged conversions (each `event_id` counted once).

use std::collections::BTreeSet;
use std::sync::Arc;

use adcp_server::{BuyerDataPlatform, BuyerDataTool, CallContext, Outcome, TaskResult};
use adcp_types::AdcpError;
use adcp_types::generated::{
    LogEventRequest, LogEventResponse, SyncAudiencesRequest, SyncAudiencesResponse,
    SyncEventSourcesRequest, SyncEventSourcesResponse,
};
use dashmap::DashMap;
use serde_json::{Value, json};

use crate::sales::typed;

/// What each buyer registered, and the value its logged events carried.
#[derive(Debug, Default)]
pub(crate) struct Registries {
    audiences: DashMap<String, BTreeSet<String>>,
    event_sources: DashMap<String, BTreeSet<String>>,
    /// Summed `custom_data` numbers, keyed by (buyer, event source, field).
    logged_values: DashMap<(String, String, String), f64>,
    /// The (buyer, event id) pairs already counted.
    seen_events: DashMap<(String, String), ()>,
}

/// The largest custom-data number counted (keeps sums finite).
const MAX_VALUE: f64 = 1e12;

impl Registries {
    /// Whether `buyer` registered audience `id`.
    pub(crate) fn has_audience(&self, buyer: &str, id: &str) -> bool {
        self.audiences
            .get(buyer)
            .is_some_and(|ids| ids.contains(id))
    }

    /// Whether `buyer` registered event source `id`.
    pub(crate) fn has_event_source(&self, buyer: &str, id: &str) -> bool {
        self.event_sources
            .get(buyer)
            .is_some_and(|ids| ids.contains(id))
    }

    /// The summed `field` of the events `buyer` logged on `source`.
    pub(crate) fn logged_value(&self, buyer: &str, source: &str, field: &str) -> f64 {
        self.logged_values
            .get(&(buyer.to_owned(), source.to_owned(), field.to_owned()))
            .map_or(0.0, |sum| *sum)
    }
}

/// The demo's [`BuyerDataPlatform`].
#[derive(Debug, Clone)]
pub(crate) struct DemoBuyerData {
    pub(crate) registries: Arc<Registries>,
}

/// The buyer agent registrations belong to: the caller's principal.
pub(crate) fn buyer_of(ctx: &CallContext) -> String {
    ctx.principal()
        .map(|p| p.id().to_owned())
        .unwrap_or_default()
}

/// Registers (or, with `delete: true`, removes) each listed entry of `items` by `id_field`;
/// returns the per-entry results with their `action`.
fn sync_ids(
    registry: &DashMap<String, BTreeSet<String>>,
    buyer: &str,
    items: &[Value],
    id_field: &str,
) -> Vec<(String, &'static str)> {
    let mut ids = registry.entry(buyer.to_owned()).or_default();
    items
        .iter()
        .filter_map(|item| {
            let id = item.get(id_field)?.as_str()?.to_owned();
            let action = if item.get("delete") == Some(&Value::Bool(true)) {
                ids.remove(&id);
                "deleted"
            } else if ids.insert(id.clone()) {
                "created"
            } else {
                "updated"
            };
            Some((id, action))
        })
        .collect()
}

#[async_trait::async_trait]
impl BuyerDataPlatform for DemoBuyerData {
    fn tools(&self) -> Vec<BuyerDataTool> {
        vec![
            BuyerDataTool::SyncAudiences,
            BuyerDataTool::SyncEventSources,
            BuyerDataTool::LogEvent,
        ]
    }

    async fn sync_audiences(
        &self,
        request: SyncAudiencesRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncAudiencesResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap_or(Value::Null);
        let items = request["audiences"].as_array().cloned().unwrap_or_default();
        let results: Vec<Value> = sync_ids(
            &self.registries.audiences,
            &buyer_of(ctx),
            &items,
            "audience_id",
        )
        .into_iter()
        .map(|(id, action)| {
            if action == "deleted" {
                json!({ "audience_id": id, "action": action })
            } else {
                json!({ "audience_id": id, "action": action, "status": "ready" })
            }
        })
        .collect();
        Ok(Outcome::Completed(typed(json!({ "audiences": results }))?))
    }

    async fn sync_event_sources(
        &self,
        request: SyncEventSourcesRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncEventSourcesResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap_or(Value::Null);
        let items = request["event_sources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let results: Vec<Value> = sync_ids(
            &self.registries.event_sources,
            &buyer_of(ctx),
            &items,
            "event_source_id",
        )
        .into_iter()
        .map(|(id, action)| {
            json!({
                "event_source_id": id,
                "action": action,
                "setup": {
                    "snippet_type": "javascript",
                    "snippet": format!(
                        "<script async src=\"https://pixel.outdoormagazine.example/p.js\" data-source=\"{id}\"></script>"
                    )
                }
            })
        })
        .collect();
        Ok(Outcome::Completed(typed(
            json!({ "event_sources": results }),
        )?))
    }

    async fn log_event(
        &self,
        request: LogEventRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<LogEventResponse>, AdcpError> {
        let request = serde_json::to_value(&request).unwrap_or(Value::Null);
        let buyer = buyer_of(ctx);
        let source = request["event_source_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !self.registries.has_event_source(&buyer, &source) {
            return Err(AdcpError::invalid_request(format!(
                "event source `{source}` is not registered; call sync_event_sources first"
            ))
            .with_field("event_source_id"));
        }
        let events = request["events"].as_array().cloned().unwrap_or_default();
        // Test events are acknowledged but never counted.
        let counted = request.get("test_event_code").is_none_or(Value::is_null);
        for event in events.iter().filter(|_| counted) {
            if let Some(event_id) = event.get("event_id").and_then(Value::as_str)
                && self
                    .registries
                    .seen_events
                    .insert((buyer.clone(), event_id.to_owned()), ())
                    .is_some()
            {
                continue;
            }
            let Some(data) = event.get("custom_data").and_then(Value::as_object) else {
                continue;
            };
            for (field, value) in data {
                if let Some(number) = value.as_f64().filter(|n| (0.0..=MAX_VALUE).contains(n)) {
                    let mut sum = self
                        .registries
                        .logged_values
                        .entry((buyer.clone(), source.clone(), field.clone()))
                        .or_default();
                    *sum = (*sum + number).min(MAX_VALUE);
                }
            }
        }
        Ok(Outcome::Completed(typed(json!({
            "events_received": events.len(),
            "events_processed": events.len(),
        }))?))
    }
}

/// Checks package `i`'s references to buyer data against what `buyer` registered: audiences
/// in `targeting_overlay.audience_include`/`audience_exclude` and event sources in event
/// goals, and that a `per_ad_spend` target names each source's `value_field`. Returns the
/// (event source, value field) pairs whose logged value the buy's delivery reports.
pub(crate) fn check_references(
    package: &Value,
    buyer: &str,
    registries: &Registries,
    i: usize,
) -> Result<Vec<(String, String)>, AdcpError> {
    for list in ["audience_include", "audience_exclude"] {
        let ids = package
            .pointer(&format!("/targeting_overlay/{list}"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (k, id) in ids.iter().enumerate() {
            let id = id.as_str().unwrap_or_default();
            if !registries.has_audience(buyer, id) {
                return Err(AdcpError::invalid_request(format!(
                    "audience `{id}` is not registered by this buyer; call sync_audiences first"
                ))
                .with_field(format!("packages[{i}].targeting_overlay.{list}[{k}]")));
            }
        }
    }
    let mut valued = Vec::new();
    let goals = package["optimization_goals"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for (j, goal) in goals.iter().enumerate() {
        let per_ad_spend =
            goal.pointer("/target/kind").and_then(Value::as_str) == Some("per_ad_spend");
        let sources = goal["event_sources"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (k, source) in sources.iter().enumerate() {
            let field = |name: &str| {
                format!("packages[{i}].optimization_goals[{j}].event_sources[{k}].{name}")
            };
            let id = source["event_source_id"].as_str().unwrap_or_default();
            if !registries.has_event_source(buyer, id) {
                return Err(AdcpError::invalid_request(format!(
                    "event source `{id}` is not registered by this buyer; call sync_event_sources first"
                ))
                .with_field(field("event_source_id")));
            }
            match source["value_field"].as_str() {
                Some(value_field) => valued.push((id.to_owned(), value_field.to_owned())),
                None if per_ad_spend => {
                    return Err(AdcpError::invalid_request(
                        "a per_ad_spend target needs each event source's value_field (the conversion value to divide by spend)",
                    )
                    .with_field(field("value_field")));
                }
                None => {}
            }
        }
    }
    Ok(valued)
}
