//! The traits adopters implement: one per specialism family, plus a generic [`ToolHandler`]
//! for any other manifest tool.
//!
//! [`SalesPlatform`] and [`SignalsPlatform`] are written by hand (discovery has its own rules:
//! refine routing, wholesale stays synchronous). The other families ([`AccountsPlatform`],
//! [`BuyerDataPlatform`], [`CreativePlatform`], and behind features `GovernancePlatform`,
//! `BrandRightsPlatform`, `SponsoredIntelligencePlatform`) are declared from one table each
//! (see `family.rs`): every method takes the generated request type and returns the generated
//! response type, and tools that are protocol task types may hand off.

mod accounts;
#[cfg(feature = "brand")]
mod brand;
mod buyer_data;
mod creative;
pub(crate) mod family;
#[cfg(feature = "governance")]
mod governance;
mod outcome;
mod sales;
mod signals;
#[cfg(feature = "sponsored-intelligence")]
mod sponsored;

use adcp_types::AdcpError;
use async_trait::async_trait;
use serde_json::Value;

pub use outcome::{DiscoveryResult, Outcome, TaskResult};
pub use sales::{SalesPlatform, SalesTool};
pub use signals::{SignalsPlatform, SignalsTool};

pub use accounts::{AccountsPlatform, AccountsTool};
#[cfg(feature = "brand")]
pub use brand::{BrandRightsPlatform, BrandRightsTool};
pub use buyer_data::{BuyerDataPlatform, BuyerDataTool};
pub use creative::{CreativePlatform, CreativeTool};
#[cfg(feature = "governance")]
pub use governance::{GovernancePlatform, GovernanceTool};
#[cfg(feature = "sponsored-intelligence")]
pub use sponsored::{SponsoredIntelligencePlatform, SponsoredIntelligenceTool};

pub(crate) use accounts::accounts_handlers;
#[cfg(feature = "brand")]
pub(crate) use brand::brand_rights_handlers;
pub(crate) use buyer_data::buyer_data_handlers;
pub(crate) use creative::creative_handlers;
#[cfg(feature = "governance")]
pub(crate) use governance::governance_handlers;
#[cfg(feature = "sponsored-intelligence")]
pub(crate) use sponsored::sponsored_intelligence_handlers;

use crate::call::CallContext;

/// A handler for any manifest tool, working on JSON: for tools no typed trait covers (or one
/// whose feature is off), or a seller that prefers JSON. The server still runs decoding checks, guards,
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
