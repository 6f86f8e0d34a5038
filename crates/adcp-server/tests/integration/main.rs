//! adcp-server driven from the outside: a real MCP client over loopback HTTP, a real webhook
//! receiver, and (for the durable path) a real PostgreSQL.

mod async_flow;
mod framework;
mod guards;
mod hostile;
mod idempotency;
#[cfg(feature = "postgres")]
mod postgres;
mod support;
