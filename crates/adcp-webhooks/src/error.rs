//! The crate's error type.

/// What went wrong while preparing, storing or delivering a webhook.
///
/// Messages never contain a token, a credential, a signature or a URL query string.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// A signing key could not be built.
    #[error("invalid signing key: {0}")]
    InvalidKey(&'static str),
    /// A configuration value is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The webhook URL cannot be used (unparseable, wrong scheme, no host).
    #[error("invalid webhook URL: {0}")]
    InvalidUrl(&'static str),
    /// The push-notification config or payload input is not usable.
    #[error("invalid webhook request: {0}")]
    InvalidRequest(String),
    /// The in-memory queue is full; the caller may retry later.
    #[error("webhook queue is full")]
    QueueFull,
    /// The supervisor has shut down.
    #[error("webhook supervisor is closed")]
    Closed,
    /// A PostgreSQL error from the outbox.
    #[cfg(feature = "postgres")]
    #[error("webhook outbox database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Stored credentials could not be decrypted (no key, an unknown key, a damaged value); the
    /// delivery is dead-lettered as misconfigured.
    #[cfg(feature = "postgres")]
    #[error("stored webhook credentials: {0}")]
    Credentials(#[from] adcp_tasks::pg::CredentialError),
    /// The outbox row to act on does not exist or is not in the required state.
    #[error("webhook delivery {0} not found in the required state")]
    NotFound(i64),
    /// No dead letter carries this idempotency key (in-memory supervisor).
    #[error("no dead-lettered webhook has this idempotency key")]
    UnknownDeadLetter,
}
