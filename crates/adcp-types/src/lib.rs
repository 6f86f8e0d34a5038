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
//! Guarantees: this crate does no I/O except, with `validate`, reading the schema folder it is
//! pointed at. Generated types follow the schema version in [`ADCP_VERSION`]; they are not
//! `#[non_exhaustive]`, so a new spec version is a new major version of this crate.

pub mod error;
pub mod generated;
pub mod manifest;
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

/// A string that is not one of an enum's wire values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {kind}")]
pub struct UnknownEnumValue {
    /// The enum's name.
    pub kind: &'static str,
    /// The rejected value.
    pub value: String,
}
