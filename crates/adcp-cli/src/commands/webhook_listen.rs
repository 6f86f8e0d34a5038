//! `adcp webhook listen`: a receiver for debugging a seller's webhooks; every POST is verified
//! (RFC 9421 against a JWKS, or legacy HMAC), replay-checked, answered and printed.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use clap::Args;

use crate::cli::EXIT_STATUS;
use crate::diagnose;
use crate::error::{CliError, Outcome};
use crate::output;
use crate::webhook::{self, Receiver, Trust, TrustArgs};

/// `adcp webhook listen`.
#[derive(Debug, Args)]
#[command(
    after_help = EXIT_STATUS,
    long_about = "Receive webhooks on a local port and print each one with its verdict. Any path \
is accepted: register http://127.0.0.1:PORT/<anything> as push_notification_config.url. \
A webhook that fails verification (bad signature, changed body, unknown key, replay) is \
answered 401; others 204. Runs until interrupted (exit 1 if any webhook failed) or, with \
--count N, until N webhooks arrived."
)]
pub(crate) struct ListenArgs {
    /// The port (0 picks a free one, printed at start).
    #[arg(long, short = 'p', default_value_t = 0)]
    pub(crate) port: u16,
    /// The address to bind; loopback by default. Binding another address exposes the
    /// receiver beyond this machine.
    #[arg(long, value_name = "ADDR", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub(crate) bind: IpAddr,
    /// What to verify against (none: payloads are printed unchecked).
    #[command(flatten)]
    pub(crate) trust: TrustArgs,
    /// Stop after this many webhooks.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<usize>,
    /// Print each webhook as one JSON line (verdict, headers without credentials, payload).
    #[arg(long)]
    pub(crate) json: bool,
    /// Seconds a JWKS or brand.json fetch may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub(crate) timeout: u64,
}

/// Receives until interrupted or `--count` webhooks arrived; passes when none failed.
pub(crate) async fn run(args: &ListenArgs) -> Result<Outcome, CliError> {
    let http = diagnose::http_client(
        std::time::Duration::from_secs(args.timeout.max(1)),
        reqwest::header::HeaderMap::new(),
    )?;
    let trust = Trust::load(&args.trust, &http).await?;
    let described = trust.describe();
    let mut receiver =
        Receiver::start(SocketAddr::new(args.bind, args.port), Arc::new(trust)).await?;
    output::note(&format!(
        "listening on {}/ ({described})",
        receiver.base_url()
    ));
    if !args.bind.is_loopback() {
        output::warn_line(&format!(
            "bound to {}: reachable beyond this machine",
            args.bind
        ));
    }
    let mut arrived = 0;
    let mut refused = 0;
    loop {
        let next = tokio::select! {
            next = receiver.next() => next,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some((delivery, verdict)) = next else {
            break;
        };
        arrived += 1;
        if verdict.refused() {
            refused += 1;
        }
        webhook::print_delivery(arrived, &delivery, &verdict, args.json);
        if args.count.is_some_and(|n| arrived >= n) {
            break;
        }
    }
    output::note(&format!(
        "{arrived} webhooks received, {refused} failed verification"
    ));
    Ok(Outcome::from_ok(refused == 0))
}
