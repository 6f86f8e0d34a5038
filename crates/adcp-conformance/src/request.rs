//! Building what a step sends: substitution, `context_inputs`, request shaping, credentials
//! for raw probes; and the calls a step makes besides its own (controller queries, task
//! polling, parallel bursts, product discovery).

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::checks::{self, UpstreamObservation};
use crate::client::ToolResponse;
use crate::context::{RunContext, Unresolved};
use crate::model::{AuthDirective, Phase, Step};
use crate::path;
use crate::report::{SkipReason, StepResult, ValidationResult};
use crate::runner::StoryboardRun;
use crate::shaping;
use crate::step::{Observed, failed, retry_after, skipped};

impl StoryboardRun<'_> {
    /// Substitutes, injects `context_inputs`, and shapes the request (see [`shaping`]).
    pub(crate) async fn build_request(
        &mut self,
        phase: &Phase,
        step: &Step,
        task: &str,
        template: &Value,
        notes: &mut Vec<String>,
    ) -> Result<Value, Box<StepResult>> {
        let mut request = match self.ctx.substitute(template, &self.kit) {
            Ok(request) => request,
            Err(unresolved) => {
                return Err(Box::new(self.unresolved(phase, step, task, &unresolved)));
            }
        };
        for input in &step.context_inputs {
            if let Some(value) = self.ctx.get(&input.key).cloned()
                && path::set(&mut request, &input.inject_at, value)
            {
                notes.push(format!(
                    "injected $context.{} at {}",
                    input.key, input.inject_at
                ));
            }
        }
        let mutating = self.runner.requires_idempotency_key(task);
        shaping::ensure_idempotency_key(&mut request, mutating, step.omit_idempotency_key, notes);
        if task == "create_media_buy" && !step.expect_error {
            shaping::refresh_flight_dates(&mut request, self.runner.run_start, notes);
            let needs_product =
                request.get("packages").is_none() && request.get("proposal_id").is_none();
            let product = if needs_product {
                self.discover_product().await
            } else {
                None
            };
            let account = self.account.clone();
            shaping::fill_create_media_buy(
                &mut request,
                &account,
                self.runner.run_start,
                product.as_ref(),
                notes,
            );
        }
        Ok(request)
    }

    pub(crate) fn unresolved(
        &self,
        phase: &Phase,
        step: &Step,
        task: &str,
        unresolved: &Unresolved,
    ) -> StepResult {
        if let Some(producer) = unresolved
            .context_name
            .as_ref()
            .and_then(|name| self.failed_producers.get(name))
        {
            return skipped(
                phase,
                step,
                task,
                SkipReason::PrerequisiteFailed,
                format!(
                    "{} was not captured because step {producer} did not pass",
                    unresolved.token
                ),
            );
        }
        let mut result = failed(
            phase,
            step,
            task,
            format!("unresolved_substitution: {}", unresolved.token),
        );
        result.validations.push(
            ValidationResult::fail(
                "unresolved_substitution",
                None,
                format!("{} cannot be resolved", unresolved.token),
            )
            .with_values(Some(json!(unresolved.token)), None),
        );
        result
    }

    /// The `Authorization` header a step's `auth:` directive asks for (`None`: no header).
    pub(crate) fn auth_header(&self, auth: &AuthDirective) -> Result<Option<String>, String> {
        let AuthDirective::Credential {
            kind,
            from_test_kit,
            value_strategy,
        } = auth
        else {
            return Ok(None);
        };
        let random = || {
            uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string()
        };
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        match (kind.as_str(), value_strategy.as_deref()) {
            ("api_key" | "bearer", Some("random_invalid")) => {
                Ok(Some(format!("Bearer invalid-{}", random())))
            }
            ("oauth_bearer" | "api_key" | "bearer", Some("random_invalid_jwt")) => {
                Ok(Some(format!(
                    "Bearer {}.{}.{}",
                    b64(&random()),
                    b64(&random()),
                    b64(&random())
                )))
            }
            ("basic", Some("random_invalid")) => {
                let pair = format!("{}:{}", random(), random());
                Ok(Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )))
            }
            (_, Some(other)) => Err(format!("auth value_strategy {other} is not supported")),
            ("basic", None) => {
                let path = from_test_kit
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("auth.basic");
                let basic = self
                    .kit
                    .get(path)
                    .ok_or_else(|| format!("the test kit has no {path}"))?;
                let pair = match (
                    basic.get("username").and_then(Value::as_str),
                    basic.get("password").and_then(Value::as_str),
                    basic.get("credentials").and_then(Value::as_str),
                ) {
                    (Some(u), Some(p), _) => format!("{u}:{p}"),
                    (_, _, Some(c)) => c.to_owned(),
                    _ => {
                        return Err(format!(
                            "the test kit's {path} has neither username/password nor credentials"
                        ));
                    }
                };
                Ok(Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )))
            }
            (_, None) => {
                let path = from_test_kit
                    .as_ref()
                    .and_then(Value::as_str)
                    .unwrap_or("auth.api_key");
                let key = self
                    .kit
                    .get(path)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("the test kit has no {path}"))?;
                if key.chars().any(|c| c.is_control() || !c.is_ascii()) {
                    return Err(format!(
                        "the test kit's {path} holds characters a header cannot carry"
                    ));
                }
                Ok(Some(format!("Bearer {key}")))
            }
        }
    }

    /// Polls `get_task_status` until the task leaves `submitted`/`working`; its `result`.
    pub(crate) async fn poll_task_result(
        &self,
        data: Option<&Value>,
        request: Option<&Value>,
    ) -> Option<Value> {
        let task_id = data?.get("task_id")?.clone();
        let mut query = json!({"task_id": task_id, "include_result": true});
        if let Some(account) = request.and_then(|r| r.get("account")) {
            query["account"] = account.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let response = self
                .runner
                .client
                .call_tool(self.bearer.as_deref(), "get_task_status", &query)
                .await
                .ok()?
                .data()?;
            match response.get("status").and_then(Value::as_str) {
                Some("submitted" | "working") => tokio::time::sleep(Duration::from_secs(1)).await,
                Some("completed") => return response.get("result").cloned(),
                _ => return None,
            }
        }
        None
    }

    /// Calls `comply_test_controller` with the storyboard's account.
    pub(crate) async fn controller(
        &self,
        scenario: &str,
        params: Option<Value>,
    ) -> Result<Value, String> {
        let mut request = json!({"account": self.account, "scenario": scenario});
        if let Some(params) = params {
            request["params"] = params;
        }
        let response = self
            .runner
            .client
            .call_tool(self.bearer.as_deref(), "comply_test_controller", &request)
            .await
            .map_err(|e| e.to_string())?;
        response
            .data()
            .ok_or_else(|| "comply_test_controller returned no payload".to_owned())
    }

    pub(crate) async fn query_upstream(&self, step: &Step) -> UpstreamObservation {
        if !self.runner.advertises("comply_test_controller") {
            return UpstreamObservation::NotAdvertised(
                "the agent does not expose comply_test_controller".into(),
            );
        }
        let scenarios = match self.controller("list_scenarios", None).await {
            Ok(data) => data.get("scenarios").cloned().unwrap_or(Value::Null),
            Err(e) => return UpstreamObservation::Failed(format!("list_scenarios: {e}")),
        };
        let advertised = match &scenarios {
            Value::Array(items) => items
                .iter()
                .any(|s| s.as_str() == Some("query_upstream_traffic")),
            Value::Object(map) => map.contains_key("query_upstream_traffic"),
            _ => false,
        };
        if !advertised {
            return UpstreamObservation::NotAdvertised(
                "the controller does not list query_upstream_traffic in list_scenarios".into(),
            );
        }
        let since = step
            .validations
            .iter()
            .filter_map(|v| v.extra.get("since").and_then(Value::as_str))
            .filter_map(|id| self.step_started.get(id))
            .min()
            .or_else(|| self.step_started.get(&step.id))
            .map_or_else(
                || self.runner.run_start.to_rfc3339(),
                chrono::DateTime::to_rfc3339,
            );
        let params = json!({"since_timestamp": since, "attestation_mode": "raw", "limit": 1000});
        match self
            .controller("query_upstream_traffic", Some(params))
            .await
        {
            Ok(data) => match data.get("recorded_calls").and_then(Value::as_array) {
                Some(calls) => UpstreamObservation::Calls(calls.clone()),
                None => UpstreamObservation::Failed(format!("no recorded_calls in {data}")),
            },
            Err(e) => UpstreamObservation::Failed(e),
        }
    }

    /// Fires the request `count` times at once and resolves `IDEMPOTENCY_IN_FLIGHT` answers
    /// by retrying with the same key after `retry_after`.
    pub(crate) async fn dispatch_parallel(
        &self,
        step: &Step,
        task: &str,
        request: &Value,
        observed: &mut Observed,
    ) {
        let count = step
            .parallel_dispatch
            .as_ref()
            .map_or(2, |p| p.count.clamp(2, 10));
        let bearer = self.bearer.as_deref();
        let client = &self.runner.client;
        let calls = (0..count).map(|_| client.call_tool(bearer, task, request));
        let first = futures::future::join_all(calls).await;
        let mut resolved = Vec::with_capacity(count);
        let deadline = Instant::now() + Duration::from_secs(30);
        for outcome in first {
            let mut outcome = outcome;
            loop {
                let in_flight = outcome
                    .as_ref()
                    .ok()
                    .and_then(ToolResponse::data)
                    .and_then(|d| {
                        let (code, _) = checks::extract_error_code(&d, false)?;
                        (code == "IDEMPOTENCY_IN_FLIGHT").then(|| retry_after(&d))
                    });
                match in_flight {
                    Some(wait) if Instant::now() + wait < deadline => {
                        observed.notes.push(format!(
                            "IDEMPOTENCY_IN_FLIGHT: retried after {}s",
                            wait.as_secs()
                        ));
                        tokio::time::sleep(wait).await;
                        outcome = client.call_tool(bearer, task, request).await;
                    }
                    _ => break,
                }
            }
            match outcome {
                Ok(response) => {
                    resolved.push(response.data().unwrap_or(Value::Null));
                    observed.response.get_or_insert(response);
                }
                Err(e) => observed.transport_error = Some(e.to_string()),
            }
        }
        observed.cross = Some(resolved);
    }

    /// The first product `get_products` returns for the storyboard's account (once per run).
    pub(crate) async fn discover_product(&mut self) -> Option<shaping::DiscoveredProduct> {
        if let crate::runner::Discovery::Done(found) = &self.discovered {
            return found.clone();
        }
        let request = json!({
            "buying_mode": "brief",
            "brief": "Any available inventory (conformance runner product discovery)",
            "account": self.account,
            "brand": self.account.get("brand").cloned().unwrap_or(Value::Null),
        });
        let found = self
            .runner
            .client
            .call_tool(self.bearer.as_deref(), "get_products", &request)
            .await
            .ok()
            .and_then(|r| r.data())
            .as_ref()
            .and_then(shaping::discovered_product);
        self.discovered = crate::runner::Discovery::Done(found.clone());
        found
    }

    /// Mints every `generate:` context output up front, so a step can use its own value.
    pub(crate) fn mint_generated(&mut self) {
        for output in self
            .storyboard
            .phases
            .iter()
            .flat_map(|p| &p.steps)
            .flat_map(|s| &s.context_outputs)
        {
            if let (Some(name), Some(kind), None) = (
                output.context_name(),
                output.generate.as_deref(),
                output.path.as_ref(),
            ) && let Some(value) = RunContext::generate(kind)
            {
                self.ctx.set(name, value);
            }
        }
    }
}
