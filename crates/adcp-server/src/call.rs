//! What a platform method knows about the call it serves.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use adcp_tasks::{BoxError, RequestContext, TaskContext, TaskHandoff};
use serde::Serialize;
use serde_json::Value;

use crate::account::Account;
use crate::auth::Principal;
use crate::hooks::ResultHook;

/// One tool call as a platform method sees it: the tool, the resolved account, the
/// authenticated principal, and the means to hand work to a task.
///
/// Cloning is cheap; clones share the hooks registered with [`CallContext::on_complete`].
#[derive(Clone)]
pub struct CallContext {
    tool: &'static str,
    account: Option<Account>,
    principal: Option<Principal>,
    request: RequestContext,
    after: Arc<AfterCall>,
}

/// What a platform method asks of the server for after its call, shared by every clone of the
/// call's [`CallContext`]: the server reads it once the method has returned.
#[derive(Default)]
pub(crate) struct AfterCall {
    hooks: Mutex<Vec<Arc<dyn ResultHook>>>,
    push_completion: AtomicBool,
}

impl AfterCall {
    /// The hooks registered with [`CallContext::on_complete`], taken (each runs once).
    pub(crate) fn take_hooks(&self) -> Vec<Arc<dyn ResultHook>> {
        self.hooks
            .lock()
            .map(|mut hooks| std::mem::take(&mut *hooks))
            .unwrap_or_default()
    }

    /// Whether the method asked for [`CallContext::push_completion`].
    pub(crate) fn wants_push_completion(&self) -> bool {
        self.push_completion.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("tool", &self.tool)
            .field("account", &self.account)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

impl CallContext {
    pub(crate) fn new(
        tool: &'static str,
        account: Option<Account>,
        principal: Option<Principal>,
        request: RequestContext,
    ) -> Self {
        Self {
            tool,
            account,
            principal,
            request,
            after: Arc::default(),
        }
    }

    /// The wire tool name being served.
    pub fn tool(&self) -> &'static str {
        self.tool
    }

    /// The account the server's [`AccountResolver`](crate::AccountResolver) resolved, if any.
    pub fn account(&self) -> Option<&Account> {
        self.account.as_ref()
    }

    /// The authenticated caller, if the transport authenticated one.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// Whether the call runs against a sandbox account (no real spend, test controller on).
    pub fn is_sandbox(&self) -> bool {
        self.account.as_ref().is_some_and(Account::is_sandbox)
    }

    /// Hands `work` to a protocol task; return the handoff inside an
    /// [`Outcome::Handoff`](crate::Outcome::Handoff). Nothing runs until the server has checked
    /// the handoff is allowed (never for wholesale discovery, never for an unresolved account)
    /// and issued the task; then the buyer gets `submitted` at once and `work` runs in the
    /// background. Its value becomes the task's result; an `AdcpError` it returns becomes the
    /// task's error; anything else (or a panic) fails the task with a generic error.
    pub fn handoff_to_task<T, F, Fut, E>(&self, work: F) -> TaskHandoff<T>
    where
        T: Serialize + Send + Sync + 'static,
        F: FnOnce(TaskContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError> + 'static,
    {
        self.request.handoff_to_task(work)
    }

    /// Registers a terminal side effect (e.g. persisting a proposal draft) that runs once the
    /// call's result exists: before the synchronous answer is sent, or before a handed-off task
    /// is marked completed. It sees the full result, before any `fields` projection; an error
    /// it returns replaces the result (the call or task fails with it).
    pub fn on_complete(&self, hook: Arc<dyn ResultHook>) {
        if let Ok(mut hooks) = self.after.hooks.lock() {
            hooks.push(hook);
        }
    }

    /// Asks the server to also deliver this call's *synchronous* result to the buyer's
    /// `push_notification_config`: the result is recorded as a completed task (pollable with
    /// `get_task_status`, its id returned as `task_id`) and its terminal webhook is sent exactly
    /// once, through the same delivery path as handed-off work. Media-buy operations whose
    /// buyers registered a webhook expect this. Without a push config (or an account) it does
    /// nothing; replays of an idempotent call never send it again.
    pub fn push_completion(&self) {
        self.after.push_completion.store(true, Ordering::Relaxed);
    }

    /// What the method asks for after the call, shared with every clone of this context.
    pub(crate) fn after(&self) -> Arc<AfterCall> {
        Arc::clone(&self.after)
    }

    /// A copy whose handoffs create a task with `task_id` (the sandbox controller's forced arms).
    pub(crate) fn with_forced_task_id(mut self, task_id: adcp_tasks::TaskId) -> Self {
        self.request = self.request.with_task_id(task_id);
        self
    }
}

/// What a [`ResultHook`] is told about a completed result.
#[derive(Debug, Clone, Copy)]
pub struct CompletedResult<'a> {
    /// The tool that produced it.
    pub tool: &'static str,
    /// The task it completes, `None` on the synchronous path.
    pub task_id: Option<&'a str>,
    /// The resolved account id, if any.
    pub account_id: Option<&'a str>,
    /// The full result as serialised, before any wire-only shaping.
    pub result: &'a Value,
}
