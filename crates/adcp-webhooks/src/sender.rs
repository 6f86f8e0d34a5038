//! One HTTP attempt of one webhook: SSRF checks, authentication headers, classification.
//!
//! The client never follows redirects (the signature covers `@target-uri`), never uses a proxy
//! (a proxy would resolve the host itself and bypass the resolver's checks), and resolves every
//! host name through [`GuardedResolver`]. Errors are reduced to a [`FailureKind`] before they
//! reach a log line: `reqwest` error messages embed the full URL, query string included.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_platform_verifier::BuilderVerifierExt as _;
use tracing::Instrument as _;

use crate::config::{WebhookAuth, redact_url};
use crate::error::WebhookError;
use crate::retry::{AttemptOutcome, FailureKind, classify_status};
use crate::signing::legacy::{HMAC_SIGNATURE_HEADER, HMAC_TIMESTAMP_HEADER, hmac_signature};
use crate::signing::{WEBHOOK_CONTENT_TYPE, WebhookSigner};
use crate::ssrf::{GuardedResolver, HostLookup, SsrfError, SsrfPolicy, SystemLookup};

/// The most response-body bytes read (to keep the connection reusable); the rest is dropped.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// How the sender connects.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Connection timeout (default 10 s).
    pub connect_timeout: Duration,
    /// Whole-request timeout, connect to last response byte (default 20 s).
    pub request_timeout: Duration,
    /// Destinations allowed (default: strict, HTTPS only).
    pub policy: SsrfPolicy,
    /// The resolver behind the SSRF guard (default: the system resolver).
    pub lookup: Arc<dyn HostLookup>,
    /// Idle keep-alive connections kept per host.
    pub max_idle_per_host: usize,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for SenderConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(20),
            policy: SsrfPolicy::strict(),
            lookup: Arc::new(SystemLookup),
            max_idle_per_host: 32,
            user_agent: concat!("adcp-rs-webhooks/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// One attempt's input: where, how authenticated, and the exact body bytes.
#[derive(Clone, Copy)]
pub struct OutboundWebhook<'a> {
    /// The receiver URL.
    pub url: &'a str,
    /// The registration's authentication mode.
    pub auth: &'a WebhookAuth,
    /// The serialized payload, identical on every attempt.
    pub body: &'a [u8],
    /// The payload's idempotency key (for logs).
    pub idempotency_key: &'a str,
    /// The task the webhook reports on (for logs).
    pub task_id: &'a str,
}

impl std::fmt::Debug for OutboundWebhook<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundWebhook")
            .field("destination", &redact_url(self.url))
            .field("auth", &self.auth.scheme())
            .field("idempotency_key", &self.idempotency_key)
            .field("task_id", &self.task_id)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptReport {
    /// Delivered, retryable or terminal.
    pub outcome: AttemptOutcome,
    /// The response status, when a response arrived.
    pub http_status: Option<u16>,
    /// The receiver's `Retry-After`, in seconds form only.
    pub retry_after: Option<Duration>,
    /// Time from the start of the attempt to its outcome.
    pub elapsed: Duration,
}

/// Sends webhook attempts over one pooled, SSRF-guarded HTTP client.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    client: reqwest::Client,
    request_timeout: Duration,
    policy: SsrfPolicy,
    signer: Option<WebhookSigner>,
}

fn tls_config() -> Result<rustls::ClientConfig, WebhookError> {
    // `ring` builds with nothing but a C compiler; aws-lc-rs (reqwest's default) needs cmake and
    // minutes of build time on small machines. The platform verifier reads the OS trust store.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| WebhookError::InvalidConfig("TLS protocol versions"))?
        .with_platform_verifier()
        .map_err(|_| WebhookError::InvalidConfig("TLS platform verifier"))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl WebhookSender {
    /// Builds the client. `signer` is required for RFC 9421 deliveries (the default mode); a
    /// delivery that needs it when it is absent fails terminally as misconfigured.
    pub fn new(config: SenderConfig, signer: Option<WebhookSigner>) -> Result<Self, WebhookError> {
        let resolver = GuardedResolver::new(config.policy.clone(), Arc::clone(&config.lookup));
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config()?)
            .dns_resolver(Arc::new(resolver))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .http1_only()
            .tcp_nodelay(true)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_max_idle_per_host(config.max_idle_per_host)
            .user_agent(config.user_agent)
            .build()
            .map_err(|_| WebhookError::InvalidConfig("HTTP client could not be built"))?;
        Ok(Self {
            client,
            request_timeout: config.request_timeout,
            policy: config.policy,
            signer,
        })
    }

    /// The whole-request timeout (the outbox lease must exceed it).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The RFC 9421 signer, if one is configured.
    pub fn signer(&self) -> Option<&WebhookSigner> {
        self.signer.as_ref()
    }

    /// Makes one attempt: fresh signature and nonce (or fresh HMAC timestamp) over `body`.
    pub async fn send(&self, webhook: &OutboundWebhook<'_>) -> AttemptReport {
        let span = tracing::info_span!(
            "webhook.attempt",
            destination = %redact_url(webhook.url),
            task_id = %webhook.task_id,
            idempotency_key = %webhook.idempotency_key,
            auth = webhook.auth.scheme(),
        );
        async {
            let started = Instant::now();
            let report = self.attempt(webhook, started).await;
            tracing::info!(
                outcome = %report.outcome.label(),
                http_status = report.http_status,
                elapsed_ms = u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
                "webhook attempt finished"
            );
            report
        }
        .instrument(span)
        .await
    }

    async fn attempt(&self, webhook: &OutboundWebhook<'_>, started: Instant) -> AttemptReport {
        let fail = |outcome| AttemptReport {
            outcome,
            http_status: None,
            retry_after: None,
            elapsed: started.elapsed(),
        };
        let url = match self.policy.check_url(webhook.url) {
            Ok(url) => url,
            Err(SsrfError::MalformedUrl) => {
                return fail(AttemptOutcome::Terminal(FailureKind::Misconfigured));
            }
            Err(_) => return fail(AttemptOutcome::Terminal(FailureKind::SsrfBlocked)),
        };
        let mut request = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, WEBHOOK_CONTENT_TYPE);
        match webhook.auth {
            WebhookAuth::Rfc9421 => {
                let Some(rfc9421) = &self.signer else {
                    return fail(AttemptOutcome::Terminal(FailureKind::Misconfigured));
                };
                let Ok(signed) = rfc9421.sign(webhook.url, webhook.body) else {
                    return fail(AttemptOutcome::Terminal(FailureKind::Misconfigured));
                };
                request = request
                    .header("content-digest", signed.content_digest)
                    .header("signature-input", signed.signature_input)
                    .header("signature", signed.signature);
            }
            WebhookAuth::HmacSha256(secret) => {
                let timestamp = chrono::Utc::now().timestamp();
                request = request
                    .header(HMAC_TIMESTAMP_HEADER, timestamp.to_string())
                    .header(
                        HMAC_SIGNATURE_HEADER,
                        hmac_signature(secret.expose().as_bytes(), timestamp, webhook.body),
                    );
            }
            WebhookAuth::Bearer(secret) => {
                request = request.header(
                    reqwest::header::AUTHORIZATION,
                    format!("Bearer {}", secret.expose()),
                );
            }
        }
        let response = match request.body(webhook.body.to_vec()).send().await {
            Ok(response) => response,
            Err(error) => return fail(classify_transport_error(&error)),
        };
        let status = response.status().as_u16();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let www_authenticate = header(reqwest::header::WWW_AUTHENTICATE);
        let retry_after = header(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        drain(response).await;
        AttemptReport {
            outcome: classify_status(status, www_authenticate.as_deref()),
            http_status: Some(status),
            retry_after,
            elapsed: started.elapsed(),
        }
    }
}

/// Reads a bounded amount of the response body so the connection can be reused.
async fn drain(mut response: reqwest::Response) {
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > MAX_RESPONSE_BODY {
            break;
        }
    }
}

/// Reduces a transport error to its kind, looking through its sources for an SSRF refusal.
fn classify_transport_error(error: &reqwest::Error) -> AttemptOutcome {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if current.downcast_ref::<SsrfError>().is_some() {
            return AttemptOutcome::Terminal(FailureKind::SsrfBlocked);
        }
        source = current.source();
    }
    if error.is_timeout() {
        AttemptOutcome::Retryable(FailureKind::Timeout)
    } else if error.is_connect() {
        AttemptOutcome::Retryable(FailureKind::Connect)
    } else if error.is_builder() {
        AttemptOutcome::Terminal(FailureKind::Misconfigured)
    } else {
        AttemptOutcome::Retryable(FailureKind::Transport)
    }
}
