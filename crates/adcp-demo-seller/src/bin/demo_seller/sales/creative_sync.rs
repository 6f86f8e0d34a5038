//! `sync_creatives`: upserts creatives into the caller's library and assigns them to the
//! caller's packages (rc.9 `creative/sync-creatives-request.json`).
//!
//! Each creative is checked before anything is stored: it must name a `format_id` the demo
//! accepts ([`formats::resolve`]) and provide that format's required assets. Under
//! `validation_mode: strict` (the default: "'strict' fails entire sync on any validation
//! error") one invalid creative fails the whole call and nothing is stored; under `lenient`
//! the valid ones are stored and each invalid one is reported `failed` with its errors. A
//! stored creative is reviewed at once (auto-approval, see [`creatives`]): `created`,
//! `updated` (naming what changed) or `unchanged`, and `approved`. `dry_run` reports the same
//! without storing anything.

use adcp_types::generated::{
    CoreError, CreativeAction, CreativeAsset, CreativeAssignment, CreativeStatus,
    SyncCreativesRequest, SyncCreativesSuccess, SyncCreativesSuccessCreativesItem, ValidationMode,
};
use adcp_types::{AdcpError, codes};
use serde_json::{Map, Value};

use super::creatives::{self, Creative};
use super::formats;
use crate::buys::{BuyBook, Scope, clock};
use crate::catalog::Catalog;
use crate::reply::built;

/// A creative that passed its checks, not yet stored.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    creative: Creative,
    warnings: Vec<String>,
}

impl Candidate {
    /// The creative's id.
    pub(crate) fn creative_id(&self) -> &str {
        &self.creative.id
    }
}

/// What storing a candidate did.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    /// What the sync did to the creative.
    pub(crate) action: CreativeAction,
    /// Where the creative now sits in review.
    pub(crate) status: CreativeStatus,
    /// The fields an update changed.
    pub(crate) changes: Vec<String>,
}

/// Checks `asset` (at `field`, e.g. `creatives[0]`) and returns it as the demo would store it.
/// Fails with `VALIDATION_ERROR` naming the offending field: no `format_id` (the demo takes
/// creatives by named format, not by `format_kind`), a format the demo does not accept, or a
/// required asset missing.
pub(crate) fn check(
    asset: &CreativeAsset,
    field: &str,
    catalog: &Catalog,
    now: &str,
) -> Result<Candidate, AdcpError> {
    let Some(requested) = &asset.format_id else {
        return Err(AdcpError::new(
            codes::VALIDATION_ERROR,
            "this seller takes creatives in a named format: set `format_id`",
        )
        .with_field(format!("{field}.format_id"))
        .with_suggestion("pick a format from list_creative_formats"));
    };
    let Some(resolved) = formats::resolve(catalog, requested)? else {
        return Err(AdcpError::new(
            codes::VALIDATION_ERROR,
            format!("this seller does not accept format `{}`", requested.id),
        )
        .with_field(format!("{field}.format_id"))
        .with_suggestion("pick a format from list_creative_formats"));
    };
    if let Some(missing) = formats::required_assets(&resolved.format)
        .into_iter()
        .find(|id| !asset.assets.contains_key(id))
    {
        return Err(AdcpError::new(
            codes::VALIDATION_ERROR,
            format!(
                "format `{}` requires the asset `{missing}`",
                resolved.format.format_id.id
            ),
        )
        .with_field(format!("{field}.assets.{missing}")));
    }
    let mut warnings = Vec::new();
    if resolved.agent_mismatch {
        warnings.push(format!(
            "format_id.agent_url `{}` does not define `{}`; resolved to this seller's format of \
             that id at `{}`",
            requested.agent_url, requested.id, resolved.format.format_id.agent_url
        ));
    }
    Ok(Candidate {
        creative: Creative {
            id: asset.creative_id.clone(),
            name: asset.name.clone(),
            format_id: resolved.format.format_id,
            assets: asset.assets.clone(),
            tags: asset.tags.clone(),
            status: CreativeStatus::Approved,
            previous_status: None,
            rejection_reason: None,
            created: now.to_owned(),
            updated: now.to_owned(),
            status_since: now.to_owned(),
        },
        warnings,
    })
}

/// Stores `candidate` for `scope` (unless `dry_run`): a new creative is created, approved; an
/// existing one is updated where it is held (the caller's own, or a seeded fixture the caller
/// sees), and a rejected one resubmitted this way is reviewed again and approved.
pub(crate) fn store(scope: &Scope, candidate: &Candidate, dry_run: bool) -> Stored {
    let library = creatives::library();
    let new = &candidate.creative;
    let Some((holder, mut existing)) = library.locate(scope, &new.id) else {
        if !dry_run {
            library.put(scope.holder(), new.clone());
        }
        return Stored {
            action: CreativeAction::Created,
            status: new.status,
            changes: Vec::new(),
        };
    };
    let mut changes = Vec::new();
    if existing.name != new.name {
        changes.push("name".to_owned());
    }
    if existing.format_id != new.format_id {
        changes.push("format_id".to_owned());
    }
    if existing.assets != new.assets {
        changes.push("assets".to_owned());
    }
    if new.tags.is_some() && existing.tags != new.tags {
        changes.push("tags".to_owned());
    }
    let resubmitted = existing.status == CreativeStatus::Rejected;
    if changes.is_empty() && !resubmitted {
        return Stored {
            action: CreativeAction::Unchanged,
            status: existing.status,
            changes,
        };
    }
    existing.name.clone_from(&new.name);
    existing.format_id = new.format_id.clone();
    existing.assets.clone_from(&new.assets);
    if new.tags.is_some() {
        existing.tags.clone_from(&new.tags);
    }
    if resubmitted {
        // Resubmission returns a rejected creative to processing; the demo's review then
        // approves it synchronously.
        existing.transition(CreativeStatus::Processing, &new.updated);
        existing.transition(CreativeStatus::Approved, &new.updated);
        existing.rejection_reason = None;
        changes.push("status".to_owned());
    }
    existing.updated.clone_from(&new.updated);
    let status = existing.status;
    if !dry_run {
        library.put(holder, existing);
    }
    Stored {
        action: CreativeAction::Updated,
        status,
        changes,
    }
}

/// Assigns `assignment`'s creative to package `package_id` of a buy `scope` sees (replacing an
/// earlier assignment of the same creative there), unless `dry_run`. Fails with the reason for
/// `assignment_errors` when there is no such package or its buy can no longer change.
pub(crate) fn assign(
    buys: &BuyBook,
    scope: &Scope,
    package_id: &str,
    assignment: CreativeAssignment,
    dry_run: bool,
) -> Result<(), String> {
    buys.with_package(scope, package_id, |buy, index| {
        if buy.is_terminal() {
            return Err(format!("media buy `{}` is {}", buy.id, buy.status));
        }
        if buy.packages[index].canceled == Some(true) {
            return Err(format!("package `{package_id}` is canceled"));
        }
        if dry_run {
            return Ok(());
        }
        let assigned = buy.packages[index]
            .creative_assignments
            .get_or_insert_with(Vec::new);
        assigned.retain(|a| a.creative_id != assignment.creative_id);
        assigned.push(assignment);
        buy.revision = buy.revision.saturating_add(1);
        creatives::library().settle(buy);
        Ok(())
    })
    .unwrap_or_else(|| Err(format!("no package `{package_id}`")))
}

/// An error as a sync result item carries it.
fn item_error(error: &AdcpError) -> Result<CoreError, AdcpError> {
    serde_json::from_value(error.to_value()).map_err(|e| {
        tracing::error!(error = %e, "an error did not fit core/error.json");
        AdcpError::internal()
    })
}

/// `sync_creatives` for `scope`.
pub(crate) fn sync(
    request: &SyncCreativesRequest,
    scope: &Scope,
    catalog: &Catalog,
    buys: &BuyBook,
) -> Result<SyncCreativesSuccess, AdcpError> {
    let dry_run = request.dry_run == Some(true);
    let delete_missing = request.delete_missing == Some(true);
    if delete_missing && request.creative_ids.is_some() {
        return Err(AdcpError::invalid_request(
            "`delete_missing` applies to the whole library and cannot be combined with `creative_ids`",
        )
        .with_field("delete_missing"));
    }
    let lenient = request.validation_mode == Some(ValidationMode::Lenient);
    let now = clock::wire(scope.now());
    let in_scope = |id: &str| {
        request
            .creative_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|x| x == id))
    };
    let checked: Vec<(String, Result<Candidate, AdcpError>)> = request
        .creatives
        .iter()
        .enumerate()
        .filter(|(_, asset)| in_scope(&asset.creative_id))
        .map(|(i, asset)| {
            let field = format!("creatives[{i}]");
            (
                asset.creative_id.clone(),
                check(asset, &field, catalog, &now),
            )
        })
        .collect();
    if !lenient && let Some((_, Err(error))) = checked.iter().find(|(_, c)| c.is_err()) {
        return Err(error.clone().with_suggestion(
            "fix the creative, or sync with validation_mode: lenient to store the valid ones",
        ));
    }
    let mut items: Vec<SyncCreativesSuccessCreativesItem> = Vec::new();
    for (creative_id, result) in checked {
        let item = match result {
            Ok(candidate) => {
                let stored = store(scope, &candidate, dry_run);
                let mut item = built(
                    SyncCreativesSuccessCreativesItem::builder()
                        .creative_id(creative_id)
                        .action(stored.action)
                        .build(),
                )?;
                item.status = Some(stored.status);
                if stored.action == CreativeAction::Updated {
                    item.changes = Some(stored.changes);
                }
                if !candidate.warnings.is_empty() {
                    item.warnings = Some(candidate.warnings);
                }
                item
            }
            Err(error) => {
                let mut item = built(
                    SyncCreativesSuccessCreativesItem::builder()
                        .creative_id(creative_id)
                        .action(CreativeAction::Failed)
                        .build(),
                )?;
                item.errors = Some(vec![item_error(&error)?]);
                item
            }
        };
        items.push(item);
    }
    if delete_missing {
        archive_missing(scope, &request.creatives, &now, dry_run, &mut items)?;
    }
    for assignment in request.assignments.iter().flatten() {
        apply_assignment(buys, scope, assignment, dry_run, &mut items)?;
    }
    let mut reply = built(SyncCreativesSuccess::builder().creatives(items).build())?;
    if dry_run {
        reply.dry_run = Some(true);
    }
    Ok(reply)
}

/// `delete_missing`: archives the caller's own creatives the sync did not list ("creatives not
/// included in this sync will be archived"), reported as updated to `archived`.
fn archive_missing(
    scope: &Scope,
    listed: &[CreativeAsset],
    now: &str,
    dry_run: bool,
    items: &mut Vec<SyncCreativesSuccessCreativesItem>,
) -> Result<(), AdcpError> {
    let library = creatives::library();
    for mut creative in library.visible(scope) {
        let own = library
            .locate(scope, &creative.id)
            .is_some_and(|(holder, _)| holder == scope.holder());
        if !own
            || creative.status == CreativeStatus::Archived
            || listed.iter().any(|a| a.creative_id == creative.id)
        {
            continue;
        }
        let mut item = built(
            SyncCreativesSuccessCreativesItem::builder()
                .creative_id(creative.id.clone())
                .action(CreativeAction::Updated)
                .build(),
        )?;
        item.status = Some(CreativeStatus::Archived);
        item.changes = Some(vec!["status".to_owned()]);
        items.push(item);
        if !dry_run {
            creative.transition(CreativeStatus::Archived, now);
            library.put(scope.holder(), creative);
        }
    }
    Ok(())
}

/// Applies one entry of `assignments`, reporting it on the creative's result item (added as
/// `unchanged` for a library creative the sync did not list, or `failed` with
/// `CREATIVE_NOT_FOUND` when the caller has no such creative).
fn apply_assignment(
    buys: &BuyBook,
    scope: &Scope,
    assignment: &adcp_types::generated::SyncCreativesRequestAssignmentsItem,
    dry_run: bool,
    items: &mut Vec<SyncCreativesSuccessCreativesItem>,
) -> Result<(), AdcpError> {
    let creative_id = &assignment.creative_id;
    let position = if let Some(position) = items.iter().position(|i| i.creative_id == *creative_id)
    {
        position
    } else {
        let mut item = built(
            SyncCreativesSuccessCreativesItem::builder()
                .creative_id(creative_id.clone())
                .action(CreativeAction::Unchanged)
                .build(),
        )?;
        if let Some((_, creative)) = creatives::library().locate(scope, creative_id) {
            item.status = Some(creative.status);
        } else {
            item.action = CreativeAction::Failed;
            item.errors = Some(vec![item_error(
                &AdcpError::new(
                    codes::CREATIVE_NOT_FOUND,
                    format!("no creative `{creative_id}` in this account's library"),
                )
                .with_field("assignments"),
            )?]);
        }
        items.push(item);
        items.len() - 1
    };
    let item = &mut items[position];
    if item.action == CreativeAction::Failed {
        return Ok(());
    }
    let record = CreativeAssignment {
        creative_id: creative_id.clone(),
        placement_ids: assignment.placement_ids.clone(),
        placement_refs: None,
        weight: assignment.weight,
        extra: Map::new(),
    };
    match assign(buys, scope, &assignment.package_id, record, dry_run) {
        Ok(()) => item
            .assigned_to
            .get_or_insert_with(Vec::new)
            .push(assignment.package_id.clone()),
        Err(reason) => {
            item.assignment_errors
                .get_or_insert_with(Map::new)
                .insert(assignment.package_id.clone(), Value::from(reason));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn asset(format: &Value, assets: &Value) -> CreativeAsset {
        serde_json::from_value(json!({
            "creative_id": "c1", "name": "C1", "format_id": format, "assets": assets
        }))
        .unwrap()
    }

    fn image() -> Value {
        json!({"image": {"asset_type": "image", "url": "https://cdn.example/a.png",
                         "width": 300, "height": 250}})
    }

    #[test]
    fn a_creative_in_one_of_the_sellers_formats_is_approved_at_once() {
        let catalog = Catalog::new().unwrap();
        let format =
            json!({"agent_url": "https://creative.adcontextprotocol.org", "id": "display_300x250"});
        let candidate = check(&asset(&format, &image()), "creatives[0]", &catalog, "t").unwrap();
        assert_eq!(candidate.creative.status, CreativeStatus::Approved);
        assert!(candidate.warnings.is_empty());
    }

    #[test]
    fn another_agent_url_resolves_by_id_with_a_warning() {
        let catalog = Catalog::new().unwrap();
        let format =
            json!({"agent_url": "https://your-platform.example.com", "id": "display_300x250"});
        let candidate = check(&asset(&format, &image()), "creatives[0]", &catalog, "t").unwrap();
        assert_eq!(candidate.warnings.len(), 1);
        assert_eq!(
            candidate.creative.format_id.agent_url,
            crate::catalog::FORMAT_AGENT
        );
    }

    #[test]
    fn unknown_formats_and_missing_assets_are_refused() {
        let catalog = Catalog::new().unwrap();
        let unknown =
            json!({"agent_url": "https://creative.adcontextprotocol.org", "id": "native_post"});
        let error = check(&asset(&unknown, &image()), "creatives[0]", &catalog, "t").unwrap_err();
        assert_eq!(
            (error.code.as_str(), error.field.as_deref()),
            ("VALIDATION_ERROR", Some("creatives[0].format_id"))
        );
        let video =
            json!({"agent_url": "https://creative.adcontextprotocol.org", "id": "video_15s"});
        let error = check(&asset(&video, &image()), "creatives[0]", &catalog, "t").unwrap_err();
        assert_eq!(error.field.as_deref(), Some("creatives[0].assets.video"));
    }
}
