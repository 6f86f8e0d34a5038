//! The minimal seller example (`examples/minimal_seller.rs`), driven over MCP as a buyer would:
//! a typed wholesale `get_products`, a handed-off brief with exactly one signed webhook,
//! `get_task_status`, `create_media_buy` and `get_signals`.
//!
//! By default the example's seller runs in this process. With `ADCP_MINIMAL_SELLER_BINARY`
//! set, the same buyer drives that binary instead, started with no environment at all —
//! `cargo xtask adopter` builds it in a fresh project outside the workspace and points here.

use std::process::Stdio;
use std::time::Duration;

use adcp_types::generated::{CreateMediaBuySuccess, GetProductsResponse, GetSignalsResponse};
use serde_json::json;
use tokio::io::AsyncBufReadExt;

use crate::support::{Buyer, Receiver, init, poll_until_terminal, serve_with, verify_signature};

#[path = "../../examples/minimal_seller.rs"]
#[allow(dead_code)]
mod example;

const WAIT: Duration = Duration::from_secs(15);

/// The seller under test: in this process, or the adopter's binary as a child process.
enum Started {
    InProcess(#[allow(dead_code)] crate::support::Running),
    Child(#[allow(dead_code)] tokio::process::Child),
}

async fn start() -> (String, String, Started) {
    init();
    let Some(binary) = std::env::var_os("ADCP_MINIMAL_SELLER_BINARY") else {
        let server = example::server(true).expect("the example seller builds");
        let running = serve_with(server, example::http()).await;
        return (
            running.url.clone(),
            running.base.clone(),
            Started::InProcess(running),
        );
    };
    // Alone in its directory (nothing else is in it), with no environment variable at all.
    let binary = std::path::PathBuf::from(binary);
    let dir = binary
        .parent()
        .expect("the binary sits in a directory")
        .to_owned();
    let mut child = tokio::process::Command::new(&binary)
        .args(["127.0.0.1:0", "--dev"])
        .current_dir(&dir)
        .env_clear()
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the adopter's binary starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let url = tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("stdout reads") {
            if let Some(url) = line.split_whitespace().find(|w| w.starts_with("http://")) {
                return url.to_owned();
            }
        }
        panic!("the binary exited without announcing its URL")
    })
    .await
    .expect("the binary announces its URL");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    let base = url.trim_end_matches("/mcp").to_owned();
    (url, base, Started::Child(child))
}

#[tokio::test]
async fn a_buyer_gets_typed_products_a_signed_webhook_a_buy_and_signals() {
    let (url, base, seller) = start().await;
    let buyer = Buyer::connect(&url, Some("buyer-token")).await;
    let receiver = Receiver::start().await;
    let account = json!({ "brand": { "domain": "acme.example" }, "operator": "acme.example" });

    // Wholesale: answered at once, and the reply reads back as the typed response.
    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "wholesale", "account": account }),
        )
        .await;
    assert_eq!(reply.ok()["status"], "completed");
    let products: GetProductsResponse =
        serde_json::from_value(reply.ok().clone()).expect("a typed get_products reply");
    let product = &products.products.expect("products")[0];
    assert_eq!(product.product_id, "homepage_display");

    // A brief with a push config: submitted now, one signed webhook when the task completes.
    let push = json!({ "url": receiver.url("hooks/brief"), "operation_id": "op-brief",
                       "token": "receiver-token-0123456789abcdef" });
    let reply = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "sports fans", "account": account,
                    "push_notification_config": push }),
        )
        .await;
    assert_eq!(reply.ok()["status"], "submitted");
    let task_id = reply.ok()["task_id"]
        .as_str()
        .expect("a task id")
        .to_owned();
    let status = poll_until_terminal(&buyer, &task_id, &account).await;
    assert_eq!(status["status"], "completed");
    assert_eq!(
        status["result"]["products"][0]["product_id"],
        "homepage_display"
    );
    let hooks = receiver.wait_for("hooks/brief", 1, WAIT).await;
    assert_eq!(hooks.len(), 1, "the terminal webhook arrives");
    let payload = hooks[0].json();
    assert_eq!(
        (payload["task_id"].as_str(), payload["status"].as_str()),
        (Some(task_id.as_str()), Some("completed"))
    );
    verify_signature(&base, &receiver.url("hooks/brief"), &hooks[0]).await;

    // create_media_buy: typed request in, typed success out.
    let reply = buyer
        .call(
            "create_media_buy",
            json!({
                "account": account, "brand": { "domain": "acme.example" },
                "idempotency_key": "buy-0001-0123456789", "start_time": "asap",
                "end_time": "2031-01-31T00:00:00Z",
                "packages": [{ "product_id": "homepage_display", "pricing_option_id": "cpm_usd",
                               "budget": 5000.0, "bid_price": 2.5 }]
            }),
        )
        .await;
    let buy: CreateMediaBuySuccess =
        serde_json::from_value(reply.ok().clone()).expect("a typed create_media_buy success");
    assert_eq!(
        buy.packages[0].product_id.as_deref(),
        Some("homepage_display")
    );

    let reply = buyer
        .call(
            "get_signals",
            json!({ "signal_spec": "sports", "account": account }),
        )
        .await;
    let signals: GetSignalsResponse =
        serde_json::from_value(reply.ok().clone()).expect("a typed get_signals reply");
    assert_eq!(
        signals.signals.expect("signals")[0].signal_agent_segment_id,
        "sports_readers"
    );

    // Exactly one: the task is terminal and its one delivery is on record; nothing else came.
    let all = receiver.received();
    assert_eq!(
        all.len(),
        1,
        "exactly one webhook for one handed-off task: {all:?}"
    );

    mark_driven(seller).await;
}

/// Tells `cargo xtask adopter` the shipped binary (not an in-process seller) was driven: a
/// marker beside the directory the binary sits in. Stops the child first.
async fn mark_driven(seller: Started) {
    if let Started::Child(mut child) = seller {
        assert!(
            child.try_wait().expect("the child's status").is_none(),
            "the seller stayed up"
        );
        child.kill().await.expect("the seller stops");
        let binary = std::env::var_os("ADCP_MINIMAL_SELLER_BINARY").expect("set in this mode");
        let shipped = std::path::Path::new(&binary).parent().expect("a directory");
        let marker = shipped
            .parent()
            .expect("a scratch directory")
            .join("driven");
        std::fs::write(marker, b"ok").expect("the marker is written");
    }
}
