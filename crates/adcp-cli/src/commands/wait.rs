//! Following a handed-off task: detecting the handoff, polling `get_task_status` until the task
//! ends, and the "waiting" display shared with `--webhook`.

use std::time::{Duration, Instant};

use adcp_conformance::client::ToolResponse;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::agent::Agent;
use crate::error::CliError;
use crate::output;

/// The first pause between polls; later ones grow by half up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(250);

/// The longest pause between polls.
const MAX_POLL: Duration = Duration::from_secs(5);

/// Statuses after which polling stops: the terminal ones, and those that wait for the buyer.
const STOP: [&str; 6] = [
    "completed",
    "failed",
    "canceled",
    "rejected",
    "input-required",
    "auth-required",
];

/// The task id when `response` says the call was handed off to a task (`status` submitted or
/// working, with a `task_id`; over A2A, the task envelope's id when the body has none).
pub(crate) fn handed_off(response: &ToolResponse) -> Option<String> {
    let data = response.data()?;
    let status = data.get("status").and_then(Value::as_str)?;
    if !matches!(status, "submitted" | "working") {
        return None;
    }
    data.get("task_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| response.a2a_task.as_ref().and_then(|t| t.id.clone()))
}

/// Whether `status` ends the wait.
pub(crate) fn stops_waiting(status: &str) -> bool {
    STOP.contains(&status)
}

/// How a wait ended.
#[derive(Debug)]
pub(crate) enum Waited {
    /// The last `get_task_status` answer, with a status in [`STOP`] or an error.
    Ended(ToolResponse),
    /// The deadline passed first; the last status seen.
    TimedOut(String),
}

/// Polls `get_task_status` for `task_id` until the status is one that stops the wait, the
/// agent answers with an error, or `timeout` passes. The original call's `account`, when it
/// had one, is sent along (sellers scope tasks by account).
pub(crate) async fn poll(
    agent: &Agent,
    task_id: &str,
    original: &Value,
    timeout: Duration,
) -> Result<Waited, CliError> {
    let mut request = json!({"task_id": task_id, "include_result": true});
    if let Some(account) = original.get("account") {
        request["account"] = account.clone();
    }
    let display = Waiting::start(&format!("task {task_id}"));
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_POLL;
    let mut last = String::from("submitted");
    loop {
        let response = agent.call("get_task_status", &request).await?;
        let status = response
            .data()
            .and_then(|d| d.get("status").and_then(Value::as_str).map(str::to_owned));
        match status {
            Some(status) if !stops_waiting(&status) && response.succeeded() => {
                if status != last {
                    display.update(&format!("task {task_id}: {status}"));
                    last = status;
                }
            }
            _ => return Ok(Waited::Ended(response)),
        }
        if Instant::now() + pause > deadline {
            return Ok(Waited::TimedOut(last));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 3 / 2).min(MAX_POLL);
    }
}

/// A "waiting for …" display on standard error: a spinner on a terminal, plain lines
/// (one per change) otherwise. It disappears when dropped.
#[derive(Debug)]
pub(crate) struct Waiting {
    bar: Option<ProgressBar>,
}

impl Waiting {
    /// Starts the display with `what` (e.g. `task tk_1`).
    pub(crate) fn start(what: &str) -> Self {
        let bar = output::stderr_is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed}] waiting for {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar.set_message(what.to_owned());
            bar
        });
        if bar.is_none() {
            output::note(&format!("waiting for {what}"));
        }
        Self { bar }
    }

    /// Shows `what` as the new state.
    pub(crate) fn update(&self, what: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(what.to_owned()),
            None => output::note(&format!("waiting for {what}")),
        }
    }

    /// Runs `print` with the spinner out of the way (so printed lines are not overdrawn).
    pub(crate) fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structured(value: Value) -> ToolResponse {
        ToolResponse {
            structured: Some(value),
            ..ToolResponse::default()
        }
    }

    #[test]
    fn only_submitted_or_working_with_a_task_id_is_a_handoff() {
        assert_eq!(
            handed_off(&structured(json!({"status": "submitted", "task_id": "t1"}))).as_deref(),
            Some("t1")
        );
        assert_eq!(
            handed_off(&structured(json!({"status": "working", "task_id": "t2"}))).as_deref(),
            Some("t2")
        );
        assert!(handed_off(&structured(json!({"status": "completed", "task_id": "t3"}))).is_none());
        assert!(handed_off(&structured(json!({"status": "submitted"}))).is_none());
        assert!(stops_waiting("completed") && stops_waiting("input-required"));
        assert!(!stops_waiting("working"));
    }
}
