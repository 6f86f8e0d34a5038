//! `create_media_buy`: the protocol's checks from the SDK's rules, in the order
//! [`adcp_server::rules`] gives (amounts, flight, then per package its product, own flight,
//! pricing and measurement terms, and last the buy's one currency), then the demo's own
//! (optimization goals, buyer-data references, inline creatives), and the buy as recorded.

use std::collections::BTreeSet;
use std::num::NonZeroU64;

use adcp_server::rules::flight::{self, Flight, FlightPolicy};
use adcp_server::rules::measurement::{self, MeasurementCapabilities};
use adcp_server::rules::{bounds, pricing};
use adcp_types::generated::{
    BrandRef, CreateMediaBuyRequest, CreativeAssignment, MakegoodRemedy, MediaBuyStatus, Package,
    PackageRequest, Product, ReachUnit,
};
use adcp_types::{AdcpError, codes};
use serde_json::Map;

use super::creative_sync::{self, Candidate};
use super::{goals, signal_targeting};
use crate::buyer_data::{self, Registries};
use crate::buys::{MediaBuy, Scope, clock};
use crate::catalog::Catalog;
use crate::reply::built;

/// The demo's flight policy: a start in the past is refused (`INVALID_REQUEST` on
/// `start_time`), never silently kept; within five minutes of now it counts as now.
pub(crate) const FLIGHT_POLICY: FlightPolicy = FlightPolicy::reject_past_start();

/// What the demo honours beyond the terms its products declare: invoicing on VideoAmp's count
/// (its video inventory's measurement partner) within a 10% variance, and makegoods as
/// additional delivery or credit. Measurement windows are each product's own
/// (`reporting_capabilities.measurement_windows`; the demo's video products declare live, C3 and
/// C7).
pub(crate) fn measurement_capabilities() -> Result<MeasurementCapabilities, AdcpError> {
    Ok(MeasurementCapabilities {
        billing_vendors: vec![built(
            BrandRef::builder().domain("videoamp.example").build(),
        )?],
        any_billing_vendor: false,
        min_variance_percent: Some(10.0),
        min_finalization_deadline_hours: None,
        makegood_remedies: vec![MakegoodRemedy::AdditionalDelivery, MakegoodRemedy::Credit],
    })
}

/// A new buy that passed every check, not yet recorded, and the inline creatives to store
/// with it.
pub(crate) struct Accepted {
    /// The buy to record, waiting for creatives.
    pub(crate) buy: MediaBuy,
    /// Its packages' inline creatives, to store first.
    pub(crate) creatives: Vec<Candidate>,
}

/// One accepted package.
struct AcceptedPackage {
    package: Package,
    terms: pricing::PricingTerms,
    reach_unit: Option<ReachUnit>,
    valued_sources: Vec<(String, String)>,
    creatives: Vec<Candidate>,
}

/// Checks package `i` against its product and returns it as the seller records it.
fn accept_package(
    package: &PackageRequest,
    i: usize,
    flight: &Flight,
    scope: &Scope,
    catalog: &Catalog,
    registries: &Registries,
) -> Result<AcceptedPackage, AdcpError> {
    let now = scope.now();
    let product_id = &package.product_id;
    let Some(product) = catalog.find(product_id) else {
        return Err(AdcpError::new(
            codes::PRODUCT_NOT_FOUND,
            format!("no product `{product_id}`"),
        )
        .with_field(format!("packages[{i}].product_id")));
    };
    let own_flight = flight::check_package_flight(package, i, flight, now, FLIGHT_POLICY)?;
    let terms = pricing::check_package_pricing(package, &product, i)?;
    let measurement_terms =
        measurement::check_measurement_terms(package, &product, &measurement_capabilities()?, i)?;
    signal_targeting::check(package, &product, i)?;
    let goals = package.optimization_goals.as_deref().unwrap_or_default();
    let reach_unit = goals::check(goals, &product, i)?;
    let valued_sources = buyer_data::check_references(
        package.targeting_overlay.as_ref(),
        goals,
        scope.principal(),
        registries,
        i,
    )?;
    let stamp = clock::wire(now);
    let creatives = package
        .creatives
        .iter()
        .flatten()
        .enumerate()
        .map(|(j, asset)| {
            creative_sync::check(
                asset,
                &format!("packages[{i}].creatives[{j}]"),
                catalog,
                &stamp,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut recorded = built(
        Package::builder()
            .package_id(format!("pkg_{}_{}", i, uuid::Uuid::new_v4().simple()))
            .product_id(product_id.clone())
            .budget(package.budget)
            .pricing_option_id(package.pricing_option_id.clone())
            .build(),
    )?;
    recorded.bid_price = package.bid_price;
    recorded
        .targeting_overlay
        .clone_from(&package.targeting_overlay);
    recorded.context.clone_from(&package.context);
    recorded.pacing = package.pacing;
    recorded
        .optimization_goals
        .clone_from(&package.optimization_goals);
    recorded.measurement_terms = measurement_terms;
    recorded.format_ids = package
        .format_ids
        .clone()
        .or_else(|| product.format_ids.clone());
    if own_flight.own_dates {
        recorded.start_time = Some(clock::wire(own_flight.start));
        recorded.end_time = Some(clock::wire(own_flight.end));
    }
    let mut assignments = package.creative_assignments.clone().unwrap_or_default();
    for candidate in &creatives {
        if !assignments
            .iter()
            .any(|a| a.creative_id == candidate.creative_id())
        {
            assignments.push(CreativeAssignment {
                creative_id: candidate.creative_id().to_owned(),
                placement_ids: None,
                placement_refs: None,
                weight: None,
                extra: Map::new(),
            });
        }
    }
    if !assignments.is_empty() {
        recorded.creative_assignments = Some(assignments);
    }
    Ok(AcceptedPackage {
        package: recorded,
        terms,
        reach_unit,
        valued_sources,
        creatives,
    })
}

/// Checks a `create_media_buy` for `scope` and returns the buy to record (waiting for
/// creatives; the caller settles it against the creative library). Fails with the first
/// rule's error: `INVALID_REQUEST` for amounts out of bounds or a bad flight,
/// `PROPOSAL_NOT_FOUND` for a proposal (the demo issues none), `PRODUCT_NOT_FOUND`,
/// `REFERENCE_NOT_FOUND` / `VALIDATION_ERROR` / `BUDGET_TOO_LOW` from pricing,
/// `TERMS_REJECTED`, or the demo's goal, buyer-data and creative checks.
pub(crate) fn accept(
    request: &CreateMediaBuyRequest,
    scope: &Scope,
    catalog: &Catalog,
    registries: &Registries,
) -> Result<Accepted, AdcpError> {
    let now = scope.now();
    bounds::check_media_buy_amounts(request)?;
    let flight = flight::check_flight(request, now, FLIGHT_POLICY)?;
    if let Some(proposal_id) = &request.proposal_id {
        return Err(AdcpError::new(
            codes::PROPOSAL_NOT_FOUND,
            format!("no proposal `{proposal_id}`: this seller does not issue proposals"),
        )
        .with_field("proposal_id"));
    }
    let requested = request.packages.as_deref().unwrap_or_default();
    if requested.is_empty() {
        return Err(
            AdcpError::invalid_request("a media buy needs at least one package")
                .with_field("packages"),
        );
    }
    let mut packages = Vec::new();
    let mut selected = Vec::new();
    let mut reach_unit = None;
    let mut valued_sources = BTreeSet::new();
    let mut creatives = Vec::new();
    for (i, package) in requested.iter().enumerate() {
        let accepted = accept_package(package, i, &flight, scope, catalog, registries)?;
        if let Some(unit) = accepted.reach_unit {
            reach_unit.get_or_insert(unit);
        }
        valued_sources.extend(accepted.valued_sources);
        selected.push(accepted.terms);
        creatives.extend(accepted.creatives);
        packages.push(accepted.package);
    }
    let currency = pricing::check_buy_currency(&selected, None)?.unwrap_or_else(|| "USD".into());
    Ok(Accepted {
        buy: MediaBuy {
            id: format!("mb_{}", uuid::Uuid::new_v4().simple()),
            holder: scope.holder(),
            status: MediaBuyStatus::PendingCreatives,
            confirmed_at: clock::wire(now),
            revision: NonZeroU64::MIN,
            currency,
            start: flight.start,
            end: flight.end,
            context: request.context.clone(),
            packages,
            buyer: scope.principal().to_owned(),
            reach_unit,
            valued_sources,
            resume_status: None,
            cancellation: None,
        },
        creatives,
    })
}

/// The products `buy`'s packages buy, each once, as the catalog now has them.
pub(crate) fn products_of(buy: &MediaBuy, catalog: &Catalog) -> Vec<Product> {
    let mut products: Vec<Product> = Vec::new();
    for id in buy.packages.iter().filter_map(|p| p.product_id.as_deref()) {
        if !products.iter().any(|p| p.product_id == id)
            && let Some(product) = catalog.find(id)
        {
            products.push(product);
        }
    }
    products
}
