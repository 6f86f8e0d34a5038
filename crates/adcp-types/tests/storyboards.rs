//! The AdCP compliance storyboards against the generated types, the response unions and the
//! validator.
//!
//! Every `sample_request` a storyboard sends to a protocol tool must parse into the tool's
//! generated request type, come back unchanged, and pass the tool's request schema — unless the
//! step says the payload is malformed on purpose (`expect_error` with the default
//! `negative_path: schema_invalid`, or `sample_request_skip_schema`). Steps with
//! `negative_path: payload_well_formed` expect a run-time rejection of a schema-valid payload, so
//! their samples are validated like any other.
//!
//! Response payloads the storyboards carry (forced task results, forced async arms, sample
//! responses) must round-trip through the generated types and the response unions and validate;
//! the unions must put each arm where its `status` says, in both directions.
//!
//! Samples the spec ships although its own schemas reject them sit in explicit allow-lists keyed
//! by `storyboard#step`, each with the pointer and reason the validator gives. An entry that starts
//! passing, fails for another reason, or names no step fails the test, so the lists stay honest.
//!
//! The corpus is read from `ADCP_COMPLIANCE_DIR` or `<workspace>/../shared/compliance/<version>`;
//! the schemas are the ones embedded in the crate (or `ADCP_SCHEMAS_DIR`'s folder when set).
//! Run `cargo test -p adcp-types --features full --test storyboards -- --nocapture` to see the
//! summary lines.

#[path = "storyboards/corpus.rs"]
mod corpus;
#[path = "storyboards/json_eq.rs"]
mod json_eq;
#[path = "storyboards/report.rs"]
mod report;
#[path = "storyboards/responses.rs"]
mod responses;
#[path = "storyboards/substitute.rs"]
mod substitute;

use std::collections::{BTreeMap, BTreeSet};

use adcp_types::generated::McpWebhookPayload;
use adcp_types::generated::tools::{request_round_trip, response_round_trip};
use adcp_types::manifest::tool;
use adcp_types::validate::SchemaSet;
use adcp_types::{
    BuildCreativeResponseUnion, CreateMediaBuyResponseUnion, GetProductsResponseUnion,
    GetSignalsResponseUnion, SyncCatalogsResponseUnion, SyncCreativesResponseUnion, TaskStatus,
    UpdateMediaBuyResponseUnion,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use corpus::{Corpus, Step, Storyboard};
use json_eq::differences;
use report::{Judged, KnownInvalid, Report, describe};
use responses::{Kind, ResponseCase};
use substitute::{Resolutions, Resolver, unresolved_tokens};

/// Positive `sample_request`s (no `expect_error`, or `negative_path: payload_well_formed`) that
/// fail their tool's request schema at rc.9.
const INVALID_SPEC_REQUESTS: &[KnownInvalid] = &[
    // comply-test-controller-request.json requires `account` on every scenario; the three
    // single-side trust-extension dispatches send only `scenario` + `params`.
    KnownInvalid {
        key: "protocols/brand/scenarios/single_side_trust_extension.yaml#dispatch_subsidiary_red_test",
        pointer: "",
        reason: "[required] \"account\" is a required property",
    },
    KnownInvalid {
        key: "protocols/brand/scenarios/single_side_trust_extension.yaml#dispatch_property_red_test",
        pointer: "",
        reason: "[required] \"account\" is a required property",
    },
    KnownInvalid {
        key: "protocols/brand/scenarios/single_side_trust_extension.yaml#dispatch_trademark_red_test",
        pointer: "",
        reason: "[required] \"account\" is a required property",
    },
];

/// Storyboard response payloads that fail their tool's response (or arm) schema at rc.9.
const INVALID_SPEC_RESPONSES: &[KnownInvalid] = &[
    // rc.9 `core/signal-id.json` admits only `source: catalog` (+ `data_provider_domain`) and
    // `source: agent` (+ `agent_url`); the fixture uses `source: "agent_native"`. The generated
    // `SignalId` rejects it the same way, so the typed round trip cannot run either.
    KnownInvalid {
        key: "protocols/signals/scenarios/get_signals_async.yaml#complete_signals_task",
        pointer: "/signals/0/signal_id",
        reason: "`{source: agent_native, id}` is valid under neither oneOf arm of core/signal-id.json",
    },
];

/// Tools whose manifest response schema is a `oneOf` that includes the async arms.
const RESPONSE_SCHEMA_INCLUDES_ARMS: &[&str] = &["create_media_buy"];

fn schemas() -> &'static SchemaSet {
    SchemaSet::load_default().expect("AdCP schemas missing: run `cargo xtask schemas`")
}

/// Whether the storyboard says the sample is malformed on purpose, so schema validation is off.
fn expects_schema_invalid(step: &Value) -> bool {
    let skip_schema = step["sample_request_skip_schema"].as_bool() == Some(true);
    let expect_error = step["expect_error"].as_bool() == Some(true);
    let well_formed = step["negative_path"].as_str() == Some("payload_well_formed");
    skip_schema || (expect_error && !well_formed)
}

/// Counts for the request summary line.
#[derive(Default)]
struct Tally {
    total: usize,
    validated: usize,
    validated_expecting_runtime_error: usize,
    expected_invalid: usize,
    expected_invalid_rejected: usize,
    allow_listed: usize,
    skipped: BTreeMap<String, usize>,
    runner_tasks: BTreeSet<String>,
}

/// Walks every step's sample request.
struct RequestChecker {
    set: &'static SchemaSet,
    tally: Tally,
    stats: Resolutions,
    report: Report,
}

impl RequestChecker {
    fn skip(&mut self, reason: impl Into<String>) {
        *self.tally.skipped.entry(reason.into()).or_default() += 1;
    }

    fn check(&mut self, storyboard: &Storyboard, resolver: &Resolver<'_>, s: &Step<'_>) {
        let key = storyboard.key(s.id);
        let Some(task) = resolver.task_of(s.raw) else {
            return self.skip("step names no task");
        };
        if tool(&task).is_none() {
            self.tally.runner_tasks.insert(task);
            return self.skip("runner-side check, not a protocol tool");
        }
        let Some(sample) = s.raw.get("sample_request") else {
            return self.skip("tool step without sample_request");
        };
        let not_checkable = resolver
            .phase_skipped_by_kit(s.phase)
            .or_else(|| resolver.fragment_reason(s.raw));
        if let Some(reason) = not_checkable {
            return self.skip(reason);
        }
        self.tally.total += 1;
        let request = resolver.substitute(sample, &mut self.stats);
        let mut left = Vec::new();
        unresolved_tokens(&request, "", &mut left);
        if !left.is_empty() {
            return self
                .report
                .fail(format!("{key}: unresolved placeholders {left:?}"));
        }
        let round_trip = request_round_trip(&task, &request);
        let verdict = self.set.validate_request(&task, &request);
        if expects_schema_invalid(s.raw) {
            // Malformed on purpose: neither the typed parse nor the validator may panic; the
            // validator's verdict is counted, not asserted (some probes are schema-valid and
            // only a seller's run-time checks reject them).
            self.tally.expected_invalid += 1;
            self.tally.expected_invalid_rejected += usize::from(verdict.is_err());
            return;
        }
        let what = format!("{task} request");
        match self
            .report
            .judge(&key, verdict, INVALID_SPEC_REQUESTS, &what)
        {
            Judged::Valid => {
                self.tally.validated += 1;
                if s.raw["expect_error"].as_bool() == Some(true) {
                    self.tally.validated_expecting_runtime_error += 1;
                }
                self.report.round_trip(&key, &what, &request, round_trip);
            }
            Judged::AllowListed => self.tally.allow_listed += 1,
            Judged::Failed => {}
        }
    }

    fn print_summary(&self, corpus: &Corpus) {
        println!(
            "storyboard corpus {}: {} storyboards, {} identical copies skipped, {} other YAML \
             documents, {} unparsable",
            corpus.root.display(),
            corpus.storyboards.len(),
            corpus.duplicates,
            corpus.not_storyboards,
            corpus.unparsable.len()
        );
        for (path, error) in &corpus.unparsable {
            println!("  unparsable (reported, not failed): {path}: {error}");
        }
        let t = &self.tally;
        println!(
            "storyboard sample requests: total {} = validated {} (of which {} expect a run-time \
             error) + expected-invalid {} (validator rejects {}) + allow-listed invalid {}; \
             failures {}",
            t.total,
            t.validated,
            t.validated_expecting_runtime_error,
            t.expected_invalid,
            t.expected_invalid_rejected,
            t.allow_listed,
            self.report.failures.len()
        );
        println!(
            "skipped steps: {:?}; runner-side tasks: {:?}",
            t.skipped, t.runner_tasks
        );
        println!("placeholders resolved: {:?}", self.stats.counts);
    }
}

#[test]
fn tool_sample_requests_round_trip_and_validate() {
    let corpus = Corpus::get();
    let mut checker = RequestChecker {
        set: schemas(),
        tally: Tally::default(),
        stats: Resolutions::default(),
        report: Report::default(),
    };
    for storyboard in &corpus.storyboards {
        let resolver = Resolver::new(storyboard, corpus.kit_of(storyboard));
        for step in storyboard.steps() {
            checker.check(storyboard, &resolver, &step);
        }
    }
    checker.report.stale_entries(INVALID_SPEC_REQUESTS);
    checker.print_summary(corpus);
    assert!(
        checker.tally.validated > 500,
        "too few samples validated: {}",
        checker.tally.validated
    );
    checker.report.finish("storyboard request");
}

/// Parses `payload` as union `U`, returning the arm it picked and the re-serialised payload.
fn via_union<U: DeserializeOwned + Serialize>(
    payload: &Value,
    status: fn(&U) -> &'static str,
) -> Result<(&'static str, Value), String> {
    let parsed: U = serde_json::from_value(payload.clone()).map_err(|e| e.to_string())?;
    let back = serde_json::to_value(&parsed).map_err(|e| e.to_string())?;
    Ok((status(&parsed), back))
}

/// The tool's response union, when the crate has one.
fn union_round_trip(tool: &str, payload: &Value) -> Option<Result<(&'static str, Value), String>> {
    Some(match tool {
        "get_products" => via_union(payload, GetProductsResponseUnion::status),
        "get_signals" => via_union(payload, GetSignalsResponseUnion::status),
        "create_media_buy" => via_union(payload, CreateMediaBuyResponseUnion::status),
        "update_media_buy" => via_union(payload, UpdateMediaBuyResponseUnion::status),
        "build_creative" => via_union(payload, BuildCreativeResponseUnion::status),
        "sync_catalogs" => via_union(payload, SyncCatalogsResponseUnion::status),
        "sync_creatives" => via_union(payload, SyncCreativesResponseUnion::status),
        _ => return None,
    })
}

fn response_cases() -> Vec<ResponseCase> {
    responses::collect(Corpus::get(), &mut Resolutions::default())
}

fn label(kind: Kind) -> String {
    match kind {
        Kind::Success => "success".to_owned(),
        Kind::Arm(status) => format!("{} arm", status.as_str()),
        Kind::Error => "error".to_owned(),
    }
}

fn check_response(set: &SchemaSet, case: &ResponseCase, report: &mut Report) {
    let ResponseCase {
        key,
        tool,
        kind,
        payload,
        step_schema,
    } = case;
    let mut verdict = match kind {
        Kind::Arm(status) => set.validate_async_arm(tool, *status, payload),
        Kind::Success | Kind::Error => set.validate_response(tool, payload),
    };
    // The receiving step's own response_schema_ref must agree.
    if let (Ok(()), Some(schema)) = (&verdict, step_schema) {
        verdict = set.validate_schema(schema, payload);
    }
    let what = format!("{tool} {} response", label(*kind));
    if report.judge(key, verdict, INVALID_SPEC_RESPONSES, &what) != Judged::Valid {
        return;
    }
    if !matches!(kind, Kind::Arm(_)) {
        report.round_trip(key, &what, payload, response_round_trip(tool, payload));
    }
    match union_round_trip(tool, payload) {
        None => {}
        Some(Err(error)) => report.fail(format!(
            "{key}: {what} does not parse as the {tool} union: {error}"
        )),
        Some(Ok((arm, back))) => {
            let expected = match kind {
                Kind::Arm(status) => status.as_str(),
                Kind::Success | Kind::Error => "completed",
            };
            if arm != expected {
                report.fail(format!(
                    "{key}: the {tool} union took the {what} for its `{arm}` arm"
                ));
            }
            let diffs = differences(payload, &back);
            if !diffs.is_empty() {
                report.fail(format!(
                    "{key}: the {tool} union changed the {what}:\n    {}",
                    diffs.join("\n    ")
                ));
            }
        }
    }
}

#[test]
fn storyboard_responses_round_trip_through_types_and_unions_and_validate() {
    let set = schemas();
    let cases = response_cases();
    let mut report = Report::default();
    let mut counts = BTreeMap::<String, usize>::new();
    for case in &cases {
        *counts
            .entry(format!("{} {}", case.tool, label(case.kind)))
            .or_default() += 1;
        check_response(set, case, &mut report);
    }
    report.stale_entries(INVALID_SPEC_RESPONSES);
    println!(
        "storyboard responses: {} {counts:?}; failures {}",
        cases.len(),
        report.failures.len()
    );
    assert!(
        cases.iter().any(|c| c.kind == Kind::Success),
        "no success payload in the storyboards"
    );
    assert!(
        cases.iter().any(|c| matches!(c.kind, Kind::Arm(_))),
        "no async arm in the storyboards"
    );
    report.finish("storyboard response");
}

#[test]
fn webhook_receiver_vectors_round_trip_and_validate() {
    let vectors = Corpus::get().json("test-vectors/webhook-receiver-envelope.json");
    let set = schemas();
    let mut report = Report::default();
    let positives = vectors["positive"].as_array().expect("positive vectors");
    for vector in positives {
        let key = format!(
            "webhook-receiver-envelope#{}",
            vector["id"].as_str().unwrap_or("?")
        );
        let payload = &vector["payload"];
        if let Err(issues) = set.validate_schema("core/mcp-webhook-payload.json", payload) {
            report.fail(format!(
                "{key}: fails core/mcp-webhook-payload.json: {}",
                describe(&issues)
            ));
            continue;
        }
        let back = serde_json::from_value::<McpWebhookPayload>(payload.clone())
            .and_then(serde_json::to_value);
        report.round_trip(&key, "webhook payload", payload, Some(back));
    }
    let negatives = vectors["negative"].as_array().expect("negative vectors");
    for vector in negatives {
        let key = format!(
            "webhook-receiver-envelope#{}",
            vector["id"].as_str().unwrap_or("?")
        );
        let payload = &vector["payload"];
        let typed = serde_json::from_value::<McpWebhookPayload>(payload.clone());
        if set
            .validate_schema("core/mcp-webhook-payload.json", payload)
            .is_ok()
            || typed.is_ok()
        {
            report.fail(format!(
                "{key}: a receiver must reject this payload ({})",
                vector["expected_error"]
            ));
        }
    }
    println!(
        "webhook receiver vectors: {} positive, {} negative",
        positives.len(),
        negatives.len()
    );
    report.finish("webhook vector");
}

fn arm_cases(cases: &[ResponseCase]) -> Vec<&ResponseCase> {
    let arms: Vec<&ResponseCase> = cases
        .iter()
        .filter(|c| matches!(c.kind, Kind::Arm(_)))
        .collect();
    assert!(
        arms.iter().any(|c| c.tool == "get_signals"),
        "get_signals_async forces a get_signals arm"
    );
    arms
}

#[test]
fn storyboard_arms_land_where_their_status_says_and_serialise_back() {
    let cases = response_cases();
    let set = schemas();
    for case in arm_cases(&cases) {
        // Each re-labelled copy of a real arm lands on the arm its status names — or nowhere,
        // when the tool has no such arm — and serialises back to the same payload.
        for status in [
            TaskStatus::Submitted,
            TaskStatus::Working,
            TaskStatus::InputRequired,
        ] {
            let mut payload = case.payload.clone();
            payload["status"] = Value::from(status.as_str());
            let has_arm = tool(&case.tool)
                .and_then(|t| t.async_arm_schema(status))
                .is_some();
            let parsed =
                union_round_trip(&case.tool, &payload).expect("storyboard arms have unions");
            match parsed {
                Ok((arm, back)) => {
                    assert!(
                        has_arm,
                        "{}: {} has no {} arm, yet its union took one",
                        case.key,
                        case.tool,
                        status.as_str()
                    );
                    assert_eq!(arm, status.as_str(), "{}: wrong arm", case.key);
                    assert_eq!(
                        differences(&payload, &back),
                        Vec::<String>::new(),
                        "{}",
                        case.key
                    );
                }
                Err(error) => {
                    assert!(
                        !has_arm,
                        "{}: the {} union rejects its own {} arm: {error}",
                        case.key,
                        case.tool,
                        status.as_str()
                    );
                    assert!(
                        error.contains(&format!("not an arm of {}", case.tool)),
                        "{}: {error}",
                        case.key
                    );
                    assert!(
                        set.validate_async_arm(&case.tool, status, &payload)
                            .is_err()
                    );
                }
            }
        }
        // An unknown or non-string status is no arm at all.
        for bad in [Value::from("pending"), Value::from(3)] {
            let mut payload = case.payload.clone();
            payload["status"] = bad;
            let parsed = union_round_trip(&case.tool, &payload).expect("union exists");
            assert!(
                parsed.is_err(),
                "{}: status {} accepted",
                case.key,
                payload["status"]
            );
        }
        // The envelope is not a success response either — except where the tool's response
        // schema is itself the union (create-media-buy-response.json carries the submitted arm).
        if !RESPONSE_SCHEMA_INCLUDES_ARMS.contains(&case.tool.as_str()) {
            assert!(
                set.validate_response(&case.tool, &case.payload).is_err(),
                "{}: arm validates as success",
                case.key
            );
        }
    }
}

#[test]
fn get_signals_input_required_is_rejected_by_its_union_and_schema() {
    let cases = response_cases();
    let arms = arm_cases(&cases);
    let signals_arm = arms
        .iter()
        .find(|c| c.tool == "get_signals")
        .expect("get_signals arm");
    let mut input_required = signals_arm.payload.clone();
    input_required["status"] = Value::from("input-required");
    let rejected = serde_json::from_value::<GetSignalsResponseUnion>(input_required.clone())
        .expect_err("get_signals has no input-required arm");
    assert!(
        rejected.to_string().contains("not an arm of get_signals"),
        "{rejected}"
    );
    let set = schemas();
    assert!(
        set.validate_async_arm("get_signals", TaskStatus::InputRequired, &input_required)
            .is_err()
    );
    // The same payload is a get_products input-required arm, which the protocol does define.
    let as_products: GetProductsResponseUnion =
        serde_json::from_value(input_required.clone()).expect("get_products has the arm");
    assert!(matches!(
        as_products,
        GetProductsResponseUnion::InputRequired(_)
    ));
    assert_eq!(
        serde_json::to_value(&as_products).expect("serialises"),
        input_required
    );
}

#[test]
fn storyboard_success_payloads_take_the_success_arm_and_are_not_async_arms() {
    let cases = response_cases();
    let set = schemas();
    let mut checked = 0;
    let valid = cases.iter().filter(|c| {
        c.kind == Kind::Success && INVALID_SPEC_RESPONSES.iter().all(|k| k.key != c.key)
    });
    for case in valid {
        let Some(parsed) = union_round_trip(&case.tool, &case.payload) else {
            continue;
        };
        let (arm, back) = parsed.unwrap_or_else(|e| panic!("{}: {e}", case.key));
        assert_eq!(arm, "completed", "{}", case.key);
        assert_eq!(
            differences(&case.payload, &back),
            Vec::<String>::new(),
            "{}",
            case.key
        );
        let mut unlabelled = case.payload.clone();
        if let Some(map) = unlabelled.as_object_mut() {
            map.remove("status");
        }
        let parsed = union_round_trip(&case.tool, &unlabelled).expect("union");
        assert_eq!(
            parsed.map(|(arm, _)| arm),
            Ok("completed"),
            "{}: no status is the success arm",
            case.key
        );
        // Only rc.9's submitted arm schemas pin `status` (and forbid the result); the working
        // and input-required arm schemas constrain nothing, so any object passes them.
        if tool(&case.tool)
            .and_then(|t| t.async_arm_schema(TaskStatus::Submitted))
            .is_some()
        {
            let verdict = set.validate_async_arm(&case.tool, TaskStatus::Submitted, &case.payload);
            assert!(
                verdict.is_err(),
                "{}: success validates as submitted",
                case.key
            );
        }
        checked += 1;
    }
    assert!(
        checked > 0,
        "no valid success payload with a union in the storyboards"
    );
}
