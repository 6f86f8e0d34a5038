//! SSRF refusals happen before any connection is made: literal addresses in the URL are checked
//! up front, host names at resolution time by the guarded resolver.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use adcp_webhooks::retry::{AttemptOutcome, FailureKind};
use adcp_webhooks::ssrf::{HostLookup, LookupFuture, SsrfPolicy};
use adcp_webhooks::{OutboundWebhook, SenderConfig, WebhookAuth, WebhookSender};
use common::Receiver;

/// A resolver answering from a fixed table, so tests can make a name resolve anywhere
/// without sending a packet there.
#[derive(Debug)]
struct FixedLookup(HashMap<&'static str, Vec<IpAddr>>);

impl HostLookup for FixedLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let answer = self.0.get(host).cloned().unwrap_or_default();
        Box::pin(async move { Ok(answer) })
    }
}

fn sender(policy: SsrfPolicy) -> WebhookSender {
    let lookup = FixedLookup(HashMap::from([
        (
            "internal.buyer.example",
            vec!["10.20.30.40".parse().unwrap()],
        ),
        (
            "metadata.buyer.example",
            vec!["169.254.169.254".parse().unwrap()],
        ),
        (
            "mixed.buyer.example",
            vec!["127.0.0.1".parse().unwrap(), "10.0.0.5".parse().unwrap()],
        ),
        (
            "rebound.buyer.example",
            vec!["::ffff:192.168.1.1".parse().unwrap()],
        ),
        ("loopback.buyer.example", vec!["127.0.0.1".parse().unwrap()]),
        ("localhost", vec!["127.0.0.1".parse().unwrap()]),
    ]));
    let config = SenderConfig {
        connect_timeout: Duration::from_secs(1),
        request_timeout: Duration::from_secs(2),
        policy,
        lookup: Arc::new(lookup),
        ..SenderConfig::default()
    };
    WebhookSender::new(config, Some(common::test_signer())).unwrap()
}

async fn attempt(sender: &WebhookSender, url: &str) -> AttemptOutcome {
    let webhook = OutboundWebhook {
        url,
        auth: &WebhookAuth::Rfc9421,
        body: b"{}",
        idempotency_key: "whk_0123456789abcdef",
        task_id: "task_ssrf",
    };
    sender.send(&webhook).await.outcome
}

#[tokio::test]
async fn private_loopback_metadata_and_mapped_destinations_are_refused_in_production() {
    let strict = sender(SsrfPolicy::strict());
    for url in [
        "https://10.1.2.3/hook",
        "https://127.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:127.0.0.1]/hook",
        "https://[::1]:8443/hook",
        "https://internal.buyer.example/hook",
        "https://metadata.buyer.example/hook",
        "https://rebound.buyer.example/hook",
        "https://loopback.buyer.example/hook",
    ] {
        assert_eq!(
            attempt(&strict, url).await,
            AttemptOutcome::Terminal(FailureKind::SsrfBlocked),
            "{url}"
        );
    }
}

#[tokio::test]
async fn plain_http_is_refused_outside_the_loopback_allow_list() {
    let strict = sender(SsrfPolicy::strict());
    let receiver = Receiver::start().await;
    let outcome = attempt(&strict, &receiver.url("/hook")).await;
    assert_eq!(outcome, AttemptOutcome::Terminal(FailureKind::SsrfBlocked));
    assert!(
        receiver.received().is_empty(),
        "no request reached the receiver"
    );
}

#[tokio::test]
async fn the_loopback_allow_list_opens_loopback_and_nothing_else() {
    let dev = sender(SsrfPolicy::strict().allow_loopback());
    let receiver = Receiver::start().await;
    assert_eq!(
        attempt(&dev, &receiver.url("/hook")).await,
        AttemptOutcome::Delivered
    );
    let port = receiver.addr.unwrap().port();
    assert_eq!(
        attempt(&dev, &format!("http://localhost:{port}/hook")).await,
        AttemptOutcome::Delivered
    );
    // Plain http is for loopback literals and `localhost` only, not any name that resolves there.
    let named = format!("http://loopback.buyer.example:{port}/hook");
    assert_eq!(
        attempt(&dev, &named).await,
        AttemptOutcome::Terminal(FailureKind::SsrfBlocked)
    );
    for url in [
        "https://10.1.2.3/hook",
        "https://169.254.169.254/",
        "https://internal.buyer.example/hook",
        "https://mixed.buyer.example/hook",
        "http://internal.buyer.example/hook",
    ] {
        assert_eq!(
            attempt(&dev, url).await,
            AttemptOutcome::Terminal(FailureKind::SsrfBlocked),
            "{url}"
        );
    }
    assert_eq!(receiver.received().len(), 2);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let dev = sender(SsrfPolicy::strict().allow_loopback());
    let receiver = Receiver::start().await;
    receiver.script([common::Answer::StatusWithHeader(
        307,
        "location",
        "http://169.254.169.254/",
    )]);
    let outcome = attempt(&dev, &receiver.url("/hook")).await;
    assert_eq!(
        outcome,
        AttemptOutcome::Terminal(FailureKind::HttpStatus(307))
    );
    assert_eq!(receiver.received().len(), 1);
}
