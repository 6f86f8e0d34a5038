//! The demo's product catalog: three house products plus whatever the compliance controller
//! seeds, and the creative formats the controller seeds beside them. Products are held typed;
//! seed fixtures arrive as JSON and are completed as JSON ([`seed`]), then parsed once.
//!
//! Order is deterministic: seeded products first, newest seed batch first and seed order kept
//! within a batch, then the house products. A batch is a run of seeds with no catalog read in
//! between: a compliance run seeds a storyboard's fixtures back to back before its first
//! discovery call, so each storyboard's own fixtures lead its discovery, whatever ran before it
//! and however fast.

pub(crate) mod seed;

use std::sync::RwLock;

use adcp_types::MissingField;
use adcp_types::generated::{
    AvailableMetric, Channels, CpmOption, DeliveryType, FormatId, MeasurementWindow, PriceGuidance,
    PricingOption, Product, PublisherPropertySelector, ReportingCapabilities,
    ReportingCapabilitiesDateRangeSupport, ReportingFrequency,
};
use serde_json::{Map, Value};

/// Where the demo's creative formats are defined.
pub(crate) const FORMAT_AGENT: &str = "https://creative.adcontextprotocol.org/";

/// The catalog.
#[derive(Debug)]
pub(crate) struct Catalog {
    house: Vec<Product>,
    seeded: RwLock<Seeded>,
}

#[derive(Debug, Default)]
struct Seeded {
    batches: Vec<Vec<Product>>,
    /// The newest batch still takes seeds (no read since its last seed).
    open: bool,
    /// Seeded creative formats: id and the controller's fixture, in seed order.
    formats: Vec<(String, Map<String, Value>)>,
}

/// The reporting every product offers unless it says otherwise.
pub(crate) fn default_reporting() -> Result<ReportingCapabilities, MissingField> {
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

/// The maturation windows of the demo's video inventory (DVR accumulation, billed on C7).
pub(crate) fn measurement_windows() -> Result<Vec<MeasurementWindow>, MissingField> {
    let window = |id: &str, days: u64, description: &str| {
        MeasurementWindow::builder()
            .window_id(id)
            .duration_days(days)
            .expected_availability_days(days + 2)
            .is_guarantee_basis(id == "c7")
            .description(description)
            .build()
    };
    Ok(vec![
        window("live", 0, "Live viewing only")?,
        window("c3", 3, "Live plus 3 days of time-shifted viewing")?,
        window("c7", 7, "Live plus 7 days of time-shifted viewing")?,
    ])
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
        let mut reporting = default_reporting()?;
        if matches!(self.channel, Channels::Olv | Channels::Ctv) {
            reporting.measurement_windows = Some(measurement_windows()?);
        }
        Product::builder()
            .product_id(self.id)
            .name(self.name)
            .description(self.description)
            .publisher_properties(vec![PublisherPropertySelector::all(self.publisher_domain)])
            .channels(vec![self.channel])
            .delivery_type(self.delivery_type)
            .format_ids(vec![format_id(self.format)?])
            .pricing_options(vec![self.pricing])
            .reporting_capabilities(reporting)
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

    /// Every product, seeded first (see the module docs for the order).
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

    /// A catalog read: the next seed starts a new batch.
    pub(crate) fn close_batch(&self) {
        if let Ok(mut seeded) = self.seeded.write() {
            seeded.open = false;
        }
    }

    /// The product with `product_id`, if any.
    pub(crate) fn find(&self, product_id: &str) -> Option<Product> {
        self.all().into_iter().find(|p| p.product_id == product_id)
    }

    /// Adds or replaces a seeded product, completing a partial fixture into a valid product
    /// ([`seed::product`]: merged deeply over the defaults).
    pub(crate) fn seed_product(
        &self,
        product_id: &str,
        fixture: &Map<String, Value>,
    ) -> Result<(), String> {
        let product = seed::product(product_id, fixture)?;
        let Ok(mut seeded) = self.seeded.write() else {
            return Err("catalog lock poisoned".to_owned());
        };
        for batch in &mut seeded.batches {
            batch.retain(|p| p.product_id != product_id);
        }
        seeded.batches.retain(|b| !b.is_empty());
        if !seeded.open || seeded.batches.is_empty() {
            seeded.batches.push(Vec::new());
            seeded.open = true;
        }
        if let Some(batch) = seeded.batches.last_mut() {
            batch.push(product);
        }
        Ok(())
    }

    /// Adds or replaces a pricing option on a seeded product: `Ok(false)` when there is no
    /// such product, an error when the completed fixture is not a valid pricing option
    /// ([`seed::pricing_option`]).
    pub(crate) fn seed_pricing_option(
        &self,
        product_id: &str,
        option_id: &str,
        fixture: &Map<String, Value>,
    ) -> Result<bool, String> {
        let option = seed::pricing_option(option_id, fixture)?;
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
        product.pricing_options.retain(|o| {
            adcp_server::rules::pricing::PricingTerms::of(o)
                .is_none_or(|t| t.pricing_option_id != option_id)
        });
        product.pricing_options.push(option);
        Ok(true)
    }

    /// Adds or replaces a seeded creative format (`seed_creative_format`); `fixture` may name
    /// it and describe its assets and renders.
    pub(crate) fn seed_format(&self, format_id: &str, fixture: &Map<String, Value>) {
        if let Ok(mut seeded) = self.seeded.write() {
            seeded.formats.retain(|(id, _)| id != format_id);
            seeded.formats.push((format_id.to_owned(), fixture.clone()));
        }
    }

    /// The seeded creative formats, in seed order.
    pub(crate) fn seeded_formats(&self) -> Vec<(String, Map<String, Value>)> {
        self.seeded
            .read()
            .map(|seeded| seeded.formats.clone())
            .unwrap_or_default()
    }

    /// Every format id a product offers, each once, in catalog order.
    pub(crate) fn format_ids(&self) -> Vec<FormatId> {
        let mut out: Vec<FormatId> = Vec::new();
        for product in self.all() {
            for format in product.format_ids.into_iter().flatten() {
                if !out.iter().any(|f| same_format(f, &format)) {
                    out.push(format);
                }
            }
        }
        out
    }
}

/// An agent URL compared as rc.9 compares them: scheme and host lower-cased, trailing slash
/// dropped.
pub(crate) fn canonical_agent(url: &str) -> String {
    url.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// Whether two format ids name the same format (agent and id).
pub(crate) fn same_format(a: &FormatId, b: &FormatId) -> bool {
    a.id == b.id && canonical_agent(&a.agent_url) == canonical_agent(&b.agent_url)
}
