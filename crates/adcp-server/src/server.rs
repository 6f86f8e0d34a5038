//! [`AdcpServer`] and its builder: where platform traits, guards, tasks, webhooks and
//! idempotency are composed.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use adcp_guards::GuardConfig;
use adcp_tasks::seams::TerminalCallback;
use adcp_tasks::{InMemoryTaskRegistry, TaskRegistry, TaskRuntime};
use adcp_types::validate::SchemaSet;
use adcp_types::{Specialism, manifest};
use adcp_webhooks::signing::WebhookSigningKey;
use adcp_webhooks::{DeliverySupervisor, TerminalEmitter, WebhookTerminalCallback};
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::account::{AccountResolver, ExplicitAccounts};
use crate::auth::Principal;
use crate::dispatch::handler::{ErasedTool, Typed};
use crate::dispatch::{Core, ToolReply};
use crate::error::ServerError;
use crate::framework::capabilities::{self, CapabilityInputs};
use crate::framework::{FrameworkTool, SandboxFixtures};
use crate::idempotency::{DEFAULT_IN_FLIGHT_MAX, IdempotencyStore, InMemoryIdempotencyStore};
use crate::lifecycle::{Background, BackgroundJob, StopPolicy, StopReport};
use crate::platform::family::{FamilyTools, family_handler};
use crate::platform::{
    AccountsPlatform, BuyerDataPlatform, CreativePlatform, SalesPlatform, SalesTool,
    SignalsPlatform, SignalsTool, ToolHandler,
};
use crate::sandbox::Sandbox;

/// How terminal webhooks reach buyers that registered a `push_notification_config`.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum WebhookDelivery {
    /// The seller delivers no webhooks: requests carrying a push config are rejected with
    /// `INVALID_REQUEST` (`field: push_notification_config`) instead of being accepted silently.
    #[default]
    Disabled,
    /// After the registry's terminal write, the terminal webhook is enqueued on this supervisor
    /// (e.g. `adcp_webhooks::InMemorySupervisor`). A crash between the write and the enqueue
    /// loses that webhook; use [`WebhookDelivery::Transactional`] where that matters.
    Supervisor(Arc<dyn DeliverySupervisor>),
    /// The task registry writes the webhook row in the same transaction as the terminal state
    /// (a `PgTaskRegistry` built with a `PgOutbox`), and outbox workers deliver it. `build()`
    /// refuses a non-durable registry with this mode.
    Transactional,
    /// Push configs are accepted and stored, but the seller emits terminal webhooks itself
    /// (automatic emission switched off).
    Manual,
}

impl fmt::Debug for WebhookDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Disabled => "Disabled",
            Self::Supervisor(_) => "Supervisor",
            Self::Transactional => "Transactional",
            Self::Manual => "Manual",
        })
    }
}

/// A composed AdCP seller: call [`AdcpServer::call_tool`] from any transport, or serve MCP
/// with [`crate::router`] and [`crate::serve`].
///
/// Cloning is cheap (shared state).
#[derive(Clone)]
pub struct AdcpServer {
    pub(crate) core: Arc<Core>,
    /// The published JWKS and brand.json, shared (a clone of the server copies neither).
    pub(crate) jwks: Option<Arc<Value>>,
    pub(crate) brand: Option<Arc<Value>>,
    /// How terminal webhooks leave (flushed at stop).
    delivery: WebhookDelivery,
    /// Jobs the server runs until it stops (outbox workers, retention).
    background: Arc<Background>,
}

impl fmt::Debug for AdcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdcpServer")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

impl AdcpServer {
    /// Starts building a server.
    pub fn builder() -> AdcpServerBuilder {
        AdcpServerBuilder::default()
    }

    /// Serves one tool call, transport-neutral. Every failure is a reply carrying
    /// `adcp_error`, including a panic inside a platform method (caught and answered with a
    /// generic transient error).
    pub async fn call_tool(
        &self,
        tool: &str,
        arguments: Value,
        principal: Option<Principal>,
    ) -> ToolReply {
        self.core.call(tool, arguments, principal).await
    }

    /// Cancels one of the caller's tasks, transport-neutral (A2A's `CancelTask`; AdCP itself
    /// has no cancel tool). `request` is `{task_id, account?}`, the task scoped to the caller
    /// exactly as `get_task_status` scopes it. The task ends `canceled` exactly once, its
    /// running work's cancellation token is signalled, and a registered push config gets one
    /// terminal webhook. Answers the task's `get_task_status` body, or an error reply:
    /// `REFERENCE_NOT_FOUND` for an unknown or foreign task, `NOT_CANCELLABLE` for a finished one.
    pub async fn cancel_task(&self, request: Value, principal: Option<Principal>) -> ToolReply {
        crate::framework::cancel_task(&self.core, &request, principal.as_ref()).await
    }

    /// Whether buyers may register push configs (webhook delivery is not
    /// [`WebhookDelivery::Disabled`]).
    pub(crate) fn accepts_push(&self) -> bool {
        !matches!(self.delivery, WebhookDelivery::Disabled)
    }

    /// The names of every tool served (platform tools plus framework tools).
    pub fn tool_names(&self) -> Vec<&'static str> {
        self.core.tool_names()
    }

    /// The `get_adcp_capabilities` body this server answers with.
    pub fn capabilities(&self) -> &Value {
        &self.core.capabilities
    }

    /// The task runtime: the registry every task is written to and the tasks running in this
    /// process (e.g. to read a task's record from an operator tool).
    pub fn runtime(&self) -> &TaskRuntime {
        &self.core.runtime
    }

    /// Whether the server is draining (a stop began): load balancers should send new work
    /// elsewhere (`GET /ready` answers 503).
    pub fn is_draining(&self) -> bool {
        self.core
            .draining
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Stops without losing work, in this order: new calls are refused with a transient
    /// `SERVICE_UNAVAILABLE` while `get_task_status` / `list_tasks` go on being answered;
    /// running tasks get up to `policy.task_deadline` (the rest fail as retryable, each with
    /// its terminal webhook); an in-memory supervisor then delivers what it holds, up to
    /// `policy.webhook_deadline`; last, the background jobs (outbox workers) stop, settling
    /// their in-flight attempts, so what is left stays in the outbox for the next process.
    /// [`crate::run`] calls this on SIGTERM/SIGINT before closing connections.
    pub async fn stop(&self, policy: &StopPolicy) -> StopReport {
        self.core.begin_drain();
        tracing::info!("draining: new calls are refused, task polling goes on");
        let tasks = self.core.runtime.shutdown(policy.task_deadline).await;
        // Webhooks and background jobs share one deadline.
        let started = tokio::time::Instant::now();
        let webhooks_undelivered = match &self.delivery {
            WebhookDelivery::Supervisor(supervisor) => {
                supervisor.flush(policy.webhook_deadline).await
            }
            _ => 0,
        };
        let left = policy.webhook_deadline.saturating_sub(started.elapsed());
        let background_jobs_aborted = self.background.stop(left).await;
        let report = StopReport {
            tasks_finished: tasks.finished,
            tasks_failed: tasks.failed,
            webhooks_undelivered,
            background_jobs_aborted,
        };
        if report.webhooks_undelivered > 0 || report.background_jobs_aborted > 0 {
            tracing::warn!(?report, "stopped with work left undone");
        } else {
            tracing::info!(?report, "stopped");
        }
        report
    }
}

/// Builds an [`AdcpServer`]. Start-up checks: every claimed specialism's entry-point tools in
/// its own protocol are implemented; strict mode has its schemas; tools are registered once.
#[derive(Default)]
pub struct AdcpServerBuilder {
    sales: Option<Arc<dyn SalesPlatform>>,
    signals: Option<Arc<dyn SignalsPlatform>>,
    custom: Vec<(String, Arc<dyn ToolHandler>)>,
    /// The handlers of the table-declared families (accounts, creative, governance, ...).
    families: Vec<FamilyTools>,
    specialisms: Vec<Specialism>,
    accounts: Option<Arc<dyn AccountResolver>>,
    registry: Option<Arc<dyn TaskRegistry>>,
    lease: Option<Duration>,
    idempotency: Option<Arc<dyn IdempotencyStore>>,
    webhooks: WebhookDelivery,
    insecure_webhook_hosts: Vec<String>,
    strict: bool,
    schemas: Option<&'static SchemaSet>,
    auto_paginate: bool,
    sandbox: bool,
    fixtures: Option<Arc<dyn SandboxFixtures>>,
    signing_jwk: Option<(Value, &'static str)>,
    public_url: Option<String>,
    agent_name: Option<String>,
    extra_capabilities: Map<String, Value>,
    background: Vec<(String, BackgroundJob)>,
}

impl fmt::Debug for AdcpServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdcpServerBuilder")
            .field("specialisms", &self.specialisms)
            .field("webhooks", &self.webhooks)
            .field("strict", &self.strict)
            .finish_non_exhaustive()
    }
}

impl AdcpServerBuilder {
    /// Serves the sales tools `platform` lists in [`SalesPlatform::tools`] (a second call
    /// replaces the first platform).
    #[must_use]
    pub fn sales(mut self, platform: impl SalesPlatform) -> Self {
        self.sales = Some(Arc::new(platform));
        self
    }

    /// Serves the signals tools `platform` lists in [`SignalsPlatform::tools`] (a second call
    /// replaces the first platform).
    #[must_use]
    pub fn signals(mut self, platform: impl SignalsPlatform) -> Self {
        self.signals = Some(Arc::new(platform));
        self
    }

    /// Serves the account tools `platform` lists in [`AccountsPlatform::tools`].
    #[must_use]
    pub fn account_tools(mut self, platform: impl AccountsPlatform) -> Self {
        self.families
            .push(crate::platform::accounts_handlers(Arc::new(platform)));
        self
    }

    /// Serves the buyer-data tools `platform` lists in [`BuyerDataPlatform::tools`].
    #[must_use]
    pub fn buyer_data(mut self, platform: impl BuyerDataPlatform) -> Self {
        self.families
            .push(crate::platform::buyer_data_handlers(Arc::new(platform)));
        self
    }

    /// Serves the creative tools `platform` lists in [`CreativePlatform::tools`].
    #[must_use]
    pub fn creative(mut self, platform: impl CreativePlatform) -> Self {
        self.families
            .push(crate::platform::creative_handlers(Arc::new(platform)));
        self
    }

    /// Serves the governance tools `platform` lists in
    /// [`GovernancePlatform::tools`](crate::GovernancePlatform::tools).
    #[cfg(feature = "governance")]
    #[must_use]
    pub fn governance(mut self, platform: impl crate::GovernancePlatform) -> Self {
        self.families
            .push(crate::platform::governance_handlers(Arc::new(platform)));
        self
    }

    /// Serves the brand tools `platform` lists in
    /// [`BrandRightsPlatform::tools`](crate::BrandRightsPlatform::tools).
    #[cfg(feature = "brand")]
    #[must_use]
    pub fn brand_rights(mut self, platform: impl crate::BrandRightsPlatform) -> Self {
        self.families
            .push(crate::platform::brand_rights_handlers(Arc::new(platform)));
        self
    }

    /// Serves the sponsored-intelligence tools `platform` lists in
    /// [`SponsoredIntelligencePlatform::tools`](crate::SponsoredIntelligencePlatform::tools).
    #[cfg(feature = "sponsored-intelligence")]
    #[must_use]
    pub fn sponsored_intelligence(
        mut self,
        platform: impl crate::SponsoredIntelligencePlatform,
    ) -> Self {
        self.families
            .push(crate::platform::sponsored_intelligence_handlers(Arc::new(
                platform,
            )));
        self
    }

    /// Serves any other manifest tool with a JSON handler. A tool served twice (here or by a
    /// platform) makes [`build`](Self::build) fail.
    #[must_use]
    pub fn tool(mut self, name: impl Into<String>, handler: impl ToolHandler) -> Self {
        self.custom.push((name.into(), Arc::new(handler)));
        self
    }

    /// Claims a specialism in `get_adcp_capabilities` (checked against the tools served).
    #[must_use]
    pub fn specialism(mut self, specialism: Specialism) -> Self {
        if !self.specialisms.contains(&specialism) {
            self.specialisms.push(specialism);
        }
        self
    }

    /// How accounts are resolved (default: [`ExplicitAccounts::open`]).
    #[must_use]
    pub fn accounts(mut self, resolver: impl AccountResolver) -> Self {
        self.accounts = Some(Arc::new(resolver));
        self
    }

    /// Where tasks live (default: an [`InMemoryTaskRegistry`]).
    #[must_use]
    pub fn task_registry(mut self, registry: Arc<dyn TaskRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// How long a replica's claim on a running task lasts without a heartbeat (durable
    /// registries): after it, another replica fails the task instead of leaving it running
    /// forever.
    #[must_use]
    pub fn task_lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// Where idempotency claims live (default: an [`InMemoryIdempotencyStore`]).
    #[must_use]
    pub fn idempotency_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.idempotency = Some(store);
        self
    }

    /// How terminal webhooks are delivered (default: [`WebhookDelivery::Disabled`]).
    #[must_use]
    pub fn webhooks(mut self, delivery: WebhookDelivery) -> Self {
        self.webhooks = delivery;
        self
    }

    /// Signed terminal webhooks, delivered in memory, in one call: publishes `key`'s public
    /// half (as [`publish_signing_key`](Self::publish_signing_key) does), signs every webhook
    /// with it (RFC 9421), sends through a [`WebhookSender`](adcp_webhooks::WebhookSender)
    /// bound by `policy` (use [`SsrfPolicy::strict`](adcp_webhooks::ssrf::SsrfPolicy::strict)
    /// in production), and delivers through an
    /// [`InMemorySupervisor`](adcp_webhooks::InMemorySupervisor) with the default retry and
    /// breaker policies. Webhooks still queued when the process dies are lost; with the
    /// `postgres` feature, `postgres(...)` delivers through a durable outbox instead.
    ///
    /// Call inside a Tokio runtime (the supervisor spawns its delivery loop); outside one it
    /// returns [`ServerError::Config`].
    pub fn signed_webhooks(
        self,
        key: WebhookSigningKey,
        policy: adcp_webhooks::ssrf::SsrfPolicy,
    ) -> Result<Self, ServerError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ServerError::Config(
                "signed_webhooks starts its delivery loop: call it inside a Tokio runtime".into(),
            ));
        }
        let builder = self.publish_signing_key(&key);
        let sender = adcp_webhooks::WebhookSender::new(
            adcp_webhooks::SenderConfig {
                policy,
                ..adcp_webhooks::SenderConfig::default()
            },
            Some(adcp_webhooks::signing::WebhookSigner::new(key)),
        )?;
        let supervisor = adcp_webhooks::InMemorySupervisor::start(
            sender,
            adcp_webhooks::InMemoryConfig::default(),
        );
        Ok(builder.webhooks(WebhookDelivery::Supervisor(Arc::new(supervisor))))
    }

    /// Accepts `http://` push-notification URLs on `host` (development and tests only; the
    /// default accepts HTTPS only).
    #[must_use]
    pub fn allow_insecure_webhook_host(mut self, host: impl Into<String>) -> Self {
        self.insecure_webhook_hosts.push(host.into());
        self
    }

    /// Strict mode: validate every outgoing response (and incoming request) against the rc.9
    /// schemas from [`SchemaSet::load_default`] — the set embedded in `adcp-types`, so no file
    /// or environment is needed. A response that fails is a seller bug: the buyer gets a
    /// generic error and the violation is logged.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Strict mode with an explicit schema set.
    #[must_use]
    pub fn strict_with(mut self, schemas: &'static SchemaSet) -> Self {
        self.strict = true;
        self.schemas = Some(schemas);
        self
    }

    /// Framework pagination of `get_products` and `get_signals` (off by default): a platform
    /// that answers with its whole match set gets its list cut to the request's page
    /// (`pagination.max_results`, default 50, at most 100) and the standard `pagination` block
    /// (`has_more`, a `cursor` exactly when more remain, `total_count`). A reply that already
    /// carries `pagination` is the platform's own paging and is left alone, and a cursor the
    /// server did not mint reaches the platform untouched. The server's cursors are bound to
    /// their query: one followed under another query is `INVALID_REQUEST`
    /// (`pagination.cursor`). Persist-draft hooks still see the whole list; a handoff's task
    /// result is the platform's own and is not paged (a curated shortlist should honour
    /// `pagination.max_results` itself).
    #[must_use]
    pub fn auto_paginate(mut self, enabled: bool) -> Self {
        self.auto_paginate = enabled;
        self
    }

    /// Enables the sandbox: `comply_test_controller` is served (to sandbox accounts only).
    #[must_use]
    pub fn sandbox(mut self, enabled: bool) -> Self {
        self.sandbox = enabled;
        self
    }

    /// The platform's sandbox fixtures (`seed_*` controller scenarios); implies the sandbox.
    #[must_use]
    pub fn sandbox_fixtures(mut self, fixtures: impl SandboxFixtures) -> Self {
        self.fixtures = Some(Arc::new(fixtures));
        self.sandbox = true;
        self
    }

    /// Publishes the public half of the webhook-signing key: served as a JWKS at
    /// `/.well-known/jwks.json` (the `jwks_uri` of the brand.json agent entry) and declared in
    /// `webhook_signing`.
    #[must_use]
    pub fn publish_signing_key(mut self, key: &WebhookSigningKey) -> Self {
        self.signing_jwk = Some((key.public_jwk(), key.algorithm().as_str()));
        self
    }

    /// The URL buyers reach this agent at (e.g. `https://seller.example`), used for
    /// `identity.brand_json_url` (HTTPS only, as the schema demands) and brand.json links.
    #[must_use]
    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// The agent's display name in brand.json.
    #[must_use]
    pub fn agent_name(mut self, name: impl Into<String>) -> Self {
        self.agent_name = Some(name.into());
        self
    }

    /// Extra capability blocks (`media_buy`, `signals`, `account`, ...), deep-merged over the
    /// derived document.
    #[must_use]
    pub fn capabilities(mut self, extra: Value) -> Self {
        if let Value::Object(map) = extra {
            self.extra_capabilities.extend(map);
        }
        self
    }

    /// Runs `job` from `build()` until the server stops: the token it gets is cancelled by
    /// [`AdcpServer::stop`] after the last task settled (so an outbox worker still sends the
    /// webhooks of tasks that finish during the drain), and the job then has the webhook
    /// deadline to return. `name` appears in logs.
    #[must_use]
    pub fn background_job<F, Fut>(mut self, name: impl Into<String>, job: F) -> Self
    where
        F: FnOnce(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.background
            .push((name.into(), Box::new(move |token| Box::pin(job(token)))));
        self
    }

    /// Builds the server: registers tools, runs the start-up checks and starts the task
    /// runtime and the background jobs. Must be called inside a tokio runtime.
    pub fn build(mut self) -> Result<AdcpServer, ServerError> {
        let tools = self.register_tools()?;
        check_specialisms(&self.specialisms, &tools)?;
        let schemas = match (self.strict, self.schemas) {
            (true, Some(set)) => Some(set),
            (true, None) => Some(SchemaSet::load_default()?),
            (false, _) => None,
        };
        if let Some(schemas) = schemas {
            crate::framework::warm_validators(schemas);
        }
        let registry = self
            .registry
            .clone()
            .unwrap_or_else(|| Arc::new(InMemoryTaskRegistry::new()));
        check_delivery_wiring(&self.webhooks, registry.as_ref())?;
        let mut runtime = TaskRuntime::builder(registry);
        if let Some(lease) = self.lease {
            runtime = runtime.lease_duration(lease);
        }
        let delivers = !matches!(self.webhooks, WebhookDelivery::Disabled);
        if let WebhookDelivery::Supervisor(supervisor) = &self.webhooks {
            let callback: Arc<dyn TerminalCallback> = Arc::new(WebhookTerminalCallback::new(
                TerminalEmitter::new(Some(Arc::clone(supervisor))),
            ));
            runtime = runtime.terminal_callback(callback);
        }
        let runtime = runtime.build()?;
        let mut guards = GuardConfig::new().with_webhook_delivery(delivers);
        for host in &self.insecure_webhook_hosts {
            guards = guards
                .allow_insecure_http_host(host)
                .map_err(|e| ServerError::Config(e.to_string()))?;
        }
        let idempotency = self
            .idempotency
            .clone()
            .unwrap_or_else(|| Arc::new(InMemoryIdempotencyStore::new()));
        if idempotency.replay_ttl() < Duration::from_hours(1) {
            return Err(ServerError::Config(
                "the idempotency replay TTL must be at least one hour (the protocol's minimum, \
                 advertised in get_adcp_capabilities)"
                    .into(),
            ));
        }
        let brand_json_url = self
            .public_url
            .as_ref()
            .filter(|url| url.starts_with("https://"))
            .map(|url| format!("{url}/.well-known/brand.json"));
        let mut core = Core {
            tools,
            guards,
            accounts: self
                .accounts
                .clone()
                .unwrap_or_else(|| Arc::new(ExplicitAccounts::open())),
            runtime,
            idempotency: Arc::clone(&idempotency),
            schemas,
            validate_requests: self.strict,
            auto_paginate: self.auto_paginate,
            capabilities: Value::Null,
            sandbox: self.sandbox.then(|| Arc::new(Sandbox::default())),
            fixtures: self.fixtures.clone(),
            draining: std::sync::atomic::AtomicBool::new(false),
        };
        let scenarios: Vec<&'static str> = if self.sandbox {
            core.controller_scenarios()
                .into_iter()
                .filter(|s| *s != "list_scenarios")
                .collect()
        } else {
            Vec::new()
        };
        core.capabilities = capabilities::document(&CapabilityInputs {
            protocols: protocols_of(&core),
            specialisms: self.specialisms.clone(),
            replay_ttl: idempotency.replay_ttl(),
            in_flight_max: DEFAULT_IN_FLIGHT_MAX,
            signing_algorithm: self.signing_jwk.as_ref().map(|(_, alg)| *alg),
            brand_json_url,
            scenarios,
            extra: self.extra_capabilities.clone(),
        });
        let jwks = self
            .signing_jwk
            .as_ref()
            .map(|(jwk, _)| serde_json::json!({ "keys": [jwk] }));
        let brand = self.brand_json(jwks.is_some());
        let background = Arc::new(Background::start(std::mem::take(&mut self.background)));
        Ok(AdcpServer {
            core: Arc::new(core),
            jwks: jwks.map(Arc::new),
            brand: brand.map(Arc::new),
            delivery: self.webhooks.clone(),
            background,
        })
    }

    fn brand_json(&self, has_jwks: bool) -> Option<Value> {
        let url = self.public_url.as_ref()?;
        let host = url
            .split("://")
            .nth(1)
            .unwrap_or(url)
            .split('/')
            .next()
            .unwrap_or(url);
        let mut agent = serde_json::json!({
            "type": "sales",
            "url": format!("{url}/mcp"),
            "id": "adcp-agent",
            "description": self.agent_name.clone().unwrap_or_else(|| "AdCP agent".to_owned()),
        });
        if has_jwks {
            agent["jwks_uri"] = Value::from(format!("{url}/.well-known/jwks.json"));
        }
        Some(serde_json::json!({
            "house": { "domain": host, "name": self.agent_name.clone().unwrap_or_else(|| host.to_owned()) },
            "agents": [agent],
        }))
    }

    fn register_tools(&self) -> Result<BTreeMap<&'static str, Arc<dyn ErasedTool>>, ServerError> {
        let mut tools: BTreeMap<&'static str, Arc<dyn ErasedTool>> = BTreeMap::new();
        let mut add = |name: &str, handler: Arc<dyn ErasedTool>| -> Result<(), ServerError> {
            let Some(spec) = manifest::tool(name) else {
                return Err(ServerError::InvalidTool {
                    tool: name.to_owned(),
                    reason: "not a tool of the AdCP manifest",
                });
            };
            if FrameworkTool::parse(spec.name, true).is_some() {
                return Err(ServerError::InvalidTool {
                    tool: name.to_owned(),
                    reason: "served by the framework",
                });
            }
            if tools.insert(spec.name, handler).is_some() {
                return Err(ServerError::InvalidTool {
                    tool: name.to_owned(),
                    reason: "registered twice",
                });
            }
            Ok(())
        };
        if let Some(sales) = &self.sales {
            let mut listed = sales.tools();
            listed.sort();
            listed.dedup();
            if !listed.contains(&SalesTool::GetProducts) {
                listed.insert(0, SalesTool::GetProducts);
            }
            for tool in listed {
                add(tool.name(), sales_handler(sales, tool))?;
            }
        }
        if let Some(signals) = &self.signals {
            let mut listed = signals.tools();
            listed.sort();
            listed.dedup();
            if !listed.contains(&SignalsTool::GetSignals) {
                listed.insert(0, SignalsTool::GetSignals);
            }
            for tool in listed {
                add(tool.name(), signals_handler(signals, tool))?;
            }
        }
        for family in &self.families {
            for (name, handler) in family {
                add(name, Arc::clone(handler))?;
            }
        }
        for (name, handler) in &self.custom {
            let handler = Arc::clone(handler);
            add(
                name,
                Typed::<Value, Value>::erased(move |request, ctx| {
                    let handler = Arc::clone(&handler);
                    Box::pin(async move { handler.call(request, &ctx).await })
                }),
            )?;
        }
        Ok(tools)
    }
}

/// The protocol domain a tool belongs to, as specialisms name it: the manifest's protocol with
/// the governance sub-protocols (`property`, `collection`, `content-standards`) folded in, and
/// `build_creative` (filed under media-buy in the manifest) counted as creative, the domain of
/// the specialisms whose entry point it is.
fn domain_of(tool: &str) -> Option<&'static str> {
    if tool == "build_creative" {
        return Some("creative");
    }
    Some(match manifest::tool(tool)?.protocol {
        "property" | "collection" | "content-standards" => "governance",
        other => other,
    })
}

/// Creative-protocol tools a seller serves as part of buying media: they do not, alone, claim
/// the `creative` protocol.
///
/// rc.9's `supported_protocols` says a value commits the agent "to pass the baseline
/// compliance storyboard" of the protocol, and the creative baseline (`creative_lifecycle`)
/// previews renderings with `preview_creative`. A sales agent that takes creatives for its
/// media buys (`sync_creatives`, `list_creatives`) is not a creative agent; serving any other
/// creative tool (or `build_creative`) claims the protocol.
const SELLER_CREATIVE_TOOLS: [&str; 2] = ["sync_creatives", "list_creatives"];

/// `supported_protocols` (snake_case) from the tools served.
fn protocols_of(core: &Core) -> Vec<&'static str> {
    let mut protocols = Vec::new();
    for name in core
        .tools
        .keys()
        .filter(|name| !SELLER_CREATIVE_TOOLS.contains(name))
    {
        let protocol = match domain_of(name) {
            Some("media-buy") => "media_buy",
            Some("signals") => "signals",
            Some("creative") => "creative",
            Some("governance") => "governance",
            Some("sponsored-intelligence") => "sponsored_intelligence",
            Some("brand") => "brand",
            _ => continue,
        };
        if !protocols.contains(&protocol) {
            protocols.push(protocol);
        }
    }
    protocols
}

fn check_specialisms(
    specialisms: &[Specialism],
    tools: &BTreeMap<&'static str, Arc<dyn ErasedTool>>,
) -> Result<(), ServerError> {
    for specialism in specialisms {
        let Some(spec) = manifest::SPECIALISMS
            .iter()
            .find(|s| s.specialism == *specialism)
        else {
            continue;
        };
        let missing: Vec<&'static str> = spec
            .entry_point_tools
            .iter()
            .copied()
            .filter(|tool| {
                // Entry points of another domain (e.g. the account tool `sync_governance` of
                // the sales specialisms) are cross-cutting and not required here.
                domain_of(tool) == Some(spec.protocol)
                    && !tools.contains_key(tool)
                    && FrameworkTool::parse(tool, true).is_none()
            })
            .collect();
        if !missing.is_empty() {
            return Err(ServerError::MissingTools {
                specialism: specialism.as_str(),
                missing,
            });
        }
    }
    Ok(())
}

fn sales_handler(platform: &Arc<dyn SalesPlatform>, tool: SalesTool) -> Arc<dyn ErasedTool> {
    match tool {
        SalesTool::GetProducts => {
            let platform = Arc::clone(platform);
            Typed::erased(
                move |request: adcp_types::generated::GetProductsRequest, ctx| {
                    let platform = Arc::clone(&platform);
                    Box::pin(async move {
                        if matches!(
                            request.buying_mode,
                            adcp_types::generated::GetProductsRequestBuyingMode::Refine
                        ) {
                            platform.refine_get_products(request, &ctx).await
                        } else {
                            platform.get_products(request, &ctx).await
                        }
                    })
                },
            )
        }
        SalesTool::CreateMediaBuy => family_handler!(task, platform, create_media_buy),
        SalesTool::UpdateMediaBuy => family_handler!(task, platform, update_media_buy),
        SalesTool::SyncCreatives => family_handler!(task, platform, sync_creatives),
        SalesTool::GetMediaBuyDelivery => family_handler!(sync, platform, get_media_buy_delivery),
        SalesTool::GetMediaBuys => family_handler!(sync, platform, get_media_buys),
        SalesTool::ListCreativeFormats => family_handler!(sync, platform, list_creative_formats),
    }
}

fn signals_handler(platform: &Arc<dyn SignalsPlatform>, tool: SignalsTool) -> Arc<dyn ErasedTool> {
    match tool {
        SignalsTool::GetSignals => family_handler!(task, platform, get_signals),
        SignalsTool::ActivateSignal => family_handler!(task, platform, activate_signal),
    }
}

/// Refuses every wiring of webhook delivery and task registry that would drop webhooks
/// silently.
fn check_delivery_wiring(
    delivery: &WebhookDelivery,
    registry: &dyn TaskRegistry,
) -> Result<(), ServerError> {
    let outbox = registry.writes_webhook_outbox();
    match delivery {
        WebhookDelivery::Transactional if !outbox => Err(ServerError::Config(
            "WebhookDelivery::Transactional needs a durable task registry that writes a webhook \
             outbox (PgTaskRegistry::builder(pool).outbox(..), or AdcpServerBuilder::postgres); \
             without one, push configs would be accepted and their webhooks never sent"
                .into(),
        )),
        WebhookDelivery::Supervisor(_) | WebhookDelivery::Manual | WebhookDelivery::Disabled
            if outbox =>
        {
            Err(ServerError::Config(format!(
                "the task registry writes a webhook outbox, but webhook delivery is {delivery:?}: \
                 use WebhookDelivery::Transactional and run an outbox worker \
                 (AdcpServerBuilder::background_job), or build the registry without an outbox"
            )))
        }
        _ => Ok(()),
    }
}
