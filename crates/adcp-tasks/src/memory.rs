//! The in-memory registry: concurrent, bounded, terminal tasks evicted after a TTL.
//!
//! **Not durable**: every task is lost when the process exits. Use it for development, tests
//! and single-process sandboxes; production servers want the PostgreSQL registry.
//!
//! Concurrency: tasks live in a sharded map (`dashmap`), so operations on different tasks
//! rarely contend and no global lock sits on the hot path. A per-scope index keeps `list`
//! proportional to the caller's own tasks. Eviction is incremental: terminal writes record an
//! expiry in one of several small queues, and each `issue` sweeps one queue.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use adcp_types::{AdcpError, TaskStatus};
use async_trait::async_trait;
use chrono::{SubsecRound as _, Utc};
use dashmap::DashMap;
use dashmap::mapref::entry::Entry as MapEntry;
use serde_json::Value;

use crate::error::TaskError;
use crate::model::{NewTask, TaskId, TaskRecord, TaskScope, TerminalWrite, WorkerId};
use crate::payload::{DEFAULT_MAX_PAYLOAD_BYTES, check_size};
use crate::query::{Cursor, SortKey, TaskPage, TaskQuery, TaskSummary, compare};
use crate::registry::TaskRegistry;

const EXPIRY_SHARDS: usize = 16;

/// Terminal tasks in the order they expire.
type ExpiryQueue = Mutex<VecDeque<(Instant, TaskId)>>;

/// Settings of [`InMemoryTaskRegistry`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InMemoryConfig {
    /// The most tasks held at once; `issue` beyond it fails with `CapacityExhausted` (after
    /// evicting expired tasks). Default 100,000.
    pub max_tasks: usize,
    /// How long a terminal task stays readable. Default 24 hours.
    pub terminal_ttl: Duration,
    /// The cap on one JSON payload. Default 4 MiB.
    pub max_payload_bytes: usize,
}

impl Default for InMemoryConfig {
    fn default() -> Self {
        Self {
            max_tasks: 100_000,
            terminal_ttl: Duration::from_hours(24),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}

impl InMemoryConfig {
    /// Sets [`InMemoryConfig::max_tasks`].
    #[must_use]
    pub fn max_tasks(mut self, max_tasks: usize) -> Self {
        self.max_tasks = max_tasks;
        self
    }

    /// Sets [`InMemoryConfig::terminal_ttl`].
    #[must_use]
    pub fn terminal_ttl(mut self, ttl: Duration) -> Self {
        self.terminal_ttl = ttl;
        self
    }

    /// Sets [`InMemoryConfig::max_payload_bytes`].
    #[must_use]
    pub fn max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }
}

/// A JSON payload kept as its compact text: a `serde_json::Value` tree costs about 650 bytes
/// per small object (a B-tree node each), the text of a webhook registration or a `context`
/// 30 to 60. Parsed again when a record is read.
struct Json(Box<str>);

impl Json {
    fn of(value: &Value) -> Self {
        Self(value.to_string().into_boxed_str())
    }

    fn value(&self) -> Value {
        // The text was written from a `Value` by `Json::of`, so it always parses.
        serde_json::from_str(&self.0).unwrap_or(Value::Null)
    }
}

/// One held task: its record without the JSON payloads (`head`, whose payload fields are
/// always `None`, serves filters, sorting and cursors as it is), and the payloads as text.
struct Entry {
    head: TaskRecord,
    progress: Option<Json>,
    result: Option<Json>,
    webhook: Option<Json>,
    request_context: Option<Json>,
    expires_at: Option<Instant>,
}

impl Entry {
    fn new(mut record: TaskRecord) -> Self {
        let text = |value: Option<Value>| value.as_ref().map(Json::of);
        Self {
            progress: text(record.progress.take()),
            result: text(record.result.take()),
            webhook: text(record.webhook.take()),
            request_context: text(record.request_context.take()),
            head: record,
            expires_at: None,
        }
    }

    fn expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }

    /// The whole record, payloads parsed.
    fn record(&self) -> TaskRecord {
        self.record_with_result(self.result.as_ref().map(Json::value))
    }

    /// The whole record with `result` (already in hand) as its result.
    fn record_with_result(&self, result: Option<Value>) -> TaskRecord {
        TaskRecord {
            progress: self.progress.as_ref().map(Json::value),
            result,
            webhook: self.webhook.as_ref().map(Json::value),
            request_context: self.request_context.as_ref().map(Json::value),
            ..self.head.clone()
        }
    }
}

/// A non-durable, bounded, concurrent [`TaskRegistry`] (see the module docs).
pub struct InMemoryTaskRegistry {
    /// Boxed entries keep the table itself small at its usual load factor.
    tasks: DashMap<TaskId, Box<Entry>>,
    by_scope: DashMap<TaskScope, HashSet<TaskId>>,
    expiry: Box<[ExpiryQueue]>,
    count: AtomicUsize,
    next_sweep: AtomicUsize,
    next_push: AtomicUsize,
    config: InMemoryConfig,
}

impl std::fmt::Debug for InMemoryTaskRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemoryTaskRegistry")
            .field("tasks", &self.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for InMemoryTaskRegistry {
    fn default() -> Self {
        Self::new()
    }
}

enum Outcome {
    Completed(Value),
    Failed(AdcpError),
    Canceled,
}

impl InMemoryTaskRegistry {
    /// A registry with the default settings.
    pub fn new() -> Self {
        Self::with_config(InMemoryConfig::default())
    }

    /// A registry with `config`.
    pub fn with_config(config: InMemoryConfig) -> Self {
        Self {
            tasks: DashMap::new(),
            by_scope: DashMap::new(),
            expiry: (0..EXPIRY_SHARDS)
                .map(|_| Mutex::new(VecDeque::new()))
                .collect(),
            count: AtomicUsize::new(0),
            next_sweep: AtomicUsize::new(0),
            next_push: AtomicUsize::new(0),
            config,
        }
    }

    /// How many tasks are held (including expired ones not yet evicted).
    pub fn len(&self) -> usize {
        self.count.load(AtomicOrdering::Acquire)
    }

    /// Whether no task is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Evicts every terminal task whose TTL has passed; returns how many were evicted.
    pub fn evict_expired(&self) -> usize {
        (0..EXPIRY_SHARDS).map(|shard| self.sweep(shard)).sum()
    }

    fn sweep(&self, shard: usize) -> usize {
        let now = Instant::now();
        let due: Vec<TaskId> = {
            let mut queue = self.expiry[shard]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut due = Vec::new();
            while queue.front().is_some_and(|(at, _)| *at <= now) {
                if let Some((_, id)) = queue.pop_front() {
                    due.push(id);
                }
            }
            due
        };
        due.iter()
            .filter(|id| self.remove_if(id, |entry| entry.expired(now)))
            .count()
    }

    fn remove_if(&self, task_id: &TaskId, condition: impl FnOnce(&Entry) -> bool) -> bool {
        let Some((id, entry)) = self.tasks.remove_if(task_id, |_, entry| condition(entry)) else {
            return false;
        };
        self.count.fetch_sub(1, AtomicOrdering::AcqRel);
        self.unindex(&entry.head.scope, &id);
        true
    }

    fn unindex(&self, scope: &TaskScope, task_id: &TaskId) {
        if let Some(mut ids) = self.by_scope.get_mut(scope) {
            ids.remove(task_id);
        }
        self.by_scope.remove_if(scope, |_, ids| ids.is_empty());
    }

    fn reserve_slot(&self) -> Result<(), TaskError> {
        let max = self.config.max_tasks;
        if self.count.fetch_add(1, AtomicOrdering::AcqRel) < max {
            return Ok(());
        }
        self.count.fetch_sub(1, AtomicOrdering::AcqRel);
        self.evict_expired();
        if self.count.fetch_add(1, AtomicOrdering::AcqRel) < max {
            return Ok(());
        }
        self.count.fetch_sub(1, AtomicOrdering::AcqRel);
        Err(TaskError::CapacityExhausted { limit: max })
    }

    fn finish(
        &self,
        task_id: &TaskId,
        scope: Option<&TaskScope>,
        outcome: Outcome,
    ) -> Result<TerminalWrite, TaskError> {
        let now = Instant::now();
        let expires_at = now + self.config.terminal_ttl;
        let record = {
            let mut entry = self
                .tasks
                .get_mut(task_id)
                .filter(|entry| !entry.expired(now) && scope.is_none_or(|s| *s == entry.head.scope))
                .ok_or_else(|| TaskError::NotFound(task_id.clone()))?;
            if entry.head.is_terminal() {
                let status = entry.head.status;
                let same = match &outcome {
                    Outcome::Completed(result) => {
                        status == TaskStatus::Completed
                            && entry.result.as_ref().map(Json::value).as_ref() == Some(result)
                    }
                    Outcome::Failed(error) => {
                        status == TaskStatus::Failed && entry.head.error.as_ref() == Some(error)
                    }
                    Outcome::Canceled => status == TaskStatus::Canceled,
                };
                if same {
                    return Ok(TerminalWrite::AlreadyApplied(entry.record()));
                }
                return Err(TaskError::conflict(
                    task_id,
                    format!("the task is already {status}"),
                ));
            }
            let stamp = Utc::now().trunc_subsecs(6);
            entry.head.updated_at = stamp;
            entry.head.completed_at = Some(stamp);
            entry.expires_at = Some(expires_at);
            match outcome {
                Outcome::Completed(result) => {
                    entry.head.status = TaskStatus::Completed;
                    entry.result = Some(Json::of(&result));
                    // The record returned carries the result written, not a reparse of it.
                    entry.record_with_result(Some(result))
                }
                Outcome::Failed(error) => {
                    entry.head.status = TaskStatus::Failed;
                    entry.head.error = Some(error);
                    entry.record()
                }
                Outcome::Canceled => {
                    entry.head.status = TaskStatus::Canceled;
                    entry.record()
                }
            }
        };
        // The map guard is released before the queue lock: `sweep` takes them the other way.
        let shard = self.next_push.fetch_add(1, AtomicOrdering::Relaxed) % EXPIRY_SHARDS;
        self.expiry[shard]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back((expires_at, task_id.clone()));
        Ok(TerminalWrite::Applied(record))
    }

    fn visible(&self, scope: &TaskScope, task_id: &TaskId, now: Instant) -> Option<TaskRecord> {
        self.tasks
            .get(task_id)
            .filter(|entry| !entry.expired(now) && entry.head.scope == *scope)
            .map(|entry| entry.record())
    }
}

#[async_trait]
impl TaskRegistry for InMemoryTaskRegistry {
    async fn issue(&self, task: NewTask) -> Result<TaskRecord, TaskError> {
        let limit = self.config.max_payload_bytes;
        if let Some(webhook) = task.webhook() {
            check_size("webhook", webhook, limit)?;
        }
        if let Some(context) = task.request_context() {
            check_size("request_context", context, limit)?;
        }
        self.sweep(self.next_sweep.fetch_add(1, AtomicOrdering::Relaxed) % EXPIRY_SHARDS);
        self.reserve_slot()?;
        let task_id = task.task_id().cloned().unwrap_or_else(TaskId::generate);
        let record = TaskRecord::submitted(task_id.clone(), task, Utc::now());
        let now = Instant::now();
        let replaced = match self.tasks.entry(task_id.clone()) {
            MapEntry::Occupied(mut occupied) if occupied.get().expired(now) => {
                let old = occupied.insert(Box::new(Entry::new(record.clone())));
                Some(old.head.scope)
            }
            MapEntry::Occupied(_) => {
                self.count.fetch_sub(1, AtomicOrdering::AcqRel);
                return Err(TaskError::conflict(
                    &task_id,
                    "a task with this id already exists",
                ));
            }
            MapEntry::Vacant(vacant) => {
                vacant.insert(Box::new(Entry::new(record.clone())));
                None
            }
        };
        if let Some(old_scope) = replaced {
            // The expired task this one replaced no longer counts, nor is it listed.
            self.count.fetch_sub(1, AtomicOrdering::AcqRel);
            self.unindex(&old_scope, &task_id);
        }
        self.by_scope
            .entry(record.scope.clone())
            .or_default()
            .insert(task_id);
        Ok(record)
    }

    async fn update_progress(&self, task_id: &TaskId, progress: Value) -> Result<(), TaskError> {
        check_size("progress", &progress, self.config.max_payload_bytes)?;
        let now = Instant::now();
        let mut entry = self
            .tasks
            .get_mut(task_id)
            .filter(|entry| !entry.expired(now))
            .ok_or_else(|| TaskError::NotFound(task_id.clone()))?;
        if entry.head.is_terminal() {
            return Err(TaskError::conflict(
                task_id,
                format!("the task is already {}", entry.head.status),
            ));
        }
        entry.progress = Some(Json::of(&progress));
        entry.head.status = TaskStatus::Working;
        entry.head.updated_at = Utc::now().trunc_subsecs(6);
        Ok(())
    }

    async fn complete(&self, task_id: &TaskId, result: Value) -> Result<TerminalWrite, TaskError> {
        check_size("result", &result, self.config.max_payload_bytes)?;
        self.finish(task_id, None, Outcome::Completed(result))
    }

    async fn fail(&self, task_id: &TaskId, error: &AdcpError) -> Result<TerminalWrite, TaskError> {
        check_size("error", &error.to_value(), self.config.max_payload_bytes)?;
        self.finish(task_id, None, Outcome::Failed(error.clone()))
    }

    async fn cancel(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<TerminalWrite, TaskError> {
        self.finish(task_id, Some(scope), Outcome::Canceled)
    }

    async fn get(
        &self,
        scope: &TaskScope,
        task_id: &TaskId,
    ) -> Result<Option<TaskRecord>, TaskError> {
        Ok(self.visible(scope, task_id, Instant::now()))
    }

    async fn list(&self, scope: &TaskScope, query: &TaskQuery) -> Result<TaskPage, TaskError> {
        let cursor = Cursor::decode(scope, query)?;
        let now = Instant::now();
        let ids: Vec<TaskId> = self
            .by_scope
            .get(scope)
            .map(|ids| ids.iter().cloned().collect())
            .unwrap_or_default();
        let mut summary = TaskSummary::default();
        let mut candidates: Vec<(SortKey, TaskId)> = Vec::new();
        for id in ids {
            let Some(entry) = self.tasks.get(&id) else {
                continue;
            };
            if entry.expired(now) || entry.head.scope != *scope {
                continue;
            }
            // Only the `context_contains` filter reads a payload: parse it for that one.
            let whole;
            let record = if query.filters.context_contains.is_some() {
                whole = entry.record();
                &whole
            } else {
                &entry.head
            };
            if !query.filters.matches(record) {
                continue;
            }
            summary.count(record.status, record.protocol, 1);
            if cursor
                .as_ref()
                .is_none_or(|cursor| cursor.admits(record, query.sort))
            {
                candidates.push((SortKey::of(record, query.sort.field), id));
            }
        }
        candidates.sort_by(|a, b| compare(&a.0, a.1.as_str(), &b.0, b.1.as_str(), query.sort));
        let page_size = query.page_size();
        let has_more = candidates.len() > page_size;
        let tasks: Vec<TaskRecord> = candidates
            .iter()
            .take(page_size)
            .filter_map(|(_, id)| self.visible(scope, id, now))
            .collect();
        let next_cursor = if has_more {
            tasks.last().map(|last| Cursor::after(scope, query, last))
        } else {
            None
        };
        Ok(TaskPage::new(tasks, next_cursor, summary))
    }

    async fn discard(&self, task_id: &TaskId) -> Result<(), TaskError> {
        self.remove_if(task_id, |_| true);
        Ok(())
    }

    fn is_durable(&self) -> bool {
        false
    }

    /// Keeps the ids of tasks that are still unfinished, so the runtime learns about tasks
    /// canceled straight through the registry.
    async fn heartbeat(
        &self,
        _worker: &WorkerId,
        task_ids: &[TaskId],
        _duration: Duration,
    ) -> Result<Vec<TaskId>, TaskError> {
        Ok(task_ids
            .iter()
            .filter(|id| {
                self.tasks
                    .get(*id)
                    .is_some_and(|entry| !entry.head.is_terminal())
            })
            .cloned()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use adcp_types::AdcpProtocol;
    use serde_json::json;

    use super::*;
    use crate::model::TaskKind;

    #[tokio::test]
    async fn payloads_held_as_text_read_back_exactly() {
        let registry = InMemoryTaskRegistry::new();
        let scope = TaskScope::new("acc_1", "api_key:k").unwrap();
        let task = NewTask::new(
            scope.clone(),
            TaskKind::new("get_products").unwrap(),
            AdcpProtocol::MediaBuy,
        )
        .with_webhook(json!({"url": "https://buyer.example/hook", "token": "t"}))
        .with_request_context(json!({"correlation_id": "c", "budget": 0.1}));
        let issued = registry.issue(task).await.unwrap();
        let progress = json!({"percentage": 33.333_333_333_333_336});
        registry
            .update_progress(&issued.task_id, progress.clone())
            .await
            .unwrap();
        // Numbers a lossy float parse would change in the last bit.
        let result = json!({"prices": [0.1, 0.300_000_000_000_000_04, 1.000_000_000_000_000_2, 5e-324, 1.797_693_134_862_315_7e308]});
        let first = registry
            .complete(&issued.task_id, result.clone())
            .await
            .unwrap();
        assert!(
            matches!(first, TerminalWrite::Applied(ref r) if r.result.as_ref() == Some(&result))
        );
        let read = registry
            .get(&scope, &issued.task_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.result, Some(result.clone()));
        assert_eq!(read.progress, Some(progress));
        assert_eq!(read.webhook, issued.webhook);
        assert_eq!(read.request_context, issued.request_context);
        // The same result again is the same write, not a conflict.
        let again = registry.complete(&issued.task_id, result).await.unwrap();
        assert!(matches!(again, TerminalWrite::AlreadyApplied(_)));
    }
}
