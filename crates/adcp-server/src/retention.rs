//! Retention for the PostgreSQL stores (feature `postgres`): a periodic job that deletes what
//! no buyer or operator can still need.
//!
//! - finished tasks (`completed`, `failed`, `canceled`) whose terminal write is older than
//!   [`RetentionConfig::finished_tasks`] (default 30 days) — running tasks are never touched;
//! - delivered webhook outbox rows, and their attempt logs, older than
//!   [`RetentionConfig::delivered_webhooks`] (default 7 days);
//! - dead webhook outbox rows, and their attempt logs, older than
//!   [`RetentionConfig::dead_webhooks`] (default 30 days; until then operators can replay them);
//! - idempotency keys past the store's own replay TTL (`PgIdempotencyStore::with_ttl`, default
//!   24 hours) or abandoned claims.
//!
//! Every purge is an independent, idempotent `DELETE`, so several replicas may run the job at
//! once. A failing purge is logged and retried at the next round; it never stops the others.

use std::sync::Arc;
use std::time::Duration;

use adcp_tasks::pg::PgTaskRegistry;
use adcp_webhooks::outbox::PgOutbox;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::idempotency::PgIdempotencyStore;

/// How long finished records are kept, and how often the job runs. The defaults are the
/// documented ones above; [`RetentionConfig::default`] returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Time between two rounds (default 1 hour). The first round runs at once.
    pub interval: Duration,
    /// Finished tasks are kept this long after their terminal write (default 30 days).
    pub finished_tasks: Duration,
    /// Delivered outbox rows are kept this long after delivery (default 7 days).
    pub delivered_webhooks: Duration,
    /// Dead outbox rows are kept (and replayable) this long after dying (default 30 days).
    pub dead_webhooks: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_hours(1),
            finished_tasks: Duration::from_hours(30 * 24),
            delivered_webhooks: Duration::from_hours(7 * 24),
            dead_webhooks: Duration::from_hours(30 * 24),
        }
    }
}

/// What one round deleted; `None` where the store is not configured or its purge failed (the
/// failure is logged).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Finished tasks deleted.
    pub finished_tasks: Option<u64>,
    /// Delivered outbox rows deleted.
    pub delivered_webhooks: Option<u64>,
    /// Dead outbox rows deleted.
    pub dead_webhooks: Option<u64>,
    /// Expired idempotency keys deleted.
    pub idempotency_keys: Option<u64>,
}

/// The retention job over whichever PostgreSQL stores it is given.
#[derive(Debug, Clone)]
pub struct RetentionJob {
    config: RetentionConfig,
    tasks: Option<Arc<PgTaskRegistry>>,
    outbox: Option<PgOutbox>,
    idempotency: Option<PgIdempotencyStore>,
}

impl RetentionJob {
    /// A job with `config` and no stores yet.
    pub fn new(config: RetentionConfig) -> Self {
        Self {
            config,
            tasks: None,
            outbox: None,
            idempotency: None,
        }
    }

    /// Purges this registry's finished tasks.
    #[must_use]
    pub fn tasks(mut self, registry: Arc<PgTaskRegistry>) -> Self {
        self.tasks = Some(registry);
        self
    }

    /// Purges this outbox's delivered and dead rows.
    #[must_use]
    pub fn outbox(mut self, outbox: PgOutbox) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Purges this store's expired idempotency keys.
    #[must_use]
    pub fn idempotency(mut self, store: PgIdempotencyStore) -> Self {
        self.idempotency = Some(store);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &RetentionConfig {
        &self.config
    }

    /// Runs every configured purge once; each failure is logged and leaves its field `None`.
    pub async fn run_once(&self) -> RetentionReport {
        let config = &self.config;
        let mut report = RetentionReport::default();
        if let Some(tasks) = &self.tasks {
            report.finished_tasks = logged(
                "finished tasks",
                tasks.purge_finished(config.finished_tasks).await,
            );
        }
        if let Some(outbox) = &self.outbox {
            report.delivered_webhooks = logged(
                "delivered webhooks",
                outbox.purge_delivered(config.delivered_webhooks).await,
            );
            report.dead_webhooks = logged(
                "dead webhooks",
                outbox.purge_dead(config.dead_webhooks).await,
            );
        }
        if let Some(idempotency) = &self.idempotency {
            report.idempotency_keys = logged("idempotency keys", idempotency.purge_expired().await);
        }
        tracing::debug!(?report, "retention round done");
        report
    }

    /// Runs a round at once and then every [`RetentionConfig::interval`], until `shutdown` is
    /// cancelled (a round in progress finishes first). Returns when stopped.
    pub async fn run(self, shutdown: CancellationToken) {
        let span = tracing::info_span!("adcp.retention");
        async {
            let mut every = tokio::time::interval(self.config.interval.max(Duration::from_secs(1)));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tracing::info!("retention job started");
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = every.tick() => {}
                }
                self.run_once().await;
            }
            tracing::info!("retention job stopped");
        }
        .instrument(span)
        .await;
    }
}

fn logged<E: std::fmt::Display>(what: &'static str, outcome: Result<u64, E>) -> Option<u64> {
    match outcome {
        Ok(deleted) => {
            if deleted > 0 {
                tracing::info!(deleted, what, "retention purge");
            }
            Some(deleted)
        }
        Err(error) => {
            tracing::warn!(what, error = %error, "retention purge failed; retried next round");
            None
        }
    }
}
