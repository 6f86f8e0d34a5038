//! Typed construction: the common replies built with the generated builders and the
//! hand-written constructors validate against the rc.9 schemas as they are.
#![cfg(all(
    feature = "builders",
    feature = "validate",
    feature = "media-buy",
    feature = "signals"
))]

use adcp_types::MissingField;
use adcp_types::generated::{
    AvailableMetric, Channels, CpmOption, CreateMediaBuySuccess, DeliveryType, Deployment,
    FormatId, GetProductsResponse, GetProductsResponseCacheScope, GetSignalsResponse,
    GetSignalsResponseCacheScope, GetSignalsResponseSignalsItem, Product,
    PublisherPropertySelector, ReportingCapabilities, ReportingCapabilitiesDateRangeSupport,
    ReportingFrequency, SignalCatalogType, SignalId,
};
use adcp_types::validate::SchemaSet;

fn product() -> Result<Product, MissingField> {
    Product::builder()
        .product_id("trail_display")
        .name("Trail display")
        .description("Run-of-site display on trail maps")
        .delivery_type(DeliveryType::NonGuaranteed)
        .channels(vec![Channels::Display])
        .publisher_properties(vec![PublisherPropertySelector::all("trails.example")])
        .format_ids(vec![
            FormatId::builder()
                .agent_url("https://creative.example.com")
                .id("display_300x250")
                .build()?,
        ])
        .pricing_options(vec![
            CpmOption::builder()
                .pricing_option_id("cpm_usd_auction")
                .currency("USD")
                .floor_price(2.5)
                .build()?
                .into(),
        ])
        .reporting_capabilities(
            ReportingCapabilities::builder()
                .available_metrics(vec![AvailableMetric::Impressions, AvailableMetric::Spend])
                .available_reporting_frequencies(vec![ReportingFrequency::Daily])
                .date_range_support(ReportingCapabilitiesDateRangeSupport::DateRange)
                .expected_delay_minutes(240_u32)
                .supports_webhooks(false)
                .timezone("UTC")
                .build()?,
        )
        .build()
}

#[test]
fn a_typed_get_products_reply_is_schema_valid() {
    let reply = GetProductsResponse::builder()
        .cache_scope(GetProductsResponseCacheScope::Public)
        .products(vec![product().expect("every required field is set")])
        .build()
        .expect("no required field");
    let mut wire = serde_json::to_value(&reply).expect("serialises");
    // The envelope's `status` is the server's to set (adcp-server adds it to every reply).
    wire["status"] = "completed".into();
    assert_eq!(
        wire["products"][0]["pricing_options"][0]["pricing_model"],
        "cpm"
    );
    assert_eq!(
        wire["products"][0]["publisher_properties"][0]["selection_type"],
        "all"
    );
    SchemaSet::load_default()
        .expect("schemas")
        .validate_response("get_products", &wire)
        .expect("the typed reply is valid");
}

#[test]
fn a_typed_get_signals_reply_is_schema_valid() {
    let signal = GetSignalsResponseSignalsItem::builder()
        .signal_agent_segment_id("hikers_2026")
        .name("Trail hikers")
        .description("People who hiked a marked trail in the last 90 days")
        .signal_id(SignalId::agent(
            "https://signals.example.com",
            "hikers_2026",
        ))
        .signal_type(SignalCatalogType::Owned)
        .deployments(vec![Deployment::platform("the-dsp", true)])
        .build()
        .expect("every required field is set");
    let reply = GetSignalsResponse::builder()
        .cache_scope(GetSignalsResponseCacheScope::Account)
        .signals(vec![signal])
        .build()
        .expect("no required field");
    let mut wire = serde_json::to_value(&reply).expect("serialises");
    // The envelope's `status` is the server's to set (adcp-server adds it to every reply).
    wire["status"] = "completed".into();
    assert_eq!(wire["signals"][0]["deployments"][0]["type"], "platform");
    SchemaSet::load_default()
        .expect("schemas")
        .validate_response("get_signals", &wire)
        .expect("the typed reply is valid");
}

#[test]
fn a_missing_required_field_is_named_not_defaulted() {
    let error = CreateMediaBuySuccess::builder()
        .media_buy_id("mb_1")
        .build()
        .expect_err("packages and revision are unset");
    assert_eq!(error.type_name, "CreateMediaBuySuccess");
    assert!(["packages", "revision"].contains(&error.field), "{error}");
}

#[test]
fn structs_without_required_fields_have_default() {
    let empty = GetProductsResponse::default();
    assert_eq!(
        serde_json::to_value(&empty).expect("serialises"),
        serde_json::json!({})
    );
}
