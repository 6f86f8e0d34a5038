//! The handoff runtime and the PostgreSQL registry's own guarantees, against a real server:
//! the shared runtime suite, crash recovery by the reaper, heartbeats, the transactional outbox,
//! migrations, prefixes, payload caps and durability.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::runtime;
use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use adcp_tasks::pg::PgTaskRegistry;
use adcp_tasks::{
    HandoffHooks, Lease, OutboxError, TaskContext, TaskError, TaskRecord, TaskRegistry,
    TaskRuntime, TerminalOutbox, WorkerId,
};
use adcp_types::{AdcpError, Recovery, TaskStatus};
use async_trait::async_trait;
use serde_json::json;
use sqlx::{PgConnection, Row as _};
use tokio::sync::Notify;

use support::{RecordingCallback, new_task, pg_registry, scope, wait_terminal};

async fn postgres() -> (adcp_pg_harness::TestDatabase, Arc<dyn TaskRegistry>) {
    let (database, registry) = pg_registry().await;
    (database, registry)
}

runtime_suite!(postgres();
    handoff_answers_submitted_then_completes,
    adcp_error_becomes_the_task_error,
    other_errors_and_panics_fail_with_a_generic_error,
    pre_handoff_reject_stops_before_any_side_effect,
    completion_hook_runs_first_and_can_fail_the_task,
    progress_from_the_work_shows_as_working,
    cancel_signals_the_work_and_discards_its_outcome,
    forced_task_id_is_used_and_a_duplicate_never_runs,
    shutdown_waits_for_running_work,
    shutdown_fails_work_still_running_at_the_deadline,
    the_terminal_callback_runs_once_per_task_under_races,
);

fn short_lease_runtime(
    registry: Arc<dyn TaskRegistry>,
    callback: Arc<RecordingCallback>,
) -> TaskRuntime {
    TaskRuntime::builder(registry)
        .terminal_callback(callback)
        .lease_duration(Duration::from_millis(1500))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_runtimes_task_is_failed_by_another_after_lease_expiry() {
    let (database, registry) = pg_registry().await;
    let first_callback = RecordingCallback::new();
    let first = short_lease_runtime(registry.clone(), Arc::clone(&first_callback));
    let started = Arc::new(Notify::new());
    let submitted = runtime::request(&first)
        .handoff_to_task({
            let started = Arc::clone(&started);
            move |_ctx: TaskContext| async move {
                started.notify_one();
                std::future::pending::<()>().await;
                Ok::<_, AdcpError>(json!({}))
            }
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    started.notified().await;
    // While its runtime lives, heartbeats keep the task alive well past one lease.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let alive = registry
        .get(&scope(), &submitted.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alive.status, TaskStatus::Submitted);

    drop(first); // a crash: no shutdown, no terminal write, heartbeats stop

    let second_registry: Arc<dyn TaskRegistry> = Arc::new(
        PgTaskRegistry::builder(database.pool().clone())
            .build()
            .unwrap(),
    );
    let second_callback = RecordingCallback::new();
    let second = short_lease_runtime(Arc::clone(&second_registry), Arc::clone(&second_callback));
    let failed = wait_terminal(
        second_registry.as_ref(),
        &scope(),
        &submitted.task_id,
        Duration::from_secs(15),
    )
    .await;
    assert_eq!(failed.status, TaskStatus::Failed);
    let error = failed.error.unwrap();
    assert_eq!(
        (error.code.as_str(), error.recovery),
        ("SERVICE_UNAVAILABLE", Recovery::Transient)
    );
    assert!(error.message.contains("stopped"), "{}", error.message);
    let calls = second_callback
        .wait_for(&submitted.task_id, Duration::from_secs(5))
        .await;
    assert_eq!(calls.len(), 1);
    assert!(first_callback.calls_for(&submitted.task_id).is_empty());
    second.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_a_long_task_from_being_reaped() {
    let (database, registry) = pg_registry().await;
    let callback = RecordingCallback::new();
    let worker = TaskRuntime::builder(registry.clone())
        .terminal_callback(callback.clone())
        .lease_duration(Duration::from_millis(1500))
        .build()
        .unwrap();
    // Another process reaps eagerly the whole time.
    let reaper_registry: Arc<dyn TaskRegistry> = Arc::new(
        PgTaskRegistry::builder(database.pool().clone())
            .build()
            .unwrap(),
    );
    let reaper = short_lease_runtime(reaper_registry, RecordingCallback::new());
    let submitted = runtime::request(&worker)
        .handoff_to_task(|_ctx| async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            Ok::<_, AdcpError>(json!({"products": []}))
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    for _ in 0..16 {
        assert_eq!(reaper.reap_now().await.unwrap(), 0);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let done = wait_terminal(
        registry.as_ref(),
        &scope(),
        &submitted.task_id,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(done.status, TaskStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_from_another_process_reaches_the_work_by_heartbeat() {
    let (database, registry) = pg_registry().await;
    let worker = TaskRuntime::builder(registry.clone())
        .lease_duration(Duration::from_millis(600))
        .build()
        .unwrap();
    let saw_cancel = Arc::new(Notify::new());
    let submitted = runtime::request(&worker)
        .handoff_to_task({
            let saw_cancel = Arc::clone(&saw_cancel);
            move |ctx: TaskContext| async move {
                ctx.cancellation().cancelled().await;
                saw_cancel.notify_one();
                Ok::<_, AdcpError>(json!({}))
            }
        })
        .start(HandoffHooks::new())
        .await
        .unwrap();
    let elsewhere = PgTaskRegistry::builder(database.pool().clone())
        .build()
        .unwrap();
    assert!(
        elsewhere
            .cancel(&scope(), &submitted.task_id)
            .await
            .unwrap()
            .is_applied()
    );
    tokio::time::timeout(Duration::from_secs(5), saw_cancel.notified())
        .await
        .expect("token signalled");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stored = registry
        .get(&scope(), &submitted.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, TaskStatus::Canceled);
}

/// Writes `(task_id, status)` into `test_outbox` inside the registry's transaction, or fails
/// when told to.
#[derive(Debug, Default)]
struct TableOutbox {
    refuse: AtomicBool,
}

#[async_trait]
impl TerminalOutbox for TableOutbox {
    async fn enqueue_in_tx(
        &self,
        conn: &mut PgConnection,
        task: &TaskRecord,
    ) -> Result<(), OutboxError> {
        sqlx::query("INSERT INTO test_outbox (task_id, status) VALUES ($1, $2)")
            .bind(task.task_id.as_str())
            .bind(task.status.as_str())
            .execute(&mut *conn)
            .await?;
        if self.refuse.load(Ordering::SeqCst) {
            return Err("outbox refused".into());
        }
        Ok(())
    }
}

async fn outbox_rows(pool: &sqlx::PgPool) -> Vec<(String, String)> {
    sqlx::query("SELECT task_id, status FROM test_outbox ORDER BY task_id")
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get("task_id"), row.get("status")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_row_commits_with_the_terminal_write_or_neither_does() {
    let database = adcp_pg_harness::fresh_database().await;
    let pool = database.pool();
    sqlx::query("CREATE TABLE test_outbox (task_id TEXT NOT NULL, status TEXT NOT NULL)")
        .execute(pool)
        .await
        .unwrap();
    let outbox = Arc::new(TableOutbox::default());
    let registry = PgTaskRegistry::builder(pool.clone())
        .outbox(outbox.clone())
        .build()
        .unwrap();
    registry.migrate().await.unwrap();

    let completed = registry.issue(new_task(&scope())).await.unwrap();
    registry
        .complete(&completed.task_id, json!({"products": []}))
        .await
        .unwrap();
    let canceled = registry.issue(new_task(&scope())).await.unwrap();
    registry.cancel(&scope(), &canceled.task_id).await.unwrap();
    // A repeated terminal write applies nothing and enqueues nothing.
    assert!(
        !registry
            .complete(&completed.task_id, json!({"products": []}))
            .await
            .unwrap()
            .is_applied()
    );
    let mut expected = vec![
        (completed.task_id.to_string(), "completed".to_owned()),
        (canceled.task_id.to_string(), "canceled".to_owned()),
    ];
    expected.sort();
    assert_eq!(outbox_rows(pool).await, expected);

    outbox.refuse.store(true, Ordering::SeqCst);
    let refused = registry.issue(new_task(&scope())).await.unwrap();
    let outcome = registry
        .complete(&refused.task_id, json!({"products": []}))
        .await;
    assert!(matches!(outcome, Err(TaskError::Outbox(_))), "{outcome:?}");
    let still = registry
        .get(&scope(), &refused.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        still.status,
        TaskStatus::Submitted,
        "the terminal write rolled back with the outbox"
    );
    assert_eq!(
        outbox_rows(pool).await,
        expected,
        "the outbox insert rolled back too"
    );

    outbox.refuse.store(false, Ordering::SeqCst);
    let lease = Lease {
        owner: WorkerId::new("dead-worker").unwrap(),
        duration: Duration::from_millis(1),
    };
    let orphan = registry
        .issue(new_task(&scope()).with_lease(lease))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let reaped = registry
        .reap_expired(&AdcpError::internal(), 10)
        .await
        .unwrap();
    assert_eq!(
        reaped.iter().map(|r| &r.task_id).collect::<Vec<_>>(),
        vec![&orphan.task_id]
    );
    assert!(
        outbox_rows(pool)
            .await
            .contains(&(orphan.task_id.to_string(), "failed".to_owned()))
    );
    assert!(
        registry
            .reap_expired(&AdcpError::internal(), 10)
            .await
            .unwrap()
            .is_empty(),
        "reaped once"
    );
}

#[tokio::test]
async fn migration_is_idempotent_and_upgrades_an_older_table() {
    let database = adcp_pg_harness::fresh_database().await;
    let pool = database.pool();
    // The first version's table: no payload, webhook or lease columns.
    sqlx::raw_sql(
        "CREATE TABLE legacy_tasks (
            task_id TEXT COLLATE \"C\" PRIMARY KEY, account_id TEXT COLLATE \"C\" NOT NULL,
            owner_scope TEXT COLLATE \"C\" NOT NULL, task_type TEXT COLLATE \"C\" NOT NULL,
            protocol TEXT COLLATE \"C\" NOT NULL, status TEXT COLLATE \"C\" NOT NULL DEFAULT 'submitted',
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
         INSERT INTO legacy_tasks (task_id, account_id, owner_scope, task_type, protocol)
            VALUES ('task_legacy_1', 'acct_1', 'api_key:k1', 'get_products', 'media-buy');",
    )
    .execute(pool)
    .await
    .unwrap();
    let registry = PgTaskRegistry::builder(pool.clone())
        .table_prefix("legacy_")
        .build()
        .unwrap();
    registry.migrate().await.unwrap();
    registry.migrate().await.unwrap();
    let id = adcp_tasks::TaskId::parse("task_legacy_1").unwrap();
    let old = registry.get(&scope(), &id).await.unwrap().unwrap();
    assert_eq!(
        (old.status, old.has_webhook, old.progress),
        (TaskStatus::Submitted, false, None)
    );
    assert!(
        registry
            .complete(&id, json!({"products": []}))
            .await
            .unwrap()
            .is_applied()
    );
    let indexes: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'legacy_tasks'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(
        indexes, 5,
        "primary key plus scope, status/age, lease and finished indexes"
    );
    let versions: Vec<i32> = sqlx::query_scalar(
        "SELECT version FROM adcp_schema_migrations WHERE component = 'adcp-tasks:legacy_tasks'
         ORDER BY version",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(versions, [1, 2, 3], "every version recorded once");
    let context_column: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns
         WHERE table_name = 'legacy_tasks' AND column_name = 'context_id'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(
        context_column, 1,
        "version 3 added context_id to the older table"
    );
}

#[tokio::test]
async fn table_prefixes_are_validated_and_isolate_tables() {
    let database = adcp_pg_harness::fresh_database().await;
    for bad in ["Tenant", "1x_", "x-y_", "x; DROP TABLE y; --"] {
        let outcome = PgTaskRegistry::builder(database.pool().clone())
            .table_prefix(bad)
            .build();
        assert!(matches!(outcome, Err(TaskError::Invalid { .. })), "{bad}");
    }
    let a = PgTaskRegistry::builder(database.pool().clone())
        .table_prefix("tenant_a_")
        .build()
        .unwrap();
    let b = PgTaskRegistry::builder(database.pool().clone())
        .table_prefix("tenant_b_")
        .build()
        .unwrap();
    a.migrate().await.unwrap();
    b.migrate().await.unwrap();
    assert_eq!(a.table(), "tenant_a_tasks");
    let record = a.issue(new_task(&scope())).await.unwrap();
    assert!(b.get(&scope(), &record.task_id).await.unwrap().is_none());
}

#[tokio::test]
async fn oversized_or_nul_payloads_fail_clearly_and_change_nothing() {
    let database = adcp_pg_harness::fresh_database().await;
    let registry = PgTaskRegistry::builder(database.pool().clone())
        .max_payload_bytes(256)
        .build()
        .unwrap();
    registry.migrate().await.unwrap();
    let record = registry.issue(new_task(&scope())).await.unwrap();
    let big = json!({"blob": "x".repeat(1000)});
    let outcome = registry.complete(&record.task_id, big).await;
    let Err(
        error @ TaskError::PayloadTooLarge {
            field: "result",
            limit: 256,
            ..
        },
    ) = outcome
    else {
        panic!("expected PayloadTooLarge, got {outcome:?}")
    };
    assert_eq!(error.to_adcp_error().code, "INVALID_REQUEST");
    let nul = registry
        .complete(&record.task_id, json!({"name": "a\u{0}b"}))
        .await;
    assert!(
        matches!(
            nul,
            Err(TaskError::UnstorablePayload {
                field: "result",
                ..
            })
        ),
        "{nul:?}"
    );
    let context = registry
        .issue(new_task(&scope()).with_request_context(json!({"x": "y".repeat(300)})))
        .await;
    assert!(matches!(
        context,
        Err(TaskError::PayloadTooLarge {
            field: "request_context",
            ..
        })
    ));
    let stored = registry
        .get(&scope(), &record.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, TaskStatus::Submitted);
}

#[tokio::test]
async fn tasks_outlive_the_registry_instance_and_purge_removes_old_finished_ones() {
    let (database, registry) = pg_registry().await;
    assert!(registry.is_durable());
    let finished = registry.issue(new_task(&scope())).await.unwrap();
    let open = registry.issue(new_task(&scope())).await.unwrap();
    registry
        .complete(&finished.task_id, json!({"products": []}))
        .await
        .unwrap();
    drop(registry);
    let reopened = PgTaskRegistry::builder(database.pool().clone())
        .build()
        .unwrap();
    let again = reopened
        .get(&scope(), &finished.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.status, TaskStatus::Completed);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        reopened
            .purge_finished(Duration::from_hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        reopened
            .purge_finished(Duration::from_millis(5))
            .await
            .unwrap(),
        1
    );
    assert!(
        reopened
            .get(&scope(), &finished.task_id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        reopened
            .get(&scope(), &open.task_id)
            .await
            .unwrap()
            .is_some()
    );
}
