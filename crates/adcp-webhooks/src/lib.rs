//! # adcp-webhooks
//!
//! Signed, SSRF-safe delivery of AdCP webhooks, with retries and a durable PostgreSQL outbox.
//!
//! - [`signing`]: the AdCP RFC 9421 webhook profile (`adcp/webhook-signing/v1`, `ed25519` and
//!   `ecdsa-p256-sha256`), the seller's keys and their JWKS, and the deprecated legacy
//!   HMAC-SHA256 and Bearer schemes. [`verify`] is an independent receiver-side verifier.
//! - [`payload`]: the `core/mcp-webhook-payload.json` body, serialized once per logical event.
//! - [`WebhookSender`]: one HTTP attempt over an SSRF-guarded client ([`ssrf`]); [`retry`]
//!   classifies the outcome and computes backoff.
//! - [`DeliverySupervisor`]: the seam; [`InMemorySupervisor`] and, with feature `postgres`,
//!   the durable `outbox::PgOutbox`.
//! - [`TerminalEmitter::emit_terminal_completion`]: exactly one webhook per terminal task.
//! - Glue to `adcp-tasks`: [`WebhookTerminalCallback`] (its `TerminalCallback`) and, with
//!   `postgres`, `PgOutbox` as its `TerminalOutbox`, written in the terminal-write transaction.
//!
//! Architecture invariants: this is the only crate that opens outbound connections; no log line
//! carries a token, credential, signature or URL path/query (destinations are logged as
//! `scheme://host:port/…`).

mod breaker;
mod config;
mod delivery;
mod emit;
mod error;
mod memory;
#[cfg(feature = "postgres")]
pub mod outbox;
pub mod payload;
pub mod retry;
mod sender;
pub mod signing;
pub mod ssrf;
mod tasks;
pub mod verify;

pub use breaker::BreakerPolicy;
pub use config::{
    A2A_ENVELOPE_MEMBER, A2A_V03_ENVELOPE, PushNotificationConfig, Secret, WebhookAuth,
    WebhookEnvelope, redact_url,
};
pub use delivery::{DeliverySupervisor, Enqueued, NewDelivery};
pub use emit::{
    EmitOutcome, TerminalCompletion, TerminalEmitter, TerminalPlan, plan_terminal_delivery,
    terminal_dedupe_key,
};
pub use error::WebhookError;
pub use memory::{AttemptRecord, DeadLetter, InMemoryConfig, InMemorySupervisor};
pub use sender::{AttemptReport, OutboundWebhook, SenderConfig, WebhookSender};
pub use tasks::WebhookTerminalCallback;
