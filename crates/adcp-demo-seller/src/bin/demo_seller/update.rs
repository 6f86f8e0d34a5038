//! The demo's media-buy updates: pause, resume, cancel and per-package changes on a recorded
//! buy. Every check runs before anything changes, and the caller records the new buy only once
//! its reply is built (an update is atomic).

use adcp_types::generated::{
    MediaBuyStatus, Package, PackageUpdate, UpdateMediaBuyRequest, UpdateMediaBuySuccess,
};
use adcp_types::{AdcpError, codes};

use crate::buys::MediaBuy;
use crate::reply::built;

/// Records the package fields a buyer may change (`package-update.json`) that the demo keeps.
fn apply_package_update(package: &mut Package, update: &PackageUpdate) {
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
    if let Some(canceled) = update.canceled {
        package.canceled = Some(canceled);
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
}

/// The buy after `request` and the success reply: the buy's status and new revision and the
/// packages it changed. A stale `revision` is `CONFLICT`, `new_packages` `ACTION_NOT_ALLOWED`,
/// an unknown package `PACKAGE_NOT_FOUND`, a second cancel `NOT_CANCELLABLE` and any other
/// change to a canceled or finished buy `INVALID_STATE`.
pub(crate) fn apply(
    buy: &MediaBuy,
    request: &UpdateMediaBuyRequest,
) -> Result<(MediaBuy, UpdateMediaBuySuccess), AdcpError> {
    let status = buy.status;
    let cancel = request.canceled == Some(true);
    if buy.is_terminal() {
        return Err(if cancel {
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
        });
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
    let mut next = buy.clone();
    let mut affected = Vec::new();
    for (k, update) in request.packages.iter().flatten().enumerate() {
        if update.budget.is_some_and(|b| b < 0.0) {
            return Err(
                AdcpError::new(codes::VALIDATION_ERROR, "budget must not be negative")
                    .with_field(format!("packages[{k}].budget")),
            );
        }
        let package = next
            .packages
            .iter_mut()
            .find(|p| p.package_id == update.package_id)
            .ok_or_else(|| {
                AdcpError::new(
                    codes::PACKAGE_NOT_FOUND,
                    format!("no package `{}` in this media buy", update.package_id),
                )
                .with_field(format!("packages[{k}].package_id"))
            })?;
        apply_package_update(package, update);
        affected.push(package.clone());
    }
    if cancel {
        next.status = MediaBuyStatus::Canceled;
    } else if request.paused == Some(true) && status != MediaBuyStatus::Paused {
        next.resume_status = Some(status);
        next.status = MediaBuyStatus::Paused;
    } else if request.paused == Some(false) && status == MediaBuyStatus::Paused {
        next.status = next
            .resume_status
            .unwrap_or(MediaBuyStatus::PendingCreatives);
    }
    next.revision = revision.saturating_add(1);
    let reply = built(
        UpdateMediaBuySuccess::builder()
            .media_buy_id(next.id.clone())
            .media_buy_status(next.status)
            .revision(next.revision)
            .affected_packages(affected)
            .build(),
    )?;
    Ok((next, reply))
}
