//! Framework tools: capabilities, version negotiation, the sandbox controller, brand.json.

use std::sync::Arc;
use std::time::Duration;

use adcp_server::{Account, AdcpServer, SandboxFixtures, ServerError};
use adcp_types::{AdcpError, Specialism};
use serde_json::{Map, Value, json};

use crate::support::*;

#[tokio::test]
async fn capabilities_are_derived_from_the_server() {
    let observed = Arc::new(Observed::default());
    let running = serve(
        builder(&observed)
            .webhooks(in_memory_webhooks())
            .build()
            .unwrap(),
    )
    .await;
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    let reply = buyer
        .call(
            "get_adcp_capabilities",
            json!({ "context": { "z": 1, "a": 2 } }),
        )
        .await;
    let caps = reply.ok();
    assert_eq!(caps["status"], "completed");
    assert_eq!(caps["adcp"]["major_versions"], json!([3]));
    assert_eq!(caps["adcp"]["supported_versions"], json!(["3.1"]));
    assert_eq!(caps["adcp"]["idempotency"]["supported"], true);
    assert_eq!(caps["adcp"]["idempotency"]["replay_ttl_seconds"], 86_400);
    assert_eq!(caps["supported_protocols"], json!(["media_buy", "signals"]));
    assert_eq!(
        caps["specialisms"],
        json!(["sales-non-guaranteed", "signal-owned"])
    );
    assert_eq!(caps["webhook_signing"]["algorithms"], json!(["ed25519"]));
    assert_eq!(
        caps["identity"]["brand_json_url"],
        "https://seller.example/.well-known/brand.json"
    );
    let scenarios = caps["compliance_testing"]["scenarios"].as_array().unwrap();
    assert!(scenarios.contains(&json!("force_get_products_arm")));
    assert!(!scenarios.contains(&json!("list_scenarios")));
    assert_eq!(caps["context"], json!({ "z": 1, "a": 2 }), "context echoed");
    assert!(caps.get("task_status").is_none() && caps.get("response_status").is_none());

    let mut tools = buyer.tool_names().await;
    tools.sort();
    for expected in [
        "comply_test_controller",
        "create_media_buy",
        "get_adcp_capabilities",
        "get_products",
        "get_signals",
        "get_task_status",
        "list_tasks",
    ] {
        assert!(
            tools.iter().any(|t| t == expected),
            "{expected} in {tools:?}"
        );
    }
}

#[tokio::test]
async fn version_pins_outside_major_3_are_unsupported() {
    let Seller {
        observed: _observed,
        running: _running,
        buyer,
        ..
    } = seller(false).await;
    for (field, value) in [
        ("adcp_major_version", json!(99)),
        ("adcp_version", json!("99.0")),
    ] {
        let reply = buyer
            .call("get_products", json!({ "buying_mode": "brief", "brief": "x", field: value, "context": { "v": 1 } }))
            .await;
        reply.expect_error("VERSION_UNSUPPORTED", Some(field));
        assert_eq!(reply.body["adcp_error"]["recovery"], "correctable");
        assert_eq!(
            reply.body["adcp_error"]["details"]["supported_versions"],
            json!(["3.1"])
        );
        assert_eq!(reply.body["context"], json!({ "v": 1 }));
    }
    let served = buyer
        .call(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "adcp_version": "3.1" }),
        )
        .await;
    assert_eq!(served.ok()["adcp_version"], "3.1");
    let legacy = buyer
        .call(
            "get_products",
            json!({ "brief": "x", "adcp_major_version": 3 }),
        )
        .await;
    assert_eq!(
        legacy.ok()["products"][0]["product_id"],
        "p1",
        "a missing buying_mode means brief"
    );
}

#[tokio::test]
async fn forced_arms_complete_through_the_controller_and_emit_the_webhook() {
    let Seller {
        observed,
        running: _running,
        buyer,
        receiver,
    } = seller(true).await;
    // The controller runs under the runner's own account; the business call under another.
    let forced = buyer
        .call(
            "comply_test_controller",
            json!({
                "scenario": "force_get_products_arm", "account": account("runner.example"),
                "params": { "arm": "submitted", "task_id": "task_forced_products_1" },
                "context": { "step": "force" }
            }),
        )
        .await;
    assert_eq!(
        forced.ok()["forced"],
        json!({ "arm": "submitted", "task_id": "task_forced_products_1" })
    );
    assert_eq!(forced.ok()["success"], true);

    let acct = account("acme.example");
    // Wholesale never consumes the directive.
    buyer
        .call(
            "get_products",
            json!({ "buying_mode": "wholesale", "account": acct }),
        )
        .await
        .ok();
    let submitted = buyer
        .call(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "hooks/forced", "op-forced")
            }),
        )
        .await;
    assert_eq!(submitted.ok()["task_id"], "task_forced_products_1");
    assert_eq!(submitted.ok()["status"], "submitted");
    assert_eq!(
        observed
            .platform_calls
            .load(std::sync::atomic::Ordering::SeqCst),
        1,
        "only the wholesale call reached the platform"
    );

    let result = json!({ "products": [product("forced_1")], "cache_scope": "public", "context": { "correlation_id": "terminal" } });
    let completed = buyer
        .call(
            "comply_test_controller",
            json!({
                "scenario": "force_task_completion", "account": account("runner.example"),
                "params": { "task_id": "task_forced_products_1", "result": result }
            }),
        )
        .await;
    assert_eq!(completed.ok()["current_state"], "completed");
    let status = poll_until_terminal(&buyer, "task_forced_products_1", &acct).await;
    assert_eq!(status["result"]["products"][0]["product_id"], "forced_1");
    let hooks = receiver
        .wait_for("hooks/forced", 1, Duration::from_secs(10))
        .await;
    assert_eq!(
        hooks[0].json()["result"]["products"][0]["product_id"],
        "forced_1"
    );

    let unknown = buyer
        .call(
            "comply_test_controller",
            json!({ "scenario": "force_teleport", "account": account("runner.example") }),
        )
        .await;
    assert!(unknown.is_error);
    assert_eq!(unknown.body["error"], "UNKNOWN_SCENARIO");
    assert_eq!(unknown.body["success"], false);
}

#[tokio::test]
async fn the_controller_refuses_live_accounts() {
    let Seller {
        observed: _observed,
        running: _running,
        buyer,
        ..
    } = seller(false).await;
    let reply = buyer
        .call(
            "comply_test_controller",
            json!({
                "scenario": "force_get_products_arm",
                "account": { "account_id": "live-account" },
                "params": { "arm": "submitted", "task_id": "task_x" },
                "context": { "correlation_id": "gate" }
            }),
        )
        .await;
    assert!(reply.is_error);
    assert_eq!(reply.body["success"], false);
    assert_eq!(reply.body["error"], "FORBIDDEN");
    assert_eq!(reply.body["context"], json!({ "correlation_id": "gate" }));
}

#[tokio::test]
async fn brand_json_points_at_the_jwks() {
    let observed = Arc::new(Observed::default());
    let running = serve(builder(&observed).build().unwrap()).await;
    let brand: serde_json::Value = reqwest::get(format!("{}/.well-known/brand.json", running.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        brand["agents"][0]["jwks_uri"],
        "https://seller.example/.well-known/jwks.json"
    );
    let jwks: serde_json::Value = reqwest::get(format!("{}/.well-known/jwks.json", running.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], "test-key-1");
    assert!(key.get("d").is_none(), "no private material is published");
}

#[tokio::test]
async fn claiming_a_specialism_without_its_tools_fails_at_start_up() {
    let error = AdcpServer::builder()
        .specialism(Specialism::SignalOwned)
        .build()
        .unwrap_err();
    assert!(
        matches!(&error, ServerError::MissingTools { specialism: "signal-owned", missing } if missing == &vec!["get_signals"]),
        "{error}"
    );
    assert!(error.to_string().contains("get_signals"));
}

/// A platform fixture simulating delivery: it answers the scenario's result fields.
#[derive(Debug)]
struct SimulatedDelivery;

#[async_trait::async_trait]
impl SandboxFixtures for SimulatedDelivery {
    fn scenarios(&self) -> Vec<&'static str> {
        vec!["simulate_delivery"]
    }

    async fn apply(
        &self,
        _scenario: &str,
        params: &Value,
        account: &Account,
    ) -> Result<Map<String, Value>, AdcpError> {
        assert!(
            account.is_sandbox(),
            "fixtures only ever see sandbox accounts"
        );
        if params["media_buy_id"] != "mb_1" {
            return Err(AdcpError::new("NOT_FOUND", "no such media buy"));
        }
        let mut fields = Map::new();
        fields.insert(
            "simulated".into(),
            json!({ "impressions": params["impressions"] }),
        );
        fields.insert(
            "cumulative".into(),
            json!({ "impressions": params["impressions"] }),
        );
        Ok(fields)
    }
}

#[tokio::test]
async fn platform_fixtures_answer_their_result_fields_through_the_controller() {
    let Seller {
        running: _running,
        buyer,
        ..
    } = seller_with(false, |builder| builder.sandbox_fixtures(SimulatedDelivery)).await;
    let capabilities = buyer.call("get_adcp_capabilities", json!({})).await;
    assert!(
        capabilities.ok()["compliance_testing"]["scenarios"]
            .as_array()
            .unwrap()
            .contains(&json!("simulate_delivery")),
        "the fixture's scenario is advertised"
    );
    let reply = buyer
        .call(
            "comply_test_controller",
            json!({
                "scenario": "simulate_delivery", "account": account("acme.example"),
                "params": { "media_buy_id": "mb_1", "impressions": 1000 },
                "context": { "correlation_id": "simulate" }
            }),
        )
        .await;
    // Strict mode validated the reply against the SimulationSuccess arm, which requires
    // `simulated`.
    let body = reply.ok();
    assert_eq!(body["success"], true);
    assert_eq!(body["simulated"]["impressions"], 1000);
    assert_eq!(body["cumulative"]["impressions"], 1000);
    assert_eq!(body["message"], "simulate_delivery applied");
    assert_eq!(body["context"]["correlation_id"], "simulate");

    let missing = buyer
        .call(
            "comply_test_controller",
            json!({
                "scenario": "simulate_delivery", "account": account("acme.example"),
                "params": { "media_buy_id": "mb_404" }
            }),
        )
        .await;
    assert!(missing.is_error);
    assert_eq!(missing.body["success"], false);
    assert_eq!(missing.body["error"], "NOT_FOUND");
}

#[tokio::test]
async fn a_repeated_forced_arm_takes_over_its_task_id() {
    let Seller { running, buyer, .. } = seller(true).await;
    let acct = account("acme.example");
    let arm = json!({
        "scenario": "force_get_products_arm", "account": account("runner.example"),
        "params": { "arm": "submitted", "task_id": "task_forced_again" }
    });
    let brief = json!({ "buying_mode": "brief", "brief": "x", "account": acct });
    // A compliance run repeated against the same agent forces the same fixed task id while
    // the first run's task still waits for its completion.
    for run in 0..2 {
        buyer.call("comply_test_controller", arm.clone()).await.ok();
        let submitted = buyer.call("get_products", brief.clone()).await;
        assert!(!submitted.is_error, "run {run}: {}", submitted.body);
        assert_eq!(submitted.ok()["task_id"], "task_forced_again");
        assert_eq!(submitted.ok()["status"], "submitted");
    }
    // Another principal forcing the same id neither takes it over nor disturbs the waiting
    // task: its call meets the id as taken.
    let other = Buyer::connect(&running.url, Some("token-b")).await;
    other.call("comply_test_controller", arm.clone()).await.ok();
    let taken = other.call("get_products", brief.clone()).await;
    assert!(taken.is_error, "{}", taken.body);
    // The owner still re-arms and completes it.
    buyer.call("comply_test_controller", arm.clone()).await.ok();
    let third = buyer.call("get_products", brief.clone()).await;
    assert_eq!(third.ok()["task_id"], "task_forced_again");
    let result = json!({ "products": [product("second")], "cache_scope": "public" });
    let completed = buyer
        .call(
            "comply_test_controller",
            json!({
                "scenario": "force_task_completion", "account": account("runner.example"),
                "params": { "task_id": "task_forced_again", "result": result }
            }),
        )
        .await;
    assert_eq!(completed.ok()["current_state"], "completed");
    let status = poll_until_terminal(&buyer, "task_forced_again", &acct).await;
    assert_eq!(status["status"], "completed");
    assert_eq!(status["result"]["products"][0]["product_id"], "second");
}
