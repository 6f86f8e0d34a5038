//! Sandbox state behind `comply_test_controller`: one-shot forced response arms and the tasks
//! they created, waiting for `force_task_completion`.
//!
//! Forced directives are scoped to the caller (the authenticated principal) within the
//! sandbox, not to the account of the controller call: compliance runners send controller calls
//! under their own account. They only ever apply to calls whose resolved account is a sandbox
//! account, and only the principal that forced a task can complete it — one buyer cannot steer
//! another's sandbox calls.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adcp_guards::DiscoveryMode;
use adcp_tasks::{TaskId, TaskRegistry, TaskScope};
use adcp_types::AdcpError;
use dashmap::DashMap;
use serde_json::Value;
use tokio::sync::oneshot;

use crate::call::CallContext;
use crate::dispatch::handler::{Produced, start_fn};

/// How long a forced task waits for `force_task_completion` before it fails.
const FORCED_TASK_PATIENCE: Duration = Duration::from_hours(1);

/// The most directives queued per tool (a runaway controller cannot grow memory).
const MAX_QUEUED: usize = 64;

/// The most forced task ids (and waiting forced tasks) remembered at once; past it the
/// oldest-looking entry is forgotten (a runaway controller cannot grow memory).
const MAX_REMEMBERED: usize = 4_096;

/// How long re-arming a forced task id waits for the task it supersedes to be recorded as
/// finished before giving up (the new call then meets the id as taken: `CONFLICT`).
const SUPERSEDE_PATIENCE: Duration = Duration::from_secs(2);

/// One forced arm: the next matching call hands off to a task with this id.
#[derive(Debug, Clone)]
pub(crate) struct ForcedArm {
    task_id: TaskId,
    message: Option<String>,
}

/// What `force_task_completion` delivers to a waiting forced task.
type Completion = Result<Value, AdcpError>;

/// The sandbox's shared state.
#[derive(Debug, Default)]
pub(crate) struct Sandbox {
    /// Queued arms by (principal, tool).
    forced: Mutex<HashMap<(String, &'static str), VecDeque<ForcedArm>>>,
    /// Forced tasks waiting for completion, by task id: (principal, sender).
    waiting: DashMap<String, (String, oneshot::Sender<Completion>)>,
    /// Every task id a forced arm created, with the principal that forced it.
    issued: DashMap<String, String>,
}

/// Which tool a `force_*_arm` scenario targets.
pub(crate) fn forced_tool(scenario: &str) -> Option<&'static str> {
    match scenario {
        "force_get_products_arm" => Some("get_products"),
        "force_get_signals_arm" => Some("get_signals"),
        "force_create_media_buy_arm" => Some("create_media_buy"),
        _ => None,
    }
}

impl Sandbox {
    /// Queues a forced arm for the next matching call to `tool`.
    pub(crate) fn force_arm(
        &self,
        owner: &str,
        tool: &'static str,
        task_id: TaskId,
        message: Option<String>,
    ) -> Result<(), String> {
        let mut forced = self
            .forced
            .lock()
            .map_err(|_| "sandbox state poisoned".to_owned())?;
        let queue = forced.entry((owner.to_owned(), tool)).or_default();
        if queue.len() >= MAX_QUEUED {
            return Err(format!(
                "at most {MAX_QUEUED} directives may be queued per tool"
            ));
        }
        queue.push_back(ForcedArm { task_id, message });
        Ok(())
    }

    /// Takes the forced arm for a call to `tool`, if one is queued and the call is eligible
    /// (discovery: brief or refine mode only; wholesale always answers synchronously).
    pub(crate) fn take_forced_arm(
        &self,
        owner: &str,
        tool: &'static str,
        mode: Option<DiscoveryMode>,
    ) -> Option<ForcedArm> {
        if mode == Some(DiscoveryMode::Wholesale) {
            return None;
        }
        self.forced
            .lock()
            .ok()?
            .get_mut(&(owner.to_owned(), tool))?
            .pop_front()
    }

    /// Completes a waiting forced task with `result`. `false` when no forced task of that id
    /// is waiting.
    pub(crate) fn complete(&self, owner: &str, task_id: &str, completion: Completion) -> bool {
        match self
            .waiting
            .remove_if(task_id, |_, (waiting_owner, _)| waiting_owner == owner)
        {
            Some((_, (_, sender))) => sender.send(completion).is_ok(),
            None => false,
        }
    }

    /// Makes room for a forced arm's task id that this principal's earlier forced arm already
    /// used (a compliance run repeated against the same agent names the same fixed ids): an
    /// earlier task still waiting is failed as superseded, and once it is recorded as finished
    /// it is removed, so the new task can take the id. A task id never forced by this
    /// principal is left alone: the new task then meets it as taken (`CONFLICT`), as any
    /// handoff would.
    pub(crate) async fn supersede(
        &self,
        owner: &str,
        task_id: &TaskId,
        scope: Option<&TaskScope>,
        registry: &dyn TaskRegistry,
    ) {
        let id = task_id.as_str();
        if self.issued.get(id).is_none_or(|issuer| *issuer != owner) {
            return;
        }
        let Some(scope) = scope else {
            return;
        };
        // Only a task this caller can see in this scope is superseded: re-arming the id under
        // another account leaves the earlier task alone (the new call then meets CONFLICT).
        if !matches!(registry.get(scope, task_id).await, Ok(Some(_))) {
            return;
        }
        self.complete(
            owner,
            id,
            Err(AdcpError::new(
                adcp_types::codes::CONFLICT,
                "superseded: the test controller forced a new task with this id",
            )),
        );
        let deadline = tokio::time::Instant::now() + SUPERSEDE_PATIENCE;
        loop {
            // Gone already, unreadable, or still running past the patience: leave it be.
            match registry.get(scope, task_id).await {
                Ok(Some(record)) if record.is_terminal() => break,
                Ok(Some(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Ok(_) | Err(_) => return,
            }
        }
        if let Err(error) = registry.discard(task_id).await {
            tracing::warn!(%error, "a superseded forced task could not be removed");
        }
    }

    /// Registers the forced task `task_id` of `owner` for `force_task_completion`. An id
    /// another principal forced stays theirs: nothing is registered (the new handoff then
    /// meets that task's id as taken), and their waiting task is untouched.
    fn wait_for(&self, owner: &str, task_id: &TaskId) -> oneshot::Receiver<Completion> {
        let (sender, receiver) = oneshot::channel();
        let id = task_id.as_str();
        if self.issued.get(id).is_some_and(|issuer| *issuer != owner) {
            return receiver;
        }
        forget_one_if_full(&self.issued);
        forget_one_if_full(&self.waiting);
        self.issued.insert(id.to_owned(), owner.to_owned());
        self.waiting
            .insert(id.to_owned(), (owner.to_owned(), sender));
        receiver
    }
}

/// Removes one entry of `map` when it holds [`MAX_REMEMBERED`] or more.
fn forget_one_if_full<V>(map: &DashMap<String, V>) {
    if map.len() < MAX_REMEMBERED {
        return;
    }
    let victim = map.iter().next().map(|entry| entry.key().clone());
    if let Some(victim) = victim {
        map.remove(&victim);
    }
}

impl ForcedArm {
    /// The id of the task this arm creates.
    pub(crate) fn task_id(&self) -> &TaskId {
        &self.task_id
    }

    /// The handoff a forced arm stands for: a task with the forced id whose result arrives
    /// through `force_task_completion`.
    pub(crate) fn into_produced(
        self,
        sandbox: &Arc<Sandbox>,
        owner: &str,
        ctx: &CallContext,
    ) -> Produced {
        let receiver = sandbox.wait_for(owner, &self.task_id);
        let waiting_id = self.task_id.as_str().to_owned();
        let waiting_owner = owner.to_owned();
        let sandbox = Arc::clone(sandbox);
        let tool = ctx.tool();
        if let Some(message) = &self.message {
            tracing::debug!(tool, message = %message, "forced submitted arm");
        }
        let handoff = ctx
            .clone()
            .with_forced_task_id(self.task_id)
            .handoff_to_task(move |_task| async move {
                let outcome = tokio::time::timeout(FORCED_TASK_PATIENCE, receiver).await;
                sandbox
                    .waiting
                    .remove_if(&waiting_id, |_, (owner, _)| *owner == waiting_owner);
                match outcome {
                    Ok(Ok(completion)) => completion,
                    Ok(Err(_)) | Err(_) => Err(AdcpError::new(
                        adcp_types::codes::SERVICE_UNAVAILABLE,
                        "the sandbox task was never completed by the test controller",
                    )),
                }
            });
        Produced::Handoff(start_fn(handoff))
    }
}
