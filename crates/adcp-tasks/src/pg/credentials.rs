//! Push credentials encrypted at rest with keys the seller supplies.
//!
//! The PostgreSQL task registry stores the buyer's `push_notification_config` (which may carry
//! a token and legacy `authentication.credentials`) and the webhook outbox stores the legacy
//! credentials of each delivery. With [`CredentialKeys`] configured, both are sealed before they
//! reach the database:
//!
//! - XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`) with a fresh random 192-bit nonce per
//!   value, so nonces never repeat in practice under one key;
//! - the stored text is `adcp-enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`, so a
//!   value names the key that sealed it: configure a new current key and keep the old one as a
//!   previous key, and rows sealed before the rotation still open;
//! - each value is bound to its place (the caller's `context`, e.g. the task id), so a sealed
//!   value copied into another row does not open.
//!
//! Opening fails with a [`CredentialError`], never a panic; no error or `Debug` output carries
//! key material or plaintext.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{KeyInit as _, XChaCha20Poly1305, XNonce};
use rand::RngCore as _;

/// The prefix of every sealed value (format version 1).
const SEALED_PREFIX: &str = "adcp-enc:v1:";
const NONCE_LEN: usize = 24;
const MAX_KEY_ID_LEN: usize = 32;

/// Why a key could not be built or a sealed value could not be opened. Never carries key
/// material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialError {
    /// A key id must match `^[A-Za-z0-9_-]{1,32}$`.
    #[error("invalid credential key id (must match ^[A-Za-z0-9_-]{{1,32}}$)")]
    InvalidKeyId,
    /// Key material must be exactly 32 bytes (base64 of 32 bytes for `from_base64`).
    #[error("credential key material must be 32 bytes")]
    InvalidKeyMaterial,
    /// The stored value is sealed but no key is configured.
    #[error("the stored value is encrypted but no credential key is configured")]
    NoKeyConfigured,
    /// The stored value does not have the sealed format.
    #[error("the stored encrypted value is malformed")]
    Malformed,
    /// The value was sealed with a key that is not configured (its id is not secret).
    #[error("the stored value was encrypted with key `{0}`, which is not configured")]
    UnknownKey(String),
    /// The value does not authenticate under the key it names (wrong key material, tampering,
    /// or a value moved from another row).
    #[error("the stored value does not decrypt under key `{0}`")]
    Unauthentic(String),
}

/// One 256-bit key and its id. `Debug` shows the id only; the cipher state is zeroised on drop.
#[derive(Clone)]
pub struct CredentialKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl CredentialKey {
    /// A key named `id` (`^[A-Za-z0-9_-]{1,32}$`, stored in every value it seals) over 32 bytes
    /// of secret material (from a KMS or a secrets manager; never a password).
    pub fn new(id: impl Into<String>, material: [u8; 32]) -> Result<Self, CredentialError> {
        let id = id.into();
        let valid_id = (1..=MAX_KEY_ID_LEN).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid_id {
            return Err(CredentialError::InvalidKeyId);
        }
        Ok(Self {
            id,
            cipher: XChaCha20Poly1305::new(&material.into()),
        })
    }

    /// A key from standard base64 of exactly 32 bytes (e.g. `openssl rand -base64 32`).
    pub fn from_base64(id: impl Into<String>, material: &str) -> Result<Self, CredentialError> {
        let bytes = STANDARD
            .decode(material.trim())
            .map_err(|_| CredentialError::InvalidKeyMaterial)?;
        let material: [u8; 32] = bytes
            .try_into()
            .map_err(|_| CredentialError::InvalidKeyMaterial)?;
        Self::new(id, material)
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The associated data a value is bound to: the format, the key id and the caller's place.
    fn associated_data(&self, context: &[u8]) -> Vec<u8> {
        let mut aad = Vec::with_capacity(SEALED_PREFIX.len() + self.id.len() + 1 + context.len());
        aad.extend_from_slice(SEALED_PREFIX.as_bytes());
        aad.extend_from_slice(self.id.as_bytes());
        aad.push(b':');
        aad.extend_from_slice(context);
        aad
    }
}

impl fmt::Debug for CredentialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// The keys of one store: the current key seals, the current and every previous key open.
#[derive(Debug, Clone)]
pub struct CredentialKeys {
    current: CredentialKey,
    previous: Vec<CredentialKey>,
}

impl From<CredentialKey> for CredentialKeys {
    fn from(current: CredentialKey) -> Self {
        Self::new(current)
    }
}

impl CredentialKeys {
    /// Keys that seal with `current` (and open only what it sealed, plus plaintext).
    pub fn new(current: CredentialKey) -> Self {
        Self {
            current,
            previous: Vec::new(),
        }
    }

    /// Also opens values sealed with `key` (a key rotated out); never seals with it.
    #[must_use]
    pub fn with_previous(mut self, key: CredentialKey) -> Self {
        self.previous.push(key);
        self
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.current.id()
    }

    /// Whether `stored` has the sealed format (a plaintext value stored before encryption was
    /// enabled does not).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    /// Seals `plaintext` with the current key and a fresh random nonce, bound to `context`.
    ///
    /// # Panics
    ///
    /// Only for a plaintext over XChaCha20-Poly1305's limit (256 GiB), which no credential is.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> String {
        let key = &self.current;
        let mut nonce = [0_u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = key.associated_data(context);
        let sealed = key
            .cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("XChaCha20-Poly1305 fails only on plaintexts over 256 GiB");
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}:{}", key.id, URL_SAFE_NO_PAD.encode(blob))
    }

    /// Opens a value [`CredentialKeys::seal`] produced for the same `context`, with whichever
    /// configured key it names.
    pub fn open(&self, context: &[u8], stored: &str) -> Result<Vec<u8>, CredentialError> {
        let rest = stored
            .strip_prefix(SEALED_PREFIX)
            .ok_or(CredentialError::Malformed)?;
        let (key_id, encoded) = rest.split_once(':').ok_or(CredentialError::Malformed)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|key| key.id == key_id)
            .ok_or_else(|| CredentialError::UnknownKey(truncated(key_id)))?;
        let blob = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| CredentialError::Malformed)?;
        if blob.len() < NONCE_LEN {
            return Err(CredentialError::Malformed);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CredentialError::Malformed)?;
        let aad = key.associated_data(context);
        key.cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| CredentialError::Unauthentic(key.id.clone()))
    }
}

/// Opens `stored` when it is sealed (with `keys`, which must then be configured) and passes a
/// plaintext value stored before encryption was enabled through unchanged. Plaintext that
/// happens to start with the sealed prefix is treated as sealed (and fails to open).
pub fn open_if_sealed(
    keys: Option<&CredentialKeys>,
    context: &[u8],
    stored: String,
) -> Result<String, CredentialError> {
    if !CredentialKeys::is_sealed(&stored) {
        return Ok(stored);
    }
    let keys = keys.ok_or(CredentialError::NoKeyConfigured)?;
    String::from_utf8(keys.open(context, &stored)?).map_err(|_| CredentialError::Malformed)
}

/// A key id read from a stored value, shortened so a hostile value cannot flood a log line.
fn truncated(key_id: &str) -> String {
    key_id.chars().take(MAX_KEY_ID_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> CredentialKey {
        CredentialKey::new(id, [byte; 32]).unwrap()
    }

    #[test]
    fn sealed_values_open_only_in_their_context_and_hide_the_plaintext() {
        let keys = CredentialKeys::new(key("k1", 7));
        let sealed = keys.seal(b"task_1", b"very-secret-credential");
        assert!(CredentialKeys::is_sealed(&sealed));
        assert!(sealed.starts_with("adcp-enc:v1:k1:"));
        assert!(!sealed.contains("very-secret"));
        assert_eq!(
            keys.open(b"task_1", &sealed).unwrap(),
            b"very-secret-credential"
        );
        assert_eq!(
            keys.open(b"task_2", &sealed),
            Err(CredentialError::Unauthentic("k1".into()))
        );
        assert_ne!(
            sealed,
            keys.seal(b"task_1", b"very-secret-credential"),
            "a fresh nonce per value"
        );
    }

    #[test]
    fn rotation_opens_old_values_and_seals_with_the_current_key() {
        let old = CredentialKeys::new(key("old", 1));
        let sealed_before = old.seal(b"c", b"secret");
        let rotated = CredentialKeys::new(key("new", 2)).with_previous(key("old", 1));
        assert_eq!(rotated.open(b"c", &sealed_before).unwrap(), b"secret");
        assert!(
            rotated
                .seal(b"c", b"secret")
                .starts_with("adcp-enc:v1:new:")
        );
        assert_eq!(
            CredentialKeys::new(key("new", 2)).open(b"c", &sealed_before),
            Err(CredentialError::UnknownKey("old".into()))
        );
        assert_eq!(
            CredentialKeys::new(key("old", 9)).open(b"c", &sealed_before),
            Err(CredentialError::Unauthentic("old".into())),
            "same id, different material"
        );
    }

    #[test]
    fn malformed_values_and_bad_keys_are_errors() {
        let keys = CredentialKeys::new(key("k", 3));
        for bad in [
            "adcp-enc:v1:",
            "adcp-enc:v1:k",
            "adcp-enc:v1:k:!!!",
            "adcp-enc:v1:k:AAAA",
            "plain",
        ] {
            assert!(keys.open(b"c", bad).is_err(), "{bad}");
        }
        assert_eq!(
            open_if_sealed(None, b"c", "plain".into()).unwrap(),
            "plain",
            "plaintext from before encryption passes through"
        );
        assert_eq!(
            open_if_sealed(None, b"c", keys.seal(b"c", b"x")),
            Err(CredentialError::NoKeyConfigured)
        );
        assert!(CredentialKey::new("", [0; 32]).is_err());
        assert!(CredentialKey::new("a:b", [0; 32]).is_err());
        assert!(CredentialKey::new("x".repeat(33), [0; 32]).is_err());
        assert!(CredentialKey::from_base64("k", "c2hvcnQ=").is_err());
        let material = STANDARD.encode([5_u8; 32]);
        assert_eq!(
            CredentialKey::from_base64("k", &material).unwrap().id(),
            "k"
        );
        assert_eq!(
            format!("{:?}", key("k", 4)),
            "CredentialKey { id: \"k\", .. }"
        );
    }
}
