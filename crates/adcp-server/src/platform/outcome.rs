//! What a platform method returns: an answer now, or work handed to a task.

use adcp_tasks::TaskHandoff;

/// The result of a platform method that may run as a task: the value now, or a
/// [`TaskHandoff`] the server starts (the buyer then gets `{task_id, status: "submitted"}`).
///
/// Build the handoff with [`CallContext::handoff_to_task`](crate::CallContext::handoff_to_task);
/// a hand-written `status: "submitted"` value is rejected by the server's guards, because no
/// task would stand behind it.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The response, sent at once with `status: "completed"`.
    Completed(T),
    /// Work handed to a protocol task.
    Handoff(TaskHandoff<T>),
}

/// What a discovery method (`get_products`, `get_signals`) returns.
///
/// The protocol's rules, which the server enforces: wholesale discovery stays synchronous
/// (report partial results in `incomplete[]` instead of handing off); a brief or refine request
/// may hand off; `get_signals` has no `input-required` arm, so a signals handoff either
/// completes or fails.
pub type DiscoveryResult<T> = Outcome<T>;

/// What a sales or signals method that may run as a task (`create_media_buy`,
/// `activate_signal`, ...) returns. The same arms as [`DiscoveryResult`].
pub type TaskResult<T> = Outcome<T>;

impl<T> From<TaskHandoff<T>> for Outcome<T> {
    fn from(handoff: TaskHandoff<T>) -> Self {
        Self::Handoff(handoff)
    }
}

impl<T> Outcome<T> {
    /// The completed arm: `value` is sent at once with `status: "completed"`, no task exists.
    pub fn completed(value: T) -> Self {
        Self::Completed(value)
    }
}
