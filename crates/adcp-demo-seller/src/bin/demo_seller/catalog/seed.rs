//! Completing the test controller's product and pricing-option fixtures into valid records.
//!
//! A fixture is raw JSON that may set any field, and often sets only part of one (e.g. a
//! `reporting_capabilities` with just `vendor_metrics`). It is merged deeply over the demo's
//! defaults: objects merge member by member at every depth, while arrays and scalars replace
//! the default. The completed JSON is then parsed once into the typed record.

use adcp_types::generated::{PricingOption, Product};
use serde_json::{Map, Value, json};

use super::{FORMAT_AGENT, default_reporting, measurement_windows};

/// Merges `overlay` into `base`: object members merge recursively; anything else replaces.
pub(crate) fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                match base.get_mut(key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (base, overlay) => *base = overlay.clone(),
    }
}

/// The channels whose data matures over measurement windows (DVR accumulation).
const VIDEO_CHANNELS: [&str; 3] = ["olv", "ctv", "linear_tv"];

/// `fixture` completed into a seeded product `product_id`: merged deeply over the defaults,
/// format ids given the demo's format agent where they name none, channels normalised, and a
/// video product given the demo's measurement windows unless the fixture declares its own.
/// Fails, naming the reason, when the completed fixture is not a valid product.
pub(crate) fn product(product_id: &str, fixture: &Map<String, Value>) -> Result<Product, String> {
    let reporting = serde_json::to_value(default_reporting().map_err(|e| e.to_string())?)
        .map_err(|error| error.to_string())?;
    let mut product = json!({
        "product_id": product_id,
        "name": product_id.replace('_', " "),
        "description": format!("Sandbox product {product_id}."),
        "publisher_properties": [{ "publisher_domain": "outdoormagazine.example", "selection_type": "all" }],
        "delivery_type": "non_guaranteed",
        "format_ids": [{ "agent_url": FORMAT_AGENT, "id": "display_300x250" }],
        "pricing_options": [],
        "reporting_capabilities": reporting
    });
    merge(&mut product, &Value::Object(fixture.clone()));
    if let Some(Value::Array(formats)) = product.get_mut("format_ids") {
        for format in formats.iter_mut().filter_map(Value::as_object_mut) {
            format
                .entry("agent_url")
                .or_insert_with(|| Value::from(FORMAT_AGENT));
        }
    }
    normalise_channels(&mut product);
    let video = product
        .get("channels")
        .and_then(Value::as_array)
        .is_some_and(|channels| {
            channels
                .iter()
                .filter_map(Value::as_str)
                .any(|c| VIDEO_CHANNELS.contains(&c))
        });
    if video
        && let Some(Value::Object(reporting)) = product.get_mut("reporting_capabilities")
        && !reporting.contains_key("measurement_windows")
    {
        let windows = serde_json::to_value(measurement_windows().map_err(|e| e.to_string())?)
            .map_err(|error| error.to_string())?;
        reporting.insert("measurement_windows".into(), windows);
    }
    serde_json::from_value::<Product>(product)
        .map_err(|error| format!("the completed fixture is not a valid product: {error}"))
}

/// `fixture` completed into pricing option `option_id`: CPM in USD unless it says otherwise,
/// and an auction option (no `fixed_price`) given a floor and bid guidance around it.
pub(crate) fn pricing_option(
    option_id: &str,
    fixture: &Map<String, Value>,
) -> Result<PricingOption, String> {
    let mut option = json!({
        "pricing_option_id": option_id,
        "pricing_model": "cpm",
        "currency": "USD"
    });
    merge(&mut option, &Value::Object(fixture.clone()));
    if let Value::Object(option) = &mut option
        && !option.contains_key("fixed_price")
    {
        let floor = option
            .get("floor_price")
            .and_then(Value::as_f64)
            .unwrap_or(1.0);
        option
            .entry("floor_price")
            .or_insert_with(|| Value::from(floor));
        option.entry("price_guidance").or_insert_with(|| {
            json!({ "p25": floor * 1.2, "p50": floor * 1.5, "p75": floor * 2.0, "p90": floor * 2.5 })
        });
    }
    serde_json::from_value::<PricingOption>(option)
        .map_err(|error| format!("the completed fixture is not a valid pricing option: {error}"))
}

/// Storyboard fixtures use a few channel names the rc.9 enum spells differently; map them, and
/// drop any other unknown channel rather than serve an invalid product.
fn normalise_channels(product: &mut Value) {
    if let Some(Value::Array(channels)) = product.get_mut("channels") {
        let mut normalised: Vec<Value> = Vec::new();
        for channel in channels.iter().filter_map(Value::as_str) {
            let mapped = match channel {
                "video" | "online_video" => "olv",
                "audio" => "streaming_audio",
                "native" => "display",
                other => other,
            };
            let known = mapped.parse::<adcp_types::generated::Channels>().is_ok();
            let mapped = Value::from(mapped);
            if known && !normalised.contains(&mapped) {
                normalised.push(mapped);
            }
        }
        *channels = normalised;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_partial_reporting_capabilities_keeps_the_defaults() {
        let product = product(
            "vendor_metrics_display",
            &fixture(json!({
                "channels": ["display"],
                "reporting_capabilities": {
                    "vendor_metrics": [{"vendor": {"domain": "attentionvendor.example"},
                                        "metric_id": "attention_seconds"}]
                }
            })),
        )
        .unwrap();
        let reporting = serde_json::to_value(&product.reporting_capabilities).unwrap();
        assert_eq!(reporting["timezone"], "UTC");
        assert_eq!(reporting["date_range_support"], "date_range");
        assert_eq!(
            reporting["vendor_metrics"][0]["vendor"]["domain"],
            "attentionvendor.example"
        );
    }

    #[test]
    fn arrays_replace_and_format_ids_get_the_format_agent() {
        let product = product(
            "p",
            &fixture(json!({"format_ids": [{"id": "video_30s"}], "channels": ["video"]})),
        )
        .unwrap();
        let formats = product.format_ids.unwrap_or_default();
        assert_eq!(formats.len(), 1);
        assert_eq!(formats[0].id, "video_30s");
        assert_eq!(formats[0].agent_url, FORMAT_AGENT);
        let reporting = serde_json::to_value(&product.reporting_capabilities).unwrap();
        assert_eq!(reporting["measurement_windows"][2]["window_id"], "c7");
    }

    #[test]
    fn an_invalid_completed_fixture_is_refused() {
        assert!(product("p", &fixture(json!({"delivery_type": "sometimes"}))).is_err());
    }
}
