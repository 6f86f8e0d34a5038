//! Push credentials at rest in the PostgreSQL registry: sealed with the seller's key, opened
//! with any configured key, cleared by the terminal write, and never a panic when a value does
//! not open.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::support;

use adcp_tasks::pg::{CredentialKey, CredentialKeys, PgTaskRegistry};
use adcp_tasks::{TaskRecord, TaskRegistry};
use adcp_types::AdcpError;
use serde_json::{Value, json};
use sqlx::PgPool;

use support::{new_task, scope};

const TOKEN: &str = "tok_plaintext_never_at_rest_0001";
const CREDENTIALS: &str = "cred_plaintext_never_at_rest_0123456789abcdef";

fn push_config() -> Value {
    json!({
        "url": "https://buyer.example/hook?sig=abc",
        "token": TOKEN,
        "authentication": {"schemes": ["Bearer"], "credentials": CREDENTIALS},
    })
}

fn key(id: &str, byte: u8) -> CredentialKey {
    CredentialKey::new(id, [byte; 32]).unwrap()
}

async fn registry(pool: &PgPool, keys: Option<CredentialKeys>) -> PgTaskRegistry {
    let mut builder = PgTaskRegistry::builder(pool.clone());
    if let Some(keys) = keys {
        builder = builder.credentials_key(keys);
    }
    let registry = builder.build().unwrap();
    registry.migrate().await.unwrap();
    registry
}

/// Every stored row of the task table, as text.
async fn table_text(pool: &PgPool) -> String {
    sqlx::query_scalar::<_, String>("SELECT t::text FROM adcp_tasks t")
        .fetch_all(pool)
        .await
        .unwrap()
        .join("\n")
}

async fn stored_webhook(pool: &PgPool, task: &TaskRecord) -> Option<Value> {
    sqlx::query_scalar("SELECT webhook FROM adcp_tasks WHERE task_id = $1")
        .bind(task.task_id.as_str())
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_keyed_registry_stores_push_configs_sealed_and_reads_them_back() {
    let database = adcp_pg_harness::fresh_database().await;
    let pool = database.pool();
    let registry = registry(pool, Some(key("k1", 7).into())).await;
    let issued = registry
        .issue(new_task(&scope()).with_webhook(push_config()))
        .await
        .unwrap();
    assert_eq!(issued.webhook, Some(push_config()));
    let text = table_text(pool).await;
    assert!(
        !text.contains(TOKEN) && !text.contains(CREDENTIALS) && !text.contains("buyer.example"),
        "the row holds ciphertext only: {text}"
    );
    assert!(text.contains("adcp-enc:v1:k1:"));
    let read = registry
        .get(&scope(), &issued.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.webhook, Some(push_config()));
    let listed = registry
        .list(&scope(), &adcp_tasks::TaskQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.tasks[0].webhook, Some(push_config()));
}

#[tokio::test]
async fn the_terminal_write_clears_the_push_config_but_returns_it() {
    let database = adcp_pg_harness::fresh_database().await;
    let pool = database.pool();
    for keys in [None, Some(CredentialKeys::from(key("k1", 7)))] {
        let registry = registry(pool, keys).await;
        let completed = registry
            .issue(new_task(&scope()).with_webhook(push_config()))
            .await
            .unwrap();
        let failed = registry
            .issue(new_task(&scope()).with_webhook(push_config()))
            .await
            .unwrap();
        let canceled = registry
            .issue(new_task(&scope()).with_webhook(push_config()))
            .await
            .unwrap();
        let writes = [
            registry
                .complete(&completed.task_id, json!({"products": []}))
                .await
                .unwrap(),
            registry
                .fail(&failed.task_id, &AdcpError::internal())
                .await
                .unwrap(),
            registry.cancel(&scope(), &canceled.task_id).await.unwrap(),
        ];
        for (write, task) in writes.iter().zip([&completed, &failed, &canceled]) {
            assert!(write.is_applied());
            assert_eq!(
                write.record().webhook,
                Some(push_config()),
                "the terminal record still carries the registration for the outbox"
            );
            assert_eq!(stored_webhook(pool, task).await, None);
            let read = registry
                .get(&scope(), &task.task_id)
                .await
                .unwrap()
                .unwrap();
            assert!(read.has_webhook && read.webhook.is_none());
        }
        let text = table_text(pool).await;
        assert!(
            !text.contains(TOKEN) && !text.contains(CREDENTIALS),
            "{text}"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_still_opens_and_a_missing_key_never_panics() {
    let database = adcp_pg_harness::fresh_database().await;
    let pool = database.pool();
    let old = registry(pool, Some(key("old", 1).into())).await;
    let issued = old
        .issue(new_task(&scope()).with_webhook(push_config()))
        .await
        .unwrap();
    let rotated = registry(
        pool,
        Some(CredentialKeys::new(key("new", 2)).with_previous(key("old", 1))),
    )
    .await;
    let read = rotated
        .get(&scope(), &issued.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.webhook, Some(push_config()));
    for keys in [None, Some(key("new", 2).into()), Some(key("old", 9).into())] {
        let wrong = registry(pool, keys).await;
        let read = wrong.get(&scope(), &issued.task_id).await.unwrap().unwrap();
        assert!(
            read.has_webhook && read.webhook.is_none(),
            "an unopenable registration reads as absent"
        );
    }
    let wrong = registry(pool, Some(key("new", 2).into())).await;
    let write = wrong
        .complete(&issued.task_id, json!({"products": []}))
        .await
        .unwrap();
    assert!(write.is_applied() && write.record().webhook.is_none());
}
