//! The seams other crates plug into: what happens after a task reaches its terminal status.
//!
//! `adcp-webhooks` depends on this crate (never the reverse) and implements one or both:
//!
//! - [`TerminalCallback`]: called by the [`crate::TaskRuntime`] **exactly once per task, after**
//!   the terminal write was applied — for a handoff that completed or failed, a task canceled
//!   through [`crate::TaskRuntime::cancel`], a task failed by graceful shutdown, and a task failed
//!   by the lease reaper. It receives the terminal [`TaskRecord`]: `task_id`, `task_type`,
//!   `protocol`, `scope`, `status`, `result` or `error`, `request_context`, and `webhook` — the
//!   buyer's `push_notification_config` exactly as the server stored it at issue time. Because
//!   the write comes first, a buyer polling `get_task_status` and a webhook always agree. The
//!   callback is in-process: a crash between the write and the call loses the call, which is what
//!   the outbox below closes.
//! - `TerminalOutbox` (feature `postgres`): the PostgreSQL registry calls
//!   `TerminalOutbox::enqueue_in_tx` **inside the transaction of every applied terminal write**
//!   (complete, fail, cancel, reap), so the terminal state and the outbox row commit together or
//!   not at all. An enqueue error rolls the terminal write back and surfaces as
//!   [`crate::TaskError::Outbox`]. Configure it with
//!   `pg::PgTaskRegistryBuilder::outbox`. With an outbox in place the callback can be
//!   a mere wake-up for the delivery worker.
//!
//! The record's `webhook` value may carry credentials: implementations must never log it.

use std::fmt;

use async_trait::async_trait;

use crate::model::TaskRecord;

/// Receives every task's terminal record, exactly once, after the terminal write.
///
/// Implementations must be quick or spawn their own work: the runtime awaits the call inside
/// the task's own future. Failures are the implementation's to log; they never change the
/// task.
#[async_trait]
pub trait TerminalCallback: Send + Sync + fmt::Debug + 'static {
    /// Called once per task after its status became `completed`, `failed` or `canceled`.
    async fn on_terminal(&self, task: &TaskRecord);
}

/// The error an outbox returns; it rolls the terminal write back.
pub type OutboxError = Box<dyn std::error::Error + Send + Sync>;

/// Writes a task's terminal notification inside the registry's own transaction.
#[cfg(feature = "postgres")]
#[async_trait]
pub trait TerminalOutbox: Send + Sync + fmt::Debug + 'static {
    /// Enqueues the notification for `task` (already terminal in this transaction) using
    /// `conn`, which is inside the transaction of the terminal `UPDATE`. The implementation
    /// decides whether the task needs a notification at all (e.g. only when `task.webhook` is
    /// set). It must not commit or roll back.
    async fn enqueue_in_tx(
        &self,
        conn: &mut sqlx::PgConnection,
        task: &TaskRecord,
    ) -> Result<(), OutboxError>;
}
