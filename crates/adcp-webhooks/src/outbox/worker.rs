//! The outbox delivery worker: a continuous pipeline. It keeps up to `concurrency` attempts in
//! flight, claims more rows (each under its own lease) whenever slots free up, and settles each
//! row as soon as its attempt ends, so one slow receiver holds one slot, never a batch.
//!
//! Fairness: a host never has more than `per_host_concurrency` attempts in flight from one
//! worker (rows for a host at its limit are not claimed), and a host whose circuit breaker is
//! open is not claimed for until it may be probed, so a failing or hung receiver cannot occupy
//! the slots other receivers' webhooks need.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use sqlx::Row as _;
use sqlx::postgres::PgListener;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use super::PgOutbox;
use super::schema::WAKE_CHANNEL;
use crate::breaker::{BreakerPolicy, Breakers};
use crate::config::WebhookAuth;
use crate::error::WebhookError;
use crate::retry::{AttemptOutcome, FailureKind, RetryPolicy};
use crate::sender::{AttemptReport, OutboundWebhook, WebhookSender};

/// How much longer than the sender's request timeout a lease must last: the attempt starts as
/// soon as its row is claimed and is settled as soon as it ends.
const LEASE_MARGIN: Duration = Duration::from_secs(1);

/// The most completed attempts settled in one transaction.
const SETTLE_BATCH: usize = 64;

/// The host key of a row, computed identically for claims and exclusions: the URL's authority
/// (host and port as written), lower-cased; empty when the URL has none.
const HOST_KEY_SQL: &str = "coalesce(lower(substring(url from '://([^/?#]*)')), '')";

/// How one worker claims and delivers.
#[derive(Debug, Clone)]
pub struct OutboxWorkerConfig {
    /// Recorded on leases and attempts; unique per worker helps operators.
    pub worker_id: String,
    /// The most rows claimed per round trip (never more than the free slots).
    pub batch_size: i64,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Attempts in flight at once to one host (`host:port` as written in the URL).
    pub per_host_concurrency: usize,
    /// When a host's circuit opens, and for how long its rows are left alone.
    pub breaker: BreakerPolicy,
    /// How long a claim of one row is exclusive; must exceed the sender's request timeout by
    /// more than a second. A worker that dies holds its rows this long before another worker
    /// takes them over.
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
            per_host_concurrency: 8,
            breaker: BreakerPolicy::default(),
            lease: Duration::from_mins(1),
            poll_interval: Duration::from_secs(1),
            sweep_interval: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }
}

struct Claimed {
    id: i64,
    lease_token: Arc<str>,
    host: String,
    idempotency_key: String,
    task_id: String,
    url: String,
    /// The plaintext body (opened when sealed); an error makes the attempt misconfigured.
    body: Result<Vec<u8>, WebhookError>,
    /// The authentication (credentials opened when sealed); an error makes the attempt
    /// misconfigured.
    auth: Result<WebhookAuth, WebhookError>,
    attempt: i32,
}

struct Settlement {
    id: i64,
    lease_token: Arc<str>,
    host: String,
    attempt: i32,
    report: AttemptReport,
}

/// What the claim query must leave alone or limit.
struct ClaimLimits {
    /// Rows to claim at most.
    rows: i64,
    /// Hosts to claim nothing for (at their in-flight limit, or circuit open).
    paused: Vec<String>,
    /// Hosts with a smaller budget than `per_host_concurrency`, and that budget.
    budget_hosts: Vec<String>,
    budgets: Vec<i32>,
}

/// The worker's in-memory state: attempts in flight, per host, and the circuit breakers.
struct Pipeline {
    in_flight: JoinSet<Settlement>,
    /// The host of each running attempt task, to free its slot even if the task panicked.
    tasks: HashMap<tokio::task::Id, String>,
    host_load: HashMap<String, usize>,
    breakers: Breakers,
}

impl Pipeline {
    fn start(&mut self, sender: &WebhookSender, row: Claimed) {
        *self.host_load.entry(row.host.clone()).or_default() += 1;
        let host = row.host.clone();
        let handle = self.in_flight.spawn(deliver_one(sender.clone(), row));
        self.tasks.insert(handle.id(), host);
    }

    fn finish(&mut self, task: tokio::task::Id) {
        let Some(host) = self.tasks.remove(&task) else {
            return;
        };
        if let Some(load) = self.host_load.get_mut(&host) {
            *load = load.saturating_sub(1);
            if *load == 0 {
                self.host_load.remove(&host);
            }
        }
    }

    /// What the next claim may take, given `free` slots.
    fn limits(&self, config: &OutboxWorkerConfig, free: usize) -> ClaimLimits {
        let per_host = config.per_host_concurrency.max(1);
        let (open, probing) = self.breakers.paused_and_probing(Instant::now());
        let mut paused: Vec<String> = open.into_iter().map(str::to_owned).collect();
        let mut budget_hosts = Vec::new();
        let mut budgets = Vec::new();
        for (host, &load) in &self.host_load {
            if load >= per_host {
                paused.push(host.clone());
            } else {
                budget_hosts.push(host.clone());
                budgets.push(i32::try_from(per_host - load).unwrap_or(i32::MAX));
            }
        }
        // A host due for its half-open probe gets one row; `admit` lets exactly one through.
        for host in probing {
            if !self.host_load.contains_key(host) {
                budget_hosts.push(host.to_owned());
                budgets.push(1);
            }
        }
        ClaimLimits {
            rows: i64::try_from(free)
                .unwrap_or(i64::MAX)
                .min(config.batch_size.max(1)),
            paused,
            budget_hosts,
            budgets,
        }
    }
}

impl PgOutbox {
    /// Runs one worker until `shutdown` is cancelled. Any number of workers, in any number of
    /// processes, may run against the same table; each row is attempted by one worker at a
    /// time, under its own lease, and settled only under that lease. Database errors are logged
    /// and retried after the poll interval.
    ///
    /// On `shutdown` the worker stops claiming, lets the attempts in flight finish (each is
    /// bounded by the sender's request timeout), settles them, and only then returns, so a
    /// graceful stop loses no attempt's outcome.
    pub async fn run_worker(
        &self,
        sender: WebhookSender,
        config: OutboxWorkerConfig,
        shutdown: CancellationToken,
    ) -> Result<(), WebhookError> {
        // Each row's attempt starts when it is claimed and ends within one request timeout; the
        // lease must outlast it, or another worker would re-send a row still in flight.
        if config.lease <= sender.request_timeout() + LEASE_MARGIN {
            return Err(WebhookError::InvalidConfig(
                "lease must exceed the sender's request timeout by more than one second",
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
        let mut pipeline = Pipeline {
            in_flight: JoinSet::new(),
            tasks: HashMap::new(),
            host_load: HashMap::new(),
            breakers: Breakers::new(config.breaker),
        };
        let concurrency = config.concurrency.max(1);
        let mut next_sweep = Instant::now();
        let mut want_claim = true;
        let mut stopping = false;
        tracing::info!("outbox worker started");
        loop {
            if !stopping && shutdown.is_cancelled() {
                stopping = true;
                tracing::info!(
                    in_flight = pipeline.in_flight.len(),
                    "outbox worker stopping; finishing attempts in flight"
                );
            }
            if stopping && pipeline.in_flight.is_empty() {
                break;
            }
            if !stopping && Instant::now() >= next_sweep {
                if let Err(error) = self.expire_overdue().await {
                    tracing::warn!(error = %error, "outbox horizon sweep failed");
                }
                next_sweep = Instant::now() + config.sweep_interval;
            }
            let free = concurrency.saturating_sub(pipeline.in_flight.len());
            if !stopping && want_claim && free > 0 {
                let limits = pipeline.limits(&config, free);
                match self.claim(&config, &limits).await {
                    Ok(rows) => {
                        // A full claim suggests more rows are due: claim again while slots last.
                        want_claim = i64::try_from(rows.len()).unwrap_or(i64::MAX) >= limits.rows;
                        self.start_claimed(&sender, &mut pipeline, rows).await;
                    }
                    Err(error) => {
                        tracing::warn!(error = %error, "outbox claim failed; retrying after the poll interval");
                        want_claim = true;
                        tokio::select! {
                            () = shutdown.cancelled() => {}
                            () = tokio::time::sleep(config.poll_interval) => {}
                            Some(done) = pipeline.in_flight.join_next_with_id(), if !pipeline.in_flight.is_empty() => {
                                self.settle_completed(&mut pipeline, done, &config).await;
                            }
                        }
                        continue;
                    }
                }
                if want_claim && concurrency > pipeline.in_flight.len() {
                    continue;
                }
            }
            let free = concurrency.saturating_sub(pipeline.in_flight.len());
            tokio::select! {
                Some(done) = pipeline.in_flight.join_next_with_id(), if !pipeline.in_flight.is_empty() => {
                    self.settle_completed(&mut pipeline, done, &config).await;
                    // A slot (and maybe a host's budget) freed up.
                    want_claim = true;
                }
                () = shutdown.cancelled(), if !stopping => {}
                () = wait_for_wake(&mut listener, config.poll_interval), if !stopping && free > 0 => {
                    want_claim = true;
                }
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Starts every claimed row the circuit breakers admit; the others go back to `pending`
    /// without counting an attempt, due when their host may be probed.
    async fn start_claimed(
        &self,
        sender: &WebhookSender,
        pipeline: &mut Pipeline,
        rows: Vec<Claimed>,
    ) {
        for row in rows {
            match pipeline.breakers.admit(&row.host, Instant::now()) {
                Ok(()) => pipeline.start(sender, row),
                Err(until) => {
                    let delay = until.saturating_duration_since(Instant::now());
                    tracing::debug!(outbox_id = row.id, "circuit open; outbox row released");
                    if let Err(error) = self.release(&row, delay).await {
                        // The lease lapses and the row is claimed again: no attempt was made.
                        tracing::warn!(error = %error, outbox_id = row.id, "outbox release failed; the row waits for its lease");
                    }
                }
            }
        }
    }

    /// Settles `first` and every other attempt already finished, in one transaction, and
    /// updates the circuit breakers.
    async fn settle_completed(
        &self,
        pipeline: &mut Pipeline,
        first: Result<(tokio::task::Id, Settlement), tokio::task::JoinError>,
        config: &OutboxWorkerConfig,
    ) {
        let mut settlements = Vec::new();
        let mut next = Some(first);
        while let Some(done) = next.take() {
            match done {
                Ok((task, settlement)) => {
                    pipeline.finish(task);
                    let now = Instant::now();
                    match settlement.report.outcome {
                        AttemptOutcome::Retryable(_) => {
                            pipeline.breakers.record_failure(&settlement.host, now);
                        }
                        // A terminal answer means the host is up (misconfigured rows made no
                        // request, and say nothing about the host).
                        AttemptOutcome::Terminal(FailureKind::Misconfigured) => {}
                        AttemptOutcome::Delivered | AttemptOutcome::Terminal(_) => {
                            pipeline.breakers.record_success(&settlement.host);
                        }
                    }
                    settlements.push(settlement);
                }
                Err(error) => {
                    // The row's lease lapses and it is re-attempted with the same key.
                    pipeline.finish(error.id());
                    tracing::error!(error = %error, "outbox attempt task failed; the row will be re-attempted after its lease");
                }
            }
            if settlements.len() < SETTLE_BATCH {
                next = pipeline.in_flight.try_join_next_with_id();
            }
        }
        if settlements.is_empty() {
            return;
        }
        if let Err(error) = self.settle(&settlements, config).await {
            // The leases lapse and the rows are re-attempted: at-least-once, same key.
            tracing::warn!(error = %error, "outbox settle failed; rows will be re-attempted after their lease");
        }
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

    /// Claims up to `limits.rows` due rows, oldest first, skipping paused hosts and taking no
    /// more rows of a host than its budget. Each claimed row is leased for `config.lease`.
    async fn claim(
        &self,
        config: &OutboxWorkerConfig,
        limits: &ClaimLimits,
    ) -> Result<Vec<Claimed>, WebhookError> {
        let lease_token: Arc<str> = Arc::from(uuid::Uuid::new_v4().simple().to_string());
        let per_host = i32::try_from(config.per_host_concurrency.max(1)).unwrap_or(i32::MAX);
        // Candidates are locked first (FOR UPDATE SKIP LOCKED cannot sit next to a window
        // function); the window is wide enough that one busy host cannot crowd out the rest.
        let window = limits
            .rows
            .saturating_mul(4)
            .max(i64::from(per_host).saturating_mul(2));
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH candidates AS ( \
                 SELECT id, available_at, {HOST_KEY_SQL} AS host FROM adcp_webhook_outbox \
                 WHERE state IN ('pending', 'in_flight') AND available_at <= now() AND retry_until >= now() \
                     AND NOT ({HOST_KEY_SQL} = ANY($5::text[])) \
                 ORDER BY available_at, id \
                 LIMIT $6 \
                 FOR UPDATE SKIP LOCKED), \
             ranked AS ( \
                 SELECT c.id, c.available_at, \
                     row_number() OVER (PARTITION BY c.host ORDER BY c.available_at, c.id) AS n, \
                     coalesce(b.budget, $9) AS budget \
                 FROM candidates c \
                 LEFT JOIN unnest($7::text[], $8::int4[]) AS b(host, budget) ON b.host = c.host), \
             due AS ( \
                 SELECT id FROM ranked WHERE n <= budget ORDER BY available_at, id LIMIT $1) \
             UPDATE adcp_webhook_outbox o \
             SET state = 'in_flight', lease_token = $2, leased_by = $3, \
                 available_at = now() + make_interval(secs => $4), \
                 attempt_count = o.attempt_count + 1, updated_at = now() \
             FROM due WHERE o.id = due.id \
             RETURNING o.id, o.idempotency_key, o.task_id, o.url, o.body, o.auth_scheme, o.auth_credentials, \
                 o.attempt_count, {host} AS host_key",
            host = HOST_KEY_SQL.replace("url", "o.url"),
        )))
        .bind(limits.rows)
        .bind(&*lease_token)
        .bind(&config.worker_id)
        .bind(config.lease.as_secs_f64())
        .bind(&limits.paused)
        .bind(window)
        .bind(&limits.budget_hosts)
        .bind(&limits.budgets)
        .bind(per_host)
        .fetch_all(&self.pool)
        .await?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                Ok(Claimed {
                    id: row.try_get("id")?,
                    lease_token: Arc::clone(&lease_token),
                    host: row.try_get("host_key")?,
                    idempotency_key: row.try_get("idempotency_key")?,
                    task_id: row.try_get("task_id")?,
                    url: row.try_get("url")?,
                    body: self.stored_payload(row),
                    auth: self.stored_auth(row),
                    attempt: row.try_get("attempt_count")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // UPDATE ... RETURNING has no order; start the oldest first.
        claimed.sort_by_key(|row| row.id);
        if !claimed.is_empty() {
            tracing::debug!(rows = claimed.len(), "outbox rows claimed");
        }
        Ok(claimed)
    }

    /// Gives a claimed row back without an attempt: `pending` again, due after `delay`, its
    /// attempt count restored. Only under the row's own lease.
    async fn release(&self, row: &Claimed, delay: Duration) -> Result<(), WebhookError> {
        sqlx::query(
            "UPDATE adcp_webhook_outbox SET state = 'pending', \
                 available_at = now() + make_interval(secs => $3), \
                 attempt_count = greatest(attempt_count - 1, 0), \
                 lease_token = NULL, leased_by = NULL, updated_at = now() \
             WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
        )
        .bind(row.id)
        .bind(&*row.lease_token)
        .bind(delay.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records the outcomes of finished attempts and their attempt log in one transaction.
    /// Each row is settled only under its own lease token: rows whose lease was lost meanwhile
    /// (another worker re-claimed them) are left alone.
    async fn settle(
        &self,
        settlements: &[Settlement],
        config: &OutboxWorkerConfig,
    ) -> Result<(), WebhookError> {
        let mut ids = Vec::with_capacity(settlements.len());
        let mut tokens = Vec::with_capacity(settlements.len());
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
            tokens.push(&*s.lease_token);
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
                 SELECT d.id, d.lease_token, d.kind, now() + make_interval(secs => d.delay_secs) AS next_at, \
                     d.http_status, d.error \
                 FROM unnest($1::bigint[], $6::text[], $2::text[], $3::float8[], $4::int4[], $5::text[]) \
                     AS d(id, lease_token, kind, delay_secs, http_status, error)) \
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
             WHERE o.id = d.id AND o.lease_token = d.lease_token AND o.state = 'in_flight' \
             RETURNING o.id, o.state, o.task_id, o.dead_reason",
        )
        .bind(&ids)
        .bind(&kinds)
        .bind(&delays)
        .bind(&statuses)
        .bind(&errors)
        .bind(&tokens)
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

async fn deliver_one(sender: WebhookSender, row: Claimed) -> Settlement {
    let report = match (&row.body, &row.auth) {
        (Ok(body), Ok(auth)) => {
            let span = tracing::info_span!(
                "webhook.delivery",
                outbox_id = row.id,
                attempt = row.attempt
            );
            sender
                .send(&OutboundWebhook {
                    url: &row.url,
                    auth,
                    body,
                    idempotency_key: &row.idempotency_key,
                    task_id: &row.task_id,
                })
                .instrument(span)
                .await
        }
        (Err(_), _) | (_, Err(_)) => AttemptReport {
            outcome: AttemptOutcome::Terminal(FailureKind::Misconfigured),
            http_status: None,
            retry_after: None,
            elapsed: Duration::ZERO,
        },
    };
    Settlement {
        id: row.id,
        lease_token: row.lease_token,
        host: row.host,
        attempt: row.attempt,
        report,
    }
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
