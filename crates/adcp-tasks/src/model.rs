//! The data a registry stores: task ids, task types, scopes, records and progress.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use adcp_types::{AdcpError, AdcpProtocol, TaskStatus, TaskType};
use chrono::{DateTime, SubsecRound as _, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::TaskError;

/// The longest task id accepted (the JS SDK's bound, which buyers already meet).
pub const MAX_TASK_ID_LEN: usize = 128;

/// A task id: `task_` + 128 random bits in hex when generated, or a caller-chosen id of 1–128
/// characters from `[A-Za-z0-9_.:-]`.
///
/// Guarantees: a generated id is unguessable (drawn from the thread-local CSPRNG, seeded by the
/// operating system) and never repeats in practice.
///
/// Cloning is cheap (the text is shared), since every task's id is held by the registry, its
/// index, the runtime and the work's context at once.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(Arc<str>);

impl TaskId {
    /// A fresh unguessable id, `task_` followed by 32 hex digits.
    pub fn generate() -> Self {
        Self(format!("task_{:032x}", rand::random::<u128>()).into())
    }

    /// A caller-chosen id (the sandbox test controller forces deterministic ids), or an id read
    /// from a request. Fails when empty, longer than [`MAX_TASK_ID_LEN`], or holding characters
    /// outside `[A-Za-z0-9_.:-]`.
    pub fn parse(id: impl Into<String>) -> Result<Self, TaskError> {
        let id = id.into();
        if id.is_empty() || id.len() > MAX_TASK_ID_LEN {
            return Err(TaskError::invalid("task_id", "must be 1 to 128 characters"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
        {
            return Err(TaskError::invalid(
                "task_id",
                "may hold only A-Z, a-z, 0-9, `_.:-`",
            ));
        }
        Ok(Self(id.into()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl Serialize for TaskId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TaskId {
    /// Accepts only ids [`TaskId::parse`] accepts.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(text).map_err(serde::de::Error::custom)
    }
}

/// A task's type: the tool name that created it (`get_products`), or any other snake_case name
/// (an SDK-internal type).
///
/// The wire's `task_type` (`enums/task-type.json`) admits 23 values; [`TaskKind::wire_type`]
/// says whether this kind is one of them.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskKind(String);

impl TaskKind {
    /// A task type name of 1–64 characters from `[a-z0-9_]`.
    pub fn new(name: impl Into<String>) -> Result<Self, TaskError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if valid {
            Ok(Self(name))
        } else {
            Err(TaskError::invalid(
                "task_type",
                "must be 1 to 64 characters from [a-z0-9_]",
            ))
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The protocol's task type, when this kind is one of the wire's 23 values.
    pub fn wire_type(&self) -> Option<TaskType> {
        self.0.parse().ok()
    }

    /// The protocol a task of this type belongs to by default, for servers that do not decide
    /// it themselves: for wire task types the domain `enums/task-type.json` names (account
    /// tasks count as `media-buy`, property-list tasks as `governance`); for other names the
    /// tool manifest's protocol with the same aliases (`property`, `collection`,
    /// `content-standards` and `compliance` are `governance`). `None` when neither knows it.
    pub fn default_protocol(&self) -> Option<AdcpProtocol> {
        if let Some(task_type) = self.wire_type() {
            return Some(wire_type_protocol(task_type));
        }
        let tool = adcp_types::manifest::tool(&self.0)?;
        match tool.protocol {
            "account" => Some(AdcpProtocol::MediaBuy),
            "property" | "collection" | "content-standards" | "compliance" => {
                Some(AdcpProtocol::Governance)
            }
            other => other.parse().ok(),
        }
    }
}

/// The domain `enums/task-type.json` gives each wire task type.
fn wire_type_protocol(task_type: TaskType) -> AdcpProtocol {
    match task_type {
        TaskType::ActivateSignal | TaskType::GetSignals => AdcpProtocol::Signals,
        TaskType::CreatePropertyList
        | TaskType::UpdatePropertyList
        | TaskType::GetPropertyList
        | TaskType::ListPropertyLists
        | TaskType::DeletePropertyList => AdcpProtocol::Governance,
        TaskType::GetCreativeDelivery => AdcpProtocol::Creative,
        TaskType::GetBrandIdentity
        | TaskType::SearchBrands
        | TaskType::GetRights
        | TaskType::AcquireRights => AdcpProtocol::Brand,
        TaskType::CreateMediaBuy
        | TaskType::UpdateMediaBuy
        | TaskType::MediaBuyDelivery
        | TaskType::SyncCreatives
        | TaskType::GetProducts
        | TaskType::SyncAccounts
        | TaskType::GetAccountFinancials
        | TaskType::SyncEventSources
        | TaskType::SyncAudiences
        | TaskType::SyncCatalogs
        | TaskType::LogEvent => AdcpProtocol::MediaBuy,
    }
}

impl From<TaskType> for TaskKind {
    fn from(task_type: TaskType) -> Self {
        Self(task_type.as_str().to_owned())
    }
}

impl fmt::Display for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TaskKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// Who may see a task: the account it was created for and the authenticated principal (owner)
/// that created it. Both are opaque and compared byte for byte.
///
/// Guarantees: neither part is empty, blank, or the placeholder `<unset>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskScope {
    account_id: String,
    owner: String,
}

impl TaskScope {
    /// A scope for `account_id` and `owner` (e.g. `api_key:<key id>` or `oauth:<client id>`).
    pub fn new(account_id: impl Into<String>, owner: impl Into<String>) -> Result<Self, TaskError> {
        let account_id = account_id.into();
        let owner = owner.into();
        for (what, value) in [("account_id", &account_id), ("owner", &owner)] {
            if value.trim().is_empty() || value == "<unset>" || value.len() > 512 {
                return Err(TaskError::invalid(
                    "scope",
                    format!("{what} must be a non-blank value of at most 512 bytes"),
                ));
            }
        }
        Ok(Self { account_id, owner })
    }

    /// The account the task belongs to.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// The principal that created the task.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}

/// The id of one runtime process holding leases on the tasks it runs.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(String);

impl WorkerId {
    /// A fresh random worker id (`worker_` + 64 random bits in hex).
    pub fn generate() -> Self {
        Self(format!("worker_{:016x}", rand::random::<u64>()))
    }

    /// A chosen worker id, e.g. a host name; 1–128 printable ASCII characters.
    pub fn new(id: impl Into<String>) -> Result<Self, TaskError> {
        let id = id.into();
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TaskError::invalid(
                "worker id",
                "must be 1 to 128 printable ASCII characters",
            ));
        }
        Ok(Self(id))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A lease on a running task: `owner` promises to heartbeat it before `duration` elapses; when
/// it does not (its process died), a reaper fails the task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The worker running the task.
    pub owner: WorkerId,
    /// How long the lease lasts from issue or from the last heartbeat.
    pub duration: Duration,
}

/// What [`crate::TaskRegistry::issue`] needs to create a task.
#[derive(Clone)]
pub struct NewTask {
    task_id: Option<TaskId>,
    scope: TaskScope,
    task_type: TaskKind,
    protocol: AdcpProtocol,
    webhook: Option<Value>,
    request_context: Option<Value>,
    context_id: Option<String>,
    lease: Option<Lease>,
}

impl NewTask {
    /// A task of `task_type` in `protocol` for `scope`, with a generated id, no webhook, no
    /// request context and no lease.
    pub fn new(scope: TaskScope, task_type: TaskKind, protocol: AdcpProtocol) -> Self {
        Self {
            task_id: None,
            scope,
            task_type,
            protocol,
            webhook: None,
            request_context: None,
            context_id: None,
            lease: None,
        }
    }

    /// Uses a caller-chosen id instead of a generated one (a duplicate is a `Conflict`).
    #[must_use]
    pub fn with_task_id(mut self, task_id: TaskId) -> Self {
        self.task_id = Some(task_id);
        self
    }

    /// Records the buyer's webhook registration (`push_notification_config`), stored as given and
    /// handed back in [`TaskRecord::webhook`] for the terminal notification. Sets `has_webhook`.
    #[must_use]
    pub fn with_webhook(mut self, push_notification_config: Value) -> Self {
        self.webhook = Some(push_notification_config);
        self
    }

    /// Records the buyer's `context` object from the creating request (never changed later).
    #[must_use]
    pub fn with_request_context(mut self, context: Value) -> Self {
        self.request_context = Some(context);
        self
    }

    /// Records the conversation the task belongs to (the envelope's `context_id`; A2A's
    /// `contextId`), reported with the task and in its webhook.
    #[must_use]
    pub fn with_context_id(mut self, context_id: impl Into<String>) -> Self {
        self.context_id = Some(context_id.into());
        self
    }

    /// Leases the task to a worker from the start (the handoff runtime does this).
    #[must_use]
    pub fn with_lease(mut self, lease: Lease) -> Self {
        self.lease = Some(lease);
        self
    }

    /// The caller-chosen id, if any.
    pub fn task_id(&self) -> Option<&TaskId> {
        self.task_id.as_ref()
    }

    /// The scope.
    pub fn scope(&self) -> &TaskScope {
        &self.scope
    }

    /// The task type.
    pub fn task_type(&self) -> &TaskKind {
        &self.task_type
    }

    /// The protocol.
    pub fn protocol(&self) -> AdcpProtocol {
        self.protocol
    }

    /// The webhook registration, if any.
    pub fn webhook(&self) -> Option<&Value> {
        self.webhook.as_ref()
    }

    /// The creating request's `context`, if any.
    pub fn request_context(&self) -> Option<&Value> {
        self.request_context.as_ref()
    }

    /// The conversation the task belongs to, if the creating request named one.
    pub fn context_id(&self) -> Option<&str> {
        self.context_id.as_deref()
    }

    /// The lease, if any.
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }
}

impl fmt::Debug for NewTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewTask")
            .field("task_id", &self.task_id)
            .field("scope", &self.scope)
            .field("task_type", &self.task_type)
            .field("protocol", &self.protocol)
            .field("has_webhook", &self.webhook.is_some())
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// One stored task.
///
/// Guarantees (both stores): `status` only moves submitted → working → one terminal state
/// (completed, failed, canceled) and never leaves it; `result` is set only when completed,
/// `error` only when failed; `completed_at` is set exactly when the status is terminal;
/// timestamps have microsecond precision.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct TaskRecord {
    /// The task id.
    pub task_id: TaskId,
    /// The task type.
    pub task_type: TaskKind,
    /// The protocol the task belongs to.
    pub protocol: AdcpProtocol,
    /// Who may see the task.
    pub scope: TaskScope,
    /// The current status.
    pub status: TaskStatus,
    /// The last progress payload reported.
    pub progress: Option<Value>,
    /// The completed task's result.
    pub result: Option<Value>,
    /// The failed task's wire error.
    pub error: Option<AdcpError>,
    /// Whether the buyer registered a webhook.
    pub has_webhook: bool,
    /// The buyer's webhook registration as stored at issue time (opaque to this crate; may hold
    /// credentials, so it is never logged). The PostgreSQL registry clears it from the row in
    /// the terminal write: the record that write returns (and the outbox and terminal callback
    /// receive) still carries it, later reads of the finished task show `None`.
    pub webhook: Option<Value>,
    /// The buyer's `context` from the creating request.
    pub request_context: Option<Value>,
    /// The conversation the task belongs to (the creating request's `context_id`).
    pub context_id: Option<String>,
    /// When the task was issued.
    pub created_at: DateTime<Utc>,
    /// When the task last changed.
    pub updated_at: DateTime<Utc>,
    /// When the task reached its terminal status.
    pub completed_at: Option<DateTime<Utc>>,
}

impl TaskRecord {
    /// The freshly issued (`submitted`) record of `task` with id `task_id`, stamped `now`
    /// (truncated to microseconds). For stores implementing [`crate::TaskRegistry`].
    pub fn submitted(task_id: TaskId, task: NewTask, now: DateTime<Utc>) -> Self {
        let now = now.trunc_subsecs(6);
        Self {
            task_id,
            task_type: task.task_type,
            protocol: task.protocol,
            scope: task.scope,
            status: TaskStatus::Submitted,
            progress: None,
            result: None,
            error: None,
            has_webhook: task.webhook.is_some(),
            webhook: task.webhook,
            request_context: task.request_context,
            context_id: task.context_id,
            created_at: now,
            updated_at: now,
            completed_at: None,
        }
    }

    /// Whether the task has reached a final status.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }
}

impl fmt::Debug for TaskRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRecord")
            .field("task_id", &self.task_id)
            .field("task_type", &self.task_type)
            .field("protocol", &self.protocol)
            .field("scope", &self.scope)
            .field("status", &self.status)
            .field("has_webhook", &self.has_webhook)
            .field("error_code", &self.error.as_ref().map(|e| e.code.as_str()))
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish_non_exhaustive()
    }
}

/// The outcome of a terminal write (complete, fail, cancel).
#[derive(Debug, Clone, PartialEq)]
pub enum TerminalWrite {
    /// This call moved the task to its terminal status; the record is the new state. Exactly
    /// one call per task ever returns this.
    Applied(TaskRecord),
    /// The task already had this exact terminal outcome; nothing changed.
    AlreadyApplied(TaskRecord),
}

impl TerminalWrite {
    /// The task as it is now.
    pub fn record(&self) -> &TaskRecord {
        match self {
            Self::Applied(record) | Self::AlreadyApplied(record) => record,
        }
    }

    /// The task as it is now, by value.
    pub fn into_record(self) -> TaskRecord {
        match self {
            Self::Applied(record) | Self::AlreadyApplied(record) => record,
        }
    }

    /// Whether this call made the change.
    pub fn is_applied(&self) -> bool {
        matches!(self, Self::Applied(_))
    }
}

/// Progress of a running task, as `get_task_status` reports it.
///
/// Guarantees: the serialised form always satisfies the schema's `progress` object —
/// `percentage` within 0–100, step numbers at least 1.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TaskProgress {
    #[serde(skip_serializing_if = "Option::is_none")]
    percentage: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_steps: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    step_number: Option<u32>,
}

impl TaskProgress {
    /// Empty progress.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the completion percentage, clamped into 0–100 (a non-finite value is dropped).
    #[must_use]
    pub fn percentage(mut self, percentage: f64) -> Self {
        self.percentage = percentage.is_finite().then(|| percentage.clamp(0.0, 100.0));
        self
    }

    /// Sets the current step's name.
    #[must_use]
    pub fn current_step(mut self, step: impl Into<String>) -> Self {
        self.current_step = Some(step.into());
        self
    }

    /// Sets step `number` of `total` (both at least 1; `number` at most `total`).
    #[must_use]
    pub fn steps(mut self, number: u32, total: u32) -> Self {
        let total = total.max(1);
        self.total_steps = Some(total);
        self.step_number = Some(number.clamp(1, total));
        self
    }

    /// The progress as a JSON object.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| Value::Object(serde_json::Map::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_128_bits_and_differ() {
        let a = TaskId::generate();
        let b = TaskId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), "task_".len() + 32);
        assert!(TaskId::parse(a.as_str()).is_ok());
    }

    #[test]
    fn caller_ids_are_validated() {
        assert!(TaskId::parse("").is_err());
        assert!(TaskId::parse("a b").is_err());
        assert!(TaskId::parse("x".repeat(129)).is_err());
        assert!(TaskId::parse("task_sandbox-1:a.b").is_ok());
    }

    #[test]
    fn blank_or_unset_scope_is_refused() {
        assert!(TaskScope::new("", "o").is_err());
        assert!(TaskScope::new("a", "  ").is_err());
        assert!(TaskScope::new("<unset>", "o").is_err());
        assert!(TaskScope::new("acct", "api_key:1").is_ok());
    }

    #[test]
    fn task_kind_knows_wire_types() {
        assert_eq!(
            TaskKind::new("get_products").unwrap().wire_type(),
            Some(TaskType::GetProducts)
        );
        assert_eq!(TaskKind::new("refine_proposals").unwrap().wire_type(), None);
        assert!(TaskKind::new("Get-Products").is_err());
    }

    #[test]
    fn default_protocols_follow_the_task_type_domains() {
        let protocol = |name: &str| TaskKind::new(name).unwrap().default_protocol();
        assert_eq!(protocol("sync_creatives"), Some(AdcpProtocol::MediaBuy));
        assert_eq!(protocol("get_signals"), Some(AdcpProtocol::Signals));
        assert_eq!(protocol("sync_accounts"), Some(AdcpProtocol::MediaBuy));
        assert_eq!(
            protocol("create_property_list"),
            Some(AdcpProtocol::Governance)
        );
        assert_eq!(protocol("build_creative"), Some(AdcpProtocol::MediaBuy));
        assert_eq!(protocol("preview_creative"), Some(AdcpProtocol::Creative));
        assert_eq!(protocol("no_such_tool"), None);
    }

    #[test]
    fn progress_is_clamped_into_the_schema() {
        let value = TaskProgress::new().percentage(140.0).steps(0, 0).to_value();
        assert_eq!(value["percentage"], 100.0);
        assert_eq!(value["step_number"], 1);
        assert_eq!(value["total_steps"], 1);
        assert!(
            TaskProgress::new()
                .percentage(f64::NAN)
                .to_value()
                .get("percentage")
                .is_none()
        );
    }

    #[test]
    fn debug_never_prints_the_webhook() {
        let scope = TaskScope::new("a", "o").unwrap();
        let task = NewTask::new(scope, TaskType::GetProducts.into(), AdcpProtocol::MediaBuy)
            .with_webhook(serde_json::json!({"authentication": {"credentials": "s3cret"}}));
        let record = TaskRecord::submitted(TaskId::generate(), task.clone(), Utc::now());
        assert!(!format!("{task:?}{record:?}").contains("s3cret"));
    }
}
