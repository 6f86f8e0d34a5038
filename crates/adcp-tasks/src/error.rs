//! The crate's error enum, and how each failure looks on the wire.

use adcp_types::{AdcpError, Recovery, codes};

use crate::model::TaskId;

/// Everything that can go wrong in a task registry or the handoff runtime.
///
/// Guarantees: no variant's `Display` carries a payload, a credential or a connection string;
/// [`TaskError::to_adcp_error`] never exposes storage internals.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// No task with this id exists in the caller's scope (or at all: the two are
    /// indistinguishable on purpose).
    #[error("task {0} not found")]
    NotFound(TaskId),
    /// The write contradicts the task's state: a different terminal outcome after a terminal
    /// one, a duplicate caller-chosen id, or a change to a finished task.
    #[error("task {task_id}: {reason}")]
    Conflict {
        /// The task concerned.
        task_id: TaskId,
        /// Why the write was refused.
        reason: String,
    },
    /// A caller-supplied value is unusable: an empty account or owner, a malformed id, a bad
    /// table prefix, a list cursor that belongs to another query.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which input (`task_id`, `scope`, `cursor`, `table prefix`, ...).
        what: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A request field (of `list_tasks`, say) is malformed.
    #[error("invalid `{field}`: {reason}")]
    InvalidRequest {
        /// The offending field, JSONPath-lite (`pagination.max_results`).
        field: std::borrow::Cow<'static, str>,
        /// What is wrong with it.
        reason: String,
    },
    /// A JSON payload exceeds the store's size cap.
    #[error("{field} is {size} bytes, over the {limit}-byte limit")]
    PayloadTooLarge {
        /// Which payload (`result`, `progress`, `error`, `webhook`, `request_context`).
        field: &'static str,
        /// Its serialised size.
        size: usize,
        /// The configured cap.
        limit: usize,
    },
    /// A payload cannot be stored (e.g. a NUL character, which PostgreSQL's JSONB rejects).
    #[error("{field} cannot be stored: {reason}")]
    UnstorablePayload {
        /// Which payload.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A handoff's result could not be serialised to JSON.
    #[error("the task result could not be serialised: {0}")]
    Serialization(#[source] serde_json::Error),
    /// The in-memory registry holds its maximum number of tasks.
    #[error("the task registry is full ({limit} tasks)")]
    CapacityExhausted {
        /// The configured bound.
        limit: usize,
    },
    /// The runtime is shutting down (or was dropped) and takes no new handoffs.
    #[error("the task runtime is shutting down")]
    ShuttingDown,
    /// The `pre_handoff_reject` hook refused the handoff before any side effect.
    #[error("handoff rejected: {0}")]
    Rejected(Box<AdcpError>),
    /// The terminal outbox refused the enqueue; the terminal write was rolled back with it.
    #[error("terminal outbox: {0}")]
    Outbox(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database failed.
    #[cfg(feature = "postgres")]
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row does not decode (a column holds a value this crate never writes).
    #[error("stored task {task_id} is corrupt: {reason}")]
    Corrupt {
        /// The task concerned.
        task_id: String,
        /// What does not decode.
        reason: String,
    },
}

impl TaskError {
    /// The wire error for a buyer: `REFERENCE_NOT_FOUND` for unknown or foreign tasks,
    /// `CONFLICT` for state conflicts, `INVALID_REQUEST` for bad input, the hook's own error for
    /// a rejection, and a generic transient `SERVICE_UNAVAILABLE` for storage failures (their
    /// detail belongs in logs, not on the wire).
    pub fn to_adcp_error(&self) -> AdcpError {
        match self {
            Self::NotFound(_) => {
                AdcpError::new(codes::REFERENCE_NOT_FOUND, "task not found").with_field("task_id")
            }
            Self::Conflict { reason, .. } => AdcpError::new(codes::CONFLICT, reason.clone()),
            Self::Invalid { what, reason } => {
                AdcpError::invalid_request(format!("invalid {what}: {reason}"))
            }
            Self::InvalidRequest { field, reason } => {
                AdcpError::invalid_request(format!("invalid `{field}`: {reason}"))
                    .with_field(field.as_ref())
            }
            Self::PayloadTooLarge { .. } | Self::UnstorablePayload { .. } => {
                AdcpError::new(codes::INVALID_REQUEST, self.to_string())
            }
            Self::Rejected(error) => (**error).clone(),
            Self::CapacityExhausted { .. } | Self::ShuttingDown => AdcpError::new(
                codes::SERVICE_UNAVAILABLE,
                "the seller cannot accept new tasks now",
            )
            .with_recovery(Recovery::Transient)
            .with_retry_after(5),
            Self::Serialization(_) | Self::Outbox(_) | Self::Corrupt { .. } => {
                AdcpError::internal()
            }
            #[cfg(feature = "postgres")]
            Self::Database(_) => AdcpError::internal(),
        }
    }

    /// Whether retrying the same call later may succeed: capacity, an outbox hiccup, a lost
    /// connection, an exhausted pool, or a database error of SQLSTATE class 08 (connection),
    /// 40 (serialization failure, deadlock), 53 (insufficient resources) or 57 (operator
    /// intervention).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::CapacityExhausted { .. } | Self::Outbox(_) => true,
            #[cfg(feature = "postgres")]
            Self::Database(error) => match error {
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_) => true,
                sqlx::Error::Database(db) => db.code().is_some_and(|code| {
                    ["08", "40", "53", "57"].iter().any(|c| code.starts_with(c))
                }),
                _ => false,
            },
            _ => false,
        }
    }

    pub(crate) fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_request(
        field: impl Into<std::borrow::Cow<'static, str>>,
        reason: impl Into<String>,
    ) -> Self {
        Self::InvalidRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn conflict(task_id: &TaskId, reason: impl Into<String>) -> Self {
        Self::Conflict {
            task_id: task_id.clone(),
            reason: reason.into(),
        }
    }
}
