//! The PostgreSQL idempotency store: claims are rows, so every replica sees the same keys.

use std::time::Duration;

use adcp_tasks::pg::migrations::{self, Migration};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::PgPool;

use super::{
    Claim, DEFAULT_IN_FLIGHT_MAX, DEFAULT_REPLAY_TTL, IdempotencyError, IdempotencyScope,
    IdempotencyStore,
};

/// The ledger's component name of the idempotency table.
const COMPONENT: &str = "adcp-server:idempotency";

/// Version 1: the idempotent DDL of the releases before the migration ledger (it upgrades their
/// tables through `ADD COLUMN IF NOT EXISTS`).
const V1_DDL: &str = r#"
CREATE TABLE IF NOT EXISTS adcp_idempotency (
    account_id  TEXT COLLATE "C" NOT NULL,
    principal   TEXT COLLATE "C" NOT NULL,
    tool        TEXT COLLATE "C" NOT NULL,
    key         TEXT COLLATE "C" NOT NULL,
    fingerprint TEXT NOT NULL,
    claimed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, principal, tool, key)
);
ALTER TABLE adcp_idempotency
    ADD COLUMN IF NOT EXISTS response     JSONB,
    ADD COLUMN IF NOT EXISTS completed_at TIMESTAMPTZ;
CREATE INDEX IF NOT EXISTS adcp_idempotency_claimed_idx ON adcp_idempotency (claimed_at);
"#;

/// Claims in the `adcp_idempotency` table. A claim is one `INSERT … ON CONFLICT DO NOTHING`:
/// exactly one of any number of concurrent callers (on any replica) inserts the row and runs.
#[derive(Debug, Clone)]
pub struct PgIdempotencyStore {
    pool: PgPool,
    ttl: Duration,
    in_flight_max: Duration,
}

impl PgIdempotencyStore {
    /// One claim attempt; `None` when the conflicting row disappeared before it could be read.
    async fn try_claim(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &str,
    ) -> Result<Option<Claim>, IdempotencyError> {
        // Expired rows (a stored response past its TTL, or an abandoned claim) are replaced.
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "DELETE FROM adcp_idempotency
             WHERE account_id = $1 AND principal = $2 AND tool = $3 AND key = $4
               AND ((response IS NOT NULL AND completed_at < now() - make_interval(secs => $5))
                 OR (response IS NULL AND claimed_at < now() - make_interval(secs => $6)))",
        )
        .bind(&scope.account)
        .bind(&scope.principal)
        .bind(&scope.tool)
        .bind(&scope.key)
        .bind(secs(self.ttl))
        .bind(secs(self.in_flight_max))
        .execute(&mut *tx)
        .await?;
        let inserted = sqlx::query(
            "INSERT INTO adcp_idempotency (account_id, principal, tool, key, fingerprint)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&scope.account)
        .bind(&scope.principal)
        .bind(&scope.tool)
        .bind(&scope.key)
        .bind(fingerprint)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Some(Claim::Fresh));
        }
        let row: Option<(String, Option<Value>)> = sqlx::query_as(
            "SELECT fingerprint, response FROM adcp_idempotency
             WHERE account_id = $1 AND principal = $2 AND tool = $3 AND key = $4",
        )
        .bind(&scope.account)
        .bind(&scope.principal)
        .bind(&scope.tool)
        .bind(&scope.key)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(row.map(|(stored, response)| {
            if stored == fingerprint {
                response.map_or(Claim::InFlight, Claim::Replay)
            } else {
                Claim::Conflict
            }
        }))
    }

    /// A store on `pool`; call [`PgIdempotencyStore::migrate`] once before use.
    pub fn new(pool: PgPool) -> Self {
        Self {
            pool,
            ttl: DEFAULT_REPLAY_TTL,
            in_flight_max: DEFAULT_IN_FLIGHT_MAX,
        }
    }

    /// How long stored responses answer replays.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Creates or upgrades the table through the shared migration ledger
    /// (`adcp_tasks::pg::migrations`, component `adcp-server:idempotency`), under its advisory
    /// lock: safe from any number of replicas starting together, on an empty database or one an
    /// older release created.
    pub async fn migrate(&self) -> Result<(), IdempotencyError> {
        migrations::migrate(
            &self.pool,
            COMPONENT,
            &[Migration::new(1, "idempotency key table", V1_DDL)],
        )
        .await?;
        Ok(())
    }

    /// Deletes rows past their TTL (a stored response counts from its completion, an abandoned
    /// claim from its start); returns how many. Run it periodically (e.g. hourly): claims
    /// replace expired rows on their own, but nothing else shrinks the table.
    pub async fn purge_expired(&self) -> Result<u64, IdempotencyError> {
        let done = sqlx::query(
            "DELETE FROM adcp_idempotency
             WHERE (response IS NOT NULL AND completed_at < now() - make_interval(secs => $1))
                OR (response IS NULL AND claimed_at < now() - make_interval(secs => $2))",
        )
        .bind(secs(self.ttl))
        .bind(secs(self.in_flight_max))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

#[async_trait]
impl IdempotencyStore for PgIdempotencyStore {
    async fn claim(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &str,
    ) -> Result<Claim, IdempotencyError> {
        // A row can vanish between our INSERT conflict and the SELECT (its owner released it);
        // then the claim is simply tried again.
        for _ in 0..3 {
            if let Some(claim) = self.try_claim(scope, fingerprint).await? {
                return Ok(claim);
            }
        }
        Ok(Claim::InFlight)
    }

    async fn complete(
        &self,
        scope: &IdempotencyScope,
        response: &Value,
    ) -> Result<(), IdempotencyError> {
        sqlx::query(
            "UPDATE adcp_idempotency SET response = $5, completed_at = now()
             WHERE account_id = $1 AND principal = $2 AND tool = $3 AND key = $4",
        )
        .bind(&scope.account)
        .bind(&scope.principal)
        .bind(&scope.tool)
        .bind(&scope.key)
        .bind(response)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn release(&self, scope: &IdempotencyScope) -> Result<(), IdempotencyError> {
        sqlx::query(
            "DELETE FROM adcp_idempotency
             WHERE account_id = $1 AND principal = $2 AND tool = $3 AND key = $4
               AND response IS NULL",
        )
        .bind(&scope.account)
        .bind(&scope.principal)
        .bind(&scope.tool)
        .bind(&scope.key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    fn replay_ttl(&self) -> Duration {
        self.ttl
    }
}
