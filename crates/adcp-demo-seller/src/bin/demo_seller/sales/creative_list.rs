//! `list_creatives`: the caller's creative library (rc.9 `creative/list-creatives-request.json`),
//! filtered and paged. Archived creatives are left out unless the filter asks for them
//! ("Archived creatives ... are excluded from default queries").

use adcp_server::{CallContext, Outcome, ToolHandler};
use adcp_types::AdcpError;
use adcp_types::generated::{
    CreativeFilters, CreativeStatus, ListCreativesRequest, ListCreativesResponse,
    ListCreativesResponseCreativesItem, ListCreativesResponseCreativesItemAssignments,
    ListCreativesResponseCreativesItemAssignmentsAssignedPackagesItem,
    ListCreativesResponseQuerySummary,
};
use async_trait::async_trait;
use serde_json::{Map, Value};

use super::creatives::{self, Assignment, Creative};
use super::paging::Page;
use crate::buys::Scope;
use crate::catalog::same_format;
use crate::reply::built;

/// The `list_creatives` tool: a custom tool, so its handler reads and answers JSON; the
/// request is parsed into the typed request and the reply built typed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoCreatives;

/// The filters applied, by name, for `query_summary.filters_applied`.
fn applied(filters: &CreativeFilters) -> Vec<String> {
    let mut out = Vec::new();
    let mut note = |set: bool, name: &str| {
        if set {
            out.push(name.to_owned());
        }
    };
    note(filters.creative_ids.is_some(), "creative_ids");
    note(filters.statuses.is_some(), "statuses");
    note(filters.format_ids.is_some(), "format_ids");
    note(filters.name_contains.is_some(), "name_contains");
    note(filters.tags.is_some(), "tags");
    note(filters.tags_any.is_some(), "tags_any");
    out
}

/// Whether `creative` passes `filters`: `creative_ids`, `statuses` (default: every status but
/// `archived`), `format_ids`, `name_contains`, `tags` (all) and `tags_any`. The assignment
/// filters (`assigned_to_packages`, `media_buy_ids`, `unassigned`) are applied by [`list`].
fn matches(creative: &Creative, filters: Option<&CreativeFilters>) -> bool {
    let statuses = filters.and_then(|f| f.statuses.as_ref());
    let status_ok = match statuses {
        Some(statuses) => statuses.contains(&creative.status),
        None => creative.status != CreativeStatus::Archived,
    };
    let Some(filters) = filters else {
        return status_ok;
    };
    let tags = creative.tags.as_deref().unwrap_or_default();
    status_ok
        && filters
            .creative_ids
            .as_ref()
            .is_none_or(|ids| ids.contains(&creative.id))
        && filters
            .format_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|id| same_format(id, &creative.format_id)))
        && filters.name_contains.as_ref().is_none_or(|needle| {
            creative
                .name
                .to_lowercase()
                .contains(&needle.to_lowercase())
        })
        && filters
            .tags
            .as_ref()
            .is_none_or(|wanted| wanted.iter().all(|t| tags.contains(t)))
        && filters
            .tags_any
            .as_ref()
            .is_none_or(|wanted| wanted.iter().any(|t| tags.contains(t)))
}

/// `creative` as `list_creatives` lists it.
fn listing(
    creative: &Creative,
    assigned: &[Assignment],
    include_assignments: bool,
) -> Result<ListCreativesResponseCreativesItem, AdcpError> {
    let mut item = built(
        ListCreativesResponseCreativesItem::builder()
            .creative_id(creative.id.clone())
            .name(creative.name.clone())
            .format_id(creative.format_id.clone())
            .status(creative.status)
            .created_date(creative.created.clone())
            .updated_date(creative.updated.clone())
            .build(),
    )?;
    item.assets = Some(creative.assets.clone());
    item.tags.clone_from(&creative.tags);
    if let Some(reason) = &creative.rejection_reason {
        item.extra
            .insert("rejection_reason".into(), Value::from(reason.as_str()));
    }
    if include_assignments {
        let packages: Vec<ListCreativesResponseCreativesItemAssignmentsAssignedPackagesItem> =
            assigned
                .iter()
                .filter(|a| a.creative_id == creative.id)
                .map(
                    |a| ListCreativesResponseCreativesItemAssignmentsAssignedPackagesItem {
                        assigned_date: a.since.clone(),
                        package_id: a.package_id.clone(),
                        extra: Map::new(),
                    },
                )
                .collect();
        item.assignments = Some(ListCreativesResponseCreativesItemAssignments {
            assignment_count: u64::try_from(packages.len()).unwrap_or(u64::MAX),
            assigned_packages: Some(packages),
            extra: Map::new(),
        });
    }
    Ok(item)
}

/// `list_creatives` for `scope`; `raw` is the request as received (for the cursor's query
/// digest).
pub(crate) fn list(
    request: &ListCreativesRequest,
    raw: &Value,
    scope: &Scope,
) -> Result<ListCreativesResponse, AdcpError> {
    let page = Page::read(request.pagination.as_ref(), raw)?;
    let filters = request.filters.as_ref();
    let assigned = creatives::library().assignments(scope);
    let is_assigned = |creative: &Creative| assigned.iter().any(|a| a.creative_id == creative.id);
    let matching: Vec<Creative> = creatives::library()
        .visible(scope)
        .into_iter()
        .filter(|c| matches(c, filters))
        .filter(|c| {
            let Some(filters) = filters else { return true };
            filters
                .unassigned
                .is_none_or(|unassigned| unassigned != is_assigned(c))
                && filters
                    .assigned_to_packages
                    .as_ref()
                    .is_none_or(|packages| {
                        assigned
                            .iter()
                            .any(|a| a.creative_id == c.id && packages.contains(&a.package_id))
                    })
                && filters.media_buy_ids.as_ref().is_none_or(|ids| {
                    assigned
                        .iter()
                        .any(|a| a.creative_id == c.id && ids.contains(&a.media_buy_id))
                })
        })
        .collect();
    let total = matching.len();
    let (page_items, pagination) = page.cut(matching);
    let include_assignments = request.include_assignments == Some(true);
    let creatives = page_items
        .iter()
        .map(|c| listing(c, &assigned, include_assignments))
        .collect::<Result<Vec<_>, _>>()?;
    let mut summary = ListCreativesResponseQuerySummary {
        filters_applied: None,
        returned: u64::try_from(creatives.len()).unwrap_or(u64::MAX),
        sort_applied: None,
        total_matching: u64::try_from(total).unwrap_or(u64::MAX),
        extra: Map::new(),
    };
    if let Some(filters) = filters {
        summary.filters_applied = Some(applied(filters));
    }
    built(
        ListCreativesResponse::builder()
            .creatives(creatives)
            .pagination(pagination)
            .query_summary(summary)
            .build(),
    )
}

#[async_trait]
impl ToolHandler for DemoCreatives {
    async fn call(&self, request: Value, ctx: &CallContext) -> Result<Outcome<Value>, AdcpError> {
        let typed: ListCreativesRequest =
            serde_json::from_value(request.clone()).map_err(|error| {
                AdcpError::invalid_request(format!("not a list_creatives request: {error}"))
            })?;
        let scope = Scope::of(ctx);
        let reply = list(&typed, &request, &scope)?;
        let reply = serde_json::to_value(reply).map_err(|error| {
            tracing::error!(%error, "list_creatives reply did not serialise");
            AdcpError::internal()
        })?;
        Ok(Outcome::Completed(reply))
    }
}
