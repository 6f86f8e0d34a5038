//! Benchmark: deliveries per second from the PostgreSQL outbox to a loopback receiver with two
//! workers while a hung receiver is present (it accepts connections and never answers; its
//! rows are enqueued first, so its attempts hold their slots from the start), and enqueue →
//! delivered latency when the workers are idle. Prints one JSON object.
//!
//! `cargo run -p adcp-webhooks --features postgres --example bench_outbox [-- <rows> <samples> <hung rows>]`
//! Uses `DATABASE_URL` when set, otherwise the workspace's throwaway PostgreSQL harness.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use adcp_webhooks::outbox::{OutboxWorkerConfig, PgOutbox};
use adcp_webhooks::payload::new_idempotency_key;
use adcp_webhooks::signing::{SignatureAlgorithm, WebhookSigner, WebhookSigningKey};
use adcp_webhooks::ssrf::SsrfPolicy;
use adcp_webhooks::{
    NewDelivery, SenderConfig, WebhookAuth, WebhookSender, payload::PreparedPayload,
};
use axum::http::StatusCode;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Lets `?` work on every error type without an error-handling crate.
type BenchResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Receiver {
    count: AtomicU64,
    arrivals: mpsc::UnboundedSender<Instant>,
}

async fn start_receiver() -> (String, Arc<Receiver>, mpsc::UnboundedReceiver<Instant>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(Receiver {
        count: AtomicU64::new(0),
        arrivals: tx,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let shared = Arc::clone(&state);
    let app = axum::Router::new().fallback(move || {
        let shared = Arc::clone(&shared);
        async move {
            shared.count.fetch_add(1, Ordering::Relaxed);
            let _ = shared.arrivals.send(Instant::now());
            StatusCode::NO_CONTENT
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (format!("http://{addr}/hook?route=bench"), state, rx)
}

/// A receiver that accepts every connection and never reads or answers: each attempt to it
/// hangs until the sender's request timeout. Returns its URL and how many connections it holds.
async fn start_hung_receiver() -> BenchResult<(String, Arc<AtomicU64>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let held = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&held);
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::Relaxed);
            open.push(stream);
        }
    });
    Ok((format!("http://{addr}/hook?route=hung"), held))
}

fn delivery(url: &str, i: usize) -> NewDelivery {
    let idempotency_key = new_idempotency_key();
    let body = serde_json::to_vec(&serde_json::json!({
        "idempotency_key": idempotency_key,
        "operation_id": format!("op_{i}"),
        "task_id": format!("task_{i}"),
        "task_type": "get_products",
        "protocol": "media-buy",
        "status": "completed",
        "timestamp": chrono::Utc::now().to_rfc3339(),
        "result": {"products": []},
    }))
    .expect("serialize");
    NewDelivery {
        dedupe_key: format!("bench:{idempotency_key}"),
        url: url.to_owned(),
        auth: WebhookAuth::Rfc9421,
        payload: PreparedPayload {
            idempotency_key,
            body,
        },
        task_id: format!("task_{i}"),
        task_type: "get_products".into(),
        operation_id: Some(format!("op_{i}")),
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

/// Enqueues `rows` deliveries, 1,000 per transaction.
async fn fill(outbox: &PgOutbox, url: &str, rows: usize) -> BenchResult {
    let mut tx = outbox.pool().begin().await?;
    for i in 0..rows {
        outbox.enqueue_in(&mut tx, &delivery(url, i)).await?;
        if i % 1000 == 999 {
            tx.commit().await?;
            tx = outbox.pool().begin().await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Waits until the receiver has seen `rows` requests and the outbox marks them delivered;
/// returns both elapsed times and the delivered count.
async fn drain(
    outbox: &PgOutbox,
    receiver: &Receiver,
    rows: usize,
    started: Instant,
) -> BenchResult<(Duration, Duration, i64)> {
    let target = u64::try_from(rows)?;
    while receiver.count.load(Ordering::Relaxed) < target {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let received_all = started.elapsed();
    loop {
        let delivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM adcp_webhook_outbox WHERE state = 'delivered'",
        )
        .fetch_one(outbox.pool())
        .await?;
        if delivered >= i64::try_from(rows)? {
            return Ok((received_all, started.elapsed(), delivered));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Enqueues one row at a time while the workers are idle; returns sorted latencies in ms.
async fn idle_latencies(
    outbox: &PgOutbox,
    url: &str,
    arrivals: &mut mpsc::UnboundedReceiver<Instant>,
    first_index: usize,
    samples: usize,
) -> BenchResult<Vec<f64>> {
    while arrivals.try_recv().is_ok() {}
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let enqueued = Instant::now();
        let mut conn = outbox.pool().acquire().await?;
        outbox
            .enqueue_in(&mut conn, &delivery(url, first_index + i))
            .await?;
        drop(conn);
        let arrived = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
            .await?
            .ok_or("receiver stopped")?;
        latencies.push(arrived.duration_since(enqueued).as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

fn signing_cost_us(signer: &WebhookSigner, url: &str) -> BenchResult<f64> {
    let started = Instant::now();
    for _ in 0..200 {
        signer.sign(url, b"{\"idempotency_key\":\"whk_bench\"}")?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / 200.0)
}

#[tokio::main]
async fn main() -> BenchResult {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let samples: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let hung_rows: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);

    let db = adcp_pg_harness::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(16)
        .connect(db.url())
        .await?;
    let outbox = PgOutbox::new(pool);
    outbox.migrate().await?;
    let (url, receiver, mut arrivals) = start_receiver().await;
    let (hung_url, hung_connections) = start_hung_receiver().await?;
    let signer = WebhookSigner::new(WebhookSigningKey::generate(
        "bench-2026",
        SignatureAlgorithm::Ed25519,
    ));
    let sign_us = signing_cost_us(&signer, &url)?;
    let sender_config = SenderConfig {
        policy: SsrfPolicy::strict().allow_loopback(),
        max_idle_per_host: 256,
        // The hung receiver's attempts end here (and the workers' stop waits for them).
        request_timeout: Duration::from_secs(5),
        ..SenderConfig::default()
    };
    let sender = WebhookSender::new(sender_config, Some(signer))?;

    // The hung receiver's rows first: they are claimed first, and each attempt hangs until the
    // request timeout (then retries after a backoff), holding its slot.
    fill(&outbox, &hung_url, hung_rows).await?;
    fill(&outbox, &url, rows).await?;
    let stop = CancellationToken::new();
    let started = Instant::now();
    let mut workers = Vec::new();
    for name in ["bench-a", "bench-b"] {
        let config = OutboxWorkerConfig {
            worker_id: name.to_owned(),
            batch_size: 128,
            // 128 slots for the healthy receiver beside the hung one's rows.
            concurrency: 128 + hung_rows,
            // Every healthy row goes to the one loopback receiver: measure throughput.
            per_host_concurrency: 128,
            poll_interval: Duration::from_millis(500),
            ..OutboxWorkerConfig::default()
        };
        let (outbox, sender, token) = (outbox.clone(), sender.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            outbox.run_worker(sender, config, token).await
        }));
    }
    let (received_all, settled_all, delivered) = drain(&outbox, &receiver, rows, started).await?;
    let duplicates = receiver.count.load(Ordering::Relaxed) - u64::try_from(rows)?;
    let latencies = idle_latencies(&outbox, &url, &mut arrivals, rows, samples).await?;
    stop.cancel();
    for worker in workers {
        worker.await??;
    }

    #[allow(clippy::cast_precision_loss)]
    let report = serde_json::json!({
        "benchmark": "adcp-webhooks pg outbox -> loopback receiver, a hung receiver present",
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "workers": 2,
        "rows": rows,
        "hung_receiver": {
            "rows": hung_rows,
            "connections_accepted": hung_connections.load(Ordering::Relaxed),
            "request_timeout_s": 5,
        },
        "delivered": delivered,
        "duplicate_requests": duplicates,
        "seconds_until_all_received": received_all.as_secs_f64(),
        "deliveries_per_sec": rows as f64 / received_all.as_secs_f64(),
        "deliveries_per_sec_settled": rows as f64 / settled_all.as_secs_f64(),
        "idle_enqueue_to_delivered_ms": {
            "samples": samples,
            "p50": percentile(&latencies, 0.5),
            "p95": percentile(&latencies, 0.95),
            "max": latencies.last().copied().unwrap_or(f64::NAN),
        },
        "signing": "ed25519 RFC 9421 per attempt",
        "sign_us_per_attempt": sign_us,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
