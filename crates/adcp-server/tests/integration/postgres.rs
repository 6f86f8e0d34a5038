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

async fn replica(
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
