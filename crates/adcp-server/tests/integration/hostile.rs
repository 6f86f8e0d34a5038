//! Bad input from the wire: a clear AdCP error every time, and the server keeps serving.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::*;

async fn raw_post(running: &Running, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(&running.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", "Bearer token-a")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn still_serving(buyer: &Buyer) {
    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x" }),
        )
        .await;
    assert_eq!(reply.ok()["products"][0]["product_id"], "p1");
}

#[tokio::test]
async fn malformed_oversized_and_deep_bodies_get_clear_errors() {
    let Seller {
        observed: _observed,
        running,
        buyer,
        ..
    } = seller(false).await;

    let (status, body) = raw_post(
        &running,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_pro"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(
        body["error"]["data"]["adcp_error"]["code"],
        "INVALID_REQUEST"
    );
    assert_eq!(
        body["error"]["data"]["adcp_error"]["recovery"],
        "correctable"
    );
    still_serving(&buyer).await;

    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"get_products","arguments":{{"brief":"{}"}}}}}}"#,
        "x".repeat(10 * 1024 * 1024)
    );
    let (status, body) = raw_post(&running, huge).await;
    assert_eq!(status, 413);
    assert_eq!(
        body["error"]["data"]["adcp_error"]["code"],
        "INVALID_REQUEST"
    );
    still_serving(&buyer).await;

    // A number no parser can hold, deep in the arguments, is a parse error too.
    let (status, body) = raw_post(
        &running,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_products","arguments":{"brief":"x","n":[{"m":1e999}]}}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(body["error"]["data"]["adcp_error"]["field"], "body");
    still_serving(&buyer).await;

    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, body) = raw_post(&running, deep).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["data"]["adcp_error"]["code"],
        "INVALID_REQUEST"
    );
    still_serving(&buyer).await;
}

#[tokio::test]
async fn a_host_off_the_allow_list_is_refused_on_every_mcp_method() {
    let Seller {
        observed,
        running,
        buyer,
        ..
    } = seller(false).await;
    let client = reqwest::Client::new();
    let call = json!({ "jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": { "name": "get_products", "arguments": { "buying_mode": "brief", "brief": "x" } } });
    for method in [
        reqwest::Method::POST,
        reqwest::Method::GET,
        reqwest::Method::DELETE,
    ] {
        let response = client
            .request(method.clone(), &running.url)
            .header("host", "attacker.example")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("authorization", "Bearer token-a")
            .header("mcp-session-id", "any")
            .body(call.to_string())
            .send()
            .await
            .expect("the server answers");
        assert_eq!(response.status().as_u16(), 403, "{method}");
        let body: Value = response.json().await.expect("a JSON-RPC error");
        let error = &body["error"]["data"]["adcp_error"];
        assert_eq!(error["code"], "PERMISSION_DENIED", "{method}");
        assert_eq!(error["field"], "Host", "{method}");
    }
    still_serving(&buyer).await;
    assert_eq!(
        observed
            .platform_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "only the call from an allowed host reached the platform"
    );
}

#[tokio::test]
async fn wrong_types_unknown_tools_and_non_objects_name_the_problem() {
    let Seller {
        observed,
        running: _running,
        buyer,
        ..
    } = seller(false).await;

    // Fields the guards read are checked first...
    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": 42 }),
        )
        .await;
    reply.expect_error("INVALID_REQUEST", Some("brief"));
    let reply = buyer
        .call("get_products", json!({ "buying_mode": "sideways" }))
        .await;
    reply.expect_error("INVALID_REQUEST", Some("buying_mode"));
    // ...then the request schema, with the JSONPath-lite field and the RFC 6901 pointer.
    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "pagination": { "max_results": "ten" } }),
        )
        .await;
    reply.expect_error("VALIDATION_ERROR", Some("pagination.max_results"));
    assert_eq!(
        reply.body["adcp_error"]["issues"][0]["pointer"],
        "/pagination/max_results"
    );

    let reply = buyer
        .call("no_such_tool", json!({ "context": { "k": 1 } }))
        .await;
    reply.expect_error("UNSUPPORTED_FEATURE", None);
    assert_eq!(reply.body["context"], json!({ "k": 1 }));

    // A tool of the manifest this seller does not implement is unknown too.
    buyer
        .call("sync_plans", json!({}))
        .await
        .expect_error("UNSUPPORTED_FEATURE", None);

    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "account": "acc" }),
        )
        .await;
    reply.expect_error("VALIDATION_ERROR", Some("account"));
    still_serving(&buyer).await;
    assert_eq!(
        observed
            .platform_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "bad requests never reach the platform"
    );
}

#[tokio::test]
async fn credentials_are_checked_at_the_edge() {
    let observed = Arc::new(Observed::default());
    let running = serve(builder(&observed).build().unwrap()).await;
    let call = json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": { "name": "get_products", "arguments": {} } });
    let client = reqwest::Client::new();
    for (auth, expect_invalid) in [(None, false), (Some("Bearer wrong"), true)] {
        let mut request = client
            .post(&running.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .body(call.to_string());
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        let challenge = response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(challenge.starts_with("Bearer realm="), "{challenge}");
        assert_eq!(challenge.contains("invalid_token"), expect_invalid);
        let body: Value = response.json().await.unwrap();
        let code = body["error"]["data"]["adcp_error"]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_eq!(
            code,
            if expect_invalid {
                "AUTH_INVALID"
            } else {
                "AUTH_MISSING"
            }
        );
    }
    // Capability discovery stays public (an MCP session needs credentials, so anonymous
    // callers reach it statelessly).
    let stateless = serve_with(
        builder(&std::sync::Arc::new(Observed::default()))
            .build()
            .unwrap(),
        adcp_server::HttpConfig {
            sessions: false,
            ..adcp_server::HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let anonymous = Buyer::connect(&stateless.url, None).await;
    let caps = anonymous.call("get_adcp_capabilities", json!({})).await;
    assert_eq!(caps.ok()["adcp"]["major_versions"], json!([3]));
}

#[tokio::test]
async fn a_panicking_platform_gets_a_clean_error_and_the_server_keeps_serving() {
    let Seller {
        observed: _observed,
        running: _running,
        buyer,
        ..
    } = seller(false).await;
    let reply = buyer
        .call("get_products", json!({ "buying_mode": "brief", "brief": "x", "ext": { "panic": true }, "context": { "p": 1 } }))
        .await;
    reply.expect_error("SERVICE_UNAVAILABLE", None);
    assert_eq!(reply.body["context"], json!({ "p": 1 }));
    assert!(
        !reply.body.to_string().contains("scripted panic"),
        "no internals reach the wire"
    );
    still_serving(&buyer).await;
}

#[tokio::test]
async fn session_streams_need_credentials_and_stateless_mode_carries_the_principal() {
    let observed = Arc::new(Observed::default());
    let running = serve(builder(&observed).build().unwrap()).await;
    let response = reqwest::Client::new()
        .get(&running.url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", "whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));

    let stateless = serve_with(
        builder(&Arc::new(Observed::default())).build().unwrap(),
        adcp_server::HttpConfig {
            sessions: false,
            ..adcp_server::HttpConfig::default()
        }
        .with_authenticator(tokens()),
    )
    .await;
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "list_tasks",
        "arguments": { "account": account("acme.example") } } });
    let response = reqwest::Client::new()
        .post(&stateless.url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", "Bearer token-a")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.unwrap();
    // list_tasks resolves the account and principal: an answer proves the principal reached
    // the handler without an MCP session.
    assert_eq!(
        body["result"]["structuredContent"]["tasks"],
        json!([]),
        "{body:#}"
    );
    assert_eq!(body["result"]["isError"], false);
}
