//! Transports: MCP streamable HTTP today; A2A later, behind the same dispatch.

pub(crate) mod http;
pub(crate) mod mcp;
