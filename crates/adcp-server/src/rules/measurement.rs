//! Acceptance of a package's buyer-proposed `measurement_terms`: the seller either honours every
//! proposed term or rejects the package with `TERMS_REJECTED` naming what it cannot honour —
//! never drops a term silently ("Buyer's proposed billing measurement and makegood terms \[...\]
//! Seller accepts (echoed on confirmed package), rejects with TERMS_REJECTED, or adjusts.").

use adcp_types::generated::{
    BrandRef, MakegoodRemedy, MeasurementTerms, MeasurementTermsBillingMeasurement,
    MeasurementTermsMakegoodPolicy, PackageRequest, Product,
};
use adcp_types::{AdcpError, codes};
use serde_json::{Map, Value, json};

use super::discovery::same_vendor;

/// What a seller can honour beyond the terms its product declares.
///
/// The product's own `measurement_terms` (its billing vendor, variance tolerance, finalization
/// deadline and makegood remedies) are always honoured: they are the seller's stated defaults.
/// These capabilities widen that. [`MeasurementCapabilities::default`] widens nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeasurementCapabilities {
    /// Billing vendors whose count the seller also accepts as authoritative for invoicing,
    /// matched by domain (and `brand_id` when the entry names one).
    pub billing_vendors: Vec<BrandRef>,
    /// Accept any billing vendor the buyer proposes.
    pub any_billing_vendor: bool,
    /// The smallest `max_variance_percent` the seller agrees to; a tighter proposal is
    /// rejected. `None` leaves only the product's declared tolerance as the floor (and accepts
    /// any tolerance when the product declares none).
    pub min_variance_percent: Option<f64>,
    /// The shortest `finalization_deadline_hours` the seller can meet; `None` leaves only the
    /// product's declared deadline as the floor (and accepts any when it declares none).
    pub min_finalization_deadline_hours: Option<u64>,
    /// Makegood remedies the seller also offers.
    pub makegood_remedies: Vec<MakegoodRemedy>,
}

/// One proposed term the seller cannot honour.
struct Rejection {
    /// The term's path below `measurement_terms`.
    term: String,
    /// Why, in a sentence.
    reason: String,
    /// What the seller would accept instead, when it can say.
    acceptable: Option<Value>,
}

/// Checks package `index`'s proposed `measurement_terms` against `product` and what the seller
/// can honour, and returns the terms that apply to the package: the proposal when every term is
/// honoured, the product's own terms when the package proposes none ("When absent, product's
/// measurement_terms apply").
///
/// Fails with `TERMS_REJECTED` when any proposed term cannot be honoured: a billing vendor the
/// seller does not accept, a `measurement_window` the product does not declare in
/// `reporting_capabilities.measurement_windows` (the term "References a window_id from the
/// product's reporting_capabilities.measurement_windows"), a `max_variance_percent` or
/// `finalization_deadline_hours` tighter than the seller agrees to, a makegood remedy the
/// seller does not offer, or a term this SDK does not know (an additional member: a seller
/// cannot honour what it does not understand). The error's `field` is the first rejected term
/// (`packages[{index}].measurement_terms.…`) and `details.rejected_terms` lists every one with
/// its reason and, where known, what is acceptable ("The error details SHOULD identify which
/// specific term was rejected and the seller's acceptable range or supported vendors.").
pub fn check_measurement_terms(
    package: &PackageRequest,
    product: &Product,
    capabilities: &MeasurementCapabilities,
    index: usize,
) -> Result<Option<MeasurementTerms>, AdcpError> {
    let Some(proposed) = &package.measurement_terms else {
        return Ok(product.measurement_terms.clone());
    };
    let rejections = rejections(proposed, product, capabilities);
    let Some(first) = rejections.first() else {
        return Ok(Some(proposed.clone()));
    };
    let prefix = format!("packages[{index}].measurement_terms");
    let message = format!(
        "the seller cannot honour the proposed measurement_terms: {}",
        rejections
            .iter()
            .map(|r| format!("{} ({})", r.term, r.reason))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let listed: Vec<Value> = rejections
        .iter()
        .map(|r| {
            let mut entry = Map::new();
            entry.insert("term".into(), json!(r.term));
            entry.insert("reason".into(), json!(r.reason));
            if let Some(acceptable) = &r.acceptable {
                entry.insert("acceptable".into(), acceptable.clone());
            }
            Value::Object(entry)
        })
        .collect();
    Err(AdcpError::new(codes::TERMS_REJECTED, message)
        .with_field(format!("{prefix}.{}", first.term))
        .with_suggestion(
            "adjust the proposed terms, or omit measurement_terms to accept the product's defaults",
        )
        .with_detail("rejected_terms", Value::Array(listed)))
}

/// Every proposed term the seller cannot honour, in the order the terms are listed.
fn rejections(
    proposed: &MeasurementTerms,
    product: &Product,
    capabilities: &MeasurementCapabilities,
) -> Vec<Rejection> {
    let mut out: Vec<Rejection> = proposed
        .extra
        .keys()
        .map(|key| unknown(key.clone()))
        .collect();
    if let Some(billing) = &proposed.billing_measurement {
        out.extend(billing_rejections(billing, product, capabilities));
    }
    if let Some(policy) = &proposed.makegood_policy {
        out.extend(makegood_rejections(policy, product, capabilities));
    }
    out
}

/// The proposed `billing_measurement` terms the seller cannot honour.
fn billing_rejections(
    billing: &MeasurementTermsBillingMeasurement,
    product: &Product,
    capabilities: &MeasurementCapabilities,
) -> Vec<Rejection> {
    let prefix = "billing_measurement";
    let declared = product
        .measurement_terms
        .as_ref()
        .and_then(|t| t.billing_measurement.as_ref());
    let mut out: Vec<Rejection> = billing
        .extra
        .keys()
        .map(|key| unknown(format!("{prefix}.{key}")))
        .collect();
    let vendors: Vec<&BrandRef> = declared
        .map(|b| &b.vendor)
        .into_iter()
        .chain(&capabilities.billing_vendors)
        .collect();
    if !capabilities.any_billing_vendor && !vendors.iter().any(|v| same_vendor(v, &billing.vendor))
    {
        out.push(Rejection {
            term: format!("{prefix}.vendor"),
            reason: format!(
                "vendor `{}` is not an accepted billing vendor",
                billing.vendor.domain
            ),
            acceptable: Some(json!(vendors)),
        });
    }
    if let Some(window) = &billing.measurement_window {
        let windows: Vec<&str> = product
            .reporting_capabilities
            .measurement_windows
            .iter()
            .flatten()
            .map(|w| w.window_id.as_str())
            .collect();
        if !windows.contains(&window.as_str()) {
            out.push(Rejection {
                term: format!("{prefix}.measurement_window"),
                reason: format!("the product declares no measurement window `{window}`"),
                acceptable: Some(json!(windows)),
            });
        }
    }
    let variance_floor = floor_of(
        capabilities.min_variance_percent,
        declared.and_then(|b| b.max_variance_percent),
    );
    if let (Some(variance), Some(floor)) = (billing.max_variance_percent, variance_floor)
        && variance < floor
    {
        out.push(Rejection {
            term: format!("{prefix}.max_variance_percent"),
            reason: format!("a variance tolerance below {floor}% cannot be honoured"),
            acceptable: Some(json!({"minimum": floor})),
        });
    }
    let deadline_floor = floor_of(
        capabilities.min_finalization_deadline_hours,
        declared.and_then(|b| b.finalization_deadline_hours),
    );
    if let (Some(hours), Some(floor)) = (billing.finalization_deadline_hours, deadline_floor)
        && hours < floor
    {
        out.push(Rejection {
            term: format!("{prefix}.finalization_deadline_hours"),
            reason: format!("a finalization deadline under {floor} hours cannot be met"),
            acceptable: Some(json!({"minimum": floor})),
        });
    }
    out
}

/// The proposed `makegood_policy` terms the seller cannot honour.
fn makegood_rejections(
    policy: &MeasurementTermsMakegoodPolicy,
    product: &Product,
    capabilities: &MeasurementCapabilities,
) -> Vec<Rejection> {
    let prefix = "makegood_policy";
    let mut out: Vec<Rejection> = policy
        .extra
        .keys()
        .map(|key| unknown(format!("{prefix}.{key}")))
        .collect();
    let offered: Vec<MakegoodRemedy> = product
        .measurement_terms
        .as_ref()
        .and_then(|t| t.makegood_policy.as_ref())
        .map(|p| p.available_remedies.clone())
        .unwrap_or_default()
        .into_iter()
        .chain(capabilities.makegood_remedies.iter().copied())
        .collect();
    let missing: Vec<String> = policy
        .available_remedies
        .iter()
        .filter(|remedy| !offered.contains(remedy))
        .map(ToString::to_string)
        .collect();
    if !missing.is_empty() {
        out.push(Rejection {
            term: format!("{prefix}.available_remedies"),
            reason: format!("the seller does not offer {}", missing.join(", ")),
            acceptable: Some(json!(offered)),
        });
    }
    out
}

/// The lowest value the seller accepts: its configured minimum, else the product's declared
/// term; the smaller of the two when both are set (either is a promise the seller made).
fn floor_of<T: PartialOrd + Copy>(configured: Option<T>, declared: Option<T>) -> Option<T> {
    match (configured, declared) {
        (Some(a), Some(b)) => Some(if b < a { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// A term this SDK does not know.
fn unknown(term: String) -> Rejection {
    Rejection {
        reason: "not a measurement term the seller recognises".to_owned(),
        term,
        acceptable: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::{package, product};
    use adcp_types::Recovery;

    /// A video product with C3/C7 windows and no declared measurement terms.
    fn video() -> Product {
        product(json!({"product_id": "p", "reporting_capabilities": {
            "available_metrics": ["impressions", "completed_views"],
            "available_reporting_frequencies": ["daily"], "date_range_support": "date_range",
            "expected_delay_minutes": 240, "supports_webhooks": false, "timezone": "UTC",
            "measurement_windows": [
                {"window_id": "c3", "duration_days": 3},
                {"window_id": "c7", "duration_days": 7, "is_guarantee_basis": true}]}}))
    }

    fn capabilities() -> MeasurementCapabilities {
        MeasurementCapabilities {
            billing_vendors: vec![
                serde_json::from_value(json!({"domain": "videoamp.example"})).unwrap(),
            ],
            min_variance_percent: Some(5.0),
            makegood_remedies: vec![MakegoodRemedy::AdditionalDelivery, MakegoodRemedy::Credit],
            ..MeasurementCapabilities::default()
        }
    }

    fn proposing(terms: &Value) -> PackageRequest {
        package(json!({"measurement_terms": terms}))
    }

    #[test]
    fn without_a_proposal_the_products_terms_apply() {
        let product = product(json!({"measurement_terms": {
            "billing_measurement": {"vendor": {"domain": "seller.example"}}}}));
        let applied = check_measurement_terms(
            &package(json!({})),
            &product,
            &MeasurementCapabilities::default(),
            0,
        )
        .unwrap();
        assert_eq!(applied, product.measurement_terms);
    }

    #[test]
    fn aggressive_terms_are_rejected_with_terms_rejected_naming_each_term() {
        // measurement_terms_rejected.yaml, the aggressive proposal.
        let package = proposing(&json!({
            "billing_measurement": {"vendor": {"domain": "videoamp.example"},
                                    "measurement_window": "c28", "max_variance_percent": 0},
            "makegood_policy": {"available_remedies": ["credit"]}}));
        let error = check_measurement_terms(&package, &video(), &capabilities(), 1).unwrap_err();
        assert_eq!(error.code, codes::TERMS_REJECTED);
        assert_eq!(error.recovery, Recovery::Correctable);
        assert_eq!(
            error.field.as_deref(),
            Some("packages[1].measurement_terms.billing_measurement.measurement_window")
        );
        let rejected = &error.details.unwrap()["rejected_terms"];
        assert_eq!(rejected[0]["acceptable"], json!(["c3", "c7"]));
        assert_eq!(
            rejected[1]["term"],
            json!("billing_measurement.max_variance_percent")
        );
        assert_eq!(rejected[1]["acceptable"], json!({"minimum": 5.0}));
        assert!(rejected.get(2).is_none());
    }

    #[test]
    fn relaxed_terms_within_the_sellers_capabilities_are_accepted_unchanged() {
        // measurement_terms_rejected.yaml, the relaxed retry.
        let terms = json!({
            "billing_measurement": {"vendor": {"domain": "videoamp.example"},
                                    "measurement_window": "c7", "max_variance_percent": 10},
            "makegood_policy": {"available_remedies": ["additional_delivery", "credit"]}});
        let applied =
            check_measurement_terms(&proposing(&terms), &video(), &capabilities(), 0).unwrap();
        assert_eq!(applied, Some(serde_json::from_value(terms).unwrap()));
    }

    #[test]
    fn a_billing_vendor_the_seller_does_not_accept_is_rejected() {
        let package =
            proposing(&json!({"billing_measurement": {"vendor": {"domain": "other.example"}}}));
        let error = check_measurement_terms(&package, &video(), &capabilities(), 0).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("packages[0].measurement_terms.billing_measurement.vendor")
        );
        let any = MeasurementCapabilities {
            any_billing_vendor: true,
            ..capabilities()
        };
        assert!(check_measurement_terms(&package, &video(), &any, 0).is_ok());
    }

    #[test]
    fn the_products_declared_terms_are_always_honoured() {
        let product = product(json!({"measurement_terms": {
            "billing_measurement": {"vendor": {"domain": "seller.example"}, "max_variance_percent": 10,
                                    "finalization_deadline_hours": 240},
            "makegood_policy": {"available_remedies": ["invoice_adjustment"]}}}));
        let same = proposing(&serde_json::to_value(&product.measurement_terms).unwrap());
        assert!(
            check_measurement_terms(&same, &product, &MeasurementCapabilities::default(), 0)
                .is_ok()
        );
        let tighter = proposing(
            &json!({"billing_measurement": {"vendor": {"domain": "seller.example"},
                                                              "finalization_deadline_hours": 24}}),
        );
        let error =
            check_measurement_terms(&tighter, &product, &MeasurementCapabilities::default(), 0)
                .unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("packages[0].measurement_terms.billing_measurement.finalization_deadline_hours")
        );
    }

    #[test]
    fn a_makegood_remedy_the_seller_does_not_offer_is_rejected() {
        let package = proposing(
            &json!({"makegood_policy": {"available_remedies": ["credit", "invoice_adjustment"]}}),
        );
        let error = check_measurement_terms(&package, &video(), &capabilities(), 0).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("packages[0].measurement_terms.makegood_policy.available_remedies")
        );
        assert!(
            error.message.contains("invoice_adjustment"),
            "{}",
            error.message
        );
    }

    #[test]
    fn an_unknown_term_is_rejected_rather_than_dropped() {
        let package = proposing(
            &json!({"billing_measurement": {"vendor": {"domain": "videoamp.example"},
                                                              "audit_rights": "quarterly"}}),
        );
        let error = check_measurement_terms(&package, &video(), &capabilities(), 0).unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("packages[0].measurement_terms.billing_measurement.audit_rights")
        );
    }
}
