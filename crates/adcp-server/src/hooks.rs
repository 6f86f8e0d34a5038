//! Terminal side effects registered by platform methods ([`CallContext::on_complete`]).
//!
//! [`CallContext::on_complete`]: crate::CallContext::on_complete

use std::fmt;
use std::sync::Arc;

use adcp_tasks::{CompletionHook, TaskRecord};
use adcp_types::AdcpError;
use async_trait::async_trait;
use serde::Serialize;

use crate::call::CompletedResult;

/// A side effect that must happen exactly when a result is final, on the synchronous path and
/// on the handoff path alike (the Python SDK's "persist draft").
#[async_trait]
pub trait ResultHook: Send + Sync + 'static {
    /// Runs once per completed result. An error fails the call (or the task) with it.
    async fn on_complete(&self, completed: CompletedResult<'_>) -> Result<(), AdcpError>;
}

/// Runs `hooks` over a synchronous result.
pub(crate) async fn run_sync(
    hooks: &[Arc<dyn ResultHook>],
    completed: CompletedResult<'_>,
) -> Result<(), AdcpError> {
    for hook in hooks {
        hook.on_complete(completed).await?;
    }
    Ok(())
}

/// Adapts server result hooks to the task runtime's typed completion hook.
pub(crate) struct TaskCompletionHooks {
    pub(crate) tool: &'static str,
    pub(crate) hooks: Vec<Arc<dyn ResultHook>>,
}

impl fmt::Debug for TaskCompletionHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCompletionHooks")
            .field("tool", &self.tool)
            .field("hooks", &self.hooks.len())
            .finish()
    }
}

#[async_trait]
impl<T: Serialize + Send + Sync + 'static> CompletionHook<T> for TaskCompletionHooks {
    async fn on_complete(&self, task: &TaskRecord, result: &T) -> Result<(), AdcpError> {
        let value = serde_json::to_value(result).map_err(|error| {
            tracing::error!(tool = self.tool, %error, "a task result could not be serialised");
            AdcpError::internal()
        })?;
        let completed = CompletedResult {
            tool: self.tool,
            task_id: Some(task.task_id.as_str()),
            account_id: Some(task.scope.account_id()),
            result: &value,
        };
        run_sync(&self.hooks, completed).await
    }
}
