//! `list` on PostgreSQL: one keyset page plus one grouped count for the summary.

use std::sync::Arc;

use adcp_types::{AdcpProtocol, TaskStatus, TaskType};
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgArguments, PgPool};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, Postgres, Row as _};

use super::credentials::CredentialKeys;
use super::row;
use super::sql::Statements;
use crate::error::TaskError;
use crate::model::TaskScope;
use crate::query::{Cursor, LISTABLE_PROTOCOLS, TaskPage, TaskQuery, TaskSummary};

/// The bind values of the shared list filters (`$1`–`$12`).
struct FilterBinds {
    account_id: String,
    owner: String,
    task_types: Vec<String>,
    protocols: Vec<String>,
    statuses: Option<Vec<String>>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    updated_after: Option<DateTime<Utc>>,
    updated_before: Option<DateTime<Utc>>,
    task_ids: Option<Vec<String>>,
    context_contains: Option<String>,
    has_webhook: Option<bool>,
}

impl FilterBinds {
    /// `None` when the filters exclude every listable task (no query needed).
    fn new(scope: &TaskScope, query: &TaskQuery) -> Option<Self> {
        let filters = &query.filters;
        // Only wire task types in listable protocols are ever listed (list-tasks-response.json).
        let task_types: Vec<String> = TaskType::ALL
            .iter()
            .map(|t| t.as_str().to_owned())
            .filter(|name| {
                filters.task_types.is_empty()
                    || filters.task_types.iter().any(|k| k.as_str() == name)
            })
            .collect();
        let protocols: Vec<String> = LISTABLE_PROTOCOLS
            .iter()
            .filter(|p| filters.protocols.is_empty() || filters.protocols.contains(p))
            .map(|p| p.as_str().to_owned())
            .collect();
        if task_types.is_empty() || protocols.is_empty() {
            return None;
        }
        let non_empty = |items: Vec<String>| (!items.is_empty()).then_some(items);
        Some(Self {
            account_id: scope.account_id().to_owned(),
            owner: scope.owner().to_owned(),
            task_types,
            protocols,
            statuses: non_empty(
                filters
                    .statuses
                    .iter()
                    .map(|s| s.as_str().to_owned())
                    .collect(),
            ),
            created_after: filters.created_after,
            created_before: filters.created_before,
            updated_after: filters.updated_after,
            updated_before: filters.updated_before,
            task_ids: non_empty(filters.task_ids.clone()),
            context_contains: filters.context_contains.clone(),
            has_webhook: filters.has_webhook,
        })
    }

    fn bind<'q>(
        &self,
        query: Query<'q, Postgres, PgArguments>,
    ) -> Query<'q, Postgres, PgArguments> {
        query
            .bind(self.account_id.clone())
            .bind(self.owner.clone())
            .bind(self.task_types.clone())
            .bind(self.protocols.clone())
            .bind(self.statuses.clone())
            .bind(self.created_after)
            .bind(self.created_before)
            .bind(self.updated_after)
            .bind(self.updated_before)
            .bind(self.task_ids.clone())
            .bind(self.context_contains.clone())
            .bind(self.has_webhook)
    }
}

pub(crate) async fn run(
    pool: &PgPool,
    statements: &Statements,
    scope: &TaskScope,
    query: &TaskQuery,
    keys: Option<&CredentialKeys>,
) -> Result<TaskPage, TaskError> {
    let cursor = Cursor::decode(scope, query)?;
    let Some(binds) = FilterBinds::new(scope, query) else {
        return Ok(TaskPage::new(Vec::new(), None, TaskSummary::default()));
    };
    let page_size = query.page_size();
    let rows = binds
        .bind(sqlx::query(AssertSqlSafe(statements.list(query.sort))))
        .bind(cursor.as_ref().map(|c| c.key.to_sql_text()))
        .bind(cursor.as_ref().map(|c| c.task_id.clone()))
        .bind(i64::try_from(page_size + 1).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
    let mut tasks = rows
        .iter()
        .map(|row| row::decode(row, keys))
        .collect::<Result<Vec<_>, _>>()?;
    let has_more = tasks.len() > page_size;
    tasks.truncate(page_size);
    let next_cursor = if has_more {
        tasks.last().map(|last| Cursor::after(scope, query, last))
    } else {
        None
    };

    let mut summary = TaskSummary::default();
    let counts = binds
        .bind(sqlx::query(AssertSqlSafe(Arc::clone(&statements.summary))))
        .fetch_all(pool)
        .await?;
    for count in &counts {
        let status: String = count.try_get("status")?;
        let protocol: String = count.try_get("protocol")?;
        let n: i64 = count.try_get("n")?;
        if let (Ok(status), Ok(protocol)) = (
            status.parse::<TaskStatus>(),
            protocol.parse::<AdcpProtocol>(),
        ) {
            summary.count(status, protocol, u64::try_from(n).unwrap_or(0));
        }
    }
    Ok(TaskPage::new(tasks, next_cursor, summary))
}
