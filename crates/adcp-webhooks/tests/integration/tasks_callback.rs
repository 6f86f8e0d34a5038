//! The in-process seam: `adcp-tasks`' terminal callback emits through the in-memory supervisor.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use adcp_tasks::seams::TerminalCallback;
use adcp_tasks::{NewTask, TaskId, TaskKind, TaskRecord, TaskScope};
use adcp_types::{AdcpProtocol, TaskStatus};
use adcp_webhooks::{InMemoryConfig, InMemorySupervisor, TerminalEmitter, WebhookTerminalCallback};
use common::{Receiver, loopback_sender, test_signer};
use serde_json::json;

fn terminal_record(task_type: &str, webhook: serde_json::Value) -> TaskRecord {
    let scope = TaskScope::new("acct", "owner").unwrap();
    let task = NewTask::new(
        scope,
        TaskKind::new(task_type).unwrap(),
        AdcpProtocol::Signals,
    )
    .with_webhook(webhook);
    let mut record = TaskRecord::submitted(TaskId::generate(), task, chrono::Utc::now());
    record.status = TaskStatus::Completed;
    record.result = Some(json!({"signals": []}));
    record
}

#[tokio::test]
async fn the_terminal_callback_sends_one_webhook_per_task() {
    let receiver = Receiver::start().await;
    let supervisor = InMemorySupervisor::start(
        loopback_sender(Some(test_signer())),
        InMemoryConfig::default(),
    );
    let callback =
        WebhookTerminalCallback::new(TerminalEmitter::new(Some(Arc::new(supervisor.clone()))));
    let record = terminal_record(
        "get_signals",
        json!({"url": receiver.url("/h"), "operation_id": "op_cb"}),
    );
    callback.on_terminal(&record).await;
    callback.on_terminal(&record).await;
    let internal = terminal_record("finalize_proposal", json!({"url": receiver.url("/h")}));
    callback.on_terminal(&internal).await;
    assert!(supervisor.wait_idle(Duration::from_secs(10)).await);
    let got = receiver.received();
    assert_eq!(
        got.len(),
        1,
        "one webhook, and none for the SDK-internal task type"
    );
    let body = got[0].json();
    assert_eq!(body["protocol"], "signals");
    assert_eq!(body["operation_id"], "op_cb");
    assert_eq!(body["task_id"], record.task_id.as_str());
}
