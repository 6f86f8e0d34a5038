//! The seller's record of a media buy: what `create_media_buy` confirmed and later updates
//! changed, typed, plus the private bookkeeping (sandbox flag, buyer, goal implications) the
//! demo never sends.

use std::collections::BTreeSet;
use std::num::NonZeroU64;
use std::sync::Arc;

use adcp_types::AdcpError;
use adcp_types::generated::{
    GetMediaBuysResponseMediaBuysItem, MediaBuyStatus, Package, PackageStatus, ReachUnit,
};
use dashmap::DashMap;
use serde_json::{Map, Value};

use crate::reply::built;

/// The media buys, per account id.
pub(crate) type MediaBuys = Arc<DashMap<String, Vec<MediaBuy>>>;

/// One recorded media buy.
#[derive(Debug, Clone)]
pub(crate) struct MediaBuy {
    pub(crate) id: String,
    pub(crate) status: MediaBuyStatus,
    /// RFC 3339, whole seconds.
    pub(crate) confirmed_at: String,
    pub(crate) revision: NonZeroU64,
    pub(crate) packages: Vec<Package>,
    /// Created under a sandbox account: only such buys accept simulated delivery.
    pub(crate) sandbox: bool,
    /// The buyer agent (principal) that created the buy.
    pub(crate) buyer: String,
    /// The reach unit the buy's reach goal asked for, if any.
    pub(crate) reach_unit: Option<ReachUnit>,
    /// The (event source, value field) pairs the buy's conversion value is summed from.
    pub(crate) valued_sources: BTreeSet<(String, String)>,
    /// The status a paused buy resumes to.
    pub(crate) resume_status: Option<MediaBuyStatus>,
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

    /// The buy as `get_media_buys` lists it.
    pub(crate) fn listing(&self) -> Result<GetMediaBuysResponseMediaBuysItem, AdcpError> {
        let packages = self
            .packages
            .iter()
            .map(package_status)
            .collect::<Result<Vec<_>, _>>()?;
        built(
            GetMediaBuysResponseMediaBuysItem::builder()
                .media_buy_id(self.id.clone())
                .status(self.status)
                .currency("USD")
                .total_budget(self.total_budget())
                .confirmed_at(self.confirmed_at.clone())
                .revision(self.revision)
                .packages(packages)
                .build(),
        )
    }
}

/// A recorded package as `get_media_buys` reports it. `package-status.json` has no
/// `pricing_option_id`, `pacing` or `optimization_goals`; the demo has always echoed what the
/// buyer set there, so those stay, as JSON, among the status's additional properties.
fn package_status(package: &Package) -> Result<PackageStatus, AdcpError> {
    let mut status = built(
        PackageStatus::builder()
            .package_id(package.package_id.clone())
            .build(),
    )?;
    status.product_id.clone_from(&package.product_id);
    status.budget = package.budget;
    status.bid_price = package.bid_price;
    status
        .targeting_overlay
        .clone_from(&package.targeting_overlay);
    status.context.clone_from(&package.context);
    status.paused = package.paused;
    status.canceled = package.canceled;
    status.start_time.clone_from(&package.start_time);
    status.end_time.clone_from(&package.end_time);
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
        let goals = serde_json::to_value(goals).map_err(|error| {
            tracing::error!(%error, "optimization goals did not serialise");
            AdcpError::internal()
        })?;
        extra.insert("optimization_goals".into(), goals);
    }
    Ok(extra)
}
