//! Hung receivers beside healthy ones: three receivers hold every request for 20 s while four
//! healthy ones wait for 40 webhooks. Each healthy webhook must arrive within 1 s of becoming
//! due (its outbox row's creation), whatever the hung receivers hold.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use tokio::time::Instant;

use super::{
    Ctx, deliveries, expect_alive, expect_outbox_settled, secs, submit_briefs, wait_all_delivered,
};
use crate::client::Mcp;
use crate::error::Result;
use crate::process::DemoOptions;
use crate::receiver::{Mode, Receiver};
use crate::report::{Findings, tally};

const HUNG: usize = 3;
const HUNG_TASKS_EACH: usize = 10;
const HEALTHY: usize = 4;
const HEALTHY_TASKS: usize = 40;
const HANG: Duration = Duration::from_secs(20);
const DUE_BOUND: Duration = Duration::from_secs(1);

/// 30 webhooks to hung receivers are made due first, then 40 to healthy ones.
pub(crate) async fn hung_beside_healthy(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let db = ctx.database().await?;
    let mut hung = Vec::new();
    for _ in 0..HUNG {
        hung.push(Receiver::start(Mode::Hang(HANG)).await?);
    }
    let mut healthy = Vec::new();
    for _ in 0..HEALTHY {
        healthy.push(Receiver::start(Mode::Ok).await?);
    }
    let options = DemoOptions::new(Some(db.url()), Duration::from_millis(300));
    let mut demo = ctx.start("9-hung-receivers", &options).await?;
    let mcp = Mcp::new(demo.url())?;
    let hung_tasks = submit_briefs(&mcp, 0, HUNG * HUNG_TASKS_EACH, |n| {
        hung[n % HUNG].url(&format!("hung/{n}"))
    })
    .await?;
    // The hung receivers' rows become due first and are being attempted.
    let wait_hung = Instant::now() + Duration::from_secs(5);
    for receiver in &hung {
        receiver.wait_until(wait_hung, |d| !d.is_empty()).await;
    }
    let healthy_tasks = submit_briefs(&mcp, 1_000, HEALTHY_TASKS, |n| {
        healthy[n % HEALTHY].url(&format!("healthy/{n}"))
    })
    .await?;
    let healthy_done = wait_all_delivered(&healthy, &healthy_tasks, deadline).await;
    findings.check(
        healthy_done,
        "not every healthy webhook arrived within the bound",
    );

    // Lateness of each healthy webhook: first arrival minus its row's creation (due) time.
    let due: BTreeMap<String, f64> = sqlx::query_as::<_, (String, f64)>(
        "SELECT idempotency_key, extract(epoch FROM created_at)::float8 FROM adcp_webhook_outbox",
    )
    .fetch_all(db.pool())
    .await?
    .into_iter()
    .collect();
    let mut first_arrival: BTreeMap<String, f64> = BTreeMap::new();
    for delivery in deliveries(&healthy) {
        let at = delivery
            .arrived
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        first_arrival
            .entry(delivery.idempotency_key)
            .and_modify(|t| *t = t.min(at))
            .or_insert(at);
    }
    let lateness: Vec<f64> = first_arrival
        .iter()
        .filter_map(|(key, arrived)| due.get(key).map(|due| arrived - due))
        .collect();
    let worst = lateness.iter().copied().fold(0.0_f64, f64::max);
    let late = lateness
        .iter()
        .filter(|l| **l > DUE_BOUND.as_secs_f64())
        .count();
    findings.note(format!(
        "healthy webhooks: {} measured, worst {worst:.3} s after due, {late} later than {}",
        lateness.len(),
        secs(DUE_BOUND)
    ));
    findings.check(
        late == 0,
        format!(
            "{late} healthy webhooks arrived more than {} after due (worst {worst:.1} s)",
            secs(DUE_BOUND)
        ),
    );
    let held = deliveries(&hung).len();
    findings.note(format!(
        "{held} attempts reached the hung receivers meanwhile"
    ));

    // The hung receivers recover; their webhooks must arrive too.
    for receiver in &hung {
        receiver.set_mode(Mode::Ok);
    }
    let recovered = Instant::now();
    let tasks: Vec<String> = hung_tasks.into_iter().chain(healthy_tasks).collect();
    let mut receivers = hung;
    receivers.extend(healthy);
    wait_all_delivered(&receivers, &tasks, deadline).await;
    findings.note(format!(
        "the hung receivers' webhooks arrived {} after they recovered",
        secs(recovered.elapsed())
    ));
    expect_outbox_settled(db.pool(), deadline, &mut findings).await?;
    findings.count(tally(&tasks, &deliveries(&receivers)));
    expect_alive(&mut findings, &mut [&mut demo]);
    Ok(findings)
}
