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
