//! Helpers shared by the integration tests.
// Shared by several test binaries, each using a subset; unwrap is how tests fail.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adcp_tasks::{
    NewTask, TaskId, TaskKind, TaskRecord, TaskRegistry, TaskScope, TerminalCallback,
};
use adcp_types::{AdcpProtocol, TaskType};
use async_trait::async_trait;

/// The scope most tests act in.
pub fn scope() -> TaskScope {
    TaskScope::new("acct_1", "api_key:k1").unwrap()
}

/// Same account, another principal.
pub fn other_owner() -> TaskScope {
    TaskScope::new("acct_1", "api_key:k2").unwrap()
}

/// Another account, same principal.
pub fn other_account() -> TaskScope {
    TaskScope::new("acct_2", "api_key:k1").unwrap()
}

/// A `get_products` task in `media-buy` for `scope`.
pub fn new_task(scope: &TaskScope) -> NewTask {
    NewTask::new(
        scope.clone(),
        TaskType::GetProducts.into(),
        AdcpProtocol::MediaBuy,
    )
}

/// A task of `task_type` in `protocol`.
pub fn typed_task(scope: &TaskScope, task_type: &str, protocol: AdcpProtocol) -> NewTask {
    NewTask::new(scope.clone(), TaskKind::new(task_type).unwrap(), protocol)
}

/// Polls until the task is terminal, or panics after `timeout`.
pub async fn wait_terminal(
    registry: &dyn TaskRegistry,
    scope: &TaskScope,
    task_id: &TaskId,
    timeout: Duration,
) -> TaskRecord {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let record = registry
            .get(scope, task_id)
            .await
            .unwrap()
            .expect("task exists");
        if record.is_terminal() {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task_id} still {} after {timeout:?}",
            record.status
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A terminal callback that records every call.
#[derive(Debug, Default)]
pub struct RecordingCallback {
    calls: Mutex<HashMap<TaskId, Vec<TaskRecord>>>,
}

impl RecordingCallback {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The records the callback received for `task_id`.
    pub fn calls_for(&self, task_id: &TaskId) -> Vec<TaskRecord> {
        self.calls
            .lock()
            .unwrap()
            .get(task_id)
            .cloned()
            .unwrap_or_default()
    }

    /// How many tasks got at least one call, and the most calls any task got.
    pub fn summary(&self) -> (usize, usize) {
        let calls = self.calls.lock().unwrap();
        (calls.len(), calls.values().map(Vec::len).max().unwrap_or(0))
    }

    /// Waits until `task_id` got a call (callbacks run just after the terminal write).
    pub async fn wait_for(&self, task_id: &TaskId, timeout: Duration) -> Vec<TaskRecord> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let calls = self.calls_for(task_id);
            if !calls.is_empty() {
                return calls;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no terminal callback for {task_id}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[async_trait]
impl TerminalCallback for RecordingCallback {
    async fn on_terminal(&self, task: &TaskRecord) {
        self.calls
            .lock()
            .unwrap()
            .entry(task.task_id.clone())
            .or_default()
            .push(task.clone());
    }
}

/// A migrated PostgreSQL registry on a fresh database; keep the database alive for the test.
#[cfg(feature = "postgres")]
pub async fn pg_registry() -> (
    adcp_pg_harness::TestDatabase,
    Arc<adcp_tasks::pg::PgTaskRegistry>,
) {
    let database = adcp_pg_harness::fresh_database().await;
    let registry = adcp_tasks::pg::PgTaskRegistry::builder(database.pool().clone())
        .build()
        .unwrap();
    registry.migrate().await.unwrap();
    (database, Arc::new(registry))
}
