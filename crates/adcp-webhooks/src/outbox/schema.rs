//! The outbox tables and their versioned migrations.
//!
//! They run through the shared ledger of `adcp_tasks::pg::migrations` (component
//! `adcp-webhooks:outbox`), under its advisory lock. Version 1 is the idempotent DDL of the
//! releases before the ledger (its first `CREATE TABLE` is the original shape; every column
//! added since is an `ADD COLUMN IF NOT EXISTS`), so tables those releases created upgrade
//! cleanly.

use adcp_tasks::pg::migrations::{self, Migration};
use sqlx::PgPool;

use crate::error::WebhookError;

/// The outbox table.
pub const OUTBOX_TABLE: &str = "adcp_webhook_outbox";
/// The per-attempt log table.
pub const ATTEMPTS_TABLE: &str = "adcp_webhook_attempts";
/// The LISTEN/NOTIFY channel that wakes workers on enqueue.
pub const WAKE_CHANNEL: &str = "adcp_webhook_outbox";

/// The ledger's component name of the outbox tables.
const COMPONENT: &str = "adcp-webhooks:outbox";

const V1_TABLES: &str = r"
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

const V2_SETTLED_INDEX: &str = "
CREATE INDEX IF NOT EXISTS adcp_webhook_outbox_delivered
    ON adcp_webhook_outbox (delivered_at) WHERE state = 'delivered';
";

/// Applies the outbox's pending migrations (one transaction, under the ledger's advisory lock).
pub(super) async fn migrate(pool: &PgPool) -> Result<(), WebhookError> {
    migrations::migrate(
        pool,
        COMPONENT,
        &[
            Migration::new(1, "outbox and attempt-log tables", V1_TABLES),
            Migration::new(
                2,
                "index delivered rows by delivery time for retention purges",
                V2_SETTLED_INDEX,
            ),
        ],
    )
    .await?;
    Ok(())
}
