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
    AudienceStatus, LogEventRequest, LogEventResponse, LogEventSuccess, OptimizationGoal,
    OptimizationGoalVariant1Target, SyncAudiencesRequest, SyncAudiencesResponse,
    SyncAudiencesSuccess, SyncAudiencesSuccessAudiencesItem,
    SyncAudiencesSuccessAudiencesItemAction, SyncEventSourcesRequest, SyncEventSourcesResponse,
    SyncEventSourcesSuccess, SyncEventSourcesSuccessEventSourcesItem,
    SyncEventSourcesSuccessEventSourcesItemAction, SyncEventSourcesSuccessEventSourcesItemSetup,
    SyncEventSourcesSuccessEventSourcesItemSetupSnippetType, Targeting,
};
use dashmap::DashMap;
use serde_json::Value;

use crate::reply::built;

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

/// What a sync did to one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Synced {
    Created,
    Updated,
    Deleted,
}

/// Registers (or, with `delete`, removes) each `(id, delete)` entry for `buyer`; returns what
/// happened to each.
fn sync_ids<'a>(
    registry: &DashMap<String, BTreeSet<String>>,
    buyer: &str,
    items: impl Iterator<Item = (&'a str, bool)>,
) -> Vec<(String, Synced)> {
    let mut ids = registry.entry(buyer.to_owned()).or_default();
    items
        .map(|(id, delete)| {
            let synced = if delete {
                ids.remove(id);
                Synced::Deleted
            } else if ids.insert(id.to_owned()) {
                Synced::Created
            } else {
                Synced::Updated
            };
            (id.to_owned(), synced)
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
        let items = request
            .audiences
            .iter()
            .flatten()
            .map(|a| (a.audience_id.as_str(), a.delete == Some(true)));
        let audiences = sync_ids(&self.registries.audiences, &buyer_of(ctx), items)
            .into_iter()
            .map(|(id, synced)| {
                let action = match synced {
                    Synced::Created => SyncAudiencesSuccessAudiencesItemAction::Created,
                    Synced::Updated => SyncAudiencesSuccessAudiencesItemAction::Updated,
                    Synced::Deleted => SyncAudiencesSuccessAudiencesItemAction::Deleted,
                };
                let item = SyncAudiencesSuccessAudiencesItem::builder()
                    .audience_id(id)
                    .action(action);
                // A deleted audience has no status left to report.
                built(if synced == Synced::Deleted {
                    item.build()
                } else {
                    item.status(AudienceStatus::Ready).build()
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reply = built(SyncAudiencesSuccess::builder().audiences(audiences).build())?;
        Ok(Outcome::Completed(reply.into()))
    }

    async fn sync_event_sources(
        &self,
        request: SyncEventSourcesRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncEventSourcesResponse>, AdcpError> {
        let items = request
            .event_sources
            .iter()
            .flatten()
            // The schema's event-source entry has no `delete`; the demo has always honoured
            // one, so it is read from the entry's additional properties.
            .map(|s| {
                let delete = s.extra.get("delete") == Some(&Value::Bool(true));
                (s.event_source_id.as_str(), delete)
            });
        let event_sources = sync_ids(&self.registries.event_sources, &buyer_of(ctx), items)
            .into_iter()
            .map(|(id, synced)| {
                let action = match synced {
                    Synced::Created => SyncEventSourcesSuccessEventSourcesItemAction::Created,
                    Synced::Updated => SyncEventSourcesSuccessEventSourcesItemAction::Updated,
                    Synced::Deleted => SyncEventSourcesSuccessEventSourcesItemAction::Deleted,
                };
                let setup = SyncEventSourcesSuccessEventSourcesItemSetup {
                    snippet_type: Some(
                        SyncEventSourcesSuccessEventSourcesItemSetupSnippetType::Javascript,
                    ),
                    snippet: Some(format!(
                        "<script async src=\"https://pixel.outdoormagazine.example/p.js\" data-source=\"{id}\"></script>"
                    )),
                    ..SyncEventSourcesSuccessEventSourcesItemSetup::default()
                };
                built(
                    SyncEventSourcesSuccessEventSourcesItem::builder()
                        .event_source_id(id)
                        .action(action)
                        .setup(setup)
                        .build(),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let reply = built(
            SyncEventSourcesSuccess::builder()
                .event_sources(event_sources)
                .build(),
        )?;
        Ok(Outcome::Completed(reply.into()))
    }

    async fn log_event(
        &self,
        request: LogEventRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<LogEventResponse>, AdcpError> {
        let buyer = buyer_of(ctx);
        let source = &request.event_source_id;
        if !self.registries.has_event_source(&buyer, source) {
            return Err(AdcpError::invalid_request(format!(
                "event source `{source}` is not registered; call sync_event_sources first"
            ))
            .with_field("event_source_id"));
        }
        // Test events are acknowledged but never counted.
        let counted = request.test_event_code.is_none();
        for event in request.events.iter().filter(|_| counted) {
            if self
                .registries
                .seen_events
                .insert((buyer.clone(), event.event_id.clone()), ())
                .is_some()
            {
                continue;
            }
            let Some(data) = &event.custom_data else {
                continue;
            };
            // A goal's `value_field` may name any custom-data field, the schema's or the
            // buyer's own, so the sums are kept per field name, over the data as JSON.
            let Ok(Value::Object(data)) = serde_json::to_value(data) else {
                continue;
            };
            for (field, value) in data {
                if let Some(number) = value.as_f64().filter(|n| (0.0..=MAX_VALUE).contains(n)) {
                    let mut sum = self
                        .registries
                        .logged_values
                        .entry((buyer.clone(), source.clone(), field))
                        .or_default();
                    *sum = (*sum + number).min(MAX_VALUE);
                }
            }
        }
        let received = u64::try_from(request.events.len()).unwrap_or(u64::MAX);
        let reply = built(
            LogEventSuccess::builder()
                .events_received(received)
                .events_processed(received)
                .build(),
        )?;
        Ok(Outcome::Completed(reply.into()))
    }
}

/// Checks package `i`'s references to buyer data against what `buyer` registered: audiences
/// in `targeting_overlay.audience_include`/`audience_exclude` and event sources in event
/// goals, and that a `per_ad_spend` target names each source's `value_field`. Returns the
/// (event source, value field) pairs whose logged value the buy's delivery reports.
pub(crate) fn check_references(
    targeting: Option<&Targeting>,
    goals: &[OptimizationGoal],
    buyer: &str,
    registries: &Registries,
    i: usize,
) -> Result<Vec<(String, String)>, AdcpError> {
    let audience_lists = [
        (
            "audience_include",
            targeting.and_then(|t| t.audience_include.as_ref()),
        ),
        (
            "audience_exclude",
            targeting.and_then(|t| t.audience_exclude.as_ref()),
        ),
    ];
    for (list, ids) in audience_lists {
        for (k, id) in ids.into_iter().flatten().enumerate() {
            if !registries.has_audience(buyer, id) {
                return Err(AdcpError::invalid_request(format!(
                    "audience `{id}` is not registered by this buyer; call sync_audiences first"
                ))
                .with_field(format!("packages[{i}].targeting_overlay.{list}[{k}]")));
            }
        }
    }
    let mut valued = Vec::new();
    for (j, goal) in goals.iter().enumerate() {
        // Only event goals name event sources.
        let OptimizationGoal::Variant1 {
            event_sources,
            target,
            ..
        } = goal
        else {
            continue;
        };
        let per_ad_spend = matches!(
            target,
            Some(OptimizationGoalVariant1Target::Variant1 { .. })
        );
        for (k, source) in event_sources.iter().enumerate() {
            let field = |name: &str| {
                format!("packages[{i}].optimization_goals[{j}].event_sources[{k}].{name}")
            };
            let id = &source.event_source_id;
            if !registries.has_event_source(buyer, id) {
                return Err(AdcpError::invalid_request(format!(
                    "event source `{id}` is not registered by this buyer; call sync_event_sources first"
                ))
                .with_field(field("event_source_id")));
            }
            match &source.value_field {
                Some(value_field) => valued.push((id.clone(), value_field.clone())),
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
