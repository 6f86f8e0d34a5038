//! The demo's media-buy updates: pause, resume, cancel, flight dates and per-package changes on
//! a recorded buy. Every check runs before anything changes, and the caller records the new
//! buy only once its reply is known to be valid (an update is atomic).

use adcp_types::{AdcpError, codes};
use serde_json::{Value, json};

/// Statuses from which a buy can no longer change.
pub(crate) const TERMINAL: [&str; 3] = ["canceled", "completed", "rejected"];

/// The sum of a recorded buy's package budgets.
pub(crate) fn total_budget(buy: &Value) -> f64 {
    buy["packages"]
        .as_array()
        .map(|packages| packages.iter().filter_map(|p| p["budget"].as_f64()).sum())
        .unwrap_or_default()
}
/// Package fields a buyer may change (`package-update.json`) that the demo records.
const PACKAGE_FIELDS: [&str; 9] = [
    "budget",
    "bid_price",
    "pacing",
    "paused",
    "canceled",
    "targeting_overlay",
    "optimization_goals",
    "start_time",
    "end_time",
];
/// The stored buy's private field: the status a paused buy resumes to.
const RESUME_STATUS: &str = "_resume_status";

/// The buy after `request` (an `update_media_buy` request) and the success body: the buy's
/// status and new revision and the packages it changed. A stale `revision` is `CONFLICT`,
/// `new_packages` `ACTION_NOT_ALLOWED`, an unknown package `PACKAGE_NOT_FOUND`, a second cancel
/// `NOT_CANCELLABLE` and any other change to a canceled or finished buy `INVALID_STATE`.
pub(crate) fn apply(buy: &Value, request: &Value) -> Result<(Value, Value), AdcpError> {
    let status = buy["media_buy_status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cancel = request["canceled"] == true;
    if TERMINAL.contains(&status.as_str()) {
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
    let revision = buy["revision"].as_u64().unwrap_or(1);
    if let Some(expected) = request["revision"].as_u64()
        && expected != revision
    {
        return Err(AdcpError::new(
            codes::CONFLICT,
            format!("the media buy is at revision {revision}, not {expected}; read it again"),
        )
        .with_field("revision"));
    }
    if request["new_packages"]
        .as_array()
        .is_some_and(|p| !p.is_empty())
    {
        return Err(AdcpError::new(
            codes::ACTION_NOT_ALLOWED,
            "this seller does not add packages to an existing media buy; create a new buy",
        )
        .with_field("new_packages"));
    }
    let mut next = buy.clone();
    let updates = request["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut affected = Vec::new();
    for (k, update) in updates.iter().enumerate() {
        let package_id = update["package_id"].as_str().unwrap_or_default();
        if update["budget"].as_f64().is_some_and(|b| b < 0.0) {
            return Err(
                AdcpError::new(codes::VALIDATION_ERROR, "budget must not be negative")
                    .with_field(format!("packages[{k}].budget")),
            );
        }
        let package = next["packages"]
            .as_array_mut()
            .and_then(|packages| packages.iter_mut().find(|p| p["package_id"] == package_id))
            .ok_or_else(|| {
                AdcpError::new(
                    codes::PACKAGE_NOT_FOUND,
                    format!("no package `{package_id}` in this media buy"),
                )
                .with_field(format!("packages[{k}].package_id"))
            })?;
        for field in PACKAGE_FIELDS {
            if let Some(value) = update.get(field).filter(|v| !v.is_null()) {
                package[field] = value.clone();
            }
        }
        affected.push(package.clone());
    }
    for field in ["start_time", "end_time"] {
        if let Some(value) = request.get(field).filter(|v| !v.is_null()) {
            next[field] = value.clone();
        }
    }
    if cancel {
        next["media_buy_status"] = json!("canceled");
    } else if request["paused"] == true && status != "paused" {
        next[RESUME_STATUS] = json!(status);
        next["media_buy_status"] = json!("paused");
    } else if request["paused"] == false && status == "paused" {
        let resume = next[RESUME_STATUS]
            .as_str()
            .unwrap_or("pending_creatives")
            .to_owned();
        next["media_buy_status"] = json!(resume);
    }
    next["revision"] = json!(revision + 1);
    let body = json!({
        "media_buy_id": next["media_buy_id"],
        "media_buy_status": next["media_buy_status"],
        "revision": revision + 1,
        "affected_packages": affected,
    });
    Ok((next, body))
}
