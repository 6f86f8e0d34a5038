//! `list_tasks` queries: filters, sort, keyset cursors, and the page a store returns.
//!
//! Both stores page with a keyset (the sort value, then the task id), so a page never repeats or
//! skips a task that existed when the first page was read. The cursor is opaque to buyers and
//! bound to the scope, filters and sort that produced it: reusing it with another query is an
//! `INVALID_REQUEST`.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use adcp_types::{AdcpProtocol, TaskStatus};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TaskError;
use crate::model::{TaskKind, TaskRecord, TaskScope};

/// The default page size of `list_tasks` (`pagination-request.json`).
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page size `list_tasks` allows.
pub const MAX_PAGE_SIZE: u32 = 100;

/// The domains a `list_tasks` item may name (`list-tasks-response.json` `tasks[].domain`): tasks
/// of other protocols, and tasks whose type is not a wire task type, are never listed.
pub const LISTABLE_PROTOCOLS: [AdcpProtocol; 2] = [AdcpProtocol::MediaBuy, AdcpProtocol::Signals];

/// Which tasks a `list_tasks` call wants. Every set filter must match; an empty list means "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TaskFilters {
    /// Any of these statuses (`status` and `statuses` merged).
    pub statuses: Vec<TaskStatus>,
    /// Any of these task types (`task_type` and `task_types` merged).
    pub task_types: Vec<TaskKind>,
    /// Any of these protocols (`protocol` and `protocols` merged).
    pub protocols: Vec<AdcpProtocol>,
    /// Created strictly after.
    pub created_after: Option<DateTime<Utc>>,
    /// Created strictly before.
    pub created_before: Option<DateTime<Utc>>,
    /// Last updated strictly after.
    pub updated_after: Option<DateTime<Utc>>,
    /// Last updated strictly before.
    pub updated_before: Option<DateTime<Utc>>,
    /// Any of these ids (at most 100).
    pub task_ids: Vec<String>,
    /// Case-insensitive text that the request context or the result contains.
    pub context_contains: Option<String>,
    /// Whether a webhook was registered.
    pub has_webhook: Option<bool>,
}

/// The field `list_tasks` sorts by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    /// Creation time (the default).
    #[default]
    CreatedAt,
    /// Last update time.
    UpdatedAt,
    /// Status, by its wire spelling.
    Status,
    /// Task type name.
    TaskType,
    /// Protocol, by its wire spelling.
    Protocol,
}

impl SortField {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Status => "status",
            Self::TaskType => "task_type",
            Self::Protocol => "protocol",
        }
    }
}

/// The sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// Ascending.
    Asc,
    /// Descending (the default).
    #[default]
    Desc,
}

impl SortDirection {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

/// The order of a listing; ties are broken by task id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TaskSort {
    /// The field.
    pub field: SortField,
    /// The direction.
    pub direction: SortDirection,
}

/// One `list_tasks` query.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskQuery {
    /// The filters.
    pub filters: TaskFilters,
    /// The order.
    pub sort: TaskSort,
    /// The page size, 1–100.
    pub max_results: u32,
    /// The opaque cursor of the previous page.
    pub cursor: Option<String>,
    /// Whether the projection includes each task's history (not used by stores).
    pub include_history: bool,
}

impl Default for TaskQuery {
    fn default() -> Self {
        Self {
            filters: TaskFilters::default(),
            sort: TaskSort::default(),
            max_results: DEFAULT_PAGE_SIZE,
            cursor: None,
            include_history: false,
        }
    }
}

/// One page of tasks, with the summary of everything that matched.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskPage {
    /// The tasks of this page, in order.
    pub tasks: Vec<TaskRecord>,
    /// The cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// Counts across all pages.
    pub summary: TaskSummary,
}

impl TaskPage {
    /// A page from its parts (for stores implementing [`crate::TaskRegistry`]).
    pub fn new(tasks: Vec<TaskRecord>, next_cursor: Option<String>, summary: TaskSummary) -> Self {
        Self {
            tasks,
            next_cursor,
            summary,
        }
    }
}

/// Counts of the tasks matching a query's filters, across all pages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskSummary {
    /// How many tasks matched.
    pub total_matching: u64,
    /// Matching tasks per status.
    pub status_breakdown: BTreeMap<TaskStatus, u64>,
    /// Matching tasks per protocol domain.
    pub domain_breakdown: BTreeMap<AdcpProtocol, u64>,
}

impl TaskSummary {
    /// Counts one matching task.
    pub fn count(&mut self, status: TaskStatus, protocol: AdcpProtocol, n: u64) {
        self.total_matching += n;
        *self.status_breakdown.entry(status).or_default() += n;
        *self.domain_breakdown.entry(protocol).or_default() += n;
    }
}

impl TaskQuery {
    /// The first page of every listable task, newest first, 50 per page.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the filters.
    #[must_use]
    pub fn with_filters(mut self, filters: TaskFilters) -> Self {
        self.filters = filters;
        self
    }

    /// Sets the order.
    #[must_use]
    pub fn with_sort(mut self, field: SortField, direction: SortDirection) -> Self {
        self.sort = TaskSort { field, direction };
        self
    }

    /// Sets the page size (clamped into 1–100 when used).
    #[must_use]
    pub fn with_max_results(mut self, max_results: u32) -> Self {
        self.max_results = max_results;
        self
    }

    /// Continues after the page that returned `cursor`.
    #[must_use]
    pub fn with_cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// The query of a `list_tasks` request (`protocol/list-tasks-request.json`), or
    /// [`TaskError::InvalidRequest`] naming the offending field.
    pub fn from_list_request(request: &Value) -> Result<Self, TaskError> {
        if !request.is_object() {
            return Err(TaskError::invalid_request(
                "request",
                "a list_tasks request is a JSON object",
            ));
        }
        let view: ListRequestView = serde_path_to_error::deserialize(request).map_err(|error| {
            let field = error.path().to_string();
            let reason = error.into_inner().to_string();
            // The path of the offending member; "." (serde's root) names no field.
            if field == "." {
                TaskError::invalid_request("request", reason)
            } else {
                TaskError::invalid_request(field, reason)
            }
        })?;
        let mut query = Self {
            include_history: view.include_history.unwrap_or(false),
            ..Self::default()
        };
        if let Some(filters) = view.filters {
            query.filters = filters.into_filters()?;
        }
        if let Some(sort) = view.sort {
            query.sort = sort.into_sort()?;
        }
        if let Some(pagination) = view.pagination {
            if let Some(max) = pagination.max_results {
                query.max_results = u32::try_from(max)
                    .ok()
                    .filter(|max| (1..=MAX_PAGE_SIZE).contains(max))
                    .ok_or_else(|| {
                        TaskError::invalid_request("pagination.max_results", "must be 1 to 100")
                    })?;
            }
            query.cursor = pagination.cursor;
        }
        Ok(query)
    }

    /// The page size, clamped into 1–100.
    pub(crate) fn page_size(&self) -> usize {
        self.max_results.clamp(1, MAX_PAGE_SIZE) as usize
    }
}

impl TaskFilters {
    /// Whether `record` passes every filter and is listable at all.
    pub(crate) fn matches(&self, record: &TaskRecord) -> bool {
        is_listable(record)
            && (self.statuses.is_empty() || self.statuses.contains(&record.status))
            && (self.task_types.is_empty() || self.task_types.contains(&record.task_type))
            && (self.protocols.is_empty() || self.protocols.contains(&record.protocol))
            && self.created_after.is_none_or(|t| record.created_at > t)
            && self.created_before.is_none_or(|t| record.created_at < t)
            && self.updated_after.is_none_or(|t| record.updated_at > t)
            && self.updated_before.is_none_or(|t| record.updated_at < t)
            && (self.task_ids.is_empty()
                || self.task_ids.iter().any(|id| id == record.task_id.as_str()))
            && self
                .has_webhook
                .is_none_or(|wanted| record.has_webhook == wanted)
            && self
                .context_contains
                .as_deref()
                .is_none_or(|needle| context_contains(record, needle))
    }
}

fn is_listable(record: &TaskRecord) -> bool {
    record.task_type.wire_type().is_some() && LISTABLE_PROTOCOLS.contains(&record.protocol)
}

fn context_contains(record: &TaskRecord, needle: &str) -> bool {
    let needle = needle.to_lowercase();
    [&record.request_context, &record.result]
        .into_iter()
        .flatten()
        .any(|value| value.to_string().to_lowercase().contains(&needle))
}

/// A sort value, as stored in a cursor.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum SortKey {
    Time(DateTime<Utc>),
    Text(String),
}

impl SortKey {
    pub(crate) fn of(record: &TaskRecord, field: SortField) -> Self {
        match field {
            SortField::CreatedAt => Self::Time(record.created_at),
            SortField::UpdatedAt => Self::Time(record.updated_at),
            SortField::Status => Self::Text(record.status.as_str().to_owned()),
            SortField::TaskType => Self::Text(record.task_type.as_str().to_owned()),
            SortField::Protocol => Self::Text(record.protocol.as_str().to_owned()),
        }
    }

    /// The value as SQL text (timestamps in RFC 3339 with microseconds).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub(crate) fn to_sql_text(&self) -> String {
        match self {
            Self::Time(time) => time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            Self::Text(text) => text.clone(),
        }
    }
}

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    #[serde(rename = "f")]
    fingerprint: String,
    #[serde(rename = "k")]
    pub(crate) key: SortKey,
    #[serde(rename = "i")]
    pub(crate) task_id: String,
}

impl Cursor {
    /// The cursor pointing just after `last` for this scope and query.
    pub(crate) fn after(scope: &TaskScope, query: &TaskQuery, last: &TaskRecord) -> String {
        let cursor = Self {
            fingerprint: fingerprint(scope, query),
            key: SortKey::of(last, query.sort.field),
            task_id: last.task_id.as_str().to_owned(),
        };
        let json = serde_json::to_vec(&cursor).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// The query's cursor, checked against the scope, filters and sort it was issued for.
    pub(crate) fn decode(scope: &TaskScope, query: &TaskQuery) -> Result<Option<Self>, TaskError> {
        let Some(text) = query.cursor.as_deref() else {
            return Ok(None);
        };
        let invalid =
            || TaskError::invalid_request("pagination.cursor", "not a cursor of this query");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
        let cursor: Self = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        let key_fits = matches!(
            (&cursor.key, query.sort.field),
            (
                SortKey::Time(_),
                SortField::CreatedAt | SortField::UpdatedAt
            ) | (
                SortKey::Text(_),
                SortField::Status | SortField::TaskType | SortField::Protocol
            )
        );
        if cursor.fingerprint != fingerprint(scope, query) || !key_fits {
            return Err(invalid());
        }
        Ok(Some(cursor))
    }

    /// Whether `record` comes strictly after this cursor in `sort` order (belongs to a later
    /// page).
    pub(crate) fn admits(&self, record: &TaskRecord, sort: TaskSort) -> bool {
        compare(
            &SortKey::of(record, sort.field),
            record.task_id.as_str(),
            &self.key,
            &self.task_id,
            sort,
        ) == Ordering::Greater
    }
}

/// Orders `(key, id)` pairs in `sort` order (ascending order reversed for `desc`).
pub(crate) fn compare(
    key_a: &SortKey,
    id_a: &str,
    key_b: &SortKey,
    id_b: &str,
    sort: TaskSort,
) -> Ordering {
    let ascending = key_a
        .cmp(key_b)
        .then_with(|| id_a.as_bytes().cmp(id_b.as_bytes()));
    match sort.direction {
        SortDirection::Asc => ascending,
        SortDirection::Desc => ascending.reverse(),
    }
}

/// FNV-1a over the scope, filters and sort: stable across processes and builds.
fn fingerprint(scope: &TaskScope, query: &TaskQuery) -> String {
    let canonical = serde_json::to_vec(&(scope, &query.filters, query.sort)).unwrap_or_default();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in canonical {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[derive(Deserialize)]
struct ListRequestView {
    #[serde(default)]
    filters: Option<FiltersView>,
    #[serde(default)]
    sort: Option<SortView>,
    #[serde(default)]
    pagination: Option<PaginationView>,
    #[serde(default)]
    include_history: Option<bool>,
}

#[derive(Deserialize)]
struct FiltersView {
    protocol: Option<AdcpProtocol>,
    protocols: Option<Vec<AdcpProtocol>>,
    status: Option<TaskStatus>,
    statuses: Option<Vec<TaskStatus>>,
    task_type: Option<String>,
    task_types: Option<Vec<String>>,
    created_after: Option<String>,
    created_before: Option<String>,
    updated_after: Option<String>,
    updated_before: Option<String>,
    task_ids: Option<Vec<String>>,
    context_contains: Option<String>,
    has_webhook: Option<bool>,
}

impl FiltersView {
    fn into_filters(self) -> Result<TaskFilters, TaskError> {
        let mut task_types = Vec::new();
        for name in self
            .task_type
            .into_iter()
            .chain(self.task_types.into_iter().flatten())
        {
            let kind = TaskKind::new(name)
                .map_err(|_| TaskError::invalid_request("filters.task_types", "not a task type"))?;
            task_types.push(kind);
        }
        let task_ids = self.task_ids.unwrap_or_default();
        if task_ids.len() > 100 {
            return Err(TaskError::invalid_request(
                "filters.task_ids",
                "at most 100 task ids",
            ));
        }
        Ok(TaskFilters {
            statuses: self
                .status
                .into_iter()
                .chain(self.statuses.into_iter().flatten())
                .collect(),
            task_types,
            protocols: self
                .protocol
                .into_iter()
                .chain(self.protocols.into_iter().flatten())
                .collect(),
            created_after: timestamp(self.created_after, "filters.created_after")?,
            created_before: timestamp(self.created_before, "filters.created_before")?,
            updated_after: timestamp(self.updated_after, "filters.updated_after")?,
            updated_before: timestamp(self.updated_before, "filters.updated_before")?,
            task_ids,
            context_contains: self.context_contains.filter(|text| !text.is_empty()),
            has_webhook: self.has_webhook,
        })
    }
}

fn timestamp(
    text: Option<String>,
    field: &'static str,
) -> Result<Option<DateTime<Utc>>, TaskError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| TaskError::invalid_request(field, "not an ISO 8601 date-time"))
    })
    .transpose()
}

#[derive(Deserialize)]
struct SortView {
    field: Option<String>,
    direction: Option<String>,
}

impl SortView {
    fn into_sort(self) -> Result<TaskSort, TaskError> {
        let field = match self.field.as_deref() {
            None | Some("created_at") => SortField::CreatedAt,
            Some("updated_at") => SortField::UpdatedAt,
            Some("status") => SortField::Status,
            Some("task_type") => SortField::TaskType,
            Some("protocol") => SortField::Protocol,
            Some(_) => {
                return Err(TaskError::invalid_request(
                    "sort.field",
                    "unknown sort field",
                ));
            }
        };
        let direction = match self.direction.as_deref() {
            None | Some("desc") => SortDirection::Desc,
            Some("asc") => SortDirection::Asc,
            Some(_) => {
                return Err(TaskError::invalid_request(
                    "sort.direction",
                    "must be asc or desc",
                ));
            }
        };
        Ok(TaskSort { field, direction })
    }
}

#[derive(Deserialize)]
struct PaginationView {
    max_results: Option<i64>,
    cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_full_list_request() {
        let query = TaskQuery::from_list_request(&json!({
            "filters": {"protocol": "media-buy", "statuses": ["submitted", "working"], "status": "failed",
                        "task_types": ["get_products"], "created_after": "2025-01-01T00:00:00Z",
                        "context_contains": "acme", "has_webhook": true},
            "sort": {"field": "updated_at", "direction": "asc"},
            "pagination": {"max_results": 20},
            "include_history": true
        }))
        .unwrap();
        assert_eq!(query.filters.statuses.len(), 3);
        assert_eq!(query.filters.protocols, vec![AdcpProtocol::MediaBuy]);
        assert_eq!(
            query.sort,
            TaskSort {
                field: SortField::UpdatedAt,
                direction: SortDirection::Asc
            }
        );
        assert_eq!(query.max_results, 20);
        assert!(query.include_history);
    }

    #[test]
    fn rejects_out_of_range_page_sizes_and_bad_dates() {
        let error =
            TaskQuery::from_list_request(&json!({"pagination": {"max_results": 101}})).unwrap_err();
        assert_eq!(
            error.to_adcp_error().field.as_deref(),
            Some("pagination.max_results")
        );
        let error =
            TaskQuery::from_list_request(&json!({"filters": {"created_before": "yesterday"}}))
                .unwrap_err();
        assert_eq!(
            error.to_adcp_error().field.as_deref(),
            Some("filters.created_before")
        );
        assert_eq!(error.to_adcp_error().code, "INVALID_REQUEST");
    }

    #[test]
    fn a_mistyped_member_is_named_by_its_path() {
        for (request, field) in [
            (
                json!({"filters": {"statuses": "working"}}),
                "filters.statuses",
            ),
            (json!({"include_history": "yes"}), "include_history"),
            (
                json!({"pagination": {"max_results": "ten"}}),
                "pagination.max_results",
            ),
            (json!([1]), "request"),
        ] {
            match TaskQuery::from_list_request(&request) {
                Err(TaskError::InvalidRequest { field: found, .. }) => {
                    assert_eq!(found, field, "{request}");
                }
                other => panic!("{request}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_cursor_is_bound_to_its_query() {
        let scope = TaskScope::new("a", "o").unwrap();
        let task = crate::model::NewTask::new(
            scope.clone(),
            adcp_types::TaskType::GetProducts.into(),
            AdcpProtocol::MediaBuy,
        );
        let record = TaskRecord::submitted(crate::model::TaskId::generate(), task, Utc::now());
        let query = TaskQuery::default();
        let text = Cursor::after(&scope, &query, &record);
        let with_cursor = TaskQuery::new().with_cursor(text.clone());
        assert!(Cursor::decode(&scope, &with_cursor).unwrap().is_some());

        let other_scope = TaskScope::new("b", "o").unwrap();
        assert!(Cursor::decode(&other_scope, &with_cursor).is_err());
        let mut other_filters = with_cursor.clone();
        other_filters.filters.has_webhook = Some(true);
        assert!(Cursor::decode(&scope, &other_filters).is_err());
        let garbage = TaskQuery::new().with_cursor("!!");
        assert!(Cursor::decode(&scope, &garbage).is_err());
    }
}
