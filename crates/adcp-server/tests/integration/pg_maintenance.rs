//! Maintenance of the three PostgreSQL stores (tasks, webhook outbox, idempotency keys): one
//! migration ledger that any number of replicas may run at once, on an empty database or one a
//! previous release created, and the retention job.

use std::sync::Arc;
use std::time::Duration;

use adcp_server::idempotency::{IdempotencyScope, IdempotencyStore, PgIdempotencyStore};
use adcp_server::retention::{RetentionConfig, RetentionJob, RetentionReport};
use adcp_tasks::pg::PgTaskRegistry;
use adcp_tasks::{NewTask, TaskKind, TaskRegistry, TaskScope};
use adcp_types::{AdcpProtocol, TaskStatus};
use adcp_webhooks::outbox::PgOutbox;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

/// The three stores of one replica, on its own pool.
struct Stores {
    tasks: Arc<PgTaskRegistry>,
    outbox: PgOutbox,
    idempotency: PgIdempotencyStore,
}

async fn replica(url: &str) -> Stores {
    let pool = PgPoolOptions::new()
        .max_connections(3)
        .connect(url)
        .await
        .unwrap();
    let outbox = PgOutbox::new(pool.clone());
    let tasks = PgTaskRegistry::builder(pool.clone())
        .outbox(Arc::new(outbox.clone()))
        .build()
        .unwrap();
    Stores {
        tasks: Arc::new(tasks),
        outbox,
        idempotency: PgIdempotencyStore::new(pool),
    }
}

/// Eight replicas migrating all three stores at the same moment; every call must succeed.
async fn migrate_eight_replicas_at_once(url: &str) {
    let replicas = futures::future::join_all((0..8).map(|_| replica(url))).await;
    let runs = replicas.iter().map(|stores| async move {
        let (tasks, outbox, idempotency) = tokio::join!(
            stores.tasks.migrate(),
            stores.outbox.migrate(),
            stores.idempotency.migrate()
        );
        tasks.unwrap();
        outbox.unwrap();
        idempotency.unwrap();
    });
    futures::future::join_all(runs).await;
}

async fn ledger(pool: &PgPool) -> Vec<(String, i32)> {
    sqlx::query_as(
        "SELECT component, version FROM adcp_schema_migrations ORDER BY component, version",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

fn current_ledger() -> Vec<(String, i32)> {
    [
        ("adcp-server:idempotency", 1),
        ("adcp-tasks:adcp_tasks", 1),
        ("adcp-tasks:adcp_tasks", 2),
        ("adcp-tasks:adcp_tasks", 3),
        ("adcp-webhooks:outbox", 1),
        ("adcp-webhooks:outbox", 2),
    ]
    .into_iter()
    .map(|(component, version)| (component.to_owned(), version))
    .collect()
}

async fn applied_at(pool: &PgPool) -> Vec<chrono::DateTime<chrono::Utc>> {
    sqlx::query_scalar("SELECT applied_at FROM adcp_schema_migrations ORDER BY component, version")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn eight_replicas_migrate_every_store_together_on_an_empty_database() {
    let db = adcp_pg_harness::fresh_database().await;
    migrate_eight_replicas_at_once(db.url()).await;
    assert_eq!(ledger(db.pool()).await, current_ledger());
    let first = applied_at(db.pool()).await;
    migrate_eight_replicas_at_once(db.url()).await;
    assert_eq!(
        applied_at(db.pool()).await,
        first,
        "a second run is a no-op"
    );
    let stores = replica(db.url()).await;
    let task = stores
        .tasks
        .issue(NewTask::new(
            TaskScope::new("acct_1", "api_key:k1").unwrap(),
            TaskKind::new("get_products").unwrap(),
            AdcpProtocol::MediaBuy,
        ))
        .await
        .unwrap();
    assert_eq!(task.status, TaskStatus::Submitted, "the tables are usable");
}

/// The tables as the release before the migration ledger created them, with one row each.
const PREVIOUS_RELEASE: &str = r#"
CREATE TABLE adcp_tasks (
    task_id TEXT COLLATE "C" PRIMARY KEY, account_id TEXT COLLATE "C" NOT NULL,
    owner_scope TEXT COLLATE "C" NOT NULL, task_type TEXT COLLATE "C" NOT NULL,
    protocol TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C" NOT NULL DEFAULT 'submitted',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    progress JSONB, result JSONB, error JSONB, has_webhook BOOLEAN NOT NULL DEFAULT FALSE,
    webhook JSONB, request_context JSONB, completed_at TIMESTAMPTZ,
    lease_owner TEXT COLLATE "C", lease_expires_at TIMESTAMPTZ);
CREATE INDEX adcp_tasks_scope_created_idx
    ON adcp_tasks (account_id, owner_scope, created_at DESC, task_id);
INSERT INTO adcp_tasks (task_id, account_id, owner_scope, task_type, protocol)
    VALUES ('task_previous_release', 'acct_1', 'api_key:k1', 'get_products', 'media-buy');

CREATE TABLE adcp_webhook_outbox (
    id BIGSERIAL PRIMARY KEY, dedupe_key TEXT NOT NULL, idempotency_key TEXT NOT NULL,
    task_id TEXT NOT NULL, task_type TEXT NOT NULL, url TEXT NOT NULL, body BYTEA NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempt_count INTEGER NOT NULL DEFAULT 0,
    available_at TIMESTAMPTZ NOT NULL DEFAULT now(), created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), operation_id TEXT,
    auth_scheme TEXT NOT NULL DEFAULT 'rfc9421', auth_credentials TEXT);
CREATE UNIQUE INDEX adcp_webhook_outbox_dedupe_key ON adcp_webhook_outbox (dedupe_key);
INSERT INTO adcp_webhook_outbox (dedupe_key, idempotency_key, task_id, task_type, url, body)
    VALUES ('d1', 'k1', 'task_previous_release', 'get_products', 'https://b.example/h', '\x7b7d');
CREATE TABLE adcp_webhook_attempts (
    id BIGSERIAL PRIMARY KEY, outbox_id BIGINT NOT NULL, attempt INTEGER NOT NULL,
    outcome TEXT NOT NULL, http_status INTEGER, elapsed_ms INTEGER NOT NULL, worker TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT now());

CREATE TABLE adcp_idempotency (
    account_id TEXT COLLATE "C" NOT NULL, principal TEXT COLLATE "C" NOT NULL,
    tool TEXT COLLATE "C" NOT NULL, key TEXT COLLATE "C" NOT NULL, fingerprint TEXT NOT NULL,
    claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (account_id, principal, tool, key));
INSERT INTO adcp_idempotency (account_id, principal, tool, key, fingerprint)
    VALUES ('acct_1', 'p1', 'create_media_buy', 'key_previous_release', 'fp');
"#;

#[tokio::test]
async fn a_database_of_the_previous_release_upgrades_without_losing_rows() {
    let db = adcp_pg_harness::fresh_database().await;
    sqlx::raw_sql(PREVIOUS_RELEASE)
        .execute(db.pool())
        .await
        .unwrap();
    migrate_eight_replicas_at_once(db.url()).await;
    assert_eq!(ledger(db.pool()).await, current_ledger());
    let first = applied_at(db.pool()).await;
    migrate_eight_replicas_at_once(db.url()).await;
    assert_eq!(
        applied_at(db.pool()).await,
        first,
        "running twice is a no-op"
    );

    let stores = replica(db.url()).await;
    let scope = TaskScope::new("acct_1", "api_key:k1").unwrap();
    let id = adcp_tasks::TaskId::parse("task_previous_release").unwrap();
    assert!(stores.tasks.get(&scope, &id).await.unwrap().is_some());
    assert!(
        stores
            .tasks
            .complete(&id, json!({"products": []}))
            .await
            .unwrap()
            .is_applied()
    );
    let rows = stores
        .outbox
        .deliveries_for_task("task_previous_release")
        .await
        .unwrap();
    assert_eq!(
        rows.len(),
        1,
        "the old row survives; the task had no webhook"
    );
    assert!(
        rows[0].retry_until > rows[0].created_at,
        "added columns got their defaults"
    );
    let old_key: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM adcp_idempotency WHERE key = 'key_previous_release'
           AND response IS NULL",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert_eq!(old_key, 1);
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT indexname::text FROM pg_indexes
         WHERE indexname IN ('adcp_tasks_finished_idx', 'adcp_webhook_outbox_delivered',
                             'adcp_idempotency_claimed_idx')
         ORDER BY indexname",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "adcp_idempotency_claimed_idx",
            "adcp_tasks_finished_idx",
            "adcp_webhook_outbox_delivered"
        ]
    );
}

fn idempotency_scope(key: &str) -> IdempotencyScope {
    IdempotencyScope {
        account: "acct_1".into(),
        principal: "p1".into(),
        tool: "create_media_buy".into(),
        key: key.into(),
    }
}

/// A fixture: finished and running tasks, delivered and dead outbox rows and completed
/// idempotency keys, half of each aged past the default horizons.
async fn aged_fixture(stores: &Stores, pool: &PgPool) -> (Vec<adcp_tasks::TaskId>, Vec<String>) {
    let scope = TaskScope::new("acct_1", "api_key:k1").unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let task = stores
            .tasks
            .issue(
                NewTask::new(
                    scope.clone(),
                    TaskKind::new("get_products").unwrap(),
                    AdcpProtocol::MediaBuy,
                )
                .with_webhook(json!({"url": "https://buyer.example/hook"})),
            )
            .await
            .unwrap();
        ids.push(task.task_id);
    }
    // ids[0]: finished 40 days ago; ids[1]: finished now; ids[2]: still running.
    for id in &ids[..2] {
        stores
            .tasks
            .complete(id, json!({"products": []}))
            .await
            .unwrap();
    }
    sqlx::query(
        "UPDATE adcp_tasks SET completed_at = now() - interval '40 days' WHERE task_id = $1",
    )
    .bind(ids[0].as_str())
    .execute(pool)
    .await
    .unwrap();
    // Outbox rows (written with the terminal writes): one delivered 8 days ago, one dead 31
    // days ago.
    sqlx::query(
        "UPDATE adcp_webhook_outbox SET state = 'delivered', delivered_at = now() - interval '8 days'
         WHERE task_id = $1",
    )
    .bind(ids[0].as_str())
    .execute(pool)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE adcp_webhook_outbox SET state = 'dead', dead_at = now() - interval '31 days'
         WHERE task_id = $1",
    )
    .bind(ids[1].as_str())
    .execute(pool)
    .await
    .unwrap();
    let keys = vec!["key_old".to_owned(), "key_new".to_owned()];
    for key in &keys {
        stores
            .idempotency
            .claim(&idempotency_scope(key), "fp")
            .await
            .unwrap();
        stores
            .idempotency
            .complete(&idempotency_scope(key), &json!({"status": "completed"}))
            .await
            .unwrap();
    }
    sqlx::query(
        "UPDATE adcp_idempotency SET completed_at = now() - interval '2 days' WHERE key = 'key_old'",
    )
    .execute(pool)
    .await
    .unwrap();
    (ids, keys)
}

fn job(stores: &Stores) -> RetentionJob {
    RetentionJob::new(RetentionConfig::default())
        .tasks(Arc::clone(&stores.tasks))
        .outbox(stores.outbox.clone())
        .idempotency(stores.idempotency.clone())
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn retention_purges_what_is_past_its_horizon_and_keeps_the_rest() {
    let db = adcp_pg_harness::fresh_database().await;
    let stores = replica(db.url()).await;
    stores.tasks.migrate().await.unwrap();
    stores.outbox.migrate().await.unwrap();
    stores.idempotency.migrate().await.unwrap();
    let (ids, _) = aged_fixture(&stores, db.pool()).await;

    let report = job(&stores).run_once().await;
    assert_eq!(
        report,
        RetentionReport {
            finished_tasks: Some(1),
            delivered_webhooks: Some(1),
            dead_webhooks: Some(1),
            idempotency_keys: Some(1),
        }
    );
    let scope = TaskScope::new("acct_1", "api_key:k1").unwrap();
    assert!(stores.tasks.get(&scope, &ids[0]).await.unwrap().is_none());
    let recent = stores.tasks.get(&scope, &ids[1]).await.unwrap().unwrap();
    assert_eq!(
        recent.status,
        TaskStatus::Completed,
        "a recent finished task stays"
    );
    let running = stores.tasks.get(&scope, &ids[2]).await.unwrap().unwrap();
    assert_eq!(
        running.status,
        TaskStatus::Submitted,
        "running tasks are never purged"
    );
    assert_eq!(count(db.pool(), "adcp_webhook_outbox").await, 0);
    assert_eq!(count(db.pool(), "adcp_idempotency").await, 1);
    assert_eq!(
        job(&stores).run_once().await,
        RetentionReport {
            finished_tasks: Some(0),
            delivered_webhooks: Some(0),
            dead_webhooks: Some(0),
            idempotency_keys: Some(0),
        },
        "a second round finds nothing"
    );
}

#[tokio::test]
async fn the_retention_job_runs_at_once_and_stops_when_cancelled() {
    let db = adcp_pg_harness::fresh_database().await;
    let stores = replica(db.url()).await;
    stores.tasks.migrate().await.unwrap();
    stores.outbox.migrate().await.unwrap();
    stores.idempotency.migrate().await.unwrap();
    aged_fixture(&stores, db.pool()).await;
    let stop = CancellationToken::new();
    let running = tokio::spawn(job(&stores).run(stop.clone()));
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while count(db.pool(), "adcp_webhook_outbox").await > 0 {
        assert!(
            tokio::time::Instant::now() < until,
            "the first round never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(count(db.pool(), "adcp_idempotency").await, 1);
}
