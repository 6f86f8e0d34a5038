//! The `TaskRegistry` trait: the narrow seam every task store implements.

use std::fmt;
use std::time::Duration;

use adcp_types::AdcpError;
use async_trait::async_trait;
use serde_json::Value;

use crate::error::TaskError;
use crate::model::{NewTask, TaskId, TaskRecord, TaskScope, TerminalWrite, WorkerId};
use crate::query::{TaskPage, TaskQuery};

/// A store of protocol tasks.
///
/// Contract, checked by the conformance suite for every store in this crate:
/// - `issue` creates a `submitted` task; a caller-chosen id that exists is a `Conflict`.
/// - `update_progress` stores progress and moves `submitted` to `working`; on a terminal task it
///   is a `Conflict` and changes nothing.
/// - `complete`, `fail` and `cancel` are terminal writes: the first one returns
///   [`TerminalWrite::Applied`]; repeating the same outcome returns
///   [`TerminalWrite::AlreadyApplied`]; any other terminal write after it is a `Conflict`.
///   The guard is atomic: of two racing terminal writes exactly one is applied.
/// - `get`, `list` and `cancel` see only tasks of the given scope: a task of another account or
///   owner behaves exactly like an unknown id (`None` / `NotFound`).
/// - `discard` deletes a task (used to roll back a task whose start failed); idempotent.
///
/// Lease methods have no-op defaults, for stores whose tasks die with the process anyway.
#[async_trait]
pub trait TaskRegistry: Send + Sync + fmt::Debug + 'static {
    /// Creates a `submitted` task and returns its record.
    async fn issue(&self, task: NewTask) -> Result<TaskRecord, TaskError>;

    /// Stores `progress` (a JSON object) and moves a `submitted` task to `working`.
    async fn update_progress(&self, task_id: &TaskId, progress: Value) -> Result<(), TaskError>;

    /// Moves the task to `completed` with `result`.
    async fn complete(&self, task_id: &TaskId, result: Value) -> Result<TerminalWrite, TaskError>;

    /// Moves the task to `failed` with `error`.
    async fn fail(&self, task_id: &TaskId, error: &AdcpError) -> Result<TerminalWrite, TaskError>;

    /// Moves the task of `scope` to `canceled`.
    async fn cancel(&self, scope: &TaskScope, task_id: &TaskId)
    -> Result<TerminalWrite, TaskError>;

    /// The task, if it exists in `scope`.
    async fn get(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<Option<TaskRecord>, TaskError>;

    /// One page of the tasks of `scope` that `list_tasks` can report (see [`TaskQuery`]).
    async fn list(&self, scope: &TaskScope, query: &TaskQuery) -> Result<TaskPage, TaskError>;

    /// Deletes the task; deleting an unknown task succeeds.
    async fn discard(&self, task_id: &TaskId) -> Result<(), TaskError>;

    /// Whether tasks survive a process restart. Production servers should refuse a non-durable
    /// registry unless the operator opts in.
    fn is_durable(&self) -> bool;

    /// Whether this registry writes each terminal webhook into a durable outbox in the same
    /// transaction as the terminal state (`WebhookDelivery::Transactional` needs it; any other
    /// delivery mode must not have it, or rows would pile up that no worker sends).
    fn writes_webhook_outbox(&self) -> bool {
        false
    }

    /// Extends the leases `worker` holds on `task_ids` by `duration`, and returns the ids whose
    /// lease was extended: an id missing from the answer is no longer running here (it was
    /// canceled, reaped or finished elsewhere). The default keeps every id.
    async fn heartbeat(
        &self,
        worker: &WorkerId,
        task_ids: &[TaskId],
        duration: Duration,
    ) -> Result<Vec<TaskId>, TaskError> {
        let _ = (worker, duration);
        Ok(task_ids.to_vec())
    }

    /// Fails up to `limit` unfinished tasks whose lease has expired (their worker died) with
    /// `error`, and returns their new records. The default reaps nothing.
    async fn reap_expired(
        &self,
        error: &AdcpError,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, TaskError> {
        let _ = (error, limit);
        Ok(Vec::new())
    }
}
