//! The scenarios, and what they share: a context (the demo binary, a log folder, fresh
//! databases), submitting briefs, polling tasks to an end, and waiting for the outbox to settle.

mod crash;
mod drain;
mod fairness;
mod floods;
mod outage;
mod replicas;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use adcp_pg_harness::TestDatabase;
use futures::future::LocalBoxFuture;
use futures::{StreamExt as _, TryStreamExt as _};
use sqlx::PgPool;
use tokio::time::Instant;

use crate::client::{Mcp, is_terminal};
use crate::error::Result;
use crate::process::{Demo, DemoOptions};
use crate::receiver::{Delivery, Receiver};
use crate::report::{Findings, all_delivered};

/// What every scenario runs with.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The release demo seller binary.
    pub(crate) demo: PathBuf,
    /// Where each process's logs go.
    pub(crate) logs: PathBuf,
}

impl Ctx {
    /// A fresh, empty database of its own.
    pub(crate) async fn database(&self) -> Result<TestDatabase> {
        Ok(adcp_pg_harness::try_fresh_database().await?)
    }

    /// Starts a demo process named `name` (its log is `<logs>/<name>.log`).
    pub(crate) async fn start(&self, name: &str, options: &DemoOptions) -> Result<Demo> {
        Demo::start(&self.demo, &self.logs, name, options).await
    }
}

/// A scenario: runs until it has its findings or its deadline passes.
pub(crate) type ScenarioFn = for<'a> fn(&'a Ctx, Instant) -> LocalBoxFuture<'a, Result<Findings>>;

/// One entry of the suite.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scenario {
    /// The table's name for it.
    pub(crate) name: &'static str,
    /// Its time bound: it fails when it has not finished by then.
    pub(crate) bound: Duration,
    /// The scenario.
    pub(crate) run: ScenarioFn,
}

/// Every scenario, in the order the suite runs them.
pub(crate) fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "1 kill -9 during handoff (pg)",
            bound: Duration::from_secs(30),
            run: |ctx, deadline| Box::pin(crash::kill_during_handoff(ctx, deadline)),
        },
        Scenario {
            name: "2 kill -9 during delivery (pg)",
            bound: Duration::from_secs(40),
            run: |ctx, deadline| Box::pin(crash::kill_during_delivery(ctx, deadline)),
        },
        Scenario {
            name: "3a receiver down 5 s (pg)",
            bound: Duration::from_secs(30),
            run: |ctx, deadline| Box::pin(outage::receiver_down_pg(ctx, deadline)),
        },
        Scenario {
            name: "3b receiver 503 for 5 s (in-memory)",
            bound: Duration::from_secs(30),
            run: |ctx, deadline| Box::pin(outage::receiver_503_in_memory(ctx, deadline)),
        },
        Scenario {
            name: "4 two replicas boot on an empty db (pg)",
            bound: Duration::from_secs(40),
            run: |ctx, deadline| Box::pin(replicas::boot_together(ctx, deadline)),
        },
        Scenario {
            name: "5 SIGTERM drain (in-memory)",
            bound: Duration::from_secs(25),
            run: |ctx, deadline| Box::pin(drain::sigterm_in_memory(ctx, deadline)),
        },
        Scenario {
            name: "6 SIGTERM rolling restart (pg)",
            bound: Duration::from_secs(30),
            run: |ctx, deadline| Box::pin(drain::rolling_restart_pg(ctx, deadline)),
        },
        Scenario {
            name: "7 idle-connection flood",
            bound: Duration::from_secs(25),
            run: |ctx, deadline| Box::pin(floods::idle_connections(ctx, deadline)),
        },
        Scenario {
            name: "8 session flood",
            bound: Duration::from_secs(45),
            run: |ctx, deadline| Box::pin(floods::sessions(ctx, deadline)),
        },
        Scenario {
            name: "9 hung receivers beside healthy (pg)",
            bound: Duration::from_secs(45),
            run: |ctx, deadline| Box::pin(fairness::hung_beside_healthy(ctx, deadline)),
        },
    ]
}

/// Submits `count` briefs numbered from `first`, 8 at a time, each with the push URL
/// `push_url(n)`; their task ids in order.
pub(crate) async fn submit_briefs(
    mcp: &Mcp,
    first: usize,
    count: usize,
    push_url: impl Fn(usize) -> String,
) -> Result<Vec<String>> {
    futures::stream::iter(first..first + count)
        .map(|n| {
            let url = push_url(n);
            async move { mcp.submit_brief(n, &url).await }
        })
        .buffered(8)
        .try_collect()
        .await
}

/// Polls every task (through `mcp`) until all are terminal or `deadline` passes; the last
/// status seen of each.
pub(crate) async fn poll_to_end(
    mcp: &Mcp,
    task_ids: &[String],
    deadline: Instant,
) -> Result<BTreeMap<String, String>> {
    let mut statuses: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let open: Vec<&String> = task_ids
            .iter()
            .filter(|id| !statuses.get(*id).is_some_and(|s| is_terminal(s)))
            .collect();
        if open.is_empty() || Instant::now() >= deadline {
            return Ok(statuses);
        }
        let polled: Vec<(String, String)> = futures::stream::iter(open)
            .map(|id| async move {
                Ok::<_, crate::error::Error>((id.clone(), mcp.task_status(id).await?))
            })
            .buffered(8)
            .try_collect()
            .await?;
        statuses.extend(polled);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Counts statuses: `completed=3 failed=2`.
pub(crate) fn status_counts(statuses: &BTreeMap<String, String>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for status in statuses.values() {
        *counts.entry(status.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s}={n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Outbox rows not yet delivered: (pending or in flight, dead).
pub(crate) async fn outbox_unsettled(pool: &PgPool) -> Result<(i64, i64)> {
    let (open, dead): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state IN ('pending', 'in_flight')), \
                count(*) FILTER (WHERE state = 'dead') \
         FROM adcp_webhook_outbox",
    )
    .fetch_one(pool)
    .await?;
    Ok((open, dead))
}

/// Waits until every outbox row is delivered (none pending, in flight or dead) or `deadline`
/// passes; records a failure when it is not. Only then are duplicate counts final: a delivered
/// row is never sent again.
pub(crate) async fn expect_outbox_settled(
    pool: &PgPool,
    deadline: Instant,
    findings: &mut Findings,
) -> Result<()> {
    loop {
        let (open, dead) = outbox_unsettled(pool).await?;
        if open == 0 && dead == 0 {
            return Ok(());
        }
        if dead > 0 || Instant::now() >= deadline {
            findings.fail(format!(
                "the outbox did not settle: {open} rows pending or in flight, {dead} dead"
            ));
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Records a crash of any of `demos` that should still run.
pub(crate) fn expect_alive(findings: &mut Findings, demos: &mut [&mut Demo]) {
    for demo in demos {
        if let Err(crash) = demo.check_alive() {
            findings.fail(crash);
        }
    }
}

/// Every delivery at any of `receivers`.
pub(crate) fn deliveries(receivers: &[Receiver]) -> Vec<Delivery> {
    receivers.iter().flat_map(Receiver::deliveries).collect()
}

/// Waits until every task has an acknowledged terminal webhook at one of `receivers`, or
/// `deadline` passes; whether they all have.
pub(crate) async fn wait_all_delivered(
    receivers: &[Receiver],
    task_ids: &[String],
    deadline: Instant,
) -> bool {
    loop {
        if all_delivered(task_ids, &deliveries(receivers)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seconds with one decimal, for notes.
pub(crate) fn secs(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}
