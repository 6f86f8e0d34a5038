//! The table, its versioned migrations, and the validated table-name prefix.

use sqlx::PgPool;

use super::migrations::{self, Migration};

use crate::error::TaskError;

/// The default table prefix: the table is `adcp_tasks`.
pub const DEFAULT_TABLE_PREFIX: &str = "adcp_";

/// The longest prefix accepted, leaving room for index-name suffixes within PostgreSQL's
/// 63-byte identifiers.
const MAX_PREFIX_LEN: usize = 40;

/// Checks `prefix` against `^[a-z_][a-z0-9_]{0,39}$` (so it is safe to splice into SQL).
pub(crate) fn validate_prefix(prefix: &str) -> Result<(), TaskError> {
    let mut bytes = prefix.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if first_ok && rest_ok && prefix.len() <= MAX_PREFIX_LEN {
        Ok(())
    } else {
        Err(TaskError::invalid(
            "table prefix",
            "must match ^[a-z_][a-z0-9_]{0,39}$ (lower-case letters, digits, underscores)",
        ))
    }
}

/// The DDL for `table`: safe to run any number of times, and upgrades a table created by an
/// older version (columns are added with `ADD COLUMN IF NOT EXISTS`).
fn ddl(table: &str) -> String {
    format!(
        r#"
CREATE TABLE IF NOT EXISTS {table} (
    task_id     TEXT COLLATE "C" PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL,
    owner_scope TEXT COLLATE "C" NOT NULL,
    task_type   TEXT COLLATE "C" NOT NULL,
    protocol    TEXT COLLATE "C" NOT NULL,
    status      TEXT COLLATE "C" NOT NULL DEFAULT 'submitted'
        CHECK (status IN ('submitted', 'working', 'input-required', 'completed', 'canceled',
                          'failed', 'rejected', 'auth-required', 'unknown')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
ALTER TABLE {table}
    ADD COLUMN IF NOT EXISTS progress         JSONB,
    ADD COLUMN IF NOT EXISTS result           JSONB,
    ADD COLUMN IF NOT EXISTS error            JSONB,
    ADD COLUMN IF NOT EXISTS has_webhook      BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN IF NOT EXISTS webhook          JSONB,
    ADD COLUMN IF NOT EXISTS request_context  JSONB,
    ADD COLUMN IF NOT EXISTS completed_at     TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS lease_owner      TEXT COLLATE "C",
    ADD COLUMN IF NOT EXISTS lease_expires_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS {table}_scope_created_idx
    ON {table} (account_id, owner_scope, created_at DESC, task_id);
CREATE INDEX IF NOT EXISTS {table}_status_updated_idx
    ON {table} (status, updated_at);
CREATE INDEX IF NOT EXISTS {table}_lease_idx
    ON {table} (lease_expires_at)
    WHERE status IN ('submitted', 'working') AND lease_expires_at IS NOT NULL;
"#
    )
}

/// The table's migrations, in order. Version 1 is the idempotent DDL of the releases before the
/// migration ledger, so a table those releases created upgrades cleanly.
fn migrations(table: &str) -> [Migration; 3] {
    [
        Migration::new(1, "task table, columns and indexes", ddl(table)),
        Migration::new(
            2,
            "index finished tasks by completion time for retention purges",
            format!(
                "CREATE INDEX IF NOT EXISTS {table}_finished_idx ON {table} (completed_at)
                 WHERE status IN ('completed', 'failed', 'canceled')"
            ),
        ),
        Migration::new(
            3,
            "the conversation a task belongs to (A2A contextId, the envelope's context_id)",
            format!("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS context_id TEXT COLLATE \"C\""),
        ),
    ]
}

/// Applies the table's pending migrations through the shared ledger (component
/// `adcp-tasks:<table>`), under its advisory lock.
pub(crate) async fn migrate(pool: &PgPool, table: &str) -> Result<(), TaskError> {
    migrations::migrate(pool, &format!("adcp-tasks:{table}"), &migrations(table)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_prefix;

    #[test]
    fn prefixes_are_validated() {
        for ok in ["adcp_", "_x", "tenant_42_", "a"] {
            assert!(validate_prefix(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "1abc",
            "Adcp",
            "a-b",
            "a;drop table x",
            "a b",
            &"a".repeat(41),
        ] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }
}
