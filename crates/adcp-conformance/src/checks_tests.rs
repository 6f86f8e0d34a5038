//! Check evaluation on crafted responses, passing and failing.

use std::collections::BTreeSet;

use adcp_types::validate::SchemaSet;
use serde_json::{Value, json};

use super::*;
use crate::catalog::default_schemas_dir;
use crate::context::{RunContext, RunnerVars};
use crate::model::Validation;

fn validation(yaml: &str) -> Validation {
    serde_yaml_ng::from_str(yaml).unwrap()
}

struct Fixture {
    context: RunContext,
    contributions: BTreeSet<String>,
}

impl Fixture {
    fn new() -> Self {
        let mut context = RunContext::new(
            None,
            RunnerVars {
                webhook_base: None,
                run_token: "t".into(),
            },
        );
        context.set("media_buy_id", json!("mb_1"));
        context.set("baseline", json!(10));
        Self {
            context,
            contributions: BTreeSet::from(["flag_a".to_owned()]),
        }
    }

    fn input<'a>(&'a self, data: &'a Value) -> CheckInput<'a> {
        CheckInput {
            data: Some(data),
            is_tool_call: true,
            task_succeeded: data.get("adcp_error").is_none(),
            http: None,
            response_schema: None,
            schemas: Err("not loaded in this test"),
            context: &self.context,
            contributions: &self.contributions,
            agent_url: "http://127.0.0.1:3001/mcp",
            protocol: Protocol::Mcp,
            cross_responses: None,
            rate_limit: None,
            upstream: None,
            request: None,
        }
    }
}

fn grade(yaml: &str, data: &Value) -> ValidationResult {
    let fixture = Fixture::new();
    evaluate(&validation(yaml), &fixture.input(data))
}

#[test]
fn field_present_absent_and_value() {
    let doc = json!({"status": "submitted", "task_id": "t1", "products": [], "n": 1, "ctx": {"id": "x"}, "nothing": null});
    assert!(grade("check: field_present\npath: task_id", &doc).passed);
    assert!(grade("check: field_present\npath: products", &doc).passed);
    assert!(!grade("check: field_present\npath: nothing", &doc).passed);
    assert!(!grade("check: field_present\npath: missing.deeper", &doc).passed);
    assert!(grade("check: field_absent\npath: result", &doc).passed);
    assert!(!grade("check: field_absent\npath: status", &doc).passed);
    assert!(grade("check: field_value\npath: status\nvalue: submitted", &doc).passed);
    assert!(
        grade("check: field_value\npath: n\nvalue: 1.0", &doc).passed,
        "1 == 1.0"
    );
    assert!(!grade("check: field_value\npath: status\nvalue: completed", &doc).passed);
    assert!(
        grade(
            "check: field_value\npath: status\nallowed_values: [working, submitted]",
            &doc
        )
        .passed
    );
    assert!(
        !grade(
            "check: field_value\npath: task_id\nallowed_values: [t2]",
            &doc
        )
        .passed
    );
    assert!(grade("check: field_value\npath: ctx\nvalue: {id: x}", &doc).passed);
    let wildcard = grade("check: field_value\npath: products[*].id\nvalue: x", &doc);
    assert!(!wildcard.passed && wildcard.error.unwrap().contains("wildcard"));
}

#[test]
fn field_value_or_absent_tolerates_absence_only() {
    let doc = json!({"replayed": true});
    assert!(
        grade(
            "check: field_value_or_absent\npath: missing\nallowed_values: [false]",
            &doc
        )
        .passed
    );
    assert!(
        !grade(
            "check: field_value_or_absent\npath: replayed\nallowed_values: [false]",
            &doc
        )
        .passed
    );
    assert!(
        grade(
            "check: field_value_or_absent\npath: replayed\nvalue: true",
            &doc
        )
        .passed
    );
    assert!(
        !grade("check: field_value_or_absent\npath: replayed", &doc).passed,
        "neither value nor allowed_values"
    );
    // `value: null` is a value: null or absent passes, anything else fails.
    let nullable = json!({"cleared": null, "set": "x"});
    for (path, passes) in [("cleared", true), ("missing", true), ("set", false)] {
        let yaml = format!("check: field_value_or_absent\npath: {path}\nvalue: null");
        assert_eq!(grade(&yaml, &nullable).passed, passes, "{path}");
    }
}

#[test]
fn patterns_and_contains() {
    let doc = json!({"adcp_version": "3.1", "items": [{"action": "a", "modes": ["x", "y"]}, {"action": "b"}]});
    let pattern = "check: envelope_field_pattern\npath: adcp_version\npattern: '^\\d+\\.\\d+(-[a-zA-Z0-9.-]+)?$'";
    assert!(grade(pattern, &doc).passed);
    assert!(!grade(pattern, &json!({"adcp_version": "3"})).passed);
    assert!(
        grade(
            "check: field_contains\npath: items\nvalue: {action: a, modes: [y]}",
            &doc
        )
        .passed
    );
    assert!(
        grade(
            "check: field_contains\npath: items[*].action\nallowed_values: [z, b]",
            &doc
        )
        .passed
    );
    assert!(
        !grade(
            "check: field_contains\npath: items\nvalue: {action: c}",
            &doc
        )
        .passed
    );
}

#[test]
fn error_code_reads_every_binding() {
    let l3 =
        json!({"adcp_error": {"code": "VERSION_UNSUPPORTED"}, "context": {"correlation_id": "c"}});
    assert!(grade("check: error_code\nvalue: VERSION_UNSUPPORTED", &l3).passed);
    assert!(
        grade(
            "check: error_code\nallowed_values: [INVALID_REQUEST, VERSION_UNSUPPORTED]",
            &l3
        )
        .passed
    );
    assert!(!grade("check: error_code\nallowed_values: [INVALID_REQUEST]", &l3).passed);
    assert!(
        grade("check: error_code", &l3).passed,
        "bare error_code asserts any code"
    );
    let errors_array = json!({"status": "failed", "errors": [{"code": "REFERENCE_NOT_FOUND"}], "adcp_error": {"code": "REFERENCE_NOT_FOUND"}});
    assert!(
        grade(
            "check: error_code\nvalue: REFERENCE_NOT_FOUND",
            &errors_array
        )
        .passed
    );
    let controller = json!({"success": false, "error": "FORBIDDEN"});
    assert!(grade("check: error_code\nvalue: FORBIDDEN", &controller).passed);
    let success = json!({"products": []});
    let missing = grade("check: error_code", &success);
    assert!(!missing.passed && missing.error.unwrap().contains("no error code"));
}

#[test]
fn http_checks_need_a_probe_and_grade_status_and_headers() {
    let fixture = Fixture::new();
    let doc = json!({});
    let v = validation("check: http_status_in\nallowed_values: [401, 403]");
    assert!(
        !evaluate(&v, &fixture.input(&doc)).passed,
        "no probe, no grade"
    );
    let unauthorized = HttpObservation {
        status: 401,
        headers: [("www-authenticate".to_owned(), "Bearer".to_owned())]
            .into_iter()
            .collect(),
        ..HttpObservation::default()
    };
    let input = CheckInput {
        http: Some(&unauthorized),
        ..fixture.input(&doc)
    };
    assert!(evaluate(&v, &input).passed);
    assert!(
        evaluate(
            &validation("check: on_401_require_header\nvalue: www-authenticate"),
            &input
        )
        .passed
    );
    assert!(!evaluate(&validation("check: http_status\nvalue: 200"), &input).passed);
    let bare = HttpObservation {
        status: 401,
        ..HttpObservation::default()
    };
    let input = CheckInput {
        http: Some(&bare),
        ..fixture.input(&doc)
    };
    assert!(
        !evaluate(
            &validation("check: on_401_require_header\nvalue: www-authenticate"),
            &input
        )
        .passed
    );
    let metadata = HttpObservation {
        status: 200,
        body: Some(json!({"resource": "HTTP://127.0.0.1:3001/mcp/"})),
        ..HttpObservation::default()
    };
    let input = CheckInput {
        http: Some(&metadata),
        ..fixture.input(&doc)
    };
    assert!(evaluate(&validation("check: resource_equals_agent_url"), &input).passed);
}

#[test]
fn contributions_context_and_numbers() {
    let doc = json!({"media_buys": [{"media_buy_id": "mb_1"}], "rights": [1, 2, 3]});
    assert!(grade("check: any_of\nallowed_values: [flag_b, flag_a]", &doc).passed);
    assert!(!grade("check: any_of\nallowed_values: [flag_b]", &doc).passed);
    assert!(grade("check: field_equals_context\npath: media_buys[0].media_buy_id\ncontext_key: media_buy_id", &doc).passed);
    assert!(
        !grade(
            "check: field_equals_context\npath: rights\ncontext_key: media_buy_id",
            &doc
        )
        .passed
    );
    let absent = grade(
        "check: field_equals_context\npath: rights\ncontext_key: never_captured",
        &doc,
    );
    assert!(
        absent.passed,
        "an absent context key is an observation, not a failure"
    );
    assert!(
        grade(
            "check: field_less_than\npath: rights.length\ncontext_key: baseline",
            &doc
        )
        .passed
    );
    assert!(
        !grade(
            "check: field_less_than\npath: rights.length\nvalue: 3",
            &doc
        )
        .passed
    );
}

#[test]
fn unknown_kinds_fail_loudly_even_when_advisory() {
    let result = grade(
        "check: canonical_format_satisfaction\nvalue: true\nseverity: advisory",
        &json!({}),
    );
    assert!(!result.passed);
    assert!(
        result.fails_step(),
        "an unimplemented check must fail the step"
    );
    assert!(result.error.unwrap().contains("not implemented"));
}

#[test]
fn advisory_failures_do_not_fail_the_step() {
    let result = grade(
        "check: field_present\npath: adcp_version\nseverity: advisory",
        &json!({}),
    );
    assert!(!result.passed);
    assert!(!result.fails_step());
}

#[test]
fn response_schema_validates_against_the_declared_schema() {
    let schemas = SchemaSet::load(default_schemas_dir()).unwrap();
    let fixture = Fixture::new();
    let schema = "media-buy/get-products-async-response-submitted.json";
    let good = json!({"status": "submitted", "task_id": "task_1"});
    let input = CheckInput {
        schemas: Ok(&schemas),
        response_schema: Some(schema),
        ..fixture.input(&good)
    };
    let v = validation("check: response_schema");
    assert!(evaluate(&v, &input).passed, "{:?}", evaluate(&v, &input));
    let bad = json!({"status": "submitted"});
    let input = CheckInput {
        schemas: Ok(&schemas),
        response_schema: Some(schema),
        ..fixture.input(&bad)
    };
    let result = evaluate(&v, &input);
    assert!(!result.passed);
    assert!(result.error.unwrap().contains(schema));
    let none = CheckInput {
        schemas: Ok(&schemas),
        ..fixture.input(&good)
    };
    assert!(!evaluate(&v, &none).passed, "no schema, no pass");
}

#[test]
fn cross_response_and_rate_limit_checks() {
    let fixture = Fixture::new();
    let doc = json!({});
    let same = [json!({"media_buy_id": "a"}), json!({"media_buy_id": "a"})];
    let split = [json!({"media_buy_id": "a"}), json!({"media_buy_id": "b"})];
    let distinct =
        validation("check: cross_response_count_distinct\npath: media_buy_id\nallowed_values: [1]");
    let equal = validation("check: cross_response_field_equal\npath: media_buy_id");
    let with = |responses| CheckInput {
        cross_responses: Some(responses),
        ..fixture.input(&doc)
    };
    assert!(evaluate(&distinct, &with(&same)).passed);
    assert!(evaluate(&equal, &with(&same)).passed);
    assert!(!evaluate(&distinct, &with(&split)).passed);
    assert!(!evaluate(&equal, &with(&split)).passed);
    let replay = validation("check: replay_not_cached_rate_limit");
    let cached = json!({"trip_code": "RATE_LIMITED", "replay_code": "RATE_LIMITED"});
    let fresh = json!({"trip_code": "RATE_LIMITED", "replay_code": null});
    assert!(
        !evaluate(
            &replay,
            &CheckInput {
                rate_limit: Some(&cached),
                ..fixture.input(&doc)
            }
        )
        .passed
    );
    assert!(
        evaluate(
            &replay,
            &CheckInput {
                rate_limit: Some(&fresh),
                ..fixture.input(&doc)
            }
        )
        .passed
    );
}

#[test]
fn upstream_traffic_counts_matching_calls() {
    let fixture = Fixture::new();
    let doc = json!({});
    let v = validation("check: upstream_traffic\nmin_count: 1\nendpoint_pattern: 'POST *'");
    let calls = UpstreamObservation::Calls(vec![
        json!({"attestation_mode": "raw", "method": "POST", "endpoint": "POST https://ads.example/campaigns", "payload": {}}),
    ]);
    let none = UpstreamObservation::Calls(vec![
        json!({"attestation_mode": "raw", "endpoint": "GET https://ads.example/x", "payload": {}}),
    ]);
    let unadvertised = UpstreamObservation::NotAdvertised("no scenario".into());
    assert!(
        evaluate(
            &v,
            &CheckInput {
                upstream: Some(&calls),
                ..fixture.input(&doc)
            }
        )
        .passed
    );
    assert!(
        !evaluate(
            &v,
            &CheckInput {
                upstream: Some(&none),
                ..fixture.input(&doc)
            }
        )
        .passed
    );
    let na = evaluate(
        &v,
        &CheckInput {
            upstream: Some(&unadvertised),
            ..fixture.input(&doc)
        },
    );
    assert!(na.not_applicable && !na.fails_step());
}

#[test]
fn refs_resolve_finds_missing_references() {
    let fixture = Fixture::new();
    let doc = json!({"formats": [{"format_id": {"agent_url": "https://c.example/", "id": "a"}}]});
    let v = validation(
        "check: refs_resolve\nsource: {from: current_step, path: 'refs[*]'}\ntarget: {from: current_step, path: 'formats[*].format_id'}\nmatch_keys: [agent_url, id]",
    );
    let ok =
        json!({"refs": [{"agent_url": "https://c.example", "id": "a"}], "formats": doc["formats"]});
    let broken =
        json!({"refs": [{"agent_url": "https://c.example", "id": "b"}], "formats": doc["formats"]});
    assert!(evaluate(&v, &fixture.input(&ok)).passed);
    assert!(!evaluate(&v, &fixture.input(&broken)).passed);
}

#[test]
fn a2a_wire_shape_checks_are_not_applicable_on_mcp_and_fail_on_a2a() {
    let fixture = Fixture::new();
    let doc = json!({"status": "submitted"});
    for kind in ["a2a_submitted_artifact", "a2a_context_continuity"] {
        let v = validation(&format!("check: {kind}"));
        let on_mcp = evaluate(&v, &fixture.input(&doc));
        assert!(on_mcp.not_applicable && !on_mcp.fails_step(), "{kind}");
        let on_a2a = evaluate(
            &v,
            &CheckInput {
                protocol: Protocol::A2a,
                ..fixture.input(&doc)
            },
        );
        assert!(!on_a2a.passed && on_a2a.fails_step(), "{kind}");
        assert!(
            on_a2a.error.as_deref().is_some_and(|e| e.contains(kind)),
            "{kind}: {on_a2a:?}"
        );
    }
}
