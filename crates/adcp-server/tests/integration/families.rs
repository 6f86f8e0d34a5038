//! The table-declared specialism families (buyer data, creative, governance, ...) served over
//! MCP: typed decoding, the async path with exactly one webhook, and start-up checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use adcp_server::{
    AccountsPlatform, AccountsTool, AdcpServer, BuyerDataPlatform, BuyerDataTool, CallContext,
    CreativePlatform, CreativeTool, ServerError, TaskResult,
};
use adcp_types::generated::{
    ListAccountsRequest, ListAccountsResponse, ListTransformersRequest, ListTransformersResponse,
    SyncAudiencesRequest, SyncAudiencesResponse,
};
use adcp_types::{AdcpError, Specialism};
use serde_json::{Value, json};

use crate::support::{
    Buyer, Observed, Receiver, account, builder, in_memory_webhooks, poll_until_terminal, push,
    serve,
};

/// Audiences: brief-free matching that hands off when the request's `ext.slow` is set.
#[derive(Debug, Default)]
struct Audiences {
    calls: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl BuyerDataPlatform for Audiences {
    fn tools(&self) -> Vec<BuyerDataTool> {
        vec![BuyerDataTool::SyncAudiences]
    }

    async fn sync_audiences(
        &self,
        request: SyncAudiencesRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncAudiencesResponse>, AdcpError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let ids: Vec<String> = request
            .audiences
            .iter()
            .flatten()
            .map(|audience| audience.audience_id.clone())
            .collect();
        let body: SyncAudiencesResponse = serde_json::from_value(json!({
            "audiences": ids.iter().map(|id| json!({ "audience_id": id, "action": "created" })).collect::<Vec<_>>()
        }))
        .map_err(|_| AdcpError::internal())?;
        let slow = request
            .ext
            .as_ref()
            .and_then(|ext| ext.get("slow"))
            .and_then(Value::as_bool)
            == Some(true);
        if !slow {
            return Ok(TaskResult::Completed(body));
        }
        Ok(ctx
            .handoff_to_task(move |_task| async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Ok::<_, AdcpError>(body)
            })
            .into())
    }
}

/// Lists no accounts; serves `list_accounts` only.
struct Accounts;

#[async_trait::async_trait]
impl AccountsPlatform for Accounts {
    fn tools(&self) -> Vec<AccountsTool> {
        vec![AccountsTool::ListAccounts]
    }

    async fn list_accounts(
        &self,
        _request: ListAccountsRequest,
        _ctx: &CallContext,
    ) -> Result<ListAccountsResponse, AdcpError> {
        serde_json::from_value(json!({ "accounts": [] })).map_err(|_| AdcpError::internal())
    }
}

/// Lists `list_transformers` and `list_creatives` but implements only the first.
struct Transformers;

#[async_trait::async_trait]
impl CreativePlatform for Transformers {
    fn tools(&self) -> Vec<CreativeTool> {
        vec![CreativeTool::ListTransformers, CreativeTool::ListCreatives]
    }

    async fn list_transformers(
        &self,
        _request: ListTransformersRequest,
        ctx: &CallContext,
    ) -> Result<ListTransformersResponse, AdcpError> {
        // Not a protocol task type: asking to push the result must be a no-op.
        ctx.push_completion();
        serde_json::from_value(json!({ "transformers": [] })).map_err(|_| AdcpError::internal())
    }
}

fn audiences_request(acct: &Value, key: &str) -> Value {
    json!({
        "account": acct, "idempotency_key": key,
        "audiences": [{ "audience_id": "aud_hikers", "name": "Hikers" }]
    })
}

#[tokio::test]
async fn buyer_data_creative_and_account_families_are_served_typed() {
    let observed = Arc::new(Observed::default());
    let audiences = Audiences::default();
    let calls = Arc::clone(&audiences.calls);
    let server = builder(&observed)
        .buyer_data(audiences)
        .account_tools(Accounts)
        .creative(Transformers)
        .specialism(Specialism::AudienceSync)
        .webhooks(in_memory_webhooks())
        .build()
        .unwrap();
    let running = serve(server).await;
    let buyer = Buyer::connect(&running.url, Some("token-a")).await;
    let receiver = Receiver::start().await;
    let acct = account("acme.example");

    let names = buyer.tool_names().await;
    for tool in [
        "sync_audiences",
        "list_accounts",
        "list_transformers",
        "list_creatives",
    ] {
        assert!(
            names.iter().any(|n| n == tool),
            "{tool} is listed: {names:?}"
        );
    }
    assert!(
        !names.iter().any(|n| n == "sync_catalogs"),
        "not listed, not served"
    );

    // Synchronous: typed result, no webhook even with a registration.
    let mut sync = audiences_request(&acct, "aud-sync-0123456789");
    sync["push_notification_config"] = push(&receiver, "hooks/aud-sync", "op-aud-sync");
    let reply = buyer.call("sync_audiences", sync.clone()).await;
    let body = reply.ok();
    assert_eq!(body["status"], "completed");
    assert_eq!(body["audiences"][0]["audience_id"], "aud_hikers");

    // Handoff with a push config: submitted, pollable, exactly one completed webhook.
    let mut slow = audiences_request(&acct, "aud-slow-0123456789");
    slow["ext"] = json!({ "slow": true });
    slow["push_notification_config"] = push(&receiver, "hooks/aud", "op-aud");
    let reply = buyer.call("sync_audiences", slow).await;
    let submitted = reply.ok();
    assert_eq!(submitted["status"], "submitted");
    let task_id = submitted["task_id"].as_str().unwrap().to_owned();
    let status = poll_until_terminal(&buyer, &task_id, &acct).await;
    assert_eq!(status["status"], "completed");
    assert_eq!(status["task_type"], "sync_audiences");
    let hooks = receiver
        .wait_for("hooks/aud", 1, Duration::from_secs(5))
        .await;
    assert_eq!(hooks.len(), 1);
    let hook = hooks[0].json();
    assert_eq!(hook["operation_id"], "op-aud");
    assert_eq!(hook["task_id"], task_id.as_str());
    assert_eq!(hook["status"], "completed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "one webhook, none for the sync call"
    );

    // Mutating family tools follow the idempotency rules: a replay does not run it again.
    let before = calls.load(Ordering::SeqCst);
    let replay = buyer.call("sync_audiences", sync).await;
    assert_eq!(replay.ok()["replayed"], true);
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // Typed decoding names the offending field.
    buyer
        .call(
            "sync_audiences",
            json!({ "account": acct, "idempotency_key": "aud-bad-0123456789", "audiences": "none" }),
        )
        .await
        .expect_error("VALIDATION_ERROR", Some("audiences"));

    // The other families.
    let accounts = buyer.call("list_accounts", json!({})).await;
    assert_eq!(accounts.ok()["accounts"], json!([]));
    let transformers = buyer
        .call(
            "list_transformers",
            json!({ "account": acct, "push_notification_config": push(&receiver, "hooks/tr", "op-tr") }),
        )
        .await;
    let body = transformers.ok();
    assert_eq!(body["transformers"], json!([]));
    assert!(
        body.get("task_id").is_none(),
        "no task for a non-task tool: {body}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        receiver
            .wait_for("hooks/tr", 1, Duration::from_millis(10))
            .await
            .is_empty()
    );
    // Listed but not implemented: a clear UNSUPPORTED_FEATURE, not a crash.
    buyer
        .call("list_creatives", json!({}))
        .await
        .expect_error("UNSUPPORTED_FEATURE", None);
}

/// A JSON handler answering every call with an empty object.
struct Empty;

#[async_trait::async_trait]
impl adcp_server::ToolHandler for Empty {
    async fn call(
        &self,
        _request: Value,
        _ctx: &CallContext,
    ) -> Result<adcp_server::Outcome<Value>, AdcpError> {
        Ok(adcp_server::Outcome::Completed(json!({})))
    }
}

#[test]
fn a_tool_served_twice_fails_at_start_up() {
    for builder in [
        AdcpServer::builder()
            .tool("list_accounts", Empty)
            .tool("list_accounts", Empty),
        AdcpServer::builder()
            .account_tools(Accounts)
            .tool("list_accounts", Empty),
    ] {
        match builder.build() {
            Err(ServerError::InvalidTool { tool, reason }) => {
                assert_eq!(tool, "list_accounts");
                assert_eq!(reason, "registered twice");
            }
            Err(other) => panic!("expected InvalidTool, got {other}"),
            Ok(_) => panic!("a tool served twice was accepted"),
        }
    }
}

#[test]
fn claiming_a_family_specialism_without_its_tools_fails_at_start_up() {
    let error = AdcpServer::builder()
        .specialism(Specialism::AudienceSync)
        .account_tools(Accounts)
        .build()
        .unwrap_err();
    match error {
        ServerError::MissingTools { missing, .. } => {
            assert_eq!(missing, vec!["sync_audiences"]);
        }
        other => panic!("expected MissingTools, got {other}"),
    }
    // Sub-protocol tools (property lists are `property` in the manifest) and build_creative
    // (filed under media-buy) still count for their specialisms.
    for (specialism, tool) in [
        (Specialism::PropertyLists, "create_property_list"),
        (Specialism::CollectionLists, "create_collection_list"),
        (Specialism::ContentStandards, "list_content_standards"),
        (Specialism::CreativeTemplate, "build_creative"),
    ] {
        match AdcpServer::builder().specialism(specialism).build() {
            Err(ServerError::MissingTools { missing, .. }) => assert_eq!(missing, vec![tool]),
            Err(other) => panic!("{specialism:?}: expected MissingTools, got {other}"),
            Ok(_) => panic!("{specialism:?} claimed without {tool}"),
        }
    }
}

#[cfg(feature = "governance")]
mod governance {
    use super::*;
    use adcp_server::{GovernancePlatform, GovernanceTool};
    use adcp_types::generated::{CreatePropertyListRequest, CreatePropertyListResponse};

    struct Lists;

    #[async_trait::async_trait]
    impl GovernancePlatform for Lists {
        fn tools(&self) -> Vec<GovernanceTool> {
            vec![GovernanceTool::CreatePropertyList]
        }

        async fn create_property_list(
            &self,
            request: CreatePropertyListRequest,
            ctx: &CallContext,
        ) -> Result<TaskResult<CreatePropertyListResponse>, AdcpError> {
            let body: CreatePropertyListResponse = serde_json::from_value(json!({
                "list": { "list_id": "pl_1", "name": request.name },
                "auth_token": "list-token"
            }))
            .map_err(|_| AdcpError::internal())?;
            Ok(ctx
                .handoff_to_task(move |_task| async move { Ok::<_, AdcpError>(body) })
                .into())
        }
    }

    #[tokio::test]
    async fn a_property_list_handoff_pushes_exactly_one_webhook() {
        let observed = Arc::new(Observed::default());
        let server = builder(&observed)
            .governance(Lists)
            .specialism(Specialism::PropertyLists)
            .webhooks(in_memory_webhooks())
            .build()
            .unwrap();
        let running = serve(server).await;
        let buyer = Buyer::connect(&running.url, Some("token-a")).await;
        let receiver = Receiver::start().await;
        let acct = account("acme.example");
        let reply = buyer
            .call(
                "create_property_list",
                json!({
                    "account": acct, "name": "Premium news", "idempotency_key": "pl-create-0123456789",
                    "push_notification_config": push(&receiver, "hooks/pl", "op-pl")
                }),
            )
            .await;
        let task_id = reply.ok()["task_id"].as_str().unwrap().to_owned();
        let status = poll_until_terminal(&buyer, &task_id, &acct).await;
        assert_eq!(status["status"], "completed");
        assert_eq!(status["result"]["list"]["list_id"], "pl_1");
        let hooks = receiver
            .wait_for("hooks/pl", 1, Duration::from_secs(5))
            .await;
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].json()["operation_id"], "op-pl");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(receiver.received().len(), 1);
    }
}

#[tokio::test]
async fn a_seller_taking_creatives_does_not_claim_the_creative_protocol() {
    let observed = Arc::new(Observed::default());
    let protocols = |server: AdcpServer| async move {
        let running = crate::support::serve(server).await;
        let buyer = Buyer::connect(&running.url, Some("token-a")).await;
        let caps = buyer.call("get_adcp_capabilities", json!({})).await;
        caps.ok()["supported_protocols"].clone()
    };
    // list_creatives and sync_creatives are part of buying media.
    let seller = builder(&observed)
        .tool("list_creatives", Empty)
        .tool("sync_creatives", Empty)
        .build()
        .unwrap();
    assert_eq!(protocols(seller).await, json!(["media_buy", "signals"]));
    // Previewing renderings is what a creative agent does (the creative baseline's step).
    let creative = builder(&observed)
        .tool("list_creatives", Empty)
        .tool("preview_creative", Empty)
        .build()
        .unwrap();
    let claimed = protocols(creative).await;
    assert!(
        claimed.as_array().unwrap().contains(&json!("creative")),
        "{claimed}"
    );
}
