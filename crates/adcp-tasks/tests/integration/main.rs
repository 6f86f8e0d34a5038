//! The integration tests of `adcp-tasks`, compiled as one test binary: one module per suite.
//! The shared suites (`conformance`, `runtime`) are written once and run against each store;
//! the PostgreSQL modules are compiled only with the `postgres` feature and use a real server
//! from `adcp-pg-harness`.

// Helpers first: `#[macro_use]` makes `conformance_suite!` and `runtime_suite!` visible to the
// modules declared after them.
mod support;
#[macro_use]
mod conformance;
#[macro_use]
mod runtime;

mod conformance_memory;
#[cfg(feature = "postgres")]
mod conformance_pg;
mod memory_store;
mod projection_schema;
mod runtime_memory;
#[cfg(feature = "postgres")]
mod runtime_pg;
#[cfg(feature = "postgres")]
mod secrets_pg;
