//! The wire shapes of tasks: the `submitted` answer of a handoff, `get_task_status`
//! (`protocol/get-task-status-response.json`) and `list_tasks`
//! (`protocol/list-tasks-response.json`).
//!
//! These build the tool's body; the server adds envelope fields it owns (`context` echo of the
//! poll request, `adcp_version`, ...).

use adcp_types::TaskStatus;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use crate::model::{TaskId, TaskRecord};
use crate::query::{TaskPage, TaskQuery};

/// What `get_task_status` should include beyond the required fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusOptions {
    /// Include `result` (completed tasks only, as the schema says).
    pub include_result: bool,
    /// Include `history`.
    pub include_history: bool,
}

/// The immediate answer to a call that handed off: exactly `{task_id, status: "submitted"}`.
pub fn submitted_response(task_id: &TaskId) -> Value {
    json!({ "task_id": task_id.as_str(), "status": TaskStatus::Submitted.as_str() })
}

/// The `get_task_status` body for `record`.
///
/// Guarantees: always has `task_id`, `task_type`, `protocol`, `status`, `created_at`,
/// `updated_at` and `has_webhook`; `completed_at` exactly for terminal tasks; `progress` when
/// reported; `context_id` when the creating request named one; `error` for failed tasks;
/// `result` only for completed tasks and only when asked (with the creating request's
/// `context` echoed into it when the result has none, as the sync answer would have). A task whose type is not one of the wire's task types is reported under
/// its own name, which strict schema validators reject.
pub fn task_status_response(record: &TaskRecord, options: StatusOptions) -> Value {
    let mut body = common_fields(record);
    body.insert("protocol".to_owned(), json!(record.protocol.as_str()));
    if let Some(context_id) = &record.context_id {
        body.insert("context_id".to_owned(), json!(context_id));
    }
    if let Some(progress) = &record.progress {
        body.insert("progress".to_owned(), progress.clone());
    }
    if let Some(error) = &record.error {
        body.insert("error".to_owned(), error.to_value());
    }
    if let (true, TaskStatus::Completed, Some(result)) =
        (options.include_result, record.status, &record.result)
    {
        body.insert(
            "result".to_owned(),
            result_with_context(result, record.request_context.as_ref()),
        );
    }
    if options.include_history {
        body.insert("history".to_owned(), history(record));
    }
    Value::Object(body)
}

/// The `list_tasks` body for `page`, which `query` produced.
///
/// Carries the envelope `status: "completed"` that `list-tasks-response.json` requires, the
/// `query_summary` (counts across all pages, the filters and sort applied), one item per task
/// (`domain` is the task's protocol, always `media-buy` or `signals`; `context_id` when the task
/// has one), and `pagination`.
pub fn list_tasks_response(page: &TaskPage, query: &TaskQuery) -> Value {
    let tasks: Vec<Value> = page
        .tasks
        .iter()
        .map(|record| {
            let mut item = common_fields(record);
            item.insert("domain".to_owned(), json!(record.protocol.as_str()));
            if let Some(context_id) = &record.context_id {
                item.insert("context_id".to_owned(), json!(context_id));
            }
            if query.include_history {
                item.insert("history".to_owned(), history(record));
            }
            Value::Object(item)
        })
        .collect();
    let summary = &page.summary;
    let status_breakdown: Map<String, Value> = summary
        .status_breakdown
        .iter()
        .map(|(status, n)| (status.as_str().to_owned(), json!(n)))
        .collect();
    let domain_breakdown: Map<String, Value> = summary
        .domain_breakdown
        .iter()
        .map(|(protocol, n)| (protocol.as_str().to_owned(), json!(n)))
        .collect();
    let mut pagination =
        json!({ "has_more": page.next_cursor.is_some(), "total_count": summary.total_matching });
    if let Some(cursor) = &page.next_cursor {
        pagination["cursor"] = json!(cursor);
    }
    json!({
        "status": TaskStatus::Completed.as_str(),
        "query_summary": {
            "total_matching": summary.total_matching,
            "returned": tasks.len(),
            "status_breakdown": status_breakdown,
            "domain_breakdown": domain_breakdown,
            "filters_applied": filters_applied(query),
            "sort_applied": { "field": query.sort.field.as_str(), "direction": query.sort.direction.as_str() },
        },
        "tasks": tasks,
        "pagination": pagination,
    })
}

fn common_fields(record: &TaskRecord) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("task_id".to_owned(), json!(record.task_id.as_str()));
    body.insert("task_type".to_owned(), json!(record.task_type.as_str()));
    body.insert("status".to_owned(), json!(record.status.as_str()));
    body.insert("created_at".to_owned(), json!(timestamp(record.created_at)));
    body.insert("updated_at".to_owned(), json!(timestamp(record.updated_at)));
    if let Some(completed_at) = record.completed_at.filter(|_| record.is_terminal()) {
        body.insert("completed_at".to_owned(), json!(timestamp(completed_at)));
    }
    body.insert("has_webhook".to_owned(), json!(record.has_webhook));
    body
}

/// The answers the seller gave for this task: the `submitted` acknowledgement, then the
/// terminal outcome once there is one.
fn history(record: &TaskRecord) -> Value {
    let mut entries = vec![json!({
        "timestamp": timestamp(record.created_at),
        "type": "response",
        "data": submitted_response(&record.task_id),
    })];
    if let (true, Some(at)) = (record.is_terminal(), record.completed_at) {
        let mut data =
            json!({ "task_id": record.task_id.as_str(), "status": record.status.as_str() });
        if let Some(error) = &record.error {
            data["adcp_error"] = error.to_value();
        }
        entries.push(json!({ "timestamp": timestamp(at), "type": "response", "data": data }));
    }
    Value::Array(entries)
}

fn result_with_context(result: &Value, context: Option<&Value>) -> Value {
    match (result, context) {
        (Value::Object(map), Some(context)) if !map.contains_key("context") => {
            let mut map = map.clone();
            map.insert("context".to_owned(), context.clone());
            Value::Object(map)
        }
        _ => result.clone(),
    }
}

fn filters_applied(query: &TaskQuery) -> Vec<&'static str> {
    let f = &query.filters;
    [
        (!f.statuses.is_empty(), "statuses"),
        (!f.task_types.is_empty(), "task_types"),
        (!f.protocols.is_empty(), "protocols"),
        (f.created_after.is_some(), "created_after"),
        (f.created_before.is_some(), "created_before"),
        (f.updated_after.is_some(), "updated_after"),
        (f.updated_before.is_some(), "updated_before"),
        (!f.task_ids.is_empty(), "task_ids"),
        (f.context_contains.is_some(), "context_contains"),
        (f.has_webhook.is_some(), "has_webhook"),
    ]
    .into_iter()
    .filter_map(|(applied, name)| applied.then_some(name))
    .collect()
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-05-01T12:00:00.123456Z`.
pub(crate) fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewTask, TaskScope};
    use adcp_types::{AdcpError, AdcpProtocol, TaskType};

    fn record() -> TaskRecord {
        let scope = TaskScope::new("acct", "owner").unwrap();
        let task = NewTask::new(scope, TaskType::GetProducts.into(), AdcpProtocol::MediaBuy)
            .with_request_context(json!({"trace": "t-1"}));
        TaskRecord::submitted(TaskId::generate(), task, Utc::now())
    }

    #[test]
    fn submitted_answer_has_exactly_two_keys() {
        let id = TaskId::generate();
        let value = submitted_response(&id);
        assert_eq!(value.as_object().unwrap().len(), 2);
        assert_eq!(value["status"], "submitted");
    }

    #[test]
    fn result_only_when_completed_and_asked() {
        let mut task = record();
        task.status = TaskStatus::Completed;
        task.completed_at = Some(task.updated_at);
        task.result = Some(json!({"products": []}));
        let with = task_status_response(
            &task,
            StatusOptions {
                include_result: true,
                include_history: false,
            },
        );
        assert_eq!(with["result"]["context"]["trace"], "t-1");
        assert!(with.get("completed_at").is_some());
        let without = task_status_response(&task, StatusOptions::default());
        assert!(without.get("result").is_none());
    }

    #[test]
    fn failed_task_reports_error_and_no_result() {
        let mut task = record();
        task.status = TaskStatus::Failed;
        task.completed_at = Some(task.updated_at);
        task.error = Some(AdcpError::internal());
        let value = task_status_response(
            &task,
            StatusOptions {
                include_result: true,
                include_history: true,
            },
        );
        assert_eq!(value["error"]["code"], "SERVICE_UNAVAILABLE");
        assert!(value.get("result").is_none());
        assert_eq!(value["history"].as_array().unwrap().len(), 2);
    }
}
