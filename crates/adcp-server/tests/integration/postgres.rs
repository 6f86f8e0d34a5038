//! The durable path against a real PostgreSQL: tasks, the transactional outbox and the
//! idempotency store shared by two server replicas.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use adcp_server::WebhookDelivery;
use adcp_server::idempotency::PgIdempotencyStore;
use adcp_tasks::pg::PgTaskRegistry;
use adcp_webhooks::outbox::{OutboxWorkerConfig, PgOutbox};
use adcp_webhooks::signing::WebhookSigner;
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{SenderConfig, WebhookSender};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::support::*;

pub(crate) async fn replica(
    pool: &sqlx::PgPool,
    observed: &Arc<Observed>,
    stop: &CancellationToken,
) -> Running {
    let outbox = PgOutbox::new(pool.clone());
    outbox.migrate().await.unwrap();
    let registry = PgTaskRegistry::builder(pool.clone())
        .outbox(Arc::new(outbox.clone()))
        .build()
        .unwrap();
    registry.migrate().await.unwrap();
    let idempotency = PgIdempotencyStore::new(pool.clone());
    idempotency.migrate().await.unwrap();
    let sender = WebhookSender::new(
        SenderConfig {
            policy: SsrfPolicy::strict().allow_loopback(),
            ..SenderConfig::default()
        },
        Some(WebhookSigner::new(signing_key())),
    )
    .unwrap();
    let token = stop.clone();
    let config = OutboxWorkerConfig {
        poll_interval: Duration::from_millis(100),
        ..OutboxWorkerConfig::default()
    };
    tokio::spawn(async move { outbox.run_worker(sender, config, token).await });
    let server = builder(observed)
        .task_registry(Arc::new(registry))
        .idempotency_store(Arc::new(idempotency))
        .webhooks(WebhookDelivery::Transactional)
        .build()
        .unwrap();
    serve(server).await
}

#[tokio::test]
async fn two_replicas_share_tasks_outbox_and_idempotency() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(db.url())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let observed = Arc::new(Observed::default());
    let a = replica(&pool, &observed, &stop).await;
    let b = replica(&pool, &observed, &stop).await;
    let receiver = Receiver::start().await;
    let buyer_a = Buyer::connect(&a.url, Some("token-a")).await;
    let buyer_b = Buyer::connect(&b.url, Some("token-a")).await;
    let acct = account("acme.example");

    // A task handed off on replica A is polled on replica B; one webhook arrives.
    let reply = buyer_a
        .call(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "hooks/pg", "op-pg"),
                "ext": { "handoff": true }
            }),
        )
        .await;
    let task_id = reply.ok()["task_id"].as_str().unwrap().to_owned();
    let status = poll_until_terminal(&buyer_b, &task_id, &acct).await;
    assert_eq!(status["status"], "completed");
    let hooks = receiver
        .wait_for("hooks/pg", 1, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "two outbox workers, one delivery"
    );
    assert_eq!(hooks[0].json()["operation_id"], "op-pg");

    // An idempotency key used on replica A replays on replica B.
    let create = json!({
        "idempotency_key": "pg-key-000000000001", "account": acct, "brand": { "domain": "acme.example" },
        "start_time": "2027-01-01T00:00:00Z", "end_time": "2027-01-31T00:00:00Z",
        "packages": [{ "product_id": "p1", "budget": 100, "pricing_option_id": "cpm" }]
    });
    let first = buyer_a.call("create_media_buy", create.clone()).await;
    let replay = buyer_b.call("create_media_buy", create).await;
    assert_eq!(replay.ok()["replayed"], true);
    assert_eq!(replay.ok()["media_buy_id"], first.ok()["media_buy_id"]);
    assert_eq!(observed.media_buys_created.load(Ordering::SeqCst), 1);
    stop.cancel();
}

fn loopback_sender() -> WebhookSender {
    WebhookSender::new(
        SenderConfig {
            policy: SsrfPolicy::strict().allow_loopback(),
            ..SenderConfig::default()
        },
        Some(WebhookSigner::new(signing_key())),
    )
    .unwrap()
}

#[tokio::test]
async fn one_postgres_call_wires_every_store_and_a_stop_sends_the_drains_webhooks() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(db.url())
        .await
        .unwrap();
    let observed = Arc::new(Observed::default());
    let key = adcp_tasks::pg::CredentialKey::new("k1", [9; 32]).unwrap();
    let server = builder(&observed)
        .postgres(
            adcp_server::PostgresStores::new(pool.clone(), loopback_sender())
                .credentials_key(key)
                .outbox_workers(
                    2,
                    OutboxWorkerConfig {
                        poll_interval: Duration::from_millis(100),
                        ..OutboxWorkerConfig::default()
                    },
                ),
        )
        .await
        .unwrap()
        .build()
        .unwrap();
    let running = serve(server).await;
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    let receiver = Receiver::start().await;
    let mut task_ids = Vec::new();
    for n in 0..5 {
        let reply = buyer
            .call(
                "get_products",
                json!({
                    "buying_mode": "brief", "brief": "pg", "account": account("acme.example"),
                    "push_notification_config": push(&receiver, "pg", &format!("op-{n}")),
                    "ext": { "handoff": true, "work_ms": 300 },
                }),
            )
            .await;
        assert_eq!(reply.ok()["status"], "submitted", "{:#}", reply.body);
        task_ids.push(reply.ok()["task_id"].as_str().unwrap().to_owned());
    }
    // Stop at once: the tasks finish during the drain, and the outbox workers, stopped only
    // after them, still deliver their webhooks.
    let report = running
        .server
        .stop(&adcp_server::StopPolicy::default())
        .await;
    assert_eq!(report.tasks_finished, 5, "{report:?}");
    assert_eq!(report.background_jobs_aborted, 0, "{report:?}");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT task_id, state FROM adcp_webhook_outbox ORDER BY task_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(rows.len(), 5, "one outbox row per task: {rows:?}");
    let delivered = rows
        .iter()
        .filter(|(_, state)| state == "delivered")
        .count();
    let received = receiver.received();
    assert_eq!(received.len(), delivered, "each delivered row arrived once");
    // What the workers did not send before stopping stays in the outbox, never lost.
    assert!(
        rows.iter().all(|(_, s)| s == "delivered" || s == "pending"),
        "{rows:?}"
    );
    // The credentials were sealed at rest and cleared once delivered.
    let leaked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM adcp_tasks t WHERE t::text LIKE '%receiver-token-0123456789abcdef%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
}

#[tokio::test]
async fn a_registry_writing_an_outbox_with_another_delivery_mode_is_refused_at_build() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = sqlx::postgres::PgPool::connect(db.url()).await.unwrap();
    let outbox = PgOutbox::new(pool.clone());
    let registry = PgTaskRegistry::builder(pool.clone())
        .outbox(Arc::new(outbox))
        .build()
        .unwrap();
    let observed = Arc::new(Observed::default());
    let error = builder(&observed)
        .task_registry(Arc::new(registry))
        .webhooks(in_memory_webhooks())
        .build()
        .expect_err("outbox rows no worker sends, beside an in-memory supervisor");
    assert!(error.to_string().contains("outbox"), "{error}");
    let bare = PgTaskRegistry::builder(pool).build().unwrap();
    let error = builder(&observed)
        .task_registry(Arc::new(bare))
        .webhooks(WebhookDelivery::Transactional)
        .build()
        .expect_err("Transactional without an outbox");
    assert!(error.to_string().contains("outbox"), "{error}");
}
