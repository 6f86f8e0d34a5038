//! Decoding a task row into a [`TaskRecord`], and sealing its push registration.

use adcp_types::{AdcpError, AdcpProtocol, TaskStatus};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::Row as _;
use sqlx::postgres::PgRow;

use super::credentials::{CredentialError, CredentialKeys};
use crate::error::TaskError;
use crate::model::{TaskId, TaskKind, TaskRecord, TaskScope};

/// Decodes a row; a sealed `webhook` is opened with `keys` (see [`open_webhook`]).
pub(crate) fn decode(row: &PgRow, keys: Option<&CredentialKeys>) -> Result<TaskRecord, TaskError> {
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
        webhook: open_webhook(keys, &task_id, row.try_get("webhook")?),
        request_context: row.try_get("request_context")?,
        context_id: row.try_get("context_id")?,
        created_at: row.try_get::<DateTime<Utc>, _>("created_at")?,
        updated_at: row.try_get::<DateTime<Utc>, _>("updated_at")?,
        completed_at: row.try_get::<Option<DateTime<Utc>>, _>("completed_at")?,
    })
}

/// What a task's sealed `webhook` is bound to: its task id.
pub(crate) fn webhook_context(task_id: &str) -> Vec<u8> {
    format!("adcp_tasks.webhook:{task_id}").into_bytes()
}

/// Seals a webhook registration into the JSON string stored in its place.
pub(crate) fn seal_webhook(keys: &CredentialKeys, task_id: &str, webhook: &Value) -> Value {
    Value::String(keys.seal(&webhook_context(task_id), webhook.to_string().as_bytes()))
}

/// The stored registration, opened when sealed. A registration that does not open (no key or
/// the wrong keys configured, a damaged value) is logged without its value and read as absent,
/// so polling keeps working while the task's webhook cannot be sent: the outbox writes no row
/// for it.
fn open_webhook(
    keys: Option<&CredentialKeys>,
    task_id: &str,
    stored: Option<Value>,
) -> Option<Value> {
    let sealed = match stored {
        Some(Value::String(sealed)) if CredentialKeys::is_sealed(&sealed) => sealed,
        other => return other,
    };
    let opened = keys
        .ok_or(CredentialError::NoKeyConfigured)
        .and_then(|keys| keys.open(&webhook_context(task_id), &sealed))
        .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|_| CredentialError::Malformed));
    match opened {
        Ok(webhook) => Some(webhook),
        Err(error) => {
            tracing::error!(
                task_id,
                error = %error,
                "the task's stored push_notification_config cannot be decrypted; its webhook will not be sent"
            );
            None
        }
    }
}
