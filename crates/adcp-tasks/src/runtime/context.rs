//! What handed-off work receives: its task id, a way to report progress, and a cancellation
//! token.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::error::TaskError;
use crate::model::{TaskId, TaskProgress};
use crate::registry::TaskRegistry;

/// The handle handed-off work gets.
#[derive(Clone)]
pub struct TaskContext {
    task_id: TaskId,
    registry: Arc<dyn TaskRegistry>,
    cancellation: CancellationToken,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("task_id", &self.task_id)
            .field("cancelled", &self.cancellation.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl TaskContext {
    pub(crate) fn new(
        task_id: TaskId,
        registry: Arc<dyn TaskRegistry>,
        cancellation: CancellationToken,
    ) -> Self {
        Self {
            task_id,
            registry,
            cancellation,
        }
    }

    /// The task's id (allocated before the work started).
    pub fn task_id(&self) -> &TaskId {
        &self.task_id
    }

    /// Reports progress (the first report moves the task to `working`). Returns whether it was
    /// stored: a report after the task ended, or one the registry refused, is dropped and logged
    /// — progress is advisory and never fails the work.
    pub async fn update_progress(&self, progress: TaskProgress) -> bool {
        match self
            .registry
            .update_progress(&self.task_id, progress.to_value())
            .await
        {
            Ok(()) => true,
            Err(TaskError::Conflict { .. }) => {
                tracing::debug!(task_id = %self.task_id, "progress after the task ended; dropped");
                false
            }
            Err(error) => {
                tracing::warn!(task_id = %self.task_id, error = %error, "progress not stored");
                false
            }
        }
    }

    /// Signalled when the task is canceled, reaped, or the runtime shuts down: the work should
    /// stop soon. Whatever it returns afterwards is discarded.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }

    /// Whether [`TaskContext::cancellation`] was signalled.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }
}
