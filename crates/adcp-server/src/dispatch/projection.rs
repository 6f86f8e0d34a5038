//! The `fields` projection of discovery replies: a buyer asking for `fields: [...]` gets each
//! listed item trimmed to those fields plus the ones the protocol always returns.
//!
//! It shapes the wire reply only: result hooks (persist-draft) have already seen the
//! platform's full result when it runs. A synchronous result the platform asked to push
//! (`CallContext::push_completion`) is recorded as projected, since it is what the buyer
//! received; a handoff's task result is the platform's own.
//!
//! Only fields the buyer could have asked for (the request schema's `fields` enum) are ever
//! removed: a reply field outside that vocabulary (`ext`, `property_targeting_allowed`, ...)
//! cannot be requested, so it is kept.

use adcp_types::generated::{GetProductsRequestFieldsItem, GetSignalsRequestFieldsItem};
use serde_json::Value;

/// What `fields` trims in one tool's reply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldsRule {
    /// The array of the reply whose items are trimmed.
    pub(crate) list: &'static str,
    /// The item fields kept whatever the buyer asked for: the ones the request schema's
    /// `fields` description promises and every field the response schema requires, so a
    /// projected reply still validates.
    pub(crate) always: &'static [&'static str],
    /// Whether a field name is in the request schema's `fields` enum (only those are trimmed).
    pub(crate) requestable: fn(&str) -> bool,
}

fn product_field(name: &str) -> bool {
    name.parse::<GetProductsRequestFieldsItem>().is_ok()
}

fn signal_field(name: &str) -> bool {
    name.parse::<GetSignalsRequestFieldsItem>().is_ok()
}

/// `get_products`: the request schema promises `product_id` and `name`; `core/product.json`
/// requires the next five, one of `format_ids`/`format_options` (`anyOf`), and
/// `signal_targeting_allowed` whenever signal targeting options are present.
const PRODUCTS: FieldsRule = FieldsRule {
    list: "products",
    always: &[
        "product_id",
        "name",
        "description",
        "publisher_properties",
        "delivery_type",
        "pricing_options",
        "reporting_capabilities",
        "format_ids",
        "format_options",
        "signal_targeting_allowed",
    ],
    requestable: product_field,
};

/// `get_signals`: the identity and activation fields the request schema's `fields`
/// description names, plus `value_type`, which `core/signal-listing.json` requires of a
/// product-scoped `signal_ref`.
const SIGNALS: FieldsRule = FieldsRule {
    list: "signals",
    always: &[
        "signal_ref",
        "signal_id",
        "signal_agent_segment_id",
        "name",
        "description",
        "signal_type",
        "coverage_percentage",
        "deployments",
        "value_type",
    ],
    requestable: signal_field,
};

/// The projection rule of `tool`, if its request carries a `fields` selector the server
/// applies.
pub(crate) fn rule(tool: &str) -> Option<FieldsRule> {
    match tool {
        "get_products" => Some(PRODUCTS),
        "get_signals" => Some(SIGNALS),
        _ => None,
    }
}

/// Trims `body`'s listed items to the request's `fields` (plus the rule's `always`). A
/// request without `fields` (or with a malformed one, which request validation rejects
/// earlier when it is on) leaves the body untouched.
pub(crate) fn apply_fields(tool: &str, request: &Value, body: &mut Value) {
    let Some(rule) = rule(tool) else {
        return;
    };
    let Some(requested) = request.get("fields").and_then(Value::as_array) else {
        return;
    };
    let requested: Vec<&str> = requested.iter().filter_map(Value::as_str).collect();
    if requested.is_empty() {
        return;
    }
    let Some(items) = body.get_mut(rule.list).and_then(Value::as_array_mut) else {
        return;
    };
    for item in items.iter_mut().filter_map(Value::as_object_mut) {
        item.retain(|key, _| {
            let key = key.as_str();
            rule.always.contains(&key) || requested.contains(&key) || !(rule.requestable)(key)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product() -> Value {
        json!({
            "product_id": "p1", "name": "P", "description": "D",
            "publisher_properties": [], "delivery_type": "non_guaranteed",
            "format_ids": [{ "agent_url": "https://c.example/", "id": "x" }],
            "pricing_options": [], "reporting_capabilities": {}, "channels": ["display"],
            "placements": [], "expires_at": "2026-12-01T00:00:00Z",
            "property_targeting_allowed": true, "ext": { "seller": "x" }
        })
    }

    #[test]
    fn products_keep_the_requested_and_the_always_returned_fields() {
        let mut body = json!({ "products": [product()], "cache_scope": "public" });
        apply_fields(
            "get_products",
            &json!({ "fields": ["channels"] }),
            &mut body,
        );
        let kept: Vec<&str> = body["products"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert!(kept.contains(&"channels"));
        assert!(!kept.contains(&"placements") && !kept.contains(&"expires_at"));
        assert!(
            kept.contains(&"property_targeting_allowed") && kept.contains(&"ext"),
            "fields the buyer cannot request are never trimmed: {kept:?}"
        );
        assert_eq!(
            kept.len(),
            11,
            "the eight always-returned fields present, channels, and the two unrequestable: {kept:?}"
        );
        assert_eq!(body["cache_scope"], "public", "only the items are trimmed");
    }

    #[test]
    fn no_fields_or_another_tool_leaves_the_body_alone() {
        let full = json!({ "products": [product()] });
        for (tool, request) in [
            ("get_products", json!({})),
            ("get_products", json!({ "fields": [] })),
            ("get_products", json!({ "fields": "channels" })),
            ("get_media_buys", json!({ "fields": ["channels"] })),
        ] {
            let mut body = full.clone();
            apply_fields(tool, &request, &mut body);
            assert_eq!(body, full, "{tool} {request}");
        }
    }

    /// The `always` lists cover what the response schemas require, so a projected reply
    /// still passes strict validation (checked against the pinned schemas).
    #[test]
    fn a_minimal_projection_still_validates() {
        let Ok(schemas) = adcp_types::validate::SchemaSet::load_default() else {
            panic!("the schemas are installed for tests (cargo xtask schemas)");
        };
        let mut body = json!({
            "products": [{
                "product_id": "p1", "name": "P", "description": "D",
                "publisher_properties": [{ "publisher_domain": "news.example", "selection_type": "all" }],
                "delivery_type": "non_guaranteed",
                "format_ids": [{ "agent_url": "https://creative.example/", "id": "display_300x250" }],
                "pricing_options": [{ "pricing_option_id": "cpm", "pricing_model": "cpm", "currency": "USD", "fixed_price": 5.0 }],
                "reporting_capabilities": {
                    "available_reporting_frequencies": ["daily"], "expected_delay_minutes": 60, "timezone": "UTC",
                    "supports_webhooks": false, "available_metrics": ["impressions"], "date_range_support": "date_range"
                },
                "channels": ["display"]
            }],
            "status": "completed", "cache_scope": "public"
        });
        apply_fields(
            "get_products",
            &json!({ "fields": ["product_id"] }),
            &mut body,
        );
        assert!(body["products"][0].get("channels").is_none());
        assert_eq!(schemas.validate_response("get_products", &body), Ok(()));

        let mut body = json!({
            "signals": [{
                "signal_agent_segment_id": "s1", "name": "Hikers", "description": "Hikers.", "signal_type": "owned",
                "signal_id": { "source": "agent", "agent_url": "https://seller.example/mcp", "id": "s1" },
                "value_type": "binary",
                "deployments": [{ "type": "platform", "platform": "the-trade-desk", "is_live": true }],
                "pricing_options": [{ "pricing_option_id": "cpm_std", "model": "cpm", "cpm": 1.5, "currency": "USD" }]
            }],
            "status": "completed", "cache_scope": "public"
        });
        apply_fields("get_signals", &json!({ "fields": ["name"] }), &mut body);
        assert!(body["signals"][0].get("pricing_options").is_none());
        assert_eq!(schemas.validate_response("get_signals", &body), Ok(()));

        // A product-scoped signal_ref requires value_type.
        let mut body = json!({
            "signals": [{
                "signal_agent_segment_id": "s2", "name": "Cyclists", "description": "Cyclists.", "signal_type": "owned",
                "signal_ref": { "scope": "product", "signal_id": "s2" },
                "value_type": "binary",
                "deployments": [{ "type": "platform", "platform": "the-trade-desk", "is_live": true }],
                "pricing_options": [{ "pricing_option_id": "cpm_std", "model": "cpm", "cpm": 1.5, "currency": "USD" }]
            }],
            "status": "completed", "cache_scope": "public"
        });
        assert_eq!(
            schemas.validate_response("get_signals", &body),
            Ok(()),
            "fixture"
        );
        apply_fields("get_signals", &json!({ "fields": ["name"] }), &mut body);
        assert_eq!(body["signals"][0]["value_type"], "binary");
        assert_eq!(schemas.validate_response("get_signals", &body), Ok(()));
    }
}
