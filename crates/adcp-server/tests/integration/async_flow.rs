//! The async path: handoff → submitted → polling → exactly one terminal webhook.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn brief_handoff_is_polled_and_delivers_exactly_one_signed_webhook() {
    let Seller {
        observed,
        running,
        buyer,
        receiver,
    } = seller(true).await;
    let acct = account("acme.example");

    let reply = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "outdoor", "account": acct,
                "push_notification_config": push(&receiver, "hooks/capture-1", "op-products-1"),
                "context": { "correlation_id": "c-1", "b": 2 },
                "ext": { "handoff": true, "draft": true }
            }),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["status"], "submitted");
    let task_id = body["task_id"].as_str().unwrap().to_owned();
    assert!(
        body.get("products").is_none(),
        "the submitted arm carries no products"
    );
    assert_eq!(body["context"], json!({ "correlation_id": "c-1", "b": 2 }));
    assert_eq!(body["adcp_version"], "3.1");

    let status = poll_until_terminal(&buyer, &task_id, &acct).await;
    assert_eq!(status["status"], "completed");
    assert_eq!(status["task_type"], "get_products");
    assert_eq!(status["result"]["products"][0]["product_id"], "p1");

    receiver.wait_for("hooks/capture-1", 1, WAIT).await;
    // Any duplicate would arrive within the retry backoff; give it time to show up.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let hooks: Vec<_> = receiver
        .received()
        .into_iter()
        .filter(|r| r.path == "/hooks/capture-1")
        .collect();
    assert_eq!(hooks.len(), 1, "exactly one terminal webhook");
    let payload = hooks[0].json();
    assert_eq!(
        payload["operation_id"], "op-products-1",
        "echoed from the registration, not the URL"
    );
    assert_eq!(payload["task_id"], task_id.as_str());
    assert_eq!(payload["status"], "completed");
    assert_eq!(payload["task_type"], "get_products");
    assert_eq!(payload["token"], "receiver-token-0123456789abcdef");
    assert_eq!(payload["result"]["products"][1]["product_id"], "p2");

    // The signature verifies against the JWKS the server publishes.
    verify_signature(&running.base, &receiver.url("hooks/capture-1"), &hooks[0]).await;

    // The persist-draft hook ran once, on the task path.
    let drafts = observed.drafts.lock().unwrap().clone();
    assert_eq!(drafts, vec![("get_products".to_owned(), Some(task_id))]);
}

#[tokio::test]
async fn a_failing_handoff_delivers_one_failed_webhook() {
    let Seller {
        observed: _observed,
        running: _running,
        buyer,
        receiver,
    } = seller(true).await;
    let acct = account("acme.example");
    let reply = buyer
        .call(
            "get_signals",
            json!({
                "signal_spec": "hikers", "account": acct,
                "push_notification_config": push(&receiver, "hooks/fail", "op-fail"),
                "ext": { "handoff": true, "fail": true }
            }),
        )
        .await;
    let task_id = reply.ok()["task_id"].as_str().unwrap().to_owned();
    let status = poll_until_terminal(&buyer, &task_id, &acct).await;
    assert_eq!(status["status"], "failed");
    assert_eq!(status["error"]["code"], "PRODUCT_UNAVAILABLE");
    let hooks = receiver.wait_for("hooks/fail", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "one failed webhook");
    let payload = hooks[0].json();
    assert_eq!(payload["status"], "failed");
    assert_eq!(payload["task_type"], "get_signals");
    assert_eq!(payload["operation_id"], "op-fail");
}

#[tokio::test]
async fn refine_handoff_with_push_config_delivers_the_webhook() {
    let Seller {
        observed: _observed,
        running: _running,
        buyer,
        receiver,
    } = seller(true).await;
    let reply = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "refine", "account": account("acme.example"),
                "refine": [{ "scope": "request", "ask": "more video" }],
                "push_notification_config": push(&receiver, "hooks/refine", "op-refine"),
                "ext": { "handoff": true }
            }),
        )
        .await;
    assert_eq!(reply.ok()["status"], "submitted");
    let hooks = receiver.wait_for("hooks/refine", 1, WAIT).await;
    assert_eq!(
        hooks.len(),
        1,
        "the refine handoff's terminal webhook is delivered"
    );
    assert_eq!(hooks[0].json()["status"], "completed");
}

#[tokio::test]
async fn without_push_config_there_is_no_webhook_and_sync_answers_stay_silent() {
    let Seller {
        observed,
        running: _running,
        buyer,
        receiver,
    } = seller(true).await;
    let acct = account("acme.example");
    // A handoff without a registration: pollable, but no webhook.
    let reply = buyer
        .call("get_products", json!({ "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true } }))
        .await;
    let task_id = reply.ok()["task_id"].as_str().unwrap().to_owned();
    assert_eq!(
        poll_until_terminal(&buyer, &task_id, &acct).await["status"],
        "completed"
    );
    // A synchronous answer with a registration: no task, so no webhook either.
    let sync = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "hooks/sync", "op-sync"),
                "ext": { "draft": true }
            }),
        )
        .await;
    let body = sync.ok();
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["cache_scope"], "account",
        "an account-scoped request gets a cache_scope"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(receiver.received().is_empty(), "no webhook without a task");
    // The persist-draft hook also runs on the synchronous path.
    assert_eq!(
        observed.drafts.lock().unwrap().clone(),
        vec![("get_products".to_owned(), None)]
    );
}

#[tokio::test]
async fn tasks_are_invisible_to_other_accounts_and_principals() {
    let Seller {
        observed: _observed,
        running,
        buyer,
        ..
    } = seller(false).await;
    let acct = account("acme.example");
    let reply = buyer
        .call("get_products", json!({ "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true } }))
        .await;
    let task_id = reply.ok()["task_id"].as_str().unwrap().to_owned();
    poll_until_terminal(&buyer, &task_id, &acct).await;

    let other = account("otherbrand.example");
    buyer
        .call(
            "get_task_status",
            json!({ "task_id": task_id, "account": other }),
        )
        .await
        .expect_error("REFERENCE_NOT_FOUND", Some("task_id"));
    let listed = buyer.call("list_tasks", json!({ "account": other })).await;
    assert_eq!(listed.ok()["tasks"], json!([]));
    let mine = buyer.call("list_tasks", json!({ "account": acct })).await;
    assert_eq!(mine.ok()["tasks"][0]["task_id"], task_id.as_str());
    assert_eq!(mine.ok()["tasks"][0]["domain"], "media-buy");

    let intruder = Buyer::connect(&running.url, Some("token-b")).await;
    intruder
        .call(
            "get_task_status",
            json!({ "task_id": task_id, "account": acct }),
        )
        .await
        .expect_error("REFERENCE_NOT_FOUND", Some("task_id"));
    // The legacy alias answers the owner.
    let legacy = buyer
        .call("tasks/get", json!({ "taskId": task_id, "account": acct }))
        .await;
    assert_eq!(legacy.ok()["task_id"], task_id.as_str());
}

#[tokio::test]
async fn webhooks_are_retried_after_503_with_one_idempotency_key() {
    let observed = Arc::new(Observed::default());
    let running = serve(
        builder(&observed)
            .webhooks(in_memory_webhooks())
            .build()
            .unwrap(),
    )
    .await;
    let receiver = Receiver::start().await;
    receiver.fail_next(2);
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": account("acme.example"),
                "push_notification_config": push(&receiver, "hooks/retry", "op-retry"),
                "ext": { "handoff": true }
            }),
        )
        .await
        .ok();
    let hooks = receiver
        .wait_for("hooks/retry", 3, Duration::from_secs(20))
        .await;
    assert_eq!(hooks.len(), 3, "two 503s, then delivered");
    let keys: std::collections::BTreeSet<String> = hooks
        .iter()
        .map(|h| h.json()["idempotency_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys.len(),
        1,
        "retries reuse the logical event's idempotency_key"
    );
}

#[tokio::test]
async fn fields_trim_the_wire_reply_but_never_the_persisted_draft() {
    let Seller {
        observed,
        running: _running,
        buyer,
        receiver: _receiver,
    } = seller(false).await;
    let reply = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "wholesale", "fields": ["pricing_options"],
                "context": { "correlation_id": "fields-1" },
                "ext": { "draft": true }
            }),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["status"], "completed");
    assert_eq!(body["context"]["correlation_id"], "fields-1");
    for product in body["products"].as_array().unwrap() {
        assert!(
            product.get("channels").is_none(),
            "not requested: {product}"
        );
        assert!(
            product.get("pricing_options").is_some(),
            "requested: {product}"
        );
        assert!(product.get("product_id").is_some() && product.get("name").is_some());
    }
    // Without `fields` the same catalog comes back whole.
    let whole = buyer
        .call("get_products", json!({ "buying_mode": "wholesale" }))
        .await;
    assert_eq!(whole.ok()["products"][0]["channels"], json!(["display"]));
    // The persist-draft hook saw the platform's full products.
    let seen = observed.draft_product_fields.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one draft hook run");
    assert!(
        seen[0].iter().any(|field| field == "channels"),
        "the draft keeps every field: {seen:?}"
    );
}

#[tokio::test]
async fn auto_pagination_pages_the_wire_reply_but_never_the_persisted_draft() {
    let Seller {
        observed,
        running: _running,
        buyer,
        receiver: _receiver,
    } = seller_with(false, |builder| builder.auto_paginate(true)).await;
    let query = json!({
        "buying_mode": "wholesale", "pagination": { "max_results": 1 },
        "context": { "correlation_id": "page-1" }, "ext": { "draft": true }
    });
    let first = buyer.call("get_products", query.clone()).await;
    let first = first.ok();
    assert_eq!(first["products"].as_array().unwrap().len(), 1);
    assert_eq!(first["products"][0]["product_id"], "p1");
    assert_eq!(first["pagination"]["has_more"], true);
    assert_eq!(first["pagination"]["total_count"], 2);
    assert_eq!(first["context"]["correlation_id"], "page-1");
    let cursor = first["pagination"]["cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        observed.draft_product_counts.lock().unwrap().clone(),
        [2],
        "the persist-draft hook saw the platform's whole list"
    );

    // Following the cursor under the same query (another correlation id) gives the last page.
    let mut next = query.clone();
    next["pagination"]["cursor"] = json!(cursor);
    next["context"] = json!({ "correlation_id": "page-2" });
    let second = buyer.call("get_products", next).await;
    let second = second.ok();
    assert_eq!(second["products"][0]["product_id"], "p2");
    assert_eq!(second["pagination"]["has_more"], false);
    assert!(second["pagination"].get("cursor").is_none());

    // The cursor under another query is refused before the platform runs.
    let calls = observed
        .platform_calls
        .load(std::sync::atomic::Ordering::SeqCst);
    let foreign = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "wholesale", "filters": { "channels": ["ctv"] },
                    "pagination": { "cursor": cursor }, "context": { "correlation_id": "foreign" } }),
        )
        .await;
    foreign.expect_error("INVALID_REQUEST", Some("pagination.cursor"));
    assert_eq!(foreign.body["context"]["correlation_id"], "foreign");
    assert_eq!(
        observed
            .platform_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        calls,
        "the platform never ran for a refused cursor"
    );
}

#[tokio::test]
async fn without_auto_pagination_the_platform_reply_is_whole() {
    let Seller {
        running: _running,
        buyer,
        ..
    } = seller(false).await;
    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "wholesale", "pagination": { "max_results": 1 } }),
        )
        .await;
    let body = reply.ok();
    assert_eq!(body["products"].as_array().unwrap().len(), 2);
    assert!(body.get("pagination").is_none());
}
