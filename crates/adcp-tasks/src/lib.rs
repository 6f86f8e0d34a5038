//! # adcp-tasks
//!
//! What turns a seller method's slow work into an AdCP protocol task that a buyer can poll and
//! that ends exactly once.
//!
//! - [`TaskRegistry`]: the store seam. [`InMemoryTaskRegistry`] (concurrent, bounded, TTL
//!   eviction, **not durable**) and, with feature `postgres`, `pg::PgTaskRegistry` (durable,
//!   leases, terminal guard in SQL, transactional outbox seam).
//! - [`RequestContext::handoff_to_task`] → [`TaskHandoff`] → [`TaskHandoff::start`]: the
//!   handoff. The buyer gets `{task_id, status: "submitted"}` at once; the work runs on tokio
//!   with a [`TaskContext`] (task id, progress, cancellation).
//! - [`TaskRuntime`]: runs handoffs, writes each terminal state once, then calls the
//!   [`TerminalCallback`]; renews leases; reaps tasks of dead workers; shuts down gracefully.
//! - [`projection`]: the `get_task_status` and `list_tasks` bodies.
//! - [`seams`]: where `adcp-webhooks` plugs in ([`TerminalCallback`], and with `postgres`
//!   `TerminalOutbox`).
//!
//! State machine (both stores): `submitted` → `working` (first progress) → `completed` |
//! `failed` | `canceled`. A terminal state is final: repeating the same terminal write is
//! idempotent, a different one is a [`TaskError::Conflict`].
//!
//! Architecture invariant: this crate knows no transport (no MCP, no A2A, no HTTP), and
//! PostgreSQL appears only behind the `postgres` feature.

mod error;
mod memory;
mod model;
mod payload;
#[cfg(feature = "postgres")]
pub mod pg;
pub mod projection;
mod query;
mod registry;
mod runtime;
pub mod seams;

pub use error::TaskError;
pub use memory::{InMemoryConfig, InMemoryTaskRegistry};
pub use model::{
    Lease, MAX_TASK_ID_LEN, NewTask, TaskId, TaskKind, TaskProgress, TaskRecord, TaskScope,
    TerminalWrite, WorkerId,
};
pub use payload::DEFAULT_MAX_PAYLOAD_BYTES;
pub use projection::StatusOptions;
pub use query::{
    DEFAULT_PAGE_SIZE, LISTABLE_PROTOCOLS, MAX_PAGE_SIZE, SortDirection, SortField, TaskFilters,
    TaskPage, TaskQuery, TaskSort, TaskSummary,
};
pub use registry::TaskRegistry;
pub use runtime::{
    BoxError, CompletionHook, FailureHook, HandoffHooks, RequestContext, RuntimeConfig,
    ShutdownReport, SubmittedTask, TaskContext, TaskHandoff, TaskRuntime, TaskRuntimeBuilder,
};
#[cfg(feature = "postgres")]
pub use seams::TerminalOutbox;
pub use seams::{OutboxError, TerminalCallback};
/// The cancellation token handed-off work receives (from `tokio-util`).
pub use tokio_util::sync::CancellationToken;
