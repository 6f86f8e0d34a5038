//! Runner tasks: steps that are not tool calls. HTTP probes of well-known documents, the
//! branch-set assertion, the rate-limit trip, fixture seeding, and (in [`crate::webhooks`])
//! the webhook assertions.

use std::time::Duration;

use serde_json::{Value, json};

use crate::checks::{self, CheckInput};
use crate::model::{Phase, Step};
use crate::probe::{self, HttpObservation};
use crate::report::{SkipReason, StepResult, StepStatus, ValidationResult};
use crate::runner::StoryboardRun;
use crate::step::{Observed, failed, retry_after, skipped};

/// Runner tasks this runner implements.
const RUNNER_TASKS: [&str; 11] = [
    "assert_contribution",
    "protected_resource_metadata",
    "oauth_auth_server_metadata",
    "fetch_brand_jwks",
    "assert_jwks_purpose",
    "expect_webhook",
    "expect_webhook_retry_keys_stable",
    "expect_webhook_signature_valid",
    "expect_no_webhook",
    "expect_rate_limit_not_replayed",
    "replay_webhook_vector",
];

/// Whether `task` is a runner task rather than a tool.
pub(crate) fn is_runner_task(task: &str) -> bool {
    RUNNER_TASKS.contains(&task)
}

impl StoryboardRun<'_> {
    pub(crate) async fn run_runner_task(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
    ) -> StepResult {
        match task {
            "expect_webhook"
            | "expect_webhook_retry_keys_stable"
            | "expect_webhook_signature_valid"
            | "expect_no_webhook" => self.run_webhook_assertion(phase, step, task).await,
            "fetch_brand_jwks" | "assert_jwks_purpose" => {
                self.run_jwks_step(phase, step, task).await
            }
            "expect_rate_limit_not_replayed" => self.run_rate_limit_trip(phase, step, task).await,
            "assert_contribution" => self.grade_probe(phase, step, task, None, Vec::new()),
            // The replay contract grades a buyer's webhook receiver, which this runner is not
            // pointed at: it grades seller agents. webhook-receiver-envelope.yaml's
            // prerequisites: "Runners without a receiver URL grade this storyboard as
            // not_applicable."
            "replay_webhook_vector" => skipped(
                phase,
                step,
                task,
                SkipReason::NotApplicable,
                "no buyer webhook receiver URL is configured: webhook vector replay grades buyer receivers, not the seller agent under test".into(),
            ),
            "protected_resource_metadata" => {
                let Some(url) = probe::protected_resource_metadata_url(self.runner.client.url())
                else {
                    return failed(phase, step, task, "the agent URL has no origin".into());
                };
                let observation = probe::get(&self.runner.http, &url).await;
                if observation.status == 404 {
                    self.probes.insert(task.to_owned(), None);
                    return skipped(
                        phase,
                        step,
                        task,
                        SkipReason::NotApplicable,
                        format!("oauth_not_advertised: {url} answered 404"),
                    );
                }
                self.probes
                    .insert(task.to_owned(), Some(observation.clone()));
                self.grade_probe(phase, step, task, Some(&observation), Vec::new())
            }
            _ => {
                let prior = self.probes.get("protected_resource_metadata").cloned();
                let issuer = match prior {
                    None => {
                        return failed(
                            phase,
                            step,
                            task,
                            "protected_resource_metadata did not run before this step".into(),
                        );
                    }
                    Some(None) => {
                        return skipped(
                            phase,
                            step,
                            task,
                            SkipReason::NotApplicable,
                            "protected-resource metadata is not advertised, so there is no issuer to probe".into(),
                        );
                    }
                    Some(Some(observation)) => observation
                        .body
                        .as_ref()
                        .and_then(|b| b.pointer("/authorization_servers/0"))
                        .and_then(Value::as_str)
                        .map(|s| s.trim_end_matches('/').to_owned()),
                };
                let Some(issuer) = issuer else {
                    return failed(
                        phase,
                        step,
                        task,
                        "no authorization_servers[0] in the protected-resource metadata".into(),
                    );
                };
                let url = format!("{issuer}/.well-known/oauth-authorization-server");
                let observation = probe::get(&self.runner.http, &url).await;
                self.grade_probe(phase, step, task, Some(&observation), Vec::new())
            }
        }
    }

    /// Grades the step's validations against an HTTP probe (or nothing, for assertions).
    pub(crate) fn grade_probe(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
        http: Option<&HttpObservation>,
        mut results: Vec<ValidationResult>,
    ) -> StepResult {
        let (validations, unresolved) = self.substituted_validations(step);
        results.extend(unresolved);
        let input = CheckInput {
            data: http.and_then(|h| h.body.as_ref()),
            is_tool_call: false,
            task_succeeded: http
                .as_ref()
                .is_some_and(|h| h.error.is_none() && h.status < 400),
            http,
            response_schema: None,
            schemas: self.runner.schemas.as_ref().map_err(String::as_str),
            context: &self.ctx,
            contributions: &self.contributions,
            agent_url: self.runner.client.url(),
            protocol: self.runner.config.protocol,
            cross_responses: None,
            rate_limit: None,
            upstream: None,
            request: None,
        };
        results.extend(validations.iter().map(|v| checks::evaluate(v, &input)));
        let transport_error = http.and_then(|h| h.error.clone());
        let failing = transport_error.is_some() || results.iter().any(ValidationResult::fails_step);
        let warned = results.iter().any(|r| !r.passed && !r.not_applicable);
        if let Some(body) = http.and_then(|h| h.body.clone()) {
            self.ctx.record_response(&step.id, body);
        }
        let mut result = skipped(phase, step, task, SkipReason::NotApplicable, String::new());
        result.skip = None;
        result.status = if failing {
            StepStatus::Failed
        } else if warned {
            StepStatus::Warned
        } else {
            StepStatus::Passed
        };
        result.error = transport_error;
        result.validations = results;
        result.response = http.and_then(|h| serde_json::to_value(h).ok());
        result
    }

    /// Bursts the target tool with fresh keys until `RATE_LIMITED`, waits `retry_after`,
    /// replays the tripped key, and grades `replay_not_cached_rate_limit`.
    async fn run_rate_limit_trip(&mut self, phase: &Phase, step: &Step, task: &str) -> StepResult {
        let Some(trip) = step.rate_limit_trip.clone() else {
            return failed(
                phase,
                step,
                task,
                "expect_rate_limit_not_replayed needs rate_limit_trip".into(),
            );
        };
        let max_attempts = trip.max_attempts.unwrap_or(200).clamp(50, 500);
        let max_wait = Duration::from_secs(trip.replay_max_wait_seconds.unwrap_or(30));
        let template = trip
            .trip_target_sample_request
            .clone()
            .unwrap_or_else(|| json!({}));
        let target = trip.trip_target_task.clone();
        if !self.runner.advertises(&target) {
            return skipped(
                phase,
                step,
                task,
                SkipReason::MissingTool,
                format!("the agent does not advertise {target}"),
            );
        }
        let mut notes = Vec::new();
        let mut trip_step = step.clone();
        trip_step.expect_error = false;
        let base = match self
            .build_request(phase, &trip_step, &target, &template, &mut notes)
            .await
        {
            Ok(request) => request,
            Err(result) => return *result,
        };
        let Some((attempt, tripped, wait)) = self.burst(&target, &base, max_attempts).await else {
            let mut result = skipped(
                phase,
                step,
                task,
                SkipReason::NotApplicable,
                format!(
                    "rate_limit_not_triggered: {max_attempts} {target} requests without RATE_LIMITED"
                ),
            );
            result.notes = notes;
            return result;
        };
        if wait > max_wait {
            return failed(
                phase,
                step,
                task,
                format!(
                    "replay_wait_exceeded: retry_after {}s exceeds {}s",
                    wait.as_secs(),
                    max_wait.as_secs()
                ),
            );
        }
        tokio::time::sleep(wait).await;
        let mut replay = tripped;
        replay["context"] = json!({"correlation_id": "rate_limit_trip--replay"});
        let response = self
            .runner
            .client
            .call_tool(self.bearer.as_deref(), &target, &replay)
            .await
            .ok();
        let replay_code = response.as_ref().and_then(|r| {
            checks::extract_error_code(&r.data().unwrap_or(Value::Null), r.succeeded())
                .map(|(c, _)| c)
        });
        notes.push(format!(
            "RATE_LIMITED on attempt {attempt}; replayed after {}s",
            wait.as_secs()
        ));
        let observed = Observed {
            request: Some(replay),
            response,
            rate_limit: Some(json!({
                "attempts": attempt,
                "trip_code": "RATE_LIMITED",
                "replay_code": replay_code,
                "retry_after_seconds": wait.as_secs(),
            })),
            notes,
            ..Observed::default()
        };
        self.grade_replay(phase, step, task, &target, observed)
            .await
    }

    /// Grades the replay: it may legitimately fail for a state-dependent reason, so only the
    /// invariant's validations decide the step.
    async fn grade_replay(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
        target: &str,
        observed: Observed,
    ) -> StepResult {
        let mut assertion = step.clone();
        assertion.expect_error = false;
        let mut result = self.grade(phase, &assertion, target, observed).await;
        result.error = None;
        task.clone_into(&mut result.task);
        result.status = if result.validations.iter().any(ValidationResult::fails_step) {
            StepStatus::Failed
        } else {
            StepStatus::Passed
        };
        result
    }

    /// Sends `base` with a fresh `idempotency_key` until the agent answers `RATE_LIMITED`:
    /// the attempt, the tripped request and its `retry_after`.
    async fn burst(
        &self,
        target: &str,
        base: &Value,
        max_attempts: u32,
    ) -> Option<(u32, Value, Duration)> {
        for attempt in 1..=max_attempts {
            let mut request = base.clone();
            request["idempotency_key"] = json!(uuid::Uuid::new_v4().to_string());
            let Ok(response) = self
                .runner
                .client
                .call_tool(self.bearer.as_deref(), target, &request)
                .await
            else {
                continue;
            };
            let data = response.data().unwrap_or(Value::Null);
            let code = checks::extract_error_code(&data, response.succeeded()).map(|(c, _)| c);
            if code.as_deref() == Some("RATE_LIMITED") {
                return Some((attempt, request, retry_after(&data)));
            }
        }
        None
    }
}
