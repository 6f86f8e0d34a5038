//! An RFC 9421 verifier for the AdCP webhook-signing profile (`adcp/webhook-signing/v1`),
//! written independently of the SDK's signer so a shared misreading cannot pass unnoticed.
//! It is graded against the protocol's published vectors
//! (`test-vectors/webhook-signing/`) in this crate's tests.
//!
//! The checklist, in order: both headers present and parseable with a `sig1` label (1),
//! every signature parameter present (2), the tag (3), the algorithm (4), the validity
//! window with 60 s skew and at most 300 s long (5), the five required covered components
//! (6), the key id in the JWKS (7), the key's purpose and operations (8), revocation (9), the
//! signature itself (10), `Content-Digest` against the body (11), and `(keyid, nonce)` replay
//! (12).

use std::collections::HashSet;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sfv::{BareItem, Dictionary, FieldType, InnerList, ListEntry, Parser};
use sha2::{Digest as _, Sha256};

/// The profile's tag.
pub const WEBHOOK_SIGNING_TAG: &str = "adcp/webhook-signing/v1";

/// Components every webhook signature must cover.
const REQUIRED_COMPONENTS: [&str; 5] = [
    "@method",
    "@target-uri",
    "@authority",
    "content-type",
    "content-digest",
];

/// Longest allowed `expires - created`, in seconds.
const MAX_WINDOW: i64 = 300;

/// Allowed clock skew, in seconds.
const SKEW: i64 = 60;

/// Why a webhook signature was rejected; [`SignatureError::code`] is the wire code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Step 1: a header is missing, unparseable, lacks `sig1`, or mixes base64 alphabets.
    #[error("signature headers malformed: {0}")]
    HeaderMalformed(String),
    /// Step 2: a required signature parameter is missing.
    #[error("signature parameter `{0}` missing")]
    ParamsIncomplete(&'static str),
    /// Step 3: the tag is not the webhook-signing tag.
    #[error("tag `{0}` is not the required tag")]
    TagInvalid(String),
    /// Step 4: the algorithm is not allowed.
    #[error("algorithm `{0}` is not allowed")]
    AlgNotAllowed(String),
    /// Step 5: expired, not yet valid, inverted, or longer than 300 s.
    #[error("validity window invalid: {0}")]
    WindowInvalid(String),
    /// Step 6: a required component is not covered.
    #[error("component `{0}` is not covered")]
    ComponentsIncomplete(&'static str),
    /// Step 7: the key id is not in the JWKS.
    #[error("key `{0}` is not in the JWKS")]
    KeyUnknown(String),
    /// Step 8: the key is not a webhook-signing verification key.
    #[error("key `{0}` is not a webhook-signing verification key")]
    KeyPurposeInvalid(String),
    /// Step 9: the key is revoked.
    #[error("key `{0}` is revoked")]
    KeyRevoked(String),
    /// Step 10: the signature does not verify.
    #[error("signature does not verify: {0}")]
    Invalid(String),
    /// Step 11: `Content-Digest` does not match the body.
    #[error("content-digest does not match the body")]
    DigestMismatch,
    /// Step 12: this `(keyid, nonce)` was seen before.
    #[error("nonce `{0}` was already used with this key")]
    Replayed(String),
    /// The target URI cannot be canonicalized.
    #[error("target URI malformed: {0}")]
    TargetUriMalformed(String),
}

impl SignatureError {
    /// The `webhook_signature_*` code of this rejection.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HeaderMalformed(_) => "webhook_signature_header_malformed",
            Self::ParamsIncomplete(_) => "webhook_signature_params_incomplete",
            Self::TagInvalid(_) => "webhook_signature_tag_invalid",
            Self::AlgNotAllowed(_) => "webhook_signature_alg_not_allowed",
            Self::WindowInvalid(_) => "webhook_signature_window_invalid",
            Self::ComponentsIncomplete(_) => "webhook_signature_components_incomplete",
            Self::KeyUnknown(_) => "webhook_signature_key_unknown",
            Self::KeyPurposeInvalid(_) => "webhook_signature_key_purpose_invalid",
            Self::KeyRevoked(_) => "webhook_signature_key_revoked",
            Self::Invalid(_) => "webhook_signature_invalid",
            Self::DigestMismatch => "webhook_signature_digest_mismatch",
            Self::Replayed(_) => "webhook_signature_replayed",
            Self::TargetUriMalformed(_) => "webhook_target_uri_malformed",
        }
    }
}

/// A received webhook request.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `POST`.
    pub method: &'a str,
    /// The URL as addressed (`http://127.0.0.1:9/step/x/y`).
    pub target_uri: &'a str,
    /// Header name/value pairs (names compared case-insensitively).
    pub headers: &'a [(String, String)],
    /// The raw body.
    pub body: &'a [u8],
}

impl SignedRequest<'_> {
    fn header_values(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Verifier state shared across a storyboard run.
#[derive(Debug, Default)]
pub struct VerifierState {
    /// `(keyid, nonce)` pairs already accepted.
    pub seen: HashSet<(String, String)>,
    /// Revoked key ids.
    pub revoked: HashSet<String>,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The key that signed.
    pub keyid: String,
    /// The signature algorithm.
    pub alg: String,
}

/// Verifies `request` under the webhook profile against `jwks` (the `keys` array) at `now`
/// (Unix seconds), requiring `tag`. On success the `(keyid, nonce)` is recorded in `state`.
pub fn verify(
    request: &SignedRequest<'_>,
    jwks: &[Value],
    now: i64,
    tag: &str,
    state: &mut VerifierState,
) -> Result<Verified, SignatureError> {
    // Step 1: both headers, parseable, each with a `sig1` member of the right shape.
    let input_header = single_header(request, "signature-input")?;
    let signature_header = single_header(request, "signature")?;
    let inputs = parse_dictionary(&input_header)?;
    let signatures = parse_dictionary(&signature_header)?;
    let Some(ListEntry::InnerList(params)) = inputs.get("sig1") else {
        return Err(SignatureError::HeaderMalformed(
            "Signature-Input has no sig1 inner list".into(),
        ));
    };
    let signature = match signatures.get("sig1") {
        Some(ListEntry::Item(item)) => match &item.bare_item {
            BareItem::ByteSequence(bytes) => bytes.clone(),
            _ => {
                return Err(SignatureError::HeaderMalformed(
                    "sig1 is not a byte sequence".into(),
                ));
            }
        },
        _ => {
            return Err(SignatureError::HeaderMalformed(
                "Signature has no sig1 member".into(),
            ));
        }
    };

    // Step 2: every parameter.
    let created = integer_param(params, "created")?;
    let expires = integer_param(params, "expires")?;
    let nonce = string_param(params, "nonce")?;
    let keyid = string_param(params, "keyid")?;
    let alg = string_param(params, "alg")?;
    let signed_tag = string_param(params, "tag")?;

    // Steps 3-6.
    if signed_tag != tag {
        return Err(SignatureError::TagInvalid(signed_tag));
    }
    if !matches!(alg.as_str(), "ed25519" | "ecdsa-p256-sha256") {
        return Err(SignatureError::AlgNotAllowed(alg));
    }
    if expires <= created {
        return Err(SignatureError::WindowInvalid(
            "expires is not after created".into(),
        ));
    }
    if expires - created > MAX_WINDOW {
        return Err(SignatureError::WindowInvalid(format!(
            "window of {}s exceeds {MAX_WINDOW}s",
            expires - created
        )));
    }
    if now > expires + SKEW {
        return Err(SignatureError::WindowInvalid("signature expired".into()));
    }
    if created > now + SKEW {
        return Err(SignatureError::WindowInvalid(
            "signature created in the future".into(),
        ));
    }
    let components: Vec<String> = params
        .items
        .iter()
        .map(|item| match &item.bare_item {
            BareItem::String(s) => Ok(s.as_str().to_owned()),
            _ => Err(SignatureError::HeaderMalformed(
                "component is not a string".into(),
            )),
        })
        .collect::<Result<_, _>>()?;
    for required in REQUIRED_COMPONENTS {
        if !components.iter().any(|c| c == required) {
            return Err(SignatureError::ComponentsIncomplete(required));
        }
    }

    // Steps 7-9: the key.
    let jwk = jwks
        .iter()
        .find(|k| k.get("kid").and_then(Value::as_str) == Some(keyid.as_str()))
        .ok_or_else(|| SignatureError::KeyUnknown(keyid.clone()))?;
    let purpose_ok = jwk.get("adcp_use").and_then(Value::as_str) == Some("webhook-signing")
        && jwk
            .get("key_ops")
            .and_then(Value::as_array)
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")))
        && jwk
            .get("use")
            .and_then(Value::as_str)
            .is_none_or(|u| u == "sig");
    if !purpose_ok {
        return Err(SignatureError::KeyPurposeInvalid(keyid));
    }
    if state.revoked.contains(&keyid) {
        return Err(SignatureError::KeyRevoked(keyid));
    }

    // Step 10: the signature over the canonical base.
    let base = signature_base(request, &components, params)?;
    verify_bytes(jwk, &alg, base.as_bytes(), &signature)?;

    // Step 11: the digest of the body.
    check_content_digest(request)?;

    // Step 12: replay.
    if !state.seen.insert((keyid.clone(), nonce.clone())) {
        return Err(SignatureError::Replayed(nonce));
    }
    Ok(Verified { keyid, alg })
}

fn single_header(request: &SignedRequest<'_>, name: &str) -> Result<String, SignatureError> {
    let values = request.header_values(name);
    if values.is_empty() {
        return Err(SignatureError::HeaderMalformed(format!(
            "{name} header missing"
        )));
    }
    Ok(values.join(", "))
}

/// Rewrites every `:...:` byte sequence to padded standard base64 (the profile sends base64url
/// without padding and tolerates standard base64), rejecting a token that mixes alphabets.
fn normalize_binary(header: &str) -> Result<String, SignatureError> {
    let mut out = String::with_capacity(header.len() + 8);
    let mut in_string = false;
    let mut escaped = false;
    let mut token: Option<String> = None;
    for c in header.chars() {
        if let Some(t) = token.as_mut() {
            if c == ':' {
                let t = token.take().unwrap_or_default();
                let url = t.contains(['-', '_']);
                let std = t.contains(['+', '/']);
                if url && std {
                    return Err(SignatureError::HeaderMalformed(
                        "byte sequence mixes base64url and standard base64".into(),
                    ));
                }
                let trimmed = t.trim_end_matches('=');
                let mut standard: String = trimmed
                    .chars()
                    .map(|ch| match ch {
                        '-' => '+',
                        '_' => '/',
                        other => other,
                    })
                    .collect();
                while !standard.len().is_multiple_of(4) {
                    standard.push('=');
                }
                out.push(':');
                out.push_str(&standard);
                out.push(':');
            } else {
                t.push(c);
            }
            continue;
        }
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ':' => token = Some(String::new()),
            other => out.push(other),
        }
    }
    if token.is_some() {
        return Err(SignatureError::HeaderMalformed(
            "unterminated byte sequence".into(),
        ));
    }
    Ok(out)
}

fn parse_dictionary(header: &str) -> Result<Dictionary, SignatureError> {
    let normalized = normalize_binary(header)?;
    Parser::new(&normalized)
        .parse::<Dictionary>()
        .map_err(|e| SignatureError::HeaderMalformed(e.to_string()))
}

fn integer_param(params: &InnerList, name: &'static str) -> Result<i64, SignatureError> {
    match params.params.get(name) {
        Some(BareItem::Integer(i)) => Ok(i64::from(*i)),
        Some(_) => Err(SignatureError::HeaderMalformed(format!(
            "{name} is not an integer"
        ))),
        None => Err(SignatureError::ParamsIncomplete(name)),
    }
}

fn string_param(params: &InnerList, name: &'static str) -> Result<String, SignatureError> {
    match params.params.get(name) {
        Some(BareItem::String(s)) => Ok(s.as_str().to_owned()),
        Some(BareItem::Token(t)) => Ok(t.as_str().to_owned()),
        Some(_) => Err(SignatureError::HeaderMalformed(format!(
            "{name} is not a string"
        ))),
        None => Err(SignatureError::ParamsIncomplete(name)),
    }
}

/// The RFC 9421 §2.5 signature base for `components`.
pub fn signature_base(
    request: &SignedRequest<'_>,
    components: &[String],
    params: &InnerList,
) -> Result<String, SignatureError> {
    let canonical = canonicalize_target_uri(request.target_uri)?;
    let mut base = String::new();
    for component in components {
        let value = match component.as_str() {
            "@method" => request.method.to_ascii_uppercase(),
            "@target-uri" => canonical.target_uri.clone(),
            "@authority" => canonical.authority.clone(),
            name if name.starts_with('@') => {
                return Err(SignatureError::HeaderMalformed(format!(
                    "derived component {name} is not supported by the profile"
                )));
            }
            name => {
                let values = request.header_values(name);
                if values.is_empty() {
                    return Err(SignatureError::Invalid(format!(
                        "covered header {name} is absent"
                    )));
                }
                values
                    .iter()
                    .map(|v| v.trim())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(base, "\"{component}\": {value}");
    }
    let serialized =
        FieldType::serialize(&vec![ListEntry::InnerList(params.clone())]).ok_or_else(|| {
            SignatureError::HeaderMalformed("signature parameters do not serialize".into())
        })?;
    let _ = write!(base, "\"@signature-params\": {serialized}");
    Ok(base)
}

fn verify_bytes(
    jwk: &Value,
    alg: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let field = |name: &str| -> Result<Vec<u8>, SignatureError> {
        let encoded = jwk
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| SignatureError::Invalid(format!("JWK lacks `{name}`")))?;
        URL_SAFE_NO_PAD
            .decode(encoded.trim_end_matches('='))
            .map_err(|e| SignatureError::Invalid(format!("JWK `{name}` is not base64url: {e}")))
    };
    if alg == "ed25519" {
        use ed25519_dalek::Verifier as _;
        if jwk.get("crv").and_then(Value::as_str) != Some("Ed25519") {
            return Err(SignatureError::Invalid("key is not an Ed25519 key".into()));
        }
        let x: [u8; 32] = field("x")?
            .try_into()
            .map_err(|_| SignatureError::Invalid("Ed25519 key is not 32 bytes".into()))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&x)
            .map_err(|e| SignatureError::Invalid(e.to_string()))?;
        let signature = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|e| SignatureError::Invalid(e.to_string()))?;
        key.verify(message, &signature)
            .map_err(|e| SignatureError::Invalid(e.to_string()))
    } else {
        use p256::ecdsa::signature::Verifier as _;
        if jwk.get("crv").and_then(Value::as_str) != Some("P-256") {
            return Err(SignatureError::Invalid("key is not a P-256 key".into()));
        }
        let mut point = vec![0x04];
        point.extend(field("x")?);
        point.extend(field("y")?);
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
            .map_err(|e| SignatureError::Invalid(e.to_string()))?;
        let signature = p256::ecdsa::Signature::from_slice(signature)
            .map_err(|e| SignatureError::Invalid(e.to_string()))?;
        key.verify(message, &signature)
            .map_err(|e| SignatureError::Invalid(e.to_string()))
    }
}

fn check_content_digest(request: &SignedRequest<'_>) -> Result<(), SignatureError> {
    let header = single_header(request, "content-digest")?;
    let digests = parse_dictionary(&header)?;
    let Some(ListEntry::Item(item)) = digests.get("sha-256") else {
        return Err(SignatureError::DigestMismatch);
    };
    let BareItem::ByteSequence(expected) = &item.bare_item else {
        return Err(SignatureError::DigestMismatch);
    };
    let actual = Sha256::digest(request.body);
    if actual.as_slice() == expected.as_slice() {
        Ok(())
    } else {
        Err(SignatureError::DigestMismatch)
    }
}

/// The canonical `@target-uri` and `@authority` of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalTarget {
    /// `@target-uri`.
    pub target_uri: String,
    /// `@authority`.
    pub authority: String,
}

/// Canonicalizes a URL per the AdCP profile: lower-case scheme and host (IDNA), no userinfo,
/// no default port, dot segments removed, `%xx` upper-cased and unreserved characters decoded,
/// query kept byte for byte, fragment dropped.
pub fn canonicalize_target_uri(raw: &str) -> Result<CanonicalTarget, SignatureError> {
    let malformed = |why: &str| SignatureError::TargetUriMalformed(why.to_owned());
    // WHATWG parsing (the `url` crate) repairs authorities RFC 3986 calls malformed, so the
    // authority is checked on the raw text first.
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if authority.is_empty() {
        return Err(malformed("empty authority"));
    }
    if host_port.is_empty() || host_port.starts_with(':') {
        return Err(malformed("authority missing host"));
    }
    if host_port.starts_with('[') {
        if !host_port.contains(']') {
            return Err(malformed("IPv6 literal missing closing bracket"));
        }
        if host_port.contains('%') {
            return Err(malformed("IPv6 zone identifier in signed URL"));
        }
    } else if host_port.matches(':').count() > 1 {
        return Err(malformed("IPv6 literal not bracketed"));
    }
    let url = url::Url::parse(raw).map_err(|e| malformed(&e.to_string()))?;
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| malformed("authority missing host"))?;
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    // The query is taken from the raw input so no byte is re-encoded.
    let without_fragment = raw.split('#').next().unwrap_or(raw);
    let query = without_fragment.split_once('?').map(|(_, q)| q);
    let path = normalize_percent_encoding(url.path());
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let mut target_uri = format!("{}://{authority}{path}", url.scheme());
    if let Some(query) = query {
        target_uri.push('?');
        target_uri.push_str(query);
    }
    Ok(CanonicalTarget {
        target_uri,
        authority,
    })
}

fn normalize_percent_encoding(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            let decoded = h * 16 + l;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(decoded));
            } else {
                let _ = write!(out, "%{decoded:02X}");
            }
            i += 3;
            continue;
        }
        out.push(char::from(bytes[i]));
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
