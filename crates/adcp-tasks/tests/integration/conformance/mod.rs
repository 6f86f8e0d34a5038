//! The registry conformance suite: one async fn per behaviour, run against every store by
//! `conformance_suite!`.
// Test code: unwrap is how a behaviour check fails.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::HashSet;
use std::sync::Arc;

use adcp_tasks::{
    SortDirection, SortField, TaskError, TaskId, TaskQuery, TaskRecord, TaskRegistry, TaskScope,
    TerminalWrite,
};
use adcp_types::{AdcpError, AdcpProtocol, TaskStatus, TaskType};
use serde_json::json;
use tokio::task::JoinSet;

use crate::support::{new_task, other_account, other_owner, scope, typed_task};

/// One `#[tokio::test]` per behaviour; `$make` is an async expression yielding
/// `(guard, Arc<dyn TaskRegistry>)`, the guard kept alive for the test.
#[macro_export]
macro_rules! conformance_suite {
    ($make:expr; $($behaviour:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $behaviour() {
                let (_guard, registry) = $make.await;
                $crate::conformance::$behaviour(registry).await;
            }
        )*
    };
}

type Registry = Arc<dyn TaskRegistry>;

pub async fn issue_creates_a_submitted_task(registry: Registry) {
    let context = json!({"trace": "abc"});
    let webhook =
        json!({"url": "https://buyer.example/hook", "authentication": {"credentials": "x"}});
    let record = registry
        .issue(
            new_task(&scope())
                .with_request_context(context.clone())
                .with_context_id("ctx-thread-1")
                .with_webhook(webhook.clone()),
        )
        .await
        .unwrap();
    assert_eq!(record.status, TaskStatus::Submitted);
    assert_eq!(record.context_id.as_deref(), Some("ctx-thread-1"));
    assert!(record.task_id.as_str().starts_with("task_") && record.task_id.as_str().len() == 37);
    assert_eq!(record.task_type.wire_type(), Some(TaskType::GetProducts));
    assert_eq!(record.protocol, AdcpProtocol::MediaBuy);
    assert!(record.has_webhook);
    assert_eq!(record.webhook, Some(webhook));
    assert_eq!(record.request_context, Some(context));
    assert_eq!(record.created_at, record.updated_at);
    assert!(record.completed_at.is_none() && record.result.is_none() && record.error.is_none());
    let stored = registry
        .get(&scope(), &record.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, record);
}

pub async fn caller_chosen_id_is_kept_and_a_duplicate_conflicts(registry: Registry) {
    let id = TaskId::parse("task_sandbox_fixed_1").unwrap();
    let record = registry
        .issue(new_task(&scope()).with_task_id(id.clone()))
        .await
        .unwrap();
    assert_eq!(record.task_id, id);
    let duplicate = registry
        .issue(new_task(&other_account()).with_task_id(id.clone()))
        .await;
    assert!(
        matches!(duplicate, Err(TaskError::Conflict { .. })),
        "{duplicate:?}"
    );
    let stored = registry.get(&scope(), &id).await.unwrap().unwrap();
    assert_eq!(
        stored.scope,
        scope(),
        "the duplicate did not overwrite the first task"
    );
}

pub async fn progress_moves_submitted_to_working(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    registry
        .update_progress(&record.task_id, json!({"percentage": 40}))
        .await
        .unwrap();
    let working = registry
        .get(&scope(), &record.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(working.status, TaskStatus::Working);
    assert_eq!(working.progress, Some(json!({"percentage": 40})));
    assert!(working.updated_at >= record.updated_at);
    registry
        .update_progress(&record.task_id, json!({"percentage": 80}))
        .await
        .unwrap();
    let later = registry
        .get(&scope(), &record.task_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (later.status, later.progress),
        (TaskStatus::Working, Some(json!({"percentage": 80})))
    );
    let unknown = registry
        .update_progress(&TaskId::generate(), json!({}))
        .await;
    assert!(
        matches!(unknown, Err(TaskError::NotFound(_))),
        "{unknown:?}"
    );
}

pub async fn complete_is_final_and_idempotent(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    let id = &record.task_id;
    let result = json!({"products": [{"product_id": "p1"}]});
    let first = registry.complete(id, result.clone()).await.unwrap();
    let TerminalWrite::Applied(done) = first else {
        panic!("first complete must apply")
    };
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.result, Some(result.clone()));
    assert!(done.completed_at.is_some());
    let again = registry.complete(id, result.clone()).await.unwrap();
    assert!(matches!(again, TerminalWrite::AlreadyApplied(_)));
    for outcome in [
        registry.complete(id, json!({"products": []})).await,
        registry.fail(id, &AdcpError::internal()).await,
        registry.cancel(&scope(), id).await,
    ] {
        assert!(
            matches!(outcome, Err(TaskError::Conflict { .. })),
            "{outcome:?}"
        );
    }
    let late_progress = registry
        .update_progress(id, json!({"percentage": 99}))
        .await;
    assert!(matches!(late_progress, Err(TaskError::Conflict { .. })));
    let stored = registry.get(&scope(), id).await.unwrap().unwrap();
    assert_eq!(stored, done, "nothing changed after the terminal write");
}

pub async fn fail_is_final_and_idempotent(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    let id = &record.task_id;
    let error = AdcpError::new("PRODUCT_UNAVAILABLE", "sold out").with_field("product_id");
    let TerminalWrite::Applied(failed) = registry.fail(id, &error).await.unwrap() else {
        panic!("first fail must apply")
    };
    assert_eq!(failed.status, TaskStatus::Failed);
    assert_eq!(failed.error, Some(error.clone()));
    assert!(registry.fail(id, &error).await.unwrap().record() == &failed);
    let other = registry.fail(id, &AdcpError::internal()).await;
    assert!(matches!(other, Err(TaskError::Conflict { .. })));
    let complete = registry.complete(id, json!({"products": []})).await;
    assert!(matches!(complete, Err(TaskError::Conflict { .. })));
}

pub async fn cancel_is_scoped_final_and_idempotent(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    let id = &record.task_id;
    for foreign in [other_owner(), other_account()] {
        let outcome = registry.cancel(&foreign, id).await;
        assert!(
            matches!(outcome, Err(TaskError::NotFound(_))),
            "{outcome:?}"
        );
    }
    let TerminalWrite::Applied(canceled) = registry.cancel(&scope(), id).await.unwrap() else {
        panic!("cancel must apply")
    };
    assert_eq!(canceled.status, TaskStatus::Canceled);
    assert!(canceled.completed_at.is_some());
    assert!(!registry.cancel(&scope(), id).await.unwrap().is_applied());
    let complete = registry.complete(id, json!({})).await;
    assert!(matches!(complete, Err(TaskError::Conflict { .. })));
}

pub async fn foreign_scope_sees_nothing(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    for foreign in [other_owner(), other_account()] {
        assert!(
            registry
                .get(&foreign, &record.task_id)
                .await
                .unwrap()
                .is_none()
        );
        let page = registry
            .list(&foreign, &TaskQuery::default())
            .await
            .unwrap();
        assert!(page.tasks.is_empty());
        assert_eq!(page.summary.total_matching, 0);
        let by_id = TaskQuery::new().with_filters(ids_filter(&[&record.task_id]));
        assert!(
            registry
                .list(&foreign, &by_id)
                .await
                .unwrap()
                .tasks
                .is_empty()
        );
    }
    assert!(
        registry
            .get(&scope(), &record.task_id)
            .await
            .unwrap()
            .is_some()
    );
}

pub async fn unknown_tasks_are_not_found(registry: Registry) {
    let id = TaskId::generate();
    assert!(registry.get(&scope(), &id).await.unwrap().is_none());
    assert!(matches!(
        registry.complete(&id, json!({})).await,
        Err(TaskError::NotFound(_))
    ));
    assert!(matches!(
        registry.fail(&id, &AdcpError::internal()).await,
        Err(TaskError::NotFound(_))
    ));
    assert!(matches!(
        registry.cancel(&scope(), &id).await,
        Err(TaskError::NotFound(_))
    ));
}

pub async fn discard_deletes_and_is_idempotent(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    registry.discard(&record.task_id).await.unwrap();
    assert!(
        registry
            .get(&scope(), &record.task_id)
            .await
            .unwrap()
            .is_none()
    );
    registry.discard(&record.task_id).await.unwrap();
    assert!(
        registry
            .list(&scope(), &TaskQuery::default())
            .await
            .unwrap()
            .tasks
            .is_empty()
    );
}

fn ids_filter(ids: &[&TaskId]) -> adcp_tasks::TaskFilters {
    let mut filters = adcp_tasks::TaskFilters::default();
    filters.task_ids = ids.iter().map(|id| id.as_str().to_owned()).collect();
    filters
}

fn query_with(filters: &serde_json::Value) -> TaskQuery {
    TaskQuery::from_list_request(&json!({ "filters": filters })).unwrap()
}

/// Three listable tasks (submitted with a context, completed with a webhook, failed in
/// signals) and two that are never listed (a non-wire task type; a protocol list_tasks cannot
/// name).
async fn seed_listing(registry: &Registry) -> [TaskRecord; 3] {
    let s = scope();
    let products = registry
        .issue(new_task(&s).with_request_context(json!({"campaign": "ACME_Q1_2025"})))
        .await
        .unwrap();
    let buy = registry
        .issue(
            typed_task(&s, "create_media_buy", AdcpProtocol::MediaBuy)
                .with_webhook(json!({"url": "https://b"})),
        )
        .await
        .unwrap();
    let signals = registry
        .issue(typed_task(&s, "get_signals", AdcpProtocol::Signals))
        .await
        .unwrap();
    registry
        .complete(&buy.task_id, json!({"media_buy_id": "mb_77"}))
        .await
        .unwrap();
    registry
        .fail(&signals.task_id, &AdcpError::internal())
        .await
        .unwrap();
    registry
        .issue(typed_task(&s, "refine_proposals", AdcpProtocol::MediaBuy))
        .await
        .unwrap();
    registry
        .issue(typed_task(
            &s,
            "get_creative_delivery",
            AdcpProtocol::Creative,
        ))
        .await
        .unwrap();

    [products, buy, signals]
}

pub async fn list_filters_match_the_stored_tasks(registry: Registry) {
    let s = scope();
    let [products, buy, signals] = seed_listing(&registry).await;
    let ids = |query: TaskQuery| {
        let registry = Arc::clone(&registry);
        let s = s.clone();
        async move {
            let page = registry.list(&s, &query).await.unwrap();
            assert_eq!(
                usize::try_from(page.summary.total_matching).unwrap(),
                page.tasks.len()
            );
            page.tasks
                .into_iter()
                .map(|t| t.task_id)
                .collect::<HashSet<_>>()
        }
    };
    let all: HashSet<_> = [&products, &buy, &signals]
        .iter()
        .map(|r| r.task_id.clone())
        .collect();
    assert_eq!(ids(TaskQuery::default()).await, all);
    assert_eq!(
        ids(query_with(&json!({"status": "completed"}))).await,
        set(&[&buy.task_id])
    );
    assert_eq!(
        ids(query_with(&json!({"statuses": ["submitted", "failed"]}))).await,
        set(&[&products.task_id, &signals.task_id])
    );
    assert_eq!(
        ids(query_with(&json!({"protocol": "signals"}))).await,
        set(&[&signals.task_id])
    );
    assert_eq!(
        ids(query_with(&json!({"protocols": ["creative"]}))).await,
        HashSet::new()
    );
    assert_eq!(
        ids(query_with(&json!({"task_types": ["create_media_buy"]}))).await,
        set(&[&buy.task_id])
    );
    assert_eq!(
        ids(query_with(&json!({"has_webhook": true}))).await,
        set(&[&buy.task_id])
    );
    assert_eq!(
        ids(query_with(&json!({"context_contains": "acme_q1"}))).await,
        set(&[&products.task_id])
    );
    assert_eq!(
        ids(query_with(&json!({"context_contains": "mb_77"}))).await,
        set(&[&buy.task_id])
    );
    assert_eq!(
        ids(query_with(
            &json!({"task_ids": [products.task_id.as_str(), "task_nope"]})
        ))
        .await,
        set(&[&products.task_id])
    );
    let created = products.created_at.to_rfc3339();
    assert!(
        !ids(query_with(&json!({"created_before": created})))
            .await
            .contains(&products.task_id)
    );
    let far_future = "2999-01-01T00:00:00Z";
    assert_eq!(
        ids(query_with(&json!({"updated_before": far_future}))).await,
        all
    );
    assert_eq!(
        ids(query_with(&json!({"created_after": far_future}))).await,
        HashSet::new()
    );

    let summary = registry
        .list(&s, &TaskQuery::default())
        .await
        .unwrap()
        .summary;
    assert_eq!(summary.total_matching, 3);
    assert_eq!(
        summary.status_breakdown.get(&TaskStatus::Completed),
        Some(&1)
    );
    assert_eq!(
        summary.domain_breakdown.get(&AdcpProtocol::MediaBuy),
        Some(&2)
    );
    assert_eq!(
        summary.domain_breakdown.get(&AdcpProtocol::Signals),
        Some(&1)
    );
}

fn set(ids: &[&TaskId]) -> HashSet<TaskId> {
    ids.iter().map(|id| (*id).clone()).collect()
}

pub async fn list_pages_cover_every_task_once_in_order(registry: Registry) {
    let s = scope();
    let kinds = [
        ("get_products", AdcpProtocol::MediaBuy),
        ("create_media_buy", AdcpProtocol::MediaBuy),
        ("get_signals", AdcpProtocol::Signals),
        ("activate_signal", AdcpProtocol::Signals),
        ("sync_creatives", AdcpProtocol::MediaBuy),
    ];
    let mut expected = HashSet::new();
    for (i, (kind, protocol)) in kinds.iter().cycle().take(11).enumerate() {
        let record = registry
            .issue(typed_task(&s, kind, *protocol))
            .await
            .unwrap();
        if i % 3 == 0 {
            registry
                .update_progress(&record.task_id, json!({"percentage": 10}))
                .await
                .unwrap();
        }
        expected.insert(record.task_id);
    }
    for field in [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Status,
        SortField::TaskType,
        SortField::Protocol,
    ] {
        for direction in [SortDirection::Asc, SortDirection::Desc] {
            let mut query = TaskQuery::new()
                .with_max_results(4)
                .with_sort(field, direction);
            let mut seen = Vec::new();
            let mut pages = 0;
            loop {
                let page = registry.list(&s, &query).await.unwrap();
                assert_eq!(page.summary.total_matching, 11);
                assert!(page.tasks.len() <= 4);
                seen.extend(page.tasks);
                pages += 1;
                match page.next_cursor {
                    Some(cursor) => query = query.with_cursor(cursor),
                    None => break,
                }
            }
            assert_eq!(pages, 3, "{field:?} {direction:?}");
            let ids: HashSet<_> = seen.iter().map(|t| t.task_id.clone()).collect();
            assert_eq!(
                ids, expected,
                "every task exactly once ({field:?} {direction:?})"
            );
            assert_eq!(seen.len(), 11);
            let keys: Vec<String> = seen
                .iter()
                .map(|t| match field {
                    SortField::CreatedAt => t.created_at.to_rfc3339(),
                    SortField::UpdatedAt => t.updated_at.to_rfc3339(),
                    SortField::Status => t.status.as_str().to_owned(),
                    SortField::TaskType => t.task_type.as_str().to_owned(),
                    SortField::Protocol => t.protocol.as_str().to_owned(),
                })
                .collect();
            let mut sorted = keys.clone();
            sorted.sort();
            if direction == SortDirection::Desc {
                sorted.reverse();
            }
            assert_eq!(keys, sorted, "{field:?} {direction:?}");
        }
    }
}

pub async fn a_cursor_only_fits_its_own_query(registry: Registry) {
    let s = scope();
    for _ in 0..3 {
        registry.issue(new_task(&s)).await.unwrap();
    }
    let first = registry
        .list(&s, &TaskQuery::new().with_max_results(1))
        .await
        .unwrap();
    let cursor = first.next_cursor.expect("more pages");
    let other = query_with(&json!({"status": "submitted"})).with_cursor(cursor.clone());
    let outcome = registry.list(&s, &other).await;
    assert!(
        matches!(
            outcome,
            Err(TaskError::InvalidRequest { ref field, .. }) if field == "pagination.cursor"
        ),
        "{outcome:?}"
    );
    let foreign = TaskQuery::new().with_cursor(cursor);
    assert!(registry.list(&other_account(), &foreign).await.is_err());
}

pub async fn racing_complete_and_fail_apply_exactly_one(registry: Registry) {
    let mut races = JoinSet::new();
    for _ in 0..100 {
        let registry = Arc::clone(&registry);
        races.spawn(async move {
            let record = registry.issue(new_task(&scope())).await.unwrap();
            let id = record.task_id.clone();
            let error = AdcpError::internal();
            let (complete, fail) = tokio::join!(
                registry.complete(&id, json!({"products": []})),
                registry.fail(&id, &error)
            );
            let stored = registry.get(&scope(), &id).await.unwrap().unwrap();
            (complete, fail, stored)
        });
    }
    while let Some(outcome) = races.join_next().await {
        let (complete, fail, stored) = outcome.unwrap();
        match (complete, fail) {
            (Ok(TerminalWrite::Applied(done)), Err(TaskError::Conflict { .. })) => {
                assert_eq!(stored, done);
                assert_eq!(stored.status, TaskStatus::Completed);
            }
            (Err(TaskError::Conflict { .. }), Ok(TerminalWrite::Applied(failed))) => {
                assert_eq!(stored, failed);
                assert_eq!(stored.status, TaskStatus::Failed);
            }
            other => panic!("exactly one terminal write must win: {other:?}"),
        }
    }
}

pub async fn ten_thousand_concurrent_issue_complete(registry: Registry) {
    let mut tasks = JoinSet::new();
    for i in 0..10_000u32 {
        let registry = Arc::clone(&registry);
        tasks.spawn(async move {
            let record = registry.issue(new_task(&scope())).await.unwrap();
            let write = registry
                .complete(&record.task_id, json!({"n": i}))
                .await
                .unwrap();
            assert!(write.is_applied());
            record.task_id
        });
    }
    let mut ids = HashSet::new();
    while let Some(id) = tasks.join_next().await {
        assert!(ids.insert(id.unwrap()), "task ids are unique");
    }
    assert_eq!(ids.len(), 10_000);
    let page = registry
        .list(&scope(), &query_with(&json!({"status": "completed"})))
        .await
        .unwrap();
    assert_eq!(page.summary.total_matching, 10_000);
    assert_eq!(page.tasks.len(), 50);
}

pub async fn timestamps_follow_the_lifecycle(registry: Registry) {
    let record = registry.issue(new_task(&scope())).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    registry
        .update_progress(&record.task_id, json!({"percentage": 5}))
        .await
        .unwrap();
    let working = registry
        .get(&scope(), &record.task_id)
        .await
        .unwrap()
        .unwrap();
    assert!(working.updated_at > record.updated_at);
    assert_eq!(working.created_at, record.created_at);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let done = registry
        .complete(&record.task_id, json!({}))
        .await
        .unwrap()
        .into_record();
    assert!(done.updated_at > working.updated_at);
    assert_eq!(done.completed_at, Some(done.updated_at));
    let _: &TaskScope = &done.scope;
}
