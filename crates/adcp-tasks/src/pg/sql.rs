//! Every SQL statement of one task table, built once from the validated table name.
//!
//! Only the table name, whitelisted column names and sort keywords are spliced into the text;
//! every value is a bind parameter.

use std::sync::Arc;

use crate::query::{SortDirection, SortField, TaskSort};

const COLUMNS: [&str; 16] = [
    "task_id",
    "account_id",
    "owner_scope",
    "task_type",
    "protocol",
    "status",
    "progress",
    "result",
    "error",
    "has_webhook",
    "webhook",
    "request_context",
    "context_id",
    "created_at",
    "updated_at",
    "completed_at",
];

/// The columns a [`crate::TaskRecord`] is decoded from, in `SELECT`/`RETURNING` lists.
fn columns() -> String {
    COLUMNS.join(", ")
}

/// The `RETURNING` list of a terminal write, which clears the stored `webhook`: every column of
/// the updated row `t`, except `webhook`, taken from the locked pre-update row `prev`, so the
/// terminal record (and the outbox row written from it) still carries the registration.
fn terminal_returning() -> String {
    COLUMNS
        .iter()
        .map(|column| {
            if *column == "webhook" {
                "prev.webhook AS webhook".to_owned()
            } else {
                format!("t.{column}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

const UNFINISHED: &str = "status IN ('submitted', 'working')";

/// The shared `WHERE` of `list` and its summary: scope, listability and every filter, each
/// filter switched off by a NULL parameter.
const LIST_FILTERS: &str = "account_id = $1 AND owner_scope = $2
    AND task_type = ANY($3) AND protocol = ANY($4)
    AND ($5::text[] IS NULL OR status = ANY($5))
    AND ($6::timestamptz IS NULL OR created_at > $6)
    AND ($7::timestamptz IS NULL OR created_at < $7)
    AND ($8::timestamptz IS NULL OR updated_at > $8)
    AND ($9::timestamptz IS NULL OR updated_at < $9)
    AND ($10::text[] IS NULL OR task_id = ANY($10))
    AND ($11::text IS NULL OR strpos(lower(coalesce(request_context::text, '') || ' '
         || coalesce(result::text, '')), lower($11)) > 0)
    AND ($12::boolean IS NULL OR has_webhook = $12)";

#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) insert: Arc<str>,
    pub(crate) progress: Arc<str>,
    pub(crate) status_of: Arc<str>,
    pub(crate) complete: Arc<str>,
    pub(crate) fail: Arc<str>,
    pub(crate) cancel: Arc<str>,
    pub(crate) select_by_id: Arc<str>,
    pub(crate) select_in_scope: Arc<str>,
    pub(crate) delete: Arc<str>,
    pub(crate) heartbeat: Arc<str>,
    pub(crate) reap: Arc<str>,
    pub(crate) purge: Arc<str>,
    pub(crate) summary: Arc<str>,
    /// `list` pages, one per sort field and direction (see [`Statements::list`]).
    list: Vec<Arc<str>>,
}

const SORT_FIELDS: [SortField; 5] = [
    SortField::CreatedAt,
    SortField::UpdatedAt,
    SortField::Status,
    SortField::TaskType,
    SortField::Protocol,
];

impl Statements {
    pub(crate) fn new(table: &str) -> Self {
        let cols = columns();
        // A terminal write also drops the push registration (and so its credentials): the
        // outbox row, written in the same transaction, is the only copy still needed.
        let terminal_set = "webhook = NULL, updated_at = now(), completed_at = now(), \
             lease_owner = NULL, lease_expires_at = NULL";
        let returning = terminal_returning();
        let mut list = Vec::new();
        for field in SORT_FIELDS {
            for direction in [SortDirection::Asc, SortDirection::Desc] {
                list.push(list_page(table, &cols, TaskSort { field, direction }).into());
            }
        }
        Self {
            insert: format!(
                "INSERT INTO {table} (task_id, account_id, owner_scope, task_type, protocol, status,
                     has_webhook, webhook, request_context, created_at, updated_at, lease_owner,
                     lease_expires_at, context_id)
                 VALUES ($1, $2, $3, $4, $5, 'submitted', $6, $7, $8, now(), now(), $9,
                     CASE WHEN $9::text IS NULL THEN NULL
                          ELSE now() + $10::bigint * interval '1 millisecond' END, $11)
                 ON CONFLICT (task_id) DO NOTHING
                 RETURNING {cols}"
            )
            .into(),
            progress: format!(
                "UPDATE {table} SET progress = $2, status = 'working', updated_at = now()
                 WHERE task_id = $1 AND {UNFINISHED} RETURNING task_id"
            )
            .into(),
            status_of: format!("SELECT status FROM {table} WHERE task_id = $1").into(),
            complete: format!(
                "WITH prev AS (SELECT task_id, webhook FROM {table}
                     WHERE task_id = $1 AND {UNFINISHED} FOR UPDATE)
                 UPDATE {table} AS t SET status = 'completed', result = $2, {terminal_set}
                 FROM prev WHERE t.task_id = prev.task_id AND t.{UNFINISHED}
                 RETURNING {returning}"
            )
            .into(),
            fail: format!(
                "WITH prev AS (SELECT task_id, webhook FROM {table}
                     WHERE task_id = $1 AND {UNFINISHED} FOR UPDATE)
                 UPDATE {table} AS t SET status = 'failed', error = $2, {terminal_set}
                 FROM prev WHERE t.task_id = prev.task_id AND t.{UNFINISHED}
                 RETURNING {returning}"
            )
            .into(),
            cancel: format!(
                "WITH prev AS (SELECT task_id, webhook FROM {table}
                     WHERE task_id = $1 AND account_id = $2 AND owner_scope = $3 AND {UNFINISHED}
                     FOR UPDATE)
                 UPDATE {table} AS t SET status = 'canceled', {terminal_set}
                 FROM prev WHERE t.task_id = prev.task_id AND t.{UNFINISHED}
                 RETURNING {returning}"
            )
            .into(),
            select_by_id: format!("SELECT {cols} FROM {table} WHERE task_id = $1").into(),
            select_in_scope: format!(
                "SELECT {cols} FROM {table} WHERE task_id = $1 AND account_id = $2 AND owner_scope = $3"
            )
            .into(),
            delete: format!("DELETE FROM {table} WHERE task_id = $1").into(),
            heartbeat: format!(
                "UPDATE {table} SET lease_expires_at = now() + $3::bigint * interval '1 millisecond'
                 WHERE task_id = ANY($1) AND lease_owner = $2 AND {UNFINISHED} RETURNING task_id"
            )
            .into(),
            reap: format!(
                "WITH prev AS (
                     SELECT task_id, webhook FROM {table}
                     WHERE {UNFINISHED} AND lease_expires_at < clock_timestamp()
                     ORDER BY lease_expires_at LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 UPDATE {table} AS t SET status = 'failed', error = $1, {terminal_set}
                 FROM prev WHERE t.task_id = prev.task_id AND t.{UNFINISHED}
                 RETURNING {returning}"
            )
            .into(),
            purge: format!(
                "DELETE FROM {table} WHERE status IN ('completed', 'failed', 'canceled')
                 AND completed_at < now() - $1::bigint * interval '1 millisecond'"
            )
            .into(),
            summary: format!(
                "SELECT status, protocol, count(*) AS n FROM {table} WHERE {LIST_FILTERS}
                 GROUP BY status, protocol"
            )
            .into(),
            list,
        }
    }

    /// The page query for `sort`: the list filters, the keyset bound (`$13` the sort value as
    /// text, `$14` the task id) and the limit (`$15`).
    pub(crate) fn list(&self, sort: TaskSort) -> Arc<str> {
        let field = SORT_FIELDS
            .iter()
            .position(|f| *f == sort.field)
            .unwrap_or(0);
        let direction = usize::from(sort.direction == SortDirection::Desc);
        Arc::clone(&self.list[field * 2 + direction])
    }
}

fn list_page(table: &str, cols: &str, sort: TaskSort) -> String {
    let (column, cast) = match sort.field {
        SortField::CreatedAt => ("created_at", "timestamptz"),
        SortField::UpdatedAt => ("updated_at", "timestamptz"),
        SortField::Status => ("status", "text"),
        SortField::TaskType => ("task_type", "text"),
        SortField::Protocol => ("protocol", "text"),
    };
    let (op, dir) = match sort.direction {
        SortDirection::Asc => (">", "ASC"),
        SortDirection::Desc => ("<", "DESC"),
    };
    format!(
        "SELECT {cols} FROM {table} WHERE {LIST_FILTERS}
         AND ($13::text IS NULL OR ({column}, task_id) {op} ($13::{cast}, $14::text))
         ORDER BY {column} {dir}, task_id {dir}
         LIMIT $15"
    )
}
