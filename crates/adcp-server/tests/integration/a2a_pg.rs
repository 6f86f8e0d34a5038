//! A2A on the durable path: a task handed off over A2A on one replica is read, canceled and
//! delivered through the same PostgreSQL as over MCP, from another replica.

use std::sync::Arc;

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::a2a::{A2aBuyer, artifact_data, hooks_at, message};
use crate::postgres::replica;
use crate::support::*;

#[tokio::test]
async fn an_a2a_task_lives_in_postgresql_and_is_served_by_any_replica() {
    let db = adcp_pg_harness::fresh_database().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .connect(db.url())
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let observed = Arc::new(Observed::default());
    let a = replica(&pool, &observed, &stop).await;
    let b = replica(&pool, &observed, &stop).await;
    let receiver = Receiver::start().await;
    let on_a = A2aBuyer::new(&a, Some("token-a"));
    let on_b = A2aBuyer::new(&b, Some("token-a"));
    let acct = account("acme.example");

    // Handed off on A with an A2A push config and a conversation id.
    let mut params = json!({ "message": message("get_products", json!({
        "buying_mode": "brief", "brief": "x", "account": acct,
        "ext": { "handoff": true, "work_ms": 300 }
    })) });
    params["message"]["contextId"] = json!("ctx-pg-1");
    params["configuration"] = json!({ "taskPushNotificationConfig": {
        "url": receiver.url("hooks/a2a-pg"), "token": "a2a-pg-token-0123456789"
    } });
    let answer = on_a.rpc("SendMessage", params).await;
    let task = answer.task().clone();
    assert_eq!(artifact_data(&task)["status"], "submitted", "{task:#}");
    let task_id = task["id"].as_str().unwrap().to_owned();

    // Polled on B: the registry, not A's memory, answers, with the conversation kept.
    let done = on_b.poll_until_terminal(&task_id, &acct).await;
    assert_eq!(done["status"]["state"], "TASK_STATE_COMPLETED", "{done:#}");
    assert_eq!(done["contextId"], "ctx-pg-1", "{done:#}");
    assert!(artifact_data(&done)["products"].is_array(), "{done:#}");

    // The transactional outbox delivers exactly one A2A-shaped webhook for it.
    let hooks = hooks_at(&receiver, "hooks/a2a-pg", 1).await;
    assert_eq!(hooks.len(), 1, "exactly one terminal webhook");
    let body = hooks[0].json();
    assert_eq!(body["task"]["id"], task_id.as_str());
    assert_eq!(body["task"]["contextId"], "ctx-pg-1");
    assert_eq!(body["task"]["status"]["state"], "TASK_STATE_COMPLETED");
    verify_signature(&a.base, &receiver.url("hooks/a2a-pg"), &hooks[0]).await;

    // Canceling the finished task from B is refused, as it would be on A.
    on_b.cancel_task(&task_id, &acct)
        .await
        .expect_rpc_error(200, -32002, "NOT_CANCELLABLE");
    stop.cancel();
}
