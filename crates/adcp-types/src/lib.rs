//! # adcp-types
//!
//! The Ad Context Protocol (AdCP) 3.1.0-rc.9 on the wire, for Rust.
//!
//! - [`generated`]: one Rust type per schema definition, generated with typify by
//!   `cargo xtask codegen` and committed. Each protocol domain sits behind a cargo feature
//!   (`media-buy` and `signals` by default, `full` for all), so a seller compiles only what it
//!   sells.
//! - [`manifest`]: the tool table, the error-code table and the protocol's small enums.
//! - [`AdcpError`]: the wire error every failure becomes.
//! - [`unions`]: response unions that tell a success from a `submitted`/`working`/
//!   `input-required` arm by its `status`.
//! - `validate` (feature `validate`): every schema compiled once; validates requests,
//!   responses and async arms by tool name.
//!
//! Guarantees: this crate does no I/O except, with `validate`, reading a schema folder it is
//! explicitly pointed at (`SchemaSet::load`, or `ADCP_SCHEMAS_DIR`); by default the validator
//! uses the schemas compiled into the crate. Generated types follow the schema version in
//! [`ADCP_VERSION`]; they are not `#[non_exhaustive]`, so a new spec version is a new major
//! version of this crate.

mod construct;
pub mod error;
pub mod generated;
pub mod manifest;
#[cfg(feature = "validate")]
mod schema_tree;
pub mod unions;
#[cfg(feature = "validate")]
pub mod validate;

pub use error::{AdcpError, Recovery, ValidationIssue};
pub use manifest::{ADCP_VERSION, AdcpProtocol, Specialism, TaskStatus, TaskType, ToolSpec, codes};
pub use unions::{
    BuildCreativeResponseUnion, CreateMediaBuyResponseUnion, GetProductsResponseUnion,
    GetSignalsResponseUnion, SyncCatalogsResponseUnion, SyncCreativesResponseUnion,
    UpdateMediaBuyResponseUnion,
};

/// A generated builder's `build()` was called with a required field left unset.
///
/// Every generated struct `T` has `T::builder()` (feature `builders`, on by default): one setter
/// per field, named after it, taking `impl Into<_>` (an optional field's setter takes the inner
/// type), and `build()` returning `T` or this error. A required field the schema pins to a
/// constant (a pricing option's `pricing_model`) starts out set.
///
/// ```
/// use adcp_types::generated::{CpmOption, FormatId};
///
/// let format = FormatId::builder()
///     .agent_url("https://creative.example.com")
///     .id("display_300x250")
///     .build()?;
/// let price = CpmOption::builder()
///     .pricing_option_id("cpm_usd")
///     .currency("USD")
///     .fixed_price(12.5)
///     .build()?;
/// assert_eq!(price.pricing_model, "cpm");
/// assert_eq!(
///     FormatId::builder().id("x").build().unwrap_err().to_string(),
///     "FormatId.agent_url is required but was not set"
/// );
/// # let _ = format;
/// # Ok::<(), adcp_types::MissingField>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{type_name}.{field} is required but was not set")]
pub struct MissingField {
    /// The struct being built.
    pub type_name: &'static str,
    /// The required field left unset.
    pub field: &'static str,
}

/// A string that is not one of an enum's wire values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {kind}")]
pub struct UnknownEnumValue {
    /// The enum's name.
    pub kind: &'static str,
    /// The rejected value.
    pub value: String,
}
