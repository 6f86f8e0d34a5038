//! Stopping without losing work: the order a SIGTERM starts, and the background jobs a server
//! owns (outbox workers, retention) that must outlive the last task.
//!
//! ```text
//! signal ─ drain: new calls refused (transient SERVICE_UNAVAILABLE), polling still answered
//!        ─ tasks: wait up to `task_deadline`; the rest fail as retryable (each a terminal webhook)
//!        ─ webhooks: an in-memory supervisor delivers what it holds, up to `webhook_deadline`
//!        ─ background jobs (outbox workers) stopped: in-flight attempts settle, the rest stay
//!          in the outbox for the next process
//!        ─ HTTP: stop accepting, close connections gracefully
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long each stage of a stop may take. The defaults fit Kubernetes' 30-second termination
/// grace period: tasks 15 s, then webhooks and background jobs 5 s together, then the
/// connections' own graceful close (5 s by default, [`crate::ConnectionLimits`]): 25 s.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StopPolicy {
    /// How long running tasks may take to finish; those still running then fail with a
    /// transient error (the buyer may retry) and get their terminal webhook.
    pub task_deadline: Duration,
    /// How long an in-memory supervisor may take to deliver what it holds and the background
    /// jobs to wind down, together.
    pub webhook_deadline: Duration,
}

impl Default for StopPolicy {
    fn default() -> Self {
        Self {
            task_deadline: Duration::from_secs(15),
            webhook_deadline: Duration::from_secs(5),
        }
    }
}

impl StopPolicy {
    /// A policy with this task deadline.
    #[must_use]
    pub fn with_task_deadline(mut self, deadline: Duration) -> Self {
        self.task_deadline = deadline;
        self
    }

    /// A policy with this webhook deadline.
    #[must_use]
    pub fn with_webhook_deadline(mut self, deadline: Duration) -> Self {
        self.webhook_deadline = deadline;
        self
    }
}

/// What a stop did. Logged by [`crate::AdcpServer::stop`] as well.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StopReport {
    /// Tasks that finished on their own during the drain.
    pub tasks_finished: usize,
    /// Tasks failed (retryable) because they outran the task deadline.
    pub tasks_failed: usize,
    /// Terminal webhooks still held in memory when the process gave up on them: lost. Always 0
    /// with a PostgreSQL outbox, whose rows wait for the next worker.
    pub webhooks_undelivered: usize,
    /// Background jobs that had not returned by the webhook deadline (aborted).
    pub background_jobs_aborted: usize,
}

/// A job the server runs until it stops, e.g. an outbox worker.
pub(crate) type BackgroundJob =
    Box<dyn FnOnce(CancellationToken) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// The running background jobs and the token that stops them.
#[derive(Debug, Default)]
pub(crate) struct Background {
    stop: CancellationToken,
    running: Mutex<Vec<(String, JoinHandle<()>)>>,
}

impl Background {
    /// Spawns every job on the current runtime.
    pub(crate) fn start(jobs: Vec<(String, BackgroundJob)>) -> Self {
        let stop = CancellationToken::new();
        let running = jobs
            .into_iter()
            .map(|(name, job)| (name, tokio::spawn(job(stop.child_token()))))
            .collect();
        Self {
            stop,
            running: Mutex::new(running),
        }
    }

    /// Signals every job to stop and waits up to `deadline` for them; returns how many were
    /// aborted. A second call finds nothing left to stop.
    pub(crate) async fn stop(&self, deadline: Duration) -> usize {
        self.stop.cancel();
        let running =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(PoisonError::into_inner));
        let now = tokio::time::Instant::now();
        // A deadline too far to represent means "wait as long as it takes".
        let until = now
            .checked_add(deadline)
            .unwrap_or_else(|| now + Duration::from_hours(24 * 365));
        let mut aborted = 0;
        for (name, mut handle) in running {
            if tokio::time::timeout_at(until, &mut handle).await.is_err() {
                tracing::warn!(job = %name, "a background job outran the shutdown deadline; aborted");
                handle.abort();
                aborted += 1;
            }
        }
        aborted
    }
}

/// Resolves on SIGTERM (what Docker, Kubernetes and systemd send) or SIGINT (Ctrl-C).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; stopping"),
                    _ = terminate.recv() => tracing::info!("SIGTERM received; stopping"),
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the server");
            }
        }
    }
    if tokio::signal::ctrl_c().await.is_ok() {
        tracing::info!("SIGINT received; stopping");
    } else {
        // No signal can be received at all: only the shutdown token stops the server.
        std::future::pending::<()>().await;
    }
}
