//! The demo's media-buy updates: pause, resume, cancel, flight dates and per-package changes on
//! a recorded buy. Every check runs before anything changes, and the caller records the new
//! buy (and stores any inline creatives) only once its reply is built: an update is atomic.

pub(crate) mod actions;

use adcp_server::rules::bounds;
use adcp_types::generated::{
    CreativeAssignment, MediaBuyStatus, Package, PackageUpdate, Product, UpdateMediaBuyRequest,
};
use adcp_types::{AdcpError, codes};
use chrono::{DateTime, Utc};
use serde_json::Map;

use crate::buys::{Cancellation, MediaBuy, Scope, clock};
use crate::catalog::Catalog;
use crate::sales::creative_sync::{self, Candidate};

/// What an update needs besides the buy and the request.
pub(crate) struct Change<'a> {
    /// The products the buy's packages buy (for the action templates).
    pub(crate) products: &'a [Product],
    /// The caller.
    pub(crate) scope: &'a Scope,
    /// The catalog (for inline creatives' formats).
    pub(crate) catalog: &'a Catalog,
}

/// An update that passed every check, not yet recorded.
pub(crate) struct Applied {
    /// The buy after the update (its revision advanced).
    pub(crate) buy: MediaBuy,
    /// The packages the update changed, as they now are.
    pub(crate) affected: Vec<Package>,
    /// Inline creatives to store before the buy is recorded.
    pub(crate) creatives: Vec<Candidate>,
}

/// Records the package fields a buyer may change (`package-update.json`) that the demo keeps.
fn apply_package_update(package: &mut Package, update: &PackageUpdate, inline: &[Candidate]) {
    if let Some(budget) = update.budget {
        package.budget = Some(budget);
    }
    if let Some(bid_price) = update.bid_price {
        package.bid_price = Some(bid_price);
    }
    if let Some(pacing) = update.pacing {
        package.pacing = Some(pacing);
    }
    if let Some(paused) = update.paused {
        package.paused = Some(paused);
    }
    if let Some(targeting) = &update.targeting_overlay {
        package.targeting_overlay = Some(targeting.clone());
    }
    if let Some(goals) = &update.optimization_goals {
        package.optimization_goals = Some(goals.clone());
    }
    if let Some(start) = &update.start_time {
        package.start_time = Some(start.clone());
    }
    if let Some(end) = &update.end_time {
        package.end_time = Some(end.clone());
    }
    // Replacement semantics: the listed assignments (and inline creatives) are the package's
    // creatives from now on.
    if update.creative_assignments.is_some() || update.creatives.is_some() {
        let mut assignments: Vec<CreativeAssignment> =
            update.creative_assignments.clone().unwrap_or_default();
        for candidate in inline {
            let id = candidate.creative_id();
            if !assignments.iter().any(|a| a.creative_id == id) {
                assignments.push(CreativeAssignment {
                    creative_id: id.to_owned(),
                    placement_ids: None,
                    placement_refs: None,
                    weight: None,
                    extra: Map::new(),
                });
            }
        }
        package.creative_assignments = Some(assignments);
    }
    if update.canceled == Some(true) {
        package.canceled = Some(true);
        package.creative_assignments = None;
    }
}

/// The error for a change to a buy in a terminal status: a second cancel is
/// `NOT_CANCELLABLE`, anything else `INVALID_STATE`.
fn terminal(buy: &MediaBuy, cancel: bool) -> AdcpError {
    let status = buy.status;
    if cancel {
        AdcpError::new(
            codes::NOT_CANCELLABLE,
            format!("the media buy is already {status}"),
        )
        .with_field("canceled")
    } else {
        AdcpError::new(
            codes::INVALID_STATE,
            format!("a {status} media buy cannot be changed"),
        )
        .with_field("media_buy_id")
    }
}

/// The flight dates an update asks for (each `None` when it does not change it).
struct NewFlight {
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

/// The flight an update asks for, checked: the end must stay after the start.
fn new_flight(
    buy: &MediaBuy,
    request: &UpdateMediaBuyRequest,
    now: DateTime<Utc>,
) -> Result<NewFlight, AdcpError> {
    let start = request
        .start_time
        .as_ref()
        .map(|timing| actions::start_of(timing, now))
        .transpose()?;
    let end = request
        .end_time
        .as_deref()
        .map(|end| actions::parse_time(end, "end_time"))
        .transpose()?;
    if end.unwrap_or(buy.end) <= start.unwrap_or(buy.start) {
        return Err(AdcpError::invalid_request(
            "the flight's end_time must be after its start_time",
        )
        .with_field(if end.is_some() {
            "end_time"
        } else {
            "start_time"
        }));
    }
    Ok(NewFlight { start, end })
}

/// The checks that need only the buy and the request (see [`apply`] for the errors).
fn precheck(buy: &MediaBuy, request: &UpdateMediaBuyRequest) -> Result<(), AdcpError> {
    let cancel = request.canceled == Some(true);
    if buy.is_terminal() {
        return Err(terminal(buy, cancel));
    }
    let revision = buy.revision;
    if let Some(expected) = request.revision
        && expected != revision
    {
        return Err(AdcpError::new(
            codes::CONFLICT,
            format!("the media buy is at revision {revision}, not {expected}; read it again"),
        )
        .with_field("revision"));
    }
    if request.new_packages.as_ref().is_some_and(|p| !p.is_empty()) {
        return Err(AdcpError::new(
            codes::ACTION_NOT_ALLOWED,
            "this seller does not add packages to an existing media buy; create a new buy",
        )
        .with_field("new_packages"));
    }
    let updates = request.packages.as_deref().unwrap_or_default();
    for (k, update) in updates.iter().enumerate() {
        if let Some(budget) = update.budget {
            bounds::check_amount(budget, &format!("packages[{k}].budget"))?;
        }
        if let Some(bid) = update.bid_price {
            bounds::check_amount(bid, &format!("packages[{k}].bid_price"))?;
        }
        if !buy
            .packages
            .iter()
            .any(|p| p.package_id == update.package_id)
        {
            return Err(AdcpError::new(
                codes::PACKAGE_NOT_FOUND,
                format!("no package `{}` in this media buy", update.package_id),
            )
            .with_field(format!("packages[{k}].package_id")));
        }
    }
    Ok(())
}

/// Checks `request` against `buy` and returns the buy it makes, the packages it changed and the
/// inline creatives to store. Fails, changing nothing, with: `NOT_CANCELLABLE` /
/// `INVALID_STATE` for a buy in a terminal status; `CONFLICT` for a stale `revision`;
/// `ACTION_NOT_ALLOWED` for `new_packages` (the demo does not add packages to a buy);
/// `INVALID_REQUEST` for an amount out of bounds or a reversed flight; `PACKAGE_NOT_FOUND`;
/// `VALIDATION_ERROR` for an inline creative the demo cannot take; and `ACTION_NOT_ALLOWED`
/// (with the rule's `details`) for a change that maps to an action not available on the buy
/// now.
pub(crate) fn apply(
    buy: &MediaBuy,
    request: &UpdateMediaBuyRequest,
    change: &Change<'_>,
) -> Result<Applied, AdcpError> {
    precheck(buy, request)?;
    let cancel = request.canceled == Some(true);
    let revision = buy.revision;
    let updates = request.packages.as_deref().unwrap_or_default();
    let now = change.scope.now();
    let NewFlight {
        start: new_start,
        end: new_end,
    } = new_flight(buy, request, now)?;
    let wanted = actions::requested(buy, request, new_start, new_end);
    actions::check(buy, change.products, &wanted)?;
    let stamp = clock::wire(now);
    let mut next = buy.clone();
    let mut affected = Vec::new();
    let mut stored = Vec::new();
    for (k, update) in updates.iter().enumerate() {
        let mut inline = Vec::new();
        for (j, asset) in update.creatives.iter().flatten().enumerate() {
            let field = format!("packages[{k}].creatives[{j}]");
            inline.push(creative_sync::check(asset, &field, change.catalog, &stamp)?);
        }
        if let Some(package) = next
            .packages
            .iter_mut()
            .find(|p| p.package_id == update.package_id)
        {
            apply_package_update(package, update, &inline);
            affected.push(package.clone());
        }
        stored.extend(inline);
    }
    bounds::checked_sum(next.packages.iter().filter_map(|p| p.budget), |k| {
        format!("packages[{k}].budget")
    })?;
    if let Some(start) = new_start {
        next.start = start;
    }
    if let Some(end) = new_end {
        next.end = end;
    }
    if cancel {
        next.status = MediaBuyStatus::Canceled;
        next.cancellation = Some(Cancellation {
            canceled_at: stamp,
            reason: request.cancellation_reason.clone(),
        });
        // Canceling releases the buy's creative assignments; the creatives stay in the library.
        for package in &mut next.packages {
            package.creative_assignments = None;
        }
    } else if request.paused == Some(true) && buy.status != MediaBuyStatus::Paused {
        next.resume_status = Some(buy.status);
        next.status = MediaBuyStatus::Paused;
    } else if request.paused == Some(false) && buy.status == MediaBuyStatus::Paused {
        next.status = next
            .resume_status
            .take()
            .unwrap_or(MediaBuyStatus::PendingCreatives);
    }
    next.revision = revision.saturating_add(1);
    Ok(Applied {
        buy: next,
        affected,
        creatives: stored,
    })
}
