//! Errors building or starting a server (never sent to buyers: those are `AdcpError`s).

/// Why a server could not be built or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A claimed specialism needs tools the platform does not implement.
    #[error(
        "the server claims specialism `{specialism}` but does not implement {missing:?}; \
         implement them (and list them in the platform's `tools()`), or stop claiming it"
    )]
    MissingTools {
        /// The claimed specialism.
        specialism: &'static str,
        /// Its entry-point tools that are not served.
        missing: Vec<&'static str>,
    },
    /// A tool was registered twice or is not a manifest tool.
    #[error("tool `{tool}`: {reason}")]
    InvalidTool {
        /// The tool name.
        tool: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// Strict mode could not load its schemas: the embedded set failed to compile, or the folder
    /// `ADCP_SCHEMAS_DIR` points at is missing or invalid.
    #[error("loading the AdCP schemas for strict mode: {0}")]
    Schemas(#[from] adcp_types::validate::ValidateError),
    /// The task runtime could not be built.
    #[error("task runtime: {0}")]
    Tasks(#[from] adcp_tasks::TaskError),
    /// The webhook outbox could not be set up (feature `postgres`).
    #[error("webhook outbox: {0}")]
    Webhooks(#[from] adcp_webhooks::WebhookError),
    /// The idempotency store could not be set up.
    #[error("idempotency store: {0}")]
    Idempotency(#[from] crate::idempotency::IdempotencyError),
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Binding or serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}
