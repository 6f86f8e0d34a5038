//! A receiver-side verifier for the AdCP RFC 9421 webhook profile.
//!
//! It exists so the crate's own signer is checked by code that did not produce the signature:
//! it reparses the headers with `sfv`, rebuilds the signature base from the parsed parameters,
//! and walks the protocol's verifier checklist, failing with the checklist's stable
//! `webhook_signature_*` codes. Buyers embedding this crate can use it for inbound webhooks.

mod headers;
mod jwk;
mod state;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Mutex, PoisonError, RwLock};

use serde_json::Value;
use sfv::BareItem;
use sha2::{Digest as _, Sha256};

use crate::signing::canonicalize_target;
use state::{ReplayCache, Revocations};

/// The checklist's stable error codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureErrorCode {
    /// Step 1: `Signature-Input`/`Signature` missing, unparseable, unpaired, or mixing base64 alphabets.
    HeaderMalformed,
    /// Step 2: one of `created`, `expires`, `nonce`, `keyid`, `alg`, `tag` is missing.
    ParamsIncomplete,
    /// Step 3: `tag` is not `adcp/webhook-signing/v1`.
    TagInvalid,
    /// Step 4: `alg` is not `ed25519` or `ecdsa-p256-sha256`, or does not match the key.
    AlgNotAllowed,
    /// Step 5: `expires <= created`, window over 300 s, or outside now ± skew.
    WindowInvalid,
    /// Step 6: a required component is not covered.
    ComponentsIncomplete,
    /// Step 7: `keyid` is not in the sender's JWKS.
    KeyUnknown,
    /// Step 8: the JWK is not a webhook-signing key or lacks `key_ops: ["verify"]`.
    KeyPurposeInvalid,
    /// Step 9: the key is revoked.
    KeyRevoked,
    /// Step 9: the revocation list is older than its next update plus grace.
    RevocationStale,
    /// Step 9a: the keyid has filled its replay-cache cap.
    RateAbuse,
    /// Step 10: the signature does not verify.
    Invalid,
    /// Step 11: `Content-Digest` does not match the body.
    DigestMismatch,
    /// Step 12: the `(keyid, nonce)` pair was already seen.
    Replayed,
    /// The request URL cannot be canonicalized.
    TargetUriMalformed,
}

impl SignatureErrorCode {
    /// The wire code, e.g. `webhook_signature_window_invalid`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::HeaderMalformed => "webhook_signature_header_malformed",
            Self::ParamsIncomplete => "webhook_signature_params_incomplete",
            Self::TagInvalid => "webhook_signature_tag_invalid",
            Self::AlgNotAllowed => "webhook_signature_alg_not_allowed",
            Self::WindowInvalid => "webhook_signature_window_invalid",
            Self::ComponentsIncomplete => "webhook_signature_components_incomplete",
            Self::KeyUnknown => "webhook_signature_key_unknown",
            Self::KeyPurposeInvalid => "webhook_signature_key_purpose_invalid",
            Self::KeyRevoked => "webhook_signature_key_revoked",
            Self::RevocationStale => "webhook_signature_revocation_stale",
            Self::RateAbuse => "webhook_signature_rate_abuse",
            Self::Invalid => "webhook_signature_invalid",
            Self::DigestMismatch => "webhook_signature_digest_mismatch",
            Self::Replayed => "webhook_signature_replayed",
            Self::TargetUriMalformed => "webhook_target_uri_malformed",
        }
    }
}

impl std::fmt::Display for SignatureErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for SignatureErrorCode {}

/// An inbound webhook as received: method, full URL, headers and the raw body bytes.
#[derive(Debug, Clone, Copy)]
pub struct InboundWebhook<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The absolute URL the request was sent to.
    pub url: &'a str,
    /// Every header as `(name, value)`; names compare case-insensitively, repeats are joined.
    pub headers: &'a [(&'a str, &'a str)],
    /// The raw body, before any JSON parsing.
    pub body: &'a [u8],
}

impl InboundWebhook<'_> {
    fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.join(", "))
        }
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedWebhook {
    /// The key that signed.
    pub keyid: String,
    /// The signature's `created` (Unix seconds).
    pub created: i64,
    /// The signature's `expires` (Unix seconds).
    pub expires: i64,
}

/// Tunables of [`WebhookVerifier`].
#[derive(Debug, Clone, Copy)]
pub struct VerifierConfig {
    /// Allowed clock skew either side of the window, in seconds (profile: 60).
    pub clock_skew_secs: i64,
    /// Longest accepted `expires - created`, in seconds (profile: 300).
    pub max_window_secs: i64,
    /// Live nonces remembered per keyid before further signatures are refused as rate abuse.
    pub replay_cap_per_keyid: usize,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            clock_skew_secs: 60,
            max_window_secs: 300,
            replay_cap_per_keyid: 100_000,
        }
    }
}

/// Verifies webhooks from one sender whose JWKS it holds.
#[derive(Debug)]
pub struct WebhookVerifier {
    config: VerifierConfig,
    keys: RwLock<HashMap<String, Value>>,
    revocations: RwLock<Revocations>,
    replay: Mutex<ReplayCache>,
}

struct Params {
    created: i64,
    expires: i64,
    nonce: String,
    keyid: String,
    alg: String,
    tag: String,
}

fn read_params(params: &sfv::Parameters) -> Option<Params> {
    let int = |name: &str| {
        params
            .get(name)
            .and_then(BareItem::as_integer)
            .map(i64::from)
    };
    let string = |name: &str| {
        params
            .get(name)
            .and_then(|v| v.as_string())
            .map(|s| s.as_str().to_owned())
    };
    Some(Params {
        created: int("created")?,
        expires: int("expires")?,
        nonce: string("nonce")?,
        keyid: string("keyid")?,
        alg: string("alg")?,
        tag: string("tag")?,
    })
}

const REQUIRED_COMPONENTS: [&str; 5] = [
    "@method",
    "@target-uri",
    "@authority",
    "content-type",
    "content-digest",
];

impl WebhookVerifier {
    /// A verifier trusting the keys of `jwks` (`{"keys": [...]}`), with default tunables.
    pub fn new(jwks: &Value) -> Self {
        Self::with_config(jwks, VerifierConfig::default())
    }

    /// A verifier trusting the keys of `jwks`, with explicit tunables.
    pub fn with_config(jwks: &Value, config: VerifierConfig) -> Self {
        let verifier = Self {
            config,
            keys: RwLock::new(HashMap::new()),
            revocations: RwLock::new(Revocations::default()),
            replay: Mutex::new(ReplayCache::new(config.replay_cap_per_keyid)),
        };
        verifier.replace_jwks(jwks);
        verifier
    }

    /// Replaces the trusted keys (after a JWKS refetch). Entries without a `kid` are ignored.
    pub fn replace_jwks(&self, jwks: &Value) {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|jwk| Some((jwk.get("kid")?.as_str()?.to_owned(), jwk.clone())))
            .collect();
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = keys;
    }

    /// Installs the sender's revocation list; it is stale after `stale_after` (Unix seconds,
    /// the list's `next_update` plus grace), or never when `None`.
    pub fn set_revocations(
        &self,
        revoked_kids: impl IntoIterator<Item = String>,
        stale_after: Option<i64>,
    ) {
        let mut rev = self
            .revocations
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        rev.revoked = revoked_kids.into_iter().collect();
        rev.stale_after = stale_after;
    }

    /// Marks `(keyid, nonce)` as seen until `forget_after` (for tests and shared replay stores).
    pub fn remember_nonce(&self, keyid: &str, nonce: &str, forget_after: i64, now: i64) {
        self.replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(keyid, nonce, forget_after, now);
    }

    /// Verifies `request` against the current clock.
    pub fn verify_now(
        &self,
        request: &InboundWebhook<'_>,
    ) -> Result<VerifiedWebhook, SignatureErrorCode> {
        self.verify(request, chrono::Utc::now().timestamp())
    }

    /// Walks the verifier checklist at time `now` (Unix seconds); the first failing step's code
    /// is returned. A nonce is remembered only after the signature and digest check out.
    pub fn verify(
        &self,
        request: &InboundWebhook<'_>,
        now: i64,
    ) -> Result<VerifiedWebhook, SignatureErrorCode> {
        // Step 1: both headers, both parse, both carry `sig1`.
        let (Some(input_header), Some(signature_header)) = (
            request.header("signature-input"),
            request.header("signature"),
        ) else {
            return Err(SignatureErrorCode::HeaderMalformed);
        };
        let sig_params = headers::parse_signature_input(&input_header)?;
        let signature = headers::parse_signature(&signature_header)?;
        // Step 2.
        let params =
            read_params(&sig_params.inner.params).ok_or(SignatureErrorCode::ParamsIncomplete)?;
        // Step 3.
        if params.tag != crate::signing::WEBHOOK_SIGNING_TAG {
            return Err(SignatureErrorCode::TagInvalid);
        }
        // Step 4.
        if !matches!(params.alg.as_str(), "ed25519" | "ecdsa-p256-sha256") {
            return Err(SignatureErrorCode::AlgNotAllowed);
        }
        // Step 5.
        let skew = self.config.clock_skew_secs;
        if params.expires <= params.created
            || params.expires - params.created > self.config.max_window_secs
            || now < params.created - skew
            || now > params.expires + skew
        {
            return Err(SignatureErrorCode::WindowInvalid);
        }
        // Step 6.
        if !REQUIRED_COMPONENTS
            .iter()
            .all(|c| sig_params.components.iter().any(|have| have == c))
        {
            return Err(SignatureErrorCode::ComponentsIncomplete);
        }
        // Steps 7 and 8.
        let jwk = self
            .keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&params.keyid)
            .cloned()
            .ok_or(SignatureErrorCode::KeyUnknown)?;
        jwk::check_purpose(&jwk)?;
        let key = jwk::public_key(&jwk, &params.alg)?;
        // Step 9.
        {
            let rev = self
                .revocations
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if rev.revoked.contains(&params.keyid) {
                return Err(SignatureErrorCode::KeyRevoked);
            }
            if rev.stale_after.is_some_and(|t| now > t) {
                return Err(SignatureErrorCode::RevocationStale);
            }
        }
        // Step 9a.
        if self
            .replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_full(&params.keyid, now)
        {
            return Err(SignatureErrorCode::RateAbuse);
        }
        // Step 10.
        let base = signature_base(request, &sig_params)?;
        key.verify(base.as_bytes(), &signature)?;
        // Step 11.
        let digest_header = request
            .header("content-digest")
            .ok_or(SignatureErrorCode::DigestMismatch)?;
        let claimed = headers::parse_sha256_digest(&digest_header)
            .ok_or(SignatureErrorCode::DigestMismatch)?;
        if claimed.as_slice() != Sha256::digest(request.body).as_slice() {
            return Err(SignatureErrorCode::DigestMismatch);
        }
        // Step 12.
        let fresh = self
            .replay
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(&params.keyid, &params.nonce, params.expires + skew, now);
        if !fresh {
            return Err(SignatureErrorCode::Replayed);
        }
        Ok(VerifiedWebhook {
            keyid: params.keyid,
            created: params.created,
            expires: params.expires,
        })
    }
}

/// RFC 9421 §2.5 signature base rebuilt from the parsed `Signature-Input`.
fn signature_base(
    request: &InboundWebhook<'_>,
    sig_params: &headers::SignatureParams,
) -> Result<String, SignatureErrorCode> {
    let target =
        canonicalize_target(request.url).map_err(|_| SignatureErrorCode::TargetUriMalformed)?;
    let mut base = String::new();
    for component in &sig_params.components {
        let value = match component.as_str() {
            "@method" => request.method.to_ascii_uppercase(),
            "@target-uri" => target.target_uri.clone(),
            "@authority" => target.authority.clone(),
            name if !name.starts_with('@') => {
                request.header(name).ok_or(SignatureErrorCode::Invalid)?
            }
            _ => return Err(SignatureErrorCode::Invalid),
        };
        let _ = writeln!(base, "\"{component}\": {value}");
    }
    let params_value =
        headers::signature_params_value(sig_params).ok_or(SignatureErrorCode::HeaderMalformed)?;
    let _ = write!(base, "\"@signature-params\": {params_value}");
    Ok(base)
}
