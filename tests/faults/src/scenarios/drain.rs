//! SIGTERM: an in-memory seller drains (exit 0, every webhook delivered before it exits), and
//! a PostgreSQL rolling restart (B up, A stopped with tasks in flight) loses and repeats
//! nothing.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    Ctx, deliveries, expect_alive, expect_outbox_settled, poll_to_end, secs, status_counts,
    submit_briefs, wait_all_delivered,
};
use crate::client::{self, Mcp};
use crate::error::Result;
use crate::process::{Demo, DemoOptions, stop_report};
use crate::receiver::{Mode, Receiver};
use crate::report::{Findings, tally};

const TASKS: usize = 20;

/// Waits (up to 2 s) until `GET /ready` answers 503: the drain has begun.
async fn wait_draining(demo: &Demo) -> Result<bool> {
    let http = client::http_client(Duration::from_secs(2))?;
    let url = format!("http://{}/ready", demo.addr());
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        if let Ok(response) = http.get(&url).send().await
            && response.status().as_u16() == 503
        {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(false)
}

/// Checks the drain's promises on a stopping `demo`: new calls refused, polling answered.
async fn check_drain(demo: &Demo, mcp: &Mcp, task_id: &str, findings: &mut Findings) -> Result<()> {
    if !wait_draining(demo).await? {
        findings.fail("GET /ready never answered 503 after SIGTERM");
        return Ok(());
    }
    match mcp.task_status(task_id).await {
        Ok(status) => findings.note(format!("polled during the drain: {status}")),
        Err(error) => findings.fail(format!("polling during the drain failed: {error}")),
    }
    if let Ok(task) = mcp.submit_brief(9_999, "http://127.0.0.1:9/never").await {
        findings.fail(format!(
            "new work was accepted during the drain (task {task})"
        ));
    }
    Ok(())
}

/// In-memory: 20 tasks running, SIGTERM; exit 0, every webhook acknowledged before the exit,
/// and the stop report says none undelivered.
pub(crate) async fn sigterm_in_memory(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let receiver = Receiver::start(Mode::Ok).await?;
    let options = DemoOptions::new(None, Duration::from_millis(1500));
    let mut demo = ctx.start("5-drain-memory", &options).await?;
    let mcp = Mcp::new(demo.url())?;
    let tasks = submit_briefs(&mcp, 0, TASKS, |n| receiver.url(&format!("drain/{n}"))).await?;
    demo.sigterm()?;
    let signalled = Instant::now();
    check_drain(&demo, &mcp, &tasks[0], &mut findings).await?;
    match demo.wait_exit(deadline).await {
        Some(status) => {
            findings.note(format!(
                "exited {status} {} after SIGTERM",
                secs(signalled.elapsed())
            ));
            findings.check(status.success(), format!("the drain exited {status}"));
        }
        None => findings.fail("the process did not exit within the bound"),
    }
    // Counted at the exit: whatever was not acknowledged by then is lost.
    findings.count(tally(&tasks, &receiver.deliveries()));
    match stop_report(&demo.stdout()) {
        Some((finished, failed, undelivered)) => {
            findings.note(format!(
                "stop report: {finished} finished, {failed} failed on shutdown, {undelivered} undelivered"
            ));
            findings.check(
                undelivered == 0,
                format!("{undelivered} webhooks undelivered at exit"),
            );
        }
        None => findings.fail("no `stopped:` report on stdout"),
    }
    Ok(findings)
}

/// PostgreSQL rolling restart: A has 20 tasks in flight, B starts on the same database, A gets
/// SIGTERM; every webhook exactly once (sent by A before it exits, or by B).
pub(crate) async fn rolling_restart_pg(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let db = ctx.database().await?;
    let receiver = Receiver::start(Mode::Ok).await?;
    let options = DemoOptions::new(Some(db.url()), Duration::from_secs(2));
    let mut old = ctx.start("6-rolling-a", &options).await?;
    let mcp_old = Mcp::new(old.url())?;
    let tasks = submit_briefs(&mcp_old, 0, TASKS, |n| {
        receiver.url(&format!("rolling/{n}"))
    })
    .await?;
    let mut new = ctx.start("6-rolling-b", &options).await?;
    old.sigterm()?;
    let signalled = Instant::now();
    check_drain(&old, &mcp_old, &tasks[0], &mut findings).await?;
    match old.wait_exit(deadline).await {
        Some(status) => {
            findings.note(format!(
                "A exited {status} {} after SIGTERM",
                secs(signalled.elapsed())
            ));
            findings.check(status.success(), format!("A's drain exited {status}"));
        }
        None => findings.fail("A did not exit within the bound"),
    }
    if let Some((finished, failed, undelivered)) = stop_report(&old.stdout()) {
        findings.note(format!(
            "A's stop report: {finished} finished, {failed} failed on shutdown, {undelivered} undelivered (left to B)"
        ));
    } else {
        findings.fail("A printed no `stopped:` report");
    }
    let statuses = poll_to_end(&Mcp::new(new.url())?, &tasks, deadline).await?;
    findings.note(format!("polled through B: {}", status_counts(&statuses)));
    let receivers = [receiver];
    wait_all_delivered(&receivers, &tasks, deadline).await;
    expect_outbox_settled(db.pool(), deadline, &mut findings).await?;
    findings.count(tally(&tasks, &deliveries(&receivers)));
    expect_alive(&mut findings, &mut [&mut new]);
    Ok(findings)
}
