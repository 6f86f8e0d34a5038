//! One evaluator per validation kind.
//!
//! Every evaluator is a pure function of the validation (placeholders already substituted) and
//! what the step observed. A kind this runner does not implement fails, with a message naming
//! it, whatever its declared severity: a storyboard is never graded green on a check nobody
//! ran.

use std::collections::BTreeSet;

use adcp_types::validate::SchemaSet;
use serde_json::{Value, json};

use crate::Protocol;
use crate::context::RunContext;
use crate::model::{CheckKind, Severity, Validation};
use crate::path;
use crate::probe::HttpObservation;
use crate::report::ValidationResult;

/// `controller.query_upstream_traffic`, as fetched for a step.
#[derive(Debug, Clone)]
pub enum UpstreamObservation {
    /// The controller does not advertise the scenario: the check is not applicable.
    NotAdvertised(String),
    /// The query failed.
    Failed(String),
    /// The recorded calls.
    Calls(Vec<Value>),
}

/// Everything a check may read.
#[derive(Debug, Clone, Copy)]
pub struct CheckInput<'a> {
    /// The document path checks address: the AdCP payload of a tool call, or an HTTP body.
    pub data: Option<&'a Value>,
    /// Whether the step made a tool call (as opposed to a pure HTTP probe or assertion).
    pub is_tool_call: bool,
    /// Whether the task succeeded (for `error_code`'s `errors[]` fallback).
    pub task_succeeded: bool,
    /// The raw HTTP exchange, for probe steps.
    pub http: Option<&'a HttpObservation>,
    /// The response schema to validate against.
    pub response_schema: Option<&'a str>,
    /// The schema set, or why it failed to load.
    pub schemas: Result<&'a SchemaSet, &'a str>,
    /// The run context (`field_equals_context`, `refs_resolve`).
    pub context: &'a RunContext,
    /// Branch-set flags contributed so far.
    pub contributions: &'a BTreeSet<String>,
    /// The agent URL (`resource_equals_agent_url`, `refs_resolve` scope).
    pub agent_url: &'a str,
    /// The transport the run drives the agent over (the A2A wire-shape checks apply on A2A
    /// only).
    pub protocol: Protocol,
    /// Resolved responses of a parallel dispatch.
    pub cross_responses: Option<&'a [Value]>,
    /// The rate-limit trip observation (`{trip_code, replay_code}`).
    pub rate_limit: Option<&'a Value>,
    /// Upstream traffic recorded for this step.
    pub upstream: Option<&'a UpstreamObservation>,
    /// The request the step sent (`upstream_traffic` identifier paths).
    pub request: Option<&'a Value>,
}

/// Grades one validation.
pub fn evaluate(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let mut result = grade(v, input);
    result.severity = match v.check {
        CheckKind::Unknown(_) => Severity::Required,
        _ => v.severity.unwrap_or(Severity::Required),
    };
    if result.description.is_none() {
        result.description.clone_from(&v.description);
    }
    result
}

fn grade(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let desc = v.description.as_deref();
    let doc = input.data.unwrap_or(&Value::Null);
    match &v.check {
        CheckKind::ResponseSchema => response_schema(v, input),
        CheckKind::FieldPresent | CheckKind::EnvelopeFieldPresent => {
            with_path(v, |path| presence(v, path, doc, true))
        }
        CheckKind::FieldAbsent | CheckKind::EnvelopeFieldAbsent => {
            with_path(v, |path| presence(v, path, doc, false))
        }
        CheckKind::FieldValue | CheckKind::EnvelopeFieldValue => with_path(v, |path| {
            expect_value(v, path, path::resolve(doc, path).as_ref(), false)
        }),
        CheckKind::FieldValueOrAbsent | CheckKind::EnvelopeFieldValueOrAbsent => {
            with_path(v, |path| {
                expect_value(v, path, path::resolve(doc, path).as_ref(), true)
            })
        }
        CheckKind::FieldPattern | CheckKind::EnvelopeFieldPattern => {
            with_path(v, |path| pattern(v, path, doc))
        }
        CheckKind::FieldContains => field_contains(v, doc),
        CheckKind::StatusCode => status_code(v, doc),
        CheckKind::ErrorCode => error_code(v, input),
        CheckKind::HttpStatus
        | CheckKind::HttpStatusIn
        | CheckKind::On401RequireHeader
        | CheckKind::ResourceEqualsAgentUrl => http_check(v, input),
        CheckKind::AnyOf => any_of(v, input.contributions),
        CheckKind::FieldEqualsContext => {
            with_path(v, |path| equals_context(v, path, doc, input.context))
        }
        CheckKind::FieldLessThan
        | CheckKind::FieldGreaterThan
        | CheckKind::FieldAtMost
        | CheckKind::FieldAtLeast => {
            with_path(v, |path| numeric_comparison(v, path, doc, input.context))
        }
        CheckKind::ArrayLength => with_path(v, |path| array_length(v, path, doc)),
        CheckKind::RefsResolve => crate::checks_extra::refs_resolve(v, input),
        CheckKind::UpstreamTraffic => crate::checks_extra::upstream_traffic(v, input),
        CheckKind::CrossResponseFieldEqual | CheckKind::CrossResponseCountDistinct => {
            crate::checks_extra::cross_response(v, input)
        }
        CheckKind::ReplayNotCachedRateLimit => crate::checks_extra::replay_not_cached(v, input),
        CheckKind::A2aSubmittedArtifact | CheckKind::A2aContextContinuity => match input.protocol {
            Protocol::A2a => ValidationResult::fail(
                v.check.as_str(),
                desc,
                format!(
                    "check kind `{}` (A2A wire shape) is not implemented by this runner; the step cannot be graded on an A2A run",
                    v.check.as_str()
                ),
            ),
            _ => ValidationResult::not_applicable(
                v.check.as_str(),
                desc,
                "A2A wire-shape check; this run drives the agent over MCP",
            ),
        },
        CheckKind::Unknown(kind) => ValidationResult::fail(
            kind,
            desc,
            format!(
                "check kind `{kind}` is not implemented by this runner; the step cannot be graded (supported: {})",
                CheckKind::SUPPORTED.join(", ")
            ),
        ),
    }
}

/// `field_present` (`want_present`) and `field_absent`: null counts as absent.
fn presence(v: &Validation, path: &str, doc: &Value, want_present: bool) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let pointer = path::to_pointer(path);
    match (
        path::resolve(doc, path).filter(|v| !v.is_null()),
        want_present,
    ) {
        (Some(_), true) | (None, false) => ValidationResult::pass(name, desc).at(pointer),
        (None, true) => {
            ValidationResult::fail(name, desc, format!("field not found at path: {path}"))
                .at(pointer)
                .with_values(Some(json!(path)), None)
        }
        (Some(actual), false) => ValidationResult::fail(
            name,
            desc,
            format!("field found at path: {path} (expected absent)"),
        )
        .at(pointer)
        .with_values(None, Some(actual)),
    }
}

fn any_of(v: &Validation, contributions: &BTreeSet<String>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let flags: Vec<String> = v
        .allowed_values
        .iter()
        .flatten()
        .map(|f| f.as_str().map_or_else(|| f.to_string(), str::to_owned))
        .collect();
    if flags.iter().any(|f| contributions.contains(f)) {
        ValidationResult::pass(name, desc)
    } else {
        ValidationResult::fail(
            name,
            desc,
            format!("none of the required contributions were recorded: {flags:?}"),
        )
        .with_values(Some(json!(flags)), Some(json!(contributions)))
    }
}

fn equals_context(
    v: &Validation,
    path: &str,
    doc: &Value,
    context: &RunContext,
) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(key) = v.context_key.as_deref() else {
        return ValidationResult::fail(name, desc, "field_equals_context needs context_key");
    };
    let Some(expected) = context.get(key) else {
        return ValidationResult::pass(name, desc).with_values(
            None,
            Some(json!({"observation": "context_key_absent", "context_key": key})),
        );
    };
    let actual = path::resolve(doc, path);
    if actual.as_ref().is_some_and(|a| json_equal(a, expected)) {
        ValidationResult::pass(name, desc).at(path::to_pointer(path))
    } else {
        ValidationResult::fail(name, desc, format!("{path} does not equal $context.{key}"))
            .at(path::to_pointer(path))
            .with_values(Some(expected.clone()), actual)
    }
}

fn with_path(v: &Validation, f: impl FnOnce(&str) -> ValidationResult) -> ValidationResult {
    let name = v.check.as_str();
    let Some(path) = v.path.as_deref() else {
        return ValidationResult::fail(
            name,
            v.description.as_deref(),
            format!("{name} needs a path"),
        );
    };
    if path::has_wildcard(path) {
        return ValidationResult::fail(
            name,
            v.description.as_deref(),
            format!("{name} does not support wildcard paths ({path}); use field_contains"),
        );
    }
    f(path)
}

/// JSON equality where numbers compare by value (`1 == 1.0`) and object key order is free.
pub fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, p)| y.get(k).is_some_and(|q| json_equal(p, q)))
        }
        _ => a == b,
    }
}

/// Deep-subset matching for `field_contains`: objects match when every expected key matches,
/// arrays when every expected element matches a distinct actual element.
pub fn contains_match(actual: &Value, expected: &Value) -> bool {
    match expected {
        Value::Array(wanted) => {
            let Value::Array(items) = actual else {
                return false;
            };
            if wanted.is_empty() {
                return items.is_empty();
            }
            let mut used = vec![false; items.len()];
            wanted.iter().all(|w| {
                let found = items
                    .iter()
                    .enumerate()
                    .position(|(i, item)| !used[i] && contains_match(item, w));
                found.is_some_and(|i| {
                    used[i] = true;
                    true
                })
            })
        }
        Value::Object(wanted) => {
            let Value::Object(map) = actual else {
                return false;
            };
            wanted
                .iter()
                .all(|(k, w)| map.get(k).is_some_and(|a| contains_match(a, w)))
        }
        _ => json_equal(actual, expected),
    }
}

fn expect_value(
    v: &Validation,
    path: &str,
    actual: Option<&Value>,
    absent_ok: bool,
) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let pointer = path::to_pointer(path);
    if v.value.is_none() && v.allowed_values.as_ref().is_none_or(Vec::is_empty) {
        return ValidationResult::fail(
            name,
            desc,
            format!("{name} declares neither value nor allowed_values"),
        );
    }
    if absent_ok && actual.is_none() {
        return ValidationResult::pass(name, desc).at(pointer);
    }
    if let Some(allowed) = v.allowed_values.as_ref().filter(|a| !a.is_empty()) {
        if actual.is_some_and(|a| allowed.iter().any(|x| json_equal(a, x))) {
            return ValidationResult::pass(name, desc).at(pointer);
        }
        return ValidationResult::fail(
            name,
            desc,
            format!(
                "expected one of {}, got {}",
                json!(allowed),
                display(actual)
            ),
        )
        .at(pointer)
        .with_values(Some(json!(allowed)), actual.cloned());
    }
    let Some(expected) = v.value.as_ref() else {
        return ValidationResult::fail(name, desc, "no expected value");
    };
    if actual.is_some_and(|a| json_equal(a, expected)) {
        ValidationResult::pass(name, desc).at(pointer)
    } else {
        ValidationResult::fail(
            name,
            desc,
            format!("expected {expected}, got {}", display(actual)),
        )
        .at(pointer)
        .with_values(Some(expected.clone()), actual.cloned())
    }
}

fn display(value: Option<&Value>) -> String {
    value.map_or_else(|| "nothing (absent)".to_owned(), Value::to_string)
}

fn pattern(v: &Validation, path: &str, doc: &Value) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(source) = v.pattern.as_deref() else {
        return ValidationResult::fail(name, desc, format!("{name} needs a pattern"));
    };
    let regex = match regress::Regex::new(source) {
        Ok(regex) => regex,
        Err(e) => {
            return ValidationResult::fail(
                name,
                desc,
                format!("pattern {source:?} does not compile: {e}"),
            );
        }
    };
    match path::resolve(doc, path) {
        Some(Value::String(s)) if regex.find(&s).is_some() => {
            ValidationResult::pass(name, desc).at(path::to_pointer(path))
        }
        other => ValidationResult::fail(name, desc, format!("{path} does not match {source:?}"))
            .at(path::to_pointer(path))
            .with_values(Some(json!(source)), other),
    }
}

fn field_contains(v: &Validation, doc: &Value) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(path) = v.path.as_deref() else {
        return ValidationResult::fail(name, desc, "field_contains needs a path");
    };
    let mut candidates: Vec<Value> = Vec::new();
    if let Some(value) = &v.value {
        candidates.push(value.clone());
    }
    candidates.extend(v.allowed_values.iter().flatten().cloned());
    if candidates.is_empty() {
        return ValidationResult::fail(
            name,
            desc,
            "field_contains declares neither value nor allowed_values",
        );
    }
    let resolved = path::resolve_all(doc, path);
    // A path ending on an array (without a wildcard) checks membership in that array.
    let members: Vec<Value> = match resolved.as_slice() {
        [Value::Array(items)] if !path::has_wildcard(path) => items.clone(),
        _ => resolved,
    };
    if members
        .iter()
        .any(|m| candidates.iter().any(|c| contains_match(m, c)))
    {
        ValidationResult::pass(name, desc).at(path::to_pointer(path))
    } else {
        ValidationResult::fail(name, desc, format!("no value at {path} matches"))
            .at(path::to_pointer(path))
            .with_values(Some(json!(candidates)), Some(json!(members)))
    }
}

fn status_code(v: &Validation, doc: &Value) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let actual = doc.get("status").cloned();
    let mut accepted: Vec<Value> = v.allowed_values.clone().unwrap_or_default();
    accepted.extend(v.value.clone());
    if accepted.is_empty() {
        return ValidationResult::fail(
            name,
            desc,
            "status_code declares neither value nor allowed_values",
        );
    }
    if actual
        .as_ref()
        .is_some_and(|a| accepted.iter().any(|x| json_equal(a, x)))
    {
        ValidationResult::pass(name, desc).at("/status")
    } else {
        ValidationResult::fail(
            name,
            desc,
            format!(
                "status {} not in {}",
                display(actual.as_ref()),
                json!(accepted)
            ),
        )
        .at("/status")
        .with_values(Some(json!(accepted)), actual)
    }
}

/// The error code of a response, wherever the transport put it, with its pointer.
pub fn extract_error_code(doc: &Value, task_succeeded: bool) -> Option<(String, &'static str)> {
    let as_code = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    if !task_succeeded && let Some(code) = as_code(doc.pointer("/errors/0/code")) {
        return Some((code, "/errors/0/code"));
    }
    [
        ("/adcp_error/code", doc.pointer("/adcp_error/code")),
        ("/error_code", doc.get("error_code")),
        ("/code", doc.get("code")),
        ("/error/code", doc.pointer("/error/code")),
        ("/error", doc.get("error")),
    ]
    .into_iter()
    .find_map(|(pointer, v)| as_code(v).map(|c| (c, pointer)))
}

fn error_code(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    if !input.is_tool_call {
        return ValidationResult::fail(
            name,
            desc,
            "error_code needs a tool call result, but this step made none",
        );
    }
    let doc = input.data.unwrap_or(&Value::Null);
    let found = extract_error_code(doc, input.task_succeeded);
    let actual = found.as_ref().map(|(c, _)| json!(c));
    let pointer = found.as_ref().map_or("/adcp_error/code", |(_, p)| p);
    let mut accepted: Vec<Value> = v.allowed_values.clone().unwrap_or_default();
    accepted.extend(v.value.clone());
    if accepted.is_empty() {
        return match found {
            Some(_) => ValidationResult::pass(name, desc).at(pointer),
            None => ValidationResult::fail(name, desc, "no error code found in the response")
                .with_values(Some(json!("any error code")), None),
        };
    }
    if actual
        .as_ref()
        .is_some_and(|a| accepted.iter().any(|x| json_equal(a, x)))
    {
        ValidationResult::pass(name, desc).at(pointer)
    } else {
        ValidationResult::fail(
            name,
            desc,
            format!(
                "expected error code in {}, got {}",
                json!(accepted),
                display(actual.as_ref())
            ),
        )
        .at(pointer)
        .with_values(Some(json!(accepted)), actual)
    }
}

fn http_check(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(http) = input.http else {
        return ValidationResult::fail(
            name,
            desc,
            format!(
                "{name} needs an HTTP probe, but this step went through the agent client (declare `auth:` on the step)"
            ),
        );
    };
    let transport = http
        .error
        .as_deref()
        .map(|e| format!(" ({e})"))
        .unwrap_or_default();
    match v.check {
        CheckKind::HttpStatus => {
            let expected = v.value.as_ref().and_then(Value::as_u64);
            if expected == Some(u64::from(http.status)) {
                ValidationResult::pass(name, desc)
            } else {
                ValidationResult::fail(
                    name,
                    desc,
                    format!(
                        "expected HTTP {}, got {}{transport}",
                        display(v.value.as_ref()),
                        http.status
                    ),
                )
                .with_values(v.value.clone(), Some(json!(http.status)))
            }
        }
        CheckKind::HttpStatusIn => {
            let allowed: Vec<u64> = v
                .allowed_values
                .iter()
                .flatten()
                .filter_map(Value::as_u64)
                .collect();
            if allowed.contains(&u64::from(http.status)) {
                ValidationResult::pass(name, desc)
            } else {
                ValidationResult::fail(
                    name,
                    desc,
                    format!(
                        "expected HTTP status in {allowed:?}, got {}{transport}",
                        http.status
                    ),
                )
                .with_values(Some(json!(allowed)), Some(json!(http.status)))
            }
        }
        CheckKind::On401RequireHeader => on_401_require_header(v, http),
        _ => resource_equals_agent_url(v, http, input.agent_url),
    }
}

fn on_401_require_header(v: &Validation, http: &HttpObservation) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(header) = v
        .value
        .as_ref()
        .and_then(Value::as_str)
        .map(str::to_ascii_lowercase)
    else {
        return ValidationResult::fail(
            name,
            desc,
            "on_401_require_header needs the header name as value",
        );
    };
    if http.status != 401 || http.headers.get(&header).is_some_and(|h| !h.is_empty()) {
        ValidationResult::pass(name, desc)
    } else {
        ValidationResult::fail(
            name,
            desc,
            format!("401 response lacks the {header} header"),
        )
        .with_values(Some(json!(header)), None)
    }
}

fn resource_equals_agent_url(
    v: &Validation,
    http: &HttpObservation,
    agent_url: &str,
) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let resource = http
        .body
        .as_ref()
        .and_then(|b| b.get("resource"))
        .and_then(Value::as_str);
    let expected = normalize_resource(agent_url);
    match resource {
        Some(r) if normalize_resource(r) == expected => {
            ValidationResult::pass(name, desc).at("/resource")
        }
        other => ValidationResult::fail(
            name,
            desc,
            "RFC 9728 `resource` does not equal the agent URL the runner calls",
        )
        .at("/resource")
        .with_values(
            Some(json!(expected)),
            other.map(|r| json!(normalize_resource(r))),
        ),
    }
}

/// Lower-cases scheme and host, drops userinfo, query, fragment, default ports and trailing
/// slashes; keeps the path (RFC 9728 `resource` identifies the full endpoint).
pub fn normalize_resource(raw: &str) -> String {
    let Ok(url) = url::Url::parse(raw) else {
        return raw.trim_end_matches('/').to_owned();
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    format!("{}://{host}{port}{path}", url.scheme())
}

fn response_schema(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    if !input.is_tool_call {
        return ValidationResult::fail(
            name,
            desc,
            "response_schema needs a tool call result, but this step made none",
        );
    }
    let Some(schema) = input.response_schema else {
        return ValidationResult::fail(
            name,
            desc,
            "no response schema is declared for this step or known for its task",
        );
    };
    let schemas = match input.schemas {
        Ok(schemas) => schemas,
        Err(why) => {
            return ValidationResult::fail(name, desc, format!("schemas unavailable: {why}"));
        }
    };
    let empty = json!({});
    let doc = input.data.unwrap_or(&empty);
    match schemas.validate_schema(schema, doc) {
        Ok(()) => ValidationResult::pass(name, desc).with_values(Some(json!(schema)), None),
        Err(issues) => {
            let summary: Vec<String> = issues
                .iter()
                .take(5)
                .map(|i| {
                    format!(
                        "{}: {}",
                        if i.pointer.is_empty() {
                            "/"
                        } else {
                            &i.pointer
                        },
                        i.message
                    )
                })
                .collect();
            let first = issues
                .first()
                .map(|i| i.pointer.clone())
                .unwrap_or_default();
            ValidationResult::fail(name, desc, format!("response does not match {schema}: {}", summary.join("; ")))
                .at(first)
                .with_values(
                    Some(json!(schema)),
                    Some(json!(issues.iter().take(20).map(|i| json!({"pointer": i.pointer, "keyword": i.keyword, "message": i.message})).collect::<Vec<_>>())),
                )
        }
    }
}

fn numeric_comparison(
    v: &Validation,
    path: &str,
    doc: &Value,
    context: &RunContext,
) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let comparand = match v.context_key.as_deref() {
        Some(key) => match context.get(key) {
            Some(value) => value.clone(),
            None => {
                return ValidationResult::pass(name, desc).with_values(
                    None,
                    Some(json!({"observation": "context_key_absent", "context_key": key})),
                );
            }
        },
        None => match &v.value {
            Some(value) => value.clone(),
            None => {
                return ValidationResult::fail(
                    name,
                    desc,
                    format!("{name} needs context_key or value"),
                );
            }
        },
    };
    let actual = path::resolve(doc, path);
    let (Some(a), Some(b)) = (actual.as_ref().and_then(Value::as_f64), comparand.as_f64()) else {
        return ValidationResult::fail(name, desc, format!("{name} needs two finite numbers"))
            .with_values(Some(comparand), actual);
    };
    let ok = match v.check {
        CheckKind::FieldLessThan => a < b,
        CheckKind::FieldGreaterThan => a > b,
        CheckKind::FieldAtMost => a <= b,
        _ => a >= b,
    };
    if ok {
        ValidationResult::pass(name, desc).at(path::to_pointer(path))
    } else {
        ValidationResult::fail(name, desc, format!("{a} fails {name} {b}"))
            .at(path::to_pointer(path))
            .with_values(Some(comparand), actual)
    }
}

fn array_length(v: &Validation, path: &str, doc: &Value) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(Value::Array(items)) = path::resolve(doc, path) else {
        return ValidationResult::fail(name, desc, format!("{path} is not an array"));
    };
    let len = items.len() as u64;
    let bound = |key: &str| v.extra.get(key).and_then(Value::as_u64);
    let exact = v.value.as_ref().and_then(Value::as_u64);
    let ok = exact.is_none_or(|e| e == len)
        && bound("min").is_none_or(|m| len >= m)
        && bound("max").is_none_or(|m| len <= m);
    if ok {
        ValidationResult::pass(name, desc).at(path::to_pointer(path))
    } else {
        ValidationResult::fail(name, desc, format!("{path} has {len} elements"))
            .at(path::to_pointer(path))
            .with_values(
                Some(json!({"value": exact, "min": bound("min"), "max": bound("max")})),
                Some(json!(len)),
            )
    }
}

#[cfg(test)]
#[path = "checks_tests.rs"]
mod tests;
