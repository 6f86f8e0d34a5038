//! The in-memory task registry at scale (`cargo xtask bench`, release): 100,000 pending tasks
//! shaped as the server issues them for a buyer's brief (a push config with credentials, the
//! buyer's `context`, a progress report), held in an `InMemoryTaskRegistry`; prints the
//! resident memory they add (VmRSS from `/proc/self/status`, so allocator overhead counts) and
//! the issue and read rates, as JSON.

use std::time::Instant;

use adcp_tasks::{InMemoryConfig, InMemoryTaskRegistry, NewTask, TaskKind, TaskProgress};
use adcp_tasks::{TaskRegistry, TaskScope};
use adcp_types::AdcpProtocol;
use serde_json::json;

/// The allocator the demo seller runs with.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// How many pending tasks are held (`BENCH_TASKS` overrides).
fn tasks() -> usize {
    std::env::var("BENCH_TASKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000)
}

/// The process's resident memory in KiB.
fn rss_kib() -> BenchResult<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| "no VmRSS in /proc/self/status".into())
}

#[allow(clippy::cast_precision_loss)]
#[tokio::main(flavor = "current_thread")]
async fn main() -> BenchResult<()> {
    let count = tasks();
    let registry = InMemoryTaskRegistry::with_config(InMemoryConfig::default().max_tasks(count));
    let scope = TaskScope::new("acc_bench", "api_key:bench")?;
    let kind = TaskKind::new("get_products")?;
    let progress = TaskProgress::new().percentage(50.0).steps(1, 2).to_value();
    let before = rss_kib()?;
    let at = Instant::now();
    let mut ids = Vec::with_capacity(count);
    for i in 0..count {
        let task = NewTask::new(scope.clone(), kind.clone(), AdcpProtocol::MediaBuy)
            .with_webhook(json!({
                "url": format!("https://buyer.example/adcp/webhooks/{i:06}"),
                "operation_id": format!("op-{i:06}"),
                "authentication": { "schemes": ["Bearer"], "credentials": "c2VjcmV0LXRva2VuLWZvci10aGUtYmVuY2gtMDAwMDAw" },
            }))
            .with_request_context(json!({ "correlation_id": format!("brief-{i:06}") }));
        let record = registry.issue(task).await?;
        registry
            .update_progress(&record.task_id, progress.clone())
            .await?;
        ids.push(record.task_id);
    }
    let issue_secs = at.elapsed().as_secs_f64();
    let after = rss_kib()?;
    let at = Instant::now();
    for id in ids.iter().step_by(10) {
        if registry.get(&scope, id).await?.is_none() {
            return Err(format!("{id} is missing").into());
        }
    }
    let reads = ids.len().div_ceil(10);
    let read_secs = at.elapsed().as_secs_f64();
    let grown_mb = after.saturating_sub(before) as f64 / 1024.0;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "benchmark": "InMemoryTaskRegistry: pending tasks with a push config, context and progress",
            "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
            "tasks": count,
            "rss_mb_added": (grown_mb * 10.0).round() / 10.0,
            "bytes_per_task": (grown_mb * 1024.0 * 1024.0 / count as f64).round(),
            "issue_and_progress_per_sec": (count as f64 / issue_secs).round(),
            "get_per_sec": (reads as f64 / read_secs).round(),
        }))?
    );
    Ok(())
}
