//! MCP sessions under caps: a total, a per-principal count, and idle expiry.
//!
//! rmcp's `LocalSessionManager` holds every session a client opens until it idles out (five
//! minutes by default), with no cap: 3,000 anonymous `initialize` calls held 3,000 sessions.
//! [`BoundedSessions`] wraps it and counts sessions per principal. The edge asks
//! [`BoundedSessions::reserve`] for a slot before an `initialize` reaches rmcp (and answers a
//! clear 429/503 when there is none); [`SessionManager::create_session`] turns that reservation
//! into the session's entry, for the principal the edge put in scope (see
//! [`with_session_owner`]). The caps hold exactly, and a caller is never refused by rmcp with a
//! 500 after the edge admitted it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::Stream;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, SessionConfig,
};
use rmcp::transport::streamable_http_server::session::{
    EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

/// Caps on MCP sessions (session mode only; a stateless server holds none).
///
/// Measured on the release demo seller (`cargo xtask bench`): a held session costs about
/// 77 KB (rmcp's session worker, its channels and the client's `initialize` parameters), so the
/// default total of 1,000 bounds sessions at about 77 MB; stateless mode holds none.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionLimits {
    /// The most sessions held at once; past it `initialize` gets HTTP 503 with an AdCP
    /// `SERVICE_UNAVAILABLE` error. Default 1,000.
    pub max_sessions: usize,
    /// The most sessions one principal holds at once; past it `initialize` gets HTTP 429 with
    /// an AdCP `RATE_LIMITED` error. Without an authenticator every caller is anonymous and
    /// only the total applies. Default 16.
    pub max_sessions_per_principal: usize,
    /// A session with no traffic for this long is closed (the client re-initializes).
    /// Default 120 s.
    pub idle_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_sessions: 1_000,
            max_sessions_per_principal: 16,
            idle_timeout: Duration::from_mins(2),
        }
    }
}

impl SessionLimits {
    /// Limits with this total cap (at least one).
    #[must_use]
    pub fn with_max_sessions(mut self, max: usize) -> Self {
        self.max_sessions = max.max(1);
        self
    }

    /// Limits with this per-principal cap (at least one).
    #[must_use]
    pub fn with_max_sessions_per_principal(mut self, max: usize) -> Self {
        self.max_sessions_per_principal = max.max(1);
        self
    }

    /// Limits with this idle expiry.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }
}

/// Why a new session is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SessionRefusal {
    /// The server holds its total.
    #[error("the agent holds its maximum number of MCP sessions")]
    Full,
    /// This principal holds its share.
    #[error("this principal holds its maximum number of MCP sessions")]
    PrincipalFull,
}

/// The key sessions are counted under: the principal's id, or "" for anonymous callers.
type OwnerKey = Arc<str>;

/// The caller of the request being served, and the slot the edge reserved for it.
struct SessionScope {
    owner: OwnerKey,
    reserved: Mutex<Option<Reservation>>,
}

tokio::task_local! {
    /// The principal whose POST is being served (set by the edge).
    static SESSION_SCOPE: SessionScope;
}

/// Runs `future` (the rest of a POST) with `owner` as the principal a session it creates is
/// counted under, and `reserved` as that session's slot.
pub(crate) async fn with_session_owner<F: Future>(
    owner: &str,
    reserved: Option<Reservation>,
    future: F,
) -> F::Output {
    let scope = SessionScope {
        owner: Arc::from(owner),
        reserved: Mutex::new(reserved),
    };
    SESSION_SCOPE.scope(scope, future).await
}

#[derive(Debug, Default)]
struct Ledger {
    owners: HashMap<SessionId, OwnerKey>,
    /// Sessions held or being created, per owner.
    per_owner: HashMap<OwnerKey, usize>,
    /// Sessions being created (reserved, id not known yet).
    pending: usize,
}

impl Ledger {
    fn release(&mut self, owner: &OwnerKey) {
        if let Some(count) = self.per_owner.get_mut(owner) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.per_owner.remove(owner);
            }
        }
    }
}

/// rmcp's local session manager, with caps.
#[derive(Debug)]
pub(crate) struct BoundedSessions {
    inner: LocalSessionManager,
    limits: SessionLimits,
    ledger: Arc<Mutex<Ledger>>,
}

impl BoundedSessions {
    pub(crate) fn new(limits: SessionLimits) -> Self {
        let mut inner = LocalSessionManager::default();
        let mut config = SessionConfig::default();
        config.keep_alive = Some(limits.idle_timeout);
        inner.session_config = config;
        Self {
            inner,
            limits,
            ledger: Arc::default(),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(&self, ledger: &Ledger, owner: &str) -> Result<(), SessionRefusal> {
        if ledger.owners.len() + ledger.pending >= self.limits.max_sessions {
            return Err(SessionRefusal::Full);
        }
        // Anonymous callers (no authenticator) cannot be told apart: only the total binds them.
        if !owner.is_empty()
            && ledger.per_owner.get(owner).copied().unwrap_or(0)
                >= self.limits.max_sessions_per_principal
        {
            return Err(SessionRefusal::PrincipalFull);
        }
        Ok(())
    }

    fn forget(&self, id: &SessionId) {
        let mut ledger = self.ledger();
        if let Some(owner) = ledger.owners.remove(id) {
            ledger.release(&owner);
        }
    }

    /// Reserves one session for `owner` under the caps, atomically; the slot is given back
    /// when the reservation is dropped uncommitted.
    pub(crate) fn reserve(&self, owner: &str) -> Result<Reservation, SessionRefusal> {
        let mut ledger = self.ledger();
        self.check(&ledger, owner)?;
        let owner: OwnerKey = Arc::from(owner);
        *ledger.per_owner.entry(Arc::clone(&owner)).or_default() += 1;
        ledger.pending += 1;
        Ok(Reservation {
            ledger: Arc::clone(&self.ledger),
            owner: Some(owner),
        })
    }
}

/// A session slot reserved before rmcp creates the session: turned into the session's ledger
/// entry once its id is known, or given back if creation fails or never happens.
#[derive(Debug)]
pub(crate) struct Reservation {
    ledger: Arc<Mutex<Ledger>>,
    owner: Option<OwnerKey>,
}

impl Reservation {
    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn commit(mut self, id: SessionId) {
        if let Some(owner) = self.owner.take() {
            let mut ledger = self.lock();
            ledger.pending = ledger.pending.saturating_sub(1);
            ledger.owners.insert(id, owner);
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.take() {
            let mut ledger = self.lock();
            ledger.pending = ledger.pending.saturating_sub(1);
            ledger.release(&owner);
        }
    }
}

/// A refused session, as rmcp's session-manager error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BoundedSessionError {
    #[error(transparent)]
    Refused(#[from] SessionRefusal),
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
}

impl SessionManager for BoundedSessions {
    type Error = BoundedSessionError;
    type Transport = <LocalSessionManager as SessionManager>::Transport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        // The edge puts the caller in scope for every POST in session mode, with the slot it
        // reserved for an `initialize`; a session created outside that scope could not be
        // counted, so it is refused.
        let (owner, reserved) = SESSION_SCOPE
            .try_with(|scope| {
                let reserved = scope
                    .reserved
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                (Arc::clone(&scope.owner), reserved)
            })
            .map_err(|_| SessionRefusal::Full)?;
        let reservation = match reserved {
            Some(reservation) => reservation,
            None => self.reserve(&owner)?,
        };
        let (id, transport) = self.inner.create_session().await?;
        reservation.commit(id.clone());
        Ok((id, transport))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.inner.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        self.forget(id);
        Ok(self.inner.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_stream(id, message).await?)
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.inner.resume(id, last_event_id).await?)
    }

    async fn restore_session(
        &self,
        _id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        // No external session store: a session unknown here is gone (the client re-initializes).
        Ok(RestoreOutcome::NotSupported)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        None
    }
}
