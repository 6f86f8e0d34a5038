//! The outbox delivery worker: claim a batch under a lease, send concurrently outside any
//! transaction, then settle the batch and log its attempts in one transaction.

use std::time::Duration;

use futures::{FutureExt as _, StreamExt as _};
use sqlx::Row as _;
use sqlx::postgres::PgListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::PgOutbox;
use super::schema::WAKE_CHANNEL;
use crate::config::WebhookAuth;
use crate::error::WebhookError;
use crate::retry::{AttemptOutcome, FailureKind, RetryPolicy};
use crate::sender::{AttemptReport, OutboundWebhook, WebhookSender};

/// How one worker claims and delivers.
#[derive(Debug, Clone)]
pub struct OutboxWorkerConfig {
    /// Recorded on leases and attempts; unique per worker helps operators.
    pub worker_id: String,
    /// Rows claimed per round trip.
    pub batch_size: i64,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// How long a claim is exclusive; must exceed the sender's request timeout. A worker that
    /// dies holds its rows this long before another worker takes them over.
    pub lease: Duration,
    /// How often to look for due rows when no wake-up arrives (retries, missed notifications).
    pub poll_interval: Duration,
    /// How often to dead-letter rows whose horizon passed while no worker ran.
    pub sweep_interval: Duration,
    /// Backoff between attempts (its `horizon` is not used: each row stores its own).
    pub retry: RetryPolicy,
}

impl Default for OutboxWorkerConfig {
    fn default() -> Self {
        Self {
            worker_id: format!("worker-{}", uuid::Uuid::new_v4().simple()),
            batch_size: 64,
            concurrency: 64,
            lease: Duration::from_mins(1),
            poll_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

struct Claimed {
    id: i64,
    idempotency_key: String,
    task_id: String,
    url: String,
    body: Vec<u8>,
    auth: Result<WebhookAuth, WebhookError>,
    attempt: i32,
}

struct Settlement {
    id: i64,
    attempt: i32,
    report: AttemptReport,
}

impl PgOutbox {
    /// Runs one worker until `shutdown` is cancelled. Any number of workers, in any number of
    /// processes, may run against the same table; each row is attempted by one worker at a
    /// time. Database errors are logged and retried after the poll interval.
    pub async fn run_worker(
        &self,
        sender: WebhookSender,
        config: OutboxWorkerConfig,
        shutdown: CancellationToken,
    ) -> Result<(), WebhookError> {
        // A batch runs in ceil(batch / concurrency) waves of at most one request timeout each;
        // the lease must outlast them all, or another worker would re-send rows still in flight.
        let concurrency = u32::try_from(config.concurrency.max(1)).unwrap_or(u32::MAX);
        let batch = u32::try_from(config.batch_size.max(1)).unwrap_or(u32::MAX);
        let waves = batch.div_ceil(concurrency);
        if config.lease <= sender.request_timeout().saturating_mul(waves) + Duration::from_secs(1) {
            return Err(WebhookError::InvalidConfig(
                "lease must exceed the sender's request timeout times ceil(batch_size / concurrency)",
            ));
        }
        let span = tracing::info_span!("webhook.outbox_worker", worker_id = %config.worker_id);
        self.worker_loop(sender, config, shutdown)
            .instrument(span)
            .await;
        Ok(())
    }

    async fn worker_loop(
        &self,
        sender: WebhookSender,
        config: OutboxWorkerConfig,
        shutdown: CancellationToken,
    ) {
        let mut listener = self.listen().await;
        let mut next_sweep = Instant::now();
        tracing::info!("outbox worker started");
        while !shutdown.is_cancelled() {
            if Instant::now() >= next_sweep {
                if let Err(error) = self.expire_overdue().await {
                    tracing::warn!(error = %error, "outbox horizon sweep failed");
                }
                next_sweep = Instant::now() + config.sweep_interval;
            }
            let batch = match self.claim(&config).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::warn!(error = %error, "outbox claim failed; retrying after the poll interval");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(config.poll_interval) => continue,
                    }
                }
            };
            let full = i64::try_from(batch.rows.len()).unwrap_or(i64::MAX) >= config.batch_size;
            if !batch.rows.is_empty() {
                let settlements = deliver_batch(&sender, batch.rows, config.concurrency).await;
                if let Err(error) = self.settle(&batch.lease_token, &settlements, &config).await {
                    // The leases lapse and the rows are re-attempted: at-least-once, same key.
                    tracing::warn!(error = %error, "outbox settle failed; rows will be re-attempted after their lease");
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wait_for_wake(&mut listener, config.poll_interval) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    async fn listen(&self) -> Option<PgListener> {
        let attempt = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(WAKE_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        match attempt.await {
            Ok(listener) => Some(listener),
            Err(error) => {
                tracing::warn!(error = %error, "LISTEN failed; the worker falls back to polling");
                None
            }
        }
    }

    async fn claim(&self, config: &OutboxWorkerConfig) -> Result<Batch, WebhookError> {
        let lease_token = uuid::Uuid::new_v4().simple().to_string();
        let rows = sqlx::query(
            "WITH due AS ( \
                 SELECT id FROM adcp_webhook_outbox \
                 WHERE state IN ('pending', 'in_flight') AND available_at <= now() AND retry_until >= now() \
                 ORDER BY available_at, id \
                 LIMIT $1 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE adcp_webhook_outbox o \
             SET state = 'in_flight', lease_token = $2, leased_by = $3, \
                 available_at = now() + make_interval(secs => $4), \
                 attempt_count = o.attempt_count + 1, updated_at = now() \
             FROM due WHERE o.id = due.id \
             RETURNING o.id, o.idempotency_key, o.task_id, o.url, o.body, o.auth_scheme, o.auth_credentials, \
                 o.attempt_count",
        )
        .bind(config.batch_size)
        .bind(&lease_token)
        .bind(&config.worker_id)
        .bind(config.lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        let rows = rows
            .iter()
            .map(|row| {
                Ok(Claimed {
                    id: row.try_get("id")?,
                    idempotency_key: row.try_get("idempotency_key")?,
                    task_id: row.try_get("task_id")?,
                    url: row.try_get("url")?,
                    body: row.try_get("body")?,
                    auth: self.stored_auth(row),
                    attempt: row.try_get("attempt_count")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        if !rows.is_empty() {
            tracing::debug!(rows = rows.len(), "outbox rows claimed");
        }
        Ok(Batch { lease_token, rows })
    }

    /// Records every outcome of a batch and its attempt log in one transaction. Rows whose lease
    /// was lost meanwhile (another worker re-claimed them) are left alone.
    async fn settle(
        &self,
        lease_token: &str,
        settlements: &[Settlement],
        config: &OutboxWorkerConfig,
    ) -> Result<(), WebhookError> {
        let mut ids = Vec::with_capacity(settlements.len());
        let mut kinds = Vec::with_capacity(settlements.len());
        let mut delays = Vec::with_capacity(settlements.len());
        let mut statuses = Vec::with_capacity(settlements.len());
        let mut errors = Vec::with_capacity(settlements.len());
        let mut attempts = Vec::with_capacity(settlements.len());
        let mut outcomes = Vec::with_capacity(settlements.len());
        let mut elapsed = Vec::with_capacity(settlements.len());
        for s in settlements {
            let (kind, delay, error) = match s.report.outcome {
                AttemptOutcome::Delivered => ("delivered", 0.0, None),
                AttemptOutcome::Retryable(failure) => {
                    let attempts_made = u32::try_from(s.attempt).unwrap_or(1);
                    let delay = config
                        .retry
                        .delay_after(attempts_made, s.report.retry_after);
                    ("retry", delay.as_secs_f64(), Some(failure.label()))
                }
                AttemptOutcome::Terminal(failure) => (
                    "terminal",
                    0.0,
                    Some(format!("terminal:{}", failure.label())),
                ),
            };
            ids.push(s.id);
            kinds.push(kind);
            delays.push(delay);
            statuses.push(s.report.http_status.map(i32::from));
            errors.push(error);
            attempts.push(s.attempt);
            outcomes.push(s.report.outcome.label());
            elapsed.push(i32::try_from(s.report.elapsed.as_millis()).unwrap_or(i32::MAX));
        }
        let mut tx = self.pool.begin().await?;
        let settled = sqlx::query(
            "WITH d AS ( \
                 SELECT d.id, d.kind, now() + make_interval(secs => d.delay_secs) AS next_at, d.http_status, d.error \
                 FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::int4[], $5::text[]) \
                     AS d(id, kind, delay_secs, http_status, error)) \
             UPDATE adcp_webhook_outbox o SET \
                 state = CASE WHEN d.kind = 'delivered' THEN 'delivered' \
                              WHEN d.kind = 'retry' AND d.next_at <= o.retry_until THEN 'pending' \
                              ELSE 'dead' END, \
                 available_at = CASE WHEN d.kind = 'retry' THEN d.next_at ELSE o.available_at END, \
                 delivered_at = CASE WHEN d.kind = 'delivered' THEN now() ELSE o.delivered_at END, \
                 dead_at = CASE WHEN d.kind = 'terminal' OR (d.kind = 'retry' AND d.next_at > o.retry_until) \
                                THEN now() ELSE NULL END, \
                 dead_reason = CASE WHEN d.kind = 'terminal' THEN d.error \
                                    WHEN d.kind = 'retry' AND d.next_at > o.retry_until THEN 'horizon' \
                                    ELSE NULL END, \
                 last_http_status = d.http_status, last_error = d.error, \
                 auth_credentials = CASE WHEN d.kind = 'retry' AND d.next_at <= o.retry_until THEN o.auth_credentials ELSE NULL END, \
                 lease_token = NULL, leased_by = NULL, updated_at = now() \
             FROM d \
             WHERE o.id = d.id AND o.lease_token = $6 AND o.state = 'in_flight' \
             RETURNING o.id, o.state, o.task_id, o.dead_reason",
        )
        .bind(&ids)
        .bind(&kinds)
        .bind(&delays)
        .bind(&statuses)
        .bind(&errors)
        .bind(lease_token)
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO adcp_webhook_attempts (outbox_id, attempt, outcome, http_status, elapsed_ms, worker) \
             SELECT a.outbox_id, a.attempt, a.outcome, a.http_status, a.elapsed_ms, $6 \
             FROM unnest($1::bigint[], $2::int4[], $3::text[], $4::int4[], $5::int4[]) \
                 AS a(outbox_id, attempt, outcome, http_status, elapsed_ms)",
        )
        .bind(&ids)
        .bind(&attempts)
        .bind(&outcomes)
        .bind(&statuses)
        .bind(&elapsed)
        .bind(&config.worker_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        for row in &settled {
            let state: String = row.try_get("state")?;
            if state == "dead" {
                let id: i64 = row.try_get("id")?;
                let task_id: String = row.try_get("task_id")?;
                let reason: Option<String> = row.try_get("dead_reason")?;
                tracing::warn!(outbox_id = id, task_id = %task_id, reason = reason.as_deref().unwrap_or(""), "webhook delivery dead-lettered");
            }
        }
        Ok(())
    }

    /// Dead-letters rows whose horizon passed before a worker reached them.
    async fn expire_overdue(&self) -> Result<u64, WebhookError> {
        let done = sqlx::query(
            "UPDATE adcp_webhook_outbox SET state = 'dead', dead_at = now(), dead_reason = 'horizon', \
                 auth_credentials = NULL, \
                 lease_token = NULL, leased_by = NULL, updated_at = now() \
             WHERE state IN ('pending', 'in_flight') AND available_at <= now() AND retry_until < now()",
        )
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            tracing::warn!(
                rows = done.rows_affected(),
                "webhook deliveries dead-lettered at the horizon"
            );
        }
        Ok(done.rows_affected())
    }
}

struct Batch {
    lease_token: String,
    rows: Vec<Claimed>,
}

async fn deliver_one(sender: &WebhookSender, row: Claimed) -> Settlement {
    let report = match &row.auth {
        Ok(auth) => {
            let span = tracing::info_span!(
                "webhook.delivery",
                outbox_id = row.id,
                attempt = row.attempt
            );
            sender
                .send(&OutboundWebhook {
                    url: &row.url,
                    auth,
                    body: &row.body,
                    idempotency_key: &row.idempotency_key,
                    task_id: &row.task_id,
                })
                .instrument(span)
                .await
        }
        Err(_) => AttemptReport {
            outcome: AttemptOutcome::Terminal(FailureKind::Misconfigured),
            http_status: None,
            retry_after: None,
            elapsed: Duration::ZERO,
        },
    };
    Settlement {
        id: row.id,
        attempt: row.attempt,
        report,
    }
}

async fn deliver_batch(
    sender: &WebhookSender,
    rows: Vec<Claimed>,
    concurrency: usize,
) -> Vec<Settlement> {
    futures::stream::iter(rows)
        .map(|row| deliver_one(sender, row))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

/// Waits for a NOTIFY or the poll interval, then swallows notifications already received, so
/// a burst of enqueues costs one claim rather than one per notification.
async fn wait_for_wake(listener: &mut Option<PgListener>, poll_interval: Duration) {
    let Some(active) = listener.as_mut() else {
        tokio::time::sleep(poll_interval).await;
        return;
    };
    match tokio::time::timeout(poll_interval, active.try_recv()).await {
        Ok(Ok(Some(_) | None)) | Err(_) => {}
        Ok(Err(error)) => {
            tracing::warn!(error = %error, "LISTEN connection failed; polling until it is re-established");
            tokio::time::sleep(poll_interval).await;
        }
    }
    for _ in 0..10_000 {
        match active.try_recv().now_or_never() {
            Some(Ok(Some(_))) => {}
            _ => break,
        }
    }
}
