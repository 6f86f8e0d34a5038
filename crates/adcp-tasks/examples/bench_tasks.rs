//! Benchmarks of the task runtime, printed as one JSON object:
//!
//! - `handoff_overhead_us`: the time from calling `handoff_to_task(..).start(..)` to holding the
//!   submitted answer, per store (percentiles over sequential calls);
//! - `postgres_completed_tasks_per_sec`: handoffs issued concurrently and run to their terminal
//!   write on PostgreSQL;
//! - `memory_rss_per_pending_task_bytes`: resident memory per pending in-memory task at 100,000
//!   pending tasks, measured in a fresh child process each (registry rows alone, and full
//!   handoffs with their parked futures).
//!
//! Run: `cargo run --release -p adcp-tasks --features postgres --example bench_tasks`.
//! PostgreSQL comes from `DATABASE_URL` or the workspace's throwaway test cluster.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use adcp_tasks::pg::PgTaskRegistry;
use adcp_tasks::{
    HandoffHooks, InMemoryConfig, InMemoryTaskRegistry, NewTask, RequestContext, TaskRecord,
    TaskRegistry, TaskRuntime, TaskScope, TerminalCallback,
};
use adcp_types::{AdcpError, AdcpProtocol, TaskType};
use async_trait::async_trait;
use serde_json::{Value, json};
use tokio::sync::Notify;

const OVERHEAD_CALLS: u32 = 2_000;
const THROUGHPUT_TASKS: u32 = 5_000;
const PENDING_TASKS: u32 = 100_000;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn scope() -> TaskScope {
    TaskScope::new("acct_bench", "api_key:bench").expect("a valid scope")
}

fn request(runtime: &TaskRuntime) -> RequestContext {
    RequestContext::new(
        runtime,
        scope(),
        TaskType::GetProducts.into(),
        AdcpProtocol::MediaBuy,
    )
}

/// Counts terminal callbacks and wakes a waiter at a target.
#[derive(Debug)]
struct Counter {
    done: AtomicUsize,
    target: usize,
    reached: Notify,
}

#[async_trait]
impl TerminalCallback for Counter {
    async fn on_terminal(&self, _task: &TaskRecord) {
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.target {
            self.reached.notify_one();
        }
    }
}

async fn handoff_overhead(registry: Arc<dyn TaskRegistry>) -> Result<Value, BoxError> {
    let runtime = TaskRuntime::builder(registry).build()?;
    let mut micros = Vec::new();
    for _ in 0..OVERHEAD_CALLS {
        let started = Instant::now();
        let submitted = request(&runtime)
            .handoff_to_task(|_ctx| async move { Ok::<_, AdcpError>(json!({"products": []})) })
            .start(HandoffHooks::new())
            .await?;
        std::hint::black_box(submitted.to_value());
        micros.push(started.elapsed().as_secs_f64() * 1e6);
    }
    runtime.shutdown(Duration::from_secs(30)).await;
    micros.sort_by(f64::total_cmp);
    let at = |percent: usize| micros[(micros.len() - 1) * percent / 100];
    let mean = micros.iter().sum::<f64>() / f64::from(OVERHEAD_CALLS);
    Ok(
        json!({ "calls": OVERHEAD_CALLS, "mean": round(mean), "p50": round(at(50)), "p99": round(at(99)) }),
    )
}

async fn postgres_throughput(pool: sqlx::PgPool) -> Result<Value, BoxError> {
    let registry = PgTaskRegistry::builder(pool)
        .table_prefix("throughput_")
        .build()?;
    registry.migrate().await?;
    let target = usize::try_from(THROUGHPUT_TASKS)?;
    let counter = Arc::new(Counter {
        done: AtomicUsize::new(0),
        target,
        reached: Notify::new(),
    });
    let runtime = Arc::new(
        TaskRuntime::builder(Arc::new(registry))
            .terminal_callback(counter.clone())
            .build()?,
    );
    let started = Instant::now();
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..THROUGHPUT_TASKS {
        let runtime = Arc::clone(&runtime);
        starts.spawn(async move {
            request(&runtime)
                .handoff_to_task(|_ctx| async move { Ok::<_, AdcpError>(json!({"products": []})) })
                .start(HandoffHooks::new())
                .await
                .map(|_| ())
        });
    }
    while let Some(outcome) = starts.join_next().await {
        outcome??;
    }
    tokio::time::timeout(Duration::from_mins(5), counter.reached.notified()).await?;
    let seconds = started.elapsed().as_secs_f64();
    runtime.shutdown(Duration::from_secs(30)).await;
    Ok(
        json!({ "tasks": THROUGHPUT_TASKS, "seconds": round(seconds), "per_sec": round(f64::from(THROUGHPUT_TASKS) / seconds) }),
    )
}

fn rss_bytes() -> Result<u64, BoxError> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .ok_or("no VmRSS in /proc/self/status")?;
    Ok(kb * 1024)
}

/// Child process: `PENDING_TASKS` pending tasks; prints the RSS growth in bytes.
async fn rss_child(handoffs: bool) -> Result<(), BoxError> {
    let config = InMemoryConfig::default().max_tasks(usize::try_from(PENDING_TASKS)? * 2);
    let registry = Arc::new(InMemoryTaskRegistry::with_config(config));
    let runtime = TaskRuntime::builder(registry.clone()).build()?;
    let before = rss_bytes()?;
    for _ in 0..PENDING_TASKS {
        if handoffs {
            request(&runtime)
                .handoff_to_task(|_ctx| async move {
                    std::future::pending::<()>().await;
                    Ok::<_, AdcpError>(json!({}))
                })
                .start(HandoffHooks::new())
                .await?;
        } else {
            let task = NewTask::new(
                scope(),
                TaskType::GetProducts.into(),
                AdcpProtocol::MediaBuy,
            );
            registry.issue(task).await?;
        }
    }
    let after = rss_bytes()?;
    println!("{}", after.saturating_sub(before));
    Ok(())
}

fn measure_in_child(mode: &str) -> Result<Value, BoxError> {
    let output = Command::new(std::env::current_exe()?).arg(mode).output()?;
    if !output.status.success() {
        return Err(format!(
            "{mode} child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let grown: u64 = String::from_utf8(output.stdout)?.trim().parse()?;
    Ok(json!({
        "pending_tasks": PENDING_TASKS,
        "rss_growth_mb": round(f64::from(u32::try_from(grown / 1024)?) / 1024.0),
        "bytes_per_task": grown / u64::from(PENDING_TASKS),
    }))
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    match std::env::args().nth(1).as_deref() {
        Some("rss-registry") => return rss_child(false).await,
        Some("rss-handoff") => return rss_child(true).await,
        _ => {}
    }
    let database = adcp_pg_harness::fresh_database().await;
    let pg = PgTaskRegistry::builder(database.pool().clone()).build()?;
    pg.migrate().await?;
    let memory_overhead = handoff_overhead(Arc::new(InMemoryTaskRegistry::new())).await?;
    let pg_overhead = handoff_overhead(Arc::new(pg)).await?;
    let throughput = postgres_throughput(database.pool().clone()).await?;
    let report = json!({
        "handoff_overhead_us": { "memory": memory_overhead, "postgres": pg_overhead },
        "postgres_completed_tasks_per_sec": throughput,
        "memory_rss_per_pending_task_bytes": {
            "registry_only": measure_in_child("rss-registry")?,
            "handoff": measure_in_child("rss-handoff")?,
            "target": "100,000 pending tasks under 200 MB RSS",
        },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
