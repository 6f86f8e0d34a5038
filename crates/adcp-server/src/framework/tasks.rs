//! `get_task_status` (and the legacy `tasks/get`) and `list_tasks`: strictly scoped to the
//! caller's account and principal. A task of anyone else is indistinguishable from a task that
//! does not exist (`REFERENCE_NOT_FOUND`).

use adcp_tasks::projection::{self, StatusOptions};
use adcp_tasks::{TaskId, TaskQuery, TaskScope};
use adcp_types::{AdcpError, codes};
use serde_json::Value;

use crate::account::Account;
use crate::auth::Principal;
use crate::dispatch::{Core, Echo, completed_body};

fn not_found() -> AdcpError {
    AdcpError::new(
        codes::REFERENCE_NOT_FOUND,
        "no task with this id exists for this caller",
    )
    .with_field("task_id")
}

fn not_cancellable(status: &str) -> AdcpError {
    AdcpError::new(
        codes::NOT_CANCELLABLE,
        format!("the task is already {status} and cannot be canceled"),
    )
    .with_field("task_id")
    .with_recovery(adcp_types::Recovery::Correctable)
}

fn internal(error: &adcp_tasks::TaskError) -> AdcpError {
    tracing::error!(%error, "task registry failed");
    error.to_adcp_error()
}

/// The caller's task scope, `None` when the caller has no account (and so no tasks).
async fn scope_of(
    core: &Core,
    tool: &str,
    request: &Value,
    principal: Option<&Principal>,
) -> Result<Option<TaskScope>, AdcpError> {
    let Some(account) = core.resolve_account(tool, request, principal).await? else {
        return Ok(None);
    };
    let owner = crate::auth::owner_of(principal);
    Ok(TaskScope::new(Account::id(&account), owner).ok())
}

/// The request's task id from member `field`: a missing or non-string one is the buyer's
/// mistake (`INVALID_REQUEST`, field `task_id`); `None` for a string that cannot be a task id
/// (no task can have it, so the caller answers `REFERENCE_NOT_FOUND`).
fn task_id_of(request: &Value, field: &str) -> Result<Option<TaskId>, AdcpError> {
    match request.get(field) {
        Some(Value::String(id)) => Ok(TaskId::parse(id.clone()).ok()),
        Some(_) => {
            Err(AdcpError::invalid_request("`task_id` must be a string").with_field("task_id"))
        }
        None => Err(AdcpError::invalid_request("`task_id` is required").with_field("task_id")),
    }
}

fn flag(request: &Value, names: &[&str]) -> Result<bool, AdcpError> {
    for name in names {
        match request.get(*name) {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => return Ok(*b),
            Some(_) => {
                return Err(
                    AdcpError::invalid_request(format!("`{name}` must be a boolean"))
                        .with_field(*name),
                );
            }
        }
    }
    Ok(false)
}

pub(super) async fn get_task_status(
    core: &Core,
    request: &Value,
    principal: Option<&Principal>,
    echo: &Echo,
    legacy: bool,
) -> Result<Value, AdcpError> {
    let tool = if legacy {
        "tasks/get"
    } else {
        "get_task_status"
    };
    let id_field = if legacy && request.get("task_id").is_none() {
        "taskId"
    } else {
        "task_id"
    };
    let task_id = task_id_of(request, id_field)?;
    let options = StatusOptions {
        include_history: flag(request, &["include_history", "includeHistory"])?,
        include_result: flag(request, &["include_result", "includeResult"])?,
    };
    let Some(task_id) = task_id else {
        return Err(not_found());
    };
    let Some(scope) = scope_of(core, tool, request, principal).await? else {
        return Err(not_found());
    };
    let record = core
        .runtime
        .registry()
        .get(&scope, &task_id)
        .await
        .map_err(|error| internal(&error))?
        .ok_or_else(not_found)?;
    let body = completed_body(projection::task_status_response(&record, options), echo);
    if !legacy {
        // The task's `result` is reported as the task produced it (a controller-forced result
        // is stored verbatim); strict mode checks the status envelope around it, with a
        // validator that never compiles the result's union of every async response (29 MB
        // and ~65 ms on the first poll otherwise).
        core.check_response_opening("get_task_status", &body, &["result"])?;
    }
    Ok(body)
}

pub(super) async fn list_tasks(
    core: &Core,
    request: &Value,
    principal: Option<&Principal>,
    echo: &Echo,
) -> Result<Value, AdcpError> {
    let query = TaskQuery::from_list_request(request).map_err(|error| error.to_adcp_error())?;
    let body = match scope_of(core, "list_tasks", request, principal).await? {
        Some(scope) => {
            let page = core
                .runtime
                .registry()
                .list(&scope, &query)
                .await
                .map_err(|error| internal(&error))?;
            projection::list_tasks_response(&page, &query)
        }
        None => projection::list_tasks_response(
            &adcp_tasks::TaskPage::new(Vec::new(), None, adcp_tasks::TaskSummary::default()),
            &query,
        ),
    };
    let body = completed_body(body, echo);
    core.check_response("list_tasks", &body)?;
    Ok(body)
}

/// Cancels the caller's task `task_id` (A2A `CancelTask`; AdCP has no cancel tool): the task
/// ends `canceled` exactly once, its running work's cancellation token is signalled, and a
/// registered push config gets its one terminal webhook. Another caller's task is
/// `REFERENCE_NOT_FOUND` like an unknown id; a finished task is `NOT_CANCELLABLE`. Answers the
/// task's status body.
pub(super) async fn cancel_task(
    core: &Core,
    request: &Value,
    principal: Option<&Principal>,
    echo: &Echo,
) -> Result<Value, AdcpError> {
    let Some(task_id) = task_id_of(request, "task_id")? else {
        return Err(not_found());
    };
    let Some(scope) = scope_of(core, "tasks/cancel", request, principal).await? else {
        return Err(not_found());
    };
    // A finished task (canceled included: the registry's repeat cancel is idempotent, but a
    // buyer asking to cancel a task that already ended is told it cannot be) is refused.
    let current = core
        .runtime
        .registry()
        .get(&scope, &task_id)
        .await
        .map_err(|error| internal(&error))?
        .ok_or_else(not_found)?;
    if current.is_terminal() {
        return Err(not_cancellable(current.status.as_str()));
    }
    let record = match core.runtime.cancel(&scope, &task_id).await {
        Ok(record) => record,
        Err(adcp_tasks::TaskError::NotFound(_)) => return Err(not_found()),
        // It finished between the read and the cancel.
        Err(adcp_tasks::TaskError::Conflict { .. }) => return Err(not_cancellable("finished")),
        Err(error) => return Err(internal(&error)),
    };
    Ok(completed_body(
        projection::task_status_response(&record, StatusOptions::default()),
        echo,
    ))
}
