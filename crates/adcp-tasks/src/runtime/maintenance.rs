//! The runtime's maintenance loop: renew the leases of running tasks, notice tasks that ended
//! elsewhere, and (durable registries) reap tasks whose worker died.

use std::sync::Arc;

use tokio::time::{MissedTickBehavior, interval};

use super::{RuntimeInner, reaped_error};
use crate::error::TaskError;
use crate::model::TaskId;

pub(crate) async fn run(inner: Arc<RuntimeInner>) {
    let mut heartbeat = interval(inner.config.heartbeat_interval);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut reaper = interval(inner.config.reaper_interval);
    reaper.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let reaps = inner.registry.is_durable();
    loop {
        tokio::select! {
            biased;
            () = inner.kill.cancelled() => return,
            _ = heartbeat.tick() => heartbeat_once(&inner).await,
            _ = reaper.tick(), if reaps => {
                if let Err(error) = reap_once(&inner).await {
                    tracing::warn!(error = %error, "reaper pass failed; retrying next interval");
                }
            }
        }
    }
}

/// Renews the leases of this worker's running tasks; signals the cancellation token of any
/// task the registry says is no longer running here.
async fn heartbeat_once(inner: &RuntimeInner) {
    let running: Vec<TaskId> = inner
        .running
        .iter()
        .map(|entry| entry.key().clone())
        .collect();
    if running.is_empty() {
        return;
    }
    match inner
        .registry
        .heartbeat(&inner.worker, &running, inner.config.lease_duration)
        .await
    {
        Ok(alive) => {
            for task_id in running.iter().filter(|id| !alive.contains(id)) {
                if let Some(token) = inner.running.get(task_id) {
                    tracing::info!(task_id = %task_id, "task ended elsewhere; signalling its work");
                    token.cancel();
                }
            }
        }
        Err(error) => tracing::warn!(error = %error, "heartbeat failed; leases may expire"),
    }
}

/// One reaper pass; calls the terminal callback for every task it failed.
pub(crate) async fn reap_once(inner: &RuntimeInner) -> Result<usize, TaskError> {
    let reaped = inner
        .registry
        .reap_expired(&reaped_error(), inner.config.reap_batch)
        .await?;
    for record in &reaped {
        tracing::warn!(
            task_id = %record.task_id,
            task_type = %record.task_type,
            "task's worker stopped heartbeating; failed it as transient"
        );
        if let Some(callback) = &inner.callback {
            callback.on_terminal(record).await;
        }
    }
    Ok(reaped.len())
}
