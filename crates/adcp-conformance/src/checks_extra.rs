//! The checks that read more than one response: cross-step reference integrity, upstream
//! traffic recorded by the controller, parallel-dispatch response sets, and the rate-limit
//! replay invariant.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::checks::{
    CheckInput, UpstreamObservation, contains_match, json_equal, normalize_resource,
};
use crate::model::Validation;
use crate::path;
use crate::report::ValidationResult;

/// One side of `refs_resolve`: the values at `<key>.path`, read from the current step or the
/// context.
fn refs_side(v: &Validation, input: &CheckInput<'_>, key: &str) -> Result<Vec<Value>, String> {
    let spec = v
        .extra
        .get(key)
        .ok_or_else(|| format!("refs_resolve needs `{key}`"))?;
    let p = spec
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("refs_resolve `{key}` needs a path"))?;
    let root = match spec
        .get("from")
        .and_then(Value::as_str)
        .unwrap_or("current_step")
    {
        "current_step" => input.data.cloned().unwrap_or(Value::Null),
        "context" => Value::Object(
            input
                .context
                .values()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => {
            return Err(format!(
                "refs_resolve `{key}.from` is `{other}`, not current_step or context"
            ));
        }
    };
    Ok(path::resolve_all(&root, p))
}

/// A ref reduced to its `match_keys`, URL-valued keys normalized; `None` when a key is missing
/// (a ref missing a key never matches).
fn project(keys: &[String], r: &Value) -> Option<Vec<Value>> {
    keys.iter()
        .map(|k| r.get(k).map(|x| normalize_key(k, x)))
        .collect()
}

fn normalize_key(key: &str, value: &Value) -> Value {
    match value {
        Value::String(s) if key.ends_with("url") => {
            json!(normalize_resource(s).to_ascii_lowercase())
        }
        other => other.clone(),
    }
}

fn raw_tuple(keys: &[String], r: &Value) -> Vec<Value> {
    keys.iter()
        .map(|k| r.get(k).cloned().unwrap_or(Value::Null))
        .collect()
}

/// `refs_resolve`: every ref at `source.path` matches a member of `target.path` on
/// `match_keys`, optionally scoped to refs whose `scope.key` equals `scope.equals`.
pub(crate) fn refs_resolve(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let (sources, targets) = match (refs_side(v, input, "source"), refs_side(v, input, "target")) {
        (Ok(s), Ok(t)) => (s, t),
        (Err(e), _) | (_, Err(e)) => return ValidationResult::fail(name, desc, e),
    };
    let keys: Vec<String> = v
        .extra
        .get("match_keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if keys.is_empty() {
        return ValidationResult::fail(name, desc, "refs_resolve needs match_keys");
    }
    let scope = v.extra.get("scope");
    let scope_key = scope.and_then(|s| s.get("key")).and_then(Value::as_str);
    let scope_equals = scope
        .and_then(|s| s.get("equals"))
        .and_then(Value::as_str)
        .map(|e| {
            if e == "$agent_url" {
                input.agent_url.to_owned()
            } else {
                e.to_owned()
            }
        });
    let on_out_of_scope = v
        .extra
        .get("on_out_of_scope")
        .and_then(Value::as_str)
        .unwrap_or("warn");
    let target_tuples: Vec<Vec<Value>> = targets.iter().filter_map(|t| project(&keys, t)).collect();
    let mut missing: Vec<Vec<Value>> = Vec::new();
    let mut out_of_scope: Vec<Value> = Vec::new();
    for source in &sources {
        if let (Some(key), Some(equals)) = (scope_key, scope_equals.as_deref()) {
            let wanted = normalize_key(key, &json!(equals));
            if !source
                .get(key)
                .is_some_and(|x| json_equal(&normalize_key(key, x), &wanted))
            {
                if on_out_of_scope == "fail" {
                    missing.push(raw_tuple(&keys, source));
                } else {
                    out_of_scope.push(source.clone());
                }
                continue;
            }
        }
        let resolved = project(&keys, source).is_some_and(|tuple| {
            target_tuples
                .iter()
                .any(|t| t.iter().zip(&tuple).all(|(a, b)| json_equal(a, b)))
        });
        let tuple = raw_tuple(&keys, source);
        if !resolved && !missing.contains(&tuple) {
            missing.push(tuple);
        }
    }
    if missing.is_empty() {
        let mut result = ValidationResult::pass(name, desc);
        if !out_of_scope.is_empty() && on_out_of_scope == "warn" {
            result.actual = Some(json!({"out_of_scope": out_of_scope}));
        }
        return result;
    }
    ValidationResult::fail(
        name,
        desc,
        format!("{} reference(s) do not resolve", missing.len()),
    )
    .with_values(
        Some(json!({"match_keys": keys})),
        Some(json!({"missing": missing})),
    )
}

/// The recorded calls matching `endpoint_pattern` and `purpose_filter`.
fn matching_calls<'a>(v: &Validation, calls: &'a [Value]) -> Vec<&'a Value> {
    let pattern = v.extra.get("endpoint_pattern").and_then(Value::as_str);
    let purposes: Option<Vec<&str>> = v
        .extra
        .get("purpose_filter")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    calls
        .iter()
        .filter(|call| pattern.is_none_or(|p| glob_match(p, &endpoint_of(call))))
        .filter(|call| {
            purposes.as_ref().is_none_or(|allowed| {
                allowed.contains(
                    &call
                        .get("purpose")
                        .and_then(Value::as_str)
                        .unwrap_or("other"),
                )
            })
        })
        .collect()
}

/// `payload_must_contain` problems (and entries that cannot be graded in digest mode).
fn payload_problems(
    v: &Validation,
    payloads: &[&Value],
    digest_only: bool,
    problems: &mut Vec<String>,
    not_applicable: &mut Vec<String>,
) {
    for spec in v
        .extra
        .get("payload_must_contain")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(p) = spec.get("path").and_then(Value::as_str) else {
            continue;
        };
        let p = p.trim_start_matches('$').trim_start_matches('.');
        if digest_only {
            not_applicable.push(format!(
                "payload_must_contain {p}: calls are digest-attested"
            ));
            continue;
        }
        let mode = spec
            .get("match")
            .and_then(Value::as_str)
            .unwrap_or("present");
        let found = payloads.iter().any(|payload| {
            let values = path::resolve_all(payload, p);
            match mode {
                "equals" => spec
                    .get("value")
                    .is_some_and(|want| values.iter().any(|x| json_equal(x, want))),
                "contains_any" => spec
                    .get("allowed_values")
                    .and_then(Value::as_array)
                    .is_some_and(|wants| {
                        values
                            .iter()
                            .any(|x| wants.iter().any(|w| contains_match(x, w)))
                    }),
                _ => values.iter().any(|x| !x.is_null()),
            }
        });
        if !found {
            problems.push(format!("no matching payload carries {p} ({mode})"));
        }
    }
}

/// `identifier_paths` problems: every request value at those paths must appear upstream.
fn identifier_problems(
    v: &Validation,
    request: Option<&Value>,
    payloads: &[&Value],
    digest_only: bool,
    problems: &mut Vec<String>,
    not_applicable: &mut Vec<String>,
) {
    let identifiers: Vec<String> = v
        .extra
        .get("identifier_paths")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .flat_map(|p| request.map(|r| path::resolve_all(r, p)).unwrap_or_default())
        .filter_map(|x| match x {
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .collect();
    if digest_only && !identifiers.is_empty() {
        not_applicable.push(
            "identifier_paths: calls are digest-attested and this runner requests raw payloads"
                .into(),
        );
        return;
    }
    for identifier in &identifiers {
        if !payloads
            .iter()
            .any(|payload| payload.to_string().contains(identifier.as_str()))
        {
            problems.push(format!(
                "identifier {identifier:?} was not forwarded upstream"
            ));
        }
    }
}

/// `upstream_traffic`: the controller recorded at least `min_count` calls matching
/// `endpoint_pattern` / `purpose_filter`, carrying `payload_must_contain` and the values at
/// `identifier_paths` of the request.
pub(crate) fn upstream_traffic(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let calls = match input.upstream {
        None => {
            return ValidationResult::fail(
                name,
                desc,
                "upstream traffic was not queried for this step",
            );
        }
        Some(UpstreamObservation::NotAdvertised(why)) => {
            return ValidationResult::not_applicable(name, desc, why.clone());
        }
        Some(UpstreamObservation::Failed(why)) => {
            return ValidationResult::fail(
                name,
                desc,
                format!("query_upstream_traffic failed: {why}"),
            );
        }
        Some(UpstreamObservation::Calls(calls)) => calls,
    };
    let min_count = v
        .extra
        .get("min_count")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    let matching = matching_calls(v, calls);
    let mut problems: Vec<String> = Vec::new();
    if (matching.len() as u64) < min_count {
        problems.push(format!(
            "{} matching call(s), expected at least {min_count}",
            matching.len()
        ));
    }
    let payloads: Vec<&Value> = matching
        .iter()
        .filter(|c| {
            c.get("attestation_mode")
                .and_then(Value::as_str)
                .unwrap_or("raw")
                == "raw"
        })
        .filter_map(|c| c.get("payload"))
        .collect();
    let digest_only = payloads.is_empty() && !matching.is_empty();
    let mut not_applicable: Vec<String> = Vec::new();
    payload_problems(
        v,
        &payloads,
        digest_only,
        &mut problems,
        &mut not_applicable,
    );
    identifier_problems(
        v,
        input.request,
        &payloads,
        digest_only,
        &mut problems,
        &mut not_applicable,
    );
    let actual = json!({
        "matched_count": matching.len(),
        "total_calls": calls.len(),
        "not_graded": not_applicable,
    });
    if !problems.is_empty() {
        return ValidationResult::fail(name, desc, problems.join("; ")).with_values(
            Some(json!({"min_count": min_count, "endpoint_pattern": v.extra.get("endpoint_pattern")})),
            Some(actual),
        );
    }
    ValidationResult::pass(name, desc).with_values(None, Some(actual))
}

fn endpoint_of(call: &Value) -> String {
    if let Some(endpoint) = call.get("endpoint").and_then(Value::as_str) {
        return endpoint.to_owned();
    }
    let method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let url = call
        .get("url")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| {
            let host = call.get("host").and_then(Value::as_str)?;
            let p = call.get("path").and_then(Value::as_str).unwrap_or("/");
            Some(format!("{host}{p}"))
        })
        .unwrap_or_default();
    format!("{method} {url}")
}

/// `*` matches any run of characters; everything else matches itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `cross_response_field_equal` / `cross_response_count_distinct` over a parallel dispatch.
pub(crate) fn cross_response(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(responses) = input.cross_responses else {
        return ValidationResult::not_applicable(name, desc, "the step made no parallel dispatch");
    };
    let Some(p) = v.path.as_deref() else {
        return ValidationResult::fail(name, desc, format!("{name} needs a path"));
    };
    let observed: Vec<Option<Value>> = responses
        .iter()
        .map(|r| path::resolve(r, p).filter(|x| !x.is_null()))
        .collect();
    let mut distinct: Vec<Value> = Vec::new();
    for value in observed.iter().flatten() {
        if !distinct.iter().any(|d| json_equal(d, value)) {
            distinct.push(value.clone());
        }
    }
    if name == "cross_response_field_equal" {
        if observed.iter().all(Option::is_some) && distinct.len() == 1 {
            ValidationResult::pass(name, desc)
        } else {
            ValidationResult::fail(
                name,
                desc,
                format!("responses disagree on {p} (or lack it)"),
            )
            .with_values(Some(json!(p)), Some(json!({"observed_values": observed})))
        }
    } else {
        let allowed: Vec<u64> = v
            .allowed_values
            .iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let cardinality = distinct.len() as u64;
        if allowed.contains(&cardinality) {
            ValidationResult::pass(name, desc)
        } else {
            ValidationResult::fail(
                name,
                desc,
                format!("{cardinality} distinct value(s) at {p}, allowed {allowed:?}"),
            )
            .with_values(
                Some(json!({"path": p, "allowed_values": allowed})),
                Some(json!({"observed_cardinality": cardinality, "observed_values": distinct})),
            )
        }
    }
}

/// `replay_not_cached_rate_limit`: the replay after `retry_after` is not the cached
/// `RATE_LIMITED`.
pub(crate) fn replay_not_cached(v: &Validation, input: &CheckInput<'_>) -> ValidationResult {
    let name = v.check.as_str();
    let desc = v.description.as_deref();
    let Some(observation) = input.rate_limit else {
        return ValidationResult::not_applicable(name, desc, "the step made no rate-limit trip");
    };
    let trip = observation.get("trip_code").and_then(Value::as_str);
    let replay = observation.get("replay_code").and_then(Value::as_str);
    if trip == Some("RATE_LIMITED") && replay == Some("RATE_LIMITED") {
        ValidationResult::fail(
            name,
            desc,
            "the replay returned the cached RATE_LIMITED response",
        )
        .with_values(
            Some(json!("replay is not RATE_LIMITED")),
            Some(observation.clone()),
        )
    } else {
        ValidationResult::pass(name, desc).with_values(None, Some(observation.clone()))
    }
}

/// The distinct `idempotency_key`s across `bodies`.
pub(crate) fn distinct_keys(bodies: &[Value]) -> BTreeSet<String> {
    bodies
        .iter()
        .filter_map(|b| {
            b.get("idempotency_key")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_endpoints() {
        assert!(glob_match(
            "POST *",
            "POST https://api.example/v1/campaigns"
        ));
        assert!(glob_match(
            "POST */audience/upload",
            "POST https://x.example/audience/upload"
        ));
        assert!(!glob_match("POST *", "GET https://api.example/"));
        assert!(glob_match("*", ""));
    }
}
