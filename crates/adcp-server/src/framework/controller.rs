//! `comply_test_controller`: sandbox-only scenarios the compliance storyboards drive.
//!
//! Order of checks: the calling account must resolve and be a sandbox account (else
//! `ControllerError{error: FORBIDDEN}` before any scenario runs); then the scenario is
//! dispatched. Forced arms go to the sandbox as a whole (see [`crate::sandbox`]); `seed_*`
//! scenarios go to the platform's [`SandboxFixtures`].
//!
//! Every refusal carries, next to the controller's own `error` code, an `adcp_error` whose
//! `recovery` is the controller code's (see [`controller_error`]): the controller's codes are
//! not in rc.9's error-code table, so without it a buyer would read the manifest's
//! `default_unknown_recovery` (`transient`) and retry a refusal that no retry can change.

use adcp_tasks::TaskId;
use adcp_types::{AdcpError, Recovery};
use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::account::Account;
use crate::auth::Principal;
use crate::dispatch::{Core, Echo, Failure};
use crate::sandbox::{Sandbox, forced_tool};

/// The scenarios the server itself implements.
pub(crate) const BUILT_IN_SCENARIOS: [&str; 4] = [
    "force_get_products_arm",
    "force_get_signals_arm",
    "force_create_media_buy_arm",
    "force_task_completion",
];

/// A platform's sandbox fixtures: the `seed_*` (and any other) controller scenarios that need
/// the platform's own data, e.g. `seed_product` adding a product to the sandbox catalog.
#[async_trait]
pub trait SandboxFixtures: Send + Sync + 'static {
    /// The scenario names this platform handles (advertised in `compliance_testing.scenarios`).
    fn scenarios(&self) -> Vec<&'static str>;

    /// Runs `scenario` with `params` for the sandbox `account` and returns the scenario's
    /// result fields, merged into the controller's success reply (e.g. `simulated` and
    /// `cumulative` for `simulate_delivery`, which the response schema requires; an empty map
    /// for a `seed_*` scenario). A `message` is added when the fields carry none. An error's
    /// `code` becomes the `ControllerError.error` when it is one of the controller's codes
    /// (`NOT_FOUND`, `INVALID_PARAMS`, ...), else `INVALID_PARAMS`.
    async fn apply(
        &self,
        scenario: &str,
        params: &Value,
        account: &Account,
    ) -> Result<Map<String, Value>, AdcpError>;

    /// Runs `scenario` as [`apply`](Self::apply) does, knowing the authenticated principal that
    /// invoked the controller (`None` for an unauthenticated caller). This is what the
    /// controller calls; it defaults to `apply`.
    ///
    /// Override it when a scenario's records are kept per principal: rc.9 has multi-tenant
    /// sandboxes key controller state on the invocation's auth principal, and a principal's
    /// records (e.g. the accounts `seed_account` adds and `force_account_status` moves) must
    /// stay out of every other principal's reach even when both name the same account id.
    async fn apply_as(
        &self,
        scenario: &str,
        params: &Value,
        account: &Account,
        principal: Option<&Principal>,
    ) -> Result<Map<String, Value>, AdcpError> {
        let _ = principal;
        self.apply(scenario, params, account).await
    }
}

/// The controller's error codes (`ControllerError.error`).
const CONTROLLER_CODES: [&str; 8] = [
    "INVALID_TRANSITION",
    "INVALID_STATE",
    "NOT_FOUND",
    "UNKNOWN_SCENARIO",
    "INVALID_PARAMS",
    "FORBIDDEN",
    "JCS_NON_FINITE_NUMBER",
    "INTERNAL_ERROR",
];

/// How a buyer recovers from the controller's `code`.
///
/// rc.9's error-code table (`enums/error-code.json`, the manifest's `error_codes`) does not
/// list the controller's codes, so each takes the recovery of the table code that means the
/// same thing: `FORBIDDEN` is `PERMISSION_DENIED` (the caller may not do this under the
/// seller's policy: call with a sandbox account), `UNKNOWN_SCENARIO` is `UNSUPPORTED_FEATURE`
/// (pick a scenario `list_scenarios` names), `INVALID_PARAMS` is `INVALID_REQUEST`,
/// `NOT_FOUND` is `REFERENCE_NOT_FOUND`, `INVALID_TRANSITION` and `INVALID_STATE` are
/// `INVALID_STATE`: all `correctable`. `JCS_NON_FINITE_NUMBER` is correctable too (the same
/// query in `raw` attestation mode succeeds). `INTERNAL_ERROR` is the seller's failure, as
/// `SERVICE_UNAVAILABLE`: `transient`. Any other code is `transient`, the manifest's
/// `default_unknown_recovery`.
pub(crate) fn controller_recovery(code: &str) -> Recovery {
    match code {
        "FORBIDDEN"
        | "UNKNOWN_SCENARIO"
        | "INVALID_PARAMS"
        | "NOT_FOUND"
        | "INVALID_TRANSITION"
        | "INVALID_STATE"
        | "JCS_NON_FINITE_NUMBER" => Recovery::Correctable,
        _ => Recovery::Transient,
    }
}

/// The `adcp_error` of a controller refusal: `code` with its [`controller_recovery`].
pub(crate) fn controller_error(code: &str, detail: impl Into<String>) -> AdcpError {
    AdcpError::new(code, detail).with_recovery(controller_recovery(code))
}

fn refuse(code: &str, detail: impl Into<String>, echo: &Echo) -> Failure {
    let detail = detail.into();
    let mut body = Map::new();
    body.insert("success".into(), Value::Bool(false));
    body.insert("status".into(), Value::from("completed"));
    body.insert("error".into(), Value::from(code));
    body.insert("error_detail".into(), Value::from(detail.clone()));
    body.insert(
        "adcp_error".into(),
        controller_error(code, detail).to_value(),
    );
    echo.apply(&mut body);
    Failure::Body(Value::Object(body))
}

fn success(fields: Value, echo: &Echo) -> Value {
    let mut body = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    body.insert("success".into(), Value::Bool(true));
    body.insert("status".into(), Value::from("completed"));
    echo.apply(&mut body);
    Value::Object(body)
}

fn param<'a>(params: &'a Value, name: &str) -> Option<&'a str> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

pub(super) async fn serve(
    core: &Core,
    request: &Value,
    principal: Option<&Principal>,
    echo: &Echo,
) -> Result<Value, Failure> {
    let Some(sandbox) = &core.sandbox else {
        return Err(refuse(
            "UNKNOWN_SCENARIO",
            "the test controller is not enabled",
            echo,
        ));
    };
    let account = core
        .resolve_account("comply_test_controller", request, principal)
        .await?;
    let Some(account) = account.filter(Account::is_sandbox) else {
        return Err(refuse(
            "FORBIDDEN",
            "comply_test_controller requires a sandbox account; the calling account is not one",
            echo,
        ));
    };
    let owner = crate::auth::owner_of(principal);
    let Some(scenario) = request.get("scenario").and_then(Value::as_str) else {
        return Err(refuse(
            "INVALID_PARAMS",
            "`scenario` must be a string",
            echo,
        ));
    };
    let empty = json!({});
    let params = request
        .get("params")
        .filter(|p| p.is_object())
        .unwrap_or(&empty);
    if scenario == "list_scenarios" {
        let scenarios = core.controller_scenarios();
        let body = success(json!({ "scenarios": scenarios }), echo);
        core.check_response("comply_test_controller", &body)?;
        return Ok(body);
    }
    if let Some(tool) = forced_tool(scenario) {
        return force_arm(core, sandbox, owner, tool, params, echo);
    }
    if scenario == "force_task_completion" {
        return force_completion(core, sandbox, owner, params, echo);
    }
    match &core.fixtures {
        Some(fixtures) if fixtures.scenarios().contains(&scenario) => {
            match fixtures
                .apply_as(scenario, params, &account, principal)
                .await
            {
                Ok(mut fields) => {
                    fields
                        .entry("message")
                        .or_insert_with(|| Value::from(format!("{scenario} applied")));
                    let body = success(Value::Object(fields), echo);
                    core.check_response("comply_test_controller", &body)?;
                    Ok(body)
                }
                Err(error) => {
                    let controller_code = if CONTROLLER_CODES.contains(&error.code.as_str()) {
                        error.code.clone()
                    } else {
                        "INVALID_PARAMS".to_owned()
                    };
                    Err(refuse(&controller_code, error.message, echo))
                }
            }
        }
        _ => Err(refuse(
            "UNKNOWN_SCENARIO",
            format!("scenario `{scenario}` is not supported"),
            echo,
        )),
    }
}

/// `force_*_arm`: queues a one-shot submitted arm for the next eligible call to `tool`.
fn force_arm(
    core: &Core,
    sandbox: &Sandbox,
    owner: &str,
    tool: &'static str,
    params: &Value,
    echo: &Echo,
) -> Result<Value, Failure> {
    if !core.serves(tool) {
        return Err(refuse(
            "UNKNOWN_SCENARIO",
            format!("this agent does not serve `{tool}`"),
            echo,
        ));
    }
    match param(params, "arm") {
        Some("submitted") => {}
        Some(other) => {
            return Err(refuse(
                "INVALID_PARAMS",
                format!("arm `{other}` is not supported; use `submitted`"),
                echo,
            ));
        }
        None => return Err(refuse("INVALID_PARAMS", "`params.arm` is required", echo)),
    }
    let Some(task_id) = param(params, "task_id") else {
        return Err(refuse(
            "INVALID_PARAMS",
            "`params.task_id` is required",
            echo,
        ));
    };
    let Ok(task_id) = TaskId::parse(task_id.to_owned()) else {
        return Err(refuse(
            "INVALID_PARAMS",
            "`params.task_id` is not a valid task id",
            echo,
        ));
    };
    let message = param(params, "message").map(str::to_owned);
    let forced = json!({ "arm": "submitted", "task_id": task_id.as_str() });
    sandbox
        .force_arm(owner, tool, task_id, message)
        .map_err(|detail| refuse("INVALID_STATE", detail, echo))?;
    let body = success(json!({ "forced": forced }), echo);
    core.check_response("comply_test_controller", &body)?;
    Ok(body)
}

/// `force_task_completion`: completes a waiting forced task with the given result, verbatim.
fn force_completion(
    core: &Core,
    sandbox: &Sandbox,
    owner: &str,
    params: &Value,
    echo: &Echo,
) -> Result<Value, Failure> {
    let Some(task_id) = param(params, "task_id") else {
        return Err(refuse(
            "INVALID_PARAMS",
            "`params.task_id` is required",
            echo,
        ));
    };
    let Some(result) = params.get("result").filter(|r| r.is_object()) else {
        return Err(refuse(
            "INVALID_PARAMS",
            "`params.result` must be an object",
            echo,
        ));
    };
    if !sandbox.complete(owner, task_id, Ok(result.clone())) {
        return Err(refuse(
            "NOT_FOUND",
            format!("no forced sandbox task `{task_id}` is waiting"),
            echo,
        ));
    }
    let body = success(
        json!({ "previous_state": "submitted", "current_state": "completed" }),
        echo,
    );
    core.check_response("comply_test_controller", &body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use adcp_types::Recovery;

    use super::{CONTROLLER_CODES, controller_error, controller_recovery};

    #[test]
    fn refusals_a_buyer_can_fix_are_correctable() {
        // The two the issue names: a live account at the controller and an unknown scenario.
        let forbidden = controller_error("FORBIDDEN", "live account");
        assert_eq!(forbidden.code, "FORBIDDEN");
        assert_eq!(forbidden.recovery, Recovery::Correctable);
        let unknown = controller_error("UNKNOWN_SCENARIO", "no such scenario");
        assert_eq!(unknown.code, "UNKNOWN_SCENARIO");
        assert_eq!(unknown.recovery, Recovery::Correctable);
        assert_eq!(unknown.to_value()["recovery"], "correctable");
        for code in [
            "INVALID_PARAMS",
            "NOT_FOUND",
            "INVALID_TRANSITION",
            "INVALID_STATE",
            "JCS_NON_FINITE_NUMBER",
        ] {
            assert_eq!(controller_recovery(code), Recovery::Correctable, "{code}");
        }
    }

    #[test]
    fn only_the_sellers_own_failure_is_transient() {
        assert_eq!(controller_recovery("INTERNAL_ERROR"), Recovery::Transient);
        assert_eq!(controller_recovery("SOMETHING_NEW"), Recovery::Transient);
        let transient: Vec<&str> = CONTROLLER_CODES
            .iter()
            .copied()
            .filter(|code| controller_recovery(code) == Recovery::Transient)
            .collect();
        assert_eq!(transient, ["INTERNAL_ERROR"]);
    }
}
