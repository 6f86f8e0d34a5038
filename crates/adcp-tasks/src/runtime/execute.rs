//! Runs one handed-off task to its single terminal write.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use adcp_types::AdcpError;
use futures::FutureExt as _;
use serde::Serialize;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::RuntimeInner;
use super::context::TaskContext;
use super::handoff::{CompletionHook, FailureHook, Work};
use crate::error::TaskError;
use crate::model::{TaskId, TaskRecord, TerminalWrite};

/// Any error handed-off work may return; an [`AdcpError`] inside is recognised and kept.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Delays between attempts of a terminal write that failed transiently.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_millis(50),
    Duration::from_millis(250),
    Duration::from_secs(1),
];

pub(crate) struct Hooks<T> {
    pub(crate) on_complete: Vec<Arc<dyn CompletionHook<T>>>,
    pub(crate) on_failure: Vec<Arc<dyn FailureHook>>,
}

/// Removes the task from the running set however the future ends (even when dropped).
struct Running<'a> {
    inner: &'a RuntimeInner,
    task_id: TaskId,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.inner.running.remove(&self.task_id);
    }
}

/// What settling a task needs once its work ended. Boxed, so a pending task's future stays
/// small: it holds only the running work and its cancellation.
pub(crate) struct Settle<T> {
    task_id: TaskId,
    /// The record as issued, kept only when hooks will read it.
    issued: Option<Box<TaskRecord>>,
    hooks: Hooks<T>,
}

impl<T> Settle<T> {
    pub(crate) fn new(record: TaskRecord, hooks: Hooks<T>) -> Self {
        let has_hooks = !hooks.on_complete.is_empty() || !hooks.on_failure.is_empty();
        Self {
            task_id: record.task_id.clone(),
            issued: has_hooks.then(|| Box::new(record)),
            hooks,
        }
    }
}

pub(crate) async fn run<T: Serialize + Send + Sync + 'static>(
    inner: Arc<RuntimeInner>,
    token: CancellationToken,
    work: Work<T>,
    settle: Box<Settle<T>>,
) {
    let _running = Running {
        inner: &inner,
        task_id: settle.task_id.clone(),
    };
    let ctx = TaskContext::new(
        settle.task_id.clone(),
        Arc::clone(&inner.registry),
        token.clone(),
    );
    // The closure is called inside the guarded future so a panic while building it is caught.
    let guarded = AssertUnwindSafe(async move { work(ctx).await }).catch_unwind();
    let outcome = tokio::select! {
        biased;
        () = inner.kill.cancelled() => {
            tracing::warn!("runtime stopped; the task's work is abandoned and its lease left to expire");
            return;
        }
        outcome = guarded => outcome,
    };
    if token.is_cancelled() {
        // Canceled, reaped or failed by shutdown: someone else wrote the terminal state.
        tracing::info!("task was stopped while running; its outcome is discarded");
        return;
    }
    Box::pin(settle_outcome(&inner, *settle, outcome)).await;
}

type WorkOutcome<T> = Result<Result<T, BoxError>, Box<dyn Any + Send>>;

/// Runs the hooks, writes the single terminal state (retrying transient failures) and calls
/// the terminal callback when this write applied.
async fn settle_outcome<T: Serialize + Send + Sync + 'static>(
    inner: &RuntimeInner,
    settle: Settle<T>,
    outcome: WorkOutcome<T>,
) {
    let terminal = match outcome {
        Ok(Ok(value)) => complete_value(&settle, &value).await,
        Ok(Err(error)) => Err(into_wire_error(error)),
        Err(panic) => {
            tracing::error!(panic = %panic_message(panic.as_ref()), "handed-off work panicked");
            Err(AdcpError::internal())
        }
    };
    let write = match terminal {
        Ok(result) => {
            match write_with_retries(inner, &settle.task_id, Outcome::Complete(result)).await {
                Err(TaskError::PayloadTooLarge { .. } | TaskError::UnstorablePayload { .. }) => {
                    tracing::error!("the task's result cannot be stored; failing the task");
                    fail(inner, &settle, AdcpError::internal()).await
                }
                other => other,
            }
        }
        Err(error) => fail(inner, &settle, error).await,
    };
    match write {
        Ok(write) => {
            tracing::debug!(status = %write.record().status, applied = write.is_applied(), "task finished");
            inner.after_terminal(&write).await;
        }
        Err(TaskError::Conflict { .. }) => {
            tracing::info!("task already ended elsewhere (canceled or reaped); outcome discarded");
        }
        Err(error) => tracing::error!(
            error = %error,
            "terminal write failed; the lease will expire and a reaper will fail the task"
        ),
    }
}

/// Runs the completion hooks and serialises the result; any failure becomes the task's error.
async fn complete_value<T: Serialize + Send + Sync + 'static>(
    settle: &Settle<T>,
    value: &T,
) -> Result<Value, AdcpError> {
    if let Some(record) = &settle.issued {
        for hook in &settle.hooks.on_complete {
            hook.on_complete(record, value).await?;
        }
    }
    serde_json::to_value(value).map_err(|error| {
        tracing::error!(error = %error, "the task's result does not serialise to JSON");
        AdcpError::internal()
    })
}

async fn fail<T>(
    inner: &RuntimeInner,
    settle: &Settle<T>,
    error: AdcpError,
) -> Result<TerminalWrite, TaskError> {
    if let Some(record) = &settle.issued {
        for hook in &settle.hooks.on_failure {
            hook.on_failure(record, &error).await;
        }
    }
    write_with_retries(inner, &settle.task_id, Outcome::Fail(error)).await
}

enum Outcome {
    Complete(Value),
    Fail(AdcpError),
}

async fn write_with_retries(
    inner: &RuntimeInner,
    task_id: &TaskId,
    outcome: Outcome,
) -> Result<TerminalWrite, TaskError> {
    let mut delays = RETRY_DELAYS.iter();
    loop {
        let attempt = match &outcome {
            Outcome::Complete(result) => inner.registry.complete(task_id, result.clone()).await,
            Outcome::Fail(error) => inner.registry.fail(task_id, error).await,
        };
        match (attempt, delays.next()) {
            (Err(error), Some(delay)) if error.is_transient() => {
                tracing::warn!(error = %error, "terminal write failed; retrying");
                tokio::time::sleep(*delay).await;
            }
            (attempt, _) => return attempt,
        }
    }
}

/// Keeps an [`AdcpError`] as is; anything else becomes the generic wire error, with the
/// detail logged.
fn into_wire_error(error: BoxError) -> AdcpError {
    match error.downcast::<AdcpError>() {
        Ok(error) => *error,
        Err(other) => {
            tracing::error!(error = %other, "handed-off work failed");
            AdcpError::internal()
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}
