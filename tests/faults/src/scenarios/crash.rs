//! kill -9 of a PostgreSQL-backed seller, then a new process on the same database: during the
//! handoff (tasks running) and during webhook delivery (attempts in flight).

use std::time::Duration;

use tokio::time::Instant;

use super::{
    Ctx, deliveries, expect_alive, expect_outbox_settled, poll_to_end, secs, status_counts,
    submit_briefs, wait_all_delivered,
};
use crate::client::{Mcp, is_terminal};
use crate::error::Result;
use crate::process::DemoOptions;
use crate::receiver::{Mode, Receiver};
use crate::report::{Findings, tally};

const HANDOFF_TASKS: usize = 30;
const DELIVERY_TASKS: usize = 30;

/// 30 briefs whose curation outlasts the process; kill -9; a new process's reaper fails them
/// as retryable once their lease lapses, and every one gets its webhook.
pub(crate) async fn kill_during_handoff(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(true);
    let db = ctx.database().await?;
    let receiver = Receiver::start(Mode::Ok).await?;
    let options = DemoOptions::new(Some(db.url()), Duration::from_mins(1));
    let mut first = ctx.start("1-handoff-a", &options).await?;
    let tasks = submit_briefs(&Mcp::new(first.url())?, 0, HANDOFF_TASKS, |n| {
        receiver.url(&format!("handoff/{n}"))
    })
    .await?;
    first.kill9()?;
    let killed = Instant::now();
    let mut second = ctx.start("1-handoff-b", &options).await?;
    let mcp = Mcp::new(second.url())?;
    let statuses = poll_to_end(&mcp, &tasks, deadline).await?;
    let ended = statuses.values().filter(|s| is_terminal(s)).count();
    findings.check(
        ended == tasks.len(),
        format!(
            "{} of {} tasks never ended",
            tasks.len() - ended,
            tasks.len()
        ),
    );
    findings.note(format!(
        "task statuses after the restart: {}",
        status_counts(&statuses)
    ));
    wait_all_delivered(std::slice::from_ref(&receiver), &tasks, deadline).await;
    findings.note(format!(
        "every task ended and was reported {} after the kill",
        secs(killed.elapsed())
    ));
    expect_outbox_settled(db.pool(), deadline, &mut findings).await?;
    findings.count(tally(&tasks, &receiver.deliveries()));
    expect_alive(&mut findings, &mut [&mut second]);
    Ok(findings)
}

/// Webhooks to slow receivers (2 s per answer), kill -9 with attempts in flight, restart:
/// the new process re-attempts the killed worker's rows after their lease; every webhook
/// arrives, re-sends keep their key.
pub(crate) async fn kill_during_delivery(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(true);
    let db = ctx.database().await?;
    let slow = Mode::Delay(Duration::from_secs(2));
    let receivers = [Receiver::start(slow).await?, Receiver::start(slow).await?];
    let options = DemoOptions::new(Some(db.url()), Duration::from_millis(300));
    let mut first = ctx.start("2-delivery-a", &options).await?;
    let tasks = submit_briefs(&Mcp::new(first.url())?, 0, DELIVERY_TASKS, |n| {
        receivers[n % 2].url(&format!("delivery/{n}"))
    })
    .await?;
    // Kill once attempts are in flight at both receivers.
    let in_flight = |r: &Receiver| {
        r.deliveries()
            .iter()
            .filter(|d| d.answered.is_none())
            .count()
    };
    let wait_for_flight = Instant::now() + Duration::from_secs(10);
    for receiver in &receivers {
        receiver
            .wait_until(wait_for_flight, |d| d.iter().any(|x| x.answered.is_none()))
            .await;
    }
    let held: usize = receivers.iter().map(in_flight).sum();
    let acknowledged: usize = receivers
        .iter()
        .map(|r| r.deliveries().iter().filter(|d| d.acknowledged()).count())
        .sum();
    first.kill9()?;
    let killed = Instant::now();
    findings.note(format!(
        "killed with {held} attempts in flight and {acknowledged} acknowledged"
    ));
    findings.check(held > 0, "no attempt was in flight at the kill");
    let mut second = ctx.start("2-delivery-b", &options).await?;
    wait_all_delivered(&receivers, &tasks, deadline).await;
    findings.note(format!(
        "every webhook acknowledged {} after the kill",
        secs(killed.elapsed())
    ));
    expect_outbox_settled(db.pool(), deadline, &mut findings).await?;
    findings.count(tally(&tasks, &deliveries(&receivers)));
    expect_alive(&mut findings, &mut [&mut second]);
    Ok(findings)
}
