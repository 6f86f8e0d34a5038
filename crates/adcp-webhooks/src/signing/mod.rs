//! Outbound webhook authentication: the AdCP RFC 9421 profile (default), the seller's keys and
//! their JWKS, and the deprecated legacy HMAC-SHA256 and Bearer schemes.

mod canonical;
mod keys;
pub mod legacy;
mod signer;

pub use canonical::{CanonicalTarget, TargetUriMalformed, canonicalize_target};
pub use keys::{JwksPublisher, SignatureAlgorithm, WEBHOOK_SIGNING_USE, WebhookSigningKey};
pub use signer::{
    COVERED_COMPONENTS, MAX_SIGNATURE_WINDOW_SECS, SignedHeaders, WEBHOOK_CONTENT_TYPE,
    WEBHOOK_SIGNING_TAG, WebhookSigner,
};
