//! Transports: MCP streamable HTTP and A2A JSON-RPC, both behind the same dispatch
//! ([`crate::AdcpServer::call_tool`]).

pub(crate) mod a2a;
mod hosts;
pub(crate) mod http;
mod jsonrpc;
pub(crate) mod listen;
pub(crate) mod mcp;
pub(crate) mod sessions;
