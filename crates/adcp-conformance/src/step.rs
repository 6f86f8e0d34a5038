//! Executing one step that calls a tool: gates, dispatch (agent client, raw probe, or a
//! parallel burst), grading, captures and contributions. Building the request lives in
//! [`crate::request`].

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::checks::{self, CheckInput};
use crate::client::ToolResponse;
use crate::model::{CheckKind, Phase, Severity, Step, Validation};
use crate::path;
use crate::probe::{self, HttpObservation};
use crate::report::{SkipReason, StepResult, StepStatus, ValidationResult};
use crate::runner::{StoryboardRun, millis};

/// What a step observed, for grading.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    pub(crate) request: Option<Value>,
    pub(crate) response: Option<ToolResponse>,
    pub(crate) http: Option<HttpObservation>,
    pub(crate) transport_error: Option<String>,
    pub(crate) cross: Option<Vec<Value>>,
    pub(crate) rate_limit: Option<Value>,
    pub(crate) notes: Vec<String>,
}

impl StoryboardRun<'_> {
    /// Runs one step and records its side effects on the run (captures, contributions).
    pub(crate) async fn run_step(&mut self, phase: &Phase, step: &Step) -> StepResult {
        let started = Instant::now();
        self.step_started
            .insert(step.id.clone(), chrono::Utc::now());
        let mut result = match self.resolve_task(step) {
            Ok(task) => self.dispatch(phase, step, &task).await,
            Err(e) => failed(phase, step, &step.task, e),
        };
        result.duration_ms = millis(started);
        result.title.clone_from(&step.title);
        result.stateful = step.stateful;
        result.optional = phase.optional;
        if step.is_advisory() && result.status == StepStatus::Failed {
            result.status = StepStatus::Warned;
            for v in &mut result.validations {
                v.severity = Severity::Advisory;
            }
        }
        if result.passed() {
            self.passed_steps.insert(step.id.clone());
            let condition_met = match step.contributes_if.as_deref() {
                None => true,
                Some(expr) => expr
                    .strip_prefix("prior_step.")
                    .and_then(|r| r.strip_suffix(".passed"))
                    .is_some_and(|id| self.passed_steps.contains(id)),
            };
            if condition_met && let Some(flag) = step.contribution(phase) {
                self.contributions.insert(flag.clone());
                self.contributors
                    .entry(flag)
                    .or_insert((phase.id.clone(), step.id.clone()));
            }
        } else {
            for output in step.context_outputs.iter().filter(|o| o.path.is_some()) {
                if let Some(name) = output.context_name() {
                    self.failed_producers
                        .insert(name.to_owned(), step.id.clone());
                }
            }
        }
        result
    }

    fn resolve_task(&self, step: &Step) -> Result<String, String> {
        match step.task.strip_prefix("$test_kit.") {
            None => Ok(step.task.clone()),
            Some(dotted) => self
                .kit
                .get(dotted)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| step.task_default.clone())
                .ok_or_else(|| {
                    format!(
                        "task {} is not in the test kit and the step has no task_default",
                        step.task
                    )
                }),
        }
    }

    async fn dispatch(&mut self, phase: &Phase, step: &Step, task: &str) -> StepResult {
        if let Some(contract) = &step.requires_contract
            && !self.runner.supports_contract(contract)
        {
            let detail = if contract == "rate_limit_trip_runner" {
                "the rate_limit_trip_runner contract is disabled for this run".to_owned()
            } else {
                format!("test-kit contract {contract} is not provided by this runner")
            };
            return skipped(phase, step, task, SkipReason::NotApplicable, detail);
        }
        if let Some(tool) = &step.requires_tool
            && !self.runner.advertises(tool)
        {
            return skipped(
                phase,
                step,
                task,
                SkipReason::MissingTool,
                format!("the agent does not advertise {tool}"),
            );
        }
        if crate::pseudo::is_runner_task(task) {
            return self.run_runner_task(phase, step, task).await;
        }
        if !self.runner.advertises(task) {
            if adcp_types::manifest::tool(task).is_some() {
                let reason = if task == "comply_test_controller" {
                    SkipReason::MissingTestController
                } else {
                    SkipReason::MissingTool
                };
                return skipped(
                    phase,
                    step,
                    task,
                    reason,
                    format!("the agent does not advertise {task}"),
                );
            }
            return failed(
                phase,
                step,
                task,
                format!(
                    "task {task} is neither a tool the agent advertises nor a runner task this runner implements"
                ),
            );
        }
        let template = step.sample_request.clone().unwrap_or_else(|| json!({}));
        let mut notes = Vec::new();
        let request = match self
            .build_request(phase, step, task, &template, &mut notes)
            .await
        {
            Ok(request) => request,
            Err(result) => return *result,
        };
        let mut observed = Observed {
            notes,
            ..Observed::default()
        };
        if step.parallel_dispatch.is_some() {
            self.dispatch_parallel(step, task, &request, &mut observed)
                .await;
        } else if let Some(auth) = &step.auth {
            match self.auth_header(auth) {
                Ok(header) => {
                    let (http, response) = probe::raw_call(
                        self.runner.config.protocol,
                        &self.runner.http,
                        self.runner.client.url(),
                        header.as_deref(),
                        task,
                        &request,
                    )
                    .await;
                    observed.transport_error.clone_from(&http.error);
                    observed.http = Some(http);
                    observed.response = response;
                }
                Err(e) => return failed(phase, step, task, e),
            }
        } else {
            match self
                .runner
                .client
                .call_tool(self.bearer.as_deref(), task, &request)
                .await
            {
                Ok(response) => observed.response = Some(response),
                Err(e) => observed.transport_error = Some(e.to_string()),
            }
        }
        observed.request = Some(request);
        self.grade(phase, step, task, observed).await
    }

    /// Grades what a tool step observed and applies captures.
    pub(crate) async fn grade(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
        observed: Observed,
    ) -> StepResult {
        let data = graded_document(step, &observed);
        let succeeded = observed.transport_error.is_none()
            && observed.http.as_ref().is_none_or(|h| h.status < 400)
            && observed
                .response
                .as_ref()
                .is_some_and(ToolResponse::succeeded);
        let task_ok = if observed.cross.is_some() {
            observed.transport_error.is_none()
        } else if step.expect_error {
            !succeeded || data.as_ref().and_then(|d| d.get("success")) == Some(&json!(false))
        } else {
            succeeded
        };
        let refused =
            !task_ok || data.as_ref().and_then(|d| d.get("success")) == Some(&json!(false));
        if refused
            && task == "comply_test_controller"
            && !step.expect_error
            && let Some(code) = data
                .as_ref()
                .and_then(crate::seeding::controller_error_code)
                .filter(|code| crate::seeding::UNSUPPORTED.contains(&code.as_str()))
        {
            // The controller does not implement this scenario: a coverage gap, graded like
            // storyboard-schema.yaml's fixture_seed_unsupported rather than as a failure.
            for name in step.context_outputs.iter().filter_map(|o| o.context_name()) {
                self.failed_producers
                    .insert(name.to_owned(), step.id.clone());
            }
            let scenario = observed
                .request
                .as_ref()
                .and_then(|r| r.get("scenario"))
                .and_then(Value::as_str)
                .unwrap_or("(none)");
            return skipped(
                phase,
                step,
                task,
                SkipReason::NotApplicable,
                format!(
                    "{CONTROLLER_SCENARIO_UNSUPPORTED}: the controller answered {code} for scenario {scenario}"
                ),
            );
        }
        let mut results = self
            .evaluate(step, task, &observed, data.as_ref(), succeeded)
            .await;
        let error = (!task_ok).then(|| call_error(step, &observed, data.as_ref()));
        if let Some(d) = &data {
            self.ctx.record_response(&step.id, d.clone());
        }
        if task_ok && !results.iter().any(ValidationResult::fails_step) {
            if !step.expect_error
                && let Some(d) = &data
            {
                for (name, value) in crate::conventions::captures(task, d) {
                    self.ctx.set(name, value);
                }
            }
            let captures = self
                .capture(step, data.as_ref(), observed.request.as_ref())
                .await;
            results.extend(captures);
        }
        let failing = !task_ok || results.iter().any(ValidationResult::fails_step);
        let warned = results.iter().any(|r| !r.passed && !r.not_applicable);
        let response = observed
            .response
            .as_ref()
            .and_then(|r| serde_json::to_value(r).ok())
            .or_else(|| {
                observed
                    .http
                    .as_ref()
                    .and_then(|h| serde_json::to_value(h).ok())
            });
        let mut result = skipped(phase, step, task, SkipReason::NotApplicable, String::new());
        result.skip = None;
        result.status = if failing {
            StepStatus::Failed
        } else if warned {
            StepStatus::Warned
        } else {
            StepStatus::Passed
        };
        result.error = error;
        result.validations = results;
        result.request = observed.request;
        result.response = response;
        result.notes = observed.notes;
        result
    }

    /// Every validation of `step` against what it observed; on a parallel dispatch, the
    /// per-response checks run against every resolved response.
    async fn evaluate(
        &mut self,
        step: &Step,
        task: &str,
        observed: &Observed,
        data: Option<&Value>,
        succeeded: bool,
    ) -> Vec<ValidationResult> {
        let upstream = if step
            .validations
            .iter()
            .any(|v| v.check == CheckKind::UpstreamTraffic)
        {
            Some(self.query_upstream(step).await)
        } else {
            None
        };
        let schema = self.response_schema(step, task);
        let (validations, mut results) = self.substituted_validations(step);
        let input = CheckInput {
            data,
            is_tool_call: true,
            task_succeeded: succeeded,
            http: observed.http.as_ref(),
            response_schema: schema.as_deref(),
            schemas: self.runner.schemas.as_ref().map_err(String::as_str),
            context: &self.ctx,
            contributions: &self.contributions,
            agent_url: self.runner.client.url(),
            protocol: self.runner.config.protocol,
            cross_responses: observed.cross.as_deref(),
            rate_limit: observed.rate_limit.as_ref(),
            upstream: upstream.as_ref(),
            request: observed.request.as_ref(),
        };
        let cross_kinds = [
            CheckKind::CrossResponseFieldEqual,
            CheckKind::CrossResponseCountDistinct,
        ];
        for v in &validations {
            results.push(checks::evaluate(v, &input));
            let Some(responses) = observed
                .cross
                .as_ref()
                .filter(|_| !cross_kinds.contains(&v.check))
            else {
                continue;
            };
            for (i, response) in responses.iter().enumerate().skip(1) {
                let mut r = checks::evaluate(
                    v,
                    &CheckInput {
                        data: Some(response),
                        ..input
                    },
                );
                r.description = Some(format!(
                    "[dispatch {i}] {}",
                    r.description.unwrap_or_default()
                ));
                results.push(r);
            }
        }
        results
    }

    fn response_schema(&self, step: &Step, task: &str) -> Option<String> {
        let declared =
            step.response_schema_ref
                .as_deref()
                .and_then(|r| match r.strip_prefix("$test_kit.") {
                    Some(dotted) => self
                        .kit
                        .get(dotted)
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    None => Some(r.to_owned()),
                });
        declared.or_else(|| adcp_types::manifest::tool(task).map(|t| t.response_schema.to_owned()))
    }

    /// The step's validations with placeholders in `value` / `allowed_values` resolved; the
    /// ones that cannot be resolved come back as failed results.
    pub(crate) fn substituted_validations(
        &mut self,
        step: &Step,
    ) -> (Vec<Validation>, Vec<ValidationResult>) {
        let mut ready = Vec::new();
        let mut failed = Vec::new();
        for v in &step.validations {
            let mut v = v.clone();
            let value = v
                .value
                .as_ref()
                .map(|x| self.ctx.substitute(x, &self.kit))
                .transpose();
            let allowed = v
                .allowed_values
                .as_ref()
                .map(|xs| {
                    xs.iter()
                        .map(|x| self.ctx.substitute(x, &self.kit))
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose();
            match (value, allowed) {
                (Ok(value), Ok(allowed)) => {
                    v.value = value;
                    v.allowed_values = allowed;
                    ready.push(v);
                }
                (Err(u), _) | (_, Err(u)) => failed.push(ValidationResult::fail(
                    v.check.as_str(),
                    v.description.as_deref(),
                    format!("unresolved_substitution: {}", u.token),
                )),
            }
        }
        (ready, failed)
    }

    /// Applies `context_outputs` with a path; failures are `capture_path_not_resolvable`.
    async fn capture(
        &mut self,
        step: &Step,
        data: Option<&Value>,
        request: Option<&Value>,
    ) -> Vec<ValidationResult> {
        let mut failures = Vec::new();
        for output in &step.context_outputs {
            let Some(name) = output.context_name() else {
                failures.push(ValidationResult::fail(
                    "context_outputs",
                    None,
                    "entry has neither name nor key",
                ));
                continue;
            };
            let Some(p) = output.path.as_deref() else {
                continue;
            };
            if output.generate.is_some() {
                failures.push(ValidationResult::fail(
                    "context_outputs",
                    None,
                    format!("{name} sets both path and generate"),
                ));
                continue;
            }
            let (source, inner) = match p.strip_prefix("task_completion.") {
                Some(inner) => (self.poll_task_result(data, request).await, inner),
                None => (data.cloned(), p),
            };
            let value = source.as_ref().and_then(|d| path::resolve(d, inner));
            match value {
                Some(v) if !v.is_null() && v != json!("") => self.ctx.set(name, v),
                other => {
                    self.failed_producers
                        .insert(name.to_owned(), step.id.clone());
                    failures.push(
                        ValidationResult::fail(
                            "capture_path_not_resolvable",
                            Some(&format!("context_outputs {name} from {p}")),
                            format!("{p} does not resolve to a usable value"),
                        )
                        .at(path::to_pointer(inner))
                        .with_values(Some(json!(p)), other),
                    );
                }
            }
        }
        failures
    }
}

/// The document checks address: the tool payload; for raw probes without one, a JSON HTTP
/// body; for expected errors that came back as bare text, `{"error": <text>}`.
fn graded_document(step: &Step, observed: &Observed) -> Option<Value> {
    let mut data = observed.response.as_ref().and_then(ToolResponse::data);
    if data.is_none() && step.auth.is_some() {
        data = observed
            .http
            .as_ref()
            .and_then(|h| h.body.clone())
            .filter(Value::is_object);
    }
    if data.is_none() && step.expect_error {
        let text = observed
            .response
            .as_ref()
            .and_then(|r| r.text.clone())
            .or_else(|| observed.transport_error.clone());
        data = text.map(|text| json!({"error": text}));
    }
    data
}

/// The detail prefix of a controller step skipped because the controller does not implement
/// its scenario (it answered `UNKNOWN_SCENARIO` or an equivalent code).
pub(crate) const CONTROLLER_SCENARIO_UNSUPPORTED: &str = "controller_scenario_unsupported";

/// Why the call itself did not come out as the step expected.
fn call_error(step: &Step, observed: &Observed, data: Option<&Value>) -> String {
    if step.expect_error {
        return "expected the agent to reject the request, but it succeeded".to_owned();
    }
    observed.transport_error.clone().unwrap_or_else(|| {
        let code = data
            .and_then(|d| checks::extract_error_code(d, false))
            .map_or_else(|| "no error code".to_owned(), |(c, _)| c);
        format!("the call failed ({code})")
    })
}

/// `error.details.retry_after` (or `retry_after`), clamped to 1..=30 seconds.
pub(crate) fn retry_after(data: &Value) -> Duration {
    let seconds = [
        "/adcp_error/details/retry_after",
        "/adcp_error/retry_after",
        "/errors/0/details/retry_after",
        "/errors/0/retry_after",
        "/details/retry_after",
        "/retry_after",
    ]
    .iter()
    .find_map(|p| data.pointer(p).and_then(Value::as_f64))
    .unwrap_or(1.0);
    Duration::from_secs_f64(seconds.clamp(1.0, 30.0))
}

pub(crate) fn skipped(
    phase: &Phase,
    step: &Step,
    task: &str,
    reason: SkipReason,
    detail: String,
) -> StepResult {
    let mut r = StepResult::skipped(&phase.id, &step.id, task, reason, detail);
    r.stateful = step.stateful;
    r.optional = phase.optional;
    r
}

pub(crate) fn failed(phase: &Phase, step: &Step, task: &str, error: String) -> StepResult {
    let mut r = skipped(phase, step, task, SkipReason::NotApplicable, String::new());
    r.status = StepStatus::Failed;
    r.skip = None;
    r.error = Some(error);
    r
}
