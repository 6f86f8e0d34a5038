//! The crate's single integration test binary: one module per former test file, sharing the
//! loopback receiver and sender helpers in `common`. Modules that need PostgreSQL build only with
//! the `postgres` feature.

mod common;

mod delivery_memory;
#[cfg(feature = "postgres")]
mod log_redaction;
#[cfg(feature = "postgres")]
mod outbox_pg;
#[cfg(feature = "postgres")]
mod outbox_secrets_pg;
mod signing_vectors;
mod ssrf;
mod tasks_callback;
#[cfg(feature = "postgres")]
mod tasks_pg;
