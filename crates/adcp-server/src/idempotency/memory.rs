//! The in-process idempotency store.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;
use serde_json::Value;

use super::{
    Claim, DEFAULT_IN_FLIGHT_MAX, DEFAULT_REPLAY_TTL, IdempotencyError, IdempotencyScope,
    IdempotencyStore,
};

struct Entry {
    fingerprint: String,
    response: Option<Value>,
    at: Instant,
}

/// Keys in a concurrent map, bounded, with expiry. Not shared across processes and lost on
/// restart: use `PgIdempotencyStore` (feature `postgres`) for replicas. `Debug` prints
/// counts only, never stored responses.
pub struct InMemoryIdempotencyStore {
    entries: DashMap<IdempotencyScope, Entry>,
    ttl: Duration,
    in_flight_max: Duration,
    max_keys: usize,
}

impl std::fmt::Debug for InMemoryIdempotencyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryIdempotencyStore")
            .field("keys", &self.entries.len())
            .field("max_keys", &self.max_keys)
            .field("ttl", &self.ttl)
            .field("in_flight_max", &self.in_flight_max)
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryIdempotencyStore {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryIdempotencyStore {
    /// A store with the default TTL (24 h) and bound (100,000 keys).
    pub fn new() -> Self {
        Self {
            entries: DashMap::new(),
            ttl: DEFAULT_REPLAY_TTL,
            in_flight_max: DEFAULT_IN_FLIGHT_MAX,
            max_keys: 100_000,
        }
    }

    /// How long stored responses answer replays.
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The most keys kept; claims beyond it fail after expired keys are evicted.
    #[must_use]
    pub fn with_max_keys(mut self, max_keys: usize) -> Self {
        self.max_keys = max_keys;
        self
    }

    fn expired(&self, entry: &Entry, now: Instant) -> bool {
        let limit = if entry.response.is_some() {
            self.ttl
        } else {
            self.in_flight_max
        };
        now.duration_since(entry.at) >= limit
    }

    fn make_room(&self) -> Result<(), IdempotencyError> {
        if self.entries.len() < self.max_keys {
            return Ok(());
        }
        let now = Instant::now();
        self.entries.retain(|_, entry| !self.expired(entry, now));
        if self.entries.len() < self.max_keys {
            Ok(())
        } else {
            Err(IdempotencyError::Full {
                limit: self.max_keys,
            })
        }
    }
}

#[async_trait]
impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &str,
    ) -> Result<Claim, IdempotencyError> {
        // Existing keys (replays, conflicts, in-flight checks) are answered even when full.
        if !self.entries.contains_key(scope) {
            self.make_room()?;
        }
        let now = Instant::now();
        match self.entries.entry(scope.clone()) {
            MapEntry::Vacant(vacant) => {
                vacant.insert(Entry {
                    fingerprint: fingerprint.to_owned(),
                    response: None,
                    at: now,
                });
                Ok(Claim::Fresh)
            }
            MapEntry::Occupied(mut occupied) => {
                let entry = occupied.get();
                if self.expired(entry, now) {
                    occupied.insert(Entry {
                        fingerprint: fingerprint.to_owned(),
                        response: None,
                        at: now,
                    });
                    return Ok(Claim::Fresh);
                }
                if entry.fingerprint != fingerprint {
                    return Ok(Claim::Conflict);
                }
                Ok(match &entry.response {
                    Some(response) => Claim::Replay(response.clone()),
                    None => Claim::InFlight,
                })
            }
        }
    }

    async fn complete(
        &self,
        scope: &IdempotencyScope,
        response: &Value,
    ) -> Result<(), IdempotencyError> {
        if let Some(mut entry) = self.entries.get_mut(scope) {
            entry.response = Some(response.clone());
            entry.at = Instant::now();
        }
        Ok(())
    }

    async fn release(&self, scope: &IdempotencyScope) -> Result<(), IdempotencyError> {
        self.entries
            .remove_if(scope, |_, entry| entry.response.is_none());
        Ok(())
    }

    fn replay_ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(key: &str) -> IdempotencyScope {
        IdempotencyScope {
            account: "acc".into(),
            principal: "p".into(),
            tool: "create_media_buy".into(),
            key: key.into(),
        }
    }

    #[tokio::test]
    async fn claim_replay_conflict_in_flight_release() {
        let store = InMemoryIdempotencyStore::new();
        assert_eq!(store.claim(&scope("k"), "f1").await.unwrap(), Claim::Fresh);
        assert_eq!(
            store.claim(&scope("k"), "f1").await.unwrap(),
            Claim::InFlight
        );
        store
            .complete(&scope("k"), &json!({"ok": 1}))
            .await
            .unwrap();
        assert_eq!(
            store.claim(&scope("k"), "f1").await.unwrap(),
            Claim::Replay(json!({"ok": 1}))
        );
        assert_eq!(
            store.claim(&scope("k"), "f2").await.unwrap(),
            Claim::Conflict
        );
        assert_eq!(store.claim(&scope("j"), "f1").await.unwrap(), Claim::Fresh);
        store.release(&scope("j")).await.unwrap();
        assert_eq!(store.claim(&scope("j"), "f9").await.unwrap(), Claim::Fresh);
    }

    #[tokio::test]
    async fn expired_entries_are_fresh_again() {
        let store = InMemoryIdempotencyStore::new().with_ttl(Duration::ZERO);
        store.claim(&scope("k"), "f1").await.unwrap();
        store.complete(&scope("k"), &json!({})).await.unwrap();
        assert_eq!(store.claim(&scope("k"), "f2").await.unwrap(), Claim::Fresh);
    }

    #[tokio::test]
    async fn the_bound_holds() {
        let store = InMemoryIdempotencyStore::new().with_max_keys(1);
        store.claim(&scope("a"), "f").await.unwrap();
        assert!(matches!(
            store.claim(&scope("b"), "f").await,
            Err(IdempotencyError::Full { .. })
        ));
    }
}
