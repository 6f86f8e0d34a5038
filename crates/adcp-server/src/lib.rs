//! adcp-server: filled by a later issue.
