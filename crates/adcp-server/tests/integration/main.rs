//! adcp-server driven from the outside: a real MCP client over loopback HTTP, a real webhook
//! receiver, and (for the durable path) a real PostgreSQL.

// Test code: a failed unwrap is a failed test with its location, which is what we want here;
// fixtures are built by value for readability.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::needless_pass_by_value,
    clippy::similar_names,
    clippy::missing_panics_doc,
    clippy::unnecessary_wraps
)]

mod a2a;
#[cfg(feature = "postgres")]
mod a2a_pg;
mod async_flow;
mod families;
mod framework;
mod guards;
mod hardening;
mod hostile;
mod idempotency;
mod logging;
mod minimal_seller;
#[cfg(feature = "postgres")]
mod pg_maintenance;
#[cfg(feature = "postgres")]
mod postgres;
mod rmcp_inline;
mod support;
