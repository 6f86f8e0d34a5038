//! How a seller method hands slow work to a task: `RequestContext::handoff_to_task` and the
//! `TaskHandoff` only the runtime can start.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use adcp_types::{AdcpError, AdcpProtocol};
use async_trait::async_trait;
use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use tracing::Instrument as _;

use super::context::TaskContext;
use super::execute::{self, BoxError};
use super::{RuntimeInner, TaskRuntime};
use crate::error::TaskError;
use crate::model::{Lease, NewTask, TaskId, TaskKind, TaskRecord, TaskScope};
use crate::projection::submitted_response;

/// What a handler knows about the request it serves, as far as tasks are concerned: who asked
/// (scope), which task type and protocol a handoff would create, the buyer's webhook
/// registration and `context`, and an optional forced task id.
///
/// The server builds one per request; the seller's method calls
/// [`RequestContext::handoff_to_task`] on it.
#[derive(Clone)]
pub struct RequestContext {
    runtime: Arc<RuntimeInner>,
    scope: TaskScope,
    task_type: TaskKind,
    protocol: AdcpProtocol,
    webhook: Option<Value>,
    buyer_context: Option<Value>,
    context_id: Option<String>,
    task_id: Option<TaskId>,
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("scope", &self.scope)
            .field("task_type", &self.task_type)
            .field("protocol", &self.protocol)
            .field("has_webhook", &self.webhook.is_some())
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

impl RequestContext {
    /// The context of one request served by `runtime` for `scope`, whose handoff would create a
    /// task of `task_type` in `protocol`.
    pub fn new(
        runtime: &TaskRuntime,
        scope: TaskScope,
        task_type: TaskKind,
        protocol: AdcpProtocol,
    ) -> Self {
        Self {
            runtime: Arc::clone(runtime.inner()),
            scope,
            task_type,
            protocol,
            webhook: None,
            buyer_context: None,
            context_id: None,
            task_id: None,
        }
    }

    /// Records the buyer's `push_notification_config` for a task this request creates.
    #[must_use]
    pub fn with_webhook(mut self, push_notification_config: Value) -> Self {
        self.webhook = Some(push_notification_config);
        self
    }

    /// Records the buyer's `context` object from the request.
    #[must_use]
    pub fn with_request_context(mut self, context: Value) -> Self {
        self.buyer_context = Some(context);
        self
    }

    /// Records the conversation (`context_id`) a task this request creates belongs to.
    #[must_use]
    pub fn with_context_id(mut self, context_id: impl Into<String>) -> Self {
        self.context_id = Some(context_id.into());
        self
    }

    /// Forces the id of a task this request creates (the sandbox test controller does this).
    #[must_use]
    pub fn with_task_id(mut self, task_id: TaskId) -> Self {
        self.task_id = Some(task_id);
        self
    }

    /// Who asked.
    pub fn scope(&self) -> &TaskScope {
        &self.scope
    }

    /// The task type a handoff creates.
    pub fn task_type(&self) -> &TaskKind {
        &self.task_type
    }

    /// The protocol a handoff's task belongs to.
    pub fn protocol(&self) -> AdcpProtocol {
        self.protocol
    }

    /// Hands `work` to a protocol task. Nothing happens until the server starts the returned
    /// [`TaskHandoff`]: then a task is issued, the buyer gets `submitted` at once, and `work`
    /// runs on tokio with a [`TaskContext`]. `work`'s value becomes the task's result; an
    /// [`AdcpError`] it returns becomes the task's error as is; any other error, or a panic,
    /// fails the task with a generic error (the detail goes to tracing only).
    pub fn handoff_to_task<T, F, Fut, E>(&self, work: F) -> TaskHandoff<T>
    where
        T: Serialize + Send + Sync + 'static,
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        TaskHandoff {
            request: Box::new(self.clone()),
            work: Box::new(move |ctx| async move { work(ctx).await.map_err(Into::into) }.boxed()),
        }
    }
}

pub(crate) type Work<T> =
    Box<dyn FnOnce(TaskContext) -> BoxFuture<'static, Result<T, BoxError>> + Send>;

/// Work handed to a protocol task. Adopters get one only from
/// [`RequestContext::handoff_to_task`] and return it to the server; its work cannot be reached
/// or run except through [`TaskHandoff::start`].
#[must_use = "a handoff does nothing until the server starts it"]
pub struct TaskHandoff<T> {
    // Boxed: a handoff travels inside platform results beside much smaller variants.
    request: Box<RequestContext>,
    work: Work<T>,
}

impl<T> fmt::Debug for TaskHandoff<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandoff")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

/// The immediate answer of a started handoff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedTask {
    /// The new task's id.
    pub task_id: TaskId,
}

impl SubmittedTask {
    /// The wire answer: exactly `{task_id, status: "submitted"}`.
    pub fn to_value(&self) -> Value {
        submitted_response(&self.task_id)
    }
}

/// Runs after the work succeeded and before the task is completed (e.g. persisting proposal
/// drafts). An error fails the task with that error instead.
#[async_trait]
pub trait CompletionHook<T>: Send + Sync + 'static {
    /// Sees the typed result; `task` is the record as issued.
    async fn on_complete(&self, task: &TaskRecord, result: &T) -> Result<(), AdcpError>;
}

/// Runs before a task is failed, with the wire error it will carry. Cannot change the outcome.
#[async_trait]
pub trait FailureHook: Send + Sync + 'static {
    /// Sees the error the task is about to be failed with; `task` is the record as issued.
    async fn on_failure(&self, task: &TaskRecord, error: &AdcpError);
}

type RejectHook = Box<dyn FnOnce() -> Result<(), AdcpError> + Send>;

/// The server's hooks around one handoff.
pub struct HandoffHooks<T> {
    pub(crate) pre_handoff_reject: Option<RejectHook>,
    pub(crate) on_complete: Vec<Arc<dyn CompletionHook<T>>>,
    pub(crate) on_failure: Vec<Arc<dyn FailureHook>>,
}

impl<T> Default for HandoffHooks<T> {
    fn default() -> Self {
        Self {
            pre_handoff_reject: None,
            on_complete: Vec::new(),
            on_failure: Vec::new(),
        }
    }
}

impl<T> fmt::Debug for HandoffHooks<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandoffHooks")
            .field("pre_handoff_reject", &self.pre_handoff_reject.is_some())
            .field("on_complete", &self.on_complete.len())
            .field("on_failure", &self.on_failure.len())
            .finish()
    }
}

impl<T> HandoffHooks<T> {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `check` before any side effect of the handoff; its error is returned to the caller
    /// as [`TaskError::Rejected`] and no task is issued.
    #[must_use]
    pub fn pre_handoff_reject(
        mut self,
        check: impl FnOnce() -> Result<(), AdcpError> + Send + 'static,
    ) -> Self {
        self.pre_handoff_reject = Some(Box::new(check));
        self
    }

    /// Adds a completion hook (run in order).
    #[must_use]
    pub fn on_complete(mut self, hook: Arc<dyn CompletionHook<T>>) -> Self {
        self.on_complete.push(hook);
        self
    }

    /// Adds a failure hook (run in order).
    #[must_use]
    pub fn on_failure(mut self, hook: Arc<dyn FailureHook>) -> Self {
        self.on_failure.push(hook);
        self
    }
}

impl<T: Serialize + Send + Sync + 'static> TaskHandoff<T> {
    /// The task type this handoff creates.
    pub fn task_type(&self) -> &TaskKind {
        &self.request.task_type
    }

    /// Starts the handoff (the server calls this): runs `pre_handoff_reject`, issues the task
    /// (leased to this worker when the registry is durable), spawns the work, and returns at
    /// once with the submitted answer. Fails with `Rejected` (the hook said no),
    /// `ShuttingDown`, or the registry's error (e.g. `Conflict` for a duplicate forced id); in
    /// every failure case the work never runs.
    pub async fn start(self, hooks: HandoffHooks<T>) -> Result<SubmittedTask, TaskError> {
        let TaskHandoff { request, work } = self;
        let request = *request;
        let HandoffHooks {
            pre_handoff_reject,
            on_complete,
            on_failure,
        } = hooks;
        let inner = Arc::clone(&request.runtime);
        // Counts as running work for shutdown from here on, so no start slips past it.
        let tracker_token = inner.tracker.token();
        if !inner.accepting.load(Ordering::Acquire) {
            return Err(TaskError::ShuttingDown);
        }
        if let Some(check) = pre_handoff_reject {
            check().map_err(|error| TaskError::Rejected(Box::new(error)))?;
        }
        let mut task = NewTask::new(request.scope, request.task_type, request.protocol);
        if let Some(task_id) = request.task_id {
            task = task.with_task_id(task_id);
        }
        if let Some(webhook) = request.webhook {
            task = task.with_webhook(webhook);
        }
        if let Some(context) = request.buyer_context {
            task = task.with_request_context(context);
        }
        if let Some(context_id) = request.context_id {
            task = task.with_context_id(context_id);
        }
        if inner.registry.is_durable() {
            task = task.with_lease(Lease {
                owner: inner.worker.clone(),
                duration: inner.config.lease_duration,
            });
        }
        let record = inner.registry.issue(task).await?;
        let task_id = record.task_id.clone();
        let token = inner.kill.child_token();
        inner.running.insert(task_id.clone(), token.clone());
        let span = tracing::info_span!(
            "adcp_task",
            task_id = %task_id,
            task_type = %record.task_type,
            worker = %inner.worker,
        );
        let settle = Box::new(execute::Settle::new(
            record,
            execute::Hooks {
                on_complete,
                on_failure,
            },
        ));
        inner
            .tracker
            .spawn(execute::run(Arc::clone(&inner), token, work, settle).instrument(span));
        drop(tracker_token);
        tracing::debug!(task_id = %task_id, "task submitted");
        Ok(SubmittedTask { task_id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::InMemoryTaskRegistry;
    use adcp_types::TaskType;

    fn assert_send<T: Send>(_: &T) {}

    #[tokio::test]
    async fn handoffs_and_their_start_are_send() {
        let runtime = TaskRuntime::builder(Arc::new(InMemoryTaskRegistry::new()))
            .build()
            .unwrap();
        let scope = TaskScope::new("a", "o").unwrap();
        let request = RequestContext::new(
            &runtime,
            scope,
            TaskType::GetProducts.into(),
            AdcpProtocol::MediaBuy,
        );
        let handoff = request.handoff_to_task(|_ctx| async move { Ok::<_, AdcpError>(1_u8) });
        assert_send(&handoff);
        let start = handoff.start(HandoffHooks::new());
        assert_send(&start);
        assert_eq!(start.await.unwrap().to_value()["status"], "submitted");
    }
}
