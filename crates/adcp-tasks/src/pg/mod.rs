//! The durable PostgreSQL registry (feature `postgres`).
//!
//! - One table, `<prefix>tasks` (default `adcp_tasks`), created and upgraded by
//!   [`PgTaskRegistry::migrate`] (idempotent: `CREATE … IF NOT EXISTS`, `ADD COLUMN IF NOT
//!   EXISTS`, under an advisory lock).
//! - The terminal guard lives in the `UPDATE … WHERE status IN ('submitted', 'working')`, so of
//!   two racing terminal writes exactly one changes the row; the loser reads the row to tell an
//!   idempotent repeat from a `Conflict`.
//! - With a [`TerminalOutbox`], every applied terminal write and its outbox row commit in one
//!   transaction.
//! - Leases: a handed-off task carries its worker and an expiry; heartbeats extend it; the
//!   reaper fails unfinished tasks whose lease expired (`FOR UPDATE SKIP LOCKED`, so reapers in
//!   several processes never fail a task twice). All lease times use the database's clock.
//! - Payloads are JSONB, capped (default 4 MiB) with a clear error.
//! - Push credentials at rest: with [`PgTaskRegistryBuilder::credentials_key`] the buyer's
//!   `push_notification_config` is stored sealed ([`CredentialKeys`]); with or without a key,
//!   the terminal write clears it from the row (the outbox row written in the same transaction
//!   is the only copy still needed), while the terminal record it returns still carries it.
//! - Migrations go through the shared ledger ([`migrations`]), component `adcp-tasks:<table>`.

mod credentials;
mod list;
pub mod migrations;
mod row;
mod schema;
mod sql;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use adcp_types::{AdcpError, TaskStatus};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgPool, PgRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row as _};

use crate::error::TaskError;
use crate::model::{NewTask, TaskId, TaskRecord, TaskScope, TerminalWrite, WorkerId};
use crate::payload::{DEFAULT_MAX_PAYLOAD_BYTES, check_no_nul, check_size};
use crate::query::{TaskPage, TaskQuery};
use crate::registry::TaskRegistry;
use crate::seams::TerminalOutbox;

pub use credentials::{CredentialError, CredentialKey, CredentialKeys, open_if_sealed};
pub use schema::DEFAULT_TABLE_PREFIX;

/// Builds a [`PgTaskRegistry`].
#[derive(Debug)]
pub struct PgTaskRegistryBuilder {
    pool: PgPool,
    prefix: String,
    max_payload_bytes: usize,
    outbox: Option<Arc<dyn TerminalOutbox>>,
    credentials: Option<CredentialKeys>,
}

impl PgTaskRegistryBuilder {
    /// Sets the table prefix (validated by [`PgTaskRegistryBuilder::build`] against
    /// `^[a-z_][a-z0-9_]{0,39}$`); the table is `<prefix>tasks`.
    #[must_use]
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the cap on one JSON payload (default 4 MiB).
    #[must_use]
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    /// Enqueues every applied terminal write into `outbox` in the same transaction.
    #[must_use]
    pub fn outbox(mut self, outbox: Arc<dyn TerminalOutbox>) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Seals every stored `push_notification_config` with `keys`' current key (and opens values
    /// sealed by any of them). Without keys, registrations are stored as plaintext JSON; rows
    /// written before a key was configured stay readable either way.
    #[must_use]
    pub fn credentials_key(mut self, keys: impl Into<CredentialKeys>) -> Self {
        self.credentials = Some(keys.into());
        self
    }

    /// The registry. Touches no database; call [`PgTaskRegistry::migrate`] before use.
    pub fn build(self) -> Result<PgTaskRegistry, TaskError> {
        schema::validate_prefix(&self.prefix)?;
        let table = format!("{}tasks", self.prefix);
        Ok(PgTaskRegistry {
            statements: sql::Statements::new(&table),
            table,
            pool: self.pool,
            max_payload_bytes: self.max_payload_bytes,
            outbox: self.outbox,
            credentials: self.credentials,
        })
    }
}

/// A durable [`TaskRegistry`] on PostgreSQL (see the module docs).
#[derive(Debug)]
pub struct PgTaskRegistry {
    pool: PgPool,
    table: String,
    statements: sql::Statements,
    max_payload_bytes: usize,
    outbox: Option<Arc<dyn TerminalOutbox>>,
    credentials: Option<CredentialKeys>,
}

enum Outcome<'a> {
    Completed(&'a Value),
    Failed(&'a AdcpError),
    Canceled,
}

impl PgTaskRegistry {
    /// A builder over `pool`, with the default prefix and payload cap and no outbox.
    pub fn builder(pool: PgPool) -> PgTaskRegistryBuilder {
        PgTaskRegistryBuilder {
            pool,
            prefix: DEFAULT_TABLE_PREFIX.to_owned(),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            outbox: None,
            credentials: None,
        }
    }

    /// Creates or upgrades the table and its indexes through the shared migration ledger
    /// ([`migrations`]); safe to run at every start, from any number of processes at once, on
    /// an empty database or one an older release created.
    pub async fn migrate(&self) -> Result<(), TaskError> {
        schema::migrate(&self.pool, &self.table).await
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Deletes finished tasks that ended more than `older_than` ago; returns how many. The
    /// registry never prunes on its own: run this from a periodic job.
    pub async fn purge_finished(&self, older_than: Duration) -> Result<u64, TaskError> {
        let done = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.purge)))
            .bind(millis(older_than))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    fn decode(&self, row: &PgRow) -> Result<TaskRecord, TaskError> {
        row::decode(row, self.credentials.as_ref())
    }

    fn check(&self, field: &'static str, value: &Value) -> Result<(), TaskError> {
        check_size(field, value, self.max_payload_bytes)?;
        check_no_nul(field, value)
    }

    /// Runs a terminal `UPDATE … RETURNING`; when it changed the row, enqueues into the outbox
    /// in the same transaction. `None` when the guard matched no row.
    async fn apply_terminal(
        &self,
        query: Query<'_, Postgres, PgArguments>,
    ) -> Result<Option<TaskRecord>, TaskError> {
        let Some(outbox) = &self.outbox else {
            return query
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(|row| self.decode(row))
                .transpose();
        };
        let mut tx = self.pool.begin().await?;
        let Some(row) = query.fetch_optional(&mut *tx).await? else {
            return Ok(None);
        };
        let record = self.decode(&row)?;
        outbox
            .enqueue_in_tx(&mut tx, &record)
            .await
            .map_err(TaskError::Outbox)?;
        tx.commit().await?;
        Ok(Some(record))
    }

    /// After a terminal `UPDATE` matched nothing: unknown (or foreign) → `NotFound`; the same
    /// outcome already stored → `AlreadyApplied`; anything else → `Conflict`.
    async fn resolve_miss(
        &self,
        task_id: &TaskId,
        scope: Option<&TaskScope>,
        outcome: &Outcome<'_>,
    ) -> Result<TerminalWrite, TaskError> {
        let existing = match scope {
            Some(scope) => self.fetch_in_scope(scope, task_id).await?,
            None => self.fetch_by_id(task_id).await?,
        };
        let record = existing.ok_or_else(|| TaskError::NotFound(task_id.clone()))?;
        let same = match outcome {
            Outcome::Completed(result) => {
                record.status == TaskStatus::Completed && record.result.as_ref() == Some(*result)
            }
            Outcome::Failed(error) => {
                record.status == TaskStatus::Failed && record.error.as_ref() == Some(*error)
            }
            Outcome::Canceled => record.status == TaskStatus::Canceled,
        };
        if same {
            Ok(TerminalWrite::AlreadyApplied(record))
        } else {
            Err(TaskError::conflict(
                task_id,
                format!("the task is already {}", record.status),
            ))
        }
    }

    async fn fetch_by_id(&self, task_id: &TaskId) -> Result<Option<TaskRecord>, TaskError> {
        let row = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.select_by_id)))
            .bind(task_id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|row| self.decode(row)).transpose()
    }

    async fn fetch_in_scope(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<Option<TaskRecord>, TaskError> {
        let row: Option<PgRow> =
            sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.select_in_scope)))
                .bind(task_id.as_str())
                .bind(scope.account_id())
                .bind(scope.owner())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(|row| self.decode(row)).transpose()
    }
}

#[async_trait]
impl TaskRegistry for PgTaskRegistry {
    async fn issue(&self, task: NewTask) -> Result<TaskRecord, TaskError> {
        if let Some(webhook) = task.webhook() {
            self.check("webhook", webhook)?;
        }
        if let Some(context) = task.request_context() {
            self.check("request_context", context)?;
        }
        let task_id = task.task_id().cloned().unwrap_or_else(TaskId::generate);
        let lease = task.lease();
        let webhook = match (task.webhook(), &self.credentials) {
            (Some(webhook), Some(keys)) => Some(row::seal_webhook(keys, task_id.as_str(), webhook)),
            (webhook, _) => webhook.cloned(),
        };
        let row = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.insert)))
            .bind(task_id.as_str())
            .bind(task.scope().account_id())
            .bind(task.scope().owner())
            .bind(task.task_type().as_str())
            .bind(task.protocol().as_str())
            .bind(webhook.is_some())
            .bind(&webhook)
            .bind(task.request_context())
            .bind(lease.map(|lease| lease.owner.as_str()))
            .bind(lease.map(|lease| millis(lease.duration)))
            .bind(task.context_id())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => self.decode(&row),
            None => Err(TaskError::conflict(
                &task_id,
                "a task with this id already exists",
            )),
        }
    }

    async fn update_progress(&self, task_id: &TaskId, progress: Value) -> Result<(), TaskError> {
        self.check("progress", &progress)?;
        let updated = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.progress)))
            .bind(task_id.as_str())
            .bind(&progress)
            .fetch_optional(&self.pool)
            .await?;
        if updated.is_some() {
            return Ok(());
        }
        let status: Option<String> =
            sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.status_of)))
                .bind(task_id.as_str())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get("status"))
                .transpose()?;
        match status {
            None => Err(TaskError::NotFound(task_id.clone())),
            Some(status) => Err(TaskError::conflict(
                task_id,
                format!("the task is already {status}"),
            )),
        }
    }

    async fn complete(&self, task_id: &TaskId, result: Value) -> Result<TerminalWrite, TaskError> {
        self.check("result", &result)?;
        let query = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.complete)))
            .bind(task_id.as_str())
            .bind(&result);
        match self.apply_terminal(query).await? {
            Some(record) => Ok(TerminalWrite::Applied(record)),
            None => {
                self.resolve_miss(task_id, None, &Outcome::Completed(&result))
                    .await
            }
        }
    }

    async fn fail(&self, task_id: &TaskId, error: &AdcpError) -> Result<TerminalWrite, TaskError> {
        let wire = error.to_value();
        self.check("error", &wire)?;
        let query = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.fail)))
            .bind(task_id.as_str())
            .bind(&wire);
        match self.apply_terminal(query).await? {
            Some(record) => Ok(TerminalWrite::Applied(record)),
            None => {
                self.resolve_miss(task_id, None, &Outcome::Failed(error))
                    .await
            }
        }
    }

    async fn cancel(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<TerminalWrite, TaskError> {
        let query = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.cancel)))
            .bind(task_id.as_str())
            .bind(scope.account_id())
            .bind(scope.owner());
        match self.apply_terminal(query).await? {
            Some(record) => Ok(TerminalWrite::Applied(record)),
            None => {
                self.resolve_miss(task_id, Some(scope), &Outcome::Canceled)
                    .await
            }
        }
    }

    async fn get(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<Option<TaskRecord>, TaskError> {
        self.fetch_in_scope(scope, task_id).await
    }

    async fn list(&self, scope: &TaskScope, query: &TaskQuery) -> Result<TaskPage, TaskError> {
        list::run(
            &self.pool,
            &self.statements,
            scope,
            query,
            self.credentials.as_ref(),
        )
        .await
    }

    async fn discard(&self, task_id: &TaskId) -> Result<(), TaskError> {
        sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.delete)))
            .bind(task_id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    fn is_durable(&self) -> bool {
        true
    }

    fn writes_webhook_outbox(&self) -> bool {
        self.outbox.is_some()
    }

    async fn heartbeat(
        &self,
        worker: &WorkerId,
        task_ids: &[TaskId],
        duration: Duration,
    ) -> Result<Vec<TaskId>, TaskError> {
        let ids: Vec<&str> = task_ids.iter().map(TaskId::as_str).collect();
        let rows = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.heartbeat)))
            .bind(&ids)
            .bind(worker.as_str())
            .bind(millis(duration))
            .fetch_all(&self.pool)
            .await?;
        let alive: HashSet<String> = rows
            .iter()
            .map(|row| row.try_get("task_id"))
            .collect::<Result<_, _>>()?;
        Ok(task_ids
            .iter()
            .filter(|id| alive.contains(id.as_str()))
            .cloned()
            .collect())
    }

    async fn reap_expired(
        &self,
        error: &AdcpError,
        limit: usize,
    ) -> Result<Vec<TaskRecord>, TaskError> {
        let wire = error.to_value();
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(AssertSqlSafe(Arc::clone(&self.statements.reap)))
            .bind(&wire)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?;
        let records: Vec<TaskRecord> = rows
            .iter()
            .map(|row| self.decode(row))
            .collect::<Result<_, _>>()?;
        if let Some(outbox) = &self.outbox {
            for record in &records {
                outbox
                    .enqueue_in_tx(&mut tx, record)
                    .await
                    .map_err(TaskError::Outbox)?;
            }
        }
        tx.commit().await?;
        Ok(records)
    }
}

/// A duration in whole milliseconds, for SQL intervals (saturating; at least 1 ms).
fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}
