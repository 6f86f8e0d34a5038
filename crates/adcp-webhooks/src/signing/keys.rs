//! The seller's webhook-signing keys and the JWKS that publishes their public halves.
//!
//! A key serves exactly one purpose (AdCP: `adcp_use: "webhook-signing"`), so the published JWK
//! always carries `use: "sig"`, `key_ops: ["verify"]` and that `adcp_use`; private material never
//! leaves this module except through [`WebhookSigningKey::sign`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};

use crate::error::WebhookError;

/// The two RFC 9421 algorithms the AdCP webhook profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// `ed25519` (JWK `alg: "EdDSA"`, `crv: "Ed25519"`).
    Ed25519,
    /// `ecdsa-p256-sha256` (JWK `alg: "ES256"`, `crv: "P-256"`); signatures are IEEE P1363 `r||s`.
    EcdsaP256Sha256,
}

impl SignatureAlgorithm {
    /// The RFC 9421 `alg` parameter value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256Sha256 => "ecdsa-p256-sha256",
        }
    }

    /// The JWK `alg` member for keys of this algorithm.
    pub const fn jwk_alg(self) -> &'static str {
        match self {
            Self::Ed25519 => "EdDSA",
            Self::EcdsaP256Sha256 => "ES256",
        }
    }
}

enum KeyMaterial {
    Ed25519(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

/// A private webhook-signing key with its key id.
///
/// `Debug` prints the kid and algorithm only, never key material.
pub struct WebhookSigningKey {
    kid: String,
    material: KeyMaterial,
}

impl std::fmt::Debug for WebhookSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.algorithm().as_str())
            .finish_non_exhaustive()
    }
}

impl WebhookSigningKey {
    /// Generates a fresh key from the operating system's CSPRNG.
    pub fn generate(kid: impl Into<String>, alg: SignatureAlgorithm) -> Self {
        let material = match alg {
            SignatureAlgorithm::Ed25519 => {
                KeyMaterial::Ed25519(ed25519_dalek::SigningKey::from_bytes(&rand::random()))
            }
            SignatureAlgorithm::EcdsaP256Sha256 => loop {
                // A random 32-byte string is a valid P-256 scalar except with probability ~2^-32.
                let candidate: [u8; 32] = rand::random();
                if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&candidate) {
                    break KeyMaterial::P256(key);
                }
            },
        };
        Self {
            kid: kid.into(),
            material,
        }
    }

    /// Builds an Ed25519 key from its 32-byte seed (the JWK `d`).
    pub fn from_ed25519_seed(kid: impl Into<String>, seed: &[u8; 32]) -> Self {
        Self {
            kid: kid.into(),
            material: KeyMaterial::Ed25519(ed25519_dalek::SigningKey::from_bytes(seed)),
        }
    }

    /// Builds a P-256 key from its big-endian 32-byte scalar (the JWK `d`).
    pub fn from_p256_scalar(kid: impl Into<String>, scalar: &[u8]) -> Result<Self, WebhookError> {
        let key = p256::ecdsa::SigningKey::from_slice(scalar)
            .map_err(|_| WebhookError::InvalidKey("P-256 scalar is not a valid private key"))?;
        Ok(Self {
            kid: kid.into(),
            material: KeyMaterial::P256(key),
        })
    }

    /// Builds a key from a private JWK (`kty` OKP/Ed25519 or EC/P-256, with `kid` and `d`).
    ///
    /// Accepts the protocol's test-vector field name `_private_d_for_test_only` as well as `d`.
    pub fn from_private_jwk(jwk: &Value) -> Result<Self, WebhookError> {
        let field = |name: &str| jwk.get(name).and_then(Value::as_str);
        let kid = field("kid").ok_or(WebhookError::InvalidKey("JWK has no kid"))?;
        let d = field("d")
            .or_else(|| field("_private_d_for_test_only"))
            .ok_or(WebhookError::InvalidKey("JWK has no private member d"))?;
        let d = URL_SAFE_NO_PAD
            .decode(d)
            .map_err(|_| WebhookError::InvalidKey("JWK d is not base64url"))?;
        match (field("kty"), field("crv")) {
            (Some("OKP"), Some("Ed25519")) => {
                let seed: [u8; 32] = d
                    .as_slice()
                    .try_into()
                    .map_err(|_| WebhookError::InvalidKey("Ed25519 d must be 32 bytes"))?;
                Ok(Self::from_ed25519_seed(kid, &seed))
            }
            (Some("EC"), Some("P-256")) => Self::from_p256_scalar(kid, &d),
            _ => Err(WebhookError::InvalidKey(
                "JWK is neither OKP/Ed25519 nor EC/P-256",
            )),
        }
    }

    /// The key id published as the JWK `kid` and sent as the signature's `keyid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The RFC 9421 algorithm this key signs with.
    pub const fn algorithm(&self) -> SignatureAlgorithm {
        match self.material {
            KeyMaterial::Ed25519(_) => SignatureAlgorithm::Ed25519,
            KeyMaterial::P256(_) => SignatureAlgorithm::EcdsaP256Sha256,
        }
    }

    /// Signs `message`; ES256 signatures are returned as IEEE P1363 `r||s` (64 bytes).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match &self.material {
            KeyMaterial::Ed25519(key) => key.sign(message).to_bytes().to_vec(),
            KeyMaterial::P256(key) => {
                let signature: p256::ecdsa::Signature =
                    p256::ecdsa::signature::Signer::sign(key, message);
                signature.to_bytes().to_vec()
            }
        }
    }

    /// The public JWK, with the members the AdCP webhook profile requires
    /// (`kid`, `kty`, `crv`, `alg`, `use: "sig"`, `key_ops: ["verify"]`, `adcp_use: "webhook-signing"`).
    pub fn public_jwk(&self) -> Value {
        let mut jwk = match &self.material {
            KeyMaterial::Ed25519(key) => json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
            }),
            KeyMaterial::P256(key) => {
                let point = key.verifying_key().to_sec1_point(false);
                // An uncompressed SEC1 point is 0x04 || x (32 bytes) || y (32 bytes).
                let bytes = point.as_bytes();
                json!({
                    "kty": "EC",
                    "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&bytes[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&bytes[33..65]),
                })
            }
        };
        if let Value::Object(map) = &mut jwk {
            map.insert("kid".into(), Value::String(self.kid.clone()));
            map.insert(
                "alg".into(),
                Value::String(self.algorithm().jwk_alg().into()),
            );
            map.insert("use".into(), Value::String("sig".into()));
            map.insert("key_ops".into(), json!(["verify"]));
            map.insert("adcp_use".into(), Value::String(WEBHOOK_SIGNING_USE.into()));
        }
        jwk
    }
}

/// The `adcp_use` value that marks a JWK as a webhook-signing key.
pub const WEBHOOK_SIGNING_USE: &str = "webhook-signing";

/// Publishes the seller's webhook-signing public keys as a JWKS document.
///
/// Serve [`JwksPublisher::document`] at the `jwks_uri` of the seller's brand.json `agents[]`
/// entry (by default `/.well-known/jwks.json`). Keep a retired key published for at least the
/// signature window plus the receivers' clock skew (360 s) after it stops signing.
#[derive(Debug, Default, Clone)]
pub struct JwksPublisher {
    keys: Vec<Value>,
}

impl JwksPublisher {
    /// An empty JWKS.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces, by `kid`) the public half of `key`.
    #[must_use]
    pub fn with_key(mut self, key: &WebhookSigningKey) -> Self {
        self.add_key(key);
        self
    }

    /// Adds (or replaces, by `kid`) the public half of `key`.
    pub fn add_key(&mut self, key: &WebhookSigningKey) {
        self.remove_kid(key.kid());
        self.keys.push(key.public_jwk());
    }

    /// Stops publishing `kid`; returns whether it was published.
    pub fn remove_kid(&mut self, kid: &str) -> bool {
        let before = self.keys.len();
        self.keys
            .retain(|k| k.get("kid").and_then(Value::as_str) != Some(kid));
        before != self.keys.len()
    }

    /// The JWKS document `{"keys": [...]}`; it contains public members only.
    pub fn document(&self) -> Value {
        json!({ "keys": self.keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_jwk_has_profile_members_and_no_private_member() {
        for alg in [
            SignatureAlgorithm::Ed25519,
            SignatureAlgorithm::EcdsaP256Sha256,
        ] {
            let key = WebhookSigningKey::generate("k1", alg);
            let jwk = key.public_jwk();
            assert_eq!(jwk["adcp_use"], "webhook-signing");
            assert_eq!(jwk["key_ops"], json!(["verify"]));
            assert_eq!(jwk["use"], "sig");
            assert_eq!(jwk["alg"], alg.jwk_alg());
            assert!(jwk.get("d").is_none());
        }
    }

    #[test]
    fn publisher_replaces_keys_by_kid() {
        let a = WebhookSigningKey::generate("a", SignatureAlgorithm::Ed25519);
        let a2 = WebhookSigningKey::generate("a", SignatureAlgorithm::EcdsaP256Sha256);
        let doc = JwksPublisher::new().with_key(&a).with_key(&a2).document();
        assert_eq!(doc["keys"].as_array().unwrap().len(), 1);
        assert_eq!(doc["keys"][0]["alg"], "ES256");
    }
}
