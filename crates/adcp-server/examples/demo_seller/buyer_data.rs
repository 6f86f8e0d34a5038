//! The demo's buyer-data side: the audiences and conversion event sources a buyer registers
//! (per account), and the conversion events it logs. Media buys may only reference what the
//! account registered, and delivery reports the value of the logged conversions.

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

/// What each account registered, and the value its logged events carried.
#[derive(Debug, Default)]
pub(crate) struct Registries {
    audiences: DashMap<String, BTreeSet<String>>,
    event_sources: DashMap<String, BTreeSet<String>>,
    /// Summed `custom_data` numbers, keyed by (account, event source, field).
    logged_values: DashMap<(String, String, String), f64>,
}

impl Registries {
    /// Whether `account` registered audience `id`.
    pub(crate) fn has_audience(&self, account: &str, id: &str) -> bool {
        self.audiences
            .get(account)
            .is_some_and(|ids| ids.contains(id))
    }

    /// Whether `account` registered event source `id`.
    pub(crate) fn has_event_source(&self, account: &str, id: &str) -> bool {
        self.event_sources
            .get(account)
            .is_some_and(|ids| ids.contains(id))
    }

    /// The summed `field` of the events `account` logged on `source`.
    pub(crate) fn logged_value(&self, account: &str, source: &str, field: &str) -> f64 {
        self.logged_values
            .get(&(account.to_owned(), source.to_owned(), field.to_owned()))
            .map_or(0.0, |sum| *sum)
    }
}

/// The demo's [`BuyerDataPlatform`].
#[derive(Debug, Clone)]
pub(crate) struct DemoBuyerData {
    pub(crate) registries: Arc<Registries>,
}

fn typed<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, AdcpError> {
    serde_json::from_value(value).map_err(|error| {
        tracing::error!(%error, "demo seller built an invalid response");
        AdcpError::internal()
    })
}

fn account_of(ctx: &CallContext) -> String {
    ctx.account().map(|a| a.id().to_owned()).unwrap_or_default()
}

/// Registers (or, with `delete: true`, removes) each listed entry of `items` by `id_field`;
/// returns the per-entry results with their `action`.
fn sync_ids(
    registry: &DashMap<String, BTreeSet<String>>,
    account: &str,
    items: &[Value],
    id_field: &str,
) -> Vec<(String, &'static str)> {
    let mut ids = registry.entry(account.to_owned()).or_default();
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
            &account_of(ctx),
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
            &account_of(ctx),
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
        let account = account_of(ctx);
        let source = request["event_source_id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !self.registries.has_event_source(&account, &source) {
            return Err(AdcpError::invalid_request(format!(
                "event source `{source}` is not registered; call sync_event_sources first"
            ))
            .with_field("event_source_id"));
        }
        let events = request["events"].as_array().cloned().unwrap_or_default();
        for event in &events {
            let Some(data) = event.get("custom_data").and_then(Value::as_object) else {
                continue;
            };
            for (field, value) in data {
                if let Some(number) = value.as_f64().filter(|n| n.is_finite() && *n >= 0.0) {
                    *self
                        .registries
                        .logged_values
                        .entry((account.clone(), source.clone(), field.clone()))
                        .or_default() += number;
                }
            }
        }
        Ok(Outcome::Completed(typed(json!({
            "events_received": events.len(),
            "events_processed": events.len(),
        }))?))
    }
}

/// Checks package `i`'s references to buyer data against what `account` registered: audiences
/// in `targeting_overlay.audience_include`/`audience_exclude` and event sources in event
/// goals, and that a `per_ad_spend` target names each source's `value_field`. Returns the
/// (event source, value field) pairs whose logged value the buy's delivery reports.
pub(crate) fn check_references(
    package: &Value,
    account: &str,
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
            if !registries.has_audience(account, id) {
                return Err(AdcpError::invalid_request(format!(
                    "audience `{id}` is not registered for this account; call sync_audiences first"
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
            if !registries.has_event_source(account, id) {
                return Err(AdcpError::invalid_request(format!(
                    "event source `{id}` is not registered for this account; call sync_event_sources first"
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
