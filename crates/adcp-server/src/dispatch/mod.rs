//! The dispatcher: one tool call from decoded JSON to the reply, through every check in the
//! protocol's order.
//!
//! ```text
//! arguments ─ object? ─ version ─ guards.pre_dispatch ─ idempotency_key rule ─ request schema
//!   ─ account ─ guards.after_account_resolution ─ idempotency claim ─ sandbox directive? ─ platform
//!   ─ handoff: guards.pre_handoff ─ task issued ─ {task_id, status: submitted}
//!   ─ sync:    guards.post_dispatch ─ result hooks ─ page ─ `fields` projection ─ {status: completed, …}
//!   ─ envelope (context, adcp_version) ─ strict response validation ─ idempotency store
//! ```

mod decode;
mod envelope;
pub(crate) mod handler;
mod pagination;
mod projection;
mod version;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt as _;

use adcp_guards::{AccountChecked, DispatchOutcome, GuardConfig, Rejection};
use adcp_tasks::{RequestContext, TaskKind, TaskRuntime, TaskScope};
use adcp_types::validate::SchemaSet;
use adcp_types::{AdcpError, AdcpProtocol, TaskStatus, codes};
use serde_json::{Value, json};
use tracing::Instrument as _;

pub use envelope::ToolReply;
pub(crate) use envelope::completed as completed_body;
pub(crate) use envelope::{Echo, Failure, failed as failed_reply};
pub use version::{SERVED_VERSION, SUPPORTED_MAJOR, SUPPORTED_VERSIONS};

use crate::account::{Account, AccountQuery, AccountResolver};
use crate::auth::Principal;
use crate::call::{AfterCall, CallContext, CompletedResult};
use crate::framework::{self, FrameworkTool, SandboxFixtures};
use crate::hooks;
use crate::idempotency::{Claim, IdempotencyScope, IdempotencyStore, fingerprint};
use crate::sandbox::Sandbox;
use handler::{ErasedTool, Produced, StartHooks};

/// Everything a call needs, shared by all transports.
pub(crate) struct Core {
    pub(crate) tools: BTreeMap<&'static str, Arc<dyn ErasedTool>>,
    pub(crate) guards: GuardConfig,
    pub(crate) accounts: Arc<dyn AccountResolver>,
    pub(crate) runtime: TaskRuntime,
    pub(crate) idempotency: Arc<dyn IdempotencyStore>,
    pub(crate) schemas: Option<&'static SchemaSet>,
    pub(crate) validate_requests: bool,
    /// Whether the server pages get_products/get_signals replies (see `pagination`).
    pub(crate) auto_paginate: bool,
    pub(crate) capabilities: Value,
    pub(crate) sandbox: Option<Arc<Sandbox>>,
    pub(crate) fixtures: Option<Arc<dyn SandboxFixtures>>,
    /// Set when the server begins to shut down: from then on only task polling (and capability
    /// discovery) is served, so buyers can still read the tasks this process is finishing.
    pub(crate) draining: AtomicBool,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("strict", &self.schemas.is_some())
            .finish_non_exhaustive()
    }
}

fn rejection(rejection: Rejection) -> AdcpError {
    rejection.into_error()
}

impl Core {
    /// Whether `tool` is served (platform or framework tool).
    pub(crate) fn serves(&self, tool: &str) -> bool {
        self.tools.contains_key(tool)
            || FrameworkTool::parse(tool, self.sandbox.is_some()).is_some()
    }

    /// The controller scenarios this server supports (built-in plus the platform's fixtures).
    pub(crate) fn controller_scenarios(&self) -> Vec<&'static str> {
        let mut scenarios = vec!["list_scenarios"];
        scenarios.extend(framework::BUILT_IN_SCENARIOS.iter().copied().filter(|s| {
            crate::sandbox::forced_tool(s).is_none_or(|tool| self.tools.contains_key(tool))
        }));
        if let Some(fixtures) = &self.fixtures {
            scenarios.extend(fixtures.scenarios());
        }
        scenarios
    }

    /// The names of every served tool.
    pub(crate) fn tool_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.tools.keys().copied().collect();
        names.extend(FrameworkTool::names(self.sandbox.is_some()));
        names.sort_unstable();
        names.dedup();
        names
    }

    /// Serves one call. Never panics on wire input; every failure is a reply with `adcp_error`.
    pub(crate) async fn call(
        &self,
        tool: &str,
        request: Value,
        principal: Option<Principal>,
    ) -> ToolReply {
        // At `debug`: a span per call, recorded at the default `info`, cost about 3 % of a
        // small call's CPU (the formatter renders its fields for every call). The SDK's own
        // events in a call name the tool themselves; tasks keep their `info` span.
        let span = tracing::debug_span!(
            "adcp.tool",
            tool,
            principal = principal.as_ref().map(Principal::id)
        );
        async {
            let mut echo = Echo::read(&request);
            if self.draining.load(Ordering::Acquire) && !served_while_draining(tool) {
                return envelope::failed(&draining_error(), &echo);
            }
            let outcome = AssertUnwindSafe(self.call_inner(tool, request, principal, &mut echo))
                .catch_unwind()
                .await
                .unwrap_or_else(|_| {
                    // A panic in a platform method or hook: the buyer gets a generic transient
                    // error (an idempotency claim stays in flight until it expires).
                    tracing::error!(tool, "a tool call panicked");
                    Err(AdcpError::internal().into())
                });
            match outcome {
                Ok(body) => ToolReply {
                    body,
                    is_error: false,
                },
                Err(Failure::Error(error)) => {
                    tracing::debug!(code = %error.code, field = ?error.field, "tool call failed");
                    envelope::failed(&error, &echo)
                }
                Err(Failure::Body(body)) => ToolReply {
                    body,
                    is_error: true,
                },
            }
        }
        .instrument(span)
        .await
    }

    /// Starts the drain: new work is refused with a transient `SERVICE_UNAVAILABLE` (retry
    /// elsewhere), task polling goes on.
    pub(crate) fn begin_drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    async fn call_inner(
        &self,
        tool: &str,
        mut request: Value,
        principal: Option<Principal>,
        echo: &mut Echo,
    ) -> Result<Value, Failure> {
        let Some(map) = request.as_object_mut() else {
            return Err(
                AdcpError::invalid_request("the tool arguments must be a JSON object").into(),
            );
        };
        echo.adcp_version = Some(version::negotiate(map)?);
        if tool == "get_products" && !map.contains_key("buying_mode") {
            // Pre-v3 callers omit the mode; the protocol says to assume brief.
            map.insert("buying_mode".to_owned(), Value::from("brief"));
        }
        if let Some(framework) = FrameworkTool::parse(tool, self.sandbox.is_some()) {
            return framework::serve(self, framework, &request, principal.as_ref(), echo).await;
        }
        let Some((&name, handler)) = self.tools.get_key_value(tool) else {
            return Err(unknown_tool(tool).into());
        };
        let admitted =
            adcp_guards::pre_dispatch(&self.guards, name, &request).map_err(rejection)?;
        let key = idempotency_key(name, &request)?;
        self.check_request(name, &request)?;
        let account = self
            .resolve_account(name, &request, principal.as_ref())
            .await?;
        let checked = admitted
            .after_account_resolution(account.as_ref().map(Account::id))
            .map_err(rejection)?;

        let idempotency = key.map(|key| IdempotencyScope {
            account: account
                .as_ref()
                .map(|a| a.id().to_owned())
                .unwrap_or_default(),
            principal: principal
                .as_ref()
                .map(|p| p.id().to_owned())
                .unwrap_or_default(),
            tool: name.to_owned(),
            key,
        });
        if let Some(scope) = &idempotency {
            match self.idempotency.claim(scope, &fingerprint(&request)).await {
                Ok(Claim::Fresh) => {}
                Ok(Claim::Replay(mut stored)) => {
                    if let Some(map) = stored.as_object_mut() {
                        map.insert("replayed".to_owned(), Value::Bool(true));
                    }
                    let replay = envelope::submitted(stored, echo);
                    // A stored failure (the platform had acted) replays as the failure it was.
                    if replay.get("adcp_error").is_some() {
                        return Err(Failure::Body(replay));
                    }
                    return Ok(replay);
                }
                Ok(Claim::Conflict) => {
                    return Err(AdcpError::new(
                        codes::IDEMPOTENCY_CONFLICT,
                        "this idempotency_key was already used with a different request",
                    )
                    .into());
                }
                Ok(Claim::InFlight) => {
                    return Err(AdcpError::new(
                        codes::IDEMPOTENCY_IN_FLIGHT,
                        "a request with this idempotency_key is still being processed",
                    )
                    .with_field("idempotency_key")
                    .with_retry_after(1)
                    .into());
                }
                Err(error) => {
                    tracing::error!(tool = name, %error, "idempotency store failed");
                    return Err(AdcpError::internal().into());
                }
            }
        }
        let acted = AtomicBool::new(false);
        let result = self
            .run_platform(
                name, handler, &request, account, principal, &checked, echo, &acted,
            )
            .await;
        if let Some(scope) = &idempotency {
            let stored = match &result {
                Ok(body) => self.idempotency.complete(scope, &strip_echo(body)).await,
                // Once the platform has acted, a retry must not act again: the failure is
                // stored and replayed. Before that, the key is released for a clean retry.
                Err(error) if acted.load(Ordering::Relaxed) => {
                    let failed = envelope::failed(error, &Echo::default());
                    self.idempotency.complete(scope, &failed.body).await
                }
                Err(_) => self.idempotency.release(scope).await,
            };
            if let Err(error) = stored {
                tracing::error!(tool = name, %error, "idempotency store failed to record an outcome");
            }
        }
        Ok(result?)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_platform(
        &self,
        name: &'static str,
        handler: &Arc<dyn ErasedTool>,
        request: &Value,
        account: Option<Account>,
        principal: Option<Principal>,
        checked: &AccountChecked,
        echo: &Echo,
        acted: &AtomicBool,
    ) -> Result<Value, AdcpError> {
        let page = if self.auto_paginate {
            pagination::Page::read(name, request)?
        } else {
            None
        };
        let ctx = self.call_context(name, request, account, principal)?;
        let forced = self.forced_arm(name, &ctx, checked).await;
        // What the server needs once the platform has the context: what the method asked for
        // after the call, the account, and (only for a call that could push its completion: a
        // push config registered, for an account) the whole context, to record the task.
        let after = ctx.after();
        let account = ctx.account().cloned();
        let registered = request
            .get("push_notification_config")
            .is_some_and(|push| !push.is_null());
        let pushable = (registered && account.is_some()).then(|| ctx.clone());
        let produced = match forced {
            Some(produced) => produced,
            None => handler.call(request, ctx).await?,
        };
        acted.store(true, Ordering::Relaxed);
        match produced {
            Produced::Handoff(start) => {
                checked.pre_handoff().map_err(rejection)?;
                let submitted = start(StartHooks {
                    tool: name,
                    hooks: after.take_hooks(),
                })
                .await
                .map_err(|error| {
                    // Refused before the work started (the server is stopping, or at its task
                    // capacity): nothing acted, so the key is released and a retry elsewhere is
                    // served afresh instead of replaying this refusal.
                    if matches!(
                        error,
                        adcp_tasks::TaskError::ShuttingDown
                            | adcp_tasks::TaskError::CapacityExhausted { .. }
                    ) {
                        acted.store(false, Ordering::Relaxed);
                    }
                    error.to_adcp_error()
                })?;
                let body = envelope::submitted(submitted.to_value(), echo);
                self.check_async_arm(name, &body)?;
                Ok(body)
            }
            Produced::Sync(mut value) => {
                checked
                    .post_dispatch(DispatchOutcome::Sync(&value))
                    .map_err(rejection)?;
                if let Some(page) = &page {
                    page.check_reply(&value)?;
                }
                let hooks = after.take_hooks();
                hooks::run_sync(
                    &hooks,
                    CompletedResult {
                        tool: name,
                        task_id: None,
                        account_id: account.as_ref().map(Account::id),
                        result: &value,
                    },
                )
                .await?;
                // The hooks saw the full result; the page and `fields` shape only what the
                // buyer receives.
                if let Some(page) = &page {
                    page.apply(request, &mut value);
                }
                projection::apply_fields(name, request, &mut value);
                let pushed = self
                    .push_completion(name, pushable.as_ref(), &after, checked, &value)
                    .await?;
                let mut body = envelope::completed(value, echo);
                if let Some(task_id) = pushed {
                    body["task_id"] = Value::from(task_id);
                }
                if name == "get_products" || name == "get_signals" {
                    default_cache_scope(
                        &mut body,
                        request.get("account").is_some_and(|a| !a.is_null()),
                    );
                }
                self.check_response(name, &body)?;
                Ok(body)
            }
        }
    }

    /// The sandbox controller's forced arm for this call, if a sandbox account's caller forced
    /// one (the task it supersedes is superseded first).
    async fn forced_arm(
        &self,
        name: &'static str,
        ctx: &CallContext,
        checked: &AccountChecked,
    ) -> Option<Produced> {
        let sandbox = self.sandbox.as_ref().filter(|_| ctx.is_sandbox())?;
        let owner = crate::auth::owner_of(ctx.principal()).to_owned();
        let arm = sandbox.take_forced_arm(&owner, name, checked.mode())?;
        let scope = ctx
            .account()
            .and_then(|account| TaskScope::new(Account::id(account), &owner).ok());
        sandbox
            .supersede(
                &owner,
                arm.task_id(),
                scope.as_ref(),
                self.runtime.registry().as_ref(),
            )
            .await;
        Some(arm.into_produced(sandbox, &owner, ctx))
    }

    /// Records a synchronous result as a completed task when the platform asked for its
    /// completion to be pushed and the buyer registered a webhook; returns the task id.
    async fn push_completion(
        &self,
        name: &'static str,
        pushable: Option<&CallContext>,
        after: &AfterCall,
        checked: &AccountChecked,
        value: &Value,
    ) -> Result<Option<String>, AdcpError> {
        // `pushable`: the call's context when a push config was registered for an account.
        let Some(ctx) = pushable.filter(|_| after.wants_push_completion()) else {
            return Ok(None);
        };
        // Only protocol task types have a terminal webhook; for any other tool a recorded task
        // would carry a task_id nobody is notified about.
        if name.parse::<adcp_types::TaskType>().is_err() {
            tracing::debug!(
                tool = name,
                "push_completion ignored: not a protocol task type"
            );
            return Ok(None);
        }
        checked.pre_handoff().map_err(rejection)?;
        let result = value.clone();
        let handoff =
            ctx.handoff_to_task(move |_task| async move { Ok::<Value, AdcpError>(result) });
        let submitted = handler::start_fn(handoff)(StartHooks {
            tool: name,
            hooks: Vec::new(),
        })
        .await
        .map_err(|error| error.to_adcp_error())?;
        Ok(Some(submitted.task_id.as_str().to_owned()))
    }

    fn call_context(
        &self,
        name: &'static str,
        request: &Value,
        account: Option<Account>,
        principal: Option<Principal>,
    ) -> Result<CallContext, AdcpError> {
        let kind = TaskKind::new(name).map_err(|error| error.to_adcp_error())?;
        let protocol = kind.default_protocol().unwrap_or(AdcpProtocol::MediaBuy);
        let owner = crate::auth::owner_of(principal.as_ref());
        // Without an account no handoff passes the guards, so the placeholder scope never
        // owns a task.
        let account_id = account.as_ref().map_or("unresolved", Account::id);
        let scope = TaskScope::new(account_id, owner).map_err(|error| error.to_adcp_error())?;
        let mut task_request = RequestContext::new(&self.runtime, scope, kind, protocol);
        if let Some(push) = request
            .get("push_notification_config")
            .filter(|p| !p.is_null())
        {
            task_request = task_request.with_webhook(push.clone());
        }
        if let Some(context) = request.get("context").filter(|c| c.is_object()) {
            task_request = task_request.with_request_context(context.clone());
        }
        match request.get("context_id") {
            None | Some(Value::Null) => {}
            Some(Value::String(id)) if is_context_id(id) => {
                task_request = task_request.with_context_id(id.as_str());
            }
            Some(_) => {
                return Err(AdcpError::invalid_request(
                    "`context_id` must be 1 to 255 printable characters",
                )
                .with_field("context_id"));
            }
        }
        Ok(CallContext::new(name, account, principal, task_request))
    }

    pub(crate) async fn resolve_account(
        &self,
        tool: &str,
        request: &Value,
        principal: Option<&Principal>,
    ) -> Result<Option<Account>, AdcpError> {
        self.accounts
            .resolve(AccountQuery {
                tool,
                account: request.get("account").filter(|a| !a.is_null()),
                principal,
            })
            .await
    }

    fn check_request(&self, tool: &str, request: &Value) -> Result<(), AdcpError> {
        if !self.validate_requests {
            return Ok(());
        }
        let Some(schemas) = self.schemas else {
            return Ok(());
        };
        schemas.validate_request(tool, request).map_err(|issues| {
            name_missing_fields(AdcpError::validation(
                format!("the request does not match the `{tool}` request schema"),
                issues,
            ))
        })
    }

    /// Strict mode: an outgoing success body that fails its schema is a seller bug; the buyer
    /// gets a generic error and the violation goes to tracing.
    pub(crate) fn check_response(&self, tool: &str, body: &Value) -> Result<(), AdcpError> {
        match self.schemas {
            Some(schemas) => schemas
                .validate_response(tool, body)
                .map_err(|issues| invalid_response(tool, &issues)),
            None => Ok(()),
        }
    }

    /// [`Core::check_response`] with the top-level members `open` accepting any value (the
    /// caller checks them on its own, or reports them verbatim).
    pub(crate) fn check_response_opening(
        &self,
        tool: &str,
        body: &Value,
        open: &[&str],
    ) -> Result<(), AdcpError> {
        match self.schemas {
            Some(schemas) => schemas
                .validate_response_opening(tool, open, body)
                .map_err(|issues| invalid_response(tool, &issues)),
            None => Ok(()),
        }
    }

    fn check_async_arm(&self, tool: &str, body: &Value) -> Result<(), AdcpError> {
        let Some(schemas) = self.schemas else {
            return Ok(());
        };
        if adcp_types::manifest::tool(tool)
            .and_then(|spec| spec.async_arm_schema(TaskStatus::Submitted))
            .is_none()
        {
            return Ok(());
        }
        schemas
            .validate_async_arm(tool, TaskStatus::Submitted, body)
            .map_err(|issues| invalid_response(tool, &issues))
    }
}

fn invalid_response(tool: &str, issues: &[adcp_types::ValidationIssue]) -> AdcpError {
    for issue in issues.iter().take(5) {
        tracing::error!(tool, pointer = %issue.pointer, keyword = %issue.keyword, message = %issue.message,
            "strict mode: the response does not match its schema");
    }
    AdcpError::internal().with_detail(
        "invalid_response_pointers",
        json!(
            issues
                .iter()
                .take(5)
                .map(|i| i.pointer.clone())
                .collect::<Vec<_>>()
        ),
    )
}

/// The request's `idempotency_key` when `tool` mutates state (required there); `None` for
/// reads, which accept a key and ignore it (reads are naturally idempotent).
fn idempotency_key(tool: &str, request: &Value) -> Result<Option<String>, AdcpError> {
    let mutating = adcp_types::manifest::tool(tool).is_some_and(|spec| spec.mutating);
    let key = match request.get("idempotency_key") {
        None | Some(Value::Null) if mutating => {
            return Err(AdcpError::invalid_request(format!(
                "`{tool}` changes state, so it requires an `idempotency_key` (a unique string \
                 per logical request, reused only when retrying it)"
            ))
            .with_field("idempotency_key"));
        }
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(key)) => key,
        Some(_) => {
            return Err(
                AdcpError::invalid_request("`idempotency_key` must be a string")
                    .with_field("idempotency_key"),
            );
        }
    };
    if !mutating {
        return Ok(None);
    }
    if !(16..=255).contains(&key.chars().count()) {
        return Err(
            AdcpError::invalid_request("`idempotency_key` must be 16 to 255 characters")
                .with_field("idempotency_key"),
        );
    }
    Ok(Some(key.clone()))
}

/// A `required` violation reports the object holding the missing property; the buyer needs
/// the property itself in `field`.
fn name_missing_fields(mut error: AdcpError) -> AdcpError {
    let missing = error
        .issues
        .first()
        .filter(|issue| issue.keyword == "required")
        .and_then(|issue| {
            let name = issue.message.split('"').nth(1)?;
            let parent = adcp_types::error::pointer_to_field_path(&issue.pointer);
            Some(if parent.is_empty() {
                name.to_owned()
            } else {
                format!("{parent}.{name}")
            })
        });
    if missing.is_some() {
        error.field = missing;
    }
    error
}

/// The stored form of a response: without the per-request echo (a replay echoes its own).
fn strip_echo(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("context");
        map.remove("adcp_version");
    }
    body
}

/// get_products/get_signals must say how a response may be cached (`cache_scope`, required at
/// rc.9 for get_products): `public` when the request named no account (the protocol demands
/// it), else `account` (the conservative choice). A platform's own value wins.
fn default_cache_scope(body: &mut Value, request_named_account: bool) {
    if let Some(map) = body.as_object_mut() {
        map.entry("cache_scope").or_insert_with(|| {
            Value::from(if request_named_account {
                "account"
            } else {
                "public"
            })
        });
    }
}

/// The error for a tool this server does not serve.
pub(crate) fn unknown_tool(tool: &str) -> AdcpError {
    AdcpError::new(
        codes::UNSUPPORTED_FEATURE,
        format!(
            "this agent does not serve a tool named `{tool}`; call get_adcp_capabilities or list the tools"
        ),
    )
}

/// The tools a draining server still answers: polling the tasks it is finishing, and
/// capability discovery (cheap, and what a buyer reads before retrying elsewhere).
/// Whether `id` can name a conversation: 1 to 255 bytes, no control characters (stored as
/// text by every registry, echoed in headers-free JSON).
pub(crate) fn is_context_id(id: &str) -> bool {
    (1..=255).contains(&id.len()) && !id.chars().any(char::is_control)
}

fn served_while_draining(tool: &str) -> bool {
    matches!(
        tool,
        "get_task_status" | "list_tasks" | "tasks/get" | "get_adcp_capabilities"
    )
}

/// The reply to new work while the server shuts down: transient, so a buyer retries (another
/// replica, or this service once it is back).
fn draining_error() -> AdcpError {
    AdcpError::new(
        codes::SERVICE_UNAVAILABLE,
        "the agent is shutting down and accepts no new work; retry shortly",
    )
    .with_retry_after(1)
}
