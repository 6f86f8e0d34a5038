//! The four moments as a chain of types: each stage can only be reached by passing the one
//! before it, so a server cannot run a rule before its facts exist or after the side effect it
//! prevents.
//!
//! ```text
//! pre_dispatch(config, tool, request) -> Admitted
//!   Admitted::after_account_resolution(account_id) -> AccountChecked
//!     AccountChecked::pre_handoff()            (platform returned a handoff)
//!     AccountChecked::post_dispatch(outcome)   (platform returned)
//! ```

use serde_json::Value;

use crate::config::GuardConfig;
use crate::discovery::{DiscoveryMode, DiscoveryRequestView, DiscoveryVerb};
use crate::push::{PUSH_NOTIFICATION_CONFIG, PushNotificationConfigView};
use crate::rule::{Rejection, Rule};

/// The account id the Python SDK and some account stores use as an "unset" default.
const UNSET_ACCOUNT: &str = "<unset>";

/// Tools whose synchronous result legitimately carries a task status (they report on tasks).
const TASK_POLLING_TOOLS: [&str; 4] = ["get_task_status", "list_tasks", "tasks/get", "tasks/list"];

/// Whether `account_id` names a real account: present, not blank, not the `<unset>` placeholder.
///
/// A task owned by an unresolved account could never be polled or scoped, so async work needs a
/// resolved one.
pub fn account_is_resolved(account_id: Option<&str>) -> bool {
    account_id.is_some_and(|id| {
        let id = id.trim();
        !id.is_empty() && id != UNSET_ACCOUNT
    })
}

/// Runs the pre-dispatch rules on a decoded request, before account resolution and before the
/// platform is called.
///
/// `tool` is the wire tool name. For `get_products` and `get_signals` the mode-consistency rules
/// and `wholesale_with_push_config` apply; for every tool the push-config rules apply when the
/// request carries a non-null `push_notification_config`. Fields the rules do not read are
/// ignored; a wrong type in one they read is rejected with that field.
///
/// Order (first failure wins): `request_not_object`, `malformed_field`, the mode-consistency
/// rules, `wholesale_with_push_config`, `push_config_without_delivery`, `push_config_invalid`.
pub fn pre_dispatch(
    config: &GuardConfig,
    tool: &str,
    request: &Value,
) -> Result<Admitted, Rejection> {
    let Value::Object(map) = request else {
        return Err(Rejection::new(
            Rule::RequestNotObject,
            "the request arguments must be a JSON object.",
            None,
        ));
    };
    let verb = DiscoveryVerb::from_tool(tool);
    let mode = match verb {
        Some(verb) => {
            let view = DiscoveryRequestView::read(verb, map)?;
            view.check_consistency()?;
            Some(view.mode())
        }
        None => None,
    };
    let push = map
        .get(PUSH_NOTIFICATION_CONFIG)
        .filter(|value| !value.is_null());
    if let Some(push) = push {
        if let (Some(verb), Some(DiscoveryMode::Wholesale)) = (verb, mode) {
            return Err(Rejection::new(
                Rule::WholesaleWithPushConfig,
                format!(
                    "{} \"wholesale\" is always answered synchronously, so \
                     `push_notification_config` would never be used; drop it, or use \"brief\" \
                     mode for curated discovery that may run as a task.",
                    verb.mode_field()
                ),
                Some(PUSH_NOTIFICATION_CONFIG.to_owned()),
            ));
        }
        if !config.webhook_delivery() {
            return Err(Rejection::new(
                Rule::PushConfigWithoutDelivery,
                "this seller does not deliver webhooks, so it cannot honour \
                 `push_notification_config`; drop it and poll the task with get_task_status.",
                Some(PUSH_NOTIFICATION_CONFIG.to_owned()),
            ));
        }
        PushNotificationConfigView::read(push)?.check(config)?;
    }
    Ok(Admitted {
        verb,
        mode,
        has_push_config: push.is_some(),
        polls_tasks: TASK_POLLING_TOOLS.contains(&tool),
    })
}

/// A request that passed the pre-dispatch rules. The only way forward is
/// [`Admitted::after_account_resolution`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admitted {
    verb: Option<DiscoveryVerb>,
    mode: Option<DiscoveryMode>,
    has_push_config: bool,
    polls_tasks: bool,
}

impl Admitted {
    /// The discovery verb, `None` for any other tool.
    pub fn verb(&self) -> Option<DiscoveryVerb> {
        self.verb
    }

    /// The discovery mode (brief when the request omitted it), `None` for non-discovery tools.
    pub fn mode(&self) -> Option<DiscoveryMode> {
        self.mode
    }

    /// Whether the request carries a (valid) `push_notification_config`.
    pub fn has_push_config(&self) -> bool {
        self.has_push_config
    }

    /// Runs the rule of the after-account-resolution moment: a request with a push config needs
    /// a resolved account, because the task it may create would otherwise have no owner to be
    /// polled or scoped by.
    ///
    /// `account_id` is the id the server's account resolution produced (not the request's
    /// `account` field); pass `None` when resolution produced none. Call this for every request,
    /// resolved or not, before any task exists.
    pub fn after_account_resolution(
        self,
        account_id: Option<&str>,
    ) -> Result<AccountChecked, Rejection> {
        let account_resolved = account_is_resolved(account_id);
        if self.has_push_config && !account_resolved {
            return Err(unresolved_account(
                Rule::PushConfigWithUnresolvedAccount,
                "`push_notification_config` registers a webhook for a task, and a task needs a \
                 resolved account to own it; send a valid `account` (or authenticate as one), \
                 or drop `push_notification_config`.",
            ));
        }
        Ok(AccountChecked {
            admitted: self,
            account_resolved,
        })
    }
}

/// A request whose account was resolved (or found absent) and checked. The server calls
/// [`AccountChecked::pre_handoff`] when the platform hands off, and
/// [`AccountChecked::post_dispatch`] with whatever the platform returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChecked {
    admitted: Admitted,
    account_resolved: bool,
}

/// What the platform returned, as the server classified it by construction.
///
/// `Handoff` is only for values the server's own handoff markers produced (`handoff_to_task`,
/// `handoff_to_workflow`); a JSON value that merely looks like a submitted envelope is `Sync`.
#[derive(Debug, Clone, Copy)]
pub enum DispatchOutcome<'a> {
    /// A synchronous result, as it would be sent to the buyer.
    Sync(&'a Value),
    /// A handoff marker; [`AccountChecked::pre_handoff`] has already run for it.
    Handoff,
}

impl AccountChecked {
    /// The discovery verb, `None` for any other tool.
    pub fn verb(&self) -> Option<DiscoveryVerb> {
        self.admitted.verb
    }

    /// The discovery mode (brief when the request omitted it), `None` for non-discovery tools.
    pub fn mode(&self) -> Option<DiscoveryMode> {
        self.admitted.mode
    }

    /// Whether the request carries a (valid) `push_notification_config`.
    pub fn has_push_config(&self) -> bool {
        self.admitted.has_push_config
    }

    /// Whether the resolved account is a real one.
    pub fn account_resolved(&self) -> bool {
        self.account_resolved
    }

    /// Runs the pre-handoff rules. Call it the moment the platform returns any kind of handoff,
    /// before a registry row, background task, draft or webhook exists; on `Err` none of those
    /// may be created.
    ///
    /// Order: `wholesale_handoff` (field `buying_mode`/`discovery_mode`), then
    /// `handoff_with_unresolved_account` (field `account`).
    pub fn pre_handoff(&self) -> Result<(), Rejection> {
        if let (Some(verb), Some(DiscoveryMode::Wholesale)) =
            (self.admitted.verb, self.admitted.mode)
        {
            return Err(Rejection::new(
                Rule::WholesaleHandoff,
                format!(
                    "{} \"wholesale\" must be answered synchronously, but the seller's platform \
                     tried to run it as a task; retry in \"brief\" mode, or ask the seller to \
                     report partial wholesale results with `incomplete[]`.",
                    verb.mode_field()
                ),
                Some(verb.mode_field().to_owned()),
            ));
        }
        if !self.account_resolved {
            return Err(unresolved_account(
                Rule::HandoffWithUnresolvedAccount,
                "this request would run as a task, and a task needs a resolved account to own \
                 it; send a valid `account` (or authenticate as one) and retry.",
            ));
        }
        Ok(())
    }

    /// Runs the post-dispatch rule: a synchronous result must not be a `submitted` or `working`
    /// envelope, because only the server's handoff creates a task a buyer can poll. Results of
    /// the task-polling tools (`get_task_status`, `list_tasks` and their legacy names) are
    /// exempt: reporting task statuses is their job.
    pub fn post_dispatch(&self, outcome: DispatchOutcome<'_>) -> Result<(), Rejection> {
        let DispatchOutcome::Sync(result) = outcome else {
            return Ok(());
        };
        if self.admitted.polls_tasks {
            return Ok(());
        }
        let status = result.get("status").and_then(Value::as_str);
        if matches!(status, Some("submitted" | "working")) {
            return Err(Rejection::new(
                Rule::HandRolledAsyncEnvelope,
                "the seller's platform returned a task envelope it built itself, which no \
                 buyer could poll; the platform must return `handoff_to_task` (or \
                 `handoff_to_workflow`) to run work asynchronously.",
                None,
            ));
        }
        Ok(())
    }
}

fn unresolved_account(rule: Rule, message: &str) -> Rejection {
    Rejection::new(rule, message, Some("account".to_owned()))
}
