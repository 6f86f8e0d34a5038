//! A loopback webhook receiver that records every delivery (idempotency key, task, arrival
//! time, what it answered) and can be told to answer 503, to hang, or to be down.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use serde_json::Value;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::error::{Error, Result};

/// How the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// 200 at once.
    Ok,
    /// This status at once (e.g. 503).
    Status(u16),
    /// 200 after this long (a slow receiver).
    Delay(Duration),
    /// 503 after this long (a hung receiver: whatever it finally answers, the sender has long
    /// given up, so it never counts as an acknowledgement).
    Hang(Duration),
}

/// One delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The payload's `idempotency_key`.
    pub(crate) idempotency_key: String,
    /// The payload's `task_id`.
    pub(crate) task_id: String,
    /// The payload's task `status`.
    pub(crate) status: String,
    /// When the request arrived.
    pub(crate) arrived: SystemTime,
    /// The status the receiver answered with; `None` while held, or when the sender went away
    /// before the answer.
    pub(crate) answered: Option<u16>,
}

impl Delivery {
    /// Whether the receiver acknowledged it (answered 2xx).
    pub(crate) fn acknowledged(&self) -> bool {
        self.answered.is_some_and(|s| (200..300).contains(&s))
    }
}

#[derive(Debug)]
struct Shared {
    mode: Mutex<Mode>,
    deliveries: Mutex<Vec<Delivery>>,
    changed: Notify,
}

impl Shared {
    fn deliveries(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        // A poisoned lock only means a handler panicked mid-push; the records stay usable.
        self.deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Serving {
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// A running (or deliberately down) receiver on one loopback port.
pub(crate) struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    serving: Option<Serving>,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("addr", &self.addr)
            .field("up", &self.serving.is_some())
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Binds a free `127.0.0.1` port and serves in `mode`.
    pub(crate) async fn start(mode: Mode) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::io("binding a webhook receiver", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the receiver's address", e))?;
        let shared = Arc::new(Shared {
            mode: Mutex::new(mode),
            deliveries: Mutex::new(Vec::new()),
            changed: Notify::new(),
        });
        let mut receiver = Self {
            addr,
            shared,
            serving: None,
        };
        receiver.serve(listener);
        Ok(receiver)
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let shared = Arc::clone(&self.shared);
        let app = Router::new().fallback(move |body: Bytes| {
            let shared = Arc::clone(&shared);
            async move { receive(&shared, &body).await }
        });
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                eprintln!("webhook receiver stopped: {error}");
            }
        });
        self.serving = Some(Serving { stop, task });
    }

    /// The URL a push config should name (`/hooks/<path>` on this receiver).
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}/hooks/{path}", self.addr)
    }

    /// Changes how later requests are answered.
    pub(crate) fn set_mode(&self, mode: Mode) {
        *self
            .shared
            .mode
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = mode;
    }

    /// Takes the receiver down: the port refuses connections (open ones are closed) until
    /// [`Receiver::up`].
    pub(crate) async fn down(&mut self) {
        if let Some(serving) = self.serving.take() {
            let _ = serving.stop.send(());
            // Requests in flight finish first; a receiver taken down is never holding one long.
            if tokio::time::timeout(Duration::from_secs(5), serving.task)
                .await
                .is_err()
            {
                eprintln!("webhook receiver {} did not stop within 5 s", self.addr);
            }
        }
    }

    /// Brings the receiver back on the same port.
    pub(crate) async fn up(&mut self) -> Result<()> {
        if self.serving.is_some() {
            return Ok(());
        }
        let listener = tokio::net::TcpListener::bind(self.addr)
            .await
            .map_err(|e| Error::io(format!("re-binding the receiver on {}", self.addr), e))?;
        self.serve(listener);
        Ok(())
    }

    /// Every delivery so far.
    pub(crate) fn deliveries(&self) -> Vec<Delivery> {
        self.shared.deliveries().clone()
    }

    /// Waits until `done` holds for the deliveries so far, or `deadline` passes; returns whether
    /// it held.
    pub(crate) async fn wait_until(
        &self,
        deadline: Instant,
        done: impl Fn(&[Delivery]) -> bool,
    ) -> bool {
        loop {
            let changed = self.shared.changed.notified();
            if done(&self.shared.deliveries()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return done(&self.shared.deliveries());
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            let _ = serving.stop.send(());
            serving.task.abort();
        }
    }
}

async fn receive(shared: &Shared, body: &[u8]) -> StatusCode {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let field = |name: &str| json[name].as_str().unwrap_or_default().to_owned();
    let index = {
        let mut deliveries = shared.deliveries();
        deliveries.push(Delivery {
            idempotency_key: field("idempotency_key"),
            task_id: field("task_id"),
            status: field("status"),
            arrived: SystemTime::now(),
            answered: None,
        });
        deliveries.len() - 1
    };
    shared.changed.notify_waiters();
    let status = match shared.mode() {
        Mode::Ok => 200,
        Mode::Status(status) => status,
        Mode::Delay(delay) => {
            // Dropped here when the sender gives up first: `answered` stays `None`.
            tokio::time::sleep(delay).await;
            200
        }
        Mode::Hang(hang) => {
            tokio::time::sleep(hang).await;
            503
        }
    };
    if let Some(delivery) = shared.deliveries().get_mut(index) {
        delivery.answered = Some(status);
    }
    shared.changed.notify_waiters();
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
