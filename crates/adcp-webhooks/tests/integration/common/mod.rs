//! Test support: a loopback webhook receiver with scripted answers, and sender helpers.
// Shared by several test modules (some built only with `postgres`), each using a subset; unwrap is
// how tests fail.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adcp_webhooks::signing::{SignatureAlgorithm, WebhookSigner, WebhookSigningKey};
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{SenderConfig, WebhookSender};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn idempotency_key(&self) -> String {
        self.json()["idempotency_key"].as_str().unwrap().to_owned()
    }
}

/// What the receiver answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    Status(u16),
    StatusWithHeader(u16, &'static str, &'static str),
    /// Holds the request open for this long, then answers 200.
    Hang(Duration),
    /// Holds the request open for at most this long, answering 200 as soon as
    /// [`Receiver::release`] is called.
    HangUntilReleased(Duration),
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    received: Vec<Received>,
}

#[derive(Clone, Default)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    released: tokio_util::sync::CancellationToken,
    pub addr: Option<SocketAddr>,
}

async fn handle(State(rx): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let answer = {
        let mut inner = rx.inner.lock().unwrap();
        inner.received.push(Received {
            path_and_query: uri
                .path_and_query()
                .map(ToString::to_string)
                .unwrap_or_default(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: body.to_vec(),
            at: Instant::now(),
        });
        inner.script.pop_front().unwrap_or(Answer::Status(200))
    };
    match answer {
        Answer::Status(code) => StatusCode::from_u16(code).unwrap().into_response(),
        Answer::StatusWithHeader(code, name, value) => {
            (StatusCode::from_u16(code).unwrap(), [(name, value)]).into_response()
        }
        Answer::Hang(duration) => {
            tokio::time::sleep(duration).await;
            StatusCode::OK.into_response()
        }
        Answer::HangUntilReleased(at_most) => {
            tokio::select! {
                () = rx.released.cancelled() => {}
                () = tokio::time::sleep(at_most) => {}
            }
            StatusCode::OK.into_response()
        }
    }
}

impl Receiver {
    /// Starts a receiver on 127.0.0.1 (an OS-chosen port, or `port`).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let rx = Self {
            addr: Some(listener.local_addr().unwrap()),
            ..Self::default()
        };
        let app = axum::Router::new().fallback(handle).with_state(rx.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        rx
    }

    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Answers for the next requests, in order; afterwards 200.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// Ends every `HangUntilReleased` answer, now and later.
    pub fn release(&self) {
        self.released.cancel();
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr.unwrap())
    }

    /// Waits until at least `n` requests arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let until = Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > until {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A port nothing listens on (bound once, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn test_signer() -> WebhookSigner {
    WebhookSigner::new(WebhookSigningKey::generate(
        "seller-webhook-2026",
        SignatureAlgorithm::Ed25519,
    ))
}

/// A sender allowed to reach loopback (and nothing else special), with short timeouts.
pub fn loopback_sender(signer: Option<WebhookSigner>) -> WebhookSender {
    let config = SenderConfig {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(3),
        policy: SsrfPolicy::strict().allow_loopback(),
        ..SenderConfig::default()
    };
    WebhookSender::new(config, signer).unwrap()
}

pub fn shared_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}
