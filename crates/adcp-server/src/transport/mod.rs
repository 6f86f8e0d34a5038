//! Transports: MCP streamable HTTP today; A2A later, behind the same dispatch.

pub(crate) mod http;
mod jsonrpc;
pub(crate) mod listen;
pub(crate) mod mcp;
pub(crate) mod sessions;
