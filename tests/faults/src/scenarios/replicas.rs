//! Two replicas booting together on an empty database (the migrations race), sharing tasks:
//! each polled through the other replica, each webhook exactly once.

use std::time::Duration;

use tokio::time::Instant;

use super::{
    Ctx, deliveries, expect_alive, expect_outbox_settled, poll_to_end, status_counts,
    submit_briefs, wait_all_delivered,
};
use crate::client::Mcp;
use crate::error::Result;
use crate::process::DemoOptions;
use crate::receiver::{Mode, Receiver};
use crate::report::{Findings, tally};

const BOOTS: usize = 3;
const TASKS_EACH: usize = 10;

/// Boots pairs of replicas at the same instant on empty databases (three times: the race is
/// timing-dependent), then shares tasks between the last pair.
pub(crate) async fn boot_together(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let receiver = Receiver::start(Mode::Ok).await?;
    let options_for = |url: &str| DemoOptions::new(Some(url), Duration::from_millis(500));
    let mut pair = None;
    for boot in 0..BOOTS {
        let db = ctx.database().await?;
        let options = options_for(db.url());
        let (name_a, name_b) = (format!("4-replica-a{boot}"), format!("4-replica-b{boot}"));
        let (a, b) = tokio::join!(ctx.start(&name_a, &options), ctx.start(&name_b, &options));
        match (a, b) {
            (Ok(a), Ok(b)) => pair = Some((db, a, b)),
            (a, b) => {
                for failed in [a.err(), b.err()].into_iter().flatten() {
                    findings.fail(format!("boot {boot}: a replica did not start: {failed}"));
                }
                return Ok(findings);
            }
        }
    }
    findings.note(format!("{BOOTS} pairs booted together on empty databases"));
    let Some((db, mut a, mut b)) = pair else {
        return Ok(findings);
    };
    let (mcp_a, mcp_b) = (Mcp::new(a.url())?, Mcp::new(b.url())?);
    let push = |n: usize| receiver.url(&format!("replicas/{n}"));
    let on_a = submit_briefs(&mcp_a, 0, TASKS_EACH, push).await?;
    let on_b = submit_briefs(&mcp_b, TASKS_EACH, TASKS_EACH, push).await?;
    // Each replica answers for the other's tasks.
    let mut statuses = poll_to_end(&mcp_b, &on_a, deadline).await?;
    statuses.extend(poll_to_end(&mcp_a, &on_b, deadline).await?);
    let completed = statuses.values().filter(|s| *s == "completed").count();
    findings.check(
        completed == 2 * TASKS_EACH,
        format!(
            "polled through the other replica: {}",
            status_counts(&statuses)
        ),
    );
    let tasks: Vec<String> = on_a.into_iter().chain(on_b).collect();
    let receivers = [receiver];
    wait_all_delivered(&receivers, &tasks, deadline).await;
    expect_outbox_settled(db.pool(), deadline, &mut findings).await?;
    findings.count(tally(&tasks, &deliveries(&receivers)));
    expect_alive(&mut findings, &mut [&mut a, &mut b]);
    Ok(findings)
}
