//! Minimal wire objects for the rules' unit tests: a schema-valid product or package with only
//! the members a test cares about spelled out.

use adcp_types::generated::{PackageRequest, Product};
use serde_json::{Value, json};

/// Overlays `over`'s top-level members on `base`.
fn overlay(mut base: Value, over: Value) -> Value {
    if let (Some(base), Value::Object(over)) = (base.as_object_mut(), over) {
        base.extend(over);
    }
    base
}

/// A non-guaranteed display product with one USD CPM option, overlaid with `over`.
pub(super) fn product(over: Value) -> Product {
    let base = json!({
        "product_id": "p",
        "name": "Product",
        "description": "A test product",
        "publisher_properties": [{"publisher_domain": "news.example", "selection_type": "all"}],
        "delivery_type": "non_guaranteed",
        "format_ids": [{"agent_url": "https://creative.example", "id": "display_300x250"}],
        "pricing_options": [{"pricing_option_id": "cpm_usd", "pricing_model": "cpm",
                             "currency": "USD", "floor_price": 1.0}],
        "reporting_capabilities": {
            "available_metrics": ["impressions", "spend"],
            "available_reporting_frequencies": ["daily"],
            "date_range_support": "date_range",
            "expected_delay_minutes": 240,
            "supports_webhooks": false,
            "timezone": "UTC"
        }
    });
    serde_json::from_value(overlay(base, over)).expect("a schema-valid test product")
}

/// A package for product `p` on option `cpm_usd` with a budget of 1000, overlaid with `over`.
pub(super) fn package(over: Value) -> PackageRequest {
    let base = json!({"product_id": "p", "pricing_option_id": "cpm_usd", "budget": 1000.0});
    serde_json::from_value(overlay(base, over)).expect("a schema-valid test package")
}
