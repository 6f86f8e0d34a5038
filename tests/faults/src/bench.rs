//! `adcp-faults --bench`: the release demo seller measured as the process a seller runs, with
//! in-memory stores (`cargo xtask bench` prints the JSON this returns). Resident memory comes
//! from `/proc/<pid>/status` (VmRSS, VmHWM), so it counts everything the process holds: heap,
//! allocator retention, stacks and the binary's touched pages.
//!
//! - `rss_mb`: once the demo serves, before any call (`start`); after the load below, and the
//!   most it held through it; and, on a process of its own, after the first call of every tool
//!   `first_calls` makes.
//! - `first_calls`: each tool's first call after start, then its second, timed from this
//!   process (loopback HTTP included), with the RSS after it. The framework's own tools
//!   (`get_adcp_capabilities`, `list_tasks`, `get_task_status`) are marked.
//! - `load`: synchronous `get_products` at concurrency 16 for `--load-secs`: calls/s, p50.
//! - `pending_tasks`: briefs with a push config the demo hands off (its curation outlasts the
//!   bench): RSS per pending task, end to end (registry, runtime, the demo's own future).
//! - `sessions`: in session mode (caps raised for the count), 10,000 sessions opened and left
//!   idle: RSS per session right after, and once all of them went dormant; then 200 of them
//!   called again (each wakes, and must answer) with the time of that first call. And 2,000
//!   `initialize` requests against the stateless demo: RSS per request.
//! - `log_cost`: the same load against a demo at the default level (`info`) and one with logging
//!   off, in turn: the demo's CPU time per call (and the throughput) at each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::client::{self, INITIALIZE, Mcp, TOKEN};
use crate::error::{Error, Result};
use crate::process::{Demo, DemoOptions};
use crate::scenarios::Ctx;

/// How many tasks the pending-task phase leaves waiting.
const PENDING_TASKS: usize = 10_000;
/// How many `initialize` requests the stateless session phase sends.
const SESSIONS: usize = 2_000;
/// How many sessions the held-session phase opens and leaves idle.
const HELD_SESSIONS: usize = 10_000;
/// How long a held session sits unused before that demo releases its worker (its flag).
const DORMANT_AFTER: Duration = Duration::from_secs(1);
/// How many of the idle sessions the wake-up phase calls again, one at a time.
const WOKEN: usize = 200;
/// The held-session demo's cap on sessions holding a worker. Workers freed by dormancy stay
/// in the allocator's pages for a while (mimalloc returns them lazily), so the RSS of idle
/// sessions carries the cap's high-water mark (about 77 KB per worker): a cap of 100 keeps it
/// small beside what 10,000 dormant sessions hold.
const ACTIVE_CAP: usize = 100;
/// Concurrency of the load, the task submissions and the session opening.
const CONCURRENCY: usize = 16;
/// The curation the bench's demos run with: no handed-off task finishes during the bench.
const NEVER: Duration = Duration::from_hours(1);

/// Runs every phase and returns the JSON document.
pub(crate) async fn run(ctx: &Ctx, load_secs: u64) -> Result<Value> {
    let load_for = Duration::from_secs(load_secs.max(1));
    // First calls on a process of their own, so each really is the first.
    let fresh = start(ctx, "bench-first-calls", DemoOptions::new(None, NEVER)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let first_calls = first_calls(&fresh, &Mcp::new(fresh.url())?).await?;
    let after_first_kib = rss(&fresh)?;
    drop(fresh);

    let demo = start(ctx, "bench", DemoOptions::new(None, NEVER)).await?;
    let mcp = Mcp::new(demo.url())?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let start_kib = rss(&demo)?;
    let load = load(demo.url(), load_for).await?;
    let after_load_kib = rss(&demo)?;
    let peak_kib = demo
        .peak_rss_kib()
        .ok_or_else(|| Error::Unexpected("no VmHWM for the demo".into()))?;

    let pending = pending_tasks(&demo, &mcp).await?;
    let stateless_sessions = sessions(&demo).await?;
    drop(demo);

    let mut options = DemoOptions::new(None, NEVER);
    options.stateless = false;
    let options = options
        .with("--max-sessions", &(HELD_SESSIONS * 2).to_string())
        .with(
            "--max-sessions-per-principal",
            &(HELD_SESSIONS * 2).to_string(),
        )
        .with(
            "--session-dormant-after-ms",
            &DORMANT_AFTER.as_millis().to_string(),
        )
        .with("--max-active-sessions", &ACTIVE_CAP.to_string());
    let held = start(ctx, "bench-sessions", options).await?;
    let held_sessions = held_sessions(&held).await?;
    drop(held);

    let log_cost = log_cost(ctx, load_for).await?;
    Ok(json!({
        "benchmark": "the release demo seller as a process (in-memory stores, strict validation on)",
        "rss_mb": {
            "start": mb(start_kib),
            "after_load": mb(after_load_kib),
            "peak_through_load": mb(peak_kib),
            "after_first_call_of_every_tool": mb(after_first_kib),
        },
        "first_calls": first_calls,
        "load": load.to_json(),
        "pending_tasks": pending,
        "sessions": { "held": held_sessions, "stateless": stateless_sessions },
        "log_cost": log_cost,
    }))
}

async fn start(ctx: &Ctx, name: &str, options: DemoOptions) -> Result<Demo> {
    Demo::start(&ctx.demo, &ctx.logs, name, &options).await
}

fn rss(demo: &Demo) -> Result<u64> {
    demo.rss_kib()
        .ok_or_else(|| Error::Unexpected("no VmRSS for the demo".into()))
}

#[allow(clippy::cast_precision_loss)]
fn mb(kib: u64) -> f64 {
    (kib as f64 / 1024.0 * 10.0).round() / 10.0
}

fn ms(elapsed: Duration) -> f64 {
    (elapsed.as_secs_f64() * 1e5).round() / 100.0
}

/// Each tool's first and second call, in the order a buyer's session makes them.
async fn first_calls(demo: &Demo, mcp: &Mcp) -> Result<Value> {
    let account = client::account();
    let brief = |n: u32| {
        json!({
            "buying_mode": "brief", "brief": "first-call brief", "account": account,
            "push_notification_config": {
                "url": "http://127.0.0.1:9/never", "operation_id": format!("op-first-{n}") },
        })
    };
    let mut out = Vec::new();
    let mut record = |tool: &str, framework: bool, first: Duration, second: Duration| {
        let rss_mb_after = mb(rss(demo)?);
        out.push(json!({
            "tool": tool, "framework": framework, "first_ms": ms(first),
            "second_ms": ms(second), "rss_mb_after": rss_mb_after,
        }));
        Ok::<_, Error>(())
    };
    for (tool, arguments) in [
        ("get_adcp_capabilities", json!({})),
        ("list_tasks", json!({ "account": account })),
    ] {
        let (first, second) = twice(mcp, tool, &arguments).await?;
        record(tool, true, first, second)?;
    }
    // A brief with a push config: the handoff (request validation, the async arm).
    let at = Instant::now();
    let task = mcp.call("get_products", brief(1)).await?;
    let first = at.elapsed();
    let task_id = task.body["task_id"]
        .as_str()
        .ok_or_else(|| Error::Unexpected(format!("the brief was not handed off: {}", task.body)))?
        .to_owned();
    let at = Instant::now();
    expect_ok("get_products", &mcp.call("get_products", brief(2)).await?)?;
    record("get_products (handoff)", false, first, at.elapsed())?;
    let status = json!({ "task_id": task_id, "account": account });
    let (first, second) = twice(mcp, "get_task_status", &status).await?;
    record("get_task_status", true, first, second)?;
    for (tool, arguments) in [
        (
            "get_products",
            json!({ "buying_mode": "wholesale", "account": account }),
        ),
        (
            "get_signals",
            json!({ "signal_spec": "outdoor enthusiasts", "account": account }),
        ),
        ("list_creative_formats", json!({})),
    ] {
        let (first, second) = twice(mcp, tool, &arguments).await?;
        record(tool, false, first, second)?;
    }
    Ok(Value::Array(out))
}

/// Calls `tool` twice; how long each call took. An error reply fails the bench: a refused call
/// would time the refusal, not the tool.
async fn twice(mcp: &Mcp, tool: &str, arguments: &Value) -> Result<(Duration, Duration)> {
    let at = Instant::now();
    expect_ok(tool, &mcp.call(tool, arguments.clone()).await?)?;
    let first = at.elapsed();
    let at = Instant::now();
    expect_ok(tool, &mcp.call(tool, arguments.clone()).await?)?;
    Ok((first, at.elapsed()))
}

fn expect_ok(tool: &str, reply: &client::ToolReply) -> Result<()> {
    if reply.is_error {
        return Err(Error::Unexpected(format!("{tool} failed: {}", reply.body)));
    }
    Ok(())
}

/// What a load run measured.
struct Load {
    calls: u64,
    secs: f64,
    p50_ms: f64,
}

impl Load {
    #[allow(clippy::cast_precision_loss)]
    fn per_sec(&self) -> f64 {
        self.calls as f64 / self.secs
    }

    fn to_json(&self) -> Value {
        json!({
            "concurrency": CONCURRENCY, "seconds": self.secs, "calls": self.calls,
            "calls_per_sec": self.per_sec().round(), "p50_ms": self.p50_ms,
        })
    }
}

/// Synchronous wholesale `get_products` from `CONCURRENCY` keep-alive clients for `run`.
async fn load(url: &str, run: Duration) -> Result<Load> {
    let http = client::http_client(Duration::from_secs(10))?;
    let body: Arc<str> = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": { "name": "get_products", "arguments": {
            "buying_mode": "wholesale", "account": client::account() } },
    })
    .to_string()
    .into();
    let calls = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, url, body, calls) = (
            http.clone(),
            url.to_owned(),
            Arc::clone(&body),
            Arc::clone(&calls),
        );
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while started.elapsed() < run {
                let at = Instant::now();
                let (status, reply) =
                    client::post(&http, &url, body.to_string(), Some(TOKEN)).await?;
                if status != 200 || reply.get("result").is_none() {
                    return Err(Error::Unexpected(format!(
                        "load call failed: HTTP {status}"
                    )));
                }
                latencies.push(at.elapsed().as_secs_f64() * 1000.0);
                calls.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, Error>(latencies)
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(
            worker
                .await
                .map_err(|e| Error::Unexpected(e.to_string()))??,
        );
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    Ok(Load {
        calls: calls.load(Ordering::Relaxed),
        secs: (secs * 100.0).round() / 100.0,
        p50_ms: all
            .get(all.len() / 2)
            .map_or(0.0, |v| (v * 1000.0).round() / 1000.0),
    })
}

/// Runs `count` copies of `job(i)` with `CONCURRENCY` at a time; the first error stops it.
async fn fan_out<F, Fut>(count: usize, job: F) -> Result<()>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    use futures::StreamExt as _;
    let mut results = futures::stream::iter(0..count)
        .map(job)
        .buffer_unordered(CONCURRENCY);
    while let Some(result) = results.next().await {
        result?;
    }
    Ok(())
}

/// RSS per handed-off task still waiting on its curation.
#[allow(clippy::cast_precision_loss)]
async fn pending_tasks(demo: &Demo, mcp: &Mcp) -> Result<Value> {
    let before = rss(demo)?;
    let at = Instant::now();
    fan_out(PENDING_TASKS, |n| async move {
        mcp.submit_brief(n, "http://127.0.0.1:9/never")
            .await
            .map(drop)
    })
    .await?;
    let secs = at.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rss(demo)?;
    Ok(json!({
        "tasks": PENDING_TASKS,
        "submitted_per_sec": (PENDING_TASKS as f64 / secs).round(),
        "rss_mb_before": mb(before), "rss_mb_after": mb(after),
        "kb_per_task": per_item_kb(before, after, PENDING_TASKS),
    }))
}

/// RSS per `initialize` (a held session, or nothing in stateless mode).
async fn sessions(demo: &Demo) -> Result<Value> {
    let http = client::http_client(Duration::from_secs(10))?;
    let before = rss(demo)?;
    fan_out(SESSIONS, |_| {
        let http = http.clone();
        async move {
            let (status, _) =
                client::post(&http, demo.url(), INITIALIZE.to_owned(), Some(TOKEN)).await?;
            if status == 200 {
                Ok(())
            } else {
                Err(Error::Unexpected(format!("initialize: HTTP {status}")))
            }
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rss(demo)?;
    Ok(json!({
        "initialize_requests": SESSIONS,
        "rss_mb_before": mb(before), "rss_mb_after": mb(after),
        "kb_per_session": per_item_kb(before, after, SESSIONS),
    }))
}

/// Session mode: `HELD_SESSIONS` sessions opened as a buyer without an event stream opens them
/// (`initialize`, then `initialized`), the RSS right after (at most the demo's cap of active
/// workers, the rest already dormant) and once all of them sat unused past `DORMANT_AFTER`;
/// then `WOKEN` of them called again, each call restoring its session: every one must answer,
/// and the time of those first calls is reported.
async fn held_sessions(demo: &Demo) -> Result<Value> {
    let http = client::http_client(Duration::from_secs(10))?;
    let before = rss(demo)?;
    let opened = std::sync::Mutex::new(Vec::with_capacity(HELD_SESSIONS));
    fan_out(HELD_SESSIONS, |_| {
        let (http, opened) = (http.clone(), &opened);
        async move {
            let id = client::open_session(&http, demo.url(), TOKEN).await?;
            opened
                .lock()
                .map_err(|_| Error::Unexpected("session list poisoned".into()))?
                .push(id);
            Ok(())
        }
    })
    .await?;
    let ids = opened
        .into_inner()
        .map_err(|_| Error::Unexpected("session list poisoned".into()))?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after_open = rss(demo)?;
    // The sweeper looks every half `DORMANT_AFTER`: every session is asleep within 1.5 × it.
    tokio::time::sleep(DORMANT_AFTER * 3).await;
    let idle = rss(demo)?;
    let mut wake_ms = Vec::with_capacity(WOKEN);
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "get_adcp_capabilities", "arguments": {}}})
    .to_string();
    for id in ids.iter().step_by((ids.len() / WOKEN).max(1)).take(WOKEN) {
        let at = Instant::now();
        let (status, reply) =
            client::post_in_session(&http, demo.url(), call.clone(), TOKEN, id).await?;
        wake_ms.push(at.elapsed().as_secs_f64() * 1e3);
        if status != 200 || reply["result"]["isError"] != json!(false) {
            return Err(Error::Unexpected(format!(
                "an idle session did not answer on waking: HTTP {status} {reply}"
            )));
        }
    }
    wake_ms.sort_by(f64::total_cmp);
    let after_waking = rss(demo)?;
    Ok(json!({
        "sessions": ids.len(),
        "max_active_sessions": ACTIVE_CAP,
        "dormant_after_ms": DORMANT_AFTER.as_millis(),
        "rss_mb_before": mb(before),
        "rss_mb_after_open": mb(after_open),
        "rss_mb_idle": mb(idle),
        "kb_per_session_after_open": per_item_kb(before, after_open, ids.len()),
        "kb_per_idle_session": per_item_kb(before, idle, ids.len()),
        "woken": wake_ms.len(),
        "wake_ms_p50": wake_ms.get(wake_ms.len() / 2).copied().unwrap_or_default(),
        "rss_mb_after_waking": mb(after_waking),
    }))
}

#[allow(clippy::cast_precision_loss)]
fn per_item_kb(before: u64, after: u64, items: usize) -> f64 {
    let grown = after.saturating_sub(before) as f64;
    (grown / items as f64 * 100.0).round() / 100.0
}

/// The default log level (`info`) against logging off. Two demos at a time, one per level,
/// loaded in turn (info, off, off, info); then two fresh ones started in the other order, the
/// same again: a process's own speed (its memory layout, which starts first) does not decide
/// the result. Throughput on a two-core machine shared with the load generator swings by
/// several percent from round to round, so the cost is read from the demos' own CPU time per
/// call (user and system time from /proc), which the load generator does not disturb; the
/// throughput ratio is reported beside it.
async fn log_cost(ctx: &Ctx, run: Duration) -> Result<Value> {
    let round = (run / 8).max(Duration::from_secs(2));
    let (mut info, mut off) = (Tally::default(), Tally::default());
    for pair in 0..2 {
        let mut quiet = DemoOptions::new(None, NEVER);
        "off".clone_into(&mut quiet.rust_log);
        let (logged, silent) = if pair == 0 {
            let logged = start(ctx, "bench-log-info", DemoOptions::new(None, NEVER)).await?;
            (logged, start(ctx, "bench-log-off", quiet).await?)
        } else {
            let silent = start(ctx, "bench-log-off-2", quiet).await?;
            let logged = start(ctx, "bench-log-info-2", DemoOptions::new(None, NEVER)).await?;
            (logged, silent)
        };
        for logged_first in [true, false] {
            let order = if logged_first {
                [(&logged, true), (&silent, false)]
            } else {
                [(&silent, false), (&logged, true)]
            };
            for (demo, is_logged) in order {
                let cpu_before = demo.cpu_ns();
                let load = load(demo.url(), round).await?;
                let cpu = cpu_before
                    .zip(demo.cpu_ns())
                    .map(|(a, b)| b.saturating_sub(a));
                let tally = if is_logged { &mut info } else { &mut off };
                tally.add(&load, cpu);
            }
        }
    }
    let (info_us, off_us) = (info.cpu_us_per_call(), off.cpu_us_per_call());
    Ok(json!({
        "seconds_per_round": round.as_secs_f64(), "processes_each": 2, "rounds_each": 4,
        "rounds_with_cpu_time": { "info": info.cpu_rounds, "off": off.cpu_rounds },
        "order": "info, off (started in that order): info, off, off, info; then off, info (started in that order): info, off, off, info",
        "calls_per_sec_info": info.per_sec().round(),
        "calls_per_sec_off": off.per_sec().round(),
        "throughput_cost_percent": percent(1.0 - info.per_sec() / off.per_sec()),
        "cpu_us_per_call_info": info_us.map(|us| (us * 100.0).round() / 100.0),
        "cpu_us_per_call_off": off_us.map(|us| (us * 100.0).round() / 100.0),
        "cost_percent": info_us.zip(off_us).map(|(info, off)| percent(info / off - 1.0)),
    }))
}

/// A ratio as a percentage with one decimal.
fn percent(ratio: f64) -> f64 {
    (ratio * 1000.0).round() / 10.0
}

/// Calls, seconds and the demo's CPU time summed over load rounds.
#[derive(Default)]
struct Tally {
    calls: u64,
    secs: f64,
    cpu_ns: Option<u64>,
    cpu_calls: u64,
    cpu_rounds: u32,
}

impl Tally {
    fn add(&mut self, load: &Load, cpu_ns: Option<u64>) {
        self.calls += load.calls;
        self.secs += load.secs;
        if let Some(ns) = cpu_ns {
            *self.cpu_ns.get_or_insert(0) += ns;
            self.cpu_calls += load.calls;
            self.cpu_rounds += 1;
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn per_sec(&self) -> f64 {
        self.calls as f64 / self.secs.max(f64::EPSILON)
    }

    #[allow(clippy::cast_precision_loss)]
    fn cpu_us_per_call(&self) -> Option<f64> {
        let ns = self.cpu_ns?;
        (self.cpu_calls > 0).then(|| ns as f64 / 1000.0 / self.cpu_calls as f64)
    }
}
