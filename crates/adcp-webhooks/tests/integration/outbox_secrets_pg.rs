//! Push credentials and webhook bodies at rest in the outbox (and the task row that feeds it):
//! sealed with the seller's key, delivered end to end byte for byte with a valid signature,
//! credentials cleared once a row is delivered or dead, plaintext rows from before the key still
//! delivered, and a value that does not decrypt dead-letters its row as misconfigured (a sealed
//! body replays once the right key is back). Also the purge of old dead rows.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adcp_tasks::pg::{CredentialKey, CredentialKeys, PgTaskRegistry};
use adcp_tasks::{NewTask, TaskKind, TaskRegistry, TaskScope};
use adcp_types::AdcpProtocol;
use adcp_webhooks::outbox::{DeliveryState, OutboxDelivery, OutboxWorkerConfig, PgOutbox};
use adcp_webhooks::payload::{PreparedPayload, new_idempotency_key};
use adcp_webhooks::signing::{JwksPublisher, WebhookSigner};
use adcp_webhooks::verify::{InboundWebhook, WebhookVerifier};
use adcp_webhooks::{DeliverySupervisor as _, Enqueued, NewDelivery, WebhookAuth, WebhookError};
use common::{Received, Receiver, loopback_sender, test_signer};
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

/// Every outbox body as PostgreSQL renders it, escaped and as hex.
async fn stored_bodies(pool: &PgPool) -> String {
    sqlx::query_scalar::<_, String>(
        "SELECT encode(body, 'escape') || ' ' || encode(body, 'hex') FROM adcp_webhook_outbox",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    .join("\n")
}

async fn stored_body(pool: &PgPool, id: i64) -> Vec<u8> {
    sqlx::query_scalar("SELECT body FROM adcp_webhook_outbox WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Checks the RFC 9421 signature (and content digest) of a received webhook.
fn verify_signature(signer: &WebhookSigner, receiver: &Receiver, got: &Received) {
    let jwks = JwksPublisher::new().with_key(signer.key()).document();
    let headers: Vec<(&str, &str)> = got
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let url = receiver.url(&got.path_and_query);
    let inbound = InboundWebhook {
        method: "POST",
        url: &url,
        headers: &headers,
        body: &got.body,
    };
    WebhookVerifier::new(&jwks).verify_now(&inbound).unwrap();
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
    run_signed_until(outbox, test_signer(), task_id, state).await
}

/// [`run_until`] with a worker signing with `signer`.
async fn run_signed_until(
    outbox: &PgOutbox,
    signer: WebhookSigner,
    task_id: &str,
    state: DeliveryState,
) -> OutboxDelivery {
    let stop = CancellationToken::new();
    let worker = {
        let (outbox, stop) = (outbox.clone(), stop.clone());
        let config = OutboxWorkerConfig {
            poll_interval: Duration::from_millis(50),
            ..OutboxWorkerConfig::default()
        };
        tokio::spawn(async move {
            outbox
                .run_worker(loopback_sender(Some(signer)), config, stop)
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
    // The outbox body is the payload, which echoes the buyer's `token` by protocol: it is
    // sealed along with the authentication credentials.
    let outbox_text = table_text(pool, "adcp_webhook_outbox").await;
    assert!(
        !outbox_text.contains(CREDENTIALS) && !outbox_text.contains(TOKEN),
        "{outbox_text}"
    );
    let bodies = stored_bodies(pool).await;
    assert!(!bodies.contains(TOKEN), "{bodies}");
    let row = &outbox.deliveries_for_task(&task_id).await.unwrap()[0];
    assert!(
        stored_credentials(pool, row.id)
            .await
            .unwrap()
            .starts_with("adcp-enc:v1:k1:")
    );
    assert!(
        stored_body(pool, row.id)
            .await
            .starts_with(b"adcp-enc:v1:k1:")
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
    let plaintext_body = stored_body(pool, row.id).await;
    assert_eq!(plaintext_body.first(), Some(&b'{'), "stored as plaintext");
    let keyed = outbox(pool, Some(key("k1", 7))).await;
    let delivered = run_until(&keyed, &task_id, DeliveryState::Delivered).await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("authorization"),
        Some(format!("Bearer {CREDENTIALS}").as_str())
    );
    assert_eq!(
        got[0].body, plaintext_body,
        "the plaintext body is sent as stored"
    );
    assert_eq!(got[0].json()["token"], TOKEN);
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

/// A token no other test uses, so finding it anywhere in the table can only mean a leak.
const RECEIVER_TOKEN: &str = "tok_receiver_echo_7f3a9c2e5b1d4086";

/// Enqueues an RFC 9421-signed webhook whose body echoes [`RECEIVER_TOKEN`]; returns the exact
/// body bytes.
async fn enqueue_signed(outbox: &PgOutbox, receiver: &Receiver, task_id: &str) -> Vec<u8> {
    let idempotency_key = new_idempotency_key();
    let body = serde_json::to_vec(&json!({
        "idempotency_key": idempotency_key,
        "task_id": task_id,
        "task_type": "get_products",
        "status": "completed",
        "token": RECEIVER_TOKEN,
        "result": {"products": []},
    }))
    .unwrap();
    let enqueued = outbox
        .enqueue(NewDelivery {
            dedupe_key: format!("{task_id}:completed"),
            url: receiver.url("/hook"),
            auth: WebhookAuth::Rfc9421,
            payload: PreparedPayload {
                idempotency_key,
                body: body.clone(),
            },
            task_id: task_id.to_owned(),
            task_type: "get_products".to_owned(),
            operation_id: None,
        })
        .await
        .unwrap();
    assert_eq!(enqueued, Enqueued::Queued);
    body
}

#[tokio::test]
async fn keyed_bodies_hide_the_receiver_token_and_arrive_exactly_with_a_valid_signature() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = db.pool();
    let receiver = Receiver::start().await;
    let outbox = outbox(pool, Some(key("k1", 7))).await;
    let body = enqueue_signed(&outbox, &receiver, "task_sealed").await;

    let bodies = stored_bodies(pool).await;
    assert!(!bodies.contains(RECEIVER_TOKEN), "{bodies}");
    let outbox_text = table_text(pool, "adcp_webhook_outbox").await;
    assert!(!outbox_text.contains(RECEIVER_TOKEN), "{outbox_text}");

    let signer = test_signer();
    let delivered = run_signed_until(
        &outbox,
        signer.clone(),
        "task_sealed",
        DeliveryState::Delivered,
    )
    .await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, body, "the exact enqueued bytes");
    assert_eq!(got[0].json()["token"], RECEIVER_TOKEN);
    verify_signature(&signer, &receiver, &got[0]);
    assert!(
        stored_body(pool, delivered.id)
            .await
            .starts_with(b"adcp-enc:v1:k1:"),
        "the body stays sealed after delivery"
    );
    assert!(
        !table_text(pool, "adcp_webhook_outbox")
            .await
            .contains(RECEIVER_TOKEN)
    );
}

#[tokio::test]
async fn bodies_that_do_not_open_dead_letter_the_row_and_replay_once_the_key_is_back() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = db.pool();
    let receiver = Receiver::start().await;
    let sealing = outbox(pool, Some(key("k1", 7))).await;
    let body = enqueue_signed(&sealing, &receiver, "task_rekeyed").await;

    // No key at all, then the wrong key: both dead-letter the row without sending anything.
    let unkeyed = outbox(pool, None).await;
    let dead = run_until(&unkeyed, "task_rekeyed", DeliveryState::Dead).await;
    assert_eq!(dead.dead_reason.as_deref(), Some("terminal:misconfigured"));
    unkeyed.replay_dead_letter(dead.id).await.unwrap();
    let wrong_key = outbox(pool, Some(key("k2", 8))).await;
    let dead = run_until(&wrong_key, "task_rekeyed", DeliveryState::Dead).await;
    assert_eq!(dead.dead_reason.as_deref(), Some("terminal:misconfigured"));
    assert!(receiver.received().is_empty(), "nothing was sent");

    // The right key (now a previous key after a rotation) opens the replayed row.
    let rotated = outbox(
        pool,
        Some(key("k3", 9).with_previous(CredentialKey::new("k1", [7; 32]).unwrap())),
    )
    .await;
    rotated.replay_dead_letter(dead.id).await.unwrap();
    let signer = test_signer();
    run_signed_until(
        &rotated,
        signer.clone(),
        "task_rekeyed",
        DeliveryState::Delivered,
    )
    .await;
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, body);
    verify_signature(&signer, &receiver, &got[0]);
    let attempts = rotated.attempts(dead.id).await.unwrap();
    let outcomes: Vec<&str> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "terminal:misconfigured",
            "terminal:misconfigured",
            "delivered"
        ]
    );
}
