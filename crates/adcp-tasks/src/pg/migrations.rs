//! One migration scheme for every PostgreSQL store of the SDK (tasks, webhook outbox,
//! idempotency keys).
//!
//! Each store declares its component name and an ordered list of [`Migration`]s; [`migrate`]
//! applies the ones the database has not recorded yet. The ledger,
//! [`LEDGER_TABLE`] (`component, version, description, applied_at`), lives next to the stores'
//! tables.
//!
//! Why not `sqlx::migrate!`: the task table's name carries a configurable prefix, so its DDL is
//! built at run time, and one database may hold several task tables (one component each).
//!
//! Guarantees:
//! - Every run takes one transaction-scoped advisory lock **before** touching the catalog, so any
//!   number of replicas may start together on an empty database: one creates the ledger and the
//!   tables, the others wait and then find nothing left to do (no `23505` from concurrent
//!   `CREATE TABLE`).
//! - The lock, the ledger's creation, the pending versions and their ledger rows commit in one
//!   transaction: a failing version leaves the database as it was.
//! - Version 1 of each store is the idempotent DDL of the releases before the ledger existed, so
//!   a database those releases created (tables present, no ledger) upgrades cleanly.
//! - A database migrated by a newer release (versions this one does not know) is left alone and
//!   logged: migrations are additive, so an older replica keeps working during a rolling deploy.

use std::collections::BTreeSet;

use sqlx::{AssertSqlSafe, PgPool};
use tracing::Instrument as _;

/// The ledger table: one row per applied `(component, version)`.
pub const LEDGER_TABLE: &str = "adcp_schema_migrations";

/// The advisory lock every migration of every component takes first (one key for all, so the
/// ledger's own `CREATE TABLE` is serialised too).
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtext('adcp_schema_migrations'))";

const LEDGER_DDL: &str = r#"
CREATE TABLE IF NOT EXISTS adcp_schema_migrations (
    component   TEXT COLLATE "C" NOT NULL,
    version     INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)"#;

/// One ordered schema change of a component: its version (1, 2, …), a one-line description
/// recorded in the ledger, and the SQL (one or more statements, run as one batch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    version: i32,
    description: &'static str,
    sql: String,
}

impl Migration {
    /// A migration. `sql` must be safe to splice (the stores build it from constants and
    /// validated identifiers only); [`migrate`] checks that versions are 1, 2, 3, … in order.
    pub fn new(version: i32, description: &'static str, sql: impl Into<String>) -> Self {
        Self {
            version,
            description,
            sql: sql.into(),
        }
    }

    /// The version number.
    pub fn version(&self) -> i32 {
        self.version
    }

    /// The description recorded in the ledger.
    pub fn description(&self) -> &'static str {
        self.description
    }
}

/// Applies `component`'s migrations that the ledger does not list yet, in order, under the
/// shared advisory lock and in one transaction; returns the versions applied by this call
/// (empty when the database was current).
///
/// Fails with `sqlx::Error::Configuration` (before touching the database) when `component` is
/// empty or the versions are not exactly 1, 2, 3, … in order, and with the database's error when a
/// statement fails (then nothing of this run is kept).
pub async fn migrate(
    pool: &PgPool,
    component: &str,
    migrations: &[Migration],
) -> Result<Vec<i32>, sqlx::Error> {
    check_declaration(component, migrations)?;
    let span = tracing::info_span!("pg.migrate", component);
    run(pool, component, migrations).instrument(span).await
}

async fn run(
    pool: &PgPool,
    component: &str,
    migrations: &[Migration],
) -> Result<Vec<i32>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query(LOCK_SQL).execute(&mut *tx).await?;
    sqlx::raw_sql(LEDGER_DDL).execute(&mut *tx).await?;
    let recorded: BTreeSet<i32> =
        sqlx::query_scalar("SELECT version FROM adcp_schema_migrations WHERE component = $1")
            .bind(component)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let known = migrations.last().map_or(0, Migration::version);
    if let Some(newest) = recorded.last().filter(|newest| **newest > known) {
        tracing::warn!(
            database_version = newest,
            known_version = known,
            "the database was migrated by a newer release; leaving its schema as it is"
        );
    }
    let mut applied = Vec::new();
    for migration in migrations
        .iter()
        .filter(|migration| !recorded.contains(&migration.version))
    {
        sqlx::raw_sql(AssertSqlSafe(migration.sql.clone()))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO adcp_schema_migrations (component, version, description)
             VALUES ($1, $2, $3)",
        )
        .bind(component)
        .bind(migration.version)
        .bind(migration.description)
        .execute(&mut *tx)
        .await?;
        applied.push(migration.version);
    }
    tx.commit().await?;
    if !applied.is_empty() {
        tracing::info!(versions = ?applied, "schema migrations applied");
    }
    Ok(applied)
}

fn check_declaration(component: &str, migrations: &[Migration]) -> Result<(), sqlx::Error> {
    if component.is_empty() {
        return Err(sqlx::Error::Configuration(
            "a migration component needs a name".into(),
        ));
    }
    let increasing = migrations
        .iter()
        .zip(1..)
        .all(|(migration, expected)| migration.version == expected);
    if increasing {
        Ok(())
    } else {
        Err(sqlx::Error::Configuration(
            format!("the migrations of {component} must be numbered 1, 2, 3, … in order").into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::{Migration, check_declaration};

    #[test]
    fn versions_must_count_up_from_one() {
        let m = |v| Migration::new(v, "m", "SELECT 1");
        assert!(check_declaration("c", &[m(1), m(2), m(3)]).is_ok());
        assert!(check_declaration("c", &[]).is_ok());
        assert!(check_declaration("c", &[m(2)]).is_err());
        assert!(check_declaration("c", &[m(1), m(1)]).is_err());
        assert!(check_declaration("c", &[m(1), m(3)]).is_err());
        assert!(check_declaration("", &[m(1)]).is_err());
    }
}
