//! `emit_terminal_completion`: the one place that decides whether a finished task sends a
//! webhook, and enqueues it exactly once.
//!
//! Gates, in order: enabled → the task type is one of the rc.9 `task-type` enum's webhook task
//! types (an SDK-internal type returns silently, no log line) → a `push_notification_config` is
//! present → delivery is wired (else one redacted warning) → enqueue with a dedupe key derived
//! from the task, so a second call for the same task is a no-op.

use std::sync::Arc;

use adcp_types::{AdcpProtocol, TaskStatus, TaskType};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::PushNotificationConfig;
use crate::delivery::{DeliverySupervisor, Enqueued, NewDelivery};
use crate::error::WebhookError;
use crate::payload::{WebhookEvent, failure_result, prepare_payload};

/// A task that reached a terminal status, as the emitter needs it.
#[derive(Debug, Clone, Copy)]
pub struct TerminalCompletion<'a> {
    /// The task id.
    pub task_id: &'a str,
    /// The task type as stored (may be an SDK-internal type such as `finalize_proposal`).
    pub task_type: &'a str,
    /// The task's protocol; derived from the task type when `None`.
    pub protocol: Option<AdcpProtocol>,
    /// `completed`, `failed`, `canceled` or `rejected`.
    pub status: TaskStatus,
    /// The full task response of a completed task.
    pub result: Option<&'a Value>,
    /// The wire error of a failed task.
    pub error: Option<&'a Value>,
    /// The buyer's `push_notification_config`, as registered.
    pub push_config: Option<&'a Value>,
    /// The buyer's `context` from the creating request, echoed verbatim.
    pub context: Option<&'a Value>,
    /// When the task was issued; distinguishes two tasks that reuse a forced task id.
    pub issued_at: Option<DateTime<Utc>>,
    /// The conversation the task belongs to (the creating request's `context_id`), echoed as
    /// the payload's `context_id` (A2A bodies: the task's `contextId`).
    pub context_id: Option<&'a str>,
}

/// What [`TerminalEmitter::emit_terminal_completion`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmitOutcome {
    /// Emission is switched off.
    Disabled,
    /// The task type is not a spec webhook task type (silent).
    NotWebhookTaskType,
    /// The buyer registered no webhook; polling only.
    NoPushConfig,
    /// No supervisor is wired; one warning was logged.
    NotWired,
    /// The push config is unusable; one warning was logged.
    InvalidPushConfig,
    /// Queued, with this idempotency key.
    Enqueued {
        /// The payload's idempotency key.
        idempotency_key: String,
    },
    /// This task's webhook was already queued.
    Duplicate,
}

/// The outcome of the gates: either a reason to send nothing, or the delivery to enqueue.
#[derive(Debug)]
pub enum TerminalPlan {
    /// Send nothing, for this reason.
    Skip(EmitOutcome),
    /// Enqueue this delivery.
    Deliver(NewDelivery),
}

/// The dedupe key of a task's terminal webhook.
pub fn terminal_dedupe_key(task_id: &str, issued_at: Option<DateTime<Utc>>) -> String {
    match issued_at {
        Some(at) => format!("terminal:{task_id}:{}", at.timestamp_micros()),
        None => format!("terminal:{task_id}"),
    }
}

/// Applies the gates after "enabled" and "wired" (which depend on the caller's wiring) and
/// builds the delivery. Fails only for a non-terminal status.
pub fn plan_terminal_delivery(
    completion: &TerminalCompletion<'_>,
) -> Result<TerminalPlan, WebhookError> {
    if !completion.status.is_terminal() {
        return Err(WebhookError::InvalidRequest(format!(
            "task status {} is not terminal",
            completion.status.as_str()
        )));
    }
    let Ok(task_type) = completion.task_type.parse::<TaskType>() else {
        return Ok(TerminalPlan::Skip(EmitOutcome::NotWebhookTaskType));
    };
    let Some(raw_config) = completion.push_config.filter(|v| !v.is_null()) else {
        return Ok(TerminalPlan::Skip(EmitOutcome::NoPushConfig));
    };
    let Ok(config) = PushNotificationConfig::from_value(raw_config) else {
        tracing::warn!(
            task_id = %completion.task_id,
            task_type = %completion.task_type,
            "push_notification_config is unusable; no webhook will be sent"
        );
        return Ok(TerminalPlan::Skip(EmitOutcome::InvalidPushConfig));
    };
    let result = match completion.status {
        TaskStatus::Failed => completion.error.or(completion.result).map(failure_result),
        _ => completion.result.cloned(),
    };
    let event = WebhookEvent {
        task_id: completion.task_id.to_owned(),
        task_type,
        protocol: completion.protocol,
        status: completion.status,
        result,
        message: None,
        context_id: completion.context_id.map(str::to_owned),
        context: completion.context.cloned(),
    };
    let payload = prepare_payload(&config, &event);
    Ok(TerminalPlan::Deliver(NewDelivery {
        dedupe_key: terminal_dedupe_key(completion.task_id, completion.issued_at),
        url: config.url,
        auth: config.auth,
        payload,
        task_id: completion.task_id.to_owned(),
        task_type: task_type.as_str().to_owned(),
        operation_id: config.operation_id,
    }))
}

/// Sends each terminal task's webhook through a supervisor, behind the gates of the module docs.
#[derive(Debug, Clone)]
pub struct TerminalEmitter {
    enabled: bool,
    supervisor: Option<Arc<dyn DeliverySupervisor>>,
}

impl TerminalEmitter {
    /// An enabled emitter; `None` means delivery is not wired (every push config is then
    /// dropped with a warning — servers should refuse such registrations up front).
    pub fn new(supervisor: Option<Arc<dyn DeliverySupervisor>>) -> Self {
        Self {
            enabled: true,
            supervisor,
        }
    }

    /// An emitter that never sends.
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            supervisor: None,
        }
    }

    /// Whether a supervisor is wired.
    pub fn is_wired(&self) -> bool {
        self.supervisor.is_some()
    }

    /// Runs the gates and enqueues the task's single terminal webhook.
    ///
    /// Errors: a non-terminal status, or the supervisor refusing the delivery.
    pub async fn emit_terminal_completion(
        &self,
        completion: &TerminalCompletion<'_>,
    ) -> Result<EmitOutcome, WebhookError> {
        if !self.enabled {
            return Ok(EmitOutcome::Disabled);
        }
        if completion.task_type.parse::<TaskType>().is_err() {
            return Ok(EmitOutcome::NotWebhookTaskType);
        }
        if completion.push_config.is_none_or(Value::is_null) {
            return Ok(EmitOutcome::NoPushConfig);
        }
        let Some(supervisor) = &self.supervisor else {
            tracing::warn!(
                task_id = %completion.task_id,
                task_type = %completion.task_type,
                "push_notification_config present but no webhook supervisor is wired; webhook dropped"
            );
            return Ok(EmitOutcome::NotWired);
        };
        let delivery = match plan_terminal_delivery(completion)? {
            TerminalPlan::Skip(outcome) => return Ok(outcome),
            TerminalPlan::Deliver(delivery) => delivery,
        };
        let idempotency_key = delivery.payload.idempotency_key.clone();
        match supervisor.enqueue(delivery).await? {
            Enqueued::Queued => Ok(EmitOutcome::Enqueued { idempotency_key }),
            Enqueued::Duplicate => Ok(EmitOutcome::Duplicate),
        }
    }
}
