//! The PostgreSQL outbox against a real PostgreSQL (the shared harness) and a real loopback
//! receiver: delivery, retries, dead letters, migrations, several workers, and a worker process
//! killed mid-delivery.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adcp_types::TaskStatus;
use adcp_webhooks::outbox::{DeliveryState, OutboxDelivery, OutboxWorkerConfig, PgOutbox};
use adcp_webhooks::retry::RetryPolicy;
use adcp_webhooks::signing::JwksPublisher;
use adcp_webhooks::verify::{InboundWebhook, WebhookVerifier};
use adcp_webhooks::{
    BreakerPolicy, EmitOutcome, TerminalCompletion, TerminalEmitter, WebhookSender,
};
use common::{Answer, Receiver, loopback_sender, test_signer};
use serde_json::{Value, json};
use sqlx::postgres::PgPoolOptions;
use tokio_util::sync::CancellationToken;

const CHILD_DB_ENV: &str = "ADCP_WEBHOOKS_CHILD_WORKER_DB";

fn worker_config(name: &str) -> OutboxWorkerConfig {
    OutboxWorkerConfig {
        worker_id: name.to_owned(),
        lease: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        sweep_interval: Duration::from_millis(200),
        retry: RetryPolicy {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        ..OutboxWorkerConfig::default()
    }
}

struct Worker {
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Worker {
    fn spawn(outbox: &PgOutbox, sender: WebhookSender, config: OutboxWorkerConfig) -> Self {
        let stop = CancellationToken::new();
        let (outbox, token) = (outbox.clone(), stop.clone());
        let handle =
            tokio::spawn(async move { outbox.run_worker(sender, config, token).await.unwrap() });
        Self { stop, handle }
    }

    async fn stop(self) {
        self.stop.cancel();
        self.handle.await.unwrap();
    }
}

async fn outbox_on(url: &str) -> PgOutbox {
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(url)
        .await
        .unwrap();
    let outbox = PgOutbox::new(pool);
    outbox.migrate().await.unwrap();
    outbox
}

fn completion<'a>(task_id: &'a str, push: &'a Value, result: &'a Value) -> TerminalCompletion<'a> {
    TerminalCompletion {
        context_id: None,
        task_id,
        task_type: "get_signals",
        protocol: None,
        status: TaskStatus::Completed,
        result: Some(result),
        error: None,
        push_config: Some(push),
        context: None,
        issued_at: None,
    }
}

async fn enqueue(outbox: &PgOutbox, task_id: &str, url: &str) -> String {
    let emitter = TerminalEmitter::new(Some(Arc::new(outbox.clone())));
    let push = json!({"url": url, "operation_id": format!("op_{task_id}"), "token": "tok_0123456789abcdef"});
    let result = json!({"signals": []});
    match emitter
        .emit_terminal_completion(&completion(task_id, &push, &result))
        .await
        .unwrap()
    {
        EmitOutcome::Enqueued { idempotency_key } => idempotency_key,
        other => panic!("{other:?}"),
    }
}

async fn wait_for_state(
    outbox: &PgOutbox,
    task_id: &str,
    state: DeliveryState,
    timeout: Duration,
) -> OutboxDelivery {
    let until = tokio::time::Instant::now() + timeout;
    loop {
        let rows = outbox.deliveries_for_task(task_id).await.unwrap();
        assert_eq!(rows.len(), 1, "exactly one outbox row per task");
        if rows[0].state == state || tokio::time::Instant::now() > until {
            assert_eq!(rows[0].state, state, "{:?}", rows[0]);
            return rows[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn enqueued_webhook_is_delivered_signed_and_recorded() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    let signer = test_signer();
    let jwks = JwksPublisher::new().with_key(signer.key()).document();
    let key = enqueue(&outbox, "task_1", &receiver.url("/hook?route=1")).await;
    let worker = Worker::spawn(&outbox, loopback_sender(Some(signer)), worker_config("w1"));
    let row = wait_for_state(
        &outbox,
        "task_1",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    assert_eq!(row.idempotency_key, key);
    assert_eq!(row.operation_id.as_deref(), Some("op_task_1"));
    assert_eq!(row.attempts, 1);
    assert!(!row.destination.contains("route"), "{}", row.destination);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].idempotency_key(), key);
    let headers: Vec<(&str, &str)> = got[0]
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let url = receiver.url(&got[0].path_and_query);
    let inbound = InboundWebhook {
        method: "POST",
        url: &url,
        headers: &headers,
        body: &got[0].body,
    };
    WebhookVerifier::new(&jwks).verify_now(&inbound).unwrap();
    let attempts = outbox.attempts(row.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "delivered");
    assert_eq!(attempts[0].worker, "w1");
    assert_eq!(
        outbox
            .purge_delivered(Duration::from_hours(1))
            .await
            .unwrap(),
        0,
        "too recent"
    );
    assert_eq!(outbox.purge_delivered(Duration::ZERO).await.unwrap(), 1);
    assert!(outbox.delivery(row.id).await.unwrap().is_none());
    assert!(outbox.attempts(row.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn enqueueing_the_same_task_twice_keeps_one_row() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let emitter = TerminalEmitter::new(Some(Arc::new(outbox.clone())));
    let push = json!({"url": "https://buyer.example/h", "operation_id": "op"});
    let result = json!({"signals": []});
    let first = emitter
        .emit_terminal_completion(&completion("task_dup", &push, &result))
        .await
        .unwrap();
    let second = emitter
        .emit_terminal_completion(&completion("task_dup", &push, &result))
        .await
        .unwrap();
    assert!(matches!(first, EmitOutcome::Enqueued { .. }));
    assert_eq!(second, EmitOutcome::Duplicate);
    assert_eq!(
        outbox.deliveries_for_task("task_dup").await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_key_until_delivered() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::Status(503), Answer::Status(502)]);
    let key = enqueue(&outbox, "task_r", &receiver.url("/h")).await;
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("w"),
    );
    let row = wait_for_state(
        &outbox,
        "task_r",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    let got = receiver.received();
    assert_eq!(got.len(), 3);
    assert!(
        got.iter()
            .all(|r| r.idempotency_key() == key && r.body == got[0].body)
    );
    let outcomes: Vec<_> = outbox
        .attempts(row.id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(
        outcomes,
        ["retryable:http_503", "retryable:http_502", "delivered"]
    );
}

#[tokio::test]
async fn client_errors_dead_letter_the_row_and_an_operator_can_replay_it() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::Status(410)]);
    let key = enqueue(&outbox, "task_t", &receiver.url("/h")).await;
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("w"),
    );
    let dead = wait_for_state(
        &outbox,
        "task_t",
        DeliveryState::Dead,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(dead.dead_reason.as_deref(), Some("terminal:http_410"));
    assert_eq!(
        receiver.received().len(),
        1,
        "a terminal answer is not retried"
    );
    let listed = outbox.dead_letters(10).await.unwrap();
    assert_eq!(listed.iter().map(|d| d.id).collect::<Vec<_>>(), [dead.id]);
    outbox.replay_dead_letter(dead.id).await.unwrap();
    let delivered = wait_for_state(
        &outbox,
        "task_t",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    assert_eq!(delivered.idempotency_key, key);
    assert_eq!(receiver.received()[1].idempotency_key(), key);
    assert!(outbox.dead_letters(10).await.unwrap().is_empty());
    assert!(matches!(
        outbox.replay_dead_letter(dead.id).await,
        Err(adcp_webhooks::WebhookError::NotFound(_))
    ));
}

#[tokio::test]
async fn rows_past_their_horizon_are_dead_lettered() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url())
        .await
        .with_horizon(Duration::from_millis(600));
    let receiver = Receiver::start().await;
    receiver.script(std::iter::repeat_n(Answer::Status(500), 1000));
    enqueue(&outbox, "task_h", &receiver.url("/h")).await;
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("w"),
    );
    let dead = wait_for_state(
        &outbox,
        "task_h",
        DeliveryState::Dead,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    assert_eq!(dead.dead_reason.as_deref(), Some("horizon"));
    assert!(receiver.received().len() >= 2, "retried until the horizon");
}

#[tokio::test]
async fn receiver_down_then_up_is_delivered() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let port = common::free_port();
    let key = enqueue(&outbox, "task_d", &format!("http://127.0.0.1:{port}/h")).await;
    // This test is about retrying until the receiver is up, not the circuit breaker: with the
    // default threshold a slow machine reaches five failures before the receiver starts, and
    // the open circuit then outlasts the wait.
    let config = OutboxWorkerConfig {
        breaker: BreakerPolicy {
            failure_threshold: u32::MAX,
            ..BreakerPolicy::default()
        },
        ..worker_config("w")
    };
    let worker = Worker::spawn(&outbox, loopback_sender(Some(test_signer())), config);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pending = wait_for_state(
        &outbox,
        "task_d",
        DeliveryState::Pending,
        Duration::from_secs(5),
    )
    .await;
    assert!(pending.attempts >= 1);
    assert_eq!(pending.last_error.as_deref(), Some("connect"));
    let receiver = Receiver::start_on(port).await;
    wait_for_state(
        &outbox,
        "task_d",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(receiver.received()[0].idempotency_key(), key);
}

#[tokio::test]
async fn two_workers_deliver_every_row_exactly_once() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    let mut keys = std::collections::HashSet::new();
    for i in 0..200 {
        keys.insert(enqueue(&outbox, &format!("task_{i}"), &receiver.url("/h")).await);
    }
    let config = |name: &str| OutboxWorkerConfig {
        batch_size: 16,
        ..worker_config(name)
    };
    let a = Worker::spawn(&outbox, loopback_sender(Some(test_signer())), config("a"));
    let b = Worker::spawn(&outbox, loopback_sender(Some(test_signer())), config("b"));
    let got = receiver.wait_for(200, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.stop().await;
    b.stop().await;
    let got_keys: Vec<String> = receiver
        .received()
        .iter()
        .map(common::Received::idempotency_key)
        .collect();
    assert_eq!(got.len(), 200);
    assert_eq!(got_keys.len(), 200, "no row was sent twice");
    assert_eq!(
        got_keys
            .into_iter()
            .collect::<std::collections::HashSet<_>>(),
        keys
    );
    let workers: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT worker FROM adcp_webhook_attempts ORDER BY worker")
            .fetch_all(outbox.pool())
            .await
            .unwrap();
    assert_eq!(workers, ["a", "b"], "both workers took part");
}

#[tokio::test]
async fn concurrent_migrations_from_several_processes_agree() {
    let db = adcp_pg_harness::fresh_database().await;
    let outboxes: Vec<PgOutbox> = (0..4).map(|_| PgOutbox::new(db.pool().clone())).collect();
    let results = futures::future::join_all(outboxes.iter().map(PgOutbox::migrate)).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    outboxes[0].migrate().await.unwrap();
}

#[tokio::test]
async fn migration_is_idempotent_and_upgrades_an_older_table() {
    let db = adcp_pg_harness::fresh_database().await;
    // The table as a release before `operation_id` and the lease columns created it.
    sqlx::raw_sql(
        "CREATE TABLE adcp_webhook_outbox (
             id BIGSERIAL PRIMARY KEY, dedupe_key TEXT NOT NULL, idempotency_key TEXT NOT NULL,
             task_id TEXT NOT NULL, task_type TEXT NOT NULL, url TEXT NOT NULL, body BYTEA NOT NULL,
             state TEXT NOT NULL DEFAULT 'pending', attempt_count INTEGER NOT NULL DEFAULT 0,
             available_at TIMESTAMPTZ NOT NULL DEFAULT now(), created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
             updated_at TIMESTAMPTZ NOT NULL DEFAULT now());",
    )
    .execute(db.pool())
    .await
    .unwrap();
    let receiver = Receiver::start().await;
    let body = br#"{"idempotency_key":"whk_legacyrow0000000001","operation_id":"op_old","task_id":"task_old","task_type":"get_products","status":"completed","timestamp":"2026-01-01T00:00:00Z"}"#;
    sqlx::query(
        "INSERT INTO adcp_webhook_outbox (dedupe_key, idempotency_key, task_id, task_type, url, body) \
         VALUES ('terminal:task_old', 'whk_legacyrow0000000001', 'task_old', 'get_products', $1, $2)",
    )
    .bind(receiver.url("/old"))
    .bind(&body[..])
    .execute(db.pool())
    .await
    .unwrap();
    let outbox = outbox_on(db.url()).await;
    outbox.migrate().await.unwrap();
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_name = 'adcp_webhook_outbox' ORDER BY 1",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    for column in [
        "operation_id",
        "lease_token",
        "retry_until",
        "dead_reason",
        "auth_scheme",
    ] {
        assert!(
            columns.iter().any(|c| c == column),
            "{column} missing from {columns:?}"
        );
    }
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("w"),
    );
    let row = wait_for_state(
        &outbox,
        "task_old",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    assert_eq!(row.operation_id, None);
    assert_eq!(
        receiver.received()[0].body,
        body.to_vec(),
        "the stored bytes are sent unchanged"
    );
}

/// Runs a worker as this test binary's child process would: in child mode (env set by the
/// parent test) it works until killed; standalone it proves the same entry point delivers.
#[tokio::test]
async fn worker_entry_point_delivers_due_rows() {
    if let Ok(url) = std::env::var(CHILD_DB_ENV) {
        let outbox = outbox_on(&url).await;
        let sender = WebhookSender::new(
            adcp_webhooks::SenderConfig {
                request_timeout: Duration::from_secs(2),
                policy: adcp_webhooks::ssrf::SsrfPolicy::strict().allow_loopback(),
                ..adcp_webhooks::SenderConfig::default()
            },
            Some(test_signer()),
        )
        .unwrap();
        let config = OutboxWorkerConfig {
            lease: Duration::from_secs(4),
            ..worker_config("child")
        };
        outbox
            .run_worker(sender, config, CancellationToken::new())
            .await
            .unwrap();
        return;
    }
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    enqueue(&outbox, "task_e", &receiver.url("/h")).await;
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("w"),
    );
    wait_for_state(
        &outbox,
        "task_e",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
}

/// The libtest name of [`worker_entry_point_delivers_due_rows`] inside this test binary: the
/// module path without the crate name (`outbox_pg::...` in the `integration` target).
fn child_test_name() -> String {
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_crate, module)| module);
    if module.is_empty() {
        "worker_entry_point_delivers_due_rows".to_owned()
    } else {
        format!("{module}::worker_entry_point_delivers_due_rows")
    }
}

#[tokio::test]
async fn a_worker_process_killed_mid_delivery_is_taken_over_with_the_same_key() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    // The first delivery hangs, so the child is killed while it is in flight.
    receiver.script([Answer::Hang(Duration::from_mins(1))]);
    let key = enqueue(&outbox, "task_k", &receiver.url("/h")).await;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &child_test_name(),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB_ENV, db.url())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let first = receiver.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(first.len(), 1, "the child process started delivering");
    let in_flight = wait_for_state(
        &outbox,
        "task_k",
        DeliveryState::InFlight,
        Duration::from_secs(1),
    )
    .await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(in_flight.attempts, 1);
    // The survivor takes the row over once the dead worker's 4 s lease lapses.
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("survivor"),
    );
    let row = wait_for_state(
        &outbox,
        "task_k",
        DeliveryState::Delivered,
        Duration::from_secs(15),
    )
    .await;
    worker.stop().await;
    let got = receiver.received();
    assert_eq!(got.len(), 2, "one retry of the same logical webhook");
    assert!(got.iter().all(|r| r.idempotency_key() == key));
    assert_eq!(row.attempts, 2);
    let attempts = outbox.attempts(row.id).await.unwrap();
    assert_eq!(
        attempts.len(),
        1,
        "the killed worker never settled its attempt"
    );
    assert_eq!(attempts[0].worker, "survivor");
}

#[tokio::test]
async fn a_lease_not_longer_than_the_request_timeout_is_refused() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    // 3 s request timeout: a row's lease must outlast one attempt by more than a second.
    let refused = outbox
        .run_worker(
            loopback_sender(None),
            OutboxWorkerConfig {
                lease: Duration::from_secs(4),
                ..worker_config("w")
            },
            CancellationToken::new(),
        )
        .await;
    assert!(
        matches!(refused, Err(adcp_webhooks::WebhookError::InvalidConfig(_))),
        "{refused:?}"
    );
    // Leases are per row, so the batch size and concurrency no longer lengthen them.
    let stopped = CancellationToken::new();
    stopped.cancel();
    let accepted = outbox
        .run_worker(
            loopback_sender(None),
            OutboxWorkerConfig {
                lease: Duration::from_secs(5),
                batch_size: 64,
                concurrency: 16,
                ..worker_config("w")
            },
            stopped,
        )
        .await;
    assert!(accepted.is_ok(), "{accepted:?}");
}

/// Seconds from enqueue to delivery of every delivered row whose task id starts with `prefix`.
async fn delivery_seconds(outbox: &PgOutbox, prefix: &str) -> Vec<(String, f64)> {
    sqlx::query_as(
        "SELECT task_id, extract(epoch FROM delivered_at - created_at)::float8 \
         FROM adcp_webhook_outbox WHERE state = 'delivered' AND task_id LIKE $1 || '%' ORDER BY id",
    )
    .bind(prefix)
    .fetch_all(outbox.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn hung_receivers_do_not_delay_other_receivers_webhooks() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    // A sender that really waits for the hung receivers (20 s and more), so they hold slots.
    let sender = WebhookSender::new(
        adcp_webhooks::SenderConfig {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(25),
            policy: adcp_webhooks::ssrf::SsrfPolicy::strict().allow_loopback(),
            ..adcp_webhooks::SenderConfig::default()
        },
        Some(test_signer()),
    )
    .unwrap();
    // 12 slots and 4 rows per hung host: without a per-host limit the hung receivers would take
    // every slot; with a limit of 2 they hold 6.
    let config = OutboxWorkerConfig {
        concurrency: 12,
        per_host_concurrency: 2,
        lease: Duration::from_secs(30),
        ..worker_config("fair")
    };
    let worker = Worker::spawn(&outbox, sender, config);
    let mut hung = Vec::new();
    for h in 0..3 {
        let receiver = Receiver::start().await;
        receiver.script(std::iter::repeat_n(
            Answer::HangUntilReleased(Duration::from_mins(1)),
            4,
        ));
        for i in 0..4 {
            enqueue(&outbox, &format!("hung_{h}_{i}"), &receiver.url("/slow")).await;
        }
        hung.push(receiver);
    }
    for receiver in &hung {
        assert_eq!(
            receiver.wait_for(2, Duration::from_secs(10)).await.len(),
            2,
            "each hung receiver holds its host's two slots"
        );
    }
    let healthy: Vec<Receiver> = futures::future::join_all((0..4).map(|_| Receiver::start())).await;
    for i in 0..40 {
        let receiver = &healthy[i % healthy.len()];
        enqueue(&outbox, &format!("healthy_{i:02}"), &receiver.url("/fast")).await;
    }
    // Wait for the terminal state of every healthy row, then judge each one's delay.
    let until = tokio::time::Instant::now() + Duration::from_secs(15);
    let delivered = loop {
        let delivered = delivery_seconds(&outbox, "healthy_").await;
        if delivered.len() == 40 || tokio::time::Instant::now() > until {
            break delivered;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(delivered.len(), 40, "every healthy webhook was delivered");
    for (task_id, seconds) in &delivered {
        assert!(
            *seconds < 1.0,
            "{task_id} took {seconds:.3} s from enqueue to delivery"
        );
    }
    for receiver in &hung {
        assert_eq!(
            receiver.received().len(),
            2,
            "no third slot for a hung host"
        );
    }
    // Graceful stop: the hung attempts in flight finish (released now) and are settled before
    // the worker returns; nothing is left in flight.
    for receiver in &hung {
        receiver.release();
    }
    worker.stop().await;
    let states: Vec<(String, String)> = sqlx::query_as(
        "SELECT task_id, state FROM adcp_webhook_outbox WHERE task_id LIKE 'hung_%' ORDER BY id",
    )
    .fetch_all(outbox.pool())
    .await
    .unwrap();
    assert_eq!(states.len(), 12);
    let delivered_hung = states.iter().filter(|(_, s)| s == "delivered").count();
    assert!(delivered_hung >= 6, "{states:?}");
    assert!(
        states
            .iter()
            .all(|(_, s)| s == "delivered" || s == "pending"),
        "a stopped worker leaves nothing in flight: {states:?}"
    );
}

#[tokio::test]
async fn stopping_a_worker_finishes_and_settles_attempts_in_flight() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let receiver = Receiver::start().await;
    receiver.script([Answer::Hang(Duration::from_millis(700))]);
    let key = enqueue(&outbox, "task_s", &receiver.url("/h")).await;
    let worker = Worker::spawn(
        &outbox,
        loopback_sender(Some(test_signer())),
        worker_config("w"),
    );
    assert_eq!(receiver.wait_for(1, Duration::from_secs(10)).await.len(), 1);
    // Stop while the attempt is in flight: the worker returns only once it is settled.
    worker.stop().await;
    let rows = outbox.deliveries_for_task("task_s").await.unwrap();
    assert_eq!(rows[0].state, DeliveryState::Delivered, "{:?}", rows[0]);
    assert_eq!(rows[0].idempotency_key, key);
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(outbox.attempts(rows[0].id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_failing_host_is_paused_by_its_circuit_breaker_and_others_still_flow() {
    let db = adcp_pg_harness::fresh_database().await;
    let outbox = outbox_on(db.url()).await;
    let failing = Receiver::start().await;
    failing.script(std::iter::repeat_n(Answer::Status(503), 100));
    let config = OutboxWorkerConfig {
        per_host_concurrency: 1,
        breaker: adcp_webhooks::BreakerPolicy {
            failure_threshold: 2,
            open_for: Duration::from_mins(1),
        },
        retry: RetryPolicy {
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..RetryPolicy::default()
        },
        ..worker_config("w")
    };
    let worker = Worker::spawn(&outbox, loopback_sender(Some(test_signer())), config);
    enqueue(&outbox, "task_f", &failing.url("/h")).await;
    assert_eq!(failing.wait_for(2, Duration::from_secs(10)).await.len(), 2);
    // The failing row is due again at once, and older than the next one, yet the open circuit
    // keeps it out of every claim while another receiver's webhook is delivered.
    let healthy = Receiver::start().await;
    enqueue(&outbox, "task_ok", &healthy.url("/h")).await;
    wait_for_state(
        &outbox,
        "task_ok",
        DeliveryState::Delivered,
        Duration::from_secs(10),
    )
    .await;
    worker.stop().await;
    assert_eq!(failing.received().len(), 2, "paused after two failures");
    let row = &outbox.deliveries_for_task("task_f").await.unwrap()[0];
    assert_eq!(row.state, DeliveryState::Pending);
    assert_eq!(row.attempts, 2);
}
