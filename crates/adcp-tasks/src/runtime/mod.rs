//! The handoff runtime: runs handed-off work on tokio, writes each task's terminal state exactly
//! once, keeps leases alive, reaps tasks of dead workers, and shuts down gracefully.

mod context;
mod execute;
mod handoff;
mod maintenance;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adcp_types::{AdcpError, Recovery, codes};
use dashmap::DashMap;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::TaskError;
use crate::model::{TaskId, TaskRecord, TaskScope, TerminalWrite, WorkerId};
use crate::registry::TaskRegistry;
use crate::seams::TerminalCallback;

pub use context::TaskContext;
pub use execute::BoxError;
pub use handoff::{
    CompletionHook, FailureHook, HandoffHooks, RequestContext, SubmittedTask, TaskHandoff,
};

/// Lease and maintenance timings of a [`TaskRuntime`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// How long a lease lasts without a heartbeat. Default 30 s.
    pub lease_duration: Duration,
    /// How often running tasks' leases are renewed; must be shorter than the lease. Default 10 s.
    pub heartbeat_interval: Duration,
    /// How often expired leases are reaped (durable registries only). Default 15 s.
    pub reaper_interval: Duration,
    /// The most tasks one reaper pass fails. Default 100.
    pub reap_batch: usize,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            lease_duration: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(10),
            reaper_interval: Duration::from_secs(15),
            reap_batch: 100,
        }
    }
}

/// What [`TaskRuntime::shutdown`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Tasks that finished on their own before the deadline.
    pub finished: usize,
    /// Tasks still running at the deadline, failed with a transient error.
    pub failed: usize,
}

/// Builds a [`TaskRuntime`].
#[derive(Debug)]
pub struct TaskRuntimeBuilder {
    registry: Arc<dyn TaskRegistry>,
    callback: Option<Arc<dyn TerminalCallback>>,
    worker: Option<WorkerId>,
    config: RuntimeConfig,
}

impl TaskRuntimeBuilder {
    /// Sets the callback called once per task after its terminal write (the webhook seam).
    #[must_use]
    pub fn terminal_callback(mut self, callback: Arc<dyn TerminalCallback>) -> Self {
        self.callback = Some(callback);
        self
    }

    /// Sets this process's worker id (default: random).
    #[must_use]
    pub fn worker_id(mut self, worker: WorkerId) -> Self {
        self.worker = Some(worker);
        self
    }

    /// Sets the lease and maintenance timings.
    #[must_use]
    pub fn config(mut self, config: RuntimeConfig) -> Self {
        self.config = config;
        self
    }

    /// Sets the lease duration and derives the heartbeat (a third of it) and reaper (a half)
    /// intervals.
    #[must_use]
    pub fn lease_duration(mut self, lease: Duration) -> Self {
        self.config.lease_duration = lease;
        self.config.heartbeat_interval = lease / 3;
        self.config.reaper_interval = lease / 2;
        self
    }

    /// Starts the runtime and its maintenance loop (heartbeats; reaping for durable
    /// registries). Fails outside a tokio runtime, or when the heartbeat interval is not
    /// shorter than the lease.
    pub fn build(self) -> Result<TaskRuntime, TaskError> {
        let config = self.config;
        if config.heartbeat_interval.is_zero()
            || config.reaper_interval.is_zero()
            || config.heartbeat_interval >= config.lease_duration
        {
            return Err(TaskError::invalid(
                "runtime config",
                "intervals must be positive and the heartbeat shorter than the lease",
            ));
        }
        let handle = tokio::runtime::Handle::try_current()
            .map_err(|_| TaskError::invalid("runtime", "must be built inside a tokio runtime"))?;
        let inner = Arc::new(RuntimeInner {
            registry: self.registry,
            callback: self.callback,
            worker: self.worker.unwrap_or_else(WorkerId::generate),
            config,
            running: DashMap::new(),
            tracker: TaskTracker::new(),
            kill: CancellationToken::new(),
            accepting: AtomicBool::new(true),
        });
        handle.spawn(maintenance::run(Arc::clone(&inner)));
        Ok(TaskRuntime { inner })
    }
}

/// The handoff runtime. One per process; share it by reference or `Arc`.
///
/// Guarantees:
/// - every handed-off task ends in exactly one terminal write — by its own outcome, by
///   [`TaskRuntime::cancel`], by [`TaskRuntime::shutdown`], or (durable registries) by a reaper
///   after its worker died — and the terminal callback runs exactly once, after that write;
/// - dropping the runtime without `shutdown` behaves like a crash: running work is abandoned at
///   its next await, nothing more is written, heartbeats stop, and the leases expire for a
///   reaper (in this or another process) to fail the tasks.
#[derive(Debug)]
pub struct TaskRuntime {
    inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub(crate) registry: Arc<dyn TaskRegistry>,
    pub(crate) callback: Option<Arc<dyn TerminalCallback>>,
    pub(crate) worker: WorkerId,
    pub(crate) config: RuntimeConfig,
    /// Running tasks and the cancellation token their work sees.
    pub(crate) running: DashMap<TaskId, CancellationToken>,
    pub(crate) tracker: TaskTracker,
    /// Abandons all work without writing (drop, or the shutdown deadline).
    pub(crate) kill: CancellationToken,
    pub(crate) accepting: AtomicBool,
}

impl std::fmt::Debug for RuntimeInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeInner")
            .field("worker", &self.worker)
            .field("running", &self.running.len())
            .field("accepting", &self.accepting.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RuntimeInner {
    /// Calls the terminal callback for a write this runtime applied.
    pub(crate) async fn after_terminal(&self, write: &TerminalWrite) {
        if let (TerminalWrite::Applied(record), Some(callback)) = (write, &self.callback) {
            callback.on_terminal(record).await;
        }
    }
}

impl TaskRuntime {
    /// A builder over `registry`.
    pub fn builder(registry: Arc<dyn TaskRegistry>) -> TaskRuntimeBuilder {
        TaskRuntimeBuilder {
            registry,
            callback: None,
            worker: None,
            config: RuntimeConfig::default(),
        }
    }

    /// The registry tasks are written to.
    pub fn registry(&self) -> &Arc<dyn TaskRegistry> {
        &self.inner.registry
    }

    /// This process's worker id (the lease owner of its tasks).
    pub fn worker_id(&self) -> &WorkerId {
        &self.inner.worker
    }

    /// How many handed-off tasks are running in this process.
    pub fn running_tasks(&self) -> usize {
        self.inner.running.len()
    }

    /// Whether new handoffs are accepted (false once shutdown began).
    pub fn is_accepting(&self) -> bool {
        self.inner.accepting.load(Ordering::Acquire)
    }

    pub(crate) fn inner(&self) -> &Arc<RuntimeInner> {
        &self.inner
    }

    /// Cancels the task of `scope`: writes `canceled` (a foreign or unknown task is
    /// `NotFound`; a finished one is a `Conflict`), signals its work's cancellation token when
    /// it runs here, and calls the terminal callback. Returns the task as it now is.
    pub async fn cancel(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<TaskRecord, TaskError> {
        let write = self.inner.registry.cancel(scope, task_id).await?;
        if let Some(token) = self.inner.running.get(task_id) {
            token.cancel();
        }
        self.inner.after_terminal(&write).await;
        Ok(write.into_record())
    }

    /// Runs one reaper pass now: fails unfinished tasks whose lease expired and calls the
    /// terminal callback for each. Returns how many were reaped.
    pub async fn reap_now(&self) -> Result<usize, TaskError> {
        maintenance::reap_once(&self.inner).await
    }

    /// Stops taking new handoffs, waits up to `deadline` for running ones, then fails the rest
    /// with a transient `SERVICE_UNAVAILABLE` (their work's cancellation token is signalled
    /// first) and stops the maintenance loop.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let inner = &self.inner;
        inner.accepting.store(false, Ordering::Release);
        inner.tracker.close();
        let before = inner.running.len();
        if tokio::time::timeout(deadline, inner.tracker.wait())
            .await
            .is_ok()
        {
            inner.kill.cancel();
            return ShutdownReport {
                finished: before,
                failed: 0,
            };
        }
        let stragglers: Vec<(TaskId, CancellationToken)> = inner
            .running
            .iter()
            .map(|entry| (entry.key().clone(), entry.value().clone()))
            .collect();
        for (_, token) in &stragglers {
            token.cancel();
        }
        inner.kill.cancel();
        let error = shutdown_error();
        let mut failed = 0;
        for (task_id, _) in &stragglers {
            match inner.registry.fail(task_id, &error).await {
                Ok(write) => {
                    failed += usize::from(write.is_applied());
                    inner.after_terminal(&write).await;
                }
                // The task finished on its own at the last moment: its own write stands.
                Err(TaskError::Conflict { .. }) => {}
                Err(error) => tracing::error!(
                    task_id = %task_id,
                    error = %error,
                    "could not fail a task at shutdown; its lease will expire and a reaper will fail it"
                ),
            }
        }
        // Work abandoned mid-terminal-write finishes that write; give it a moment.
        let _ = tokio::time::timeout(Duration::from_secs(5), inner.tracker.wait()).await;
        ShutdownReport {
            finished: before.saturating_sub(stragglers.len()),
            failed,
        }
    }
}

impl Drop for TaskRuntime {
    fn drop(&mut self) {
        self.inner.accepting.store(false, Ordering::Release);
        self.inner.kill.cancel();
    }
}

/// The error of a task still running when the runtime shut down.
pub(crate) fn shutdown_error() -> AdcpError {
    AdcpError::new(
        codes::SERVICE_UNAVAILABLE,
        "the seller shut down before this task finished; submit the request again",
    )
    .with_recovery(Recovery::Transient)
}

/// The error of a task whose worker died (its lease expired).
pub(crate) fn reaped_error() -> AdcpError {
    AdcpError::new(
        codes::SERVICE_UNAVAILABLE,
        "the seller stopped while working on this task; submit the request again",
    )
    .with_recovery(Recovery::Transient)
}
