//! The signals specialisms (`signal-owned`, `signal-marketplace`).

use adcp_types::AdcpError;
use adcp_types::generated::{
    ActivateSignalRequest, ActivateSignalResponse, GetSignalsRequest, GetSignalsResponse,
};
use async_trait::async_trait;

use super::{DiscoveryResult, TaskResult, not_implemented};
use crate::call::CallContext;

/// The tools a [`SignalsPlatform`] can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SignalsTool {
    /// `get_signals`.
    GetSignals,
    /// `activate_signal`.
    ActivateSignal,
}

impl SignalsTool {
    /// Every signals tool.
    pub const ALL: [Self; 2] = [Self::GetSignals, Self::ActivateSignal];

    /// The wire tool name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::GetSignals => "get_signals",
            Self::ActivateSignal => "activate_signal",
        }
    }
}

/// A signals agent: audience and contextual signals for discovery and activation.
///
/// `get_signals` has no `input-required` arm at rc.9: a handoff either completes or fails.
/// `discovery_mode: "wholesale"` must answer synchronously (a handoff is rejected).
#[async_trait]
pub trait SignalsPlatform: Send + Sync + 'static {
    /// The tools this platform serves (always including `get_signals`).
    fn tools(&self) -> Vec<SignalsTool> {
        vec![SignalsTool::GetSignals]
    }

    /// Signal discovery. Brief mode may hand off.
    async fn get_signals(
        &self,
        request: GetSignalsRequest,
        ctx: &CallContext,
    ) -> Result<DiscoveryResult<GetSignalsResponse>, AdcpError>;

    /// Activates a signal on a destination. May hand off.
    async fn activate_signal(
        &self,
        request: ActivateSignalRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<ActivateSignalResponse>, AdcpError> {
        let _ = (request, ctx);
        Err(not_implemented("activate_signal"))
    }
}
