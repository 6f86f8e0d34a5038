//! Captures every log line (all crates, TRACE) of whole delivery runs and checks that no token,
//! credential, signature, URL path or query string reaches it; also checks the emission gates'
//! logging (silent for SDK-internal task types, one warning when delivery is not wired).

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use adcp_types::TaskStatus;
use adcp_webhooks::outbox::{DeliveryState, OutboxWorkerConfig, PgOutbox};
use adcp_webhooks::retry::RetryPolicy;
use adcp_webhooks::{
    EmitOutcome, InMemoryConfig, InMemorySupervisor, TerminalCompletion, TerminalEmitter,
};
use common::{Answer, Receiver, loopback_sender, test_signer};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        capture
    })
}

fn logs() -> String {
    String::from_utf8_lossy(&capture().0.lock().unwrap()).into_owned()
}

const TOKEN: &str = "tok_SECRETtoken_0123456789";
const HMAC_SECRET: &str = "hmac_SECRETcredential_0123456789abcdef";
const BEARER: &str = "bearer_SECRETcredential_0123456789abcd";
const QUERY_SECRET: &str = "QUERYSECRETvalue";
const PATH_SECRET: &str = "PATHSECRETsegment";

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

fn push(receiver: &Receiver, auth: Option<(&str, &str)>) -> Value {
    let mut push = json!({
        "url": receiver.url(&format!("/hooks/{PATH_SECRET}?sig={QUERY_SECRET}")),
        "operation_id": "op_logs",
        "token": TOKEN,
    });
    if let Some((scheme, credentials)) = auth {
        push["authentication"] = json!({"schemes": [scheme], "credentials": credentials});
    }
    push
}

fn assert_no_secret(log: &str, received: &[common::Received]) {
    let mut secrets: Vec<String> = [TOKEN, HMAC_SECRET, BEARER, QUERY_SECRET, PATH_SECRET]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for request in received {
        for name in ["signature", "x-adcp-signature", "authorization"] {
            if let Some(value) = request.header(name) {
                secrets.push(
                    value
                        .trim_start_matches("sig1=:")
                        .trim_end_matches(':')
                        .to_owned(),
                );
            }
        }
    }
    for secret in secrets {
        assert!(
            !log.contains(&secret),
            "a log line contains a secret ({} chars)",
            secret.len()
        );
    }
}

#[tokio::test]
async fn a_whole_in_memory_and_outbox_run_logs_no_secret() {
    capture();
    let receiver = Receiver::start().await;
    receiver.script([Answer::Status(503), Answer::Status(404)]);
    let config = InMemoryConfig {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..InMemoryConfig::default()
    };
    let supervisor = InMemorySupervisor::start(loopback_sender(Some(test_signer())), config);
    let emitter = TerminalEmitter::new(Some(Arc::new(supervisor.clone())));
    let result = json!({"products": [], "credentials": "stripped-credential-value"});
    let signed = push(&receiver, None);
    let hmac = push(&receiver, Some(("HMAC-SHA256", HMAC_SECRET)));
    let bearer = push(&receiver, Some(("Bearer", BEARER)));
    emitter
        .emit_terminal_completion(&completion("task_log_1", &signed, &result))
        .await
        .unwrap();
    emitter
        .emit_terminal_completion(&completion("task_log_2", &hmac, &result))
        .await
        .unwrap();
    emitter
        .emit_terminal_completion(&completion("task_log_3", &bearer, &result))
        .await
        .unwrap();
    let blocked = json!({"url": format!("https://169.254.169.254/{PATH_SECRET}?x={QUERY_SECRET}"), "token": TOKEN});
    emitter
        .emit_terminal_completion(&completion("task_log_4", &blocked, &result))
        .await
        .unwrap();
    let broken = json!({"url": receiver.url("/h"), "token": "short", "authentication": {"schemes": ["Bearer"], "credentials": BEARER}});
    let outcome = emitter
        .emit_terminal_completion(&completion("task_log_5", &broken, &result))
        .await
        .unwrap();
    assert_eq!(outcome, EmitOutcome::InvalidPushConfig);
    assert!(supervisor.wait_idle(Duration::from_secs(10)).await);

    let db = adcp_pg_harness::fresh_database().await;
    let outbox = PgOutbox::new(db.pool().clone());
    outbox.migrate().await.unwrap();
    let durable = TerminalEmitter::new(Some(Arc::new(outbox.clone())));
    durable
        .emit_terminal_completion(&completion("task_log_6", &signed, &result))
        .await
        .unwrap();
    durable
        .emit_terminal_completion(&completion("task_log_7", &hmac, &result))
        .await
        .unwrap();
    let stop = CancellationToken::new();
    let (worker_outbox, token) = (outbox.clone(), stop.clone());
    let worker_config = OutboxWorkerConfig {
        poll_interval: Duration::from_millis(50),
        ..OutboxWorkerConfig::default()
    };
    let worker = tokio::spawn(async move {
        worker_outbox
            .run_worker(loopback_sender(Some(test_signer())), worker_config, token)
            .await
            .unwrap();
    });
    for task in ["task_log_6", "task_log_7"] {
        for _ in 0..200 {
            if outbox.deliveries_for_task(task).await.unwrap()[0].state == DeliveryState::Delivered
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    stop.cancel();
    worker.await.unwrap();

    let requests = receiver.received();
    assert!(requests.len() >= 6, "{} requests", requests.len());
    let log = logs();
    assert!(
        log.contains("webhook attempt finished"),
        "the capture works"
    );
    assert!(
        log.contains("dead-lettered"),
        "the 404 was logged as a dead letter"
    );
    assert!(log.contains("retryable:http_503"));
    assert!(log.contains("terminal:ssrf_blocked"));
    assert_no_secret(&log, &requests);
    assert!(!log.contains("stripped-credential-value"));
}

#[tokio::test]
async fn emission_gates_log_nothing_for_internal_types_and_warn_once_when_not_wired() {
    capture();
    let push = json!({"url": "https://buyer.example/h", "operation_id": "op_gate"});
    let result = json!({});
    let unwired = TerminalEmitter::new(None);
    let internal = TerminalCompletion {
        context_id: None,
        task_type: "finalize_proposal",
        ..completion("task_gate_internal", &push, &result)
    };
    assert_eq!(
        unwired.emit_terminal_completion(&internal).await.unwrap(),
        EmitOutcome::NotWebhookTaskType
    );
    assert_eq!(
        unwired
            .emit_terminal_completion(&completion("task_gate_unwired", &push, &result))
            .await
            .unwrap(),
        EmitOutcome::NotWired
    );
    let no_push = TerminalCompletion {
        context_id: None,
        push_config: None,
        ..completion("task_gate_nopush", &push, &result)
    };
    assert_eq!(
        unwired.emit_terminal_completion(&no_push).await.unwrap(),
        EmitOutcome::NoPushConfig
    );
    assert_eq!(
        TerminalEmitter::disabled()
            .emit_terminal_completion(&completion("task_gate_off", &push, &result))
            .await
            .unwrap(),
        EmitOutcome::Disabled
    );
    let running = TerminalCompletion {
        context_id: None,
        status: TaskStatus::Working,
        ..completion("task_gate_working", &push, &result)
    };
    let supervisor = InMemorySupervisor::start(loopback_sender(None), InMemoryConfig::default());
    assert!(
        TerminalEmitter::new(Some(Arc::new(supervisor)))
            .emit_terminal_completion(&running)
            .await
            .is_err()
    );
    let log = logs();
    let lines = |task: &str| log.lines().filter(|l| l.contains(task)).count();
    assert_eq!(
        lines("task_gate_internal"),
        0,
        "SDK-internal task types are silent"
    );
    assert_eq!(
        lines("task_gate_unwired"),
        1,
        "exactly one warning when delivery is not wired"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("task_gate_unwired") && l.contains("WARN"))
    );
    assert_eq!(lines("task_gate_nopush") + lines("task_gate_off"), 0);
}
