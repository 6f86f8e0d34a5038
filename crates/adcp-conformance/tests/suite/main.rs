//! The crate's integration tests: the protocol's webhook-signing vectors, every must-pass
//! storyboard parsing with only known check kinds, and whole runs against a small in-process
//! MCP agent.

mod mock_agent;
mod storyboards;
mod vectors;
