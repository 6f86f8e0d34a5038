//! Push credentials at rest in the outbox (and the task row that feeds it): sealed with the
//! seller's key, delivered end to end, cleared once a row is delivered or dead, and a value that
//! does not decrypt dead-letters its row as misconfigured. Also the purge of old dead rows.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adcp_tasks::pg::{CredentialKey, CredentialKeys, PgTaskRegistry};
use adcp_tasks::{NewTask, TaskKind, TaskRegistry, TaskScope};
use adcp_types::AdcpProtocol;
use adcp_webhooks::WebhookError;
use adcp_webhooks::outbox::{DeliveryState, OutboxDelivery, OutboxWorkerConfig, PgOutbox};
use common::{Receiver, loopback_sender, test_signer};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "tok_buyer_token_0123456789";
const CREDENTIALS: &str = "bearer_credential_never_at_rest_0123456789";

fn key(id: &str, byte: u8) -> CredentialKeys {
    CredentialKey::new(id, [byte; 32]).unwrap().into()
}

fn push_config(receiver: &Receiver) -> Value {
    json!({
        "url": receiver.url("/hook"),
        "operation_id": "op_secret",
        "token": TOKEN,
        "authentication": {"schemes": ["Bearer"], "credentials": CREDENTIALS},
    })
}

async fn outbox(pool: &PgPool, keys: Option<CredentialKeys>) -> PgOutbox {
    let mut outbox = PgOutbox::new(pool.clone());
    if let Some(keys) = keys {
        outbox = outbox.credentials_key(keys);
    }
    outbox.migrate().await.unwrap();
    outbox
}

/// Issues and completes a task with a Bearer push config through a registry feeding `outbox`.
async fn complete_task(
    pool: &PgPool,
    outbox: &PgOutbox,
    keys: Option<CredentialKeys>,
    receiver: &Receiver,
) -> String {
    let mut builder = PgTaskRegistry::builder(pool.clone()).outbox(Arc::new(outbox.clone()));
    if let Some(keys) = keys {
        builder = builder.credentials_key(keys);
    }
    let registry = builder.build().unwrap();
    registry.migrate().await.unwrap();
    let task = registry
        .issue(
            NewTask::new(
                TaskScope::new("acct_1", "api_key:k1").unwrap(),
                TaskKind::new("get_products").unwrap(),
                AdcpProtocol::MediaBuy,
            )
            .with_webhook(push_config(receiver)),
        )
        .await
        .unwrap();
    registry
        .complete(&task.task_id, json!({"products": []}))
        .await
        .unwrap();
    task.task_id.as_str().to_owned()
}

async fn table_text(pool: &PgPool, table: &str) -> String {
    sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
        "SELECT t::text FROM {table} t"
    )))
    .fetch_all(pool)
    .await
    .unwrap()
    .join("\n")
}

async fn stored_credentials(pool: &PgPool, id: i64) -> Option<String> {
    sqlx::query_scalar("SELECT auth_credentials FROM adcp_webhook_outbox WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Runs one worker until the task's row reaches `state`, then stops it.
async fn run_until(outbox: &PgOutbox, task_id: &str, state: DeliveryState) -> OutboxDelivery {
    let stop = CancellationToken::new();
    let worker = {
        let (outbox, stop) = (outbox.clone(), stop.clone());
        let config = OutboxWorkerConfig {
            poll_interval: Duration::from_millis(50),
            ..OutboxWorkerConfig::default()
        };
        tokio::spawn(async move {
            outbox
                .run_worker(loopback_sender(Some(test_signer())), config, stop)
                .await
                .unwrap();
        })
    };
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let row = loop {
        let rows = outbox.deliveries_for_task(task_id).await.unwrap();
        assert_eq!(rows.len(), 1);
        if rows[0].state == state || tokio::time::Instant::now() > until {
            break rows[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop.cancel();
    worker.await.unwrap();
    assert_eq!(row.state, state, "{row:?}");
    row
}

#[tokio::test]
async fn keyed_stores_hold_ciphertext_and_the_webhook_is_still_delivered_with_its_credentials() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = db.pool();
    let receiver = Receiver::start().await;
    let outbox = outbox(pool, Some(key("k1", 7))).await;
    let task_id = complete_task(pool, &outbox, Some(key("k1", 7)), &receiver).await;

    let tasks = table_text(pool, "adcp_tasks").await;
    assert!(
        !tasks.contains(CREDENTIALS) && !tasks.contains(TOKEN),
        "the finished task keeps no push config: {tasks}"
    );
    // The outbox body is the payload, which echoes the buyer's `token` by protocol; only the
    // authentication credentials are sealed.
    let outbox_text = table_text(pool, "adcp_webhook_outbox").await;
    assert!(!outbox_text.contains(CREDENTIALS), "{outbox_text}");
    let row = &outbox.deliveries_for_task(&task_id).await.unwrap()[0];
    assert!(
        stored_credentials(pool, row.id)
            .await
            .unwrap()
            .starts_with("adcp-enc:v1:k1:")
    );

    let delivered = run_until(&outbox, &task_id, DeliveryState::Delivered).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {CREDENTIALS}").as_str())
    );
    assert_eq!(got[0].json()["token"], TOKEN);
    assert_eq!(
        stored_credentials(pool, delivered.id).await,
        None,
        "credentials are cleared once delivered"
    );
}

#[tokio::test]
async fn plaintext_rows_from_before_the_key_are_delivered_and_cleared() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = db.pool();
    let receiver = Receiver::start().await;
    let unkeyed = outbox(pool, None).await;
    let task_id = complete_task(pool, &unkeyed, None, &receiver).await;
    let row = &unkeyed.deliveries_for_task(&task_id).await.unwrap()[0];
    assert_eq!(
        stored_credentials(pool, row.id).await.as_deref(),
        Some(CREDENTIALS)
    );
    let keyed = outbox(pool, Some(key("k1", 7))).await;
    let delivered = run_until(&keyed, &task_id, DeliveryState::Delivered).await;
    assert_eq!(
        receiver.received()[0].header("authorization"),
        Some(format!("Bearer {CREDENTIALS}").as_str())
    );
    assert_eq!(stored_credentials(pool, delivered.id).await, None);
}

#[tokio::test]
async fn credentials_that_do_not_decrypt_dead_letter_the_row_which_is_purged_later() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = db.pool();
    let receiver = Receiver::start().await;
    let sealing = outbox(pool, Some(key("k1", 7))).await;
    let task_id = complete_task(pool, &sealing, Some(key("k1", 7)), &receiver).await;

    let wrong_key = outbox(pool, Some(key("k2", 8))).await;
    let dead = run_until(&wrong_key, &task_id, DeliveryState::Dead).await;
    assert_eq!(dead.dead_reason.as_deref(), Some("terminal:misconfigured"));
    assert!(receiver.received().is_empty(), "nothing was sent");
    assert_eq!(
        stored_credentials(pool, dead.id).await,
        None,
        "cleared once dead"
    );
    assert!(
        matches!(
            sealing.replay_dead_letter(dead.id).await,
            Err(WebhookError::InvalidRequest(_))
        ),
        "a legacy-authenticated row without credentials cannot be replayed"
    );
    assert!(!sealing.attempts(dead.id).await.unwrap().is_empty());

    assert_eq!(
        sealing.purge_dead(Duration::from_hours(1)).await.unwrap(),
        0
    );
    assert_eq!(sealing.purge_delivered(Duration::ZERO).await.unwrap(), 0);
    sqlx::query("UPDATE adcp_webhook_outbox SET dead_at = now() - interval '2 hours'")
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(
        sealing.purge_dead(Duration::from_hours(1)).await.unwrap(),
        1
    );
    assert!(sealing.delivery(dead.id).await.unwrap().is_none());
    assert!(sealing.attempts(dead.id).await.unwrap().is_empty());
}
