//! The loopback webhook receiver `expect_webhook*` steps observe.
//!
//! It binds `127.0.0.1:0`, serves `POST /step/<step_id>/<capture>` (the URL
//! `{{runner.webhook_url:<step_id>}}` expands to), records every delivery with its headers and
//! raw body, and answers 200, except that a step armed with a retry policy answers its first
//! `count` deliveries with the policy's 5xx (the `expect_webhook_retry_keys_stable` contract).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Notify, oneshot};

use crate::error::Error;

/// Largest webhook body recorded.
const MAX_BODY: usize = 1 << 20;

/// One delivery the receiver observed.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Arrival order across the whole run, from 0.
    pub index: usize,
    /// The step whose URL was called (`trigger_webhook_operation`).
    pub step_id: String,
    /// The capture token after the step id: one per storyboard run, so a late delivery for a
    /// step of an earlier storyboard never matches a same-named step of a later one.
    pub capture: String,
    /// The HTTP method.
    pub method: String,
    /// The full URL as the sender addressed it (`http://<Host><path>?<query>`).
    pub target_uri: String,
    /// Request headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    #[serde(skip)]
    pub body: Vec<u8>,
    /// The body parsed as JSON, when it is JSON.
    pub json: Option<Value>,
    /// The status the receiver answered with.
    pub answered: u16,
    /// When it arrived.
    #[serde(skip)]
    pub received_at: SystemTime,
}

impl Delivery {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Default)]
struct State {
    deliveries: Vec<Delivery>,
    /// Per step: deliveries still to refuse, and the status to refuse them with.
    retry: HashMap<String, (u32, u16)>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    arrived: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a handler panicked mid-push; the data is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running receiver. Dropping it stops the server.
#[derive(Debug)]
pub struct WebhookReceiver {
    base_url: String,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl WebhookReceiver {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start() -> Result<Self, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(Error::Receiver)?;
        let addr: SocketAddr = listener.local_addr().map_err(Error::Receiver)?;
        let shared = Arc::new(Shared::default());
        let handler_state = shared.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let shared = handler_state.clone();
                async move { receive(&shared, &method, &uri, &headers, &body) }
            },
        );
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::warn!(error = %e, "webhook receiver stopped");
            }
        });
        Ok(Self {
            base_url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Makes the receiver answer the first `count` deliveries to `/step/<step_id>/<capture>`
    /// with `status` (clamped to the contract: 1..=10 deliveries, a retryable status).
    pub fn arm_retry(&self, step_id: &str, capture: &str, count: u32, status: u16) {
        let status = if matches!(status, 429 | 500 | 502 | 503 | 504) {
            status
        } else {
            503
        };
        self.shared
            .lock()
            .retry
            .insert(format!("{step_id}/{capture}"), (count.clamp(1, 10), status));
    }

    /// Every delivery so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// Waits until a delivery satisfying `matches` exists, or `timeout` passes.
    pub async fn wait_first(
        &self,
        timeout: Duration,
        matches: impl Fn(&Delivery) -> bool,
    ) -> Option<Delivery> {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.arrived.notified();
            if let Some(found) = self.shared.lock().deliveries.iter().find(|d| matches(d)) {
                return Some(found.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// Collects every delivery satisfying `matches`: returns once the first match has been
    /// answered 2xx and no further match arrived for `settle`, or when `timeout` passes.
    ///
    /// The settle window is this runner's stand-in for the reference runner's "wait the whole
    /// window": a sender that re-fires on replay, or keeps retrying, does so within seconds of
    /// the last delivery, and a green run should not idle out every timeout.
    pub async fn wait_settled(
        &self,
        timeout: Duration,
        settle: Duration,
        matches: impl Fn(&Delivery) -> bool,
    ) -> Vec<Delivery> {
        let deadline = Instant::now() + timeout;
        let mut last_count = 0;
        let mut quiet_since = Instant::now();
        loop {
            let notified = self.shared.arrived.notified();
            let found: Vec<Delivery> = self
                .shared
                .lock()
                .deliveries
                .iter()
                .filter(|d| matches(d))
                .cloned()
                .collect();
            if found.len() != last_count {
                last_count = found.len();
                quiet_since = Instant::now();
            }
            let acknowledged = found.iter().any(|d| (200..300).contains(&d.answered));
            let now = Instant::now();
            if now >= deadline || (acknowledged && now.duration_since(quiet_since) >= settle) {
                return found;
            }
            let wake = deadline
                .min(quiet_since + settle)
                .max(now + Duration::from_millis(50));
            let _ = tokio::time::timeout(wake - now, notified).await;
        }
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn receive(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (StatusCode, &'static str) {
    let path = uri.path();
    let mut segments = path.strip_prefix("/step/").unwrap_or_default().split('/');
    let (Some(step_id), capture) = (
        segments.next().filter(|s| !s.is_empty()),
        segments.next().unwrap_or_default(),
    ) else {
        return (StatusCode::NOT_FOUND, "unknown receiver path");
    };
    if body.len() > MAX_BODY {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    }
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1");
    let path_and_query = uri.path_and_query().map_or(path, |pq| pq.as_str());
    let recorded_headers = headers
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut state = shared.lock();
    let answered = match state.retry.get_mut(&format!("{step_id}/{capture}")) {
        Some((left, status)) if *left > 0 => {
            *left -= 1;
            *status
        }
        _ => 200,
    };
    let index = state.deliveries.len();
    state.deliveries.push(Delivery {
        index,
        step_id: step_id.to_owned(),
        capture: capture.to_owned(),
        method: method.as_str().to_owned(),
        target_uri: format!("http://{host}{path_and_query}"),
        headers: recorded_headers,
        body: body.to_vec(),
        json: serde_json::from_slice(body).ok(),
        answered,
        received_at: SystemTime::now(),
    });
    drop(state);
    shared.arrived.notify_waiters();
    let status = StatusCode::from_u16(answered).unwrap_or(StatusCode::OK);
    (
        status,
        if status.is_success() {
            "ok"
        } else {
            "retry later"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_deliveries_and_honours_retry_policy_over_loopback() {
        let receiver = WebhookReceiver::start().await.unwrap();
        receiver.arm_retry("retry_step", "tok", 2, 503);
        crate::install_tls_provider();
        let http = reqwest::Client::new();
        let url = format!("{}/step/retry_step/tok?x=1", receiver.base_url());
        let mut statuses = Vec::new();
        for n in 0..3 {
            let response = http
                .post(&url)
                .header("content-type", "application/json")
                .header("idempotency-probe", format!("{n}"))
                .body(format!("{{\"n\":{n}}}"))
                .send()
                .await
                .unwrap();
            statuses.push(response.status().as_u16());
        }
        assert_eq!(statuses, vec![503, 503, 200]);
        let all = receiver
            .wait_settled(Duration::from_secs(5), Duration::from_millis(100), |d| {
                d.step_id == "retry_step"
            })
            .await;
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].json, Some(serde_json::json!({"n": 2})));
        assert_eq!(all[0].header("Idempotency-Probe"), Some("0"));
        assert!(all[0].target_uri.ends_with("/step/retry_step/tok?x=1"));
        assert!(all[0].target_uri.starts_with("http://127.0.0.1:"));
        assert_eq!(all[0].capture, "tok");

        let other = http
            .post(format!("{}/elsewhere", receiver.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(other.status().as_u16(), 404);
        let first = receiver
            .wait_first(Duration::from_millis(200), |d| d.step_id == "never")
            .await;
        assert!(first.is_none());
    }
}
