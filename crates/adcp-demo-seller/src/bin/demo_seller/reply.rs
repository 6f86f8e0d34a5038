//! Typed replies: the demo builds every reply with the generated builders, and a builder's
//! [`MissingField`] there is the demo's own bug (its catalog and records are fixed), never the
//! buyer's. It is logged and answered as an internal error, never unwrapped.

use adcp_types::{AdcpError, MissingField};

/// `result`, or — when a builder left a required field unset — an internal error, logged with
/// the type and field so the bug is found.
pub(crate) fn built<T>(result: Result<T, MissingField>) -> Result<T, AdcpError> {
    result.map_err(|error| {
        tracing::error!(%error, "demo seller built an incomplete reply");
        AdcpError::internal()
    })
}
