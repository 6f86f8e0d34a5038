//! The standard `get_products` filters (`core/product-filters.json`) that can be decided from a
//! product's own declaration, applied to a seller's candidate list, with the pricing-option
//! pruning the filters require.

use std::collections::BTreeMap;

use adcp_types::generated::{
    BrandRef, Exclusivity, FormatId, GetProductsRequest, Product, ProductFilters,
    ProductFiltersBudgetRange, ProductFiltersRequiredVendorMetricsItem, ProductFiltersTrustedMatch,
    ProductSignalTargetingOption, ReportingCapabilitiesVendorMetricsItem, ResponseType,
};
use serde_json::Value;

use super::pricing::PricingTerms;

/// Applies the request's `filters` to `products` and returns the products that match, each with
/// its `pricing_options` pruned as the filters require.
///
/// Order: the input order is preserved (a stable filter), so the result is as deterministic as
/// the list the seller passes in; pass the catalog in a fixed order (insertion order, or sorted
/// by `product_id`). A request without `filters` returns `products` unchanged. Non-matching
/// products are excluded silently, never reported as an error ("filter-not-fail").
///
/// Applied, because the product itself decides them:
/// - `delivery_type`: equal to the product's.
/// - `exclusivity`: equal to the product's, "Defaults to 'none' when absent".
/// - `channels`: the product's `channels` intersect the requested ones; a product that declares
///   no channels cannot be shown to be sold in any and does not match.
/// - `format_ids`: one requested format is among the product's `format_ids` or the
///   `v1_format_ref` links of its `format_options`; `agent_url`s are compared canonicalized
///   (scheme and host lower-cased, default port and trailing slash dropped) and `width`,
///   `height` and `duration_ms` only when the requested entry pins them.
/// - `required_metrics`: "products whose `reporting_capabilities.available_metrics` is a
///   superset of these metrics".
/// - `required_vendor_metrics`: "A product matches if its declared `vendor_metrics` covers ALL
///   listed entries (AND across entries; pins within an entry are conjunctive)"; a pinned vendor
///   matches by domain (case-insensitive) and by `brand_id` when the entry pins one.
/// - `video_placement_types`, `sponsored_placement_types`, `social_placement_surfaces`: the
///   product declares at least one requested value ("Sellers SHOULD return only products they
///   can satisfy with at least one requested type").
/// - `trusted_match`: "Only products with matching TMP support are returned": the product
///   declares `trusted_match`, supports one requested `response_types` value (its own default
///   is `["activation"]`) and has a provider matching one requested `providers` entry,
///   including the `context_match` / `identity_match` that entry requires.
/// - `is_fixed_price`: the product keeps only options of the requested type ("sellers MUST
///   return only the pricing_options entries matching the requested pricing type") and is
///   excluded when none is left.
/// - `pricing_currencies`: the product keeps only options in a requested currency ("Sellers
///   MUST return only product pricing_options entries whose currency is in this list") and is
///   excluded when none is left, or when a mandatory product-scoped signal charge (a
///   `default_selected` option under `selection_mode: fixed`, or the options a `required`
///   selection must pick from) cannot be paid in a requested currency ("Mandatory custom signal
///   pricing without currency is not satisfiable"). A signal option without `pricing_options`
///   has no incremental price and is always satisfiable.
/// - `budget_range`: only its decidable part: a product whose every kept option in the range's
///   currency requires a `min_spend_per_package` above `max` is excluded. Options in other
///   currencies cannot be compared without a rate, so such products stay.
///
/// Left to the seller, because the product declaration alone cannot decide them: `countries`,
/// `regions`, `metros`, `postal_areas`, `geo_proximity` and `keywords` (coverage lives in the
/// seller's inventory, not on the product), `start_date` / `end_date` (availability),
/// `min_exposures` (depends on the buyer's budget and flight, not on the product),
/// `required_features` and `required_geo_targeting` (seller capabilities, see
/// `get_adcp_capabilities`), `required_performance_standards` (thresholds compare per metric in
/// directions the schema does not state), `signal_targeting` (needs the signals catalog),
/// `standard_formats_only` (which formats are "IAB standard" is not on the product),
/// `required_axe_integrations` (deprecated) and `ext`; also the request-level
/// `required_policies`, `property_list` and `catalog`.
pub fn apply_product_filters(products: Vec<Product>, request: &GetProductsRequest) -> Vec<Product> {
    let Some(filters) = request.filters.as_ref() else {
        return products;
    };
    products
        .into_iter()
        .filter_map(|product| filter_product(product, filters))
        .collect()
}

/// The product with its options pruned, or `None` when it does not match.
fn filter_product(mut product: Product, filters: &ProductFilters) -> Option<Product> {
    let declared = filters
        .delivery_type
        .is_none_or(|wanted| product.delivery_type == wanted)
        && filters
            .exclusivity
            .is_none_or(|wanted| product.exclusivity.unwrap_or(Exclusivity::None) == wanted)
        && intersects(filters.channels.as_deref(), product.channels.as_deref())
        && filters
            .format_ids
            .as_deref()
            .is_none_or(|wanted| offers_a_format(&product, wanted))
        && filters.required_metrics.as_deref().is_none_or(|wanted| {
            let available = &product.reporting_capabilities.available_metrics;
            wanted.iter().all(|metric| available.contains(metric))
        })
        && filters
            .required_vendor_metrics
            .as_deref()
            .is_none_or(|wanted| reports_vendor_metrics(&product, wanted))
        && intersects(
            filters.video_placement_types.as_deref(),
            product.video_placement_types.as_deref(),
        )
        && intersects(
            filters.sponsored_placement_types.as_deref(),
            product.sponsored_placement_types.as_deref(),
        )
        && intersects(
            filters.social_placement_surfaces.as_deref(),
            product.social_placement_surfaces.as_deref(),
        )
        && filters
            .trusted_match
            .as_ref()
            .is_none_or(|wanted| supports_trusted_match(&product, wanted));
    if !declared {
        return None;
    }
    if filters.is_fixed_price.is_some() || filters.pricing_currencies.is_some() {
        let options = std::mem::take(&mut product.pricing_options);
        product.pricing_options = options
            .into_iter()
            .filter(|option| {
                PricingTerms::of(option).is_some_and(|terms| pricing_matches(&terms, filters))
            })
            .collect();
        if product.pricing_options.is_empty() {
            return None;
        }
    }
    if let Some(currencies) = filters.pricing_currencies.as_deref()
        && !signal_charges_payable(&product, currencies)
    {
        return None;
    }
    if let Some(budget) = &filters.budget_range
        && !fits_budget(&product, budget)
    {
        return None;
    }
    Some(product)
}

/// Whether a set filter shares a value with what the product declares; an unset filter always
/// matches and an undeclared product value never matches a set filter.
fn intersects<T: PartialEq>(wanted: Option<&[T]>, declared: Option<&[T]>) -> bool {
    wanted.is_none_or(|wanted| declared.is_some_and(|d| d.iter().any(|v| wanted.contains(v))))
}

/// Whether an option passes `is_fixed_price` and `pricing_currencies`.
fn pricing_matches(terms: &PricingTerms, filters: &ProductFilters) -> bool {
    filters
        .is_fixed_price
        .is_none_or(|fixed| terms.is_fixed() == fixed)
        && filters
            .pricing_currencies
            .as_deref()
            .is_none_or(|currencies| currencies.contains(&terms.currency))
}

/// Whether the product accepts one of `wanted`, by its `format_ids` or its `format_options`'
/// `v1_format_ref` links.
fn offers_a_format(product: &Product, wanted: &[FormatId]) -> bool {
    let mut offered: Vec<FormatId> = product.format_ids.clone().unwrap_or_default();
    for declaration in product.format_options.iter().flatten() {
        let refs = serde_json::to_value(declaration)
            .ok()
            .and_then(|value| value.get("v1_format_ref").cloned());
        if let Some(Value::Array(refs)) = refs {
            offered.extend(
                refs.into_iter()
                    .filter_map(|r| serde_json::from_value::<FormatId>(r).ok()),
            );
        }
    }
    wanted
        .iter()
        .any(|w| offered.iter().any(|o| same_format(w, o)))
}

/// Whether `offered` is the format `wanted` names; dimensions and duration count only when
/// `wanted` pins them.
fn same_format(wanted: &FormatId, offered: &FormatId) -> bool {
    wanted.id == offered.id
        && canonical_agent_url(&wanted.agent_url) == canonical_agent_url(&offered.agent_url)
        && wanted.width.is_none_or(|w| offered.width == Some(w))
        && wanted.height.is_none_or(|h| offered.height == Some(h))
        && wanted
            .duration_ms
            .is_none_or(|d| offered.duration_ms == Some(d))
}

/// An agent URL in a comparable form: the AdCP target-URI canonicalization (lower-case scheme
/// and host, no default port, normalised path) without a trailing slash, so
/// `https://creative.example/` and `https://creative.example` compare equal. A URL that does
/// not parse is compared as written, trimmed.
fn canonical_agent_url(url: &str) -> String {
    let url = url.trim();
    adcp_webhooks::signing::canonicalize_target(url).map_or_else(
        |_| url.trim_end_matches('/').to_owned(),
        |target| target.target_uri.trim_end_matches('/').to_owned(),
    )
}

/// Whether every `required_vendor_metrics` entry is covered by a declared vendor metric.
fn reports_vendor_metrics(
    product: &Product,
    wanted: &[ProductFiltersRequiredVendorMetricsItem],
) -> bool {
    let declared: &[ReportingCapabilitiesVendorMetricsItem] = product
        .reporting_capabilities
        .vendor_metrics
        .as_deref()
        .unwrap_or_default();
    wanted.iter().all(|entry| {
        declared.iter().any(|metric| {
            entry
                .vendor
                .as_ref()
                .is_none_or(|vendor| same_vendor(vendor, &metric.vendor))
                && entry
                    .metric_id
                    .as_ref()
                    .is_none_or(|id| *id == metric.metric_id)
        })
    })
}

/// Whether `declared` is the vendor `wanted` pins: same domain (domains are case-insensitive),
/// and the same `brand_id` when `wanted` names one.
pub(super) fn same_vendor(wanted: &BrandRef, declared: &BrandRef) -> bool {
    wanted.domain.eq_ignore_ascii_case(&declared.domain)
        && wanted
            .brand_id
            .as_ref()
            .is_none_or(|id| declared.brand_id.as_ref() == Some(id))
}

/// Whether the product's Trusted Match declaration satisfies the `trusted_match` filter.
fn supports_trusted_match(product: &Product, wanted: &ProductFiltersTrustedMatch) -> bool {
    let Some(declared) = &product.trusted_match else {
        return false;
    };
    let response_types = declared
        .response_types
        .as_deref()
        .unwrap_or(&[ResponseType::Activation]);
    let types_match = wanted
        .response_types
        .as_deref()
        .is_none_or(|wanted| wanted.iter().any(|t| response_types.contains(t)));
    let providers = declared.providers.as_deref().unwrap_or_default();
    let providers_match = wanted.providers.as_deref().is_none_or(|wanted| {
        wanted.iter().any(|entry| {
            providers.iter().any(|provider| {
                canonical_agent_url(&entry.agent_url) == canonical_agent_url(&provider.agent_url)
                    && (entry.context_match != Some(true) || provider.context_match == Some(true))
                    && (entry.identity_match != Some(true) || provider.identity_match == Some(true))
            })
        })
    });
    types_match && providers_match
}

/// How one scope of signal options (a `selection_group` with its own rule, or the rest under
/// the product-level rule) must be selected.
struct SelectionScope<'a> {
    mode: String,
    min_selected: Option<u64>,
    options: Vec<&'a ProductSignalTargetingOption>,
}

/// Whether every mandatory product-scoped signal charge can be paid in one of `currencies`.
fn signal_charges_payable(product: &Product, currencies: &[String]) -> bool {
    let Some(options) = product.signal_targeting_options.as_deref() else {
        return true;
    };
    let rules = product.signal_targeting_rules.as_ref();
    let product_mode = rules
        .and_then(|r| r.selection_mode)
        .map_or_else(|| "optional".to_owned(), |m| m.to_string());
    let product_min = rules.and_then(|r| r.min_selected_signals);
    let group_rules = rules
        .and_then(|r| r.selection_group_rules.as_deref())
        .unwrap_or_default();
    let mut scopes: BTreeMap<Option<&str>, SelectionScope<'_>> = BTreeMap::new();
    for option in options {
        let rule = option
            .selection_group
            .as_deref()
            .and_then(|group| group_rules.iter().find(|r| r.selection_group == group));
        let key = rule.map(|r| r.selection_group.as_str());
        scopes
            .entry(key)
            .or_insert_with(|| SelectionScope {
                // A group rule without its own mode keeps the product-level one.
                mode: rule
                    .and_then(|r| r.selection_mode)
                    .map_or_else(|| product_mode.clone(), |m| m.to_string()),
                min_selected: rule.map_or(product_min, |r| r.min_selected_signals),
                options: Vec::new(),
            })
            .options
            .push(option);
    }
    scopes.values().all(|scope| match scope.mode.as_str() {
        "fixed" => scope
            .options
            .iter()
            .filter(|o| o.default_selected == Some(true))
            .all(|o| signal_payable(o, currencies)),
        "required" => {
            // "If selection_mode is 'required' and this field is omitted, sellers MUST treat
            // the minimum as 1."
            let minimum = scope.min_selected.unwrap_or(1);
            let payable = scope
                .options
                .iter()
                .filter(|o| signal_payable(o, currencies))
                .count();
            u64::try_from(payable).unwrap_or(u64::MAX) >= minimum
        }
        _ => true,
    })
}

/// Whether a signal option can be paid in one of `currencies`: it has no incremental price, or
/// one of its pricing options is in a listed currency (one without `currency` never is).
fn signal_payable(option: &ProductSignalTargetingOption, currencies: &[String]) -> bool {
    let Some(prices) = option.pricing_options.as_deref().filter(|p| !p.is_empty()) else {
        return true;
    };
    prices.iter().any(|price| {
        serde_json::to_value(price).ok().is_some_and(|value| {
            value
                .get("currency")
                .and_then(Value::as_str)
                .is_some_and(|currency| currencies.iter().any(|c| c == currency))
        })
    })
}

/// Whether a package within `budget.max` could buy the product: false only when the product
/// has options in the range's currency and every one needs a larger minimum spend.
fn fits_budget(product: &Product, budget: &ProductFiltersBudgetRange) -> bool {
    let Some(max) = budget.max else {
        return true;
    };
    let minimums: Vec<f64> = product
        .pricing_options
        .iter()
        .filter_map(PricingTerms::of)
        .filter(|terms| terms.currency == budget.currency)
        .map(|terms| terms.min_spend_per_package.unwrap_or(0.0))
        .collect();
    minimums.is_empty() || minimums.iter().any(|minimum| *minimum <= max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::product;
    use serde_json::json;

    fn request(filters: &Value) -> GetProductsRequest {
        serde_json::from_value(json!({"buying_mode": "wholesale", "filters": filters})).unwrap()
    }

    fn ids(products: &[Product]) -> Vec<&str> {
        products.iter().map(|p| p.product_id.as_str()).collect()
    }

    fn option_ids(product: &Product) -> Vec<String> {
        product
            .pricing_options
            .iter()
            .filter_map(PricingTerms::of)
            .map(|t| t.pricing_option_id)
            .collect()
    }

    #[test]
    fn a_request_without_filters_returns_the_list_unchanged() {
        let products = vec![
            product(json!({"product_id": "b"})),
            product(json!({"product_id": "a"})),
        ];
        let request: GetProductsRequest =
            serde_json::from_value(json!({"buying_mode": "wholesale"})).unwrap();
        assert_eq!(ids(&apply_product_filters(products, &request)), ["b", "a"]);
    }

    #[test]
    fn input_order_is_preserved() {
        let products = vec![
            product(json!({"product_id": "c"})),
            product(json!({"product_id": "a", "delivery_type": "guaranteed"})),
            product(json!({"product_id": "b"})),
        ];
        let kept = apply_product_filters(
            products,
            &request(&json!({"delivery_type": "non_guaranteed"})),
        );
        assert_eq!(ids(&kept), ["c", "b"]);
    }

    #[test]
    fn exclusivity_defaults_to_none_when_absent() {
        let products = vec![
            product(json!({"product_id": "plain"})),
            product(json!({"product_id": "sole", "exclusivity": "exclusive"})),
        ];
        let none =
            apply_product_filters(products.clone(), &request(&json!({"exclusivity": "none"})));
        assert_eq!(ids(&none), ["plain"]);
        let sole = apply_product_filters(products, &request(&json!({"exclusivity": "exclusive"})));
        assert_eq!(ids(&sole), ["sole"]);
    }

    #[test]
    fn channels_keep_products_sold_in_a_requested_channel() {
        let products = vec![
            product(json!({"product_id": "display", "channels": ["display"]})),
            product(json!({"product_id": "ctv", "channels": ["ctv", "olv"]})),
            product(json!({"product_id": "undeclared"})),
        ];
        let kept = apply_product_filters(products, &request(&json!({"channels": ["olv", "dooh"]})));
        assert_eq!(ids(&kept), ["ctv"]);
    }

    #[test]
    fn is_fixed_price_returns_only_the_matching_pricing_options() {
        // "Products with both fixed and auction options match both true and false, but sellers
        // MUST return only the pricing_options entries matching the requested pricing type".
        let both = product(json!({"product_id": "both", "pricing_options": [
            {"pricing_option_id": "auction", "pricing_model": "cpm", "currency": "USD", "floor_price": 1.0},
            {"pricing_option_id": "fixed", "pricing_model": "cpm", "currency": "USD", "fixed_price": 9.0}
        ]}));
        let auction_only = product(json!({"product_id": "auction_only"}));
        let products = vec![both, auction_only];
        let fixed =
            apply_product_filters(products.clone(), &request(&json!({"is_fixed_price": true})));
        assert_eq!(ids(&fixed), ["both"]);
        assert_eq!(option_ids(&fixed[0]), ["fixed"]);
        let auction = apply_product_filters(products, &request(&json!({"is_fixed_price": false})));
        assert_eq!(ids(&auction), ["both", "auction_only"]);
        assert_eq!(option_ids(&auction[0]), ["auction"]);
    }

    #[test]
    fn pricing_currencies_keep_and_prune_to_the_requested_currencies() {
        let mixed = product(json!({"product_id": "mixed", "pricing_options": [
            {"pricing_option_id": "usd", "pricing_model": "cpm", "currency": "USD", "fixed_price": 12.0},
            {"pricing_option_id": "eur", "pricing_model": "cpm", "currency": "EUR", "fixed_price": 11.0}
        ]}));
        let gbp = product(json!({"product_id": "gbp", "pricing_options": [
            {"pricing_option_id": "gbp", "pricing_model": "cpm", "currency": "GBP", "fixed_price": 10.0}
        ]}));
        let kept = apply_product_filters(
            vec![mixed, gbp],
            &request(&json!({"pricing_currencies": ["USD"]})),
        );
        assert_eq!(ids(&kept), ["mixed"]);
        assert_eq!(option_ids(&kept[0]), ["usd"]);
    }

    #[test]
    fn pricing_filters_combine_on_the_same_option() {
        let product = product(json!({"product_id": "p", "pricing_options": [
            {"pricing_option_id": "usd_auction", "pricing_model": "cpm", "currency": "USD", "floor_price": 1.0},
            {"pricing_option_id": "eur_fixed", "pricing_model": "cpm", "currency": "EUR", "fixed_price": 9.0}
        ]}));
        let kept = apply_product_filters(
            vec![product],
            &request(&json!({"pricing_currencies": ["USD"], "is_fixed_price": true})),
        );
        assert!(kept.is_empty());
    }

    #[test]
    fn a_mandatory_signal_charge_outside_the_requested_currencies_excludes_the_product() {
        // The pricing_currency_filter storyboard: an optional EUR signal does not exclude the
        // product, a fixed default-selected EUR signal does.
        let optional = product(json!({"product_id": "optional_eur_signal",
        "signal_targeting_allowed": true,
        "signal_targeting_rules": {"selection_mode": "optional"},
        "signal_targeting_options": [{
            "signal_ref": {"scope": "product", "signal_id": "outdoor"},
            "name": "Outdoor", "value_type": "binary", "default_selected": false,
            "pricing_options": [{"pricing_option_id": "s_eur", "model": "cpm", "cpm": 1.0, "currency": "EUR"}]
        }]}));
        let fixed = product(json!({"product_id": "fixed_eur_signal",
        "signal_targeting_allowed": true,
        "signal_targeting_rules": {"selection_mode": "fixed"},
        "signal_targeting_options": [{
            "signal_ref": {"scope": "product", "signal_id": "sports"},
            "name": "Sports", "value_type": "binary", "default_selected": true,
            "pricing_options": [{"pricing_option_id": "s_eur", "model": "cpm", "cpm": 1.5, "currency": "EUR"}]
        }]}));
        let kept = apply_product_filters(
            vec![optional, fixed.clone()],
            &request(&json!({"pricing_currencies": ["USD"]})),
        );
        assert_eq!(ids(&kept), ["optional_eur_signal"]);
        let eur = apply_product_filters(
            vec![fixed],
            &request(&json!({"pricing_currencies": ["USD", "EUR"]})),
        );
        assert_eq!(ids(&eur), ["fixed_eur_signal"]);
    }

    #[test]
    fn a_required_selection_needs_enough_payable_signals() {
        let required = |min: u64| {
            product(json!({"product_id": "required",
            "signal_targeting_allowed": true,
            "signal_targeting_rules": {"selection_mode": "optional",
                "selection_group_rules": [{"selection_group": "tier", "selection_mode": "required",
                                           "min_selected_signals": min}]},
            "signal_targeting_options": [
                {"signal_ref": {"scope": "product", "signal_id": "a"}, "name": "A",
                 "value_type": "binary", "selection_group": "tier",
                 "pricing_options": [{"pricing_option_id": "a_usd", "model": "cpm", "cpm": 1.0, "currency": "USD"}]},
                {"signal_ref": {"scope": "product", "signal_id": "b"}, "name": "B",
                 "value_type": "binary", "selection_group": "tier",
                 "pricing_options": [{"pricing_option_id": "b_eur", "model": "cpm", "cpm": 1.0, "currency": "EUR"}]}
            ]}))
        };
        let filter = request(&json!({"pricing_currencies": ["USD"]}));
        assert_eq!(apply_product_filters(vec![required(1)], &filter).len(), 1);
        assert!(apply_product_filters(vec![required(2)], &filter).is_empty());
    }

    #[test]
    fn required_metrics_need_a_superset_of_available_metrics() {
        let products = vec![
            product(json!({"product_id": "basic"})),
            product(json!({"product_id": "video", "reporting_capabilities": {
                "available_metrics": ["impressions", "spend", "completed_views"],
                "available_reporting_frequencies": ["daily"], "date_range_support": "date_range",
                "expected_delay_minutes": 240, "supports_webhooks": false, "timezone": "UTC"}})),
        ];
        let kept = apply_product_filters(
            products,
            &request(&json!({"required_metrics": ["completed_views", "impressions"]})),
        );
        assert_eq!(ids(&kept), ["video"]);
    }

    fn with_vendor_metrics(id: &str, metrics: &Value) -> Product {
        product(json!({"product_id": id, "reporting_capabilities": {
            "available_metrics": ["impressions"], "available_reporting_frequencies": ["daily"],
            "date_range_support": "date_range", "expected_delay_minutes": 240,
            "supports_webhooks": false, "timezone": "UTC", "vendor_metrics": metrics}}))
    }

    #[test]
    fn required_vendor_metrics_must_all_be_covered() {
        // "A product matches if its declared `vendor_metrics` covers ALL listed entries (AND
        // across entries; pins within an entry are conjunctive)."
        let products = vec![
            product(json!({"product_id": "none"})),
            with_vendor_metrics(
                "attention",
                &json!([
                {"vendor": {"domain": "attentionvendor.example"}, "metric_id": "attention_units"}]),
            ),
            with_vendor_metrics(
                "both",
                &json!([
                {"vendor": {"domain": "AttentionVendor.example"}, "metric_id": "attention_units"},
                {"vendor": {"domain": "panel.example"}, "metric_id": "demographic_reach"}]),
            ),
        ];
        let vendor_only = request(
            &json!({"required_vendor_metrics": [{"vendor": {"domain": "attentionvendor.example"}}]}),
        );
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &vendor_only)),
            ["attention", "both"]
        );
        let two = request(&json!({"required_vendor_metrics": [
            {"vendor": {"domain": "attentionvendor.example"}},
            {"metric_id": "demographic_reach"}]}));
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &two)),
            ["both"]
        );
        let conjunctive = request(&json!({"required_vendor_metrics": [
            {"vendor": {"domain": "panel.example"}, "metric_id": "attention_units"}]}));
        assert!(apply_product_filters(products, &conjunctive).is_empty());
    }

    #[test]
    fn a_pinned_brand_id_must_match_the_declared_vendor() {
        let products = vec![with_vendor_metrics(
            "house",
            &json!([
            {"vendor": {"domain": "house.example", "brand_id": "alpha"}, "metric_id": "m"}]),
        )];
        let beta = request(
            &json!({"required_vendor_metrics": [{"vendor": {"domain": "house.example", "brand_id": "beta"}}]}),
        );
        assert!(apply_product_filters(products.clone(), &beta).is_empty());
        let any =
            request(&json!({"required_vendor_metrics": [{"vendor": {"domain": "house.example"}}]}));
        assert_eq!(apply_product_filters(products, &any).len(), 1);
    }

    #[test]
    fn format_ids_match_format_ids_and_v1_format_refs_with_canonical_agent_urls() {
        let legacy = product(json!({"product_id": "legacy", "format_ids": [
            {"agent_url": "https://Creative.Example/", "id": "display_300x250"}]}));
        let canonical = product(json!({"product_id": "canonical",
            "format_ids": [{"agent_url": "https://creative.example", "id": "display_728x90"}],
            "format_options": [{"format_kind": "image", "format_option_id": "mrec",
                "params": {"width": 300, "height": 250},
                "v1_format_ref": [{"agent_url": "https://creative.example", "id": "display_300x250_image"}]}]}));
        let products = vec![legacy, canonical];
        let mrec = request(
            &json!({"format_ids": [{"agent_url": "https://creative.example", "id": "display_300x250"}]}),
        );
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &mrec)),
            ["legacy"]
        );
        let image = request(
            &json!({"format_ids": [{"agent_url": "https://creative.example/", "id": "display_300x250_image"}]}),
        );
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &image)),
            ["canonical"]
        );
        let other_agent = request(
            &json!({"format_ids": [{"agent_url": "https://other.example", "id": "display_300x250"}]}),
        );
        assert!(apply_product_filters(products, &other_agent).is_empty());
    }

    #[test]
    fn a_pinned_format_dimension_must_match() {
        let products = vec![product(json!({"product_id": "sized", "format_ids": [
            {"agent_url": "https://creative.example", "id": "display_static", "width": 300, "height": 250}]}))];
        let family = request(
            &json!({"format_ids": [{"agent_url": "https://creative.example", "id": "display_static"}]}),
        );
        assert_eq!(apply_product_filters(products.clone(), &family).len(), 1);
        let other_size = request(&json!({"format_ids": [
            {"agent_url": "https://creative.example", "id": "display_static", "width": 728, "height": 90}]}));
        assert!(apply_product_filters(products, &other_size).is_empty());
    }

    #[test]
    fn placement_type_filters_need_one_declared_value() {
        let products = vec![
            product(json!({"product_id": "instream", "video_placement_types": ["instream"]})),
            product(json!({"product_id": "display"})),
            product(
                json!({"product_id": "search", "sponsored_placement_types": ["sponsored_search"]}),
            ),
            product(
                json!({"product_id": "feed", "social_placement_surfaces": ["feed", "stories"]}),
            ),
        ];
        let video = request(&json!({"video_placement_types": ["instream"]}));
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &video)),
            ["instream"]
        );
        let sponsored = request(
            &json!({"sponsored_placement_types": ["sponsored_search", "sponsored_display"]}),
        );
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &sponsored)),
            ["search"]
        );
        let social = request(&json!({"social_placement_surfaces": ["stories"]}));
        assert_eq!(ids(&apply_product_filters(products, &social)), ["feed"]);
    }

    #[test]
    fn trusted_match_requires_a_matching_declaration() {
        let products = vec![
            product(json!({"product_id": "no_tmp"})),
            product(
                json!({"product_id": "tmp", "trusted_match": {"context_match": true,
                "providers": [{"agent_url": "https://tmp.example", "context_match": true}]}}),
            ),
        ];
        let activation = request(&json!({"trusted_match": {"response_types": ["activation"]}}));
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &activation)),
            ["tmp"]
        );
        let creative = request(&json!({"trusted_match": {"response_types": ["creative"]}}));
        assert!(apply_product_filters(products.clone(), &creative).is_empty());
        let context = request(&json!({"trusted_match": {"providers": [
            {"agent_url": "https://TMP.example/", "context_match": true}]}}));
        assert_eq!(
            ids(&apply_product_filters(products.clone(), &context)),
            ["tmp"]
        );
        let identity = request(&json!({"trusted_match": {"providers": [
            {"agent_url": "https://tmp.example", "identity_match": true}]}}));
        assert!(apply_product_filters(products, &identity).is_empty());
    }

    #[test]
    fn budget_range_excludes_products_whose_minimum_spend_exceeds_the_maximum() {
        let products = vec![
            product(json!({"product_id": "big", "pricing_options": [
                {"pricing_option_id": "big", "pricing_model": "cpm", "currency": "USD",
                 "fixed_price": 30.0, "min_spend_per_package": 50000.0}]})),
            product(json!({"product_id": "small"})),
            product(json!({"product_id": "eur_only", "pricing_options": [
                {"pricing_option_id": "eur", "pricing_model": "cpm", "currency": "EUR",
                 "fixed_price": 30.0, "min_spend_per_package": 50000.0}]})),
        ];
        let kept = apply_product_filters(
            products,
            &request(&json!({"budget_range": {"currency": "USD", "max": 10000}})),
        );
        assert_eq!(ids(&kept), ["small", "eur_only"]);
    }
}
