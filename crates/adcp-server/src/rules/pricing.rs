//! Pricing checks of a `create_media_buy` package against the product it buys: the selected
//! `pricing_option_id` must be one the product offers, a bid may not go below the option's
//! floor, the budget may not go below the option's minimum spend, and every package of one buy
//! is priced in the buy's one currency.
//!
//! The pricing option's members are read from its JSON form ([`PricingTerms::of`]): the
//! generated `PricingOption` is an untagged enum whose variants typify could not discriminate
//! (each variant accepts additional members, so most options decode as `CpmOption` whatever
//! their `pricing_model`). Every variant spells `pricing_option_id`, `pricing_model`,
//! `currency`, `fixed_price`, `floor_price`, `min_spend_per_package` and `max_bid` the same
//! way, so the serialised option is the one reliable view.

use adcp_types::generated::{PackageRequest, PricingOption, Product};
use adcp_types::{AdcpError, codes};
use serde_json::{Value, json};

/// The terms of one pricing option, whatever its pricing model.
///
/// Guarantees: every field is exactly what the option carries on the wire; `max_bid` is
/// `false` when the option omits it (the schema's default).
#[derive(Debug, Clone, PartialEq)]
pub struct PricingTerms {
    /// The option's id, unique within its product.
    pub pricing_option_id: String,
    /// `cpm`, `vcpm`, `cpc`, `cpcv`, `cpv`, `cpp`, `cpa`, `flat_rate` or `time`.
    pub pricing_model: String,
    /// ISO 4217 code every amount of the option is in.
    pub currency: String,
    /// The fixed price; its presence makes the option fixed-price ("If fixed_price is present,
    /// it's fixed pricing. If absent, it's auction-based.").
    pub fixed_price: Option<f64>,
    /// "Minimum acceptable bid for auction pricing \[...\] Bids below this value will be
    /// rejected."
    pub floor_price: Option<f64>,
    /// "Minimum spend requirement per package using this pricing option, in the specified
    /// currency".
    pub min_spend_per_package: Option<f64>,
    /// Whether a package's `bid_price` is a ceiling rather than the exact price to honour.
    pub max_bid: bool,
}

impl PricingTerms {
    /// Reads `option`'s terms from its JSON form. `None` when the option lacks a
    /// `pricing_option_id`, `pricing_model` or `currency` string, which a schema-valid option
    /// always has.
    pub fn of(option: &PricingOption) -> Option<Self> {
        let value = serde_json::to_value(option).ok()?;
        let text = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
        let number = |key: &str| value.get(key).and_then(Value::as_f64);
        Some(Self {
            pricing_option_id: text("pricing_option_id")?,
            pricing_model: text("pricing_model")?,
            currency: text("currency")?,
            fixed_price: number("fixed_price"),
            floor_price: number("floor_price"),
            min_spend_per_package: number("min_spend_per_package"),
            max_bid: value
                .get("max_bid")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// Whether the option is fixed-price (it carries `fixed_price`); otherwise it is auction
    /// priced.
    pub fn is_fixed(&self) -> bool {
        self.fixed_price.is_some()
    }
}

/// Checks package `index` of a `create_media_buy` against `product`, the product it names, and
/// returns the terms of the pricing option it selected.
///
/// Fails, naming the package's field (`packages[{index}].…`), with:
/// - `INVALID_REQUEST` on `product_id` when the package names another product than `product`;
/// - `REFERENCE_NOT_FOUND` on `pricing_option_id` when the product offers no option with that
///   id ("ID of the selected pricing option from the product's pricing_options array"; the
///   error-code table: "Typed parameters that lack a dedicated standard code MUST also use
///   REFERENCE_NOT_FOUND"); `details.available_pricing_option_ids` lists the product's ids;
/// - `VALIDATION_ERROR` on `bid_price` when the bid is below the option's `floor_price` ("Bids
///   below this value will be rejected"; a business rule beyond the schema, which is what
///   `VALIDATION_ERROR` names); `details` carries `floor_price` and `currency`;
/// - `BUDGET_TOO_LOW` on `budget` when the budget is below the option's
///   `min_spend_per_package`; `details` carries `minimum_budget` and `currency`
///   (`error-details/budget-too-low.json`).
///
/// A `bid_price` on a fixed-price option is left alone: the schema calls it a price "for
/// auction-based pricing options" but does not say to reject it.
pub fn check_package_pricing(
    package: &PackageRequest,
    product: &Product,
    index: usize,
) -> Result<PricingTerms, AdcpError> {
    let field = |name: &str| format!("packages[{index}].{name}");
    if package.product_id != product.product_id {
        return Err(AdcpError::invalid_request(format!(
            "package names product `{}` but was checked against product `{}`",
            package.product_id, product.product_id
        ))
        .with_field(field("product_id")));
    }
    let offered: Vec<PricingTerms> = product
        .pricing_options
        .iter()
        .filter_map(PricingTerms::of)
        .collect();
    let Some(terms) = offered
        .iter()
        .find(|terms| terms.pricing_option_id == package.pricing_option_id)
    else {
        let ids: Vec<&str> = offered
            .iter()
            .map(|terms| terms.pricing_option_id.as_str())
            .collect();
        return Err(AdcpError::new(
            codes::REFERENCE_NOT_FOUND,
            format!(
                "product `{}` offers no pricing option `{}`",
                product.product_id, package.pricing_option_id
            ),
        )
        .with_field(field("pricing_option_id"))
        .with_suggestion("select one of the product's pricing_options from get_products")
        .with_detail("available_pricing_option_ids", json!(ids)));
    };
    if let (Some(bid), Some(floor)) = (package.bid_price, terms.floor_price)
        && bid < floor
    {
        return Err(AdcpError::new(
            codes::VALIDATION_ERROR,
            format!(
                "bid_price {bid} is below the floor price {floor} {} of pricing option `{}`",
                terms.currency, terms.pricing_option_id
            ),
        )
        .with_field(field("bid_price"))
        .with_detail("floor_price", json!(floor))
        .with_detail("currency", json!(terms.currency)));
    }
    if let Some(minimum) = terms.min_spend_per_package
        && package.budget < minimum
    {
        return Err(AdcpError::new(
            codes::BUDGET_TOO_LOW,
            format!(
                "budget {} is below the minimum spend {minimum} {} per package of pricing \
                 option `{}`",
                package.budget, terms.currency, terms.pricing_option_id
            ),
        )
        .with_field(field("budget"))
        .with_detail("minimum_budget", json!(minimum))
        .with_detail("currency", json!(terms.currency)));
    }
    Ok(terms.clone())
}

/// Checks that the packages of one buy are priced in one currency and returns it.
///
/// `selected[i]` is the terms [`check_package_pricing`] returned for `packages[i]`. The buy's
/// currency is `expected` when the caller knows it (a proposal's `total_budget.currency`, an
/// account's billing currency), else the first package's. A package budget is "Budget
/// allocation for this package in the media buy's currency" (`package-request.json`), so a
/// package whose option is priced in another currency fails with `INVALID_REQUEST` naming its
/// `packages[i].pricing_option_id`. `Ok(None)` when there are no packages and no `expected`
/// currency.
pub fn check_buy_currency(
    selected: &[PricingTerms],
    expected: Option<&str>,
) -> Result<Option<String>, AdcpError> {
    let Some(currency) = expected.or_else(|| selected.first().map(|t| t.currency.as_str())) else {
        return Ok(None);
    };
    if let Some((index, terms)) = selected
        .iter()
        .enumerate()
        .find(|(_, terms)| terms.currency != currency)
    {
        return Err(AdcpError::invalid_request(format!(
            "pricing option `{}` is priced in {}, but the media buy's currency is {currency}",
            terms.pricing_option_id, terms.currency
        ))
        .with_field(format!("packages[{index}].pricing_option_id"))
        .with_detail("currency", json!(currency)));
    }
    Ok(Some(currency.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{package, product};
    use adcp_types::Recovery;

    fn display_product() -> Product {
        product(json!({
            "product_id": "display",
            "pricing_options": [
                {"pricing_option_id": "cpm_auction", "pricing_model": "cpm", "currency": "USD",
                 "floor_price": 2.0},
                {"pricing_option_id": "cpm_fixed", "pricing_model": "cpm", "currency": "USD",
                 "fixed_price": 12.0, "min_spend_per_package": 1000.0},
                {"pricing_option_id": "flat_eur", "pricing_model": "flat_rate", "currency": "EUR",
                 "fixed_price": 5000.0},
                {"pricing_option_id": "cpa_usd", "pricing_model": "cpa", "currency": "USD",
                 "event_type": "purchase", "fixed_price": 20.0}
            ]
        }))
    }

    #[test]
    fn terms_are_read_whatever_variant_the_option_decoded_as() {
        let product = display_product();
        let terms: Vec<PricingTerms> = product
            .pricing_options
            .iter()
            .filter_map(PricingTerms::of)
            .collect();
        assert_eq!(terms.len(), 4);
        assert_eq!(terms[2].pricing_model, "flat_rate");
        assert_eq!(terms[2].currency, "EUR");
        assert!(terms[2].is_fixed());
        assert_eq!(terms[3].pricing_model, "cpa");
        assert!(!terms[0].is_fixed());
        assert_eq!(terms[0].floor_price, Some(2.0));
        assert!(!terms[0].max_bid);
    }

    #[test]
    fn an_offered_option_within_its_terms_is_accepted() {
        let package = package(
            json!({"product_id": "display", "pricing_option_id": "cpm_auction",
                                      "budget": 500.0, "bid_price": 2.5}),
        );
        let terms = check_package_pricing(&package, &display_product(), 0).unwrap();
        assert_eq!(terms.pricing_option_id, "cpm_auction");
        assert_eq!(terms.currency, "USD");
    }

    #[test]
    fn a_pricing_option_the_product_does_not_offer_is_reference_not_found() {
        let package = package(
            json!({"product_id": "display", "pricing_option_id": "cpm_gbp",
                                      "budget": 500.0}),
        );
        let error = check_package_pricing(&package, &display_product(), 2).unwrap_err();
        assert_eq!(error.code, codes::REFERENCE_NOT_FOUND);
        assert_eq!(error.recovery, Recovery::Correctable);
        assert_eq!(
            error.field.as_deref(),
            Some("packages[2].pricing_option_id")
        );
        let details = error.details.unwrap();
        assert_eq!(
            details["available_pricing_option_ids"],
            json!(["cpm_auction", "cpm_fixed", "flat_eur", "cpa_usd"])
        );
    }

    #[test]
    fn bids_below_the_floor_price_will_be_rejected() {
        let package = package(
            json!({"product_id": "display", "pricing_option_id": "cpm_auction",
                                      "budget": 500.0, "bid_price": 1.99}),
        );
        let error = check_package_pricing(&package, &display_product(), 1).unwrap_err();
        assert_eq!(error.code, codes::VALIDATION_ERROR);
        assert_eq!(error.field.as_deref(), Some("packages[1].bid_price"));
        let details = error.details.unwrap();
        assert_eq!(details["floor_price"], json!(2.0));
        assert_eq!(details["currency"], json!("USD"));
    }

    #[test]
    fn a_bid_equal_to_the_floor_is_not_below_it() {
        let package = package(
            json!({"product_id": "display", "pricing_option_id": "cpm_auction",
                                      "budget": 500.0, "bid_price": 2.0}),
        );
        assert!(check_package_pricing(&package, &display_product(), 0).is_ok());
    }

    #[test]
    fn a_budget_below_the_minimum_spend_per_package_is_budget_too_low() {
        let package = package(
            json!({"product_id": "display", "pricing_option_id": "cpm_fixed",
                                      "budget": 999.0}),
        );
        let error = check_package_pricing(&package, &display_product(), 0).unwrap_err();
        assert_eq!(error.code, codes::BUDGET_TOO_LOW);
        assert_eq!(error.field.as_deref(), Some("packages[0].budget"));
        let details = error.details.unwrap();
        assert_eq!(details["minimum_budget"], json!(1000.0));
        assert_eq!(details["currency"], json!("USD"));
    }

    #[test]
    fn a_package_checked_against_another_product_is_invalid() {
        let package = package(
            json!({"product_id": "video", "pricing_option_id": "cpm_fixed",
                                      "budget": 5000.0}),
        );
        let error = check_package_pricing(&package, &display_product(), 3).unwrap_err();
        assert_eq!(error.code, codes::INVALID_REQUEST);
        assert_eq!(error.field.as_deref(), Some("packages[3].product_id"));
    }

    #[test]
    fn packages_of_one_buy_share_the_media_buys_currency() {
        let product = display_product();
        let terms: Vec<PricingTerms> = product
            .pricing_options
            .iter()
            .filter_map(PricingTerms::of)
            .collect();
        let usd = vec![terms[0].clone(), terms[1].clone()];
        assert_eq!(
            check_buy_currency(&usd, None).unwrap().as_deref(),
            Some("USD")
        );
        let mixed = vec![terms[0].clone(), terms[2].clone()];
        let error = check_buy_currency(&mixed, None).unwrap_err();
        assert_eq!(error.code, codes::INVALID_REQUEST);
        assert_eq!(
            error.field.as_deref(),
            Some("packages[1].pricing_option_id")
        );
        let error = check_buy_currency(&usd, Some("EUR")).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("packages[0].pricing_option_id")
        );
        assert_eq!(check_buy_currency(&[], None).unwrap(), None);
    }
}
