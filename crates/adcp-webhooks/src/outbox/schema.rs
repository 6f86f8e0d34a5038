//! The outbox tables and their idempotent migration.
//!
//! The first `CREATE TABLE` is the original shape; every column added since is an
//! `ADD COLUMN IF NOT EXISTS`, so running [`migrate`] upgrades a table an older release created
//! and is a no-op on a current one. An advisory lock serialises concurrent migrations from
//! several processes starting at once.

use sqlx::PgConnection;

use crate::error::WebhookError;

/// The outbox table.
pub const OUTBOX_TABLE: &str = "adcp_webhook_outbox";
/// The per-attempt log table.
pub const ATTEMPTS_TABLE: &str = "adcp_webhook_attempts";
/// The LISTEN/NOTIFY channel that wakes workers on enqueue.
pub const WAKE_CHANNEL: &str = "adcp_webhook_outbox";

const MIGRATION: &str = r"
SELECT pg_advisory_xact_lock(hashtext('adcp_webhook_outbox_migration'));

CREATE TABLE IF NOT EXISTS adcp_webhook_outbox (
    id              BIGSERIAL PRIMARY KEY,
    dedupe_key      TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    task_id         TEXT NOT NULL,
    task_type       TEXT NOT NULL,
    url             TEXT NOT NULL,
    body            BYTEA NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending',
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    available_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS operation_id TEXT;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS auth_scheme TEXT NOT NULL DEFAULT 'rfc9421';
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS auth_credentials TEXT;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS lease_token TEXT;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS leased_by TEXT;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS retry_until TIMESTAMPTZ NOT NULL DEFAULT now() + interval '24 hours';
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS delivered_at TIMESTAMPTZ;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS dead_at TIMESTAMPTZ;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS dead_reason TEXT;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS last_http_status INTEGER;
ALTER TABLE adcp_webhook_outbox ADD COLUMN IF NOT EXISTS last_error TEXT;

DO $$
BEGIN
    ALTER TABLE adcp_webhook_outbox ADD CONSTRAINT adcp_webhook_outbox_state_check
        CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead'));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE UNIQUE INDEX IF NOT EXISTS adcp_webhook_outbox_dedupe_key ON adcp_webhook_outbox (dedupe_key);
CREATE UNIQUE INDEX IF NOT EXISTS adcp_webhook_outbox_idempotency_key ON adcp_webhook_outbox (idempotency_key);
CREATE INDEX IF NOT EXISTS adcp_webhook_outbox_due
    ON adcp_webhook_outbox (available_at, id) WHERE state IN ('pending', 'in_flight');
CREATE INDEX IF NOT EXISTS adcp_webhook_outbox_dead
    ON adcp_webhook_outbox (dead_at) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS adcp_webhook_outbox_task ON adcp_webhook_outbox (task_id);

CREATE TABLE IF NOT EXISTS adcp_webhook_attempts (
    id          BIGSERIAL PRIMARY KEY,
    outbox_id   BIGINT NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    http_status INTEGER,
    elapsed_ms  INTEGER NOT NULL,
    worker      TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS adcp_webhook_attempts_outbox ON adcp_webhook_attempts (outbox_id);
";

/// Creates or upgrades the outbox tables, in one transaction under an advisory lock.
pub(super) async fn migrate(conn: &mut PgConnection) -> Result<(), WebhookError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    sqlx::raw_sql(MIGRATION).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
