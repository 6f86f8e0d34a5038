//! The built `adcp` binary, driven as a person or a script would, against a seller started in
//! this process on 127.0.0.1.

// Test code: a failed unwrap is a failed test with its location, which is what we want here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

mod agent;
mod grading;
mod offline;
mod support;
mod webhooks;
