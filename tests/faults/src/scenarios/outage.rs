//! A receiver outage of about five seconds: down (connections refused) with the PostgreSQL
//! outbox, answering 503 with the in-memory supervisor. Every webhook arrives once it is back.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    Ctx, deliveries, expect_alive, expect_outbox_settled, poll_to_end, secs, status_counts,
    submit_briefs, wait_all_delivered,
};
use crate::client::Mcp;
use crate::error::Result;
use crate::process::DemoOptions;
use crate::receiver::{Mode, Receiver};
use crate::report::{Findings, tally};

const TASKS: usize = 20;
const OUTAGE: Duration = Duration::from_secs(5);

/// PostgreSQL: the receiver's port refuses connections for 5 s while the tasks finish.
pub(crate) async fn receiver_down_pg(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let db = ctx.database().await?;
    let mut receiver = Receiver::start(Mode::Ok).await?;
    receiver.down().await;
    let outage_ends = Instant::now() + OUTAGE;
    let options = DemoOptions::new(Some(db.url()), Duration::from_millis(200));
    let mut demo = ctx.start("3a-outage-pg", &options).await?;
    let mcp = Mcp::new(demo.url())?;
    let tasks = submit_briefs(&mcp, 0, TASKS, |n| receiver.url(&format!("outage/{n}"))).await?;
    let statuses = poll_to_end(&mcp, &tasks, outage_ends).await?;
    findings.note(format!("during the outage: {}", status_counts(&statuses)));
    // The outage is a fixed window: the receiver stays down for all of it.
    tokio::time::sleep_until(outage_ends).await;
    receiver.up().await?;
    let back = Instant::now();
    let receivers = [receiver];
    wait_all_delivered(&receivers, &tasks, deadline).await;
    findings.note(format!(
        "every webhook acknowledged {} after the receiver came back",
        secs(back.elapsed())
    ));
    expect_outbox_settled(db.pool(), deadline, &mut findings).await?;
    findings.count(tally(&tasks, &deliveries(&receivers)));
    expect_alive(&mut findings, &mut [&mut demo]);
    Ok(findings)
}

/// In-memory: the receiver answers 503 for 5 s.
pub(crate) async fn receiver_503_in_memory(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let receiver = Receiver::start(Mode::Status(503)).await?;
    let outage_ends = Instant::now() + OUTAGE;
    let options = DemoOptions::new(None, Duration::from_millis(200));
    let mut demo = ctx.start("3b-outage-memory", &options).await?;
    let mcp = Mcp::new(demo.url())?;
    let tasks = submit_briefs(&mcp, 0, TASKS, |n| receiver.url(&format!("outage/{n}"))).await?;
    tokio::time::sleep_until(outage_ends).await;
    let refused = receiver
        .deliveries()
        .iter()
        .filter(|d| d.answered == Some(503))
        .count();
    receiver.set_mode(Mode::Ok);
    let back = Instant::now();
    findings.note(format!("{refused} attempts answered 503 during the outage"));
    let receivers = [receiver];
    wait_all_delivered(&receivers, &tasks, deadline).await;
    findings.note(format!(
        "every webhook acknowledged {} after the receiver came back",
        secs(back.elapsed())
    ));
    findings.count(tally(&tasks, &deliveries(&receivers)));
    expect_alive(&mut findings, &mut [&mut demo]);
    Ok(findings)
}
