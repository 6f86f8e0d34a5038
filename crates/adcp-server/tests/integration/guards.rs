//! Every guard, for both discovery verbs, as a buyer meets it over MCP.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::*;

async fn buyer() -> (Running, Buyer, Receiver) {
    let observed = Arc::new(Observed::default());
    let running = serve(
        builder(&observed)
            .webhooks(in_memory_webhooks())
            .build()
            .unwrap(),
    )
    .await;
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    (running, buyer, Receiver::start().await)
}

/// (tool, mode field, wholesale request body) for both verbs.
fn verbs() -> [(&'static str, &'static str, Value); 2] {
    [
        (
            "get_products",
            "buying_mode",
            json!({ "buying_mode": "wholesale" }),
        ),
        (
            "get_signals",
            "discovery_mode",
            json!({ "discovery_mode": "wholesale" }),
        ),
    ]
}

fn with(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().unwrap() {
        base[k] = v.clone();
    }
    base
}

#[tokio::test]
async fn wholesale_with_push_config_is_rejected_for_both_verbs() {
    let (_running, buyer, receiver) = buyer().await;
    for (tool, _, wholesale) in verbs() {
        let request = with(
            wholesale,
            json!({
                "account": account("acme.example"),
                "push_notification_config": push(&receiver, "h", "op"),
                "context": { "n": 1 }
            }),
        );
        let reply = buyer.call(tool, request).await;
        reply.expect_error("INVALID_REQUEST", Some("push_notification_config"));
        assert_eq!(
            reply.body["context"],
            json!({ "n": 1 }),
            "errors echo context too"
        );
        assert_eq!(reply.body["status"], "failed");
        assert_eq!(reply.body["errors"][0]["code"], "INVALID_REQUEST");
    }
}

#[tokio::test]
async fn a_platform_handing_off_wholesale_is_refused_for_both_verbs() {
    let (_running, buyer, _receiver) = buyer().await;
    for (tool, field, wholesale) in verbs() {
        let request = with(
            wholesale,
            json!({ "account": account("acme.example"), "ext": { "handoff": true } }),
        );
        buyer
            .call(tool, request)
            .await
            .expect_error("INVALID_REQUEST", Some(field));
    }
}

#[tokio::test]
async fn async_work_needs_a_resolved_account_for_both_verbs() {
    let (_running, buyer, receiver) = buyer().await;
    for (tool, _, _) in verbs() {
        // A push config without an account.
        let request = json!({ "brief": "x", "signal_spec": "x", "push_notification_config": push(&receiver, "h", "op") });
        buyer
            .call(tool, request)
            .await
            .expect_error("INVALID_REQUEST", Some("account"));
        // A handoff without an account.
        let request = json!({ "brief": "x", "signal_spec": "x", "ext": { "handoff": true } });
        buyer
            .call(tool, request)
            .await
            .expect_error("INVALID_REQUEST", Some("account"));
    }
}

#[tokio::test]
async fn hand_rolled_submitted_envelopes_are_refused_for_both_verbs() {
    let (_running, buyer, _receiver) = buyer().await;
    for (tool, _, _) in verbs() {
        let request = json!({ "brief": "x", "signal_spec": "x", "account": account("acme.example"), "ext": { "forge": true } });
        let reply = buyer.call(tool, request).await;
        reply.expect_error("INVALID_REQUEST", None);
        assert!(
            reply.body["adcp_error"]["message"]
                .as_str()
                .unwrap()
                .contains("handoff_to_task")
        );
    }
}

#[tokio::test]
async fn hostile_webhook_urls_are_refused_for_both_verbs() {
    let (_running, buyer, _receiver) = buyer().await;
    for (tool, _, _) in verbs() {
        for url in [
            "http://10.0.0.7/hook",
            "ftp://receiver.example/hook",
            "not a url",
        ] {
            let request = json!({
                "brief": "x", "signal_spec": "x", "account": account("acme.example"),
                "push_notification_config": { "url": url, "operation_id": "op" }
            });
            let reply = buyer.call(tool, request).await;
            reply.expect_error("INVALID_REQUEST", None);
            assert!(
                reply
                    .field()
                    .is_some_and(|f| f.starts_with("push_notification_config")),
                "{url}: {:#}",
                reply.body
            );
        }
    }
}

#[tokio::test]
async fn https_push_urls_to_blocked_ip_literals_are_refused_before_the_platform_runs() {
    let Seller {
        observed,
        running: _running,
        buyer,
        ..
    } = seller(true).await;
    for url in [
        "https://10.0.0.1/hook?secret=QUERYSECRET",
        "https://169.254.169.254/latest/meta-data",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[64:ff9b:1::a00:1]/hook",
        "https://[2001::1]/hook",
    ] {
        let request = json!({
            "buying_mode": "brief", "brief": "Outdoor video", "account": account("acme.example"),
            "push_notification_config": { "url": url, "operation_id": "op_1" }
        });
        let reply = buyer.call("get_products", request).await;
        reply.expect_error("INVALID_REQUEST", Some("push_notification_config.url"));
        assert_eq!(
            reply.body["adcp_error"]["recovery"], "correctable",
            "{url}: {:#}",
            reply.body
        );
        assert!(
            !reply.body.to_string().contains("QUERYSECRET"),
            "the URL's query string is never echoed: {:#}",
            reply.body
        );
    }
    assert_eq!(
        observed
            .platform_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        0,
        "refused before the platform was called"
    );
}

#[tokio::test]
async fn without_webhook_delivery_push_configs_are_refused_not_ignored() {
    let observed = Arc::new(Observed::default());
    let running = serve(builder(&observed).build().unwrap()).await;
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    let receiver = Receiver::start().await;
    let reply = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": account("acme.example"),
                "push_notification_config": push(&receiver, "h", "op")
            }),
        )
        .await;
    reply.expect_error("INVALID_REQUEST", Some("push_notification_config"));
}
