//! Decoding a task row into a [`TaskRecord`].

use adcp_types::{AdcpError, AdcpProtocol, TaskStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use crate::error::TaskError;
use crate::model::{TaskId, TaskKind, TaskRecord, TaskScope};

pub(crate) fn decode(row: &PgRow) -> Result<TaskRecord, TaskError> {
    let task_id: String = row.try_get("task_id")?;
    let corrupt = |reason: &str| TaskError::Corrupt {
        task_id: task_id.clone(),
        reason: reason.to_owned(),
    };
    let status: String = row.try_get("status")?;
    let protocol: String = row.try_get("protocol")?;
    let task_type: String = row.try_get("task_type")?;
    let error: Option<Value> = row.try_get("error")?;
    let scope = TaskScope::new(
        row.try_get::<String, _>("account_id")?,
        row.try_get::<String, _>("owner_scope")?,
    )
    .map_err(|_| corrupt("scope"))?;
    Ok(TaskRecord {
        task_id: TaskId::parse(task_id.clone()).map_err(|_| corrupt("task_id"))?,
        task_type: TaskKind::new(task_type).map_err(|_| corrupt("task_type"))?,
        protocol: protocol
            .parse::<AdcpProtocol>()
            .map_err(|_| corrupt("protocol"))?,
        scope,
        status: status
            .parse::<TaskStatus>()
            .map_err(|_| corrupt("status"))?,
        progress: row.try_get("progress")?,
        result: row.try_get("result")?,
        error: error
            .map(serde_json::from_value::<AdcpError>)
            .transpose()
            .map_err(|_| corrupt("error"))?,
        has_webhook: row.try_get("has_webhook")?,
        webhook: row.try_get("webhook")?,
        request_context: row.try_get("request_context")?,
        created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
        updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
        completed_at: row.try_get::<Option<DateTime<Utc>>, _>("completed_at")?,
    })
}
