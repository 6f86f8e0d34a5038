//! Floods: idle TCP connections past the connection cap, and `initialize` requests without
//! credentials and past the session caps. The server stays up, answers real callers, and its
//! memory stays bounded.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::json;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::{Ctx, expect_alive, secs};
use crate::client::{self, INITIALIZE, Mcp, TOKEN};
use crate::error::Result;
use crate::process::DemoOptions;
use crate::report::Findings;

const IDLE_CONNECTIONS: usize = 1_100;
/// A normal call must succeed within this long of the flood being in place.
const CALL_BOUND: Duration = Duration::from_secs(3);
const ANONYMOUS_INITIALIZES: usize = 3_000;
const ONE_PRINCIPAL_INITIALIZES: usize = 64;
const PER_PRINCIPAL_CAP: usize = 16;
const DISTINCT_PRINCIPALS: usize = 1_100;
const MAX_SESSIONS: usize = 1_000;
/// The most resident memory the seller may hold after the session flood.
const RSS_BOUND_KIB: u64 = 256 * 1024;

/// 1,100 idle connections (past the 768 cap); the header-read timeout (2 s) frees them, so a
/// real call succeeds within 3 s, retrying the cap's 503s.
pub(crate) async fn idle_connections(ctx: &Ctx, deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let options = DemoOptions::new(None, Duration::from_millis(200))
        .with("--header-read-timeout-secs", "2")
        .with("--max-connections", "768");
    let mut demo = ctx.start("7-idle-flood", &options).await?;
    let addr = demo.addr().to_owned();
    let mut idle = Vec::with_capacity(IDLE_CONNECTIONS);
    let mut refused = 0_usize;
    let opened = futures::stream::iter(0..IDLE_CONNECTIONS)
        .map(|_| TcpStream::connect(addr.clone()))
        .buffer_unordered(64)
        .collect::<Vec<_>>()
        .await;
    for stream in opened {
        match stream {
            Ok(stream) => idle.push(stream),
            Err(_) => refused += 1,
        }
    }
    let flooded = Instant::now();
    findings.note(format!(
        "{} idle connections open ({refused} refused at connect); the server holds {} open files",
        idle.len(),
        demo.open_files()
            .map_or_else(|| "?".to_owned(), |n| n.to_string())
    ));
    let mcp = Mcp::new(demo.url())?;
    let mut attempts = 0_usize;
    let mut succeeded = None;
    while Instant::now() < deadline && flooded.elapsed() < CALL_BOUND * 2 {
        attempts += 1;
        match mcp.call("get_adcp_capabilities", json!({})).await {
            Ok(reply) if !reply.is_error => {
                succeeded = Some(flooded.elapsed());
                break;
            }
            // 503 past the cap (transient): retry.
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    match succeeded {
        Some(took) => {
            findings.note(format!(
                "a normal call succeeded {} into the flood ({attempts} attempts)",
                secs(took)
            ));
            findings.check(
                took <= CALL_BOUND,
                format!(
                    "a normal call took {} (bound {})",
                    secs(took),
                    secs(CALL_BOUND)
                ),
            );
        }
        None => findings.fail(format!(
            "no normal call succeeded within {} of the flood",
            secs(CALL_BOUND * 2)
        )),
    }
    drop(idle);
    if let Some(rss) = demo.rss_kib() {
        findings.note(format!("RSS after the flood: {} MiB", rss / 1024));
    }
    expect_alive(&mut findings, &mut [&mut demo]);
    Ok(findings)
}

/// Counts of the HTTP statuses `count` POSTs of `initialize` got, with `token(i)`.
async fn initialize_flood(
    http: &reqwest::Client,
    url: &str,
    count: usize,
    token: impl Fn(usize) -> Option<String>,
) -> std::collections::BTreeMap<String, usize> {
    let statuses = futures::stream::iter(0..count)
        .map(|i| {
            let token = token(i);
            async move {
                match client::post(http, url, INITIALIZE.to_owned(), token.as_deref()).await {
                    Ok((status, _)) => status.to_string(),
                    Err(_) => "error".to_owned(),
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await;
    let mut counts = std::collections::BTreeMap::new();
    for status in statuses {
        *counts.entry(status).or_default() += 1;
    }
    counts
}

fn count(counts: &std::collections::BTreeMap<String, usize>, status: &str) -> usize {
    counts.get(status).copied().unwrap_or(0)
}

/// Sessions mode: 3,000 anonymous `initialize` POSTs all get 401; one principal past its cap
/// of 16 gets 429; 1,100 principals past the 1,000-session cap get 503; RSS stays bounded.
pub(crate) async fn sessions(ctx: &Ctx, _deadline: Instant) -> Result<Findings> {
    let mut findings = Findings::new(false);
    let mut options = DemoOptions::new(None, Duration::from_millis(200))
        .with("--max-sessions", &MAX_SESSIONS.to_string())
        .with(
            "--max-sessions-per-principal",
            &PER_PRINCIPAL_CAP.to_string(),
        );
    options.stateless = false;
    let mut demo = ctx.start("8-session-flood", &options).await?;
    let url = demo.url().to_owned();
    let http = client::http_client(Duration::from_secs(10))?;
    let rss_before = demo.rss_kib().unwrap_or(0);

    let anonymous = initialize_flood(&http, &url, ANONYMOUS_INITIALIZES, |_| None).await;
    findings.note(format!(
        "{ANONYMOUS_INITIALIZES} anonymous initializes: {anonymous:?}"
    ));
    findings.check(
        count(&anonymous, "401") == ANONYMOUS_INITIALIZES,
        "an anonymous initialize was not refused with 401",
    );

    let one = initialize_flood(&http, &url, ONE_PRINCIPAL_INITIALIZES, |_| {
        Some(TOKEN.to_owned())
    })
    .await;
    findings.note(format!(
        "{ONE_PRINCIPAL_INITIALIZES} initializes of one principal: {one:?}"
    ));
    findings.check(
        count(&one, "200") == PER_PRINCIPAL_CAP
            && count(&one, "429") == ONE_PRINCIPAL_INITIALIZES - PER_PRINCIPAL_CAP,
        format!(
            "one principal got {} sessions and {} × 429 (expected {PER_PRINCIPAL_CAP} and the rest 429)",
            count(&one, "200"),
            count(&one, "429")
        ),
    );

    let many = initialize_flood(&http, &url, DISTINCT_PRINCIPALS, |i| {
        Some(format!("demo-flood{i}-v1"))
    })
    .await;
    findings.note(format!(
        "{DISTINCT_PRINCIPALS} initializes of distinct principals: {many:?}"
    ));
    let accepted = count(&many, "200");
    findings.check(
        accepted + PER_PRINCIPAL_CAP <= MAX_SESSIONS
            && count(&many, "503") == DISTINCT_PRINCIPALS - accepted,
        format!(
            "sessions held: {PER_PRINCIPAL_CAP} + {accepted} = {} against a cap of {MAX_SESSIONS} \
             (expected 503 past the cap)",
            PER_PRINCIPAL_CAP + accepted
        ),
    );

    let rss_after = demo.rss_kib().unwrap_or(0);
    findings.note(format!(
        "RSS {} MiB before, {} MiB after (bound {} MiB)",
        rss_before / 1024,
        rss_after / 1024,
        RSS_BOUND_KIB / 1024
    ));
    findings.check(
        rss_after > 0 && rss_after <= RSS_BOUND_KIB,
        format!("RSS {} MiB past its bound", rss_after / 1024),
    );
    expect_alive(&mut findings, &mut [&mut demo]);
    Ok(findings)
}
