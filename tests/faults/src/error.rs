//! What can stop the harness itself (as opposed to a scenario's verdict).

/// A harness failure: the scenario it happens in fails with this message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Error {
    /// A process or file operation failed.
    #[error("{action}: {source}")]
    Io {
        /// What the harness was doing.
        action: String,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// An HTTP request could not be made or answered.
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    /// A database query failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The PostgreSQL harness could not provide a database.
    #[error("pg-harness: {0}")]
    Harness(#[from] adcp_pg_harness::HarnessError),
    /// The server answered something the suite did not expect.
    #[error("{0}")]
    Unexpected(String),
}

impl Error {
    /// An I/O failure while doing `action`.
    pub(crate) fn io(action: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            action: action.into(),
            source,
        }
    }
}

/// The harness's result.
pub(crate) type Result<T> = std::result::Result<T, Error>;
