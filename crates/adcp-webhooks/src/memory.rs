//! The in-memory supervisor: a bounded queue, retries with backoff until the horizon, a
//! per-host circuit breaker, a dead-letter list and an attempt log, all in this process.
//!
//! Deliveries are lost if the process stops; use the PostgreSQL outbox where that matters.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::breaker::{BreakerPolicy, Breakers};
use crate::config::redact_url;
use crate::delivery::{DeliverySupervisor, Enqueued, NewDelivery};
use crate::error::WebhookError;
use crate::retry::{AttemptOutcome, RetryPolicy};
use crate::sender::{AttemptReport, OutboundWebhook, WebhookSender};

/// Tunables of [`InMemorySupervisor`].
#[derive(Debug, Clone, Copy)]
pub struct InMemoryConfig {
    /// Deliveries held at once (queued, waiting for a retry, or in flight); more are refused.
    pub capacity: usize,
    /// Attempts in flight at once.
    pub concurrency: usize,
    /// Backoff and horizon.
    pub retry: RetryPolicy,
    /// Per-host circuit breaker.
    pub breaker: BreakerPolicy,
    /// Attempt records kept (oldest dropped first).
    pub attempt_log_capacity: usize,
}

impl Default for InMemoryConfig {
    fn default() -> Self {
        Self {
            capacity: 10_000,
            concurrency: 32,
            retry: RetryPolicy::default(),
            breaker: BreakerPolicy::default(),
            attempt_log_capacity: 10_000,
        }
    }
}

/// One line of the attempt log. Holds no URL path or query, token, credential or signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The delivery's idempotency key.
    pub idempotency_key: String,
    /// The task reported on.
    pub task_id: String,
    /// Scheme, host and port of the receiver.
    pub destination: String,
    /// 1 for the first attempt; 0 for a deferral by an open circuit (no request was made).
    pub attempt: u32,
    /// `delivered`, `retryable:<kind>`, `terminal:<kind>` or `deferred:circuit_open`.
    pub outcome: String,
    /// The response status, if any.
    pub http_status: Option<u16>,
    /// How long the attempt took.
    pub elapsed: Duration,
    /// When the attempt finished.
    pub at: DateTime<Utc>,
}

/// A delivery given up on: terminal response, or horizon passed.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The delivery, as enqueued.
    pub delivery: NewDelivery,
    /// Attempts made.
    pub attempts: u32,
    /// The last outcome (`terminal:http_404`, `retryable:http_503` at the horizon, ...).
    pub reason: String,
}

struct Job {
    delivery: NewDelivery,
    host: String,
    attempts: u32,
    deadline: Instant,
}

#[derive(Default)]
struct Shared {
    live: AtomicUsize,
    seen: Mutex<HashMap<String, Instant>>,
    attempts: Mutex<VecDeque<AttemptRecord>>,
    dead: Mutex<Vec<DeadLetter>>,
}

/// Delivers webhooks from memory with retries; see the module docs.
#[derive(Debug, Clone)]
pub struct InMemorySupervisor {
    shared: Arc<Shared>,
    tx: mpsc::UnboundedSender<Job>,
    config: InMemoryConfig,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn host_of(url: &str) -> String {
    url::Url::parse(url).map_or_else(
        |_| String::new(),
        |u| {
            format!(
                "{}:{}",
                u.host_str().unwrap_or(""),
                u.port_or_known_default().unwrap_or(0)
            )
        },
    )
}

impl InMemorySupervisor {
    /// Starts the dispatcher task on the current tokio runtime. It stops when every handle is dropped.
    pub fn start(sender: WebhookSender, config: InMemoryConfig) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        tokio::spawn(dispatch(sender, config, Arc::clone(&shared), rx));
        Self { shared, tx, config }
    }

    /// Deliveries currently held (queued, waiting or in flight).
    pub fn pending(&self) -> usize {
        self.shared.live.load(Ordering::Acquire)
    }

    /// A copy of the attempt log, oldest first.
    pub fn attempts(&self) -> Vec<AttemptRecord> {
        lock(&self.shared.attempts).iter().cloned().collect()
    }

    /// The deliveries given up on.
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        lock(&self.shared.dead).clone()
    }

    /// Puts a dead letter back in the queue with a fresh horizon (same idempotency key).
    pub fn replay_dead_letter(&self, idempotency_key: &str) -> Result<(), WebhookError> {
        let letter = {
            let mut dead = lock(&self.shared.dead);
            let index = dead
                .iter()
                .position(|d| d.delivery.payload.idempotency_key == idempotency_key)
                .ok_or(WebhookError::UnknownDeadLetter)?;
            dead.remove(index)
        };
        self.submit(letter.delivery)
    }

    /// Waits until nothing is held, or `timeout` passes; returns whether it drained.
    pub async fn wait_idle(&self, timeout: Duration) -> bool {
        let started = Instant::now();
        while self.pending() > 0 {
            if started.elapsed() >= timeout {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    fn submit(&self, delivery: NewDelivery) -> Result<(), WebhookError> {
        let live = self.shared.live.fetch_add(1, Ordering::AcqRel);
        if live >= self.config.capacity {
            self.shared.live.fetch_sub(1, Ordering::AcqRel);
            return Err(WebhookError::QueueFull);
        }
        let job = Job {
            host: host_of(&delivery.url),
            delivery,
            attempts: 0,
            deadline: Instant::now() + self.config.retry.horizon,
        };
        self.tx.send(job).map_err(|_| {
            self.shared.live.fetch_sub(1, Ordering::AcqRel);
            WebhookError::Closed
        })
    }
}

#[async_trait]
impl DeliverySupervisor for InMemorySupervisor {
    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, WebhookError> {
        {
            let mut seen = lock(&self.shared.seen);
            let now = Instant::now();
            let horizon = self.config.retry.horizon;
            seen.retain(|_, at| now.duration_since(*at) < horizon);
            if seen.contains_key(&delivery.dedupe_key) {
                return Ok(Enqueued::Duplicate);
            }
            seen.insert(delivery.dedupe_key.clone(), now);
        }
        let key = delivery.dedupe_key.clone();
        self.submit(delivery).inspect_err(|_| {
            lock(&self.shared.seen).remove(&key);
        })?;
        Ok(Enqueued::Queued)
    }

    /// Waits for the queue to empty (deliveries and their retries), up to `deadline`; returns
    /// the deliveries still held (logged, never their URLs or credentials).
    async fn flush(&self, deadline: Duration) -> usize {
        if self.wait_idle(deadline).await {
            return 0;
        }
        let held = self.pending();
        tracing::warn!(
            undelivered = held,
            "webhooks still queued at shutdown; they are lost when the process exits"
        );
        held
    }
}

struct Scheduled {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

struct Dispatcher {
    sender: WebhookSender,
    config: InMemoryConfig,
    shared: Arc<Shared>,
    heap: BinaryHeap<Reverse<Scheduled>>,
    breakers: Breakers,
    seq: u64,
}

impl Dispatcher {
    fn schedule(&mut self, job: Job, due: Instant) {
        self.seq += 1;
        self.heap.push(Reverse(Scheduled {
            due,
            seq: self.seq,
            job,
        }));
    }

    fn log(&self, record: AttemptRecord) {
        let mut log = lock(&self.shared.attempts);
        if log.len() >= self.config.attempt_log_capacity {
            log.pop_front();
        }
        log.push_back(record);
    }

    fn record(&self, job: &Job, outcome: String, report: Option<&AttemptReport>) {
        self.log(AttemptRecord {
            idempotency_key: job.delivery.payload.idempotency_key.clone(),
            task_id: job.delivery.task_id.clone(),
            destination: redact_url(&job.delivery.url),
            attempt: if report.is_some() { job.attempts } else { 0 },
            outcome,
            http_status: report.and_then(|r| r.http_status),
            elapsed: report.map_or(Duration::ZERO, |r| r.elapsed),
            at: Utc::now(),
        });
    }

    fn finish(&self) {
        self.shared.live.fetch_sub(1, Ordering::AcqRel);
    }

    fn bury(&self, job: Job, reason: String) {
        tracing::warn!(
            task_id = %job.delivery.task_id,
            idempotency_key = %job.delivery.payload.idempotency_key,
            destination = %redact_url(&job.delivery.url),
            attempts = job.attempts,
            reason = %reason,
            "webhook delivery dead-lettered"
        );
        lock(&self.shared.dead).push(DeadLetter {
            delivery: job.delivery,
            attempts: job.attempts,
            reason,
        });
        self.finish();
    }

    fn settle(&mut self, job: Job, report: AttemptReport) {
        let now = Instant::now();
        self.record(&job, report.outcome.label(), Some(&report));
        match report.outcome {
            AttemptOutcome::Delivered => {
                self.breakers.record_success(&job.host);
                self.finish();
            }
            AttemptOutcome::Terminal(_) => {
                self.breakers.record_success(&job.host);
                self.bury(job, report.outcome.label());
            }
            AttemptOutcome::Retryable(_) => {
                self.breakers.record_failure(&job.host, now);
                let due = now
                    + self
                        .config
                        .retry
                        .delay_after(job.attempts, report.retry_after);
                if due > job.deadline {
                    self.bury(job, format!("horizon after {}", report.outcome.label()));
                } else {
                    self.schedule(job, due);
                }
            }
        }
    }
}

async fn attempt(sender: WebhookSender, mut job: Job) -> (Job, AttemptReport) {
    job.attempts += 1;
    let span = tracing::info_span!("webhook.delivery", task_id = %job.delivery.task_id, attempt = job.attempts);
    let report = tracing::Instrument::instrument(
        async {
            sender
                .send(&OutboundWebhook {
                    url: &job.delivery.url,
                    auth: &job.delivery.auth,
                    body: &job.delivery.payload.body,
                    idempotency_key: &job.delivery.payload.idempotency_key,
                    task_id: &job.delivery.task_id,
                })
                .await
        },
        span,
    )
    .await;
    (job, report)
}

async fn dispatch(
    sender: WebhookSender,
    config: InMemoryConfig,
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Job>,
) {
    let mut d = Dispatcher {
        sender,
        config,
        shared,
        heap: BinaryHeap::new(),
        breakers: Breakers::new(config.breaker),
        seq: 0,
    };
    let mut in_flight: JoinSet<(Job, AttemptReport)> = JoinSet::new();
    let mut open = true;
    loop {
        // Start every due job the concurrency limit allows.
        let now = Instant::now();
        while in_flight.len() < d.config.concurrency.max(1)
            && d.heap.peek().is_some_and(|Reverse(next)| next.due <= now)
        {
            let Some(Reverse(next)) = d.heap.pop() else {
                break;
            };
            match d.breakers.admit(&next.job.host, now) {
                Ok(()) => {
                    in_flight.spawn(attempt(d.sender.clone(), next.job));
                }
                Err(until) => {
                    d.record(&next.job, "deferred:circuit_open".into(), None);
                    d.schedule(next.job, until);
                }
            }
        }
        if !open && d.heap.is_empty() && in_flight.is_empty() {
            return;
        }
        let next_due = d.heap.peek().map(|Reverse(s)| s.due);
        let can_start = in_flight.len() < d.config.concurrency.max(1);
        tokio::select! {
            job = rx.recv(), if open => match job {
                Some(job) => d.schedule(job, Instant::now()),
                None => open = false,
            },
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok((job, report)) = done {
                    d.settle(job, report);
                } else {
                    // A panicked attempt task loses its job; keep the live count honest.
                    d.finish();
                }
            }
            () = sleep_until_opt(next_due), if can_start && next_due.is_some() => {}
        }
    }
}

async fn sleep_until_opt(due: Option<Instant>) {
    if let Some(due) = due {
        tokio::time::sleep_until(due).await;
    }
}
