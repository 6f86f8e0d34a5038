//! What only the in-memory store promises: TTL eviction of finished tasks, a bound, a payload
//! cap, and honesty about not being durable.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::support;

use std::time::Duration;

use adcp_tasks::{InMemoryConfig, InMemoryTaskRegistry, TaskError, TaskQuery, TaskRegistry};
use adcp_types::{AdcpError, Recovery};
use serde_json::json;

use support::{new_task, scope};

#[tokio::test]
async fn finished_tasks_are_evicted_after_the_ttl_and_unfinished_ones_never() {
    let registry = InMemoryTaskRegistry::with_config(
        InMemoryConfig::default().terminal_ttl(Duration::from_millis(300)),
    );
    let done = registry.issue(new_task(&scope())).await.unwrap();
    let open = registry.issue(new_task(&scope())).await.unwrap();
    registry.complete(&done.task_id, json!({})).await.unwrap();
    assert!(
        registry
            .get(&scope(), &done.task_id)
            .await
            .unwrap()
            .is_some(),
        "readable within the TTL"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        registry
            .get(&scope(), &done.task_id)
            .await
            .unwrap()
            .is_none(),
        "hidden once expired"
    );
    assert_eq!(
        registry
            .list(&scope(), &TaskQuery::new())
            .await
            .unwrap()
            .summary
            .total_matching,
        1
    );
    assert_eq!(registry.len(), 2, "not yet swept");
    assert_eq!(registry.evict_expired(), 1);
    assert_eq!(registry.len(), 1);
    assert!(
        registry
            .get(&scope(), &open.task_id)
            .await
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        registry.complete(&done.task_id, json!({})).await,
        Err(TaskError::NotFound(_))
    ));
}

#[tokio::test]
async fn issuing_sweeps_expired_tasks_without_an_explicit_call() {
    let registry = InMemoryTaskRegistry::with_config(
        InMemoryConfig::default().terminal_ttl(Duration::from_millis(10)),
    );
    for _ in 0..20 {
        let record = registry.issue(new_task(&scope())).await.unwrap();
        registry
            .fail(&record.task_id, &AdcpError::internal())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    for _ in 0..16 {
        registry.issue(new_task(&scope())).await.unwrap();
    }
    assert_eq!(
        registry.len(),
        16,
        "every expired task was swept by later issues"
    );
}

#[tokio::test]
async fn the_store_is_bounded_and_frees_room_by_eviction() {
    let config = InMemoryConfig::default()
        .max_tasks(3)
        .terminal_ttl(Duration::from_millis(300));
    let registry = InMemoryTaskRegistry::with_config(config);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(registry.issue(new_task(&scope())).await.unwrap().task_id);
    }
    let full = registry.issue(new_task(&scope())).await;
    let Err(error @ TaskError::CapacityExhausted { limit: 3 }) = full else {
        panic!("expected full, got {full:?}")
    };
    let wire = error.to_adcp_error();
    assert_eq!(
        (wire.code.as_str(), wire.recovery),
        ("SERVICE_UNAVAILABLE", Recovery::Transient)
    );
    registry.cancel(&scope(), &ids[0]).await.unwrap();
    assert!(
        registry.issue(new_task(&scope())).await.is_err(),
        "a finished task still counts within its TTL"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        registry.issue(new_task(&scope())).await.is_ok(),
        "the expired task made room"
    );
    assert_eq!(registry.len(), 3);
}

#[tokio::test]
async fn payloads_over_the_cap_fail_clearly() {
    let registry =
        InMemoryTaskRegistry::with_config(InMemoryConfig::default().max_payload_bytes(64));
    let record = registry.issue(new_task(&scope())).await.unwrap();
    let outcome = registry
        .complete(&record.task_id, json!({"blob": "x".repeat(100)}))
        .await;
    assert!(
        matches!(
            outcome,
            Err(TaskError::PayloadTooLarge {
                field: "result",
                limit: 64,
                ..
            })
        ),
        "{outcome:?}"
    );
    let progress = registry
        .update_progress(&record.task_id, json!({"note": "y".repeat(100)}))
        .await;
    assert!(matches!(
        progress,
        Err(TaskError::PayloadTooLarge {
            field: "progress",
            ..
        })
    ));
    assert!(
        !registry
            .get(&scope(), &record.task_id)
            .await
            .unwrap()
            .unwrap()
            .is_terminal()
    );
}

#[test]
fn the_in_memory_store_is_not_durable() {
    assert!(!InMemoryTaskRegistry::new().is_durable());
}
