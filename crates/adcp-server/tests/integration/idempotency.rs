//! Idempotency for mutating tools: replay, conflict, in-flight, and no duplicate webhook.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::*;

fn create(key: &str, extra: Value) -> Value {
    let mut request = json!({
        "idempotency_key": key,
        "account": account("acme.example"),
        "brand": { "domain": "acme.example" },
        "start_time": "2027-01-01T00:00:00Z",
        "end_time": "2027-01-31T00:00:00Z",
        "packages": [{ "product_id": "p1", "budget": 1000, "pricing_option_id": "cpm" }]
    });
    for (k, v) in extra.as_object().unwrap() {
        request[k] = v.clone();
    }
    request
}

#[tokio::test]
async fn replay_conflict_and_missing_key() {
    let Seller {
        observed,
        running,
        buyer,
        ..
    } = seller(false).await;
    let key = "key-0001-abcdefghijkl";

    let first = buyer
        .call(
            "create_media_buy",
            create(key, json!({ "context": { "try": 1 } })),
        )
        .await;
    let first = first.ok().clone();
    assert_eq!(first["media_buy_status"], "pending_creatives");
    assert_eq!(
        first["status"], "completed",
        "the envelope status (valid in both status enums)"
    );
    assert!(first.get("replayed").is_none());

    let replay = buyer
        .call(
            "create_media_buy",
            create(key, json!({ "context": { "try": 2 } })),
        )
        .await;
    let replay = replay.ok();
    assert_eq!(replay["replayed"], true);
    assert_eq!(replay["media_buy_id"], first["media_buy_id"]);
    assert_eq!(
        replay["context"],
        json!({ "try": 2 }),
        "a replay echoes its own context"
    );
    assert_eq!(
        observed.media_buys_created.load(Ordering::SeqCst),
        1,
        "the platform ran once"
    );

    let conflict = buyer
        .call(
            "create_media_buy",
            create(key, json!({ "po_number": "PO-different" })),
        )
        .await;
    conflict.expect_error("IDEMPOTENCY_CONFLICT", None);
    assert!(
        conflict.field().is_none(),
        "a conflict says nothing about the stored request"
    );

    let mut missing = create(key, json!({}));
    missing.as_object_mut().unwrap().remove("idempotency_key");
    buyer
        .call("create_media_buy", missing)
        .await
        .expect_error("INVALID_REQUEST", Some("idempotency_key"));

    // Another principal's identical key is a different key.
    let other = Buyer::connect(&running.url, Some("token-b")).await;
    let theirs = other.call("create_media_buy", create(key, json!({}))).await;
    assert_ne!(theirs.ok()["media_buy_id"], first["media_buy_id"]);
    // Reads accept (and ignore) a key.
    let read = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "idempotency_key": key }),
        )
        .await;
    read.ok();
}

#[tokio::test]
async fn concurrent_calls_with_one_key_execute_once() {
    let observed = Arc::new(Observed::default());
    let running = serve(builder(&observed).build().unwrap()).await;
    let buyer = Arc::new(Buyer::connect(&running.url, Some("token-a")).await);
    let key = "key-0002-concurrent-x";
    let calls = (0..4).map(|_| {
        let buyer = Arc::clone(&buyer);
        tokio::spawn(async move {
            buyer
                .call(
                    "create_media_buy",
                    create(key, json!({ "po_number": "slow" })),
                )
                .await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(calls)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let succeeded = replies.iter().filter(|r| !r.is_error).count();
    let in_flight = replies
        .iter()
        .filter(|r| r.code() == Some("IDEMPOTENCY_IN_FLIGHT"))
        .count();
    assert_eq!(succeeded, 1, "{replies:#?}");
    assert_eq!(in_flight, 3);
    assert_eq!(observed.media_buys_created.load(Ordering::SeqCst), 1);
    let retry = replies.iter().find(|r| r.is_error).unwrap();
    assert_eq!(retry.body["adcp_error"]["recovery"], "transient");
}

#[tokio::test]
async fn a_replayed_async_create_sends_no_second_webhook() {
    let Seller {
        observed,
        running: _running,
        buyer,
        receiver,
    } = seller(true).await;
    let key = "key-0003-async-create";
    let request = create(
        key,
        json!({
            "push_notification_config": push(&receiver, "hooks/create", "op-create"),
            "ext": { "handoff": true }
        }),
    );
    let first = buyer.call("create_media_buy", request.clone()).await;
    let task_id = first.ok()["task_id"].as_str().unwrap().to_owned();
    receiver
        .wait_for("hooks/create", 1, Duration::from_secs(10))
        .await;
    let replay = buyer.call("create_media_buy", request).await;
    assert_eq!(replay.ok()["task_id"], task_id.as_str());
    assert_eq!(replay.ok()["replayed"], true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1, "one webhook for one logical create");
    assert_eq!(observed.media_buys_created.load(Ordering::SeqCst), 1);
    assert_eq!(hooks[0].json()["task_type"], "create_media_buy");
}

#[tokio::test]
async fn a_synchronous_create_can_push_its_completion_once() {
    let Seller {
        observed: _observed,
        running: _running,
        buyer,
        receiver,
    } = seller(true).await;
    let request = create(
        "key-0004-sync-pushed1",
        json!({
            "push_notification_config": push(&receiver, "hooks/sync-create", "op-sync-create"),
            "ext": { "push": true }
        }),
    );
    let first = buyer.call("create_media_buy", request.clone()).await;
    let body = first.ok().clone();
    assert_eq!(body["media_buy_id"], "mb_1", "answered synchronously");
    let task_id = body["task_id"].as_str().unwrap().to_owned();
    let hooks = receiver
        .wait_for("hooks/sync-create", 1, Duration::from_secs(10))
        .await;
    let payload = hooks[0].json();
    assert_eq!(payload["task_id"], task_id.as_str());
    assert_eq!(payload["status"], "completed");
    assert_eq!(payload["operation_id"], "op-sync-create");
    assert_eq!(payload["result"]["media_buy_id"], "mb_1");
    let replay = buyer.call("create_media_buy", request).await;
    assert_eq!(replay.ok()["replayed"], true);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 1, "a replay pushes nothing");
    // Without a registration nothing is pushed (and no task is recorded).
    let quiet = buyer
        .call(
            "create_media_buy",
            create("key-0005-sync-quiet01", json!({ "ext": { "push": true } })),
        )
        .await;
    assert!(quiet.ok().get("task_id").is_none());
}
