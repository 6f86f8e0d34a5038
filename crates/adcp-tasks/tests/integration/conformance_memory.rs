//! The registry conformance suite against the in-memory store.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use adcp_tasks::{InMemoryConfig, InMemoryTaskRegistry, TaskRegistry};

fn memory() -> std::future::Ready<((), Arc<dyn TaskRegistry>)> {
    let config = InMemoryConfig::default().max_tasks(20_000);
    std::future::ready(((), Arc::new(InMemoryTaskRegistry::with_config(config))))
}

conformance_suite!(memory();
    issue_creates_a_submitted_task,
    caller_chosen_id_is_kept_and_a_duplicate_conflicts,
    progress_moves_submitted_to_working,
    complete_is_final_and_idempotent,
    fail_is_final_and_idempotent,
    cancel_is_scoped_final_and_idempotent,
    foreign_scope_sees_nothing,
    unknown_tasks_are_not_found,
    discard_deletes_and_is_idempotent,
    list_filters_match_the_stored_tasks,
    list_pages_cover_every_task_once_in_order,
    a_cursor_only_fits_its_own_query,
    racing_complete_and_fail_apply_exactly_one,
    ten_thousand_concurrent_issue_complete,
    timestamps_follow_the_lifecycle,
);
