//! What stops a command, and the exit status each outcome maps to (see the crate docs).

use std::path::PathBuf;

/// The exit status of a command that ran but whose checks failed.
pub(crate) const EXIT_FAILED: u8 = 1;

/// The exit status of a command that could not run.
pub(crate) const EXIT_ERROR: u8 = 2;

/// How a command that ran to its end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Everything checked passed (exit 0).
    Passed,
    /// Something checked failed; the command already printed what (exit 1).
    Failed,
}

impl Outcome {
    /// `Passed` when `ok`, else `Failed`.
    pub(crate) fn from_ok(ok: bool) -> Self {
        if ok { Self::Passed } else { Self::Failed }
    }
}

/// Why a command could not run (exit status [`EXIT_ERROR`]). Every message is one line a
/// person can act on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The arguments are unusable (beyond what clap checks).
    #[error("{0}")]
    Usage(String),
    /// No HTTP answer came back from the URL.
    #[error("cannot reach {url}: {cause}")]
    Unreachable {
        /// The URL tried.
        url: String,
        /// The innermost cause (connection refused, DNS, timeout, TLS).
        cause: String,
    },
    /// The agent answered 401.
    #[error("{url} answered 401 Unauthorized: {advice}")]
    Unauthorized {
        /// The URL tried.
        url: String,
        /// What the agent asked for (its WWW-Authenticate challenge) and what to pass.
        advice: String,
    },
    /// The agent answered 403.
    #[error("{url} answered 403 Forbidden: the credentials were accepted but may not call this")]
    Forbidden {
        /// The URL tried.
        url: String,
    },
    /// The URL answered, but not as an AdCP agent.
    #[error("{url} is not an AdCP agent: {detail}")]
    NotAdcp {
        /// The URL tried.
        url: String,
        /// What it answered instead, and where an agent usually is.
        detail: String,
    },
    /// The agent answered something this command cannot use.
    #[error("{url}: {detail}")]
    Agent {
        /// The URL tried.
        url: String,
        /// What was wrong with the answer.
        detail: String,
    },
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Some input is not the JSON it should be.
    #[error("{what} is not valid JSON: {detail}")]
    Json {
        /// Which input (`the arguments`, a file name, a URL).
        what: String,
        /// The parser's message, with line and column.
        detail: String,
    },
    /// A storyboard run could not start (no compliance folder, unreadable storyboard).
    #[error("{0}")]
    Conformance(String),
    /// A local port could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The key material could not be produced.
    #[error("cannot generate a key: {0}")]
    Keys(String),
    /// The demo seller binary could not be found or started.
    #[error("{0}")]
    Demo(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(String),
}
