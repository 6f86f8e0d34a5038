//! The assembled server against hostile clients and a stop: idle and slow connections, the
//! connection cap, session caps, transport-level garbage, and a drain that loses nothing.

use std::collections::BTreeSet;
use std::time::Duration;

use adcp_server::{ConnectionLimits, HttpConfig, SessionLimits, StopPolicy};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::support::*;

fn addr(running: &Running) -> String {
    running.base.trim_start_matches("http://").to_owned()
}

/// Waits (bounded) for the server to close `stream`: true when it read EOF or a reset.
async fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0_u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

async fn post(url: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    init();
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_owned());
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text)
        .or_else(|_| {
            // An SSE-framed reply: the JSON is on the `data:` line.
            text.lines()
                .find_map(|l| l.strip_prefix("data: "))
                .map_or(Ok(Value::String(text.clone())), serde_json::from_str)
        })
        .unwrap_or(Value::String(text));
    (status, body)
}

/// Sends buyer A's `initialize` up to `attempts` times, 50 ms apart, until it is answered with
/// `status`; returns that reply's body.
async fn initialize_until(running: &Running, status: u16, attempts: usize) -> Option<Value> {
    for _ in 0..attempts {
        let (answered, body) = post(&running.url, Some("token-a"), INITIALIZE).await;
        if answered == status {
            return Some(body);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

#[tokio::test]
async fn idle_and_slow_header_connections_are_closed() {
    let observed = std::sync::Arc::new(Observed::default());
    let limits = ConnectionLimits::default().with_header_read_timeout(Duration::from_millis(300));
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            connections: limits,
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let mut idle = TcpStream::connect(addr(&running)).await.unwrap();
    assert!(
        closed_by_server(&mut idle, Duration::from_secs(5)).await,
        "an idle connection stays open"
    );
    let mut slow = TcpStream::connect(addr(&running)).await.unwrap();
    slow.write_all(b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut slow, Duration::from_secs(5)).await,
        "a connection that never finishes its head stays open"
    );
    // Real callers are unaffected.
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    let reply = buyer.call("get_adcp_capabilities", json!({})).await;
    assert!(!reply.is_error);
}

#[tokio::test]
async fn connections_past_the_cap_get_503_with_an_adcp_error_then_recover() {
    let observed = std::sync::Arc::new(Observed::default());
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            connections: ConnectionLimits::default().with_max_connections(2),
            sessions: false,
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let hogs = [
        TcpStream::connect(addr(&running)).await.unwrap(),
        TcpStream::connect(addr(&running)).await.unwrap(),
    ];
    // Let the accept loop take both before the third arrives.
    let body = initialize_until(&running, 503, 50)
        .await
        .expect("a third connection past a cap of 2 gets 503");
    assert_eq!(body["adcp_error"]["code"], "SERVICE_UNAVAILABLE");
    assert_eq!(body["adcp_error"]["recovery"], "transient");
    assert_eq!(body["status"], "failed");
    drop(hogs);
    assert!(
        initialize_until(&running, 200, 100).await.is_some(),
        "slots are released when connections close"
    );
}

#[tokio::test]
async fn sessions_need_credentials_and_are_capped_per_principal_and_in_total() {
    let observed = std::sync::Arc::new(Observed::default());
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            session_limits: SessionLimits::default()
                .with_max_sessions(3)
                .with_max_sessions_per_principal(2)
                .with_idle_timeout(Duration::from_millis(500)),
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let (status, body) = post(&running.url, None, INITIALIZE).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["data"]["adcp_error"]["code"], "AUTH_MISSING");

    let first = Buyer::connect(&running.url, Some("token-a")).await;
    let second = Buyer::connect(&running.url, Some("token-a")).await;
    let (status, body) = post(&running.url, Some("token-a"), INITIALIZE).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["data"]["adcp_error"]["code"], "RATE_LIMITED");
    assert_eq!(body["error"]["data"]["adcp_error"]["recovery"], "transient");

    let third = Buyer::connect(&running.url, Some("token-b")).await;
    let (status, body) = post(&running.url, Some("token-b"), INITIALIZE).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body["error"]["data"]["adcp_error"]["code"],
        "SERVICE_UNAVAILABLE"
    );
    // Held sessions keep working.
    for buyer in [&first, &second, &third] {
        assert!(
            !buyer
                .call("get_adcp_capabilities", json!({}))
                .await
                .is_error
        );
    }
    // Idle sessions expire, and their slots come back.
    drop((first, second, third));
    assert!(
        initialize_until(&running, 200, 100).await.is_some(),
        "expired sessions free their slots"
    );
}

/// Sends a JSON-RPC body within MCP session `session`; the status and the reply.
async fn post_in(url: &str, token: &str, session: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .header("mcp-session-id", session)
        .header("authorization", format!("Bearer {token}"))
        .body(body.to_string())
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    // JSON, or SSE whose answer is the `data:` line with a result or an error.
    let reply = serde_json::from_str(&text)
        .ok()
        .or_else(|| {
            text.lines()
                .filter_map(|l| l.strip_prefix("data: "))
                .filter_map(|data| serde_json::from_str::<Value>(data).ok())
                .find(|v| v.get("result").is_some() || v.get("error").is_some())
        })
        .unwrap_or(Value::String(text));
    (status, reply)
}

/// Opens an MCP session the way a buyer without an event stream does (initialize, then
/// initialized); its id.
async fn open_session(url: &str, token: &str) -> String {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {token}"))
        .body(INITIALIZE)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.status().as_u16(), 200, "initialize is admitted");
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .expect("initialize opens a session")
        .to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _) = post_in(url, token, &session, &initialized).await;
    assert_eq!(status, 202, "initialized is accepted");
    session
}

fn capabilities_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": "get_adcp_capabilities", "arguments": {}}})
}

#[tokio::test]
async fn unused_sessions_give_back_their_workers_and_wake_on_their_next_request() {
    let observed = std::sync::Arc::new(Observed::default());
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            session_limits: SessionLimits::default()
                .with_max_sessions(6)
                .with_max_active_sessions(2)
                .with_dormant_after(Duration::from_millis(100))
                .with_idle_timeout(Duration::from_mins(1)),
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    // Paced, so the sweeper (every 100 ms here) puts sessions to sleep between calls too.
    let pace = || tokio::time::sleep(Duration::from_millis(150));
    // Four sessions under a cap of two workers: each new one puts the least recently used to
    // sleep, and every one still answers, restored on its next request.
    let mut sessions = Vec::new();
    for token in ["token-a", "token-a", "token-b", "token-b"] {
        sessions.push((token, open_session(&running.url, token).await));
        pace().await;
    }
    for round in 0..2_u64 {
        for (n, (token, session)) in sessions.iter().enumerate() {
            let (status, reply) = post_in(
                &running.url,
                token,
                session,
                &capabilities_call(round * 10 + n as u64),
            )
            .await;
            assert_eq!(status, 200, "session {n}, round {round}: {reply}");
            assert_eq!(reply["result"]["isError"], false, "{reply}");
            pace().await;
        }
        // All of them asleep before the second round.
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // Dormant sessions still count: the total of six holds across both states.
    sessions.push(("token-b", open_session(&running.url, "token-b").await));
    pace().await;
    sessions.push(("token-b", open_session(&running.url, "token-b").await));
    pace().await;
    let (status, body) = post(&running.url, Some("token-b"), INITIALIZE).await;
    assert_eq!(status, 503, "{body}");

    // DELETE ends a dormant session for good: its id is unknown afterwards.
    let (token, gone) = sessions[0].clone();
    let deleted = reqwest::Client::new()
        .delete(&running.url)
        .header("mcp-session-id", &gone)
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("the server answers");
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let (status, reply) = post_in(&running.url, token, &gone, &capabilities_call(99)).await;
    assert_eq!(status, 404, "{reply}");
    // ... and its place in the total is free again.
    open_session(&running.url, "token-a").await;
}

#[tokio::test]
async fn a_dormant_session_woken_by_several_requests_at_once_answers_them_all() {
    let observed = std::sync::Arc::new(Observed::default());
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            session_limits: SessionLimits::default()
                .with_dormant_after(Duration::from_millis(100))
                .with_idle_timeout(Duration::from_mins(1)),
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let session = open_session(&running.url, "token-a").await;
    for round in 0..3_u64 {
        // Asleep (the sweeper looks every 100 ms here), then woken by four calls at once: one
        // restores the session, the others wait for it or find it restored; none reaches the
        // worker before its replayed `initialize`.
        tokio::time::sleep(Duration::from_millis(350)).await;
        let calls = (0..4_u64).map(|n| {
            let (url, session) = (running.url.clone(), session.clone());
            async move {
                post_in(
                    &url,
                    "token-a",
                    &session,
                    &capabilities_call(round * 10 + n),
                )
                .await
            }
        });
        for (status, reply) in futures::future::join_all(calls).await {
            assert_eq!(status, 200, "round {round}: {reply}");
            assert_eq!(reply["result"]["isError"], false, "{reply}");
        }
    }
}

#[tokio::test]
async fn transport_garbage_gets_json_rpc_errors_that_name_the_member() {
    let Seller { running, .. } = seller(false).await;
    let cases: [(&str, i64, &str); 5] = [
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#,
            -32600,
            "body",
        ),
        (r#""just a string""#, -32600, "body"),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":"get_products"}"#,
            -32602,
            "params",
        ),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_products","arguments":[1]}}"#,
            -32602,
            "params.arguments",
        ),
        (
            r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":5}}"#,
            -32602,
            "params.name",
        ),
    ];
    for (body, code, field) in cases {
        let (status, reply) = post(&running.url, Some("token-a"), body).await;
        assert_eq!(status, 400, "{body} → {reply}");
        assert_eq!(reply["error"]["code"], code, "{body} → {reply}");
        let error = &reply["error"]["data"]["adcp_error"];
        assert_eq!(error["code"], "INVALID_REQUEST", "{body}");
        assert_eq!(error["field"], field, "{body}");
        assert_eq!(error["recovery"], "correctable", "{body}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.contains("Method not found")),
            "{reply}"
        );
    }
}

#[tokio::test]
async fn a_body_that_never_finishes_gets_408() {
    let observed = std::sync::Arc::new(Observed::default());
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            body_read_timeout: Duration::from_millis(300),
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let mut stream = TcpStream::connect(addr(&running)).await.unwrap();
    stream
        .write_all(
            b"POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n\
              accept: application/json, text/event-stream\r\nauthorization: Bearer token-a\r\n\
              content-length: 500\r\n\r\n{\"jsonrpc\":",
        )
        .await
        .unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0_u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    response.extend_from_slice(&buf[..n]);
                    if response.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server never answered a stalled body");
    let head = String::from_utf8_lossy(&response);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

fn handoff(receiver: &Receiver, n: usize, work_ms: u64) -> Value {
    json!({
        "buying_mode": "brief",
        "brief": "drain",
        "account": account("acme.example"),
        "push_notification_config": push(receiver, "drain", &format!("op-{n}")),
        "ext": { "handoff": true, "work_ms": work_ms },
        "context": { "n": n },
    })
}

#[tokio::test]
async fn a_stop_refuses_new_work_answers_polls_and_delivers_every_webhook() {
    let Seller {
        running,
        buyer,
        receiver,
        ..
    } = seller(true).await;
    let mut task_ids = Vec::new();
    for n in 0..10 {
        let reply = buyer.call("get_products", handoff(&receiver, n, 600)).await;
        assert_eq!(reply.ok()["status"], "submitted");
        task_ids.push(reply.ok()["task_id"].as_str().unwrap().to_owned());
    }
    let server = running.server.clone();
    let stopping = tokio::spawn(async move { server.stop(&StopPolicy::default()).await });
    while !running.server.is_draining() {
        tokio::task::yield_now().await;
    }
    // New work is refused, transiently; polling goes on; readiness says draining.
    let refused = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "context": { "k": 1 } }),
        )
        .await;
    refused.expect_error("SERVICE_UNAVAILABLE", None);
    assert_eq!(refused.body["adcp_error"]["recovery"], "transient");
    assert_eq!(refused.body["context"], json!({ "k": 1 }));
    let polled = buyer
        .call(
            "get_task_status",
            json!({ "task_id": task_ids[0], "account": account("acme.example") }),
        )
        .await;
    assert!(!polled.is_error, "{:#}", polled.body);
    let ready = reqwest::get(format!("{}/ready", running.base))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    let report = stopping.await.unwrap();
    assert_eq!(report.tasks_finished, 10, "{report:?}");
    assert_eq!(report.tasks_failed, 0);
    assert_eq!(report.webhooks_undelivered, 0);
    // Exactly one terminal webhook per task, all delivered before stop() returned.
    let received = receiver.received();
    let per_task: BTreeSet<String> = received
        .iter()
        .map(|r| r.json()["task_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(received.len(), 10, "one webhook per task");
    assert_eq!(per_task, task_ids.iter().cloned().collect());
    assert!(received.iter().all(|r| r.json()["status"] == "completed"));
}

#[tokio::test]
async fn tasks_past_the_deadline_fail_as_retryable_and_still_get_their_webhook() {
    let Seller {
        running,
        buyer,
        receiver,
        ..
    } = seller(true).await;
    for n in 0..3 {
        let reply = buyer
            .call("get_products", handoff(&receiver, n, 60_000))
            .await;
        assert_eq!(reply.ok()["status"], "submitted");
    }
    let report = running
        .server
        .stop(&StopPolicy::default().with_task_deadline(Duration::from_millis(200)))
        .await;
    assert_eq!(report.tasks_failed, 3, "{report:?}");
    assert_eq!(report.webhooks_undelivered, 0);
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    for webhook in &received {
        let body = webhook.json();
        assert_eq!(body["status"], "failed", "{body:#}");
        assert_eq!(
            body["result"]["errors"][0]["recovery"], "transient",
            "{body:#}"
        );
    }
}

#[tokio::test]
async fn transactional_delivery_without_an_outbox_is_refused_at_build() {
    let observed = std::sync::Arc::new(Observed::default());
    let error = builder(&observed)
        .webhooks(adcp_server::WebhookDelivery::Transactional)
        .build()
        .expect_err("Transactional with the in-memory registry drops every webhook");
    assert!(error.to_string().contains("outbox"), "{error}");
}
