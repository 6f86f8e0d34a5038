//! Verifier state that outlives one request: the `(keyid, nonce)` replay cache and the
//! revocation list with its freshness.

use std::collections::{HashMap, HashSet};

/// Remembers `(keyid, nonce)` pairs until their signature expires (plus skew), with a cap per
/// keyid so one sender cannot grow the cache without bound.
#[derive(Debug)]
pub(super) struct ReplayCache {
    per_keyid_cap: usize,
    entries: HashMap<String, HashMap<String, i64>>,
}

impl ReplayCache {
    pub(super) fn new(per_keyid_cap: usize) -> Self {
        Self {
            per_keyid_cap,
            entries: HashMap::new(),
        }
    }

    fn purge(&mut self, keyid: &str, now: i64) {
        if let Some(nonces) = self.entries.get_mut(keyid) {
            nonces.retain(|_, forget_after| *forget_after >= now);
        }
    }

    /// Whether `keyid` has used up its cap of live nonces.
    pub(super) fn is_full(&mut self, keyid: &str, now: i64) -> bool {
        self.purge(keyid, now);
        self.entries
            .get(keyid)
            .is_some_and(|nonces| nonces.len() >= self.per_keyid_cap)
    }

    /// Records the nonce; returns `false` when it was already live (a replay).
    pub(super) fn insert(&mut self, keyid: &str, nonce: &str, forget_after: i64, now: i64) -> bool {
        self.purge(keyid, now);
        let nonces = self.entries.entry(keyid.to_owned()).or_default();
        if nonces.contains_key(nonce) {
            return false;
        }
        nonces.insert(nonce.to_owned(), forget_after);
        true
    }
}

/// The sender's revocation list as last fetched.
#[derive(Debug, Default)]
pub(super) struct Revocations {
    pub(super) revoked: HashSet<String>,
    /// Unix time after which the list is stale (`next_update + grace`); `None` = never stale.
    pub(super) stale_after: Option<i64>,
}
