//! A package's `targeting_overlay.signal_targeting_groups` checked against its product: the
//! product must allow signal targeting (`signal_targeting_allowed`), the groups must stay within
//! its `signal_targeting_rules` limits, and a product-scoped `signal_ref` must name one of the
//! product's own signals ("MUST match a Product.included_signals[].signal_ref.signal_id or
//! Product.signal_targeting_options[].signal_ref.signal_id for that product",
//! `core/signal-ref.json`).
//!
//! Refs scoped to a data provider or a signal source resolve through that provider or source,
//! which the demo does not call at buy time; they are accepted on a product that allows signal
//! targeting, and the expression is stored as sent.
//!
//! The product and the overlay are read in their JSON form: the checks walk nested optional
//! members the generated types spread over many variants.

use adcp_types::AdcpError;
use adcp_types::generated::{PackageRequest, Product};
use serde_json::Value;

/// The product-local signal ids `product` declares (`included_signals[]` and
/// `signal_targeting_options[]`).
fn product_signal_ids(product: &Value) -> Vec<&str> {
    ["included_signals", "signal_targeting_options"]
        .iter()
        .flat_map(|key| {
            product
                .get(*key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter_map(|entry| {
            entry
                .pointer("/signal_ref/signal_id")
                .and_then(Value::as_str)
        })
        .collect()
}

/// A limit from the product's `signal_targeting_rules`, if it sets one.
fn limit(product: &Value, name: &str) -> Option<usize> {
    product
        .pointer(&format!("/signal_targeting_rules/{name}"))
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
}

/// Checks package `i`'s signal targeting groups against `product`. Fails with
/// `INVALID_REQUEST` naming the offending path under
/// `packages[{i}].targeting_overlay.signal_targeting_groups`.
pub(crate) fn check(
    package: &PackageRequest,
    product: &Product,
    i: usize,
) -> Result<(), AdcpError> {
    let Some(overlay) = &package.targeting_overlay else {
        return Ok(());
    };
    let overlay = serde_json::to_value(overlay).unwrap_or(Value::Null);
    let Some(groups) = overlay.get("signal_targeting_groups") else {
        return Ok(());
    };
    let base = format!("packages[{i}].targeting_overlay.signal_targeting_groups");
    let product = serde_json::to_value(product).unwrap_or(Value::Null);
    if product
        .get("signal_targeting_allowed")
        .and_then(Value::as_bool)
        != Some(true)
    {
        return Err(AdcpError::invalid_request(format!(
            "product `{}` does not allow signal targeting",
            package.product_id
        ))
        .with_field(base));
    }
    let groups = groups
        .get("groups")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if let Some(max) = limit(&product, "max_signal_targeting_groups")
        && groups.len() > max
    {
        return Err(AdcpError::invalid_request(format!(
            "the product allows at most {max} signal targeting groups"
        ))
        .with_field(format!("{base}.groups")));
    }
    let local = product_signal_ids(&product);
    let per_group = limit(&product, "max_signals_per_targeting_group");
    for (g, group) in groups.iter().enumerate() {
        let signals = group
            .get("signals")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        if let Some(max) = per_group
            && signals.len() > max
        {
            return Err(AdcpError::invalid_request(format!(
                "the product allows at most {max} signals per targeting group"
            ))
            .with_field(format!("{base}.groups[{g}].signals")));
        }
        for (s, signal) in signals.iter().enumerate() {
            let reference = signal.get("signal_ref");
            let scope = reference
                .and_then(|r| r.get("scope"))
                .and_then(Value::as_str);
            let id = reference
                .and_then(|r| r.get("signal_id"))
                .and_then(Value::as_str);
            if scope == Some("product") && !id.is_some_and(|id| local.contains(&id)) {
                return Err(AdcpError::invalid_request(format!(
                    "product `{}` offers no signal `{}`",
                    package.product_id,
                    id.unwrap_or_default()
                ))
                .with_field(format!("{base}.groups[{g}].signals[{s}].signal_ref")));
            }
        }
    }
    Ok(())
}
