//! The A2A binding as an A2A buyer meets it: raw JSON-RPC over loopback HTTP at `/a2a`, the
//! agent card, task polling and cancellation, both push-config forms, the guards, the edge,
//! and the v0.3 dialect.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use adcp_server::HttpConfig;
use serde_json::{Value, json};

use crate::support::*;

const WAIT: Duration = Duration::from_secs(10);

/// The AdCP extension URI the agent card declares.
const ADCP_EXTENSION: &str = "https://adcontextprotocol.org/extensions/adcp/v3";

/// One HTTP answer from the A2A endpoint.
#[derive(Debug)]
pub(crate) struct Answer {
    status: u16,
    challenge: Option<String>,
    body: Value,
}

impl Answer {
    /// The JSON-RPC `result`, asserting the call succeeded at both layers.
    #[track_caller]
    pub(crate) fn result(&self) -> &Value {
        assert_eq!(self.status, 200, "{:#}", self.body);
        assert!(
            self.body.get("error").is_none(),
            "expected a result, got {:#}",
            self.body
        );
        assert_eq!(self.body["jsonrpc"], "2.0");
        &self.body["result"]
    }

    /// The task a `SendMessage` answered with (A2A 1.0: `result.task`).
    #[track_caller]
    pub(crate) fn task(&self) -> &Value {
        let task = &self.result()["task"];
        assert!(task.is_object(), "no task in {:#}", self.body);
        task
    }

    /// Asserts a JSON-RPC error with `code` carrying AdCP error `adcp_code`.
    #[track_caller]
    pub(crate) fn expect_rpc_error(&self, status: u16, code: i64, adcp_code: &str) -> &Value {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(self.body["jsonrpc"], "2.0", "{:#}", self.body);
        assert!(self.body.get("result").is_none(), "{:#}", self.body);
        assert_eq!(self.body["error"]["code"], code, "{:#}", self.body);
        let adcp = &self.body["error"]["data"]["adcp_error"];
        assert_eq!(adcp["code"], adcp_code, "{:#}", self.body);
        assert!(
            self.body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "the JSON-RPC error has a message: {:#}",
            self.body
        );
        adcp
    }
}

/// An A2A buyer: raw JSON-RPC 2.0 over HTTP.
pub(crate) struct A2aBuyer {
    endpoint: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl A2aBuyer {
    pub(crate) fn new(running: &Running, token: Option<&str>) -> Self {
        init();
        Self {
            endpoint: format!("{}/a2a", running.base),
            token: token.map(str::to_owned),
            client: reqwest::Client::new(),
        }
    }

    /// POSTs `body` as is, with `extra` headers.
    async fn post_raw(&self, body: impl Into<reqwest::Body>, extra: &[(&str, &str)]) -> Answer {
        let mut request = self
            .client
            .post(&self.endpoint)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body);
        if let Some(token) = &self.token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer {
            status,
            challenge,
            body,
        }
    }

    pub(crate) async fn rpc(&self, method: &str, params: Value) -> Answer {
        let body = json!({ "jsonrpc": "2.0", "id": "req-1", "method": method, "params": params });
        let answer = self.post_raw(body.to_string(), &[]).await;
        if answer.status == 200 {
            assert_eq!(
                answer.body["id"], "req-1",
                "the id is echoed: {:#}",
                answer.body
            );
        }
        answer
    }

    /// `SendMessage` invoking `skill` with `parameters`, plus any extra members of `params`.
    pub(crate) async fn send(&self, skill: &str, parameters: Value, extra: Value) -> Answer {
        let mut params = json!({ "message": message(skill, parameters) });
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                params[k] = v;
            }
        }
        self.rpc("SendMessage", params).await
    }

    pub(crate) async fn get_task(&self, id: &str, account: &Value) -> Answer {
        self.rpc(
            "GetTask",
            json!({ "id": id, "metadata": { "account": account } }),
        )
        .await
    }

    pub(crate) async fn cancel_task(&self, id: &str, account: &Value) -> Answer {
        self.rpc(
            "CancelTask",
            json!({ "id": id, "metadata": { "account": account } }),
        )
        .await
    }

    /// Polls `GetTask` until the task's state is terminal; returns the task.
    pub(crate) async fn poll_until_terminal(&self, id: &str, account: &Value) -> Value {
        for _ in 0..250 {
            let answer = self.get_task(id, account).await;
            let task = answer.result().clone();
            if matches!(
                task["status"]["state"].as_str(),
                Some(
                    "TASK_STATE_COMPLETED"
                        | "TASK_STATE_FAILED"
                        | "TASK_STATE_CANCELED"
                        | "TASK_STATE_REJECTED"
                )
            ) {
                return task;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("task {id} never became terminal");
    }
}

/// An A2A 1.0 user message whose data part calls `skill`.
pub(crate) fn message(skill: &str, parameters: Value) -> Value {
    json!({
        "messageId": "m1",
        "role": "ROLE_USER",
        "parts": [{ "data": { "skill": skill, "parameters": parameters } }]
    })
}

/// A v0.3 `message/send` params object calling `get_products` with `parameters`.
fn v03_message(parameters: Value) -> Value {
    json!({ "message": {
        "kind": "message", "messageId": "m-v03", "role": "user",
        "parts": [{ "kind": "data", "data": { "skill": "get_products", "parameters": parameters } }]
    } })
}

/// The AdCP body a terminal task carries: `artifacts[0].parts[0].data`.
#[track_caller]
pub(crate) fn artifact_data(task: &Value) -> &Value {
    assert_eq!(task["artifacts"][0]["name"], "result", "{task:#}");
    assert!(
        task["artifacts"][0]["artifactId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{task:#}"
    );
    let data = &task["artifacts"][0]["parts"][0]["data"];
    assert!(data.is_object(), "no data part in {task:#}");
    data
}

/// The AdCP body an interim task carries: `status.message.parts[0].data`.
#[track_caller]
fn status_data(task: &Value) -> &Value {
    assert_eq!(task["status"]["message"]["role"], "ROLE_AGENT", "{task:#}");
    let data = &task["status"]["message"]["parts"][0]["data"];
    assert!(data.is_object(), "no status data part in {task:#}");
    assert!(task.get("artifacts").is_none(), "{task:#}");
    data
}

/// The AdCP error a failed task's artifact carries, asserting the failed shape.
#[track_caller]
fn failed_error(answer: &Answer) -> Value {
    let task = answer.task();
    assert_eq!(task["status"]["state"], "TASK_STATE_FAILED", "{task:#}");
    let body = artifact_data(task);
    assert_eq!(body["status"], "failed", "{body:#}");
    assert!(
        body.pointer("/adcp_error/recovery").is_some(),
        "recovery is always set: {body:#}"
    );
    body["adcp_error"].clone()
}

fn product_ids(body: &Value) -> Vec<&str> {
    body["products"]
        .as_array()
        .unwrap_or_else(|| panic!("no products in {body:#}"))
        .iter()
        .map(|p| p["product_id"].as_str().unwrap())
        .collect()
}

fn platform_calls(observed: &Observed) -> usize {
    observed.platform_calls.load(Ordering::SeqCst)
}

/// The receiver's deliveries at `path`, once `count` have arrived.
pub(crate) async fn hooks_at(receiver: &Receiver, path: &str, count: usize) -> Vec<Received> {
    let hooks = receiver.wait_for(path, count, WAIT).await;
    assert!(
        hooks.len() >= count,
        "{count} webhook(s) expected at /{path}, got {}",
        hooks.len()
    );
    hooks
}

async fn card(base: &str, path: &str) -> Value {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .expect("the card is served");
    assert_eq!(response.status().as_u16(), 200, "{path}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    response.json().await.expect("the card is JSON")
}

#[tokio::test]
async fn the_agent_card_lists_one_skill_per_tool_at_both_paths() {
    let Seller { running, buyer, .. } = seller(true).await;
    init();
    let current = card(&running.base, "/.well-known/agent-card.json").await;
    let older = card(&running.base, "/.well-known/agent.json").await;
    assert_eq!(current, older, "both paths serve the same card");

    let endpoint = format!("{}/a2a", running.base);
    let interface = &current["supportedInterfaces"][0];
    assert_eq!(interface["url"], endpoint.as_str(), "{current:#}");
    assert_eq!(interface["protocolBinding"], "JSONRPC", "{current:#}");
    assert_eq!(current["url"], endpoint.as_str(), "the v0.3 url member");
    assert_eq!(current["preferredTransport"], "JSONRPC");

    let mut skills: Vec<String> = current["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert_eq!(s["id"], s["name"], "{s:#}");
            s["id"].as_str().unwrap().to_owned()
        })
        .collect();
    skills.sort();
    let mut tools: Vec<String> = buyer
        .tool_names()
        .await
        .into_iter()
        .filter(|name| name != "tasks/get")
        .collect();
    tools.sort();
    assert_eq!(skills, tools, "one skill per MCP tool, tasks/get excepted");
    assert!(skills.iter().any(|s| s == "get_products"));
    assert!(skills.iter().any(|s| s == "get_adcp_capabilities"));

    let capabilities = &current["capabilities"];
    assert_eq!(capabilities["pushNotifications"], true, "{capabilities:#}");
    assert_eq!(capabilities["streaming"], false, "{capabilities:#}");
    assert!(
        capabilities["extensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["uri"] == ADCP_EXTENSION),
        "{capabilities:#}"
    );
    assert!(
        current["securitySchemes"]
            .as_object()
            .is_some_and(|s| !s.is_empty()),
        "an authenticated agent declares its scheme: {current:#}"
    );

    // Without webhook delivery or an authenticator the card says so.
    let plain = serve_with(
        builder(&Arc::new(Observed::default())).build().unwrap(),
        HttpConfig::default(),
    )
    .await;
    let bare = card(&plain.base, "/.well-known/agent-card.json").await;
    assert_eq!(bare["capabilities"]["pushNotifications"], false, "{bare:#}");
    assert!(
        bare.get("securitySchemes").is_none_or(Value::is_null),
        "{bare:#}"
    );
    assert_eq!(
        bare["supportedInterfaces"][0]["url"],
        format!("{}/a2a", plain.base).as_str()
    );
}

#[tokio::test]
async fn a_synchronous_wholesale_call_completes_with_the_same_body_as_over_mcp() {
    let Seller {
        observed,
        running,
        buyer,
        ..
    } = seller(false).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let parameters = json!({
        "buying_mode": "wholesale",
        "context": { "correlation_id": "sync-1", "n": 2 }
    });
    let mut params = json!({ "message": message("get_products", parameters.clone()) });
    params["message"]["contextId"] = json!("ctx-sync-1");
    let answer = a2a.rpc("SendMessage", params).await;
    let task = answer.task();
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task:#}");
    assert_eq!(task["contextId"], "ctx-sync-1", "the message's contextId");
    assert!(task["id"].as_str().is_some_and(|id| !id.is_empty()));
    let body = artifact_data(task).clone();
    assert_eq!(product_ids(&body), ["p1", "p2"]);
    assert_eq!(body["status"], "completed");
    assert_eq!(
        body["context"],
        json!({ "correlation_id": "sync-1", "n": 2 })
    );

    let over_mcp = buyer.call("get_products", parameters).await;
    let mcp_body = over_mcp.ok();
    assert_eq!(&body, mcp_body, "A2A and MCP answer the same AdCP body");
    assert_eq!(platform_calls(&observed), 2);
}

#[tokio::test]
async fn a_handoff_is_submitted_polled_and_delivers_one_signed_webhook() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let answer = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "outdoor video", "account": acct,
                "push_notification_config": push(&receiver, "hooks/a2a-handoff", "op-a2a-1"),
                "context": { "correlation_id": "handoff-1" },
                "ext": { "handoff": true }
            }),
            json!({}),
        )
        .await;
    let task = answer.task().clone();
    // rc.9 `a2a_submitted_artifact`: the A2A task is completed; the AdCP `submitted` arm is
    // its artifact.
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task:#}");
    let submitted = artifact_data(&task);
    assert_eq!(submitted["status"], "submitted");
    let task_id = submitted["task_id"].as_str().unwrap().to_owned();
    assert_eq!(task["id"], task_id.as_str(), "task.id is the AdCP task_id");
    assert_eq!(submitted["context"]["correlation_id"], "handoff-1");
    assert!(submitted.get("products").is_none());

    let done = a2a.poll_until_terminal(&task_id, &acct).await;
    assert_eq!(done["status"]["state"], "TASK_STATE_COMPLETED", "{done:#}");
    assert_eq!(done["id"], task_id.as_str());
    assert_eq!(product_ids(artifact_data(&done)), ["p1", "p2"]);

    // The task is terminal, so its one terminal webhook is due; read the record once it came.
    let hooks = hooks_at(&receiver, "hooks/a2a-handoff", 1).await;
    let for_task: Vec<&Received> = hooks
        .iter()
        .filter(|h| h.json()["task_id"] == task_id.as_str())
        .collect();
    assert_eq!(
        for_task.len(),
        1,
        "exactly one terminal webhook for the task"
    );
    assert_eq!(receiver.received().len(), 1, "nothing else was delivered");
    let payload = for_task[0].json();
    assert_eq!(payload["status"], "completed", "{payload:#}");
    assert_eq!(payload["operation_id"], "op-a2a-1");
    assert_eq!(payload["task_type"], "get_products");
    assert_eq!(payload["token"], "receiver-token-0123456789abcdef");
    assert_eq!(product_ids(&payload["result"]), ["p1", "p2"]);
    verify_signature(
        &running.base,
        &receiver.url("hooks/a2a-handoff"),
        for_task[0],
    )
    .await;

    // ListTasks shows it to its owner.
    let listed = a2a
        .rpc("ListTasks", json!({ "metadata": { "account": acct } }))
        .await;
    let listed = listed.result();
    assert_eq!(listed["tasks"][0]["id"], task_id.as_str(), "{listed:#}");
    assert_eq!(
        listed["tasks"][0]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(listed["totalSize"], 1, "{listed:#}");
    assert_eq!(listed["pageSize"], 1, "{listed:#}");
    assert_eq!(listed["nextPageToken"], "", "{listed:#}");
}

#[tokio::test]
async fn another_principals_or_an_unknown_task_is_not_found() {
    let Seller { running, .. } = seller(false).await;
    let owner = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let answer = owner
        .send(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true } }),
            json!({}),
        )
        .await;
    let task_id = answer.task()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        owner.poll_until_terminal(&task_id, &acct).await["status"]["state"],
        "TASK_STATE_COMPLETED"
    );

    let intruder = A2aBuyer::new(&running, Some("token-b"));
    let denied = intruder.get_task(&task_id, &acct).await;
    denied.expect_rpc_error(200, -32001, "REFERENCE_NOT_FOUND");
    let unknown = owner.get_task("task_does_not_exist", &acct).await;
    unknown.expect_rpc_error(200, -32001, "REFERENCE_NOT_FOUND");
    let other_account = owner
        .get_task(&task_id, &account("otherbrand.example"))
        .await;
    other_account.expect_rpc_error(200, -32001, "REFERENCE_NOT_FOUND");
    // The intruder cannot cancel it either, nor see it listed.
    intruder
        .cancel_task(&task_id, &acct)
        .await
        .expect_rpc_error(200, -32001, "REFERENCE_NOT_FOUND");
    let listed = intruder
        .rpc("ListTasks", json!({ "metadata": { "account": acct } }))
        .await;
    assert_eq!(listed.result()["tasks"], json!([]));
    // A missing id is a parameter error naming the member.
    let missing = owner
        .rpc("GetTask", json!({ "metadata": { "account": acct } }))
        .await;
    let error = missing.expect_rpc_error(200, -32602, "INVALID_REQUEST");
    assert_eq!(error["field"], "params.id");
}

#[tokio::test]
async fn canceling_a_running_handoff_ends_it_once_with_one_canceled_webhook() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let answer = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "slow curation", "account": acct,
                "push_notification_config": push(&receiver, "hooks/a2a-cancel", "op-cancel"),
                // Held open far longer than the test runs.
                "ext": { "handoff": true, "work_ms": 60_000 }
            }),
            json!({}),
        )
        .await;
    let task_id = answer.task()["id"].as_str().unwrap().to_owned();
    let running_task = a2a.get_task(&task_id, &acct).await;
    assert!(
        matches!(
            running_task.result()["status"]["state"].as_str(),
            Some("TASK_STATE_SUBMITTED" | "TASK_STATE_WORKING")
        ),
        "{:#}",
        running_task.body
    );
    // An unfinished AdCP task's status body rides in the status message.
    let running_status = status_data(running_task.result());
    assert_eq!(running_status["task_id"], task_id.as_str());
    assert_eq!(running_status["task_type"], "get_products");

    let canceled = a2a.cancel_task(&task_id, &acct).await;
    let canceled = canceled.result();
    assert_eq!(canceled["id"], task_id.as_str(), "{canceled:#}");
    assert_eq!(
        canceled["status"]["state"], "TASK_STATE_CANCELED",
        "{canceled:#}"
    );

    let after = a2a.get_task(&task_id, &acct).await;
    assert_eq!(
        after.result()["status"]["state"],
        "TASK_STATE_CANCELED",
        "{:#}",
        after.body
    );

    let hooks = hooks_at(&receiver, "hooks/a2a-cancel", 1).await;
    assert_eq!(hooks.len(), 1, "exactly one terminal webhook");
    let payload = hooks[0].json();
    assert_eq!(payload["task_id"], task_id.as_str(), "{payload:#}");
    assert_eq!(payload["status"], "canceled", "{payload:#}");
    assert_eq!(payload["operation_id"], "op-cancel");
    verify_signature(&running.base, &receiver.url("hooks/a2a-cancel"), &hooks[0]).await;
}

#[tokio::test]
async fn canceling_a_finished_task_is_refused_as_not_cancelable() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");

    // A completed task.
    let answer = a2a
        .send(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true } }),
            json!({}),
        )
        .await;
    let completed = answer.task()["id"].as_str().unwrap().to_owned();
    a2a.poll_until_terminal(&completed, &acct).await;
    let error = a2a
        .cancel_task(&completed, &acct)
        .await
        .expect_rpc_error(200, -32002, "NOT_CANCELLABLE")
        .clone();
    assert_eq!(error["field"], "task_id");
    assert_eq!(
        a2a.get_task(&completed, &acct).await.result()["status"]["state"],
        "TASK_STATE_COMPLETED",
        "a refused cancel changes nothing"
    );

    // A task already canceled is finished too (A2A: TaskNotCancelableError for any terminal
    // state), and a second cancel must not send a second terminal webhook.
    let answer = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "hooks/recancel", "op-recancel"),
                "ext": { "handoff": true, "work_ms": 60_000 }
            }),
            json!({}),
        )
        .await;
    let canceled = answer.task()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a2a.cancel_task(&canceled, &acct).await.result()["status"]["state"],
        "TASK_STATE_CANCELED"
    );
    hooks_at(&receiver, "hooks/recancel", 1).await;
    let again = a2a.cancel_task(&canceled, &acct).await;
    let error = again.expect_rpc_error(200, -32002, "NOT_CANCELLABLE");
    assert_eq!(error["field"], "task_id");
    assert_eq!(
        receiver.received().len(),
        1,
        "a refused second cancel sends nothing"
    );
}

#[tokio::test]
async fn the_buyers_context_id_stays_the_tasks_context_id() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let mut params = json!({ "message": message("get_products", json!({
        "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true }
    })) });
    params["message"]["contextId"] = json!("ctx-thread-1");
    params["configuration"] =
        json!({ "taskPushNotificationConfig": { "url": receiver.url("hooks/ctx") } });
    let answer = a2a.rpc("SendMessage", params).await;
    let task = answer.task();
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task:#}");
    assert_eq!(artifact_data(task)["status"], "submitted", "{task:#}");
    assert_eq!(task["contextId"], "ctx-thread-1", "{task:#}");
    let task_id = task["id"].as_str().unwrap().to_owned();

    // A2A: a task belongs to one context for its whole life; every view of it says which.
    let done = a2a.poll_until_terminal(&task_id, &acct).await;
    assert_eq!(done["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(
        done["contextId"], "ctx-thread-1",
        "GetTask reports the context the task was created in: {done:#}"
    );
    let hooks = hooks_at(&receiver, "hooks/ctx", 1).await;
    assert_eq!(
        hooks[0].json()["task"]["contextId"],
        "ctx-thread-1",
        "the push notification names the same context"
    );
}

#[tokio::test]
async fn an_a2a_native_push_config_delivers_a_signed_a2a_task_body() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let url = receiver.url("hooks/a2a-native");
    let answer = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "outdoor", "account": acct,
                "context": { "correlation_id": "native-1" },
                "ext": { "handoff": true }
            }),
            json!({ "configuration": { "taskPushNotificationConfig": {
                "url": url, "token": "native-token-0123456789"
            } } }),
        )
        .await;
    let task = answer.task().clone();
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task:#}");
    assert_eq!(artifact_data(&task)["status"], "submitted", "{task:#}");
    let task_id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(
        a2a.poll_until_terminal(&task_id, &acct).await["status"]["state"],
        "TASK_STATE_COMPLETED"
    );

    let hooks = hooks_at(&receiver, "hooks/a2a-native", 1).await;
    assert_eq!(hooks.len(), 1, "exactly one terminal webhook");
    let body = hooks[0].json();
    let hooked = &body["task"];
    assert_eq!(hooked["id"], task_id.as_str(), "{body:#}");
    assert!(
        hooked["contextId"].as_str().is_some_and(|c| !c.is_empty()),
        "{body:#}"
    );
    assert_eq!(
        hooked["status"]["state"], "TASK_STATE_COMPLETED",
        "{body:#}"
    );
    assert_eq!(
        product_ids(&hooked["artifacts"][0]["parts"][0]["data"]),
        ["p1", "p2"]
    );
    let adcp = &hooked["metadata"]["adcp"];
    assert!(
        adcp["idempotency_key"]
            .as_str()
            .is_some_and(|k| k.len() >= 16),
        "{body:#}"
    );
    assert_eq!(adcp["task_type"], "get_products", "{body:#}");
    assert_eq!(adcp["token"], "native-token-0123456789", "{body:#}");
    assert_eq!(adcp["context"]["correlation_id"], "native-1", "{body:#}");
    assert!(
        body.get("task_id").is_none() && body.get("status").is_none(),
        "not the AdCP payload shape: {body:#}"
    );
    verify_signature(&running.base, &url, &hooks[0]).await;

    // Both forms at once are refused, naming the A2A member.
    let both = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "hooks/x", "op-x"),
                "ext": { "handoff": true }
            }),
            json!({ "configuration": { "taskPushNotificationConfig": { "url": url } } }),
        )
        .await;
    let error = failed_error(&both);
    assert_eq!(error["code"], "INVALID_REQUEST");
    assert_eq!(error["field"], "params.configuration");
}

#[tokio::test]
async fn the_guards_refuse_over_a2a_what_they_refuse_over_mcp() {
    let Seller {
        observed,
        running,
        buyer,
        receiver,
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");

    // Wholesale with a push config: the same error as over MCP, context echoed.
    let wholesale = json!({
        "buying_mode": "wholesale", "account": acct,
        "push_notification_config": push(&receiver, "h", "op"),
        "context": { "n": 1 }
    });
    let over_mcp = buyer.call("get_products", wholesale.clone()).await;
    over_mcp.expect_error("INVALID_REQUEST", Some("push_notification_config"));
    let answer = a2a.send("get_products", wholesale, json!({})).await;
    let error = failed_error(&answer);
    assert_eq!(error["code"], "INVALID_REQUEST");
    assert_eq!(error["field"], "push_notification_config");
    assert_eq!(error, over_mcp.body["adcp_error"], "the same AdCP error");
    assert_eq!(artifact_data(answer.task())["context"], json!({ "n": 1 }));

    // The A2A-native form is refused for wholesale too.
    let native = a2a
        .send(
            "get_products",
            json!({ "buying_mode": "wholesale", "account": acct }),
            json!({ "configuration": { "taskPushNotificationConfig": { "url": receiver.url("h") } } }),
        )
        .await;
    assert_eq!(failed_error(&native)["code"], "INVALID_REQUEST");

    // A push URL to a blocked address, in either form, before the platform runs.
    let ssrf = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": { "url": "https://10.0.0.1/hook?secret=QUERYSECRET", "operation_id": "op_1" }
            }),
            json!({}),
        )
        .await;
    let error = failed_error(&ssrf);
    assert_eq!(error["code"], "INVALID_REQUEST", "{error:#}");
    assert_eq!(error["field"], "push_notification_config.url", "{error:#}");
    assert_eq!(error["recovery"], "correctable");
    assert!(
        !ssrf.body.to_string().contains("QUERYSECRET"),
        "the URL's query string is never echoed"
    );
    let ssrf_native = a2a
        .send(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "account": acct }),
            json!({ "configuration": { "taskPushNotificationConfig": {
                "url": "https://169.254.169.254/latest/meta-data"
            } } }),
        )
        .await;
    let error = failed_error(&ssrf_native);
    assert_eq!(error["code"], "INVALID_REQUEST", "{error:#}");
    // Named where this buyer put it, not at the AdCP member it never wrote.
    assert_eq!(
        error["field"], "params.configuration.taskPushNotificationConfig.url",
        "{error:#}"
    );
    assert_eq!(
        platform_calls(&observed),
        0,
        "refused before the platform ran"
    );

    // Without webhook delivery wired, a push config is refused, not ignored.
    let quiet = serve(builder(&Arc::new(Observed::default())).build().unwrap()).await;
    let quiet_a2a = A2aBuyer::new(&quiet, Some("token-a"));
    let refused = quiet_a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "h", "op")
            }),
            json!({}),
        )
        .await;
    let error = failed_error(&refused);
    assert_eq!(error["code"], "INVALID_REQUEST");
    assert_eq!(error["field"], "push_notification_config");
    let refused_native = quiet_a2a
        .send(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "x", "account": acct }),
            json!({ "configuration": { "taskPushNotificationConfig": { "url": receiver.url("h") } } }),
        )
        .await;
    assert_eq!(failed_error(&refused_native)["code"], "INVALID_REQUEST");
    assert!(receiver.received().is_empty(), "no webhook was sent");
}

/// A seller with a 64 KiB body limit, and its A2A buyer (token-a).
async fn guarded_seller() -> (Arc<Observed>, Running, A2aBuyer) {
    let observed = Arc::new(Observed::default());
    let running = serve_with(
        builder(&observed).build().unwrap(),
        HttpConfig {
            max_body_bytes: 64 * 1024,
            ..HttpConfig::default().with_authenticator(tokens())
        },
    )
    .await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    (observed, running, a2a)
}

/// A well-formed call still completes.
async fn still_serving(a2a: &A2aBuyer) {
    let answer = a2a
        .send(
            "get_products",
            json!({ "buying_mode": "wholesale" }),
            json!({}),
        )
        .await;
    assert_eq!(product_ids(artifact_data(answer.task())), ["p1", "p2"]);
}

#[tokio::test]
async fn transport_garbage_gets_json_rpc_errors_and_the_server_keeps_serving() {
    let (observed, running, a2a) = guarded_seller().await;

    let not_json = a2a
        .post_raw(r#"{"jsonrpc":"2.0","id":1,"method":"SendMess"#, &[])
        .await;
    let error = not_json.expect_rpc_error(400, -32700, "INVALID_REQUEST");
    assert_eq!(error["field"], "body");
    assert_eq!(error["recovery"], "correctable");

    let batch = json!([{ "jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {} }]);
    let error = a2a
        .post_raw(batch.to_string(), &[])
        .await
        .expect_rpc_error(400, -32600, "INVALID_REQUEST")
        .clone();
    assert_eq!(error["field"], "body");

    let no_method = json!({ "jsonrpc": "2.0", "id": 3, "params": {} });
    let answer = a2a.post_raw(no_method.to_string(), &[]).await;
    assert_eq!(answer.body["id"], 3, "{:#}", answer.body);
    assert_eq!(
        answer.expect_rpc_error(400, -32600, "INVALID_REQUEST")["field"],
        "method"
    );

    let unknown = json!({ "jsonrpc": "2.0", "id": 9, "method": "Frobnicate", "params": {} });
    let answer = a2a.post_raw(unknown.to_string(), &[]).await;
    assert_eq!(answer.body["id"], 9);
    assert_eq!(
        answer.expect_rpc_error(200, -32601, "INVALID_REQUEST")["field"],
        "method"
    );

    let streaming = a2a.rpc("SendStreamingMessage", json!({})).await;
    streaming.expect_rpc_error(200, -32004, "UNSUPPORTED_FEATURE");

    let no_message = a2a.rpc("SendMessage", json!({})).await;
    assert_eq!(
        no_message.expect_rpc_error(200, -32602, "INVALID_REQUEST")["field"],
        "params.message"
    );
    still_serving(&a2a).await;

    let huge = json!({ "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": { "message": message("get_products",
            json!({ "buying_mode": "brief", "brief": "x".repeat(128 * 1024) })) } });
    let answer = a2a.post_raw(huge.to_string(), &[]).await;
    answer.expect_rpc_error(413, -32600, "INVALID_REQUEST");
    still_serving(&a2a).await;

    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{{"message":{{"messageId":"m3","role":"ROLE_USER","parts":[{{"data":{{"skill":"get_products","parameters":{{"brief":{}{}}}}}}}]}}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(deep.len() < 64 * 1024, "under the body limit");
    let answer = a2a.post_raw(deep, &[]).await;
    answer.expect_rpc_error(400, -32700, "INVALID_REQUEST");
    still_serving(&a2a).await;

    let rebinding = a2a
        .post_raw(
            json!({ "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
                    "params": { "message": message("get_products", json!({ "buying_mode": "wholesale" })) } })
            .to_string(),
            &[("host", "attacker.example")],
        )
        .await;
    assert_eq!(
        rebinding.expect_rpc_error(403, -32600, "PERMISSION_DENIED")["field"],
        "Host"
    );
    let card = reqwest::Client::new()
        .get(format!("{}/.well-known/agent-card.json", running.base))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        card.status().as_u16(),
        403,
        "the card obeys the Host allow-list"
    );
    still_serving(&a2a).await;
    assert_eq!(
        platform_calls(&observed),
        4,
        "only the well-formed calls reached the platform"
    );
}

#[tokio::test]
async fn messages_that_call_no_valid_skill_get_failed_tasks_naming_the_problem() {
    let (observed, _running, a2a) = guarded_seller().await;

    let text_only = a2a
        .rpc(
            "SendMessage",
            json!({ "message": { "messageId": "m2", "role": "ROLE_USER",
                                 "parts": [{ "text": "get me some products" }] } }),
        )
        .await;
    let error = failed_error(&text_only);
    assert_eq!(error["code"], "INVALID_REQUEST");
    assert_eq!(error["field"], "params.message.parts");

    let unknown_skill = a2a
        .send("no_such_skill", json!({ "context": { "k": 1 } }), json!({}))
        .await;
    assert_eq!(failed_error(&unknown_skill)["code"], "UNSUPPORTED_FEATURE");
    assert_eq!(
        artifact_data(unknown_skill.task())["context"],
        json!({ "k": 1 })
    );

    let not_an_object = a2a.send("get_products", json!([1, 2]), json!({})).await;
    let error = failed_error(&not_an_object);
    assert_eq!(error["code"], "INVALID_REQUEST");
    assert_eq!(error["field"], "params.message.parts.data.parameters");

    let invalid = a2a
        .send(
            "get_products",
            json!({ "buying_mode": "sideways" }),
            json!({}),
        )
        .await;
    assert_eq!(failed_error(&invalid)["field"], "buying_mode");
    assert_eq!(platform_calls(&observed), 0, "nothing reached the platform");
    still_serving(&a2a).await;
    assert_eq!(platform_calls(&observed), 1);
}

#[tokio::test]
async fn the_v03_method_names_answer_v03_shapes() {
    let Seller { running, .. } = seller(false).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");

    let answer = a2a
        .rpc(
            "message/send",
            v03_message(json!({ "buying_mode": "wholesale", "context": { "v": 3 } })),
        )
        .await;
    let task = answer.result();
    assert_eq!(
        task["kind"], "task",
        "the result is the task itself: {task:#}"
    );
    assert!(task.get("task").is_none(), "{task:#}");
    assert_eq!(task["status"]["state"], "completed", "{task:#}");
    let part = &task["artifacts"][0]["parts"][0];
    assert_eq!(part["kind"], "data", "{task:#}");
    assert_eq!(product_ids(&part["data"]), ["p1", "p2"]);
    assert_eq!(part["data"]["context"], json!({ "v": 3 }));

    let handoff = a2a
        .rpc(
            "message/send",
            v03_message(json!({
                "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true }
            })),
        )
        .await;
    let task = handoff.result();
    assert_eq!(task["kind"], "task");
    assert_eq!(task["status"]["state"], "completed", "{task:#}");
    let part = &task["artifacts"][0]["parts"][0];
    assert_eq!(part["kind"], "data", "{task:#}");
    assert_eq!(part["data"]["status"], "submitted", "{task:#}");
    let task_id = task["id"].as_str().unwrap().to_owned();
    assert_eq!(part["data"]["task_id"], task_id.as_str());

    let mut last = Value::Null;
    for _ in 0..250 {
        let polled = a2a
            .rpc(
                "tasks/get",
                json!({ "id": task_id, "metadata": { "account": acct } }),
            )
            .await;
        last = polled.result().clone();
        assert_eq!(last["kind"], "task", "{last:#}");
        let state = last["status"]["state"].as_str().unwrap().to_owned();
        assert!(
            ["submitted", "working", "completed"].contains(&state.as_str()),
            "a v0.3 lowercase state: {last:#}"
        );
        if state == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"]["state"], "completed", "{last:#}");
    assert_eq!(last["artifacts"][0]["parts"][0]["kind"], "data");
    assert_eq!(
        product_ids(&last["artifacts"][0]["parts"][0]["data"]),
        ["p1", "p2"]
    );

    let again = a2a
        .rpc(
            "tasks/cancel",
            json!({ "id": task_id, "metadata": { "account": acct } }),
        )
        .await;
    again.expect_rpc_error(200, -32002, "NOT_CANCELLABLE");
}

#[tokio::test]
async fn credentials_are_checked_before_any_protected_skill() {
    let observed = Arc::new(Observed::default());
    let running = serve(builder(&observed).build().unwrap()).await;

    let anonymous = A2aBuyer::new(&running, None);
    let missing = anonymous
        .send(
            "get_products",
            json!({ "buying_mode": "wholesale" }),
            json!({}),
        )
        .await;
    missing.expect_rpc_error(401, -32028, "AUTH_MISSING");
    let challenge = missing
        .challenge
        .clone()
        .expect("a WWW-Authenticate challenge");
    assert!(
        challenge.starts_with("Bearer realm=\"adcp\""),
        "{challenge}"
    );
    assert!(!challenge.contains("invalid_token"), "{challenge}");
    anonymous
        .get_task("task_x", &account("acme.example"))
        .await
        .expect_rpc_error(401, -32028, "AUTH_MISSING");
    anonymous
        .rpc("ListTasks", json!({}))
        .await
        .expect_rpc_error(401, -32028, "AUTH_MISSING");

    let caps = anonymous
        .send("get_adcp_capabilities", json!({}), json!({}))
        .await;
    let task = caps.task();
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{task:#}");
    assert_eq!(artifact_data(task)["adcp"]["major_versions"], json!([3]));

    let wrong = A2aBuyer::new(&running, Some("wrong-token"));
    for answer in [
        wrong
            .send(
                "get_products",
                json!({ "buying_mode": "wholesale" }),
                json!({}),
            )
            .await,
        wrong
            .send("get_adcp_capabilities", json!({}), json!({}))
            .await,
    ] {
        answer.expect_rpc_error(401, -32028, "AUTH_INVALID");
        let challenge = answer
            .challenge
            .clone()
            .expect("a WWW-Authenticate challenge");
        assert!(challenge.contains("invalid_token"), "{challenge}");
    }
    assert_eq!(platform_calls(&observed), 0);

    let authorized = A2aBuyer::new(&running, Some("token-b"));
    let answer = authorized
        .send(
            "get_products",
            json!({ "buying_mode": "wholesale" }),
            json!({}),
        )
        .await;
    assert_eq!(product_ids(artifact_data(answer.task())), ["p1", "p2"]);
}

#[tokio::test]
async fn a_draining_server_refuses_new_a2a_work_but_answers_get_task_and_delivers() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let answer = a2a
        .send(
            "get_products",
            json!({
                "buying_mode": "brief", "brief": "x", "account": acct,
                "push_notification_config": push(&receiver, "hooks/a2a-drain", "op-drain"),
                "ext": { "handoff": true, "work_ms": 400 }
            }),
            json!({}),
        )
        .await;
    let task_id = answer.task()["id"].as_str().unwrap().to_owned();
    let server = running.server.clone();
    let stopping =
        tokio::spawn(async move { server.stop(&adcp_server::StopPolicy::default()).await });
    while !running.server.is_draining() {
        tokio::task::yield_now().await;
    }
    // New work: a failed task with a transient SERVICE_UNAVAILABLE (retry elsewhere).
    let refused = a2a
        .send(
            "get_products",
            json!({ "buying_mode": "brief", "brief": "y", "context": { "k": 1 } }),
            json!({}),
        )
        .await;
    let error = failed_error(&refused);
    assert_eq!(error["code"], "SERVICE_UNAVAILABLE", "{error:#}");
    assert_eq!(error["recovery"], "transient");
    // Polling goes on while the task finishes.
    let polled = a2a.get_task(&task_id, &acct).await;
    assert!(polled.result()["status"]["state"].is_string());
    let report = stopping.await.unwrap();
    assert_eq!(
        (report.tasks_finished, report.tasks_failed),
        (1, 0),
        "{report:?}"
    );
    assert_eq!(report.webhooks_undelivered, 0);
    // Its one terminal webhook went out before stop() returned.
    let hooks = receiver.received();
    assert_eq!(hooks.len(), 1, "one webhook for the drained task");
    assert_eq!(hooks[0].json()["task_id"], task_id.as_str());
    assert_eq!(hooks[0].json()["status"], "completed");
}

#[tokio::test]
async fn a2a_refuses_cross_site_posts_notifications_and_bad_context_ids() {
    let (observed, running, a2a) = guarded_seller().await;
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": { "message": message("get_products", json!({ "buying_mode": "wholesale" })) } });

    // A browser's cross-site "simple" POST is text/plain: refused before any skill runs.
    let response = reqwest::Client::new()
        .post(format!("{}/a2a", running.base))
        .header("content-type", "text/plain")
        .header("authorization", "Bearer token-a")
        .body(call.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 415);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["data"]["adcp_error"]["field"], "Content-Type");

    // A2A has no notifications: a request without an id is refused, not run.
    let mut notification = call.clone();
    notification.as_object_mut().unwrap().remove("id");
    let answer = a2a.post_raw(notification.to_string(), &[]).await;
    assert_eq!(
        answer.expect_rpc_error(400, -32600, "INVALID_REQUEST")["field"],
        "id"
    );
    assert_eq!(platform_calls(&observed), 0, "nothing ran");

    // A contextId that cannot name a conversation is a transport fault naming it.
    let mut params =
        json!({ "message": message("get_products", json!({ "buying_mode": "wholesale" })) });
    params["message"]["contextId"] = json!("bad\u{0000}id");
    let answer = a2a.rpc("SendMessage", params).await;
    assert_eq!(
        answer.expect_rpc_error(200, -32602, "INVALID_REQUEST")["field"],
        "params.message.contextId"
    );
    // One that contradicts the parameters' context_id is refused as a failed task.
    let mut params = json!({ "message": message("get_products",
        json!({ "buying_mode": "wholesale", "context_id": "ctx-a" })) });
    params["message"]["contextId"] = json!("ctx-b");
    let error = failed_error(&a2a.rpc("SendMessage", params).await);
    assert_eq!(
        error["field"],
        "params.message.parts.data.parameters.context_id"
    );
    assert_eq!(platform_calls(&observed), 0, "nothing ran");
    still_serving(&a2a).await;
}

#[tokio::test]
async fn a_v03_buyers_push_config_gets_a_v03_task_webhook() {
    let Seller {
        running, receiver, ..
    } = seller(true).await;
    let a2a = A2aBuyer::new(&running, Some("token-a"));
    let acct = account("acme.example");
    let mut params = v03_message(json!({
        "buying_mode": "brief", "brief": "x", "account": acct, "ext": { "handoff": true }
    }));
    params["configuration"] =
        json!({ "pushNotificationConfig": { "url": receiver.url("hooks/v03") } });
    let answer = a2a.rpc("message/send", params).await;
    let task = answer.result();
    assert_eq!(task["kind"], "task", "{task:#}");
    let task_id = task["id"].as_str().unwrap().to_owned();
    a2a.poll_until_terminal(&task_id, &acct).await;
    let hooks = hooks_at(&receiver, "hooks/v03", 1).await;
    assert_eq!(hooks.len(), 1, "exactly one terminal webhook");
    let body = hooks[0].json();
    assert_eq!(body["kind"], "task", "{body:#}");
    assert_eq!(body["id"], task_id.as_str());
    assert_eq!(body["status"]["state"], "completed");
    assert_eq!(body["artifacts"][0]["parts"][0]["kind"], "data");
    verify_signature(&running.base, &receiver.url("hooks/v03"), &hooks[0]).await;
}
