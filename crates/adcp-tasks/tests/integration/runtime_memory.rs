//! The handoff runtime over the in-memory store.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use adcp_tasks::{InMemoryTaskRegistry, TaskRegistry};

fn memory() -> std::future::Ready<((), Arc<dyn TaskRegistry>)> {
    std::future::ready(((), Arc::new(InMemoryTaskRegistry::new())))
}

runtime_suite!(memory();
    handoff_answers_submitted_then_completes,
    adcp_error_becomes_the_task_error,
    other_errors_and_panics_fail_with_a_generic_error,
    pre_handoff_reject_stops_before_any_side_effect,
    completion_hook_runs_first_and_can_fail_the_task,
    progress_from_the_work_shows_as_working,
    cancel_signals_the_work_and_discards_its_outcome,
    forced_task_id_is_used_and_a_duplicate_never_runs,
    shutdown_waits_for_running_work,
    shutdown_fails_work_still_running_at_the_deadline,
    the_terminal_callback_runs_once_per_task_under_races,
);
