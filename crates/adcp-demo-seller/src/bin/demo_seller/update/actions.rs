//! Which actions (rc.9 `enums/media-buy-valid-action.json`) a change to a media buy maps to,
//! the actions the demo offers on products that declare no `allowed_actions[]`, and the
//! buy's `available_actions[]` — resolved by the SDK's rules
//! ([`adcp_server::rules::actions`]).

use adcp_server::rules::actions;
use adcp_types::AdcpError;
use adcp_types::generated::{
    DeliveryType, MediaBuyAvailableAction, MediaBuyStatus, MediaBuyValidAction, Product,
    StartTiming, UpdateMediaBuyRequest,
};
use chrono::{DateTime, Utc};

use crate::buys::MediaBuy;
use crate::catalog::default_reporting;
use crate::reply::built;

/// What the demo lets a buyer do, self-serve, on a buy of a product that declares no
/// `allowed_actions[]` ("Absence means the seller has not declared a structured action
/// surface"): every change [`super::apply`] implements.
pub(crate) const FALLBACK: [MediaBuyValidAction; 14] = [
    MediaBuyValidAction::Pause,
    MediaBuyValidAction::Resume,
    MediaBuyValidAction::Cancel,
    MediaBuyValidAction::IncreaseBudget,
    MediaBuyValidAction::DecreaseBudget,
    MediaBuyValidAction::ExtendFlight,
    MediaBuyValidAction::ShortenFlight,
    MediaBuyValidAction::UpdateFlightDates,
    MediaBuyValidAction::UpdateTargeting,
    MediaBuyValidAction::UpdatePacing,
    MediaBuyValidAction::UpdateCreativeAssignments,
    MediaBuyValidAction::ReplaceCreative,
    MediaBuyValidAction::RemovePackages,
    MediaBuyValidAction::SyncCreatives,
];

/// The actions available on `buy` now, from the templates of `products` (its packages'
/// products). A buy none of whose products is known (a seeded legacy buy) gets the fallback
/// template.
pub(crate) fn available(
    buy: &MediaBuy,
    products: &[Product],
) -> Result<Vec<MediaBuyAvailableAction>, AdcpError> {
    if products.is_empty() {
        let fallback = fallback_product()?;
        return Ok(actions::available_actions(
            [&fallback],
            buy.status,
            &FALLBACK,
        ));
    }
    Ok(actions::available_actions(products, buy.status, &FALLBACK))
}

/// A product that declares no action template, standing for the seller's fallback (the rules
/// read only its `allowed_actions`).
fn fallback_product() -> Result<Product, AdcpError> {
    built(
        Product::builder()
            .product_id("fallback")
            .name("fallback")
            .description("The demo's fallback action template.")
            .publisher_properties(Vec::new())
            .delivery_type(DeliveryType::NonGuaranteed)
            .pricing_options(Vec::new())
            .reporting_capabilities(built(default_reporting())?)
            .build(),
    )
}

/// The actions `request` maps to on `buy`, in request order, each once. Only changes count: a
/// pause of a paused buy, a resume of a running one, or a budget set to its current value maps
/// to nothing. `new_end` / `new_start` are the request's parsed flight dates.
pub(crate) fn requested(
    buy: &MediaBuy,
    request: &UpdateMediaBuyRequest,
    new_start: Option<DateTime<Utc>>,
    new_end: Option<DateTime<Utc>>,
) -> Vec<MediaBuyValidAction> {
    let mut out: Vec<MediaBuyValidAction> = Vec::new();
    let mut push = |action: MediaBuyValidAction| {
        if !out.contains(&action) {
            out.push(action);
        }
    };
    if request.canceled == Some(true) {
        push(MediaBuyValidAction::Cancel);
    }
    match request.paused {
        Some(true) if buy.status != MediaBuyStatus::Paused => push(MediaBuyValidAction::Pause),
        Some(false) if buy.status == MediaBuyStatus::Paused => push(MediaBuyValidAction::Resume),
        _ => {}
    }
    if let Some(end) = new_end {
        if end > buy.end {
            push(MediaBuyValidAction::ExtendFlight);
        } else if end < buy.end {
            push(MediaBuyValidAction::ShortenFlight);
        }
    }
    if new_start.is_some_and(|start| start != buy.start) {
        push(MediaBuyValidAction::UpdateFlightDates);
    }
    for update in request.packages.iter().flatten() {
        let Some(package) = buy
            .packages
            .iter()
            .find(|p| p.package_id == update.package_id)
        else {
            continue;
        };
        if let Some(budget) = update.budget {
            let current = package.budget.unwrap_or(0.0);
            if budget > current {
                push(MediaBuyValidAction::IncreaseBudget);
            } else if budget < current {
                push(MediaBuyValidAction::DecreaseBudget);
            }
        }
        if update.targeting_overlay.is_some() {
            push(MediaBuyValidAction::UpdateTargeting);
        }
        if update.pacing.is_some() {
            push(MediaBuyValidAction::UpdatePacing);
        }
        if update.creative_assignments.is_some() {
            push(MediaBuyValidAction::UpdateCreativeAssignments);
        }
        if update.creatives.is_some() {
            push(MediaBuyValidAction::ReplaceCreative);
        }
        match update.paused {
            Some(true) if package.paused != Some(true) => push(MediaBuyValidAction::Pause),
            Some(false) if package.paused == Some(true) => push(MediaBuyValidAction::Resume),
            _ => {}
        }
        if update.canceled == Some(true) {
            push(MediaBuyValidAction::RemovePackages);
        }
        if update.start_time.is_some() || update.end_time.is_some() {
            push(MediaBuyValidAction::UpdateFlightDates);
        }
    }
    out
}

/// Checks every action in `wanted` against the buy's products and status (rules
/// [`actions::check_action`]): the first one not available now fails with
/// `ACTION_NOT_ALLOWED` and the rule's `details`.
pub(crate) fn check(
    buy: &MediaBuy,
    products: &[Product],
    wanted: &[MediaBuyValidAction],
) -> Result<(), AdcpError> {
    let fallback;
    let products: Vec<&Product> = if products.is_empty() {
        fallback = fallback_product()?;
        vec![&fallback]
    } else {
        products.iter().collect()
    };
    for action in wanted {
        actions::check_action(products.iter().copied(), buy.status, &FALLBACK, *action)?;
    }
    Ok(())
}

/// The parsed start a `start_time` update asks for (`asap` is `now`).
pub(crate) fn start_of(
    timing: &StartTiming,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, AdcpError> {
    let (StartTiming::Variant0(start) | StartTiming::Variant1(start)) = timing;
    if start == "asap" {
        return Ok(now);
    }
    parse_time(start, "start_time")
}

/// Parses an RFC 3339 time, or fails with `INVALID_REQUEST` naming `field`.
pub(crate) fn parse_time(value: &str, field: &str) -> Result<DateTime<Utc>, AdcpError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            AdcpError::invalid_request(format!("`{field}` is not an RFC 3339 date-time"))
                .with_field(field.to_owned())
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buys::tests::buy;
    use serde_json::json;

    fn request(value: &serde_json::Value) -> UpdateMediaBuyRequest {
        let mut base = json!({
            "account": {"account_id": "a"}, "media_buy_id": "mb_1",
            "idempotency_key": "update-actions-test-0001"
        });
        crate::catalog::seed::merge(&mut base, value);
        serde_json::from_value(base).unwrap()
    }

    #[test]
    fn changes_map_to_the_actions_they_take() {
        let buy = buy(10, 20);
        let later = buy.end + chrono::TimeDelta::days(5);
        let wanted = requested(
            &buy,
            &request(
                &json!({"packages": [{"package_id": "pkg_1", "budget": 1200.0,
                                          "pacing": "even"}]}),
            ),
            None,
            Some(later),
        );
        assert_eq!(
            wanted,
            [
                MediaBuyValidAction::ExtendFlight,
                MediaBuyValidAction::IncreaseBudget,
                MediaBuyValidAction::UpdatePacing
            ]
        );
        let wanted = requested(
            &buy,
            &request(
                &json!({"canceled": true, "packages": [{"package_id": "pkg_1", "budget": 900.0}]}),
            ),
            None,
            None,
        );
        assert_eq!(
            wanted,
            [
                MediaBuyValidAction::Cancel,
                MediaBuyValidAction::DecreaseBudget
            ]
        );
    }

    #[test]
    fn a_change_that_changes_nothing_takes_no_action() {
        let buy = buy(10, 20);
        let wanted = requested(
            &buy,
            &request(
                &json!({"paused": false, "packages": [{"package_id": "pkg_1", "budget": 1000.0}]}),
            ),
            Some(buy.start),
            Some(buy.end),
        );
        assert!(wanted.is_empty(), "{wanted:?}");
    }

    #[test]
    fn the_fallback_template_allows_every_change_the_demo_makes() {
        let buy = buy(10, 20);
        let all = requested(
            &buy,
            &request(
                &json!({"canceled": true, "packages": [{"package_id": "pkg_1", "budget": 2.0,
                            "creative_assignments": []}]}),
            ),
            None,
            None,
        );
        check(&buy, &[], &all).unwrap();
    }
}
