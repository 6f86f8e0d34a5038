//! The pre-dispatch discovery rules (request shape, field types, mode consistency) as tables of
//! positive and negative cases for get_products, get_signals and a non-discovery tool.

use crate::common;

use adcp_guards::{DiscoveryMode, Rule, pre_dispatch};
use common::{Expect, config, run};
use serde_json::json;

use Expect::{Pass, Reject};

const PRODUCTS: &str = "get_products";
const SIGNALS: &str = "get_signals";
const CREATE: &str = "create_media_buy";

#[test]
fn request_not_object() {
    let reject = Reject(Rule::RequestNotObject, None);
    let mut table = Vec::new();
    for tool in [PRODUCTS, SIGNALS, CREATE] {
        table.extend(cases![
            "null request", tool, null => reject;
            "array request", tool, [] => reject;
            "string request", tool, "get" => reject;
            "number request", tool, 7 => reject;
        ]);
    }
    table.extend(cases![
        "empty products request browses as brief", PRODUCTS, {} => Pass;
        "signals with a spec", SIGNALS, { "signal_spec": "EV buyers" } => Pass;
        "other tool, empty object", CREATE, {} => Pass;
    ]);
    run(&table, &config());
}

#[test]
fn malformed_products_fields() {
    let bad = |field| Reject(Rule::MalformedField, Some(field));
    run(
        cases![
            "mode not a string", PRODUCTS, { "buying_mode": 5 } => bad("buying_mode");
            "unknown buying mode", PRODUCTS, { "buying_mode": "auction" } => bad("buying_mode");
            "mode is case-sensitive", PRODUCTS, { "buying_mode": "Brief" } => bad("buying_mode");
            "brief not a string", PRODUCTS, { "brief": ["x"] } => bad("brief");
            "refine not an array", PRODUCTS, { "buying_mode": "refine", "refine": "more" } => bad("refine");
            "refine entry not an object", PRODUCTS, { "buying_mode": "refine", "refine": [5] } => bad("refine[0]");
            "refine scope not a string", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "request", "ask": "a" }, { "scope": 1 }] }
                => bad("refine[1].scope");
            "refine action not a string", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "proposal", "action": {} }] }
                => bad("refine[0].action");
            "feed token not a string", PRODUCTS,
                { "buying_mode": "wholesale", "if_wholesale_feed_version": 3 } => bad("if_wholesale_feed_version");
        ],
        &config(),
    );
}

#[test]
fn malformed_signals_fields() {
    let bad = |field| Reject(Rule::MalformedField, Some(field));
    run(
        cases![
            "refine is not a signals mode", SIGNALS,
                { "discovery_mode": "refine", "signal_spec": "s" } => bad("discovery_mode");
            "mode not a string", SIGNALS, { "discovery_mode": true, "signal_spec": "s" } => bad("discovery_mode");
            "signal_spec not a string", SIGNALS, { "signal_spec": ["ev"] } => bad("signal_spec");
            "signal_refs not an array", SIGNALS, { "signal_refs": "ev" } => bad("signal_refs");
            "signal_ids not an array", SIGNALS, { "signal_ids": {} } => bad("signal_ids");
            "pricing token not a string", SIGNALS,
                { "discovery_mode": "wholesale", "if_pricing_version": false } => bad("if_pricing_version");
        ],
        &config(),
    );
}

#[test]
fn lenient_reading() {
    // Nulls are absent, and fields no rule reads are never looked at.
    run(
        cases![
            "null mode means brief", PRODUCTS, { "buying_mode": null, "brief": "b" } => Pass;
            "null mode means brief for signals", SIGNALS, { "discovery_mode": null, "signal_spec": "s" } => Pass;
            "unknown fields are ignored", PRODUCTS, { "brief": "b", "filters": 5, "fields": "x" } => Pass;
            "signals fields are not read on products", PRODUCTS, { "signal_spec": 5 } => Pass;
            "products fields are not read on signals", SIGNALS, { "signal_spec": "s", "brief": 5 } => Pass;
            "discovery fields are not read on other tools", CREATE, { "buying_mode": 5, "refine": 1 } => Pass;
        ],
        &config(),
    );
}

#[test]
fn refine_without_entries() {
    let reject = Reject(Rule::RefineWithoutEntries, Some("refine"));
    run(
        cases![
            "refine mode, no refine", PRODUCTS, { "buying_mode": "refine" } => reject;
            "refine mode, empty refine", PRODUCTS, { "buying_mode": "refine", "refine": [] } => reject;
            "refine mode, null refine", PRODUCTS, { "buying_mode": "refine", "refine": null } => reject;
            "refine mode with entries", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "request", "ask": "more video" }] } => Pass;
            // get_signals has no refine mode; asking for one is a malformed mode.
            "signals refine mode", SIGNALS, { "discovery_mode": "refine", "signal_spec": "s" }
                => Reject(Rule::MalformedField, Some("discovery_mode"));
        ],
        &config(),
    );
}

#[test]
fn refine_entries_outside_refine_mode() {
    let reject = Reject(Rule::RefineEntriesOutsideRefineMode, Some("buying_mode"));
    run(
        cases![
            "brief mode with refine", PRODUCTS,
                { "buying_mode": "brief", "brief": "b", "refine": [{ "scope": "request", "ask": "a" }] } => reject;
            "missing mode with refine", PRODUCTS, { "refine": [{ "scope": "request", "ask": "a" }] } => reject;
            "wholesale mode with refine", PRODUCTS,
                { "buying_mode": "wholesale", "refine": [{ "scope": "request", "ask": "a" }] } => reject;
            "brief mode with empty refine", PRODUCTS, { "buying_mode": "brief", "refine": [] } => reject;
            "brief mode without refine", PRODUCTS, { "buying_mode": "brief", "brief": "b" } => Pass;
            "refine is not a signals field", SIGNALS,
                { "signal_spec": "s", "refine": [{ "scope": "request", "ask": "a" }] } => Pass;
        ],
        &config(),
    );
}

#[test]
fn brief_outside_brief_mode() {
    let reject = Reject(Rule::BriefOutsideBriefMode, Some("brief"));
    run(
        cases![
            "wholesale with brief", PRODUCTS, { "buying_mode": "wholesale", "brief": "b" } => reject;
            "refine with brief", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "request", "ask": "a" }], "brief": "b" } => reject;
            "wholesale with null brief", PRODUCTS, { "buying_mode": "wholesale", "brief": null } => Pass;
            "brief with brief", PRODUCTS, { "buying_mode": "brief", "brief": "b" } => Pass;
            "brief without brief browses", PRODUCTS, { "buying_mode": "brief" } => Pass;
            "brief is not a signals field", SIGNALS, { "discovery_mode": "wholesale", "brief": "b" } => Pass;
        ],
        &config(),
    );
}

#[test]
fn refine_finalize_not_exclusive() {
    let at = |field| Reject(Rule::RefineFinalizeNotExclusive, Some(field));
    run(
        cases![
            "finalize mixed with a request entry", PRODUCTS,
                { "buying_mode": "refine", "refine": [
                    { "scope": "proposal", "proposal_id": "p1", "action": "finalize" },
                    { "scope": "request", "ask": "more CTV" }] }
                => at("refine[1]");
            "include before a finalize", PRODUCTS,
                { "buying_mode": "refine", "refine": [
                    { "scope": "proposal", "proposal_id": "p0" },
                    { "scope": "proposal", "proposal_id": "p1", "action": "finalize" }] }
                => at("refine[0]");
            "product-scoped finalize", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "product", "product_id": "x", "action": "finalize" }] }
                => at("refine[0]");
            "single finalize", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "proposal", "proposal_id": "p1", "action": "finalize" }] }
                => Pass;
            // Multi-finalize support is the seller's call (MULTI_FINALIZE_UNSUPPORTED), not a guard's.
            "multi finalize", PRODUCTS,
                { "buying_mode": "refine", "refine": [
                    { "scope": "proposal", "proposal_id": "p1", "action": "finalize" },
                    { "scope": "proposal", "proposal_id": "p2", "action": "finalize" }] }
                => Pass;
            "refinements without finalize", PRODUCTS,
                { "buying_mode": "refine", "refine": [
                    { "scope": "proposal", "proposal_id": "p", "action": "omit" },
                    { "scope": "request", "ask": "a" }] }
                => Pass;
        ],
        &config(),
    );
}

#[test]
fn signals_brief_without_selector() {
    let reject = Reject(Rule::SignalsBriefWithoutSelector, Some("signal_spec"));
    run(
        cases![
            "empty signals request", SIGNALS, {} => reject;
            "explicit brief, no selector", SIGNALS, { "discovery_mode": "brief" } => reject;
            "empty selector lists", SIGNALS, { "signal_refs": [], "signal_ids": [] } => reject;
            "null selectors", SIGNALS, { "signal_spec": null, "signal_refs": null } => reject;
            "spec", SIGNALS, { "signal_spec": "auto intenders" } => Pass;
            "an empty spec is still a spec", SIGNALS, { "signal_spec": "" } => Pass;
            "refs", SIGNALS, { "discovery_mode": "brief", "signal_refs": [{ "id": "a" }] } => Pass;
            "legacy ids", SIGNALS, { "signal_ids": [{ "id": "a" }] } => Pass;
            // get_products in brief mode without a brief is a browse, which the protocol allows.
            "products brief without brief", PRODUCTS, { "account": { "account_id": "a" } } => Pass;
        ],
        &config(),
    );
}

#[test]
fn signals_selector_in_wholesale() {
    let at = |field| Reject(Rule::SignalsSelectorInWholesale, Some(field));
    run(
        cases![
            "wholesale with spec", SIGNALS, { "discovery_mode": "wholesale", "signal_spec": "ev" } => at("signal_spec");
            "wholesale with refs", SIGNALS,
                { "discovery_mode": "wholesale", "signal_refs": [{ "id": "a" }] } => at("signal_refs");
            "wholesale with empty ids", SIGNALS, { "discovery_mode": "wholesale", "signal_ids": [] } => at("signal_ids");
            "wholesale alone", SIGNALS, { "discovery_mode": "wholesale" } => Pass;
            "wholesale with null spec", SIGNALS, { "discovery_mode": "wholesale", "signal_spec": null } => Pass;
            "products wholesale ignores signal fields", PRODUCTS,
                { "buying_mode": "wholesale", "signal_spec": "x" } => Pass;
        ],
        &config(),
    );
}

#[test]
fn feed_version_tokens() {
    let alone = Reject(
        Rule::PricingVersionWithoutFeedVersion,
        Some("if_pricing_version"),
    );
    let outside = |field| Reject(Rule::FeedVersionOutsideWholesale, Some(field));
    let feed = "if_wholesale_feed_version";
    run(
        cases![
            "standalone pricing token", PRODUCTS, { "buying_mode": "wholesale", "if_pricing_version": "p" } => alone;
            "standalone pricing token", SIGNALS, { "discovery_mode": "wholesale", "if_pricing_version": "p" } => alone;
            "feed token in wholesale", PRODUCTS, { "buying_mode": "wholesale", "if_wholesale_feed_version": "f" } => Pass;
            "feed token in wholesale", SIGNALS, { "discovery_mode": "wholesale", "if_wholesale_feed_version": "f" } => Pass;
            "both tokens in wholesale", PRODUCTS,
                { "buying_mode": "wholesale", "if_wholesale_feed_version": "f", "if_pricing_version": "p" } => Pass;
            "both tokens in wholesale", SIGNALS,
                { "discovery_mode": "wholesale", "if_wholesale_feed_version": "f", "if_pricing_version": "p" } => Pass;
            "feed token in brief", PRODUCTS,
                { "buying_mode": "brief", "brief": "b", "if_wholesale_feed_version": "f" } => outside(feed);
            "feed token without a mode", SIGNALS, { "signal_spec": "s", "if_wholesale_feed_version": "f" } => outside(feed);
            "standalone pricing token in brief", PRODUCTS, { "brief": "b", "if_pricing_version": "p" } => alone;
            "standalone pricing token in brief", SIGNALS, { "signal_spec": "s", "if_pricing_version": "p" } => alone;
            "both tokens in refine", PRODUCTS,
                { "buying_mode": "refine", "refine": [{ "scope": "request", "ask": "a" }],
                  "if_wholesale_feed_version": "f", "if_pricing_version": "p" } => outside(feed);
            "both tokens in brief", SIGNALS,
                { "discovery_mode": "brief", "signal_spec": "s",
                  "if_wholesale_feed_version": "f", "if_pricing_version": "p" } => outside(feed);
            "tokens are not read on other tools", CREATE, { "if_pricing_version": "p" } => Pass;
        ],
        &config(),
    );
}

#[test]
fn admitted_reports_the_mode() {
    let admitted = pre_dispatch(&config(), PRODUCTS, &json!({})).unwrap();
    assert_eq!(admitted.mode(), Some(DiscoveryMode::Brief));
    assert!(!admitted.has_push_config());
    let request = json!({ "discovery_mode": "wholesale" });
    let admitted = pre_dispatch(&config(), SIGNALS, &request).unwrap();
    assert_eq!(admitted.mode(), Some(DiscoveryMode::Wholesale));
    let admitted = pre_dispatch(&config(), CREATE, &json!({})).unwrap();
    assert_eq!(admitted.mode(), None);
    assert_eq!(admitted.verb(), None);
}
