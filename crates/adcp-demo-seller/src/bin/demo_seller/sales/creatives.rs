//! The demo's creative library: creatives per [`Holder`] (principal + account, or the test
//! controller's seeded fixtures), each with its place in rc.9's review state machine
//! (`enums/creative-status.json`), and what a media buy derives from them (whether a package
//! can serve, the package's approval list, impairments).
//!
//! Review: the demo declares `creative_approval_mode: auto_approve`, so a synced creative
//! passes processing and review synchronously and is `approved` at once (a resubmitted
//! `rejected` creative likewise). Every other transition is the seller's or the test
//! controller's (`force_creative_status`), along the edges [`may_force`] allows.
//!
//! The library is one per process ([`library`]): `list_creatives` is mounted by the binary's
//! entry point as a stateless handler, so it, `sync_creatives` and the controller reach the
//! same library through this accessor rather than through a shared handle.

use std::sync::LazyLock;

use adcp_types::generated::{
    CreativeApprovalStatus, CreativeStatus, FormatId, Impairment, ImpairmentOfflineState,
    ImpairmentReasonCode, ImpairmentResourceType, ImpairmentTransition, Package,
    PackageStatusCreativeApprovalsItem,
};
use dashmap::DashMap;
use serde_json::{Map, Value};

use crate::buys::{Holder, MediaBuy, Scope, clock};

/// One creative in the library.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Creative {
    /// The buyer's `creative_id`.
    pub(crate) id: String,
    /// The buyer's name for it.
    pub(crate) name: String,
    /// The seller's format the creative was resolved to.
    pub(crate) format_id: FormatId,
    /// The assets, keyed by the format's asset ids.
    pub(crate) assets: Map<String, Value>,
    /// The buyer's tags.
    pub(crate) tags: Option<Vec<String>>,
    /// Where the creative sits in review.
    pub(crate) status: CreativeStatus,
    /// The status before the last transition, when the creative had one.
    pub(crate) previous_status: Option<CreativeStatus>,
    /// Why it was rejected, while it is.
    pub(crate) rejection_reason: Option<String>,
    /// RFC 3339, whole seconds.
    pub(crate) created: String,
    /// When the creative last changed, RFC 3339.
    pub(crate) updated: String,
    /// When `status` was entered.
    pub(crate) status_since: String,
}

impl Creative {
    /// Whether a package can serve this creative.
    pub(crate) fn is_servable(&self) -> bool {
        self.status == CreativeStatus::Approved
    }

    /// Whether the creative is in an offline state that impairs a buy depending on it.
    fn offline_state(&self) -> Option<ImpairmentOfflineState> {
        match self.status {
            CreativeStatus::Rejected => Some(ImpairmentOfflineState::Rejected),
            CreativeStatus::Suspended => Some(ImpairmentOfflineState::Suspended),
            _ => None,
        }
    }

    /// Moves the creative to `status` at `at`, remembering where it came from.
    pub(crate) fn transition(&mut self, status: CreativeStatus, at: &str) {
        if self.status != status {
            self.previous_status = Some(self.status);
            self.status = status;
            at.clone_into(&mut self.status_since);
        }
        at.clone_into(&mut self.updated);
    }
}

/// Whether the test controller may force a creative from `from` to `to`: the edges of rc.9's
/// creative-status descriptions (processing → pending_review or rejected; pending_review →
/// approved or rejected; approved → pending_review, suspended, rejected or archived; suspended
/// → approved or rejected; rejected → processing on resubmission; archived → approved when
/// unarchived), plus processing → approved (review collapsed, as the demo's auto-approval
/// does) and staying put. Anything else, e.g. archived → processing, is `INVALID_TRANSITION`.
pub(crate) fn may_force(from: CreativeStatus, to: CreativeStatus) -> bool {
    use CreativeStatus::{Approved, Archived, PendingReview, Processing, Rejected, Suspended};
    let allowed: &[CreativeStatus] = match from {
        Processing => &[PendingReview, Approved, Rejected],
        PendingReview | Suspended => &[Approved, Rejected],
        Approved => &[PendingReview, Suspended, Rejected, Archived],
        Rejected => &[Processing],
        Archived => &[Approved],
    };
    from == to || allowed.contains(&to)
}

/// One creative assigned to one package of a buy, since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// The assigned creative.
    pub(crate) creative_id: String,
    /// The package it serves in.
    pub(crate) package_id: String,
    /// The package's buy.
    pub(crate) media_buy_id: String,
    /// RFC 3339, whole seconds: when the demo first saw the assignment.
    pub(crate) since: String,
}

/// Why a forced transition was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForceError {
    /// No sandbox creative has the id.
    NotFound,
    /// The transition is not an edge of the review state machine.
    InvalidTransition(CreativeStatus),
}

/// The creatives, per holder, in creation order; and which packages each is assigned to.
#[derive(Debug, Default)]
pub(crate) struct CreativeLibrary {
    records: DashMap<Holder, Vec<Creative>>,
    /// Per (holder, media buy id): the (creative id, package id, assigned since) assignments of
    /// a buy that can still deliver, mirrored from the buy whenever it is settled
    /// ([`Self::settle`]).
    assignments: DashMap<(Holder, String), Vec<Assignment>>,
}

/// The process's creative library.
pub(crate) fn library() -> &'static CreativeLibrary {
    static LIBRARY: LazyLock<CreativeLibrary> = LazyLock::new(CreativeLibrary::default);
    &LIBRARY
}

/// The holders whose creatives a record of `holder` may use: an account's own and the seeded
/// fixtures (sandbox accounts only); a seeded buy uses seeded creatives.
fn sources_of(holder: &Holder) -> Vec<Holder> {
    match holder {
        Holder::Account(scope) if scope.sandbox() => vec![holder.clone(), Holder::Seeded],
        Holder::Account(_) => vec![holder.clone()],
        Holder::Seeded => vec![Holder::Seeded],
    }
}

impl CreativeLibrary {
    /// The creative `creative_id` a record of `holder` may use (its own before a seeded one).
    pub(crate) fn find_for(&self, holder: &Holder, creative_id: &str) -> Option<Creative> {
        sources_of(holder).iter().find_map(|source| {
            self.records
                .get(source)?
                .iter()
                .find(|c| c.id == creative_id)
                .cloned()
        })
    }

    /// The creative `creative_id` as `scope` sees it, with the holder it is stored under.
    pub(crate) fn locate(&self, scope: &Scope, creative_id: &str) -> Option<(Holder, Creative)> {
        sources_of(&scope.holder()).into_iter().find_map(|source| {
            let creative = self
                .records
                .get(&source)?
                .iter()
                .find(|c| c.id == creative_id)
                .cloned()?;
            Some((source, creative))
        })
    }

    /// Every creative `scope` sees: its own in creation order, then the seeded fixtures it does
    /// not shadow with one of its own.
    pub(crate) fn visible(&self, scope: &Scope) -> Vec<Creative> {
        let mut out: Vec<Creative> = Vec::new();
        for source in sources_of(&scope.holder()) {
            if let Some(records) = self.records.get(&source) {
                for creative in records.iter() {
                    if !out.iter().any(|c| c.id == creative.id) {
                        out.push(creative.clone());
                    }
                }
            }
        }
        out
    }

    /// Stores `creative` under `holder`, replacing the one of the same id there.
    pub(crate) fn put(&self, holder: Holder, creative: Creative) {
        let mut records = self.records.entry(holder).or_default();
        match records.iter_mut().find(|c| c.id == creative.id) {
            Some(existing) => *existing = creative,
            None => records.push(creative),
        }
    }

    /// Forces the sandbox creative `creative_id` (whoever holds it: the controller's calls carry
    /// the runner's account) to `to`, recording `rejection_reason` when it is rejected. Returns
    /// the status it left.
    pub(crate) fn force(
        &self,
        creative_id: &str,
        to: CreativeStatus,
        rejection_reason: Option<String>,
    ) -> Result<CreativeStatus, ForceError> {
        let at = clock::wire(clock::now(true));
        for mut entry in self.records.iter_mut() {
            if !entry.key().is_sandbox() {
                continue;
            }
            let Some(creative) = entry.value_mut().iter_mut().find(|c| c.id == creative_id) else {
                continue;
            };
            let from = creative.status;
            if !may_force(from, to) {
                return Err(ForceError::InvalidTransition(from));
            }
            creative.transition(to, &at);
            creative.rejection_reason = (to == CreativeStatus::Rejected)
                .then_some(rejection_reason)
                .flatten();
            return Ok(from);
        }
        Err(ForceError::NotFound)
    }

    /// Whether a record of `holder` can serve creative `creative_id`.
    pub(crate) fn servable_for(&self, holder: &Holder, creative_id: &str) -> bool {
        self.find_for(holder, creative_id)
            .is_some_and(|c| c.is_servable())
    }

    /// Settles `buy` at the clock of its holder against this library ([`MediaBuy::settle`])
    /// and mirrors its assignments: a terminal buy releases them (rc.9: canceling a buy
    /// "releases its package-creative assignments but leaves the creatives in the library").
    /// Called after every change to a buy.
    pub(crate) fn settle(&self, buy: &mut MediaBuy) {
        let holder = buy.holder.clone();
        buy.settle(clock::now(holder.is_sandbox()), |id| {
            self.servable_for(&holder, id)
        });
        let now = clock::wire(clock::now(holder.is_sandbox()));
        let key = (holder, buy.id.clone());
        if buy.is_terminal() {
            self.assignments.remove(&key);
            return;
        }
        let previous = self
            .assignments
            .get(&key)
            .map(|a| a.clone())
            .unwrap_or_default();
        let current: Vec<Assignment> = buy
            .packages
            .iter()
            .filter(|p| p.canceled != Some(true))
            .flat_map(|p| assigned(p).map(move |id| (id, p.package_id.as_str())))
            .map(|(creative_id, package_id)| {
                let since = previous
                    .iter()
                    .find(|a| a.creative_id == creative_id && a.package_id == package_id)
                    .map_or_else(|| now.clone(), |a| a.since.clone());
                Assignment {
                    creative_id: creative_id.to_owned(),
                    package_id: package_id.to_owned(),
                    media_buy_id: buy.id.clone(),
                    since,
                }
            })
            .collect();
        self.assignments.insert(key, current);
    }

    /// The live assignments of the buys `scope` sees.
    pub(crate) fn assignments(&self, scope: &Scope) -> Vec<Assignment> {
        self.assignments
            .iter()
            .filter(|entry| scope.sees(&entry.key().0))
            .flat_map(|entry| entry.value().clone())
            .collect()
    }

    /// Each assigned creative's review state, per package of `buy`, for the package's
    /// `creative_approvals` (suspended and archived creatives have no approval value there and
    /// are left out).
    pub(crate) fn approvals(
        &self,
        buy: &MediaBuy,
    ) -> Vec<(String, PackageStatusCreativeApprovalsItem)> {
        let mut out = Vec::new();
        for package in &buy.packages {
            for assignment in package.creative_assignments.iter().flatten() {
                let Some(creative) = self.find_for(&buy.holder, &assignment.creative_id) else {
                    continue;
                };
                let status = match creative.status {
                    CreativeStatus::Processing | CreativeStatus::PendingReview => {
                        CreativeApprovalStatus::PendingReview
                    }
                    CreativeStatus::Approved => CreativeApprovalStatus::Approved,
                    CreativeStatus::Rejected => CreativeApprovalStatus::Rejected,
                    CreativeStatus::Suspended | CreativeStatus::Archived => continue,
                };
                out.push((
                    package.package_id.clone(),
                    PackageStatusCreativeApprovalsItem {
                        approval_status: status,
                        creative_id: creative.id.clone(),
                        rejection_reason: creative.rejection_reason.clone(),
                        extra: Map::new(),
                    },
                ));
            }
        }
        out
    }

    /// The open impairments of `buy`: one per assigned creative in an offline state
    /// (`rejected`, `suspended`), listing the packages it degrades. Materiality (rc.9
    /// `core/impairment.json`): a package is degraded only when none of its assigned creatives
    /// can serve; a rejected creative beside a serviceable peer is cosmetic and not reported.
    /// Only buys that had their creatives (pending start, active, paused) report impairments; a
    /// terminal buy or one still waiting for creatives has none.
    pub(crate) fn impairments(&self, buy: &MediaBuy) -> Vec<Impairment> {
        if !matches!(
            buy.status,
            adcp_types::generated::MediaBuyStatus::PendingStart
                | adcp_types::generated::MediaBuyStatus::Active
                | adcp_types::generated::MediaBuyStatus::Paused
        ) {
            return Vec::new();
        }
        let mut out: Vec<Impairment> = Vec::new();
        for package in buy.packages.iter().filter(|p| p.canceled != Some(true)) {
            let assigned: Vec<Creative> = assigned(package)
                .filter_map(|id| self.find_for(&buy.holder, id))
                .collect();
            if assigned.iter().any(Creative::is_servable) {
                continue;
            }
            for creative in &assigned {
                let Some(state) = creative.offline_state() else {
                    continue;
                };
                match out.iter_mut().find(|i| i.resource_id == creative.id) {
                    Some(open) => open.package_ids.push(package.package_id.clone()),
                    None => out.push(impairment(creative, state, &package.package_id)),
                }
            }
        }
        out
    }
}

/// The creative ids assigned to `package`.
fn assigned(package: &Package) -> impl Iterator<Item = &str> {
    package
        .creative_assignments
        .iter()
        .flatten()
        .map(|a| a.creative_id.as_str())
}

/// The impairment an offline `creative` opens on `package_id`. Its id is stable while the
/// creative stays in that state (the creative and when it entered the state).
fn impairment(creative: &Creative, state: ImpairmentOfflineState, package_id: &str) -> Impairment {
    let (reason_code, remediation) = match state {
        ImpairmentOfflineState::Suspended => (
            ImpairmentReasonCode::IdentityAuthorizationRevoked,
            "restore the creative's authorization, or assign another creative with update_media_buy",
        ),
        _ => (
            ImpairmentReasonCode::ContentRejected,
            "assign another creative with update_media_buy, or fix and resubmit this one with sync_creatives",
        ),
    };
    let stamp: String = creative
        .status_since
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    Impairment {
        impairment_id: format!("imp_{}_{}_{stamp}", creative.id, state),
        observed_at: creative.status_since.clone(),
        package_ids: vec![package_id.to_owned()],
        reason: creative.rejection_reason.clone(),
        reason_code,
        remediation: Some(remediation.to_owned()),
        resource_id: creative.id.clone(),
        resource_type: ImpairmentResourceType::Creative,
        transition: ImpairmentTransition {
            from: creative.previous_status.map(|s| s.to_string()),
            to: state,
        },
        extra: Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CreativeStatus::{Approved, Archived, PendingReview, Processing, Rejected, Suspended};

    #[test]
    fn an_archived_creative_cannot_be_forced_back_to_processing() {
        assert!(!may_force(Archived, Processing));
        assert!(!may_force(Archived, Rejected));
        assert!(may_force(Archived, Approved));
    }

    #[test]
    fn an_approved_creative_may_be_revoked_suspended_or_archived() {
        for to in [PendingReview, Suspended, Rejected, Archived, Approved] {
            assert!(may_force(Approved, to), "approved → {to}");
        }
        assert!(!may_force(Approved, Processing));
    }

    #[test]
    fn a_rejected_creative_returns_only_through_processing() {
        assert!(may_force(Rejected, Processing));
        assert!(!may_force(Rejected, Approved));
        assert!(!may_force(Suspended, PendingReview));
    }
}
