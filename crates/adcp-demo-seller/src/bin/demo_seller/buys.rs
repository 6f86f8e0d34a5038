//! The seller's records of media buys: what `create_media_buy` confirmed and later updates
//! changed, typed, plus the private bookkeeping (holder, buyer, goal implications) the demo
//! never sends.
//!
//! Records are held per [`Holder`]: the principal and account that created them, so one
//! principal never reads or changes another's buys even when both name the same account, and
//! a sandbox account's buys never mix with a live account's. Buys the test controller seeds
//! (`seed_media_buy`) belong to no account: rc.9's fixture names none, and a runner seeds under
//! its own account, so they are held as [`Holder::Seeded`] and seen by sandbox callers only.

pub(crate) mod clock;

use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::sync::Arc;

use adcp_server::rules::scope::RecordScope;
use adcp_server::{CallContext, Principal};
use adcp_types::AdcpError;
use adcp_types::generated::{
    CanceledBy, Context, GetMediaBuysResponseMediaBuysItem,
    GetMediaBuysResponseMediaBuysItemCancellation, Impairment, MediaBuyAvailableAction,
    MediaBuyHealth, MediaBuyStatus, Package, PackageStatus, PackageStatusCreativeApprovalsItem,
    ReachUnit,
};
use chrono::{DateTime, Utc};
use dashmap::DashMap;
use serde_json::{Map, Value};

use crate::reply::built;

/// The caller a record is created, read or changed for: the SDK's [`RecordScope`] (principal,
/// account, sandbox flag), which keeps principals, accounts and sandbox/live apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Scope(RecordScope);

impl Scope {
    /// The scope of a call. A call that resolved no account (the demo's resolver names one for
    /// every authenticated caller) is held under an empty, live account id, which no other
    /// caller's records share.
    pub(crate) fn of(ctx: &CallContext) -> Self {
        Self(RecordScope::of(ctx).unwrap_or_else(|_| {
            let owner = ctx.principal().map_or("anonymous", Principal::id);
            RecordScope::new(owner, "", false)
        }))
    }

    /// The authenticated principal (`anonymous` without one).
    pub(crate) fn principal(&self) -> &str {
        self.0.owner()
    }

    /// Whether the account is a sandbox account.
    pub(crate) fn sandbox(&self) -> bool {
        self.0.is_sandbox()
    }

    /// Whether records held by `holder` are visible to this caller: its own, and (sandbox
    /// callers only) the controller's seeded fixtures.
    pub(crate) fn sees(&self, holder: &Holder) -> bool {
        match holder {
            Holder::Account(owner) => owner == self,
            Holder::Seeded => self.sandbox(),
        }
    }

    /// The holder of the records this caller creates.
    pub(crate) fn holder(&self) -> Holder {
        Holder::Account(self.clone())
    }

    /// Now, as this caller's account reads time ([`clock::now`]).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        clock::now(self.sandbox())
    }
}

/// Who a seller-side record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Holder {
    /// A principal's account.
    Account(Scope),
    /// A sandbox fixture the test controller seeded.
    Seeded,
}

impl Holder {
    /// Whether the record is a sandbox one (the controller may act on it).
    pub(crate) fn is_sandbox(&self) -> bool {
        match self {
            Self::Account(scope) => scope.sandbox(),
            Self::Seeded => true,
        }
    }

    /// The holders `scope` sees, its own first.
    fn visible_to(scope: &Scope) -> Vec<Self> {
        let mut holders = vec![scope.holder()];
        if scope.sandbox() {
            holders.push(Self::Seeded);
        }
        holders
    }
}

/// The media buys, per holder, in creation order.
#[derive(Debug, Default)]
pub(crate) struct BuyBook {
    buys: DashMap<Holder, Vec<MediaBuy>>,
}

/// The shared media-buy book.
pub(crate) type MediaBuys = Arc<BuyBook>;

impl BuyBook {
    /// Records `buy` under its holder, replacing a buy of the same id there.
    pub(crate) fn insert(&self, buy: MediaBuy) {
        let mut buys = self.buys.entry(buy.holder.clone()).or_default();
        buys.retain(|b| b.id != buy.id);
        buys.push(buy);
    }

    /// Runs `change` on every buy `scope` sees (its own first), in creation order.
    pub(crate) fn for_each_visible(&self, scope: &Scope, mut change: impl FnMut(&mut MediaBuy)) {
        for holder in Holder::visible_to(scope) {
            if let Some(mut buys) = self.buys.get_mut(&holder) {
                buys.iter_mut().for_each(&mut change);
            }
        }
    }

    /// Runs `change` on the buy `id` that `scope` sees (its own before a seeded one); `None`
    /// when it sees none.
    pub(crate) fn update<R>(
        &self,
        scope: &Scope,
        id: &str,
        change: impl FnOnce(&mut MediaBuy) -> R,
    ) -> Option<R> {
        for holder in Holder::visible_to(scope) {
            if let Some(mut buys) = self.buys.get_mut(&holder)
                && let Some(buy) = buys.iter_mut().find(|b| b.id == id)
            {
                return Some(change(buy));
            }
        }
        None
    }

    /// Runs `change` on the buy `scope` sees that has package `package_id`, with the package's
    /// index; `None` when it sees no such package.
    pub(crate) fn with_package<R>(
        &self,
        scope: &Scope,
        package_id: &str,
        change: impl FnOnce(&mut MediaBuy, usize) -> R,
    ) -> Option<R> {
        for holder in Holder::visible_to(scope) {
            if let Some(mut buys) = self.buys.get_mut(&holder)
                && let Some((buy, index)) = buys.iter_mut().find_map(|buy| {
                    let index = buy
                        .packages
                        .iter()
                        .position(|p| p.package_id == package_id)?;
                    Some((buy, index))
                })
            {
                return Some(change(buy, index));
            }
        }
        None
    }

    /// Runs `change` on every sandbox buy, whoever holds it.
    pub(crate) fn for_each_sandbox(&self, mut change: impl FnMut(&mut MediaBuy)) {
        for mut entry in self.buys.iter_mut() {
            if entry.key().is_sandbox() {
                entry.value_mut().iter_mut().for_each(&mut change);
            }
        }
    }

    /// Runs `change` on the sandbox buy `id`, whoever holds it (the test controller's calls
    /// carry the runner's account, not necessarily the buyer's); a live buy is never touched.
    pub(crate) fn update_sandbox<R>(
        &self,
        id: &str,
        change: impl FnOnce(&mut MediaBuy) -> R,
    ) -> Option<R> {
        for mut entry in self.buys.iter_mut() {
            if !entry.key().is_sandbox() {
                continue;
            }
            if let Some(buy) = entry.value_mut().iter_mut().find(|b| b.id == id) {
                return Some(change(buy));
            }
        }
        None
    }
}

/// A buy's cancellation, as `get_media_buys` reports it.
#[derive(Debug, Clone)]
pub(crate) struct Cancellation {
    /// When the buyer canceled, RFC 3339.
    pub(crate) canceled_at: String,
    /// The buyer's `cancellation_reason`, if it gave one.
    pub(crate) reason: Option<String>,
}

/// One recorded media buy.
#[derive(Debug, Clone)]
pub(crate) struct MediaBuy {
    /// The seller's `media_buy_id`.
    pub(crate) id: String,
    /// Whose buy it is.
    pub(crate) holder: Holder,
    /// The lifecycle status, as of the buy's last settling.
    pub(crate) status: MediaBuyStatus,
    /// RFC 3339, whole seconds.
    pub(crate) confirmed_at: String,
    /// The optimistic-concurrency revision, advanced by every change.
    pub(crate) revision: NonZeroU64,
    /// ISO 4217; every package is priced in it.
    pub(crate) currency: String,
    /// The flight, as stored after the flight rules normalised it.
    pub(crate) start: DateTime<Utc>,
    /// When the flight ends.
    pub(crate) end: DateTime<Utc>,
    /// The `context` the buy was created with, returned on every read.
    pub(crate) context: Option<Context>,
    /// The packages as confirmed and later changed.
    pub(crate) packages: Vec<Package>,
    /// The buyer agent (principal) that created the buy.
    pub(crate) buyer: String,
    /// The reach unit the buy's reach goal asked for, if any.
    pub(crate) reach_unit: Option<ReachUnit>,
    /// The (event source, value field) pairs the buy's conversion value is summed from.
    pub(crate) valued_sources: BTreeSet<(String, String)>,
    /// The status a paused buy resumes to.
    pub(crate) resume_status: Option<MediaBuyStatus>,
    /// Set once the buyer canceled the buy.
    pub(crate) cancellation: Option<Cancellation>,
}

/// What a read reports beyond the record: the actions available now and the buy's open
/// impairments.
#[derive(Debug, Clone, Default)]
pub(crate) struct Surface {
    /// The actions the buyer can take now (`available_actions[]`).
    pub(crate) available_actions: Vec<MediaBuyAvailableAction>,
    /// The buy's open impairments.
    pub(crate) impairments: Vec<Impairment>,
    /// Each assigned creative's review state, per package id.
    pub(crate) approvals: Vec<(String, PackageStatusCreativeApprovalsItem)>,
}

impl MediaBuy {
    /// Whether the buy can no longer change (canceled, completed or rejected).
    pub(crate) fn is_terminal(&self) -> bool {
        matches!(
            self.status,
            MediaBuyStatus::Canceled | MediaBuyStatus::Completed | MediaBuyStatus::Rejected
        )
    }

    /// The sum of the package budgets.
    pub(crate) fn total_budget(&self) -> f64 {
        self.packages.iter().filter_map(|p| p.budget).sum()
    }

    /// Moves the buy along its flight at `now`: a buy waiting for creatives starts waiting for
    /// its flight (or runs) once every live package has a servable creative assigned
    /// (`servable` says which creative ids are), a pending buy runs once its flight started,
    /// and a running or pending buy completes once its flight ended. Paused and terminal buys
    /// are left alone; a running buy whose creative later goes offline stays running and is
    /// reported impaired instead (rc.9 lifecycle: health is orthogonal to status).
    pub(crate) fn settle(&mut self, now: DateTime<Utc>, servable: impl Fn(&str) -> bool) {
        let by_flight = if now >= self.end {
            MediaBuyStatus::Completed
        } else if now >= self.start {
            MediaBuyStatus::Active
        } else {
            MediaBuyStatus::PendingStart
        };
        self.status = match self.status {
            MediaBuyStatus::PendingCreatives if self.has_creatives(&servable) => by_flight,
            MediaBuyStatus::PendingStart if by_flight != MediaBuyStatus::PendingStart => by_flight,
            MediaBuyStatus::Active if by_flight == MediaBuyStatus::Completed => by_flight,
            unchanged => unchanged,
        };
    }

    /// Whether every package that is not canceled has a servable creative assigned.
    fn has_creatives(&self, servable: &impl Fn(&str) -> bool) -> bool {
        self.packages
            .iter()
            .filter(|p| p.canceled != Some(true))
            .all(|p| {
                p.creative_assignments
                    .iter()
                    .flatten()
                    .any(|a| servable(&a.creative_id))
            })
    }

    /// The buy as `get_media_buys` lists it, with what a read reports beyond the record.
    pub(crate) fn listing(
        &self,
        surface: Surface,
    ) -> Result<GetMediaBuysResponseMediaBuysItem, AdcpError> {
        let packages = self
            .packages
            .iter()
            .map(|package| {
                let approvals: Vec<PackageStatusCreativeApprovalsItem> = surface
                    .approvals
                    .iter()
                    .filter(|(id, _)| *id == package.package_id)
                    .map(|(_, approval)| approval.clone())
                    .collect();
                package_status(package, &self.currency, approvals)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let valid_actions = adcp_server::rules::actions::valid_actions(&surface.available_actions);
        let mut item = built(
            GetMediaBuysResponseMediaBuysItem::builder()
                .media_buy_id(self.id.clone())
                .status(self.status)
                .currency(self.currency.clone())
                .total_budget(self.total_budget())
                .confirmed_at(self.confirmed_at.clone())
                .revision(self.revision)
                .packages(packages)
                .build(),
        )?;
        item.start_time = Some(clock::wire(self.start));
        item.end_time = Some(clock::wire(self.end));
        item.context.clone_from(&self.context);
        item.available_actions = Some(surface.available_actions);
        item.valid_actions = Some(valid_actions);
        // rc.9: `health` is `impaired` exactly when `impairments[]` is non-empty.
        item.health = Some(if surface.impairments.is_empty() {
            MediaBuyHealth::Ok
        } else {
            MediaBuyHealth::Impaired
        });
        item.impairments = Some(surface.impairments);
        item.cancellation =
            self.cancellation
                .as_ref()
                .map(|c| GetMediaBuysResponseMediaBuysItemCancellation {
                    canceled_at: c.canceled_at.clone(),
                    canceled_by: CanceledBy::Buyer,
                    reason: c.reason.clone(),
                });
        Ok(item)
    }
}

/// A recorded package as `get_media_buys` reports it. `package-status.json` has no
/// `pricing_option_id`, `pacing`, `optimization_goals`, `measurement_terms` or
/// `creative_assignments`; the demo has always echoed what the buyer set there, so those stay,
/// as JSON, among the status's additional properties.
fn package_status(
    package: &Package,
    currency: &str,
    approvals: Vec<PackageStatusCreativeApprovalsItem>,
) -> Result<PackageStatus, AdcpError> {
    let mut status = built(
        PackageStatus::builder()
            .package_id(package.package_id.clone())
            .build(),
    )?;
    status.product_id.clone_from(&package.product_id);
    status.budget = package.budget;
    status.currency = Some(currency.to_owned());
    status.bid_price = package.bid_price;
    status
        .targeting_overlay
        .clone_from(&package.targeting_overlay);
    status.context.clone_from(&package.context);
    status.paused = package.paused;
    status.canceled = package.canceled;
    status.start_time.clone_from(&package.start_time);
    status.end_time.clone_from(&package.end_time);
    status.format_ids.clone_from(&package.format_ids);
    if !approvals.is_empty() {
        status.creative_approvals = Some(approvals);
    }
    status.extra = beyond_package_status(package)?;
    Ok(status)
}

/// The recorded package fields `PackageStatus` has no field for, as JSON.
fn beyond_package_status(package: &Package) -> Result<Map<String, Value>, AdcpError> {
    let mut extra = Map::new();
    if let Some(id) = &package.pricing_option_id {
        extra.insert("pricing_option_id".into(), Value::from(id.as_str()));
    }
    if let Some(pacing) = &package.pacing {
        extra.insert("pacing".into(), Value::from(pacing.to_string()));
    }
    if let Some(goals) = &package.optimization_goals {
        extra.insert("optimization_goals".into(), to_json(goals)?);
    }
    if let Some(terms) = &package.measurement_terms {
        extra.insert("measurement_terms".into(), to_json(terms)?);
    }
    if let Some(assignments) = &package.creative_assignments {
        extra.insert("creative_assignments".into(), to_json(assignments)?);
    }
    Ok(extra)
}

/// A recorded field as JSON; a field that does not serialise is the demo's bug, answered as an
/// internal error.
fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, AdcpError> {
    serde_json::to_value(value).map_err(|error| {
        tracing::error!(%error, "a recorded package field did not serialise");
        AdcpError::internal()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use adcp_types::generated::CreativeAssignment;
    use chrono::TimeZone;

    /// A sandbox buy of one package, flight from `start` to `end` (days of June 2026).
    pub(crate) fn buy(start: u32, end: u32) -> MediaBuy {
        let package = Package::builder()
            .package_id("pkg_1")
            .product_id("basecamp_native")
            .budget(1000.0)
            .pricing_option_id("cpm_fixed")
            .build()
            .unwrap();
        MediaBuy {
            id: "mb_1".into(),
            holder: Holder::Seeded,
            status: MediaBuyStatus::PendingCreatives,
            confirmed_at: "2026-03-01T00:00:00Z".into(),
            revision: NonZeroU64::MIN,
            currency: "USD".into(),
            start: Utc.with_ymd_and_hms(2026, 6, start, 0, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 6, end, 0, 0, 0).unwrap(),
            context: None,
            packages: vec![package],
            buyer: String::new(),
            reach_unit: None,
            valued_sources: BTreeSet::new(),
            resume_status: None,
            cancellation: None,
        }
    }

    fn assign(buy: &mut MediaBuy, creative_id: &str) {
        buy.packages[0].creative_assignments = Some(vec![CreativeAssignment {
            creative_id: creative_id.into(),
            placement_ids: None,
            placement_refs: None,
            weight: None,
            extra: Map::new(),
        }]);
    }

    fn june(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, day, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_buy_waits_for_a_servable_creative_then_for_its_flight() {
        let mut buy = buy(10, 20);
        buy.settle(june(1), |_| true);
        assert_eq!(
            buy.status,
            MediaBuyStatus::PendingCreatives,
            "no creative assigned"
        );
        assign(&mut buy, "c1");
        buy.settle(june(1), |_| false);
        assert_eq!(buy.status, MediaBuyStatus::PendingCreatives, "not servable");
        buy.settle(june(1), |id| id == "c1");
        assert_eq!(buy.status, MediaBuyStatus::PendingStart);
        buy.settle(june(12), |_| true);
        assert_eq!(buy.status, MediaBuyStatus::Active);
        buy.settle(june(25), |_| true);
        assert_eq!(buy.status, MediaBuyStatus::Completed);
    }

    #[test]
    fn a_running_buy_whose_creative_goes_offline_keeps_running() {
        let mut buy = buy(10, 20);
        assign(&mut buy, "c1");
        buy.settle(june(12), |_| true);
        assert_eq!(buy.status, MediaBuyStatus::Active);
        buy.settle(june(13), |_| false);
        assert_eq!(buy.status, MediaBuyStatus::Active);
        buy.status = MediaBuyStatus::Paused;
        buy.settle(june(25), |_| true);
        assert_eq!(
            buy.status,
            MediaBuyStatus::Paused,
            "a paused buy is left alone"
        );
    }

    #[test]
    fn a_scope_sees_its_own_buys_and_sandbox_fixtures_only() {
        let sandbox = Scope(RecordScope::new("sandbox:acme", "op:acme.example", true));
        let live = Scope(RecordScope::new("live:acme", "op:acme.example", false));
        let book = BuyBook::default();
        let mut own = buy(10, 20);
        own.holder = sandbox.holder();
        book.insert(own);
        assert!(book.update(&sandbox, "mb_1", |_| ()).is_some());
        assert!(
            book.update(&live, "mb_1", |_| ()).is_none(),
            "same account, other principal"
        );
        assert!(sandbox.sees(&Holder::Seeded));
        assert!(!live.sees(&Holder::Seeded));
    }
}
