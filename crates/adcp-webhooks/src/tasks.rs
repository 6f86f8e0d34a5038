//! Glue to `adcp-tasks`: its terminal seams, implemented with this crate's emitter and outbox.
//!
//! - [`WebhookTerminalCallback`] implements `TerminalCallback`: after the registry's terminal
//!   write, it runs [`TerminalEmitter::emit_terminal_completion`] (in-memory registries, or any
//!   registry without an outbox; a crash between the write and the call loses the webhook).
//! - `PgOutbox` implements `TerminalOutbox` (feature `postgres`): the PostgreSQL registry calls
//!   it inside the transaction of the terminal `UPDATE`, so the task's terminal state and its
//!   webhook row commit together or not at all. Use one of the two, not both.

use adcp_tasks::TaskRecord;
use adcp_tasks::seams::TerminalCallback;
use adcp_types::AdcpError;
use async_trait::async_trait;
use serde_json::Value;

use crate::emit::{EmitOutcome, TerminalCompletion, TerminalEmitter};

/// The completion a terminal record describes. `error` holds the record's wire error, which
/// the completion borrows.
fn completion_of<'a>(task: &'a TaskRecord, error: Option<&'a Value>) -> TerminalCompletion<'a> {
    TerminalCompletion {
        task_id: task.task_id.as_str(),
        task_type: task.task_type.as_str(),
        protocol: Some(task.protocol),
        status: task.status,
        result: task.result.as_ref(),
        error,
        push_config: task.webhook.as_ref(),
        context: task.request_context.as_ref(),
        issued_at: Some(task.created_at),
        context_id: task.context_id.as_deref(),
    }
}

/// Sends each terminal task's webhook through a [`TerminalEmitter`], after the terminal write.
#[derive(Debug, Clone)]
pub struct WebhookTerminalCallback {
    emitter: TerminalEmitter,
}

impl WebhookTerminalCallback {
    /// A callback emitting through `emitter`.
    pub fn new(emitter: TerminalEmitter) -> Self {
        Self { emitter }
    }
}

#[async_trait]
impl TerminalCallback for WebhookTerminalCallback {
    async fn on_terminal(&self, task: &TaskRecord) {
        let error = task.error.as_ref().map(AdcpError::to_value);
        match self
            .emitter
            .emit_terminal_completion(&completion_of(task, error.as_ref()))
            .await
        {
            Ok(EmitOutcome::Enqueued { idempotency_key }) => {
                tracing::debug!(task_id = %task.task_id, idempotency_key = %idempotency_key, "terminal webhook enqueued");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(task_id = %task.task_id, error = %error, "terminal webhook could not be enqueued");
            }
        }
    }
}

#[cfg(feature = "postgres")]
mod outbox_seam {
    use adcp_tasks::TaskRecord;
    use adcp_tasks::seams::{OutboxError, TerminalOutbox};
    use adcp_types::AdcpError;
    use async_trait::async_trait;

    use super::completion_of;
    use crate::emit::{TerminalPlan, plan_terminal_delivery};
    use crate::outbox::PgOutbox;

    #[async_trait]
    impl TerminalOutbox for PgOutbox {
        /// Applies the emission gates (spec webhook task type, push config present and usable)
        /// and inserts the row through the registry's transaction. A database error rolls the
        /// terminal write back; a task that needs no webhook is left alone.
        async fn enqueue_in_tx(
            &self,
            conn: &mut sqlx::PgConnection,
            task: &TaskRecord,
        ) -> Result<(), OutboxError> {
            let error = task.error.as_ref().map(AdcpError::to_value);
            match plan_terminal_delivery(&completion_of(task, error.as_ref()))? {
                TerminalPlan::Skip(_) => Ok(()),
                TerminalPlan::Deliver(delivery) => {
                    self.enqueue_in(conn, &delivery).await?;
                    Ok(())
                }
            }
        }
    }
}
