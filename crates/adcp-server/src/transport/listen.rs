//! The accept loop: every connection bounded in time and in number, and a graceful close.
//!
//! `axum::serve` keeps an idle or slow connection open forever and accepts without limit; with
//! the usual 1,024 open-file limit, a thousand idle sockets then starve every real caller. Here
//! each connection must deliver a complete request head within
//! [`ConnectionLimits::header_read_timeout`] (which also bounds how long an idle keep-alive
//! connection waits for its next request), at most [`ConnectionLimits::max_connections`] are
//! served at once, and a connection past the cap gets an immediate `503` with an AdCP error
//! body instead of a hang.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// How long and how many: the bounds every accepted connection lives under.
///
/// Measured on the release demo seller: an idle connection costs about 21 KB (the socket's
/// task and hyper's read buffer), so the default cap of 768 bounds idle connections at about
/// 16 MB.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// The longest a connection may go without delivering a complete request head: it bounds a
    /// slow-header (slowloris) client and an idle keep-alive connection alike. Default 10 s.
    pub header_read_timeout: Duration,
    /// The most connections served at once; past it a new connection gets `503` with an AdCP
    /// `SERVICE_UNAVAILABLE` body and is closed. Keep it below the process's open-file limit
    /// minus what the database pool and webhook deliveries need. Default 768 (fits under the
    /// common limit of 1,024).
    pub max_connections: usize,
    /// How long in-flight requests may run once the server stops accepting connections.
    /// Default 5 s.
    pub graceful_close: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 768,
            graceful_close: Duration::from_secs(5),
        }
    }
}

impl ConnectionLimits {
    /// Limits with this header-read (and keep-alive idle) timeout.
    #[must_use]
    pub fn with_header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Limits with this cap on concurrent connections (at least one).
    #[must_use]
    pub fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Limits with this grace period for in-flight requests at shutdown.
    #[must_use]
    pub fn with_graceful_close(mut self, grace: Duration) -> Self {
        self.graceful_close = grace;
        self
    }
}

/// At most this many over-capacity connections are answered at once; beyond it they are
/// closed without a reply (the answer itself must not become the resource an attacker drains).
const MAX_REJECTIONS_IN_FLIGHT: usize = 64;
/// How long writing the over-capacity reply may take.
const REJECTION_WRITE_TIMEOUT: Duration = Duration::from_secs(1);

/// Accepts connections on `listener` and serves `router` on each, within `limits`, until `stop`
/// is cancelled; then stops accepting and gives in-flight requests `limits.graceful_close` to
/// finish. Returns once every connection is closed or the grace period is over.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionLimits,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let rejections = Arc::new(Semaphore::new(MAX_REJECTIONS_IN_FLIGHT));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut over_capacity_logged = false;
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connection tasks so the set holds only live ones.
        while connections.try_join_next().is_some() {}
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                // EMFILE/ENFILE and friends: back off instead of spinning on the error.
                tracing::warn!(%error, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            if !over_capacity_logged {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection cap reached; new connections get 503 until some close"
                );
                over_capacity_logged = true;
            }
            reject_over_capacity(stream, &rejections);
            continue;
        };
        over_capacity_logged = false;
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        connections.spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.graceful_close, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?limits.graceful_close,
            open = connections.len(),
            "connections still open after the graceful-close period; closing them"
        );
    }
    connections.shutdown().await;
}

/// The whole HTTP response a connection past the cap gets.
fn over_capacity_response() -> Vec<u8> {
    let error = adcp_types::AdcpError::new(
        adcp_types::codes::SERVICE_UNAVAILABLE,
        "the agent is at its connection limit; retry shortly",
    )
    .with_retry_after(1);
    let body = crate::dispatch::failed_reply(&error, &crate::dispatch::Echo::default())
        .body
        .to_string();
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn reject_over_capacity(mut stream: TcpStream, rejections: &Arc<Semaphore>) {
    let Ok(permit) = Arc::clone(rejections).try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let response = over_capacity_response();
        let _ = tokio::time::timeout(REJECTION_WRITE_TIMEOUT, async {
            // Read what the client sent first and drain the rest after answering: closing a
            // socket with unread input makes the kernel reset it, and the client would see a
            // reset instead of the 503.
            let mut sink = [0_u8; 4096];
            let _ = stream.read(&mut sink).await?;
            stream.write_all(&response).await?;
            stream.shutdown().await?;
            while stream.read(&mut sink).await? > 0 {}
            Ok::<(), std::io::Error>(())
        })
        .await;
        drop(permit);
    });
}
