//! Secrets never reach the log output, whatever `RUST_LOG` says: a call carrying a push
//! config with credentials and a URL query string, logged at `trace`, once unfiltered (to show
//! the dependencies really dump it) and once through `SecretSafe`.

use std::io::Write;
use std::sync::{Arc, Mutex};

use adcp_server::logging::SecretSafe;
use serde_json::json;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;

use crate::support::*;

/// A log sink the test reads back.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const PUSH_TOKEN: &str = "push-token-s3cr3t-0123456789-abcdefghijkl";
const QUERY_SECRET: &str = "qs-s3cr3t-signature";

#[tokio::test]
async fn no_secret_reaches_the_output_at_trace_level() {
    let raw = Captured::default();
    let safe = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(raw.clone())
                .with_ansi(false)
                .with_filter(EnvFilter::new("trace")),
        )
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(safe.clone())
                .with_ansi(false)
                .with_filter(SecretSafe::new(EnvFilter::new("trace"))),
        );
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber here");

    let Seller {
        running,
        buyer,
        receiver,
        ..
    } = seller(true).await;
    let url = format!("{}?sig={QUERY_SECRET}", receiver.url("logged"));
    let reply = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "brief",
                "brief": "log me",
                "account": account("acme.example"),
                "push_notification_config": {
                    "url": url,
                    "authentication": { "schemes": ["Bearer"], "credentials": PUSH_TOKEN },
                },
                "ext": { "handoff": true },
            }),
        )
        .await;
    assert_eq!(reply.ok()["status"], "submitted", "{:#}", reply.body);
    let delivered = receiver
        .wait_for("logged", 1, std::time::Duration::from_secs(10))
        .await;
    assert_eq!(delivered.len(), 1);
    running
        .server
        .stop(&adcp_server::StopPolicy::default())
        .await;

    let raw = raw.text();
    let safe = safe.text();
    // The unfiltered output shows what the dependencies dump: the test can fail.
    assert!(
        raw.contains(PUSH_TOKEN),
        "the dependencies no longer log arguments; this test needs a new witness"
    );
    for secret in [PUSH_TOKEN, QUERY_SECRET, "token-a", "receiver-token"] {
        assert!(
            !safe.contains(secret),
            "`{secret}` reached the log:\n{safe}"
        );
    }
    // The SDK's own trace output is still there.
    assert!(safe.contains("adcp"), "no SDK output at trace:\n{safe}");
}
