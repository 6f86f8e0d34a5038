//! What an incoming webhook is checked against: the sender's JWKS (RFC 9421, the AdCP
//! default), a shared secret (legacy HMAC-SHA256, deprecated), or nothing.
//!
//! Replays are refused either way: RFC 9421 by the verifier's `(keyid, nonce)` cache, HMAC by
//! remembering every signature seen.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use adcp_webhooks::signing::legacy::{HMAC_SIGNATURE_HEADER, HMAC_TIMESTAMP_HEADER, verify_hmac};
use adcp_webhooks::verify::{InboundWebhook, SignatureErrorCode, WebhookVerifier};
use clap::Args;
use serde_json::Value;

use super::receiver::Delivery;
use crate::diagnose;
use crate::error::CliError;
use crate::input;

/// How long after a JWKS fetch an unknown keyid may trigger another one.
const REFETCH_EVERY: Duration = Duration::from_secs(10);

/// The command-line choice of what to verify webhooks against (at most one).
#[derive(Debug, Clone, Default, Args)]
#[group(multiple = false)]
pub(crate) struct TrustArgs {
    /// Verify RFC 9421 signatures against this JWKS: a URL (refetched when an unknown keyid
    /// arrives) or a file.
    #[arg(long, value_name = "URL|FILE")]
    pub(crate) jwks: Option<String>,
    /// Verify RFC 9421 signatures against the JWKS named by this brand.json (the jwks_uri of
    /// its first agents[] entry that has one).
    #[arg(long, value_name = "URL")]
    pub(crate) brand_json: Option<String>,
    /// Verify legacy HMAC-SHA256 signatures (X-ADCP-Signature) with this shared secret
    /// (deprecated in AdCP, removed in 4.0).
    #[arg(long, value_name = "SECRET")]
    pub(crate) secret: Option<String>,
}

impl TrustArgs {
    /// Whether any source was given.
    pub(crate) fn given(&self) -> bool {
        self.jwks.is_some() || self.brand_json.is_some() || self.secret.is_some()
    }
}

/// The verdict on one webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// `pass`, `fail`, or `unchecked` (nothing to verify against).
    pub(crate) outcome: &'static str,
    /// `rfc9421`, `hmac-sha256`, or `none`.
    pub(crate) scheme: &'static str,
    /// The signing key (pass), or the stable error code and what it means (fail).
    pub(crate) detail: String,
}

impl Verdict {
    fn pass(scheme: &'static str, detail: String) -> Self {
        Self {
            outcome: "pass",
            scheme,
            detail,
        }
    }

    fn fail(scheme: &'static str, detail: String) -> Self {
        Self {
            outcome: "fail",
            scheme,
            detail,
        }
    }

    /// Whether the webhook verified.
    pub(crate) fn passed(&self) -> bool {
        self.outcome == "pass"
    }

    /// Whether it was checked and failed (the receiver answers 401).
    pub(crate) fn refused(&self) -> bool {
        self.outcome == "fail"
    }
}

/// A JWKS fetched from a URL, refetched when an unknown keyid arrives.
#[derive(Debug)]
pub(crate) struct Refetch {
    url: String,
    http: reqwest::Client,
    last: Mutex<Instant>,
}

/// What webhooks are verified against.
#[derive(Debug)]
pub(crate) enum Trust {
    /// RFC 9421 against a JWKS.
    Signatures {
        /// Where the keys came from, for messages.
        source: String,
        /// The verifier, holding the keys and the replay cache.
        verifier: WebhookVerifier,
        /// The URL to refetch from, when the keys came from one.
        refetch: Option<Box<Refetch>>,
    },
    /// Legacy HMAC-SHA256 with a shared secret.
    Hmac {
        /// The secret.
        secret: Vec<u8>,
        /// Every signature already accepted (replay check).
        seen: Mutex<HashSet<String>>,
    },
    /// Nothing to verify against; `reason` says why.
    Unchecked {
        /// Why nothing is checked.
        reason: String,
    },
}

impl Trust {
    /// Loads the source `args` name; [`Trust::Unchecked`] when none is given.
    pub(crate) async fn load(args: &TrustArgs, http: &reqwest::Client) -> Result<Self, CliError> {
        if let Some(secret) = &args.secret {
            if secret.len() < 32 {
                return Err(CliError::Usage(
                    "--secret must be at least 32 characters (AdCP's minimum for HMAC credentials)"
                        .to_owned(),
                ));
            }
            return Ok(Self::Hmac {
                secret: secret.as_bytes().to_vec(),
                seen: Mutex::new(HashSet::new()),
            });
        }
        if let Some(source) = &args.jwks {
            return Self::from_jwks(source, http).await;
        }
        if let Some(brand) = &args.brand_json {
            let jwks_uri = jwks_uri_of_brand(brand, http).await?;
            return Self::from_jwks(&jwks_uri, http).await;
        }
        Ok(Self::Unchecked {
            reason: "no --jwks, --brand-json or --secret given".to_owned(),
        })
    }

    /// The keys of the agent at `agent_url`: the jwks_uri its origin's
    /// `/.well-known/brand.json` names, else its origin's `/.well-known/jwks.json`;
    /// [`Trust::Unchecked`] (saying what was tried) when neither serves a JWKS.
    pub(crate) async fn discover(agent_url: &str, http: &reqwest::Client) -> Self {
        let Some(origin) = url::Url::parse(agent_url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
        else {
            return Self::Unchecked {
                reason: format!("{agent_url} has no origin"),
            };
        };
        let brand = format!("{origin}/.well-known/brand.json");
        let fallback = format!("{origin}/.well-known/jwks.json");
        let jwks_uri = jwks_uri_of_brand(&brand, http)
            .await
            .unwrap_or_else(|_| fallback.clone());
        match Self::from_jwks(&jwks_uri, http).await {
            Ok(trust) => trust,
            Err(e) => Self::Unchecked {
                reason: format!(
                    "no JWKS found for the agent ({e}); pass --jwks or --brand-json to verify"
                ),
            },
        }
    }

    async fn from_jwks(source: &str, http: &reqwest::Client) -> Result<Self, CliError> {
        let jwks = fetch_json(source, http).await?;
        check_jwks(&jwks, source)?;
        let refetch = is_url(source).then(|| {
            Box::new(Refetch {
                url: source.to_owned(),
                http: http.clone(),
                last: Mutex::new(Instant::now()),
            })
        });
        Ok(Self::Signatures {
            source: source.to_owned(),
            verifier: WebhookVerifier::new(&jwks),
            refetch,
        })
    }

    /// One line saying what webhooks are checked against.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Signatures { source, .. } => {
                format!("verifying RFC 9421 signatures against the JWKS at {source}")
            }
            Self::Hmac { .. } => {
                "verifying legacy HMAC-SHA256 signatures with the shared secret".to_owned()
            }
            Self::Unchecked { reason } => format!("not verifying signatures: {reason}"),
        }
    }

    /// The verdict on `delivery`. A verified webhook's nonce (or HMAC signature) is
    /// remembered, so the same webhook delivered again fails as a replay.
    pub(crate) async fn verify(&self, delivery: &Delivery) -> Verdict {
        match self {
            Self::Unchecked { reason } => Verdict {
                outcome: "unchecked",
                scheme: "none",
                detail: reason.clone(),
            },
            Self::Hmac { secret, seen } => verify_legacy(secret, seen, delivery),
            Self::Signatures {
                verifier, refetch, ..
            } => {
                let first = verify_rfc9421(verifier, delivery);
                if let (Err(SignatureErrorCode::KeyUnknown), Some(refetch)) = (&first, refetch)
                    && refetch.due()
                    && let Ok(jwks) = fetch_json(&refetch.url, &refetch.http).await
                {
                    verifier.replace_jwks(&jwks);
                    return rfc9421_verdict(verify_rfc9421(verifier, delivery), delivery);
                }
                rfc9421_verdict(first, delivery)
            }
        }
    }
}

impl Refetch {
    /// Whether a refetch may happen now (and records that it does).
    fn due(&self) -> bool {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() < REFETCH_EVERY {
            return false;
        }
        *last = Instant::now();
        true
    }
}

fn verify_rfc9421(
    verifier: &WebhookVerifier,
    delivery: &Delivery,
) -> Result<adcp_webhooks::verify::VerifiedWebhook, SignatureErrorCode> {
    let headers: Vec<(&str, &str)> = delivery
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    verifier.verify_now(&InboundWebhook {
        method: "POST",
        url: &delivery.target_uri,
        headers: &headers,
        body: &delivery.body,
    })
}

fn rfc9421_verdict(
    outcome: Result<adcp_webhooks::verify::VerifiedWebhook, SignatureErrorCode>,
    delivery: &Delivery,
) -> Verdict {
    match outcome {
        Ok(verified) => Verdict::pass("rfc9421", format!("signed by key {}", verified.keyid)),
        Err(SignatureErrorCode::HeaderMalformed)
            if delivery.header("signature-input").is_none()
                && delivery.header(HMAC_SIGNATURE_HEADER).is_some() =>
        {
            Verdict::fail(
                "rfc9421",
                "webhook_mode_mismatch: it carries a legacy HMAC signature, not RFC 9421 (pass --secret to check HMAC)".to_owned(),
            )
        }
        Err(code) => Verdict::fail("rfc9421", format!("{code}: {}", meaning(code))),
    }
}

/// What a verifier error code means, for a person.
fn meaning(code: SignatureErrorCode) -> &'static str {
    match code {
        SignatureErrorCode::HeaderMalformed => {
            "the Signature / Signature-Input headers are missing or malformed"
        }
        SignatureErrorCode::ParamsIncomplete => "the signature parameters are incomplete",
        SignatureErrorCode::TagInvalid => "the signature tag is not adcp/webhook-signing/v1",
        SignatureErrorCode::AlgNotAllowed => "the algorithm is not allowed for this key",
        SignatureErrorCode::WindowInvalid => {
            "outside the signature's validity window (check both clocks)"
        }
        SignatureErrorCode::ComponentsIncomplete => {
            "the signature does not cover every required component"
        }
        SignatureErrorCode::KeyUnknown => "the keyid is not in the JWKS",
        SignatureErrorCode::KeyPurposeInvalid => "the JWK is not a webhook-signing verify key",
        SignatureErrorCode::KeyRevoked => "the key is revoked",
        SignatureErrorCode::Invalid => "the signature does not verify",
        SignatureErrorCode::DigestMismatch => {
            "the body does not match its Content-Digest (it was changed after signing)"
        }
        SignatureErrorCode::Replayed => "this signature was already received (a replay)",
        SignatureErrorCode::TargetUriMalformed => "the target URL cannot be canonicalized",
        _ => "refused",
    }
}

fn verify_legacy(secret: &[u8], seen: &Mutex<HashSet<String>>, delivery: &Delivery) -> Verdict {
    let (Some(timestamp), Some(signature)) = (
        delivery.header(HMAC_TIMESTAMP_HEADER),
        delivery.header(HMAC_SIGNATURE_HEADER),
    ) else {
        let detail = if delivery.header("signature-input").is_some() {
            "webhook_mode_mismatch: it carries an RFC 9421 signature, not legacy HMAC (pass --jwks or --brand-json instead of --secret)"
        } else {
            "the X-ADCP-Signature / X-ADCP-Timestamp headers are missing"
        };
        return Verdict::fail("hmac-sha256", detail.to_owned());
    };
    let now = chrono::Utc::now().timestamp();
    if let Err(e) = verify_hmac(secret, &delivery.body, timestamp, signature, now) {
        return Verdict::fail("hmac-sha256", e.to_string());
    }
    let first_time = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(signature.trim().to_owned());
    if first_time {
        Verdict::pass("hmac-sha256", "the shared secret's MAC matches".to_owned())
    } else {
        Verdict::fail(
            "hmac-sha256",
            "this signature was already received (a replay)".to_owned(),
        )
    }
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

/// Reads JSON from a URL (GET) or a file.
async fn fetch_json(source: &str, http: &reqwest::Client) -> Result<Value, CliError> {
    if !is_url(source) {
        return input::document(Some(std::path::Path::new(source)));
    }
    let observation = adcp_conformance::probe::get(http, source).await;
    if observation.status == 0 {
        return Err(diagnose::unreachable(http, source, observation.error.as_deref()).await);
    }
    if !(200..300).contains(&observation.status) {
        return Err(CliError::Agent {
            url: source.to_owned(),
            detail: format!("HTTP {} (expected a JSON document)", observation.status),
        });
    }
    match observation.body {
        Some(value @ Value::Object(_)) => Ok(value),
        _ => Err(CliError::Json {
            what: source.to_owned(),
            detail: "the answer is not a JSON object".to_owned(),
        }),
    }
}

/// Refuses a document that is not a JWKS with at least one keyed entry.
fn check_jwks(jwks: &Value, source: &str) -> Result<(), CliError> {
    let keyed = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter(|k| k.get("kid").is_some()).count());
    match keyed {
        Some(n) if n > 0 => Ok(()),
        Some(_) => Err(CliError::Usage(format!(
            "the JWKS at {source} has no key with a kid"
        ))),
        None => Err(CliError::Usage(format!(
            "{source} is not a JWKS (no \"keys\" array)"
        ))),
    }
}

/// The jwks_uri of the first `agents[]` entry of the brand.json at `url` that names one,
/// resolved against `url`.
async fn jwks_uri_of_brand(url: &str, http: &reqwest::Client) -> Result<String, CliError> {
    let brand = fetch_json(url, http).await?;
    let named = brand
        .get("agents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find_map(|agent| agent.get("jwks_uri").and_then(Value::as_str))
        .ok_or_else(|| CliError::Agent {
            url: url.to_owned(),
            detail: "the brand.json lists no agent with a jwks_uri".to_owned(),
        })?;
    let base = url::Url::parse(url).map_err(|e| CliError::Usage(format!("`{url}`: {e}")))?;
    base.join(named)
        .map(String::from)
        .map_err(|e| CliError::Agent {
            url: url.to_owned(),
            detail: format!("its jwks_uri `{named}` is not a URL ({e})"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use adcp_webhooks::signing::legacy::hmac_signature;

    fn delivery(headers: &[(&str, &str)], body: &str) -> Delivery {
        Delivery {
            path: "/hook".into(),
            target_uri: "http://127.0.0.1:1/hook".into(),
            headers: headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned().into(),
            received_at: String::new(),
        }
    }

    #[test]
    fn legacy_hmac_passes_once_then_is_a_replay_and_tampering_fails() {
        let secret = b"0123456789abcdef0123456789abcdef".to_vec();
        let seen = Mutex::new(HashSet::new());
        let now = chrono::Utc::now().timestamp();
        let signature = hmac_signature(&secret, now, b"{\"a\":1}");
        let timestamp = now.to_string();
        let headers = [
            ("x-adcp-signature", signature.as_str()),
            ("x-adcp-timestamp", timestamp.as_str()),
        ];
        let ok = verify_legacy(&secret, &seen, &delivery(&headers, "{\"a\":1}"));
        assert!(ok.passed(), "{ok:?}");
        let again = verify_legacy(&secret, &seen, &delivery(&headers, "{\"a\":1}"));
        assert!(
            again.refused() && again.detail.contains("replay"),
            "{again:?}"
        );
        let tampered = verify_legacy(&secret, &seen, &delivery(&headers, "{\"a\":2}"));
        assert!(tampered.refused(), "{tampered:?}");
        let mismatch = verify_legacy(
            &secret,
            &seen,
            &delivery(&[("signature-input", "sig1=()")], "{}"),
        );
        assert!(
            mismatch.detail.contains("webhook_mode_mismatch"),
            "{mismatch:?}"
        );
    }

    #[test]
    fn a_jwks_needs_keyed_entries() {
        assert!(check_jwks(&serde_json::json!({"keys": [{"kid": "a"}]}), "x").is_ok());
        assert!(check_jwks(&serde_json::json!({"keys": []}), "x").is_err());
        let not = check_jwks(&serde_json::json!({"agents": []}), "x")
            .unwrap_err()
            .to_string();
        assert!(not.contains("not a JWKS"), "{not}");
    }
}
