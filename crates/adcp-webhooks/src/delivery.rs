//! The seam between "a webhook must go out" and the machinery that gets it there.

use async_trait::async_trait;

use crate::config::{WebhookAuth, redact_url};
use crate::error::WebhookError;
use crate::payload::PreparedPayload;

/// One logical webhook, serialized once, ready to be delivered (and retried) as is.
#[derive(Clone, PartialEq, Eq)]
pub struct NewDelivery {
    /// Identifies the logical event; enqueueing the same key twice delivers once.
    pub dedupe_key: String,
    /// The receiver URL.
    pub url: String,
    /// How the registration is authenticated.
    pub auth: WebhookAuth,
    /// The body and its idempotency key.
    pub payload: PreparedPayload,
    /// The task reported on.
    pub task_id: String,
    /// The task type (wire value).
    pub task_type: String,
    /// The buyer's `operation_id`, as echoed in the body.
    pub operation_id: Option<String>,
}

impl std::fmt::Debug for NewDelivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewDelivery")
            .field("dedupe_key", &self.dedupe_key)
            .field("destination", &redact_url(&self.url))
            .field("auth", &self.auth.scheme())
            .field("idempotency_key", &self.payload.idempotency_key)
            .field("task_id", &self.task_id)
            .field("task_type", &self.task_type)
            .field("operation_id", &self.operation_id)
            .finish_non_exhaustive()
    }
}

/// What enqueueing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Enqueued {
    /// The delivery was queued.
    Queued,
    /// A delivery with the same dedupe key was already queued (or delivered); nothing was added.
    Duplicate,
}

/// Accepts webhooks for delivery: retries, backoff, horizon and dead-lettering are its job.
///
/// Implementations: [`crate::InMemorySupervisor`] (one process, lost on restart) and, with the
/// `postgres` feature, `PgOutbox` (durable, any number of workers and processes).
#[async_trait]
pub trait DeliverySupervisor: Send + Sync + std::fmt::Debug {
    /// Accepts one logical webhook. At most one delivery exists per `dedupe_key`.
    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, WebhookError>;

    /// Waits up to `deadline` for the accepted webhooks to be delivered (or dead-lettered), and
    /// returns how many this process still holds: the webhooks an exit now would lose. Called
    /// once at shutdown, after the last task settled. The default suits durable supervisors,
    /// whose deliveries outlive the process (it returns 0 at once); a supervisor that holds
    /// deliveries in memory must override it.
    async fn flush(&self, deadline: std::time::Duration) -> usize {
        let _ = deadline;
        0
    }
}
