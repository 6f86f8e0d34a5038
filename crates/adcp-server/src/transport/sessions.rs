//! MCP sessions under caps: a total, a per-principal count, a cap on active workers, dormancy
//! and idle expiry.
//!
//! rmcp's `LocalSessionManager` holds every session a client opens until it idles out, each
//! with its own worker (about 77 KB), and with no cap: 3,000 anonymous `initialize` calls held
//! 3,000 sessions. [`BoundedSessions`] wraps it and keeps a ledger of every open session:
//!
//! - **Caps.** The edge asks [`BoundedSessions::reserve`] for a slot before an `initialize`
//!   reaches rmcp (and answers a clear 429/503 when there is none);
//!   [`SessionManager::create_session`] turns that reservation into the session's entry, for
//!   the principal the edge put in scope (see [`with_session_owner`]). The caps hold exactly,
//!   and a caller is never refused by rmcp with a 500 after the edge admitted it.
//! - **Dormancy.** A session with nothing in flight for [`SessionLimits::dormant_after`] gives
//!   its worker back and keeps only the client's `initialize` parameters (a few hundred bytes).
//!   Its next request restores it through rmcp's own session-store hook
//!   ([`SessionStore`]: rmcp replays the `initialize` into a fresh worker, invisibly to the
//!   client). At most [`SessionLimits::max_active_sessions`] workers exist at once: past it the
//!   least recently used idle session goes dormant to make room.
//! - **Expiry.** A session with no traffic for [`SessionLimits::idle_timeout`] is forgotten
//!   (the client re-initializes). rmcp's own idle timeout is off: it closed a session even
//!   while one of its calls was still running.
//!
//! Evictions, restores, closes and deletions take turns (one async gate), so rmcp's handle of an
//! evicted worker is gone before the same id is restored. An evicted worker ends a little later
//! and rmcp then reports its close; the ledger counts the closes still due and absorbs them, so
//! such a late close never touches the restored worker. A request on its way is counted from
//! rmcp's check that its session exists (or from its restore) until it reaches the worker, and
//! its session is not evicted meanwhile (a count older than five seconds, left by a request
//! that failed on the way, no longer protects it).
//!
//! A call counts as in flight while its answer stream is open. A client that goes away
//! mid-call closes that stream, so its session may go dormant while the call still runs; the
//! call is not lost: rmcp never aborts a handler, closing the worker only cancels the call's
//! `ct`, and the call (which AdCP's dispatcher runs to its end) completes with nobody to read
//! its answer, as it would have anyway. Admission waits at most two seconds for workers to
//! take their close (every closed worker leaves rmcp's table at once, before that wait), so a
//! worker that does not drain its channel cannot stall the others.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, SessionConfig,
};
use rmcp::transport::streamable_http_server::session::store::{
    SessionState, SessionStore, SessionStoreError,
};
use rmcp::transport::streamable_http_server::session::{
    EventStore, RestoreOutcome, ServerSseMessage, SessionId, SessionManager,
};

/// How long a request on its way to its session's worker protects that session from eviction
/// at most (a request that failed on the way leaves its count behind).
const ARRIVAL_STALE: Duration = Duration::from_secs(5);

/// The longest session admission waits for workers to take their close (see
/// `BoundedSessions::close_workers`).
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The largest `initialize` parameters kept for a dormant session (JSON bytes). A session whose
/// parameters are larger never goes dormant: it keeps its worker until it expires.
const MAX_STORED_PARAMS: usize = 4 * 1024;

/// Caps on MCP sessions (session mode only; a stateless server holds none).
///
/// Measured on the release demo seller (`cargo xtask bench`): an active session costs about
/// 77 KB (rmcp's session worker and its channels), a dormant one well under 1 KB, so the
/// defaults bound sessions at about 1,000 × 77 KB + 9,000 × 1 KB, under 90 MB; stateless mode
/// holds none.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SessionLimits {
    /// The most sessions open at once, active or dormant; past it `initialize` gets HTTP 503
    /// with an AdCP `SERVICE_UNAVAILABLE` error. Default 10,000.
    pub max_sessions: usize,
    /// The most sessions one principal holds open at once; past it `initialize` gets HTTP 429
    /// with an AdCP `RATE_LIMITED` error. Without an authenticator every caller is anonymous
    /// and only the total applies. Default 16.
    pub max_sessions_per_principal: usize,
    /// The most sessions with a worker in memory at once. Past it the least recently used
    /// session with nothing in flight goes dormant; when every one is busy, `initialize` and a
    /// dormant session's next request get HTTP 503. Default 1,000 (never above `max_sessions`).
    pub max_active_sessions: usize,
    /// A session with nothing in flight for this long goes dormant: its worker is released and
    /// its next request restores it, invisibly to the client (about 0.5 ms). A request being
    /// served or an open event stream (GET) counts as in flight, so a client holding a stream
    /// keeps its worker (such clients are bounded by the connection cap). Default 15 s.
    pub dormant_after: Duration,
    /// A session with no traffic for this long is closed (the client re-initializes).
    /// Default 120 s.
    pub idle_timeout: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            max_sessions_per_principal: 16,
            max_active_sessions: 1_000,
            dormant_after: Duration::from_secs(15),
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

    /// Limits with this cap on sessions holding a worker (at least one).
    #[must_use]
    pub fn with_max_active_sessions(mut self, max: usize) -> Self {
        self.max_active_sessions = max.max(1);
        self
    }

    /// Limits with this time before an unused session goes dormant.
    #[must_use]
    pub fn with_dormant_after(mut self, after: Duration) -> Self {
        self.dormant_after = after;
        self
    }

    /// Limits with this idle expiry.
    #[must_use]
    pub fn with_idle_timeout(mut self, idle: Duration) -> Self {
        self.idle_timeout = idle;
        self
    }

    /// The active cap as enforced: never above the total.
    fn active_cap(&self) -> usize {
        self.max_active_sessions.min(self.max_sessions)
    }

    /// How often the sweeper looks for sessions to put to sleep or forget.
    fn sweep_every(&self) -> Duration {
        (self.dormant_after.min(self.idle_timeout) / 2)
            .clamp(Duration::from_millis(100), Duration::from_secs(5))
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

/// One open session, as the ledger knows it.
#[derive(Debug)]
struct Entry {
    owner: OwnerKey,
    /// The client's `initialize` parameters as JSON, once rmcp stored them: what a restore
    /// replays. A session without them cannot go dormant.
    params: Option<Box<[u8]>>,
    /// Whether the session's worker is in memory.
    active: bool,
    /// Requests and streams of this session being served now.
    in_flight: u32,
    /// Closes of this session's evicted workers still to come from rmcp (see the module doc).
    closes_due: u32,
    last_used: Instant,
    /// Requests on their way to the worker (see the module doc), the last one since when.
    arriving: u32,
    arriving_since: Instant,
    /// Restored, its `initialize` not replayed yet: its worker cannot serve a request before.
    restoring: bool,
}

impl Entry {
    /// A session entry for `owner`, active, used now.
    fn new(owner: OwnerKey) -> Self {
        let now = Instant::now();
        Self {
            owner,
            params: None,
            active: true,
            in_flight: 0,
            closes_due: 0,
            last_used: now,
            arriving: 0,
            arriving_since: now,
            restoring: false,
        }
    }

    /// Whether the session's worker may be released at `now`.
    fn can_sleep(&self, now: Instant) -> bool {
        self.active && self.in_flight == 0 && self.params.is_some() && !self.awaits_arrivals(now)
    }

    /// Whether requests counted on their way may still arrive (the count is not stale).
    fn awaits_arrivals(&self, now: Instant) -> bool {
        self.arriving > 0 && now.saturating_duration_since(self.arriving_since) < ARRIVAL_STALE
    }

    /// Counts `requests` more on their way to the worker.
    fn expect(&mut self, requests: u32) {
        let now = Instant::now();
        self.forget_stale_arrivals(now);
        self.arriving += requests;
        self.arriving_since = now;
        self.last_used = now;
    }

    /// One request on its way reached the worker.
    fn arrived(&mut self) {
        let now = Instant::now();
        self.forget_stale_arrivals(now);
        self.arriving = self.arriving.saturating_sub(1);
        self.last_used = now;
    }

    /// Drops the count of requests that never arrived (they failed on the way).
    fn forget_stale_arrivals(&mut self, now: Instant) {
        if !self.awaits_arrivals(now) {
            self.arriving = 0;
        }
    }
}

#[derive(Debug, Default)]
struct Ledger {
    sessions: HashMap<SessionId, Entry>,
    /// Sessions open or being created, per owner.
    per_owner: HashMap<OwnerKey, usize>,
    /// Sessions being created (reserved, id not known yet); each will hold a worker.
    pending: usize,
    /// Sessions holding a worker.
    active: usize,
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

    /// Forgets a session; whether it still held a worker.
    fn remove(&mut self, id: &str) -> bool {
        let Some(entry) = self.sessions.remove(id) else {
            return false;
        };
        self.release(&entry.owner);
        if entry.active {
            self.active = self.active.saturating_sub(1);
        }
        entry.active
    }

    /// Marks a session dormant; its worker is now due to close.
    fn put_to_sleep(&mut self, id: &str) {
        if let Some(entry) = self.sessions.get_mut(id)
            && entry.active
        {
            entry.active = false;
            entry.closes_due += 1;
            self.active = self.active.saturating_sub(1);
        }
    }

    /// Makes room for one more worker under `cap`: the least recently used session that can
    /// sleep is put to sleep (its id returned, for its worker to be closed). Refused when every
    /// worker is busy.
    fn make_room(&mut self, cap: usize) -> Result<Option<SessionId>, SessionRefusal> {
        if self.active + self.pending < cap {
            return Ok(None);
        }
        let now = Instant::now();
        let oldest = self
            .sessions
            .iter()
            .filter(|(_, entry)| entry.can_sleep(now))
            .min_by_key(|(_, entry)| entry.last_used)
            .map(|(id, _)| id.clone())
            .ok_or(SessionRefusal::Full)?;
        self.put_to_sleep(&oldest);
        Ok(Some(oldest))
    }

    /// Whether a worker could be found for a session now (without changing anything).
    fn has_room(&self, cap: usize) -> bool {
        let now = Instant::now();
        self.active + self.pending < cap || self.sessions.values().any(|e| e.can_sleep(now))
    }
}

/// rmcp's local session manager, with caps, dormancy and expiry.
#[derive(Debug)]
pub(crate) struct BoundedSessions {
    inner: LocalSessionManager,
    limits: SessionLimits,
    ledger: Arc<Mutex<Ledger>>,
    /// Evictions and restores take turns (see the module doc).
    gate: tokio::sync::Mutex<()>,
    /// This manager, for the sweeper it starts with its first session.
    this: Weak<Self>,
    /// The sweeper, once started (started again if its runtime went away).
    sweeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl BoundedSessions {
    /// An empty ledger. With its first session it starts a sweeper (on the runtime serving
    /// that session) that puts unused sessions to sleep and forgets expired ones for as long
    /// as the manager lives.
    pub(crate) fn start(limits: SessionLimits) -> Arc<Self> {
        let mut inner = LocalSessionManager::default();
        let mut config = SessionConfig::default();
        // The sweeper expires sessions; rmcp's own timeout would close one mid-call.
        config.keep_alive = None;
        inner.session_config = config;
        Arc::new_cyclic(|this| Self {
            inner,
            limits,
            ledger: Arc::default(),
            gate: tokio::sync::Mutex::new(()),
            this: this.clone(),
            sweeper: Mutex::new(None),
        })
    }

    /// Starts the sweeper on the current runtime unless one is running.
    fn ensure_sweeper(&self) {
        let mut sweeper = self.sweeper.lock().unwrap_or_else(PoisonError::into_inner);
        if sweeper
            .as_ref()
            .is_none_or(tokio::task::JoinHandle::is_finished)
        {
            *sweeper = Some(tokio::spawn(sweep_while_alive(
                self.this.clone(),
                self.limits.sweep_every(),
            )));
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check(&self, ledger: &Ledger, owner: &str) -> Result<(), SessionRefusal> {
        if ledger.sessions.len() + ledger.pending >= self.limits.max_sessions {
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

    /// Reserves one session for `owner` under the caps, atomically, putting the least recently
    /// used idle session to sleep if the workers are at their cap; the slot is given back when
    /// the reservation is dropped uncommitted.
    pub(crate) async fn reserve(&self, owner: &str) -> Result<Reservation, SessionRefusal> {
        self.ensure_sweeper();
        let _turn = self.gate.lock().await;
        let (reservation, evicted) = {
            let mut ledger = self.ledger();
            self.check(&ledger, owner)?;
            let evicted = ledger.make_room(self.limits.active_cap())?;
            let owner: OwnerKey = Arc::from(owner);
            *ledger.per_owner.entry(Arc::clone(&owner)).or_default() += 1;
            ledger.pending += 1;
            let reservation = Reservation {
                ledger: Arc::clone(&self.ledger),
                owner: Some(owner),
            };
            (reservation, evicted)
        };
        self.close_workers(evicted.into_iter().collect()).await;
        Ok(reservation)
    }

    /// Whether a request for session `id` can be served now: refused only for a dormant
    /// session when every worker is busy (its restore would run over the cap).
    pub(crate) fn admit(&self, id: &str) -> Result<(), SessionRefusal> {
        let ledger = self.ledger();
        match ledger.sessions.get(id) {
            Some(entry) if !entry.active && !ledger.has_room(self.limits.active_cap()) => {
                Err(SessionRefusal::Full)
            }
            _ => Ok(()),
        }
    }

    /// Closes the workers of sessions the ledger has already put to sleep or forgotten, in a
    /// task of their own: a request that goes away meanwhile cannot leave a worker the ledger
    /// no longer counts. The closes run side by side, and each takes its worker out of rmcp's
    /// table at once before it queues the close on the worker's own channel. They are awaited
    /// for at most [`CLOSE_WAIT`]: a worker that does not drain its channel must not hold up
    /// every other session's admission (past the wait, its close goes on in the background,
    /// and its id is already out of rmcp's table).
    async fn close_workers(&self, ids: Vec<SessionId>) {
        if ids.is_empty() {
            return;
        }
        let Some(this) = self.this.upgrade() else {
            return;
        };
        // Side by side, not in turn: each close takes its worker out of rmcp's table before it
        // waits on the worker, so one worker that does not drain cannot keep the others in.
        let mut closing = tokio::spawn(async move {
            let closes = ids.iter().map(|id| this.inner.close_session(id));
            for outcome in futures::future::join_all(closes).await {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "a session worker did not close cleanly");
                }
            }
        });
        match tokio::time::timeout(CLOSE_WAIT, &mut closing).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "closing session workers stopped"),
            Err(_) => tracing::warn!(
                "a session worker has not taken its close within {CLOSE_WAIT:?}; \
                 closing it in the background"
            ),
        }
    }

    /// One sweep: sessions unused for `dormant_after` go to sleep, sessions without traffic for
    /// `idle_timeout` are forgotten.
    async fn sweep(&self) {
        let _turn = self.gate.lock().await;
        let closing: Vec<SessionId> = {
            let mut ledger = self.ledger();
            let now = Instant::now();
            let mut expired = Vec::new();
            let mut sleepy = Vec::new();
            for (id, entry) in &ledger.sessions {
                if entry.in_flight > 0 {
                    continue;
                }
                let unused = now.saturating_duration_since(entry.last_used);
                if unused >= self.limits.idle_timeout {
                    expired.push(id.clone());
                } else if unused >= self.limits.dormant_after && entry.can_sleep(now) {
                    sleepy.push(id.clone());
                }
            }
            for id in &sleepy {
                ledger.put_to_sleep(id);
            }
            let mut closing = sleepy;
            for id in expired {
                if ledger.remove(&id) {
                    closing.push(id);
                }
            }
            closing
        };
        self.close_workers(closing).await;
    }

    /// Counts a request or stream of session `id` as in flight until the returned guard drops
    /// (and, if `arrival`, as one of the requests expected on their way having arrived).
    fn in_flight(&self, id: &SessionId, arrival: bool) -> InFlight {
        if let Some(entry) = self.ledger().sessions.get_mut(id) {
            entry.in_flight += 1;
            if arrival {
                entry.arrived();
            }
        }
        InFlight {
            ledger: Arc::clone(&self.ledger),
            id: id.clone(),
        }
    }

    /// A request of session `id` reached its worker without a stream (a notification).
    fn arrived(&self, id: &SessionId) {
        if let Some(entry) = self.ledger().sessions.get_mut(id) {
            entry.arrived();
        }
    }
}

/// Sweeps every `every` until the manager is gone.
async fn sweep_while_alive(sessions: Weak<BoundedSessions>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(sessions) = sessions.upgrade() else {
            return;
        };
        sessions.sweep().await;
    }
}

/// A request or stream of a session being served: the session does not sleep meanwhile.
#[derive(Debug)]
struct InFlight {
    ledger: Arc<Mutex<Ledger>>,
    id: SessionId,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = ledger.sessions.get_mut(&self.id) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            entry.last_used = Instant::now();
        }
    }
}

/// `stream`, with the session counted in flight until it ends or is dropped.
fn tracked<S: Stream + Send + Sync + 'static>(
    stream: S,
    guard: InFlight,
) -> impl Stream<Item = S::Item> + Send + Sync + 'static {
    stream.map(move |item| {
        let _serving = &guard;
        item
    })
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
            ledger.active += 1;
            ledger.sessions.insert(id, Entry::new(owner));
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
            None => self.reserve(&owner).await?,
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
        // In flight, but not one of the arrivals counted (a restore counts the replayed
        // `initialized` and the request that woke the session).
        let _serving = self.in_flight(id, false);
        let answer = self.inner.initialize_session(id, message).await;
        if let Some(entry) = self.ledger().sessions.get_mut(id) {
            entry.restoring = false;
        }
        Ok(answer?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        // The ledger answers, under the lock the sweeper marks sessions dormant with: a session
        // said to be here is touched, so it is not put to sleep before its request arrives; a
        // dormant one is restored by rmcp.
        {
            let mut ledger = self.ledger();
            match ledger.sessions.get_mut(id) {
                // One being restored is not here yet: rmcp makes this request wait for the
                // restore instead of reaching the worker before its `initialize`.
                Some(entry) if entry.active && !entry.restoring => entry.expect(1),
                _ => return Ok(false),
            }
        }
        Ok(self.inner.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        // rmcp calls this when a worker ends (and on DELETE, before deleting the stored state).
        // The end of a worker the ledger evicted is expected and changes nothing; a worker that
        // ended on its own leaves its session dormant (or forgotten, if it cannot be restored).
        let _turn = self.gate.lock().await;
        let close_worker = {
            let mut ledger = self.ledger();
            let Some(entry) = ledger.sessions.get_mut(id) else {
                return Ok(());
            };
            if entry.closes_due > 0 {
                // The end of a worker evicted earlier, whatever state the session is in now.
                entry.closes_due -= 1;
                false
            } else if entry.active {
                entry.active = false;
                let restorable = entry.params.is_some();
                ledger.active = ledger.active.saturating_sub(1);
                if !restorable {
                    ledger.remove(id);
                }
                true
            } else {
                false
            }
        };
        if close_worker {
            self.close_workers(vec![id.clone()]).await;
        }
        Ok(())
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let serving = self.in_flight(id, true);
        Ok(tracked(
            self.inner.create_stream(id, message).await?,
            serving,
        ))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        self.arrived(id);
        Ok(self.inner.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let serving = self.in_flight(id, true);
        Ok(tracked(
            self.inner.create_standalone_stream(id).await?,
            serving,
        ))
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let serving = self.in_flight(id, true);
        Ok(tracked(
            self.inner.resume(id, last_event_id).await?,
            serving,
        ))
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        // rmcp calls this for a session its store knows (a dormant one) and it does not hold.
        let _turn = self.gate.lock().await;
        let closing: Vec<SessionId> = {
            let mut ledger = self.ledger();
            match ledger.sessions.get_mut(&id) {
                None => return Ok(RestoreOutcome::NotSupported),
                Some(entry) if entry.active && entry.restoring => {
                    // An earlier restore went away before its `initialize` was replayed (rmcp
                    // restores one session at a time): close that worker and start again.
                    entry.closes_due += 1;
                    entry.expect(2);
                    vec![id.clone()]
                }
                Some(entry) if entry.active => Vec::new(),
                Some(_) => {
                    // The edge refused this request with a 503 if no worker could be found
                    // (`admit`); one that raced past that check is served anyway, over the cap
                    // by at most the requests in flight, rather than failed by rmcp with a 500.
                    let evicted = ledger
                        .make_room(self.limits.active_cap())
                        .unwrap_or_default();
                    if let Some(entry) = ledger.sessions.get_mut(&id) {
                        entry.active = true;
                        entry.restoring = true;
                        // rmcp replays `initialized`, then serves the request that woke it.
                        entry.expect(2);
                    }
                    ledger.active += 1;
                    evicted.into_iter().collect()
                }
            }
        };
        self.close_workers(closing).await;
        Ok(self.inner.restore_session(id).await?)
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        None
    }
}

/// The ledger as rmcp's session store: the `initialize` parameters a dormant session is
/// restored from, kept beside the session's entry (so they are forgotten with it).
#[async_trait::async_trait]
impl SessionStore for BoundedSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let params = {
            let ledger = self.ledger();
            match ledger.sessions.get(session_id) {
                Some(entry) => entry.params.clone(),
                None => None,
            }
        };
        match params {
            Some(json) => Ok(Some(serde_json::from_slice(&json)?)),
            None => Ok(None),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let json = serde_json::to_vec(state)?;
        if json.len() > MAX_STORED_PARAMS {
            // Kept active until it expires rather than holding an unbounded copy.
            return Ok(());
        }
        if let Some(entry) = self.ledger().sessions.get_mut(session_id) {
            entry.params = Some(json.into_boxed_slice());
        }
        Ok(())
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        // HTTP DELETE, after `close_session`: the session is forgotten, and any worker a request
        // restored in between is closed too (the ledger would no longer see it).
        let _turn = self.gate.lock().await;
        let _ = self.ledger().remove(session_id);
        self.close_workers(vec![SessionId::from(session_id)]).await;
        Ok(())
    }
}
