//! The demo's product catalog: three house products plus whatever the compliance controller
//! seeds (newest seed batch first, seed order kept within a batch).

use std::sync::RwLock;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

/// Seeds further apart than this start a new batch.
const BATCH_GAP: Duration = Duration::from_secs(2);

/// The catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    house: Vec<Value>,
    seeded: RwLock<Seeded>,
}

#[derive(Debug, Default)]
struct Seeded {
    batches: Vec<Vec<Value>>,
    last_seed: Option<Instant>,
}

fn reporting() -> Value {
    json!({
        "available_reporting_frequencies": ["daily"],
        "expected_delay_minutes": 60,
        "timezone": "UTC",
        "supports_webhooks": false,
        "available_metrics": ["impressions", "clicks", "spend"],
        "date_range_support": "date_range"
    })
}

fn format_id(id: &str) -> Value {
    json!({ "agent_url": "https://creative.adcontextprotocol.org/", "id": id })
}

impl Catalog {
    /// The house catalog.
    pub(crate) fn new() -> Self {
        let house = vec![
            json!({
                "product_id": "trail_display_auction",
                "name": "Trail display (auction)",
                "description": "Run-of-network display across outdoor titles, sold by auction.",
                "publisher_properties": [{ "publisher_domain": "outdoormagazine.example", "selection_type": "all" }],
                "channels": ["display"],
                "delivery_type": "non_guaranteed",
                "format_ids": [format_id("display_300x250")],
                "pricing_options": [{
                    "pricing_option_id": "cpm_auction",
                    "pricing_model": "cpm",
                    "currency": "USD",
                    "floor_price": 2.5,
                    "price_guidance": { "p25": 3.0, "p50": 4.0, "p75": 5.5, "p90": 7.0 }
                }],
                "reporting_capabilities": reporting()
            }),
            json!({
                "product_id": "summit_video_fixed",
                "name": "Summit video (fixed CPM)",
                "description": "Pre-roll on outdoor adventure video, fixed CPM, guaranteed.",
                "publisher_properties": [{ "publisher_domain": "summitvideo.example", "selection_type": "all" }],
                "channels": ["olv"],
                "delivery_type": "guaranteed",
                "format_ids": [format_id("video_15s")],
                "pricing_options": [{
                    "pricing_option_id": "cpm_fixed",
                    "pricing_model": "cpm",
                    "currency": "USD",
                    "fixed_price": 18.0
                }],
                "reporting_capabilities": reporting()
            }),
            json!({
                "product_id": "basecamp_native",
                "name": "Basecamp native (fixed CPM)",
                "description": "Native placements in gear reviews, fixed CPM, non-guaranteed.",
                "publisher_properties": [{ "publisher_domain": "outdoormagazine.example", "selection_type": "all" }],
                "channels": ["display"],
                "delivery_type": "non_guaranteed",
                "format_ids": [format_id("native_standard")],
                "pricing_options": [{
                    "pricing_option_id": "cpm_fixed",
                    "pricing_model": "cpm",
                    "currency": "USD",
                    "fixed_price": 9.0
                }],
                "reporting_capabilities": reporting()
            }),
        ];
        Self {
            house,
            seeded: RwLock::new(Seeded::default()),
        }
    }

    /// Every product, seeded first.
    pub(crate) fn all(&self) -> Vec<Value> {
        let mut all = Vec::new();
        if let Ok(seeded) = self.seeded.read() {
            for batch in seeded.batches.iter().rev() {
                all.extend(batch.iter().cloned());
            }
        }
        all.extend(self.house.iter().cloned());
        all
    }

    /// The product with `product_id`, if any.
    pub(crate) fn find(&self, product_id: &str) -> Option<Value> {
        self.all()
            .into_iter()
            .find(|p| p.get("product_id").and_then(Value::as_str) == Some(product_id))
    }

    /// Adds or replaces a seeded product, completing a partial fixture into a valid product.
    pub(crate) fn seed_product(
        &self,
        product_id: &str,
        fixture: &Map<String, Value>,
    ) -> Result<(), String> {
        let mut product = json!({
            "product_id": product_id,
            "name": product_id.replace('_', " "),
            "description": format!("Sandbox product {product_id}."),
            "publisher_properties": [{ "publisher_domain": "outdoormagazine.example", "selection_type": "all" }],
            "delivery_type": "non_guaranteed",
            "format_ids": [format_id("display_300x250")],
            "pricing_options": [],
            "reporting_capabilities": reporting()
        });
        if let Value::Object(map) = &mut product {
            for (key, value) in fixture {
                map.insert(key.clone(), value.clone());
            }
            if let Some(Value::Array(formats)) = map.get_mut("format_ids") {
                for format in formats {
                    if let Value::Object(format) = format {
                        format.entry("agent_url").or_insert_with(|| {
                            Value::from("https://creative.adcontextprotocol.org/")
                        });
                    }
                }
            }
        }
        normalise_channels(&mut product);
        if let Err(error) =
            serde_json::from_value::<adcp_types::generated::Product>(product.clone())
        {
            return Err(format!(
                "the completed fixture is not a valid product: {error}"
            ));
        }
        let Ok(mut seeded) = self.seeded.write() else {
            return Err("catalog lock poisoned".to_owned());
        };
        for batch in &mut seeded.batches {
            batch.retain(|p| p.get("product_id").and_then(Value::as_str) != Some(product_id));
        }
        seeded.batches.retain(|b| !b.is_empty());
        let now = Instant::now();
        let new_batch = seeded
            .last_seed
            .is_none_or(|at| now.duration_since(at) > BATCH_GAP);
        seeded.last_seed = Some(now);
        if new_batch || seeded.batches.is_empty() {
            seeded.batches.push(Vec::new());
        }
        if let Some(batch) = seeded.batches.last_mut() {
            batch.push(product);
        }
        Ok(())
    }

    /// Adds or replaces a pricing option on a seeded product. `false` when no such product.
    pub(crate) fn seed_pricing_option(
        &self,
        product_id: &str,
        option_id: &str,
        fixture: &Map<String, Value>,
    ) -> bool {
        let Ok(mut seeded) = self.seeded.write() else {
            return false;
        };
        for batch in &mut seeded.batches {
            for product in batch.iter_mut() {
                if product.get("product_id").and_then(Value::as_str) != Some(product_id) {
                    continue;
                }
                let mut option = Map::new();
                option.insert("pricing_option_id".into(), Value::from(option_id));
                option.insert("pricing_model".into(), Value::from("cpm"));
                option.insert("currency".into(), Value::from("USD"));
                for (key, value) in fixture {
                    option.insert(key.clone(), value.clone());
                }
                if !option.contains_key("fixed_price") {
                    // An auction option: a floor, and bid guidance around it.
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
                if let Some(Value::Array(options)) = product.get_mut("pricing_options") {
                    options.retain(|o| {
                        o.get("pricing_option_id").and_then(Value::as_str) != Some(option_id)
                    });
                    options.push(Value::Object(option));
                }
                return true;
            }
        }
        false
    }
}

/// Storyboard fixtures use a few channel names the rc.9 enum spells differently; map them, and
/// drop any other unknown channel rather than serve an invalid product.
fn normalise_channels(product: &mut Value) {
    const KNOWN: [&str; 20] = [
        "display",
        "olv",
        "social",
        "search",
        "ctv",
        "linear_tv",
        "radio",
        "streaming_audio",
        "podcast",
        "dooh",
        "ooh",
        "print",
        "cinema",
        "email",
        "gaming",
        "retail_media",
        "influencer",
        "affiliate",
        "product_placement",
        "sponsored_intelligence",
    ];
    if let Some(Value::Array(channels)) = product.get_mut("channels") {
        let mut normalised: Vec<Value> = Vec::new();
        for channel in channels.iter().filter_map(Value::as_str) {
            let mapped = match channel {
                "video" | "online_video" => "olv",
                "audio" => "streaming_audio",
                "native" => "display",
                other => other,
            };
            let mapped = Value::from(mapped);
            if KNOWN.contains(&mapped.as_str().unwrap_or_default()) && !normalised.contains(&mapped)
            {
                normalised.push(mapped);
            }
        }
        *channels = normalised;
    }
}

/// Whether `product` passes the request's `filters` (delivery type, fixed price).
pub(crate) fn matches_filters(product: &Value, filters: Option<&Value>) -> bool {
    let Some(filters) = filters else { return true };
    if let Some(delivery) = filters.get("delivery_type").and_then(Value::as_str)
        && product.get("delivery_type").and_then(Value::as_str) != Some(delivery)
    {
        return false;
    }
    if let Some(fixed) = filters.get("is_fixed_price").and_then(Value::as_bool) {
        let has_fixed = product
            .get("pricing_options")
            .and_then(Value::as_array)
            .is_some_and(|options| options.iter().any(|o| o.get("fixed_price").is_some()));
        if has_fixed != fixed {
            return false;
        }
    }
    true
}
