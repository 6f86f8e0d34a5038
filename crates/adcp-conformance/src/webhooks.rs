//! The webhook assertions (`expect_webhook`, `expect_webhook_retry_keys_stable`,
//! `expect_webhook_signature_valid`, `expect_no_webhook`) and the signing-key precheck
//! (`fetch_brand_jwks`, `assert_jwks_purpose`).

use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::checks::json_equal;
use crate::checks_extra::distinct_keys;
use crate::model::{Phase, Step};
use crate::path;
use crate::probe;
use crate::receiver::Delivery;
use crate::report::{SkipReason, StepResult, StepStatus, ValidationResult};
use crate::runner::StoryboardRun;
use crate::signature::{self, SignedRequest, WEBHOOK_SIGNING_TAG};
use crate::step::{failed, skipped};

/// The `idempotency_key` pattern of `core/mcp-webhook-payload.json`.
fn valid_idempotency_key(key: &str) -> bool {
    (16..=255).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
}

impl StoryboardRun<'_> {
    pub(crate) async fn run_webhook_assertion(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
    ) -> StepResult {
        let Some(trigger) = step.triggered_by.clone() else {
            return failed(phase, step, task, format!("{task} needs triggered_by"));
        };
        if !self
            .results
            .iter()
            .any(|r| r.step_id == trigger && r.passed())
        {
            return skipped(
                phase,
                step,
                task,
                SkipReason::PrerequisiteFailed,
                format!("the triggering step {trigger} did not pass"),
            );
        }
        let filter = match step.filter.as_ref().and_then(|f| f.get("body")) {
            Some(body) => match self.ctx.substitute(body, &self.kit) {
                Ok(body) => body,
                Err(u) => {
                    return failed(
                        phase,
                        step,
                        task,
                        format!("unresolved_substitution: {}", u.token),
                    );
                }
            },
            None => json!({}),
        };
        let (observed, validations) = self.observe(step, task, &trigger, &filter).await;
        let mut result = skipped(phase, step, task, SkipReason::NotApplicable, String::new());
        result.skip = None;
        result.status = if validations.iter().any(ValidationResult::fails_step) {
            StepStatus::Failed
        } else {
            StepStatus::Passed
        };
        result.validations = validations;
        result.response = Some(json!(observed
            .iter()
            .map(|d| json!({"index": d.index, "answered": d.answered, "headers": redact(&d.headers), "body": d.json}))
            .collect::<Vec<_>>()));
        result.request = Some(json!({"triggered_by": trigger, "filter": filter}));
        result
    }

    /// Waits for the deliveries `task` grades and grades them.
    async fn observe(
        &mut self,
        step: &Step,
        task: &str,
        trigger: &str,
        filter: &Value,
    ) -> (Vec<Delivery>, Vec<ValidationResult>) {
        let capture = self.ctx.runner().run_token.clone();
        let matches =
            |d: &Delivery| d.step_id == trigger && d.capture == capture && body_matches(d, filter);
        let default_timeout = if task == "expect_webhook_retry_keys_stable" {
            90.0
        } else {
            30.0
        };
        let timeout = Duration::from_secs_f64(
            step.timeout_seconds
                .unwrap_or(default_timeout)
                .clamp(1.0, 600.0),
        );
        let settle = self.runner.config.webhook_settle;
        let receiver = &self.runner.receiver;
        match task {
            "expect_no_webhook" => match receiver.wait_first(timeout, matches).await {
                Some(d) => {
                    let failure = ValidationResult::fail(task, None, "unexpected_webhook_received")
                        .with_values(None, d.json.clone());
                    (vec![d], vec![failure])
                }
                None => (
                    Vec::new(),
                    vec![ValidationResult::pass(
                        task,
                        Some("no matching webhook arrived"),
                    )],
                ),
            },
            "expect_webhook" => {
                let observed: Vec<Delivery> = match step.expect_max_deliveries_per_logical_event {
                    Some(_) => receiver.wait_settled(timeout, settle, matches).await,
                    None => receiver
                        .wait_first(timeout, matches)
                        .await
                        .into_iter()
                        .collect(),
                };
                let validations = self.expect_webhook(step, &observed);
                (observed, validations)
            }
            "expect_webhook_retry_keys_stable" => {
                let observed = receiver.wait_settled(timeout, settle, matches).await;
                let mut validations = retry_keys_stable(step, &observed);
                if observed.len() >= 2 {
                    for d in &observed {
                        validations.push(self.verify_delivery(d, WEBHOOK_SIGNING_TAG).await);
                    }
                }
                (observed, validations)
            }
            _ => {
                let tag = step
                    .require_tag
                    .clone()
                    .unwrap_or_else(|| WEBHOOK_SIGNING_TAG.to_owned());
                match receiver.wait_first(timeout, matches).await {
                    Some(d) => {
                        let verdict = self.verify_delivery(&d, &tag).await;
                        (vec![d], vec![verdict])
                    }
                    None => (Vec::new(), vec![no_webhook(task, timeout)]),
                }
            }
        }
    }

    fn expect_webhook(&self, step: &Step, observed: &[Delivery]) -> Vec<ValidationResult> {
        let task = "expect_webhook";
        let Some(first) = observed.first() else {
            let timeout =
                Duration::from_secs_f64(step.timeout_seconds.unwrap_or(30.0).clamp(1.0, 600.0));
            return vec![no_webhook(task, timeout)];
        };
        let Some(body) = &first.json else {
            return vec![ValidationResult::fail(
                task,
                None,
                "schema_violation: the webhook body is not JSON",
            )];
        };
        let mut out = Vec::new();
        if let Some(schema) = &step.webhook_payload_schema_ref {
            out.push(match self.runner.schemas.as_ref() {
                Err(e) => ValidationResult::fail(
                    "webhook_payload_schema",
                    None,
                    format!("schemas unavailable: {e}"),
                ),
                Ok(schemas) => match schemas.validate_schema(schema, body) {
                    Ok(()) => ValidationResult::pass("webhook_payload_schema", Some(schema)),
                    Err(issues) => ValidationResult::fail(
                        "webhook_payload_schema",
                        Some(schema),
                        format!(
                            "schema_violation: {}",
                            issues
                                .iter()
                                .take(5)
                                .map(|i| format!("{}: {}", i.pointer, i.message))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                    ),
                },
            });
        }
        if step.expect_idempotency_key != Some(false) {
            out.push(match body.get("idempotency_key").and_then(Value::as_str) {
                None => ValidationResult::fail("idempotency_key", None, "missing_idempotency_key"),
                Some(key) if !valid_idempotency_key(key) => ValidationResult::fail(
                    "idempotency_key",
                    None,
                    "invalid_idempotency_key_format",
                )
                .with_values(None, Some(json!(key))),
                Some(_) => {
                    ValidationResult::pass("idempotency_key", Some("present and pattern-valid"))
                }
            });
        }
        if let Some(cap) = step.expect_max_deliveries_per_logical_event {
            let bodies: Vec<Value> = observed.iter().filter_map(|d| d.json.clone()).collect();
            let keys = distinct_keys(&bodies);
            out.push(if keys.len() > cap {
                ValidationResult::fail(
                    "max_deliveries_per_logical_event",
                    None,
                    format!("duplicate_webhook_on_replay: {} distinct idempotency_keys, at most {cap} allowed", keys.len()),
                )
                .with_values(Some(json!(cap)), Some(json!(keys)))
            } else {
                ValidationResult::pass("max_deliveries_per_logical_event", None)
            });
        }
        out.push(ValidationResult::pass(
            task,
            Some("a matching webhook arrived"),
        ));
        out
    }

    /// Verifies one delivery's RFC 9421 signature against the agent's published JWKS.
    async fn verify_delivery(&mut self, delivery: &Delivery, tag: &str) -> ValidationResult {
        if let Some(done) = self.verified.get(&delivery.index) {
            return done.clone();
        }
        let result = self.verify_delivery_once(delivery, tag).await;
        self.verified.insert(delivery.index, result.clone());
        result
    }

    async fn verify_delivery_once(&mut self, delivery: &Delivery, tag: &str) -> ValidationResult {
        let check = "webhook_signature";
        let jwks = match self.jwks().await {
            Ok(keys) => keys,
            Err(e) => {
                return ValidationResult::fail(
                    check,
                    None,
                    format!("webhook_signature_key_unknown: no JWKS ({e})"),
                );
            }
        };
        let request = SignedRequest {
            method: &delivery.method,
            target_uri: &delivery.target_uri,
            headers: &delivery.headers,
            body: &delivery.body,
        };
        let now = delivery
            .received_at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        match signature::verify(&request, &jwks, now, tag, &mut self.verifier) {
            Ok(verified) => ValidationResult::pass(check, Some("RFC 9421 webhook signature verifies"))
                .with_values(None, Some(json!({"keyid": verified.keyid, "alg": verified.alg, "delivery": delivery.index}))),
            Err(e) => ValidationResult::fail(check, None, format!("{}: {e}", e.code()))
                .with_values(None, Some(json!({"delivery": delivery.index}))),
        }
    }

    /// The agent's webhook-signing JWKS, fetched once per storyboard run.
    async fn jwks(&mut self) -> Result<Vec<Value>, String> {
        if self.jwks.is_none() {
            let fetched = self.fetch_jwks().await.map(|(keys, _)| keys);
            self.jwks = Some(fetched);
        }
        self.jwks
            .clone()
            .unwrap_or_else(|| Err("JWKS not fetched".into()))
    }

    /// capabilities `identity.brand_json_url` → brand.json `agents[]` entry for this agent →
    /// its `jwks_uri` → `keys`. Also returns the brand.json URL for reports.
    async fn fetch_jwks(&self) -> Result<(Vec<Value>, String), String> {
        // Operator configuration first, then the agent's declaration, then the agent origin's
        // well-known location (a loopback agent cannot serve its schema-mandated https URL).
        let mut candidates: Vec<String> = Vec::new();
        candidates.extend(self.runner.config.brand_json_url.clone());
        candidates.extend(
            self.runner
                .profile
                .capabilities
                .as_ref()
                .and_then(|c| c.pointer("/identity/brand_json_url"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        );
        if let Ok(url) = url::Url::parse(self.runner.client.url()) {
            candidates.push(format!(
                "{}/.well-known/brand.json",
                url.origin().ascii_serialization()
            ));
        }
        let mut failures = Vec::new();
        let mut found = None;
        for candidate in candidates {
            let brand = probe::get(&self.runner.http, &candidate).await;
            if brand.error.is_none() && (200..300).contains(&brand.status) {
                found = Some((candidate, brand));
                break;
            }
            failures.push(format!(
                "{candidate} answered {} {}",
                brand.status,
                brand.error.unwrap_or_default()
            ));
        }
        let Some((brand_url, brand)) = found else {
            return Err(format!("brand_json_unreachable: {}", failures.join("; ")));
        };
        let agents = brand
            .body
            .as_ref()
            .and_then(|b| b.get("agents"))
            .and_then(Value::as_array)
            .ok_or_else(|| format!("brand_json_malformed: {brand_url} has no agents[]"))?;
        let me = crate::checks::normalize_resource(self.runner.client.url());
        let matching: Vec<&Value> = agents
            .iter()
            .filter(|a| {
                a.get("url").and_then(Value::as_str).is_some_and(|u| {
                    let u = crate::checks::normalize_resource(u);
                    me == u || me.starts_with(&format!("{u}/"))
                })
            })
            .collect();
        let agent = match matching.as_slice() {
            [one] => *one,
            [] if agents.len() == 1 => &agents[0],
            _ => {
                return Err(format!(
                    "agents_jwks_uri_missing: brand.json agents[] does not uniquely name {me}"
                ));
            }
        };
        let jwks_uri = agent
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or("agents_jwks_uri_missing: the agent entry has no jwks_uri")?;
        let jwks = probe::get(&self.runner.http, jwks_uri).await;
        if jwks.error.is_some() || !(200..300).contains(&jwks.status) {
            return Err(format!(
                "webhook_signing_keys_unpublished: {jwks_uri} answered {}",
                jwks.status
            ));
        }
        let keys = jwks
            .body
            .as_ref()
            .and_then(|b| b.get("keys"))
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| format!("webhook_signing_keys_unpublished: {jwks_uri} has no keys[]"))?;
        Ok((keys, brand_url))
    }

    pub(crate) async fn run_jwks_step(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
    ) -> StepResult {
        let mut results = Vec::new();
        if task == "fetch_brand_jwks" {
            let fetched = self.fetch_jwks().await;
            results.push(match &fetched {
                Ok((keys, brand)) => ValidationResult::pass(
                    task,
                    Some("brand.json and its agent's JWKS are reachable"),
                )
                .with_values(
                    None,
                    Some(json!({"brand_json_url": brand, "keys": keys.len()})),
                ),
                Err(e) => ValidationResult::fail(task, None, e.clone()),
            });
            self.jwks = Some(fetched.map(|(keys, _)| keys));
        } else {
            let check = "assert_jwks_purpose";
            results.push(match self.jwks().await {
                Err(e) => ValidationResult::fail(check, None, format!("webhook_signing_keys_unpublished: {e}")),
                Ok(keys) if keys.is_empty() => ValidationResult::fail(check, None, "webhook_signing_keys_unpublished: the JWKS is empty"),
                Ok(keys) => {
                    let purpose: Vec<&Value> = keys
                        .iter()
                        .filter(|k| k.get("adcp_use").and_then(Value::as_str) == Some("webhook-signing"))
                        .collect();
                    let active = purpose
                        .iter()
                        .filter(|k| k.get("status").and_then(Value::as_str) != Some("revoked") && k.get("revoked") != Some(&json!(true)))
                        .count();
                    if purpose.is_empty() {
                        ValidationResult::fail(check, None, "webhook_signing_keys_wrong_purpose: no key has adcp_use webhook-signing")
                    } else if active == 0 {
                        ValidationResult::fail(check, None, "webhook_signing_keys_all_revoked")
                    } else {
                        ValidationResult::pass(check, Some("an active webhook-signing key is published"))
                            .with_values(None, Some(json!({"webhook_signing_keys": active})))
                    }
                }
            });
        }
        self.grade_probe(phase, step, task, None, results)
    }
}

fn body_matches(delivery: &Delivery, filter: &Value) -> bool {
    let Some(body) = &delivery.json else {
        return filter.as_object().is_none_or(serde_json::Map::is_empty);
    };
    filter.as_object().is_none_or(|fields| {
        fields
            .iter()
            .all(|(p, want)| path::resolve(body, p).is_some_and(|got| json_equal(&got, want)))
    })
}

fn no_webhook(task: &str, timeout: Duration) -> ValidationResult {
    ValidationResult::fail(
        task,
        None,
        format!(
            "no_webhook_received: no matching webhook within {}s",
            timeout.as_secs()
        ),
    )
}

fn retry_keys_stable(step: &Step, observed: &[Delivery]) -> Vec<ValidationResult> {
    let check = "expect_webhook_retry_keys_stable";
    let min = step.expect_min_deliveries.unwrap_or(2);
    if observed.len() < min {
        return vec![ValidationResult::fail(
            check,
            None,
            format!(
                "insufficient_retries: {} deliveries observed, at least {min} expected",
                observed.len()
            ),
        )];
    }
    let keys: Vec<Option<String>> = observed
        .iter()
        .map(|d| {
            d.json
                .as_ref()?
                .get("idempotency_key")?
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    if keys.iter().any(Option::is_none) {
        return vec![ValidationResult::fail(
            check,
            None,
            "missing_idempotency_key on a delivery",
        )];
    }
    let keys: Vec<String> = keys.into_iter().flatten().collect();
    if keys.iter().any(|k| !valid_idempotency_key(k)) {
        return vec![
            ValidationResult::fail(check, None, "idempotency_key_format_changed")
                .with_values(None, Some(json!(keys))),
        ];
    }
    if keys.iter().any(|k| *k != keys[0]) {
        return vec![
            ValidationResult::fail(check, None, "idempotency_key_rotated across retries")
                .with_values(None, Some(json!(keys))),
        ];
    }
    vec![ValidationResult::pass(check, Some("every delivery carried the same idempotency_key"))
        .with_values(None, Some(json!({"deliveries": observed.len(), "statuses": observed.iter().map(|d| d.answered).collect::<Vec<_>>()})))]
}

/// Headers safe to put in a report.
fn redact(headers: &[(String, String)]) -> Value {
    Value::Object(
        headers
            .iter()
            .map(|(n, v)| {
                let value = if matches!(n.as_str(), "authorization" | "x-adcp-signature" | "cookie")
                {
                    "[redacted]".to_owned()
                } else {
                    v.clone()
                };
                (n.clone(), json!(value))
            })
            .collect(),
    )
}
