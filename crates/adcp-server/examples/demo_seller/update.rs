//! The demo's media-buy updates: pause, cancel and per-package changes on a recorded buy, all
//! validated before any is applied (an update is atomic).

use adcp_types::{AdcpError, codes};
use serde_json::{Value, json};

/// Statuses from which a buy can no longer change.
const TERMINAL: [&str; 3] = ["canceled", "completed", "rejected"];
/// Package fields a buyer may change (`package-update.json`), copied onto the package.
const PACKAGE_FIELDS: [&str; 5] = [
    "budget",
    "bid_price",
    "paused",
    "targeting_overlay",
    "pacing",
];

/// Applies `request` (an `update_media_buy` request) to the recorded `buy` and returns the
/// success body: the buy's new status and revision and the packages it changed. An unknown
/// package is `PACKAGE_NOT_FOUND`, any change to a canceled or finished buy `NOT_CANCELLABLE`
/// (a second cancel) or `INVALID_STATE`; nothing is applied when any check fails.
pub(crate) fn apply(buy: &mut Value, request: &Value) -> Result<Value, AdcpError> {
    let status = buy["media_buy_status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cancel = request["canceled"] == true;
    if TERMINAL.contains(&status.as_str()) {
        let error = if cancel {
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
        };
        return Err(error);
    }
    let updates = request["packages"].as_array().cloned().unwrap_or_default();
    let mut targets = Vec::new();
    for (k, update) in updates.iter().enumerate() {
        let package_id = update["package_id"].as_str().unwrap_or_default();
        let index = buy["packages"]
            .as_array()
            .and_then(|packages| packages.iter().position(|p| p["package_id"] == package_id))
            .ok_or_else(|| {
                AdcpError::new(
                    codes::PACKAGE_NOT_FOUND,
                    format!("no package `{package_id}` in this media buy"),
                )
                .with_field(format!("packages[{k}].package_id"))
            })?;
        if update["budget"].as_f64().is_some_and(|b| b < 0.0) {
            return Err(
                AdcpError::new(codes::VALIDATION_ERROR, "budget must not be negative")
                    .with_field(format!("packages[{k}].budget")),
            );
        }
        targets.push((index, update));
    }
    let mut affected = Vec::new();
    for (index, update) in targets {
        let package = &mut buy["packages"][index];
        for field in PACKAGE_FIELDS {
            if let Some(value) = update.get(field).filter(|v| !v.is_null()) {
                package[field] = value.clone();
            }
        }
        affected.push(package.clone());
    }
    if cancel {
        buy["media_buy_status"] = json!("canceled");
    } else if let Some(paused) = request["paused"].as_bool() {
        buy["paused"] = json!(paused);
    }
    let revision = buy["revision"].as_u64().unwrap_or(1) + 1;
    buy["revision"] = json!(revision);
    Ok(json!({
        "media_buy_id": buy["media_buy_id"],
        "media_buy_status": buy["media_buy_status"],
        "revision": revision,
        "affected_packages": affected,
    }))
}
