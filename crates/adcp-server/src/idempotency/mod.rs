//! Idempotency for mutating tools: a replayed `idempotency_key` returns the stored response
//! (with `replayed: true`) instead of running the tool again.
//!
//! Guarantees, for one (account, principal, tool, key):
//! - the first call claims the key and runs; its successful response is stored;
//! - a later call with the same payload gets the stored response, and the platform is not
//!   called (so no second task and no second webhook);
//! - a later call with a different payload gets `IDEMPOTENCY_CONFLICT`;
//! - a call while the first is still running gets `IDEMPOTENCY_IN_FLIGHT`;
//! - a failed call releases the key, so the buyer may retry with it.

mod fingerprint;
mod memory;
#[cfg(feature = "postgres")]
mod pg;

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

pub use fingerprint::fingerprint;
pub(crate) use fingerprint::fingerprint_excluding;
pub use memory::InMemoryIdempotencyStore;
#[cfg(feature = "postgres")]
pub use pg::PgIdempotencyStore;

/// How long a stored response answers replays, unless configured otherwise (24 h).
pub const DEFAULT_REPLAY_TTL: Duration = Duration::from_hours(24);

/// After this long, a claim whose call never finished (a crashed replica) may be taken over.
pub const DEFAULT_IN_FLIGHT_MAX: Duration = Duration::from_mins(10);

/// Whose key it is: keys are scoped per account, principal and tool, so two authenticated
/// buyers can never collide or read each other's stored responses (anonymous callers share the
/// empty principal: serve mutating tools to authenticated callers only).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyScope {
    /// The resolved account id (empty when none).
    pub account: String,
    /// The principal id (empty when unauthenticated).
    pub principal: String,
    /// The tool.
    pub tool: String,
    /// The buyer's `idempotency_key`.
    pub key: String,
}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// The key is new (or expired): the caller runs the tool and then completes or releases.
    Fresh,
    /// The same payload was answered before: this is the stored response.
    Replay(Value),
    /// The key was used with a different payload.
    Conflict,
    /// The first call with this key is still running.
    InFlight,
}

/// A failure of the store itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotencyError {
    /// The database failed.
    #[cfg(feature = "postgres")]
    #[error("idempotency store: {0}")]
    Database(#[from] sqlx::Error),
    /// The store is full.
    #[error("idempotency store is full ({limit} keys)")]
    Full {
        /// The configured bound.
        limit: usize,
    },
}

/// Where claims and stored responses live. In-memory for one process; PostgreSQL when several
/// replicas serve the same buyers.
///
/// Implementations must guarantee: among concurrent claims of one scope exactly one gets
/// [`Claim::Fresh`]; a stored response answers replays for [`IdempotencyStore::replay_ttl`]
/// counted from its completion; a claim that is never completed or released expires (so a
/// crashed replica cannot block a key forever). `complete`/`release` are not fenced against a
/// takeover of an expired in-flight claim: keep the in-flight expiry well above the slowest
/// call.
#[async_trait]
pub trait IdempotencyStore: Send + Sync + std::fmt::Debug + 'static {
    /// Claims `scope` for a call whose payload hashes to `fingerprint`.
    async fn claim(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &str,
    ) -> Result<Claim, IdempotencyError>;

    /// Stores the successful response of a claimed call.
    async fn complete(
        &self,
        scope: &IdempotencyScope,
        response: &Value,
    ) -> Result<(), IdempotencyError>;

    /// Releases a claim whose call failed, so the key can be used again.
    async fn release(&self, scope: &IdempotencyScope) -> Result<(), IdempotencyError>;

    /// How long replays are answered (advertised in `get_adcp_capabilities`).
    fn replay_ttl(&self) -> Duration;
}
