//! The durable PostgreSQL outbox (feature `postgres`).
//!
//! One row per logical webhook, holding the exact body bytes and the idempotency key, so every
//! attempt by any worker in any process re-sends the same event with a fresh signature. Workers
//! claim due rows with `FOR UPDATE SKIP LOCKED` under a lease and send outside any transaction;
//! a worker that dies mid-delivery simply lets its lease lapse and another worker re-claims the
//! row. A row ends `delivered` or `dead` (terminal answer, or horizon passed); operators list and
//! replay dead rows.
//!
//! [`PgOutbox::enqueue_in`] writes through a caller's connection, so the row commits in the same
//! transaction as the task's terminal state.
//!
//! Secrets at rest: with [`PgOutbox::credentials_key`], a delivery's legacy credentials
//! (Bearer / HMAC-SHA256) and its body (which echoes the buyer's `push_notification_config.token`,
//! as the protocol requires) are stored sealed (`adcp_tasks::pg::CredentialKeys`, each bound to
//! the row's idempotency key and to its column). A sealed body is the ASCII text
//! `adcp-enc:v1:…`, which no JSON body can start with, so bodies stored as plaintext before a
//! key was configured are told apart and still delivered. The worker opens the body when it
//! claims the row and signs and sends the plaintext bytes exactly as enqueued. With or without a
//! key, a row's credentials are cleared once it is delivered or dead (its body stays, so a dead
//! row can be replayed); a credential or body that does not decrypt dead-letters its row as
//! misconfigured (logged without the value). [`PgOutbox::purge_delivered`] and
//! [`PgOutbox::purge_dead`] are the retention purges.

mod schema;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use adcp_tasks::pg::{CredentialError, CredentialKeys, open_if_sealed};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{PgConnection, Row as _};

pub use schema::{ATTEMPTS_TABLE, OUTBOX_TABLE, WAKE_CHANNEL};
pub use worker::OutboxWorkerConfig;

use crate::config::{Secret, WebhookAuth, redact_url};
use crate::delivery::{DeliverySupervisor, Enqueued, NewDelivery};
use crate::error::WebhookError;

/// Where a row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    /// Claimed by a worker whose lease has not expired.
    InFlight,
    /// A receiver answered 2xx.
    Delivered,
    /// Given up on; see `dead_reason`. Operators may replay it.
    Dead,
}

impl DeliveryState {
    fn parse(value: &str) -> Self {
        match value {
            "in_flight" => Self::InFlight,
            "delivered" => Self::Delivered,
            "dead" => Self::Dead,
            _ => Self::Pending,
        }
    }
}

/// An outbox row as operators see it: no body, no credentials, destination without path/query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxDelivery {
    /// The row id.
    pub id: i64,
    /// The logical event's dedupe key.
    pub dedupe_key: String,
    /// The payload's idempotency key.
    pub idempotency_key: String,
    /// The task reported on.
    pub task_id: String,
    /// The task type.
    pub task_type: String,
    /// The buyer's operation id.
    pub operation_id: Option<String>,
    /// Scheme, host and port of the receiver.
    pub destination: String,
    /// Where the row stands.
    pub state: DeliveryState,
    /// Attempts started so far.
    pub attempts: i32,
    /// The last response status.
    pub last_http_status: Option<i32>,
    /// The last failure label (`http_503`, `timeout`, ...).
    pub last_error: Option<String>,
    /// Why the row is dead (`terminal:http_404`, `horizon`, ...).
    pub dead_reason: Option<String>,
    /// When the row was enqueued.
    pub created_at: DateTime<Utc>,
    /// Attempts stop after this instant.
    pub retry_until: DateTime<Utc>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When it was dead-lettered.
    pub dead_at: Option<DateTime<Utc>>,
}

/// One logged attempt of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxAttempt {
    /// 1-based attempt number.
    pub attempt: i32,
    /// `delivered`, `retryable:<kind>` or `terminal:<kind>`.
    pub outcome: String,
    /// The response status, if any.
    pub http_status: Option<i32>,
    /// Duration of the attempt in milliseconds.
    pub elapsed_ms: i32,
    /// The worker that made it.
    pub worker: String,
    /// When it finished.
    pub occurred_at: DateTime<Utc>,
}

/// The PostgreSQL outbox: enqueue, workers, and dead-letter operations.
#[derive(Debug, Clone)]
pub struct PgOutbox {
    pool: PgPool,
    horizon: Duration,
    credentials: Option<Arc<CredentialKeys>>,
}

/// What a row's sealed credentials are bound to: its idempotency key (unique per row).
fn credentials_context(idempotency_key: &str) -> Vec<u8> {
    format!("adcp_webhook_outbox.auth_credentials:{idempotency_key}").into_bytes()
}

/// What a row's sealed body is bound to: its idempotency key, in a context distinct from the
/// credentials', so neither sealed value opens in the other's column.
fn body_context(idempotency_key: &str) -> Vec<u8> {
    format!("adcp_webhook_outbox.body:{idempotency_key}").into_bytes()
}

const SELECT_DELIVERY: &str = "SELECT id, dedupe_key, idempotency_key, task_id, task_type, operation_id, url, state, \
     attempt_count, last_http_status, last_error, dead_reason, created_at, retry_until, delivered_at, dead_at \
     FROM adcp_webhook_outbox";

fn delivery_from_row(row: &sqlx::postgres::PgRow) -> Result<OutboxDelivery, sqlx::Error> {
    let url: String = row.try_get("url")?;
    let state: String = row.try_get("state")?;
    Ok(OutboxDelivery {
        id: row.try_get("id")?,
        dedupe_key: row.try_get("dedupe_key")?,
        idempotency_key: row.try_get("idempotency_key")?,
        task_id: row.try_get("task_id")?,
        task_type: row.try_get("task_type")?,
        operation_id: row.try_get("operation_id")?,
        destination: redact_url(&url),
        state: DeliveryState::parse(&state),
        attempts: row.try_get("attempt_count")?,
        last_http_status: row.try_get("last_http_status")?,
        last_error: row.try_get("last_error")?,
        dead_reason: row.try_get("dead_reason")?,
        created_at: row.try_get("created_at")?,
        retry_until: row.try_get("retry_until")?,
        delivered_at: row.try_get("delivered_at")?,
        dead_at: row.try_get("dead_at")?,
    })
}

impl PgOutbox {
    /// An outbox on `pool` with the default 24 h retry horizon. Call [`PgOutbox::migrate`] once.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            horizon: Duration::from_hours(24),
            credentials: None,
        }
    }

    /// Seals the legacy credentials and the body of rows enqueued from now on with `keys`'
    /// current key, and opens rows sealed by any of them. Without keys, credentials and bodies
    /// are stored as plaintext; plaintext rows written before a key was configured are still
    /// delivered, byte for byte as enqueued.
    #[must_use]
    pub fn credentials_key(mut self, keys: impl Into<CredentialKeys>) -> Self {
        self.credentials = Some(Arc::new(keys.into()));
        self
    }

    /// Sets the retry horizon of rows enqueued from now on.
    #[must_use]
    pub fn with_horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// The pool the outbox uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates or upgrades the tables through the shared migration ledger
    /// (`adcp_tasks::pg::migrations`); safe from any number of processes at once, on an empty
    /// database or one an older release created.
    pub async fn migrate(&self) -> Result<(), WebhookError> {
        schema::migrate(&self.pool).await
    }

    /// The credentials column's value for a delivery: sealed when keys are configured.
    fn stored_credentials(&self, idempotency_key: &str, secret: &Secret) -> String {
        match &self.credentials {
            Some(keys) => keys.seal(
                &credentials_context(idempotency_key),
                secret.expose().as_bytes(),
            ),
            None => secret.expose().to_owned(),
        }
    }

    /// The body column's value for a delivery: the sealed text's bytes when keys are
    /// configured, else the body itself.
    fn stored_body(&self, idempotency_key: &str, body: &[u8]) -> Vec<u8> {
        match &self.credentials {
            Some(keys) => keys.seal(&body_context(idempotency_key), body).into_bytes(),
            None => body.to_vec(),
        }
    }

    /// The body of a claimed row (`id`, `idempotency_key`, `body`), opened when sealed; a
    /// plaintext body stored before a key was configured is returned unchanged. A body that
    /// does not open is logged without its value and returned as an error, which dead-letters
    /// the row as misconfigured.
    pub(super) fn stored_payload(&self, row: &PgRow) -> Result<Vec<u8>, WebhookError> {
        let stored: Vec<u8> = row.try_get("body")?;
        let sealed = match std::str::from_utf8(&stored) {
            Ok(text) if CredentialKeys::is_sealed(text) => text,
            _ => return Ok(stored),
        };
        let idempotency_key: String = row.try_get("idempotency_key")?;
        let opened = self
            .credentials
            .as_deref()
            .ok_or(CredentialError::NoKeyConfigured)
            .and_then(|keys| keys.open(&body_context(&idempotency_key), sealed));
        opened.map_err(|error| {
            let id: Option<i64> = row.try_get("id").ok();
            tracing::error!(
                outbox_id = id,
                error = %error,
                "stored webhook body cannot be decrypted; the delivery is misconfigured"
            );
            WebhookError::from(error)
        })
    }

    /// The authentication of a claimed row (`id`, `idempotency_key`, `auth_scheme`,
    /// `auth_credentials`), its credentials opened when sealed. A value that does not open is
    /// logged without its value and returned as an error, which dead-letters the row as
    /// misconfigured.
    pub(super) fn stored_auth(&self, row: &PgRow) -> Result<WebhookAuth, WebhookError> {
        let scheme: String = row.try_get("auth_scheme")?;
        let credentials = match row.try_get::<Option<String>, _>("auth_credentials")? {
            None => None,
            Some(stored) => {
                let idempotency_key: String = row.try_get("idempotency_key")?;
                let context = credentials_context(&idempotency_key);
                match open_if_sealed(self.credentials.as_deref(), &context, stored) {
                    Ok(credentials) => Some(credentials),
                    Err(error) => {
                        let id: i64 = row.try_get("id")?;
                        tracing::error!(
                            outbox_id = id,
                            error = %error,
                            "stored webhook credentials cannot be decrypted; the delivery is misconfigured"
                        );
                        return Err(error.into());
                    }
                }
            }
        };
        WebhookAuth::from_parts(&scheme, credentials)
    }

    /// Inserts the row through `conn` (typically inside the caller's transaction, which then
    /// owns commit and rollback) and queues a wake-up that PostgreSQL delivers on commit.
    /// A second row with the same dedupe key is not inserted.
    pub async fn enqueue_in(
        &self,
        conn: &mut PgConnection,
        delivery: &NewDelivery,
    ) -> Result<Enqueued, WebhookError> {
        let inserted: Option<i64> = sqlx::query_scalar(
            "WITH ins AS ( \
                 INSERT INTO adcp_webhook_outbox \
                     (dedupe_key, idempotency_key, task_id, task_type, operation_id, url, body, \
                      auth_scheme, auth_credentials, retry_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(secs => $10)) \
                 ON CONFLICT DO NOTHING \
                 RETURNING id) \
             SELECT ins.id FROM ins CROSS JOIN LATERAL (SELECT pg_notify('adcp_webhook_outbox', '')) AS wake",
        )
        .bind(&delivery.dedupe_key)
        .bind(&delivery.payload.idempotency_key)
        .bind(&delivery.task_id)
        .bind(&delivery.task_type)
        .bind(&delivery.operation_id)
        .bind(&delivery.url)
        .bind(self.stored_body(&delivery.payload.idempotency_key, &delivery.payload.body))
        .bind(delivery.auth.scheme())
        .bind(delivery.auth.credentials().map(|secret| {
            self.stored_credentials(&delivery.payload.idempotency_key, secret)
        }))
        .bind(self.horizon.as_secs_f64())
        .fetch_optional(&mut *conn)
        .await?;
        match inserted {
            Some(id) => {
                tracing::debug!(outbox_id = id, task_id = %delivery.task_id, "webhook enqueued in outbox");
                Ok(Enqueued::Queued)
            }
            None => Ok(Enqueued::Duplicate),
        }
    }

    /// One row by id.
    pub async fn delivery(&self, id: i64) -> Result<Option<OutboxDelivery>, WebhookError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_DELIVERY} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(delivery_from_row).transpose()?)
    }

    /// Every row of a task, oldest first.
    pub async fn deliveries_for_task(
        &self,
        task_id: &str,
    ) -> Result<Vec<OutboxDelivery>, WebhookError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_DELIVERY} WHERE task_id = $1 ORDER BY id"
        )))
        .bind(task_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Dead rows, most recently dead first, at most `limit`.
    pub async fn dead_letters(&self, limit: i64) -> Result<Vec<OutboxDelivery>, WebhookError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_DELIVERY} WHERE state = 'dead' ORDER BY dead_at DESC, id DESC LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Puts a dead row back to `pending` now, with a fresh horizon; the idempotency key and
    /// body stay the same (it is the same logical event). Fails with `NotFound` unless dead, and
    /// with `InvalidRequest` for a legacy-authenticated row (Bearer / HMAC-SHA256): its
    /// credentials were cleared when it died, so it can no longer be authenticated.
    pub async fn replay_dead_letter(&self, id: i64) -> Result<(), WebhookError> {
        let done = sqlx::query(
            "WITH upd AS ( \
                 UPDATE adcp_webhook_outbox SET state = 'pending', available_at = now(), \
                     retry_until = now() + make_interval(secs => $2), dead_at = NULL, dead_reason = NULL, \
                     updated_at = now() \
                 WHERE id = $1 AND state = 'dead' \
                     AND (auth_scheme = 'rfc9421' OR auth_credentials IS NOT NULL) RETURNING id) \
             SELECT upd.id FROM upd CROSS JOIN LATERAL (SELECT pg_notify('adcp_webhook_outbox', '')) AS wake",
        )
        .bind(id)
        .bind(self.horizon.as_secs_f64())
        .fetch_optional(&self.pool)
        .await?;
        if done.is_none() {
            let dead: Option<bool> =
                sqlx::query_scalar("SELECT state = 'dead' FROM adcp_webhook_outbox WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
            return Err(if dead == Some(true) {
                WebhookError::InvalidRequest(format!(
                    "webhook delivery {id} used legacy authentication whose credentials were \
                     cleared when it died; it cannot be replayed"
                ))
            } else {
                WebhookError::NotFound(id)
            });
        }
        tracing::info!(outbox_id = id, "dead webhook delivery replayed by operator");
        Ok(())
    }

    /// Deletes delivered rows (and their attempt logs) delivered more than `older_than` ago;
    /// returns how many rows went. Dead rows are left to [`PgOutbox::purge_dead`].
    pub async fn purge_delivered(&self, older_than: Duration) -> Result<u64, WebhookError> {
        self.purge(
            "DELETE FROM adcp_webhook_outbox \
             WHERE state = 'delivered' AND delivered_at < now() - make_interval(secs => $1) RETURNING id",
            older_than,
        )
        .await
    }

    /// Deletes dead rows (and their attempt logs) dead-lettered more than `older_than` ago, so
    /// no longer replayable; returns how many rows went.
    pub async fn purge_dead(&self, older_than: Duration) -> Result<u64, WebhookError> {
        self.purge(
            "DELETE FROM adcp_webhook_outbox \
             WHERE state = 'dead' AND dead_at < now() - make_interval(secs => $1) RETURNING id",
            older_than,
        )
        .await
    }

    /// Runs a `DELETE … RETURNING id` of rows and deletes their attempt logs, in one
    /// transaction.
    async fn purge(&self, delete: &'static str, older_than: Duration) -> Result<u64, WebhookError> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(delete)
            .bind(older_than.as_secs_f64())
            .fetch_all(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM adcp_webhook_attempts WHERE outbox_id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(u64::try_from(ids.len()).unwrap_or(u64::MAX))
    }

    /// The attempt log of one row, in order.
    pub async fn attempts(&self, id: i64) -> Result<Vec<OutboxAttempt>, WebhookError> {
        let rows = sqlx::query(
            "SELECT attempt, outcome, http_status, elapsed_ms, worker, occurred_at \
             FROM adcp_webhook_attempts WHERE outbox_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(OutboxAttempt {
                    attempt: row.try_get("attempt")?,
                    outcome: row.try_get("outcome")?,
                    http_status: row.try_get("http_status")?,
                    elapsed_ms: row.try_get("elapsed_ms")?,
                    worker: row.try_get("worker")?,
                    occurred_at: row.try_get("occurred_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(WebhookError::from)
    }
}

#[async_trait]
impl DeliverySupervisor for PgOutbox {
    async fn enqueue(&self, delivery: NewDelivery) -> Result<Enqueued, WebhookError> {
        let mut conn = self.pool.acquire().await?;
        self.enqueue_in(&mut conn, &delivery).await
    }
}
