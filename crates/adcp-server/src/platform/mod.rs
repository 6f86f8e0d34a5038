//! The traits adopters implement: one per specialism family, plus a generic [`ToolHandler`]
//! for any other manifest tool.

mod outcome;
mod sales;
mod signals;

use adcp_types::AdcpError;
use async_trait::async_trait;
use serde_json::Value;

pub use outcome::{DiscoveryResult, Outcome, TaskResult};
pub use sales::{SalesPlatform, SalesTool};
pub use signals::{SignalsPlatform, SignalsTool};

use crate::call::CallContext;

/// A handler for any manifest tool the typed traits do not cover (governance, creative,
/// brand rights, ...), working on JSON. The server still runs decoding checks, guards,
/// idempotency, account resolution and strict response validation around it.
#[async_trait]
pub trait ToolHandler: Send + Sync + 'static {
    /// Serves one call. `request` is the buyer's arguments (a JSON object).
    async fn call(&self, request: Value, ctx: &CallContext) -> Result<Outcome<Value>, AdcpError>;
}

/// The error a platform's default method returns for a tool it does not implement. The server
/// never calls such a method for a tool the platform did not list, so buyers do not see it in
/// practice.
pub fn not_implemented(tool: &str) -> AdcpError {
    AdcpError::new(
        adcp_types::codes::UNSUPPORTED_FEATURE,
        format!("this seller does not implement `{tool}`"),
    )
}
