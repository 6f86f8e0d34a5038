//! The tools the server answers itself, whatever the platform: capabilities, task polling and
//! (sandbox only) the compliance test controller.

pub(crate) mod capabilities;
mod controller;
mod tasks;

pub(crate) use controller::BUILT_IN_SCENARIOS;
pub use controller::SandboxFixtures;

use adcp_types::AdcpError;
use serde_json::Value;

use crate::auth::Principal;
use crate::dispatch::{Core, Echo, Failure};

/// A framework tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameworkTool {
    Capabilities,
    GetTaskStatus,
    ListTasks,
    /// The legacy `tasks/get` tool (`{taskId}` in camelCase from older clients).
    LegacyTasksGet,
    ComplyTestController,
}

impl FrameworkTool {
    pub(crate) fn parse(tool: &str, sandbox: bool) -> Option<Self> {
        Some(match tool {
            "get_adcp_capabilities" => Self::Capabilities,
            "get_task_status" => Self::GetTaskStatus,
            "list_tasks" => Self::ListTasks,
            "tasks/get" => Self::LegacyTasksGet,
            "comply_test_controller" if sandbox => Self::ComplyTestController,
            _ => return None,
        })
    }

    pub(crate) fn names(sandbox: bool) -> Vec<&'static str> {
        let mut names = vec![
            "get_adcp_capabilities",
            "get_task_status",
            "list_tasks",
            "tasks/get",
        ];
        if sandbox {
            names.push("comply_test_controller");
        }
        names
    }
}

/// The validators the framework tools use: each tool's request schema and its response schema
/// (`get_task_status` with `result` opened, as it validates it).
const FRAMEWORK_VALIDATORS: [(&str, &[&str]); 3] = [
    ("get_adcp_capabilities", &[]),
    ("get_task_status", &["result"]),
    ("list_tasks", &[]),
];

/// Compiles the framework tools' validators on a thread of its own, so their first calls find
/// them ready (they are small; a seller's own tools compile on first use, as before). Returns
/// at once; a compile error is left for the call that meets it to report.
pub(crate) fn warm_validators(schemas: &'static adcp_types::validate::SchemaSet) {
    let warm = move || {
        for (tool, open) in FRAMEWORK_VALIDATORS {
            let Some(spec) = adcp_types::manifest::tool(tool) else {
                continue;
            };
            let _ = schemas.validator(spec.request_schema);
            let _ = schemas.validator_opening(spec.response_schema, open);
        }
    };
    if let Err(error) = std::thread::Builder::new()
        .name("adcp-warm-validators".into())
        .spawn(warm)
    {
        tracing::debug!(%error, "could not start the validator warm-up; first calls compile");
    }
}

pub(crate) async fn serve(
    core: &Core,
    tool: FrameworkTool,
    request: &Value,
    principal: Option<&Principal>,
    echo: &Echo,
) -> Result<Value, Failure> {
    let answer: Result<Value, AdcpError> = match tool {
        FrameworkTool::Capabilities => {
            let body = crate::dispatch::completed_body(core.capabilities.clone(), echo);
            core.check_response("get_adcp_capabilities", &body)
                .map(|()| body)
        }
        FrameworkTool::GetTaskStatus => {
            tasks::get_task_status(core, request, principal, echo, false).await
        }
        FrameworkTool::LegacyTasksGet => {
            tasks::get_task_status(core, request, principal, echo, true).await
        }
        FrameworkTool::ListTasks => tasks::list_tasks(core, request, principal, echo).await,
        FrameworkTool::ComplyTestController => {
            return controller::serve(core, request, principal, echo).await;
        }
    };
    answer.map_err(Failure::from)
}

/// Cancels one of the caller's tasks (a transport's cancel method; AdCP defines no cancel
/// tool). `request` carries `task_id` and, optionally, the `account` the task was created
/// under, resolved as for `get_task_status`.
pub(crate) async fn cancel_task(
    core: &Core,
    request: &Value,
    principal: Option<&Principal>,
) -> crate::dispatch::ToolReply {
    let echo = Echo::read(request);
    match tasks::cancel_task(core, request, principal, &echo).await {
        Ok(body) => crate::dispatch::ToolReply {
            body,
            is_error: false,
        },
        Err(error) => crate::dispatch::failed_reply(&error, &echo),
    }
}
