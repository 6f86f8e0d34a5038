//! The protocol's rules for a seller's own records, as pure functions over the wire types:
//! what rc.9 says a seller MUST filter, reject or derive, so an adopter gets it by calling one
//! function instead of re-reading the schemas.
//!
//! Nothing here does I/O, reads a clock or keeps state: each function takes the request (or the
//! part it checks), the product(s) it concerns and, where time matters, `now`; it returns the
//! normalised value to store or an [`AdcpError`](adcp_types::AdcpError) whose code, `field`
//! (with the package index, e.g. `packages[1].bid_price`) and `details` are the ones rc.9 names.
//! What is a seller's business choice (its flight policy, the measurement terms it honours, its
//! default actions) is a parameter.
//!
//! | module | rule | call it from |
//! |---|---|---|
//! | [`discovery`] | the decidable `get_products` `filters`, with pricing-option pruning | `get_products` |
//! | [`pricing`] | `pricing_option_id` exists, bid ≥ floor, budget ≥ minimum spend, one currency | `create_media_buy`, per package |
//! | [`flight`] | reversed dates, past starts (reject or adjust), package flights inside the buy's | `create_media_buy` |
//! | [`measurement`] | `measurement_terms` honoured or `TERMS_REJECTED` | `create_media_buy`, per package |
//! | [`actions`] | `available_actions[]` / `valid_actions[]`, `ACTION_NOT_ALLOWED` | every buy response; `update_media_buy` |
//! | [`bounds`] | finite, non-negative amounts; a buy total that does not overflow | `create_media_buy`, `update_media_buy` |
//! | [`scope`] | a record belongs to its principal + account, sandbox never mixed with live | every store of buys, creatives, accounts |
//!
//! A `create_media_buy` runs them in this order, which makes the most specific error win:
//! [`bounds::check_media_buy_amounts`], [`flight::check_flight`], then per package (after
//! resolving its product, `PRODUCT_NOT_FOUND` otherwise) [`flight::check_package_flight`],
//! [`pricing::check_package_pricing`] and [`measurement::check_measurement_terms`], and last
//! [`pricing::check_buy_currency`] over the packages' selected terms.
//!
//! # Examples
//!
//! Discovery: the matching products, each with only the options the buyer can use.
//!
//! ```
//! use adcp_server::rules::discovery::apply_product_filters;
//! use adcp_types::generated::{GetProductsRequest, Product};
//! use serde_json::json;
//!
//! let product: Product = serde_json::from_value(json!({
//!     "product_id": "homepage", "name": "Homepage", "description": "Display",
//!     "publisher_properties": [{"publisher_domain": "news.example", "selection_type": "all"}],
//!     "delivery_type": "non_guaranteed", "channels": ["display"],
//!     "format_ids": [{"agent_url": "https://creative.example", "id": "display_300x250"}],
//!     "pricing_options": [
//!         {"pricing_option_id": "usd", "pricing_model": "cpm", "currency": "USD", "fixed_price": 12.0},
//!         {"pricing_option_id": "eur", "pricing_model": "cpm", "currency": "EUR", "fixed_price": 11.0}
//!     ],
//!     "reporting_capabilities": {"available_metrics": ["impressions"],
//!         "available_reporting_frequencies": ["daily"], "date_range_support": "date_range",
//!         "expected_delay_minutes": 60, "supports_webhooks": false, "timezone": "UTC"}
//! }))?;
//! let request: GetProductsRequest = serde_json::from_value(json!({
//!     "buying_mode": "wholesale",
//!     "filters": {"channels": ["display"], "pricing_currencies": ["EUR"]}
//! }))?;
//! let products = apply_product_filters(vec![product], &request);
//! assert_eq!(products[0].pricing_options.len(), 1); // only the EUR option is left
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! `create_media_buy`: amounts, flight, then each package's pricing and measurement terms.
//!
//! ```
//! use adcp_server::rules::{bounds, flight, measurement, pricing};
//! use adcp_types::generated::{CreateMediaBuyRequest, Product};
//! use chrono::{TimeZone, Utc};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let product: Product = serde_json::from_value(json!({
//!     "product_id": "homepage", "name": "Homepage", "description": "Display",
//!     "publisher_properties": [{"publisher_domain": "news.example", "selection_type": "all"}],
//!     "delivery_type": "non_guaranteed",
//!     "format_ids": [{"agent_url": "https://creative.example", "id": "display_300x250"}],
//!     "pricing_options": [{"pricing_option_id": "cpm", "pricing_model": "cpm",
//!                          "currency": "USD", "floor_price": 2.0}],
//!     "reporting_capabilities": {"available_metrics": ["impressions"],
//!         "available_reporting_frequencies": ["daily"], "date_range_support": "date_range",
//!         "expected_delay_minutes": 60, "supports_webhooks": false, "timezone": "UTC"}
//! }))?;
//! let request: CreateMediaBuyRequest = serde_json::from_value(json!({
//!     "idempotency_key": "example-key-0000001",
//!     "account": {"brand": {"domain": "acme.example"}, "operator": "agency.example"},
//!     "brand": {"domain": "acme.example"},
//!     "start_time": "2026-04-01T00:00:00Z", "end_time": "2026-06-30T23:59:59Z",
//!     "packages": [{"product_id": "homepage", "pricing_option_id": "cpm",
//!                   "budget": 5000, "bid_price": 1.5}]
//! }))?;
//! let now = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
//!
//! let total = bounds::check_media_buy_amounts(&request)?;
//! let flight = flight::check_flight(&request, now, flight::FlightPolicy::reject_past_start())?;
//! assert_eq!((total, flight.start_time().as_str()), (5000.0, "2026-04-01T00:00:00Z"));
//!
//! let package = &request.packages.as_ref().unwrap()[0];
//! let error = pricing::check_package_pricing(package, &product, 0).unwrap_err();
//! assert_eq!((error.code.as_str(), error.field.as_deref()),
//!            ("VALIDATION_ERROR", Some("packages[0].bid_price"))); // below the 2.0 floor
//!
//! let terms = measurement::MeasurementCapabilities::default();
//! assert_eq!(measurement::check_measurement_terms(package, &product, &terms, 0)?, None);
//! # Ok(()) }
//! ```
//!
//! A buy's actions, and the answer to a mutation outside them.
//!
//! ```
//! use adcp_server::rules::actions::{available_actions, check_action, valid_actions};
//! use adcp_types::generated::{MediaBuyStatus, MediaBuyValidAction, Product};
//! use serde_json::json;
//!
//! let product: Product = serde_json::from_value(json!({
//!     "product_id": "homepage", "name": "Homepage", "description": "Display",
//!     "publisher_properties": [{"publisher_domain": "news.example", "selection_type": "all"}],
//!     "delivery_type": "guaranteed",
//!     "format_ids": [{"agent_url": "https://creative.example", "id": "display_300x250"}],
//!     "pricing_options": [{"pricing_option_id": "cpm", "pricing_model": "cpm",
//!                          "currency": "USD", "fixed_price": 8.0}],
//!     "reporting_capabilities": {"available_metrics": ["impressions"],
//!         "available_reporting_frequencies": ["daily"], "date_range_support": "date_range",
//!         "expected_delay_minutes": 60, "supports_webhooks": false, "timezone": "UTC"},
//!     "allowed_actions": [{"action": "increase_budget", "modes": ["self_serve"]},
//!                         {"action": "cancel", "modes": ["requires_approval"]}]
//! }))?;
//! let available = available_actions([&product], MediaBuyStatus::Active, &[]);
//! assert_eq!(valid_actions(&available),
//!            [MediaBuyValidAction::IncreaseBudget, MediaBuyValidAction::Cancel]);
//! let error = check_action([&product], MediaBuyStatus::Active, &[], MediaBuyValidAction::Pause)
//!     .unwrap_err();
//! assert_eq!(error.code, "ACTION_NOT_ALLOWED"); // details.reason: not_supported_on_product
//! # Ok::<(), serde_json::Error>(())
//! ```

pub mod actions;
pub mod bounds;
pub mod discovery;
pub mod flight;
pub mod measurement;
pub mod pricing;
pub mod scope;
#[cfg(test)]
mod test_support;
