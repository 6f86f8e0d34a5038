//! The demo seller's records driven from the outside: the built `demo_seller` binary on a
//! loopback port, two buyers calling it over A2A JSON-RPC (no session to set up).
//!
//! What issue 15 found wrong and must stay fixed: a live principal naming the sandbox
//! principal's account read and paused its buy; two packages of `budget: 1e308` were stored
//! and broke every later read; `get_media_buys` did not return the create-time `context`.

// A panic is a test failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A compliance test-kit key: the sandbox principal.
const SANDBOX: &str = "demo-acme-outdoor-v1";
/// The live-mode principal.
const LIVE: &str = "demo-acme-outdoor-live-v1";

/// The running demo seller, killed when dropped.
struct Demo {
    child: Child,
    url: String,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    fn start() -> Self {
        // reqwest is built without a TLS crypto provider of its own (the workspace picks ring).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_demo_seller"))
            .args([
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--curation-ms",
                "100",
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the demo seller starts");
        let demo = Self {
            child,
            url: format!("http://127.0.0.1:{port}/a2a"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the demo seller never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        demo
    }

    /// Calls `skill` as the principal of `token` and returns the AdCP body of the answer.
    async fn call(&self, token: &str, skill: &str, parameters: Value) -> Value {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"message": {
                "messageId": uuid::Uuid::new_v4().to_string(), "role": "ROLE_USER",
                "parts": [{"data": {"skill": skill, "parameters": parameters}}]
            }}
        });
        let reply: Value = reqwest::Client::new()
            .post(&self.url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["result"]["task"]["artifacts"][0]["parts"][0]["data"].clone()
    }
}

/// The account both buyers name.
fn account() -> Value {
    json!({"brand": {"domain": "acmeoutdoor.example"}, "operator": "pinnacle-agency.example"})
}

/// A package of the first wholesale product, priced with its first option (bidding above the
/// floor when the option is an auction).
async fn package(demo: &Demo, budget: f64, buyer_ref: &str) -> Value {
    let products = demo
        .call(
            SANDBOX,
            "get_products",
            json!({"buying_mode": "wholesale", "account": account()}),
        )
        .await;
    let product = &products["products"][0];
    let option = &product["pricing_options"][0];
    let mut package = json!({
        "product_id": product["product_id"],
        "pricing_option_id": option["pricing_option_id"],
        "budget": budget,
        "context": {"buyer_ref": buyer_ref}
    });
    if let Some(floor) = option["floor_price"].as_f64() {
        package["bid_price"] = json!(floor * 1.5);
    }
    package
}

fn create(packages: &[Value]) -> Value {
    json!({
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "brand": {"domain": "acmeoutdoor.example"},
        "account": account(),
        "start_time": "2026-04-01T00:00:00Z",
        "end_time": "2026-06-30T23:59:59Z",
        "packages": packages,
        "context": {"correlation_id": "records-test"}
    })
}

#[tokio::test]
async fn a_buy_stays_with_its_principal_and_reads_return_its_context() {
    let demo = Demo::start();
    let created = demo
        .call(
            SANDBOX,
            "create_media_buy",
            create(&[package(&demo, 5_000.0, "line-1").await]),
        )
        .await;
    let id = created["media_buy_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no media_buy_id in {created}"))
        .to_owned();
    let read = |token| {
        demo.call(
            token,
            "get_media_buys",
            json!({"account": account(), "media_buy_ids": [id.clone()]}),
        )
    };

    // Its creator reads it back with the create-time context and what it may do next.
    let own = read(SANDBOX).await;
    let buy = &own["media_buys"][0];
    assert_eq!(buy["media_buy_id"], id.as_str(), "{own}");
    assert_eq!(buy["context"]["correlation_id"], "records-test", "{buy}");
    assert_eq!(
        buy["packages"][0]["context"]["buyer_ref"], "line-1",
        "{buy}"
    );
    assert!(
        !buy["available_actions"].as_array().unwrap().is_empty(),
        "{buy}"
    );

    // Another principal naming the same account neither sees nor changes it.
    let other = read(LIVE).await;
    assert_eq!(other["media_buys"], json!([]), "{other}");
    let pause = demo
        .call(
            LIVE,
            "update_media_buy",
            json!({
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
                "account": account(), "media_buy_id": id, "paused": true
            }),
        )
        .await;
    let code = pause["adcp_error"]["code"].as_str().unwrap_or_default();
    assert!(code.ends_with("NOT_FOUND"), "{pause}");
    let still = read(SANDBOX).await;
    assert_ne!(still["media_buys"][0]["status"], "paused", "{still}");
}

#[tokio::test]
async fn amounts_no_buy_could_spend_are_refused_and_reads_keep_working() {
    let demo = Demo::start();
    let huge = create(&[
        package(&demo, 1e308, "a").await,
        package(&demo, 1e308, "b").await,
    ]);
    let refused = demo.call(SANDBOX, "create_media_buy", huge).await;
    assert!(refused["adcp_error"]["code"].is_string(), "{refused}");
    assert!(refused.get("media_buy_id").is_none(), "{refused}");
    let listed = demo
        .call(SANDBOX, "get_media_buys", json!({"account": account()}))
        .await;
    assert!(listed["media_buys"].is_array(), "{listed}");
    assert!(listed.get("adcp_error").is_none(), "{listed}");
}
