//! The `get_task_status` and `list_tasks` projections validate against the protocol's schemas
//! (`adcp_types::validate`), for tasks in every state the registry produces.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use crate::support;

#[cfg(feature = "postgres")]
use std::sync::Arc;

use adcp_tasks::projection::{list_tasks_response, submitted_response, task_status_response};
use adcp_tasks::{
    InMemoryTaskRegistry, StatusOptions, TaskProgress, TaskQuery, TaskRecord, TaskRegistry,
};
use adcp_types::validate::SchemaSet;
use adcp_types::{AdcpError, AdcpProtocol};
use serde_json::{Value, json};

use support::{new_task, scope, typed_task};

const STATUS_SCHEMA: &str = "protocol/get-task-status-response.json";
const LIST_SCHEMA: &str = "protocol/list-tasks-response.json";

fn assert_valid(schema: &str, value: &Value) {
    let set = SchemaSet::load_default().expect("the schema set loads");
    if let Err(issues) = set.validate_schema(schema, value) {
        panic!("{schema} rejects {value:#}:\n{issues:#?}");
    }
}

/// One task in each state the registry produces: submitted, working, completed, failed,
/// canceled.
async fn tasks_in_every_state(registry: &dyn TaskRegistry) -> Vec<TaskRecord> {
    let s = scope();
    let submitted = registry
        .issue(new_task(&s).with_request_context(json!({"trace": "t1"})))
        .await
        .unwrap();
    let working = registry
        .issue(
            typed_task(&s, "get_signals", AdcpProtocol::Signals)
                .with_webhook(json!({"url": "https://b"})),
        )
        .await
        .unwrap();
    registry
        .update_progress(
            &working.task_id,
            TaskProgress::new()
                .percentage(30.0)
                .current_step("search")
                .steps(1, 3)
                .to_value(),
        )
        .await
        .unwrap();
    let completed = registry
        .issue(new_task(&s).with_request_context(json!({"trace": "t2"})))
        .await
        .unwrap();
    registry
        .complete(&completed.task_id, json!({"products": []}))
        .await
        .unwrap();
    let failed = registry
        .issue(typed_task(&s, "create_media_buy", AdcpProtocol::MediaBuy))
        .await
        .unwrap();
    let error =
        AdcpError::new("BUDGET_TOO_LOW", "budget below the floor").with_field("packages[0].budget");
    registry.fail(&failed.task_id, &error).await.unwrap();
    let canceled = registry
        .issue(typed_task(&s, "sync_creatives", AdcpProtocol::MediaBuy))
        .await
        .unwrap();
    registry.cancel(&s, &canceled.task_id).await.unwrap();
    let mut records = Vec::new();
    for id in [
        submitted.task_id,
        working.task_id,
        completed.task_id,
        failed.task_id,
        canceled.task_id,
    ] {
        records.push(registry.get(&s, &id).await.unwrap().unwrap());
    }
    records
}

async fn check_status_responses(registry: &dyn TaskRegistry) {
    for record in tasks_in_every_state(registry).await {
        for (include_result, include_history) in [(false, false), (true, true), (true, false)] {
            let body = task_status_response(
                &record,
                StatusOptions {
                    include_result,
                    include_history,
                },
            );
            assert_valid(STATUS_SCHEMA, &body);
            assert_eq!(body["status"], record.status.as_str());
        }
    }
}

async fn check_list_response(registry: &dyn TaskRegistry) {
    tasks_in_every_state(registry).await;
    let first = TaskQuery::from_list_request(
        &json!({"pagination": {"max_results": 2}, "include_history": true}),
    )
    .unwrap();
    let page = registry.list(&scope(), &first).await.unwrap();
    let body = list_tasks_response(&page, &first);
    assert_valid(LIST_SCHEMA, &body);
    assert_eq!(body["pagination"]["has_more"], true);
    assert_eq!(body["query_summary"]["total_matching"], 5);
    assert_eq!(body["query_summary"]["returned"], 2);
    let next = first.with_cursor(body["pagination"]["cursor"].as_str().unwrap());
    let last = TaskQuery::from_list_request(&json!({"filters": {"statuses": ["failed", "canceled"]},
                                                    "sort": {"field": "status", "direction": "asc"}}))
        .unwrap();
    for query in [next, last] {
        let page = registry.list(&scope(), &query).await.unwrap();
        assert_valid(LIST_SCHEMA, &list_tasks_response(&page, &query));
    }
}

#[tokio::test]
async fn status_responses_validate_for_every_state_in_memory() {
    check_status_responses(&InMemoryTaskRegistry::new()).await;
}

#[tokio::test]
async fn list_responses_validate_in_memory() {
    check_list_response(&InMemoryTaskRegistry::new()).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn status_and_list_responses_validate_from_postgres() {
    let (_database, registry) = support::pg_registry().await;
    let registry: Arc<dyn TaskRegistry> = registry;
    check_status_responses(registry.as_ref()).await;
    let (_database, registry) = support::pg_registry().await;
    check_list_response(registry.as_ref()).await;
}

#[test]
fn the_submitted_answer_validates_as_a_submitted_arm() {
    let body = submitted_response(&adcp_tasks::TaskId::generate());
    let set = SchemaSet::load_default().unwrap();
    set.validate_schema(
        "media-buy/get-products-async-response-submitted.json",
        &body,
    )
    .unwrap();
}

#[test]
fn the_validator_is_not_vacuous() {
    let set = SchemaSet::load_default().unwrap();
    let mut body = submitted_response(&adcp_tasks::TaskId::generate());
    body["created_at"] = json!("not a date");
    assert!(
        set.validate_schema(STATUS_SCHEMA, &body).is_err(),
        "missing task_type and protocol"
    );
    assert!(
        set.validate_schema(LIST_SCHEMA, &json!({"status": "completed", "tasks": []}))
            .is_err()
    );
}
