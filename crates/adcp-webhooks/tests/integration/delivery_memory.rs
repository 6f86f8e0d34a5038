//! End-to-end delivery through the in-memory supervisor to a real loopback receiver.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adcp_types::TaskStatus;
use adcp_webhooks::retry::RetryPolicy;
use adcp_webhooks::signing::JwksPublisher;
use adcp_webhooks::signing::legacy::verify_hmac;
use adcp_webhooks::verify::{InboundWebhook, WebhookVerifier};
use adcp_webhooks::{
    BreakerPolicy, EmitOutcome, InMemoryConfig, InMemorySupervisor, TerminalCompletion,
    TerminalEmitter,
};
use common::{Answer, Received, Receiver, loopback_sender, test_signer};
use serde_json::{Value, json};

fn fast_config() -> InMemoryConfig {
    InMemoryConfig {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            horizon: Duration::from_secs(20),
        },
        ..InMemoryConfig::default()
    }
}

fn completion<'a>(task_id: &'a str, push: &'a Value, result: &'a Value) -> TerminalCompletion<'a> {
    TerminalCompletion {
        context_id: None,
        task_id,
        task_type: "get_products",
        protocol: None,
        status: TaskStatus::Completed,
        result: Some(result),
        error: None,
        push_config: Some(push),
        context: None,
        issued_at: None,
    }
}

struct Rig {
    receiver: Receiver,
    supervisor: InMemorySupervisor,
    emitter: TerminalEmitter,
    verifier: WebhookVerifier,
}

async fn rig(config: InMemoryConfig) -> Rig {
    let receiver = Receiver::start().await;
    let signer = test_signer();
    let jwks = JwksPublisher::new().with_key(signer.key()).document();
    let supervisor = InMemorySupervisor::start(loopback_sender(Some(signer)), config);
    let emitter = TerminalEmitter::new(Some(Arc::new(supervisor.clone())));
    Rig {
        receiver,
        supervisor,
        emitter,
        verifier: WebhookVerifier::new(&jwks),
    }
}

fn verify(rig: &Rig, request: &Received) -> Result<(), String> {
    let headers: Vec<(&str, &str)> = request
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let url = rig.receiver.url(&request.path_and_query);
    let inbound = InboundWebhook {
        method: "POST",
        url: &url,
        headers: &headers,
        body: &request.body,
    };
    rig.verifier
        .verify_now(&inbound)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn completed_task_sends_one_signed_schema_valid_webhook() {
    let rig = rig(fast_config()).await;
    let push = json!({
        "url": rig.receiver.url("/hooks/get_products/op_from_path?route=abc"),
        "operation_id": "op_registered_1",
        "token": "tok_0123456789abcdef0123",
    });
    let result = json!({"products": [], "account": {"billing_entity": {"bank": {"iban": "DE00"}}}});
    let outcome = rig
        .emitter
        .emit_terminal_completion(&completion("task_a", &push, &result))
        .await
        .unwrap();
    let EmitOutcome::Enqueued { idempotency_key } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let got = rig.receiver.received();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert_eq!(body["idempotency_key"], idempotency_key.as_str());
    assert_eq!(
        body["operation_id"], "op_registered_1",
        "echoed from the config, never the URL"
    );
    assert_eq!(body["token"], "tok_0123456789abcdef0123");
    assert_eq!(body["task_id"], "task_a");
    assert_eq!(body["task_type"], "get_products");
    assert_eq!(body["protocol"], "media-buy");
    assert_eq!(body["status"], "completed");
    assert!(
        body["result"]["account"]["billing_entity"]
            .get("bank")
            .is_none(),
        "credentials stripped"
    );
    assert_eq!(got[0].header("content-type"), Some("application/json"));
    verify(&rig, &got[0]).unwrap();
    let schemas = adcp_types::validate::SchemaSet::load_default().unwrap();
    schemas
        .validate_schema("core/mcp-webhook-payload.json", &body)
        .unwrap();
}

#[tokio::test]
async fn failed_task_reports_the_error_as_result_errors() {
    let rig = rig(fast_config()).await;
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_f"});
    let error =
        json!({"code": "SERVICE_UNAVAILABLE", "message": "upstream down", "recovery": "transient"});
    let done = TerminalCompletion {
        context_id: None,
        status: TaskStatus::Failed,
        result: None,
        error: Some(&error),
        ..completion("task_f", &push, &error)
    };
    rig.emitter.emit_terminal_completion(&done).await.unwrap();
    let got = rig.receiver.wait_for(1, Duration::from_secs(10)).await;
    let body = got[0].json();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["result"]["errors"][0]["code"], "SERVICE_UNAVAILABLE");
    let schemas = adcp_types::validate::SchemaSet::load_default().unwrap();
    schemas
        .validate_schema("core/mcp-webhook-payload.json", &body)
        .unwrap();
}

#[tokio::test]
async fn server_errors_are_retried_with_the_same_key_and_body_and_a_fresh_nonce() {
    let rig = rig(fast_config()).await;
    rig.receiver.script([
        Answer::Status(503),
        Answer::Status(500),
        Answer::Status(429),
    ]);
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_r"});
    let result = json!({"products": []});
    rig.emitter
        .emit_terminal_completion(&completion("task_r", &push, &result))
        .await
        .unwrap();
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let got = rig.receiver.received();
    assert_eq!(got.len(), 4, "three retryable answers then 200");
    assert!(
        got.iter().all(|r| r.body == got[0].body),
        "byte-identical body"
    );
    let inputs: std::collections::HashSet<_> = got
        .iter()
        .map(|r| r.header("signature-input").unwrap().to_owned())
        .collect();
    assert_eq!(inputs.len(), 4, "fresh nonce per attempt");
    for request in &got {
        verify(&rig, request).unwrap();
    }
    let log = rig.supervisor.attempts();
    let outcomes: Vec<_> = log.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "retryable:http_503",
            "retryable:http_500",
            "retryable:http_429",
            "delivered"
        ]
    );
    assert_eq!(
        log.iter().map(|a| a.attempt).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[tokio::test]
async fn client_errors_are_terminal_and_dead_lettered_then_replayable() {
    let rig = rig(fast_config()).await;
    rig.receiver.script([Answer::Status(404)]);
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_t"});
    let result = json!({"products": []});
    let EmitOutcome::Enqueued { idempotency_key } = rig
        .emitter
        .emit_terminal_completion(&completion("task_t", &push, &result))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(rig.receiver.received().len(), 1, "no retry after 404");
    let dead = rig.supervisor.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "terminal:http_404");
    rig.supervisor.replay_dead_letter(&idempotency_key).unwrap();
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let got = rig.receiver.received();
    assert_eq!(got.len(), 2);
    assert_eq!(
        got[1].idempotency_key(),
        idempotency_key,
        "a replay is the same logical event"
    );
    assert!(rig.supervisor.dead_letters().is_empty());
}

#[tokio::test]
async fn signature_rejection_is_terminal() {
    let rig = rig(fast_config()).await;
    rig.receiver.script([Answer::StatusWithHeader(
        401,
        "www-authenticate",
        "Signature error=\"webhook_signature_invalid\"",
    )]);
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_s"});
    let result = json!({"products": []});
    rig.emitter
        .emit_terminal_completion(&completion("task_s", &push, &result))
        .await
        .unwrap();
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(rig.receiver.received().len(), 1);
    assert_eq!(
        rig.supervisor.dead_letters()[0].reason,
        "terminal:signature_rejected"
    );
}

#[tokio::test]
async fn receiver_down_for_a_while_then_up_gets_the_webhook() {
    let port = common::free_port();
    let signer = test_signer();
    let config = InMemoryConfig {
        breaker: BreakerPolicy {
            failure_threshold: 5,
            open_for: Duration::from_millis(200),
        },
        ..fast_config()
    };
    let supervisor = InMemorySupervisor::start(loopback_sender(Some(signer)), config);
    let emitter = TerminalEmitter::new(Some(Arc::new(supervisor.clone())));
    let push = json!({"url": format!("http://127.0.0.1:{port}/h"), "operation_id": "op_d"});
    let result = json!({"products": []});
    emitter
        .emit_terminal_completion(&completion("task_d", &push, &result))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let failures = supervisor.attempts();
    assert!(
        failures.len() >= 2,
        "connection refused is retried: {failures:?}"
    );
    assert!(
        failures
            .iter()
            .all(|a| a.outcome == "retryable:connect" || a.outcome == "deferred:circuit_open"),
        "{failures:?}"
    );
    let receiver = Receiver::start_on(port).await;
    assert!(supervisor.wait_idle(Duration::from_secs(10)).await);
    let got = receiver.received();
    assert_eq!(got.len(), 1);
    assert_eq!(supervisor.attempts().last().unwrap().outcome, "delivered");
}

#[tokio::test]
async fn the_same_task_is_enqueued_once() {
    let rig = rig(fast_config()).await;
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_once"});
    let result = json!({"products": []});
    let first = rig
        .emitter
        .emit_terminal_completion(&completion("task_once", &push, &result))
        .await
        .unwrap();
    let second = rig
        .emitter
        .emit_terminal_completion(&completion("task_once", &push, &result))
        .await
        .unwrap();
    assert!(matches!(first, EmitOutcome::Enqueued { .. }));
    assert_eq!(second, EmitOutcome::Duplicate);
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(rig.receiver.received().len(), 1);
}

#[tokio::test]
async fn legacy_hmac_and_bearer_registrations_are_never_also_9421_signed() {
    let rig = rig(fast_config()).await;
    let secret = "hmac-shared-secret-0123456789abcdefghij";
    let hmac_push = json!({
        "url": rig.receiver.url("/hmac"),
        "operation_id": "op_h",
        "authentication": {"schemes": ["HMAC-SHA256"], "credentials": secret},
    });
    let bearer_push = json!({
        "url": rig.receiver.url("/bearer"),
        "operation_id": "op_b",
        "authentication": {"schemes": ["Bearer"], "credentials": "bearer-credential-0123456789abcdefgh"},
    });
    let result = json!({"products": []});
    rig.emitter
        .emit_terminal_completion(&completion("task_h", &hmac_push, &result))
        .await
        .unwrap();
    rig.emitter
        .emit_terminal_completion(&completion("task_b", &bearer_push, &result))
        .await
        .unwrap();
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let got = rig.receiver.received();
    let hmac = got.iter().find(|r| r.path_and_query == "/hmac").unwrap();
    let now = chrono::Utc::now().timestamp();
    verify_hmac(
        secret.as_bytes(),
        &hmac.body,
        hmac.header("x-adcp-timestamp").unwrap(),
        hmac.header("x-adcp-signature").unwrap(),
        now,
    )
    .unwrap();
    let bearer = got.iter().find(|r| r.path_and_query == "/bearer").unwrap();
    assert_eq!(
        bearer.header("authorization"),
        Some("Bearer bearer-credential-0123456789abcdefgh")
    );
    for request in [hmac, bearer] {
        assert!(
            request.header("signature").is_none() && request.header("signature-input").is_none()
        );
    }
    assert!(bearer.header("x-adcp-signature").is_none());
}

#[tokio::test]
async fn a_failing_host_opens_its_circuit_and_deliveries_are_deferred() {
    let config = InMemoryConfig {
        breaker: BreakerPolicy {
            failure_threshold: 2,
            open_for: Duration::from_millis(300),
        },
        ..fast_config()
    };
    let rig = rig(config).await;
    rig.receiver.script([
        Answer::Status(503),
        Answer::Status(503),
        Answer::Status(503),
    ]);
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_c"});
    let result = json!({"products": []});
    rig.emitter
        .emit_terminal_completion(&completion("task_c", &push, &result))
        .await
        .unwrap();
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let log = rig.supervisor.attempts();
    assert!(
        log.iter().any(|a| a.outcome == "deferred:circuit_open"),
        "{log:?}"
    );
    assert_eq!(log.last().unwrap().outcome, "delivered");
    assert_eq!(rig.receiver.received().len(), 4);
}

#[tokio::test]
async fn retries_stop_at_the_horizon() {
    let config = InMemoryConfig {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(100),
            horizon: Duration::from_millis(400),
        },
        breaker: BreakerPolicy {
            failure_threshold: 1000,
            ..BreakerPolicy::default()
        },
        ..InMemoryConfig::default()
    };
    let rig = rig(config).await;
    rig.receiver
        .script(std::iter::repeat_n(Answer::Status(502), 1000));
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_z"});
    let result = json!({"products": []});
    rig.emitter
        .emit_terminal_completion(&completion("task_z", &push, &result))
        .await
        .unwrap();
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let dead = rig.supervisor.dead_letters();
    assert_eq!(dead.len(), 1);
    assert!(dead[0].reason.starts_with("horizon"), "{}", dead[0].reason);
    assert!(rig.receiver.received().len() >= 2);
}

#[tokio::test]
async fn a_full_queue_refuses_more_deliveries() {
    let config = InMemoryConfig {
        capacity: 1,
        ..fast_config()
    };
    let rig = rig(config).await;
    rig.receiver
        .script([Answer::Hang(Duration::from_millis(500))]);
    let push = json!({"url": rig.receiver.url("/h"), "operation_id": "op_q"});
    let result = json!({"products": []});
    rig.emitter
        .emit_terminal_completion(&completion("task_q1", &push, &result))
        .await
        .unwrap();
    let refused = rig
        .emitter
        .emit_terminal_completion(&completion("task_q2", &push, &result))
        .await;
    assert!(
        matches!(refused, Err(adcp_webhooks::WebhookError::QueueFull)),
        "{refused:?}"
    );
    assert!(rig.supervisor.wait_idle(Duration::from_secs(10)).await);
    let again = rig
        .emitter
        .emit_terminal_completion(&completion("task_q2", &push, &result))
        .await
        .unwrap();
    assert!(
        matches!(again, EmitOutcome::Enqueued { .. }),
        "a refused delivery may be offered again"
    );
}
