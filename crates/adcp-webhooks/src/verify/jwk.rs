//! Turns a sender's published JWK into a verifying key, after the profile's purpose checks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use super::SignatureErrorCode;

/// A public key ready to verify signatures of one algorithm.
pub(super) enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    P256(p256::ecdsa::VerifyingKey),
}

fn member<'a>(jwk: &'a Value, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

/// Step 8: the key must be for webhook signing and allow `verify`.
pub(super) fn check_purpose(jwk: &Value) -> Result<(), SignatureErrorCode> {
    let adcp_use_ok = member(jwk, "adcp_use") == Some("webhook-signing");
    let use_ok = member(jwk, "use").is_none_or(|u| u == "sig");
    let ops_ok = jwk
        .get("key_ops")
        .and_then(Value::as_array)
        .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
    if adcp_use_ok && use_ok && ops_ok {
        Ok(())
    } else {
        Err(SignatureErrorCode::KeyPurposeInvalid)
    }
}

fn coordinate(jwk: &Value, name: &str) -> Result<Vec<u8>, SignatureErrorCode> {
    let raw = member(jwk, name).ok_or(SignatureErrorCode::Invalid)?;
    URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| SignatureErrorCode::Invalid)
}

/// Builds the verifying key for `alg`; a key of another type or algorithm is not allowed.
pub(super) fn public_key(jwk: &Value, alg: &str) -> Result<PublicKey, SignatureErrorCode> {
    let declared = member(jwk, "alg");
    match (alg, member(jwk, "kty"), member(jwk, "crv")) {
        ("ed25519", Some("OKP"), Some("Ed25519")) if declared.is_none_or(|a| a == "EdDSA") => {
            let x: [u8; 32] = coordinate(jwk, "x")?
                .try_into()
                .map_err(|_| SignatureErrorCode::Invalid)?;
            ed25519_dalek::VerifyingKey::from_bytes(&x)
                .map(PublicKey::Ed25519)
                .map_err(|_| SignatureErrorCode::Invalid)
        }
        ("ecdsa-p256-sha256", Some("EC"), Some("P-256"))
            if declared.is_none_or(|a| a == "ES256") =>
        {
            let (x, y) = (coordinate(jwk, "x")?, coordinate(jwk, "y")?);
            if x.len() != 32 || y.len() != 32 {
                return Err(SignatureErrorCode::Invalid);
            }
            let mut sec1 = Vec::with_capacity(65);
            sec1.push(0x04);
            sec1.extend_from_slice(&x);
            sec1.extend_from_slice(&y);
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                .map(PublicKey::P256)
                .map_err(|_| SignatureErrorCode::Invalid)
        }
        _ => Err(SignatureErrorCode::AlgNotAllowed),
    }
}

impl PublicKey {
    /// Step 10: checks `signature` over `base`.
    pub(super) fn verify(&self, base: &[u8], signature: &[u8]) -> Result<(), SignatureErrorCode> {
        let ok = match self {
            Self::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_strict(base, &sig).is_ok()),
            Self::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| p256::ecdsa::signature::Verifier::verify(key, base, &sig).is_ok()),
        };
        if ok {
            Ok(())
        } else {
            Err(SignatureErrorCode::Invalid)
        }
    }
}
