//! The sending half of the AdCP RFC 9421 webhook profile (`adcp/webhook-signing/v1`).
//!
//! Each call to [`WebhookSigner::sign`] produces a fresh `created`/`expires` window and a fresh
//! 16-byte nonce, so a retry of one delivery carries a new signature over the same body bytes.
//! The signature base is formatted directly from the values this module chose; the verifier in
//! [`crate::verify`] reparses headers instead, so the two do not share a code path beyond URL
//! canonicalization.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};

use super::canonical::canonicalize_target;
use super::keys::WebhookSigningKey;
use crate::error::WebhookError;

/// The profile tag every webhook signature carries.
pub const WEBHOOK_SIGNING_TAG: &str = "adcp/webhook-signing/v1";
/// The longest validity window the profile allows, in seconds.
pub const MAX_SIGNATURE_WINDOW_SECS: i64 = 300;
/// The covered components, in the order they are signed.
pub const COVERED_COMPONENTS: [&str; 5] = [
    "@method",
    "@target-uri",
    "@authority",
    "content-type",
    "content-digest",
];
/// The `Content-Type` every webhook is sent with.
pub const WEBHOOK_CONTENT_TYPE: &str = "application/json";

/// The four headers that carry one signed attempt.
///
/// `Debug` omits the `Signature` value.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `Content-Type` (always `application/json`).
    pub content_type: &'static str,
    /// `Content-Digest: sha-256=:<base64url>:` over the exact body bytes (RFC 9530).
    pub content_digest: String,
    /// `Signature-Input: sig1=(...);created=..;expires=..;nonce="..";keyid="..";alg="..";tag=".."`.
    pub signature_input: String,
    /// `Signature: sig1=:<base64url>:`.
    pub signature: String,
}

impl std::fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedHeaders")
            .field("content_digest", &self.content_digest)
            .field("signature_input", &self.signature_input)
            .field("signature", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl SignedHeaders {
    /// The headers as `(name, value)` pairs, ready to put on a request.
    pub fn pairs(&self) -> [(&'static str, &str); 4] {
        [
            ("content-type", self.content_type),
            ("content-digest", &self.content_digest),
            ("signature-input", &self.signature_input),
            ("signature", &self.signature),
        ]
    }
}

/// Signs outbound webhooks with one of the seller's keys.
#[derive(Debug, Clone)]
pub struct WebhookSigner {
    key: Arc<WebhookSigningKey>,
    window_secs: i64,
}

impl WebhookSigner {
    /// A signer whose signatures are valid for the profile maximum of 300 seconds.
    pub fn new(key: WebhookSigningKey) -> Self {
        Self {
            key: Arc::new(key),
            window_secs: MAX_SIGNATURE_WINDOW_SECS,
        }
    }

    /// Shortens the validity window; fails unless `1 <= secs <= 300`.
    pub fn with_window_secs(mut self, secs: i64) -> Result<Self, WebhookError> {
        if !(1..=MAX_SIGNATURE_WINDOW_SECS).contains(&secs) {
            return Err(WebhookError::InvalidConfig(
                "signature window must be 1..=300 seconds",
            ));
        }
        self.window_secs = secs;
        Ok(self)
    }

    /// The signing key (for publishing its JWK).
    pub fn key(&self) -> &WebhookSigningKey {
        &self.key
    }

    /// Signs a `POST` of `body` to `url` now, with a fresh 16-byte nonce.
    pub fn sign(&self, url: &str, body: &[u8]) -> Result<SignedHeaders, WebhookError> {
        let nonce: [u8; 16] = rand::random();
        self.sign_at(url, body, chrono::Utc::now().timestamp(), &nonce)
    }

    /// Signs with an explicit `created` time and nonce; for reproducible tests and vectors.
    pub fn sign_at(
        &self,
        url: &str,
        body: &[u8],
        created: i64,
        nonce: &[u8],
    ) -> Result<SignedHeaders, WebhookError> {
        let target = canonicalize_target(url).map_err(|e| WebhookError::InvalidUrl(e.reason))?;
        let content_digest = format!("sha-256=:{}:", URL_SAFE_NO_PAD.encode(Sha256::digest(body)));
        let components = COVERED_COMPONENTS.map(|c| format!("\"{c}\"")).join(" ");
        let params = format!(
            "({components});created={created};expires={expires};nonce=\"{nonce}\";keyid=\"{kid}\";alg=\"{alg}\";tag=\"{WEBHOOK_SIGNING_TAG}\"",
            expires = created + self.window_secs,
            nonce = URL_SAFE_NO_PAD.encode(nonce),
            kid = self.key.kid(),
            alg = self.key.algorithm().as_str(),
        );
        let base = signature_base(
            "POST",
            &target.target_uri,
            &target.authority,
            &content_digest,
            &params,
        );
        let signature = URL_SAFE_NO_PAD.encode(self.key.sign(base.as_bytes()));
        Ok(SignedHeaders {
            content_type: WEBHOOK_CONTENT_TYPE,
            content_digest,
            signature_input: format!("sig1={params}"),
            signature: format!("sig1=:{signature}:"),
        })
    }
}

/// RFC 9421 §2.5: one `"name": value` line per covered component, then `@signature-params`.
pub(crate) fn signature_base(
    method: &str,
    target_uri: &str,
    authority: &str,
    content_digest: &str,
    params: &str,
) -> String {
    format!(
        "\"@method\": {method}\n\"@target-uri\": {target_uri}\n\"@authority\": {authority}\n\"content-type\": {WEBHOOK_CONTENT_TYPE}\n\"content-digest\": {content_digest}\n\"@signature-params\": {params}"
    )
}
