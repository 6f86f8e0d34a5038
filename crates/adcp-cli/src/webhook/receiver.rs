//! A local HTTP receiver: every POST, at any path, is verified by a [`Trust`], answered
//! (204 when it verifies or nothing is checked, 401 when its signature fails) and handed to the
//! command with its verdict.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use tokio::sync::mpsc;

use super::trust::{Trust, Verdict};
use crate::error::CliError;

/// One webhook as it arrived.
#[derive(Debug, Clone)]
pub(crate) struct Delivery {
    /// The path and query it was posted to.
    pub(crate) path: String,
    /// The absolute URL the sender addressed (`http://<Host><path>`), which the signature covers.
    pub(crate) target_uri: String,
    /// Every header, names lower-cased, in arrival order.
    pub(crate) headers: Vec<(String, String)>,
    /// The raw body.
    pub(crate) body: Bytes,
    /// When it arrived (RFC 3339).
    pub(crate) received_at: String,
}

impl Delivery {
    /// The first header named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, when it is JSON.
    pub(crate) fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

struct Shared {
    trust: Arc<Trust>,
    local: SocketAddr,
    deliveries: mpsc::UnboundedSender<(Delivery, Verdict)>,
}

/// A running receiver; it stops when dropped.
#[derive(Debug)]
pub(crate) struct Receiver {
    base_url: String,
    deliveries: mpsc::UnboundedReceiver<(Delivery, Verdict)>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// Binds `addr` (port 0 picks a free one) and starts serving.
    pub(crate) async fn start(addr: SocketAddr, trust: Arc<Trust>) -> Result<Self, CliError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| CliError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| CliError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let (sender, deliveries) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            trust,
            local,
            deliveries: sender,
        });
        let app = Router::new()
            .fallback(axum::routing::post(receive))
            .with_state(shared);
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                crate::output::warn_line(&format!("the webhook receiver stopped: {e}"));
            }
        });
        Ok(Self {
            base_url: format!("http://{local}"),
            deliveries,
            server,
        })
    }

    /// `http://<address>:<port>` (no trailing slash).
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The next delivery with its verdict; `None` once the receiver has stopped.
    pub(crate) async fn next(&mut self) -> Option<(Delivery, Verdict)> {
        self.deliveries.recv().await
    }
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned());
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| shared.local.to_string(), str::to_owned);
    let delivery = Delivery {
        target_uri: format!("http://{host}{path}"),
        path,
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body,
        received_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    let verdict = shared.trust.verify(&delivery).await;
    let status = if verdict.refused() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::NO_CONTENT
    };
    // The command may have stopped listening; the sender still gets its answer.
    let _ = shared.deliveries.send((delivery, verdict));
    status
}
