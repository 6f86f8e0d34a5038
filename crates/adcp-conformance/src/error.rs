//! The runner's error type: what stops a run before any storyboard can be graded.
//!
//! A failing agent is never an [`Error`]: agent behaviour is graded into the
//! [`Report`](crate::Report). Errors are about the runner's own inputs (unreadable files,
//! bad configuration) and its own resources (the webhook receiver's socket).

use std::path::PathBuf;

/// Why a run could not start or a file could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A storyboard file is not a valid storyboard.
    #[error("{path} is not a valid storyboard: {message}")]
    Storyboard {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A test kit is not valid YAML.
    #[error("{path} is not a valid test kit: {message}")]
    TestKit {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The JSON Schemas could not be loaded.
    #[error("cannot load the AdCP schemas: {0}")]
    Schemas(String),
    /// The loopback webhook receiver could not bind or serve.
    #[error("cannot start the webhook receiver: {0}")]
    Receiver(std::io::Error),
    /// The run configuration is unusable.
    #[error("invalid configuration: {0}")]
    Config(String),
}
