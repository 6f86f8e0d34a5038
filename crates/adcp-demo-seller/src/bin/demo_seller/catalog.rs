//! The demo's product catalog: three house products plus whatever the compliance controller
//! seeds (newest seed batch first, seed order kept within a batch). Products are held typed;
//! seed fixtures arrive as JSON and are completed as JSON (a fixture may override any default
//! field), then parsed once.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use adcp_types::MissingField;
use adcp_types::generated::{
    AvailableMetric, Channels, CpmOption, DeliveryType, FormatId, PriceGuidance, PricingOption,
    Product, PublisherPropertySelector, ReportingCapabilities,
    ReportingCapabilitiesDateRangeSupport, ReportingFrequency,
};
use serde_json::{Map, Value, json};

/// Seeds further apart than this start a new batch.
const BATCH_GAP: Duration = Duration::from_secs(2);

/// Where the demo's creative formats are defined.
const FORMAT_AGENT: &str = "https://creative.adcontextprotocol.org/";

/// The catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    house: Vec<Product>,
    seeded: RwLock<Seeded>,
}

#[derive(Debug, Default)]
struct Seeded {
    batches: Vec<Vec<Product>>,
    last_seed: Option<Instant>,
}

fn reporting() -> Result<ReportingCapabilities, MissingField> {
    ReportingCapabilities::builder()
        .available_reporting_frequencies(vec![ReportingFrequency::Daily])
        .expected_delay_minutes(60_u64)
        .timezone("UTC")
        .supports_webhooks(false)
        .available_metrics(vec![
            AvailableMetric::Impressions,
            AvailableMetric::Clicks,
            AvailableMetric::Spend,
        ])
        .date_range_support(ReportingCapabilitiesDateRangeSupport::DateRange)
        .build()
}

fn format_id(id: &str) -> Result<FormatId, MissingField> {
    FormatId::builder().agent_url(FORMAT_AGENT).id(id).build()
}

/// A fixed-price CPM option in USD.
fn fixed_cpm(price: f64) -> Result<PricingOption, MissingField> {
    Ok(CpmOption::builder()
        .pricing_option_id("cpm_fixed")
        .currency("USD")
        .fixed_price(price)
        .build()?
        .into())
}

/// The parts in which the house products differ.
struct House<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    publisher_domain: &'a str,
    channel: Channels,
    delivery_type: DeliveryType,
    format: &'a str,
    pricing: PricingOption,
}

impl House<'_> {
    fn product(self) -> Result<Product, MissingField> {
        Product::builder()
            .product_id(self.id)
            .name(self.name)
            .description(self.description)
            .publisher_properties(vec![PublisherPropertySelector::all(self.publisher_domain)])
            .channels(vec![self.channel])
            .delivery_type(self.delivery_type)
            .format_ids(vec![format_id(self.format)?])
            .pricing_options(vec![self.pricing])
            .reporting_capabilities(reporting()?)
            .build()
    }
}

impl Catalog {
    /// The house catalog; a product missing a required field is the demo's bug, reported at
    /// startup.
    pub(crate) fn new() -> Result<Self, MissingField> {
        let auction = CpmOption::builder()
            .pricing_option_id("cpm_auction")
            .currency("USD")
            .floor_price(2.5)
            .price_guidance(PriceGuidance {
                p25: Some(3.0),
                p50: Some(4.0),
                p75: Some(5.5),
                p90: Some(7.0),
                ..PriceGuidance::default()
            })
            .build()?;
        let house = vec![
            House {
                id: "trail_display_auction",
                name: "Trail display (auction)",
                description: "Run-of-network display across outdoor titles, sold by auction.",
                publisher_domain: "outdoormagazine.example",
                channel: Channels::Display,
                delivery_type: DeliveryType::NonGuaranteed,
                format: "display_300x250",
                pricing: auction.into(),
            }
            .product()?,
            House {
                id: "summit_video_fixed",
                name: "Summit video (fixed CPM)",
                description: "Pre-roll on outdoor adventure video, fixed CPM, guaranteed.",
                publisher_domain: "summitvideo.example",
                channel: Channels::Olv,
                delivery_type: DeliveryType::Guaranteed,
                format: "video_15s",
                pricing: fixed_cpm(18.0)?,
            }
            .product()?,
            House {
                id: "basecamp_native",
                name: "Basecamp native (fixed CPM)",
                description: "Native placements in gear reviews, fixed CPM, non-guaranteed.",
                publisher_domain: "outdoormagazine.example",
                channel: Channels::Display,
                delivery_type: DeliveryType::NonGuaranteed,
                format: "native_standard",
                pricing: fixed_cpm(9.0)?,
            }
            .product()?,
        ];
        Ok(Self {
            house,
            seeded: RwLock::new(Seeded::default()),
        })
    }

    /// Every product, seeded first.
    pub(crate) fn all(&self) -> Vec<Product> {
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
    pub(crate) fn find(&self, product_id: &str) -> Option<Product> {
        self.all().into_iter().find(|p| p.product_id == product_id)
    }

    /// Adds or replaces a seeded product, completing a partial fixture into a valid product.
    /// The fixture is the controller's raw JSON and may set any product field, so it is
    /// merged over the defaults as JSON and the result parsed once.
    pub(crate) fn seed_product(
        &self,
        product_id: &str,
        fixture: &Map<String, Value>,
    ) -> Result<(), String> {
        let reporting = reporting()
            .map_err(|error| error.to_string())
            .and_then(|r| serde_json::to_value(r).map_err(|error| error.to_string()))?;
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
        if let Value::Object(map) = &mut product {
            for (key, value) in fixture {
                map.insert(key.clone(), value.clone());
            }
            if let Some(Value::Array(formats)) = map.get_mut("format_ids") {
                for format in formats {
                    if let Value::Object(format) = format {
                        format
                            .entry("agent_url")
                            .or_insert_with(|| Value::from(FORMAT_AGENT));
                    }
                }
            }
        }
        normalise_channels(&mut product);
        let product = serde_json::from_value::<Product>(product)
            .map_err(|error| format!("the completed fixture is not a valid product: {error}"))?;
        let Ok(mut seeded) = self.seeded.write() else {
            return Err("catalog lock poisoned".to_owned());
        };
        for batch in &mut seeded.batches {
            batch.retain(|p| p.product_id != product_id);
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

    /// Adds or replaces a pricing option on a seeded product: `Ok(false)` when there is no
    /// such product, an error when the completed fixture is not a valid pricing option. The
    /// fixture is the controller's raw JSON, completed as JSON like [`Self::seed_product`]'s.
    pub(crate) fn seed_pricing_option(
        &self,
        product_id: &str,
        option_id: &str,
        fixture: &Map<String, Value>,
    ) -> Result<bool, String> {
        let Ok(mut seeded) = self.seeded.write() else {
            return Err("catalog lock poisoned".to_owned());
        };
        let Some(product) = seeded
            .batches
            .iter_mut()
            .flat_map(|batch| batch.iter_mut())
            .find(|p| p.product_id == product_id)
        else {
            return Ok(false);
        };
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
        let option =
            serde_json::from_value::<PricingOption>(Value::Object(option)).map_err(|error| {
                format!("the completed fixture is not a valid pricing option: {error}")
            })?;
        product
            .pricing_options
            .retain(|o| terms(o).pricing_option_id != option_id);
        product.pricing_options.push(option);
        Ok(true)
    }
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
            let known = mapped.parse::<Channels>().is_ok();
            let mapped = Value::from(mapped);
            if known && !normalised.contains(&mapped) {
                normalised.push(mapped);
            }
        }
        *channels = normalised;
    }
}

/// What the demo reads of a pricing option, whichever model it prices by.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Terms<'a> {
    pub(crate) pricing_option_id: &'a str,
    pub(crate) pricing_model: &'a str,
    pub(crate) fixed_price: Option<f64>,
    pub(crate) floor_price: Option<f64>,
}

/// The terms of `option` (every pricing model's option carries these fields; a CPA option is
/// always fixed-price and has no floor).
pub(crate) fn terms(option: &PricingOption) -> Terms<'_> {
    macro_rules! priced {
        ($o:expr) => {
            Terms {
                pricing_option_id: &$o.pricing_option_id,
                pricing_model: &$o.pricing_model,
                fixed_price: $o.fixed_price,
                floor_price: $o.floor_price,
            }
        };
    }
    match option {
        PricingOption::CpmOption(o) => priced!(o),
        PricingOption::VcpmOption(o) => priced!(o),
        PricingOption::CpcOption(o) => priced!(o),
        PricingOption::CpcvOption(o) => priced!(o),
        PricingOption::CpvOption(o) => priced!(o),
        PricingOption::CppOption(o) => priced!(o),
        PricingOption::FlatRateOption(o) => priced!(o),
        PricingOption::TimeOption(o) => priced!(o),
        PricingOption::CpaOption(o) => Terms {
            pricing_option_id: &o.pricing_option_id,
            pricing_model: &o.pricing_model,
            fixed_price: Some(o.fixed_price),
            floor_price: None,
        },
    }
}
