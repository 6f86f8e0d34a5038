//! Storyboard `invariants:`: assertions graded over every step's response rather than one.
//!
//! Implemented: `context.no_secret_echo` (no credential the runner sent, no bearer-token
//! literal and no credential-named string field in any response) and
//! `idempotency.conflict_no_payload_leak` (an `IDEMPOTENCY_CONFLICT` error carries only its
//! allow-listed fields, so a stolen key is not a read oracle). Any other invariant is reported
//! on a synthetic `invariants` step as not implemented: visible in every report, advisory so it
//! does not fail storyboards the runner simply cannot grade further.

use serde_json::Value;

use crate::model::Severity;
use crate::report::{StepResult, StepStatus, ValidationResult};

/// Invariants this runner grades.
pub(crate) const IMPLEMENTED: [&str; 2] = [
    "context.no_secret_echo",
    "idempotency.conflict_no_payload_leak",
];

/// Fields an `IDEMPOTENCY_CONFLICT` error may carry.
const CONFLICT_ALLOWLIST: [&str; 7] = [
    "code",
    "message",
    "recovery",
    "status",
    "correlation_id",
    "request_id",
    "operation_id",
];

/// Property names that must not carry a string in a response.
const SUSPECT_KEYS: [&str; 5] = ["authorization", "api_key", "apikey", "bearer", "x-api-key"];

/// Shortest caller secret hunted for verbatim (shorter ones collide with ordinary ids).
const SECRET_MIN_LEN: usize = 16;

/// Grades `invariants` over `results`, appending a validation to every step that had a
/// response (failing the step when violated), plus a synthetic step for unknown invariants.
pub(crate) fn apply(invariants: &[String], secrets: &[String], results: &mut Vec<StepResult>) {
    if invariants.is_empty() {
        return;
    }
    let secrets: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| s.len() >= SECRET_MIN_LEN)
        .collect();
    for result in results
        .iter_mut()
        .filter(|r| r.status != StepStatus::Skipped)
    {
        let Some(mut response) = result.response.clone() else {
            continue;
        };
        strip_transport_headers(&mut response);
        for invariant in invariants {
            let verdict = match invariant.as_str() {
                "context.no_secret_echo" => {
                    Some(secret_echo(&response, &secrets).map_or(Ok(()), Err))
                }
                "idempotency.conflict_no_payload_leak" => conflict_leak(&response),
                _ => None,
            };
            let Some(verdict) = verdict else { continue };
            let check = format!("invariant:{invariant}");
            let validation = match verdict {
                Ok(()) => ValidationResult::pass(&check, None),
                Err(why) => {
                    if result.passed() {
                        result.status = StepStatus::Failed;
                    }
                    ValidationResult::fail(&check, None, why)
                }
            };
            result.validations.push(validation);
        }
    }
    let unknown: Vec<&String> = invariants
        .iter()
        .filter(|i| !IMPLEMENTED.contains(&i.as_str()))
        .collect();
    if !unknown.is_empty() {
        let mut step = StepResult::skipped(
            "invariants",
            "invariants",
            "invariants",
            crate::report::SkipReason::NotApplicable,
            String::new(),
        );
        step.skip = None;
        step.status = StepStatus::Warned;
        for invariant in unknown {
            let mut v = ValidationResult::fail(
                &format!("invariant:{invariant}"),
                None,
                format!(
                    "invariant {invariant} is not implemented by this runner; it was not graded"
                ),
            );
            v.severity = Severity::Advisory;
            step.validations.push(v);
        }
        results.push(step);
    }
}

/// Drops the HTTP headers the runner recorded next to a payload (a probe's observation, a
/// webhook delivery): `WWW-Authenticate: Bearer resource_metadata=...` is protocol, not an echo.
fn strip_transport_headers(response: &mut Value) {
    match response {
        Value::Object(map) => {
            map.remove("headers");
        }
        Value::Array(items) => {
            for item in items {
                if let Value::Object(map) = item {
                    map.remove("headers");
                }
            }
        }
        _ => {}
    }
}

/// `Some(reason)` when `response` echoes a secret or a credential-shaped field.
fn secret_echo(response: &Value, secrets: &[&str]) -> Option<String> {
    let bearer = regress::Regex::with_flags(r"\bbearer\s+[A-Za-z0-9._~+/=-]{10,}", "i").ok();
    let mut stack = vec![response];
    while let Some(value) = stack.pop() {
        match value {
            Value::String(s) => {
                if bearer.as_ref().is_some_and(|re| re.find(s).is_some()) {
                    return Some("the response contains a bearer-token literal".into());
                }
                if secrets.iter().any(|secret| s.contains(secret)) {
                    return Some("the response contains a credential the runner sent".into());
                }
            }
            Value::Array(items) => stack.extend(items),
            Value::Object(map) => {
                for (key, inner) in map {
                    if SUSPECT_KEYS.contains(&key.to_ascii_lowercase().as_str())
                        && inner.as_str().is_some_and(|s| !s.is_empty())
                    {
                        return Some(format!(
                            "the response carries a string in credential-named field {key}"
                        ));
                    }
                    stack.push(inner);
                }
            }
            _ => {}
        }
    }
    None
}

/// `None` when the response is no `IDEMPOTENCY_CONFLICT`; else the verdict (`Err`: why it leaks).
fn conflict_leak(response: &Value) -> Option<Result<(), String>> {
    let data = response.get("structured").unwrap_or(response);
    let error = data
        .get("adcp_error")
        .filter(|e| e.get("code").and_then(Value::as_str) == Some("IDEMPOTENCY_CONFLICT"))?;
    let map = error.as_object()?;
    if let Some(recovery) = map.get("recovery").and_then(Value::as_str)
        && recovery != "correctable"
    {
        return Some(Err(format!(
            "IDEMPOTENCY_CONFLICT carries recovery {recovery}, not correctable"
        )));
    }
    let mut leaked: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !CONFLICT_ALLOWLIST.contains(k))
        .collect();
    leaked.sort_unstable();
    if leaked.is_empty() {
        return Some(Ok(()));
    }
    Some(Err(format!(
        "IDEMPOTENCY_CONFLICT error leaks non-allow-listed field(s): {}",
        leaked.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_credential_fields_are_caught() {
        let secret = "demo-acme-outdoor-v1-long";
        assert!(
            secret_echo(
                &json!({"a": [{"b": "x demo-acme-outdoor-v1-long y"}]}),
                &[secret]
            )
            .is_some()
        );
        assert!(secret_echo(&json!({"note": "Bearer abcdefghijklmnop"}), &[]).is_some());
        assert!(secret_echo(&json!({"api_key": "k"}), &[]).is_some());
        assert!(secret_echo(&json!({"authorization": {"status": "ok"}}), &[]).is_none());
        assert!(secret_echo(&json!({"bearer_of": "news"}), &[secret]).is_none());
    }

    #[test]
    fn conflict_errors_may_carry_only_allow_listed_fields() {
        let clean = json!({"structured": {"adcp_error": {"code": "IDEMPOTENCY_CONFLICT", "message": "m", "recovery": "correctable"}}});
        assert_eq!(conflict_leak(&clean), Some(Ok(())));
        let leaky = json!({"structured": {"adcp_error": {"code": "IDEMPOTENCY_CONFLICT", "message": "m", "field": "/packages/0/budget"}}});
        assert!(
            conflict_leak(&leaky)
                .unwrap()
                .unwrap_err()
                .contains("field")
        );
        assert_eq!(
            conflict_leak(&json!({"structured": {"products": []}})),
            None
        );
    }

    #[test]
    fn unknown_invariants_are_reported_not_dropped() {
        let mut results = Vec::new();
        apply(&["status.monotonic".into()], &[], &mut results);
        assert_eq!(results.len(), 1);
        assert_eq!(results[0].status, StepStatus::Warned);
        assert!(
            results[0].validations[0]
                .error
                .as_ref()
                .unwrap()
                .contains("status.monotonic")
        );
    }
}
