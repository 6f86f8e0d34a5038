//! The one-transaction path: `adcp-tasks`' PostgreSQL registry writes a task's terminal state
//! and this crate's outbox row in one transaction.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adcp_tasks::pg::PgTaskRegistry;
use adcp_tasks::{NewTask, TaskError, TaskKind, TaskRegistry, TaskScope, TerminalWrite};
use adcp_types::{AdcpError, AdcpProtocol, TaskStatus};
use adcp_webhooks::outbox::{DeliveryState, OutboxWorkerConfig, PgOutbox};
use common::{Receiver, loopback_sender, test_signer};
use serde_json::json;
use tokio_util::sync::CancellationToken;

struct Rig {
    _db: adcp_pg_harness::TestDatabase,
    outbox: PgOutbox,
    registry: PgTaskRegistry,
    receiver: Receiver,
    scope: TaskScope,
}

async fn rig() -> Rig {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = PgOutbox::new(db.pool().clone());
    outbox.migrate().await.unwrap();
    let registry = PgTaskRegistry::builder(db.pool().clone())
        .outbox(Arc::new(outbox.clone()))
        .build()
        .unwrap();
    registry.migrate().await.unwrap();
    let receiver = Receiver::start().await;
    Rig {
        _db: db,
        outbox,
        registry,
        receiver,
        scope: TaskScope::new("acct_1", "api_key:k1").unwrap(),
    }
}

impl Rig {
    async fn issue(&self, task_type: &str, with_webhook: bool) -> adcp_tasks::TaskRecord {
        let mut task = NewTask::new(
            self.scope.clone(),
            TaskKind::new(task_type).unwrap(),
            AdcpProtocol::MediaBuy,
        );
        if with_webhook {
            task = task.with_webhook(json!({
                "url": self.receiver.url("/hook"),
                "operation_id": "op_tx",
                "token": "tok_0123456789abcdef",
            }));
        }
        self.registry.issue(task).await.unwrap()
    }

    async fn deliver_all(&self) {
        let stop = CancellationToken::new();
        let outbox = self.outbox.clone();
        let token = stop.clone();
        let config = OutboxWorkerConfig {
            poll_interval: Duration::from_millis(50),
            ..OutboxWorkerConfig::default()
        };
        let worker = tokio::spawn(async move {
            outbox
                .run_worker(loopback_sender(Some(test_signer())), config, token)
                .await
                .unwrap();
        });
        self.receiver.wait_for(1, Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        stop.cancel();
        worker.await.unwrap();
    }
}

#[tokio::test]
async fn completing_a_task_writes_its_outbox_row_in_the_same_transaction() {
    let rig = rig().await;
    let task = rig.issue("get_products", true).await;
    let written = rig
        .registry
        .complete(&task.task_id, json!({"products": []}))
        .await
        .unwrap();
    assert!(matches!(written, TerminalWrite::Applied(_)));
    let rows = rig
        .outbox
        .deliveries_for_task(task.task_id.as_str())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].operation_id.as_deref(), Some("op_tx"));
    // Repeating the terminal write adds nothing.
    let again = rig
        .registry
        .complete(&task.task_id, json!({"products": []}))
        .await
        .unwrap();
    assert!(matches!(again, TerminalWrite::AlreadyApplied(_)));
    assert_eq!(
        rig.outbox
            .deliveries_for_task(task.task_id.as_str())
            .await
            .unwrap()
            .len(),
        1
    );
    rig.deliver_all().await;
    let got = rig.receiver.received();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert_eq!(body["task_id"], task.task_id.as_str());
    assert_eq!(body["status"], "completed");
    assert_eq!(body["result"], json!({"products": []}));
    let row = &rig
        .outbox
        .deliveries_for_task(task.task_id.as_str())
        .await
        .unwrap()[0];
    assert_eq!(row.state, DeliveryState::Delivered);
}

#[tokio::test]
async fn a_failing_outbox_insert_rolls_the_terminal_write_back() {
    let rig = rig().await;
    let task = rig.issue("get_products", true).await;
    // Make every outbox insert fail, as a crash or constraint violation between the two writes would.
    sqlx::raw_sql(
        "ALTER TABLE adcp_webhook_outbox ADD CONSTRAINT refuse_all CHECK (false) NOT VALID",
    )
    .execute(rig.outbox.pool())
    .await
    .unwrap();
    let refused = rig
        .registry
        .complete(&task.task_id, json!({"products": []}))
        .await;
    assert!(matches!(refused, Err(TaskError::Outbox(_))), "{refused:?}");
    let still = rig
        .registry
        .get(&rig.scope, &task.task_id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !still.status.is_terminal(),
        "the task did not end: {:?}",
        still.status
    );
    assert!(
        rig.outbox
            .deliveries_for_task(task.task_id.as_str())
            .await
            .unwrap()
            .is_empty()
    );
    sqlx::raw_sql("ALTER TABLE adcp_webhook_outbox DROP CONSTRAINT refuse_all")
        .execute(rig.outbox.pool())
        .await
        .unwrap();
    let written = rig
        .registry
        .complete(&task.task_id, json!({"products": []}))
        .await
        .unwrap();
    assert!(matches!(written, TerminalWrite::Applied(_)));
    assert_eq!(
        rig.outbox
            .deliveries_for_task(task.task_id.as_str())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_failed_task_sends_its_error() {
    let rig = rig().await;
    let task = rig.issue("create_media_buy", true).await;
    let error = AdcpError::new("SERVICE_UNAVAILABLE", "ad server unreachable");
    rig.registry.fail(&task.task_id, &error).await.unwrap();
    rig.deliver_all().await;
    let body = rig.receiver.received()[0].json();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["task_type"], "create_media_buy");
    assert_eq!(body["result"]["errors"][0]["code"], "SERVICE_UNAVAILABLE");
    let schemas = adcp_types::validate::SchemaSet::load_default().unwrap();
    schemas
        .validate_schema("core/mcp-webhook-payload.json", &body)
        .unwrap();
}

#[tokio::test]
async fn sdk_internal_task_types_and_tasks_without_webhook_write_no_row() {
    let rig = rig().await;
    let internal = rig.issue("finalize_proposal", true).await;
    let polling = rig.issue("get_products", false).await;
    for task in [&internal, &polling] {
        let written = rig
            .registry
            .complete(&task.task_id, json!({"ok": true}))
            .await
            .unwrap();
        assert_eq!(written.record().status, TaskStatus::Completed);
        assert!(
            rig.outbox
                .deliveries_for_task(task.task_id.as_str())
                .await
                .unwrap()
                .is_empty()
        );
    }
}
