//! The run: agent discovery, storyboard selection, applicability, fixture seeding, the phase
//! loop with its cascade rules, and the storyboard grade.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use adcp_types::validate::SchemaSet;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::RunConfig;
use crate::catalog::{self, Catalog, Scope, Selected};
use crate::client::{AgentClient, ToolResponse};
use crate::context::{RunContext, RunnerVars};
use crate::error::Error;
use crate::kit::TestKit;
use crate::model::{Phase, Step, Storyboard};
use crate::observer::Observer;
use crate::probe::{self, HttpObservation};
use crate::receiver::WebhookReceiver;
use crate::report::{
    AgentProfile, Outcome, Report, Skip, SkipReason, StepResult, StepStatus, StoryboardResult,
    Summary, ValidationResult,
};
use crate::shaping::DiscoveredProduct;
use crate::signature::VerifierState;

/// Harness contracts this runner provides.
const CONTRACTS: [&str; 3] = [
    "webhook_receiver_runner",
    "parallel_dispatch_runner",
    "rate_limit_trip_runner",
];

/// Everything shared by the storyboards of one run.
pub(crate) struct Runner {
    pub(crate) config: RunConfig,
    pub(crate) client: AgentClient,
    pub(crate) http: reqwest::Client,
    pub(crate) receiver: WebhookReceiver,
    pub(crate) schemas: Result<SchemaSet, String>,
    pub(crate) schemas_dir: PathBuf,
    pub(crate) catalog: Catalog,
    pub(crate) profile: AgentProfile,
    /// The credential agent discovery succeeded with.
    pub(crate) discovery_bearer: Option<String>,
    pub(crate) run_start: DateTime<Utc>,
    /// Receives progress as storyboards and steps are graded.
    pub(crate) observer: Arc<dyn Observer>,
}

impl Runner {
    /// Opens the compliance folder, loads the schemas and starts the receiver.
    pub(crate) async fn start(
        config: RunConfig,
        observer: Arc<dyn Observer>,
    ) -> Result<Self, Error> {
        url::Url::parse(&config.agent_url)
            .map_err(|e| Error::Config(format!("agent URL {:?}: {e}", config.agent_url)))?;
        let compliance = config
            .compliance_dir
            .clone()
            .unwrap_or_else(catalog::default_compliance_dir);
        let catalog = Catalog::open(&compliance)?;
        let schemas_dir = config
            .schemas_dir
            .clone()
            .unwrap_or_else(catalog::default_schemas_dir);
        // Without a schema folder (an installed binary, no ADCP_SCHEMAS_DIR) the schemas
        // compiled into adcp-types validate responses.
        let schemas = if config.schemas_dir.is_none() && !schemas_dir.is_dir() {
            SchemaSet::embedded()
        } else {
            SchemaSet::load(&schemas_dir)
        }
        .map_err(|e| e.to_string());
        let receiver = WebhookReceiver::start().await?;
        Ok(Self {
            client: AgentClient::with_protocol(
                &config.agent_url,
                config.request_timeout,
                config.protocol,
            ),
            http: probe::http_client(config.request_timeout),
            receiver,
            schemas,
            schemas_dir,
            catalog,
            profile: AgentProfile::default(),
            discovery_bearer: None,
            run_start: Utc::now(),
            observer,
            config,
        })
    }

    /// Runs every selected storyboard.
    pub(crate) async fn run(mut self) -> Result<Report, Error> {
        let started = Instant::now();
        let (mut selected, mut unresolved) = self.select(None)?;
        let mut bearers: Vec<Option<String>> = vec![self.config.auth.clone()];
        if self.config.auth.is_none() {
            // Sandbox demo keys only: a live-mode kit (acme-outdoor-live) exists to be refused.
            for s in &selected {
                if let Ok(kit) = self.load_kit(&s.storyboard)
                    && kit.get("sandbox") != Some(&json!(false))
                    && let Some(key) = kit.api_key()
                {
                    bearers.push(Some(key.to_owned()));
                }
            }
        }
        let (profile, bearer) = self.discover(&bearers).await;
        self.profile = profile;
        self.discovery_bearer = bearer;
        if self.config.whole_agent && self.profile.error.is_none() {
            // Now that the agent's declarations are known, select again: only what they claim
            // pulls in required scenarios, and each storyboard learns which claim needs it.
            let profile = self.profile.clone();
            (selected, unresolved) = self.select(Some(&profile))?;
        }
        self.observer
            .run_started(&self.profile, selected.len() + unresolved.len());
        for result in &unresolved {
            self.observer.storyboard_finished(result);
        }
        let mut storyboards = unresolved;
        for s in &selected {
            tracing::info!(storyboard = %s.storyboard.id, "running");
            self.observer
                .storyboard_started(&s.storyboard.id, s.storyboard.label());
            let mut result = self.run_storyboard(s).await;
            if self.config.whole_agent {
                self.enforce_claims(s, &mut result);
            }
            self.observer.storyboard_finished(&result);
            storyboards.push(result);
        }
        self.client.close().await;
        Ok(Report {
            runner: "adcp-conformance",
            runner_version: env!("CARGO_PKG_VERSION"),
            adcp_version: adcp_types::ADCP_VERSION,
            agent_url: self.config.agent_url.clone(),
            protocol: self.config.protocol.as_str(),
            whole_agent: self.config.whole_agent,
            started_at: self.run_start.to_rfc3339(),
            duration_ms: millis(started),
            agent: self.profile.clone(),
            summary: Summary::of(&storyboards),
            storyboards,
        })
    }

    /// `tools/list` (over A2A, the agent card) and `get_adcp_capabilities`, trying each
    /// candidate credential in turn.
    ///
    /// A credential is taken as soon as the capabilities call succeeds with it. When it lists
    /// tools but the capabilities call fails (over A2A the card is public, so only the call
    /// tells a refused credential apart), the next candidate is tried, and the first such
    /// profile is kept in case none does better.
    async fn discover(&self, bearers: &[Option<String>]) -> (AgentProfile, Option<String>) {
        let mut last_error = String::from("no credential to try");
        let mut tried = HashSet::new();
        let mut fallback: Option<(AgentProfile, Option<String>)> = None;
        for bearer in bearers {
            if !tried.insert(bearer.clone()) {
                continue;
            }
            let tools = match self.client.list_tools(bearer.as_deref()).await {
                Ok(tools) => tools,
                Err(e) => {
                    last_error = e.to_string();
                    continue;
                }
            };
            let response = self
                .client
                .call_tool(bearer.as_deref(), "get_adcp_capabilities", &json!({}))
                .await
                .ok();
            let succeeded = response.as_ref().is_some_and(ToolResponse::succeeded);
            let profile = profile_of(tools, response.and_then(|r| r.data()));
            if succeeded {
                return (profile, bearer.clone());
            }
            fallback.get_or_insert((profile, bearer.clone()));
        }
        fallback.unwrap_or_else(|| {
            let failed = AgentProfile {
                error: Some(format!("agent discovery failed: {last_error}")),
                ..AgentProfile::default()
            };
            (failed, None)
        })
    }

    /// Whether the agent advertises `tool` (assumed when discovery failed).
    pub(crate) fn advertises(&self, tool: &str) -> bool {
        (self.profile.tools.is_empty() && self.profile.error.is_some())
            || self.profile.tools.iter().any(|t| t == tool)
    }

    /// Whether this run provides harness contract `contract`.
    pub(crate) fn supports_contract(&self, contract: &str) -> bool {
        CONTRACTS.contains(&contract)
            && (contract != "rate_limit_trip_runner" || self.config.rate_limit_trip)
    }

    /// Whether `task`'s request schema requires an `idempotency_key`.
    pub(crate) fn requires_idempotency_key(&self, task: &str) -> bool {
        let Some(tool) = adcp_types::manifest::tool(task) else {
            return false;
        };
        std::fs::read_to_string(self.schemas_dir.join(tool.request_schema))
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|schema| schema.get("required").cloned())
            .and_then(|r| r.as_array().cloned())
            .is_some_and(|r| r.iter().any(|k| k.as_str() == Some("idempotency_key")))
    }

    /// The storyboards of the run, and results for those that could not be loaded or
    /// resolved. With `profile` (a whole-agent assessment after discovery), only storyboards
    /// within the agent's declarations pull in their `requires_scenarios`, and each selected
    /// storyboard records the claimed specialism that needs it.
    fn select(
        &self,
        profile: Option<&AgentProfile>,
    ) -> Result<(Vec<Selected>, Vec<StoryboardResult>), Error> {
        let claimed = profile.map(|p| self.claimed_closure(p)).unwrap_or_default();
        let mut queue: Vec<(PathBuf, String)> = Vec::new();
        for path in &self.config.storyboards {
            for file in self.catalog.storyboard_files(path)? {
                queue.push((file, "selected explicitly".into()));
            }
        }
        for slug in &self.config.specialisms {
            queue.push((
                self.catalog.specialism_index(slug),
                format!("bundle of specialism {slug}"),
            ));
        }
        if self.config.storyboards.is_empty() && self.config.specialisms.is_empty() {
            // Capability-driven: every universal storyboard, every protocol baseline and every
            // specialism bundle; applicability then reports the ones the agent does not claim
            // as not applicable, with the reason, rather than leaving them out.
            for file in self.catalog.universal()? {
                queue.push((file, "universal".into()));
            }
            for dir in ["domains", "specialisms"] {
                let root = self.catalog.root().join(dir);
                if let Ok(entries) = std::fs::read_dir(&root) {
                    let mut names: Vec<String> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect();
                    names.sort();
                    for name in names {
                        let index = root.join(&name).join("index.yaml");
                        if index.is_file() {
                            queue.push((index, format!("{dir} baseline of {name}")));
                        }
                    }
                }
            }
        }
        let mut seen = HashSet::new();
        let mut selected = Vec::new();
        let mut unresolved = Vec::new();
        while let Some((file, why)) = queue.first().cloned() {
            queue.remove(0);
            if !seen.insert(key_of(&file)) {
                continue;
            }
            let storyboard = match Storyboard::load(&file) {
                Ok(storyboard) => storyboard,
                Err(e) => {
                    // One unreadable storyboard is graded as failed; it does not stop the run.
                    let step = StepResult::runner_failure(
                        "load",
                        "load_storyboard",
                        "load_storyboard",
                        e.to_string(),
                    );
                    unresolved.push(StoryboardResult {
                        id: file.display().to_string(),
                        title: file.display().to_string(),
                        path: file.display().to_string(),
                        outcome: Outcome::Failed,
                        skip: None,
                        needed_by: None,
                        steps: vec![step],
                        duration_ms: 0,
                    });
                    continue;
                }
            };
            let scope = self.catalog.scope_of(&file);
            let needed_by = claimed.get(&key_of(&file)).cloned();
            let expands = profile.is_none_or(|p| {
                scope_gap(p, gate_scope(needed_by.as_deref(), &scope), &storyboard).is_none()
            });
            for id in storyboard.requires_scenarios.iter().filter(|_| expands) {
                match self.catalog.path_of(id) {
                    Some(path) => queue.push((path.to_owned(), format!("required by {}", storyboard.id))),
                    None => unresolved.push(StoryboardResult {
                        id: id.clone(),
                        title: id.clone(),
                        path: String::new(),
                        outcome: Outcome::NotApplicable,
                        skip: Some(Skip {
                            reason: SkipReason::NotApplicable,
                            detail: format!(
                                "requires_scenarios reference \"{id}\" (from {}) did not resolve against the source tree",
                                storyboard.id
                            ),
                        }),
                        needed_by: None,
                        steps: Vec::new(),
                        duration_ms: 0,
                    }),
                }
            }
            selected.push(Selected {
                storyboard,
                scope,
                selected_by: why,
                needed_by,
            });
        }
        Ok((selected, unresolved))
    }

    /// Every storyboard a claimed specialism needs (its bundle and, transitively, the
    /// scenarios the bundle requires), keyed by canonical path, with the specialism's slug.
    fn claimed_closure(&self, profile: &AgentProfile) -> HashMap<PathBuf, String> {
        let mut claimed = HashMap::new();
        for slug in &profile.specialisms {
            let mut queue = vec![self.catalog.specialism_index(slug)];
            while let Some(file) = queue.pop() {
                let key = key_of(&file);
                if claimed.contains_key(&key) {
                    continue;
                }
                claimed.insert(key, slug.clone());
                if let Ok(storyboard) = Storyboard::load(&file) {
                    queue.extend(
                        storyboard
                            .requires_scenarios
                            .iter()
                            .filter_map(|id| self.catalog.path_of(id))
                            .map(Path::to_owned),
                    );
                }
            }
        }
        claimed
    }

    /// Whole-agent grading of one result: when a claimed specialism needs the storyboard,
    /// what would otherwise be a coverage skip is a failure — a bundle's `required_tools`
    /// entry the agent does not advertise, the storyboard not applying (an undeclared
    /// capability, a missing tool or test controller), and a required step skipped for a
    /// missing tool, controller or controller scenario. Placeholders without phases stay not
    /// applicable.
    fn enforce_claims(&self, selected: &Selected, result: &mut StoryboardResult) {
        let Some(slug) = &selected.needed_by else {
            return;
        };
        result.needed_by = Some(slug.clone());
        let storyboard = &selected.storyboard;
        let mut gaps = Vec::new();
        let is_bundle = matches!(&selected.scope, Scope::Specialism(s) if s == slug)
            && storyboard
                .source
                .file_name()
                .is_some_and(|n| n == "index.yaml");
        if is_bundle {
            for tool in storyboard.required_tools.iter().flatten() {
                if !self.advertises(tool) {
                    gaps.push(format!(
                        "its required tool {tool} is not advertised (the agent advertises {:?})",
                        self.profile.tools
                    ));
                }
            }
        }
        if result.outcome == Outcome::NotApplicable
            && let Some(skip) = &result.skip
            && skip.reason != SkipReason::NoPhases
        {
            gaps.push(format!(
                "it needs this storyboard, which did not run ({}: {})",
                crate::report::reason_label(skip.reason),
                skip.detail
            ));
        }
        for step in result.steps.iter_mut().filter(|s| !s.optional) {
            if step.status == StepStatus::Skipped
                && let Some(skip) = &step.skip
                && (matches!(
                    skip.reason,
                    SkipReason::MissingTool | SkipReason::MissingTestController
                ) || skip
                    .detail
                    .starts_with(crate::step::CONTROLLER_SCENARIO_UNSUPPORTED))
            {
                step.error = Some(format!(
                    "specialism {slug} is claimed, so this step must run: {}",
                    skip.detail
                ));
                step.status = StepStatus::Failed;
            }
        }
        if !gaps.is_empty() {
            let step = StepResult::runner_failure(
                "assessment",
                "claimed_specialism",
                "get_adcp_capabilities",
                format!("specialism {slug} is claimed: {}", gaps.join("; ")),
            );
            result.steps.insert(0, step);
        }
        if result.steps.iter().any(|s| s.status == StepStatus::Failed) {
            result.outcome = Outcome::Failed;
        }
    }

    pub(crate) fn load_kit(&self, storyboard: &Storyboard) -> Result<TestKit, Error> {
        match &storyboard.prerequisites.test_kit {
            Some(kit) => TestKit::load(&self.catalog.root().join(kit)),
            None => Ok(TestKit::default()),
        }
    }

    /// Why `selected` does not apply to the agent, if it does not.
    fn applicability(&self, selected: &Selected) -> Option<Skip> {
        let storyboard = &selected.storyboard;
        let skip = |reason, detail: String| Some(Skip { reason, detail });
        if storyboard.phases.is_empty() {
            return skip(
                SkipReason::NoPhases,
                format!(
                    "{} {} has no phases",
                    storyboard.id,
                    storyboard.version.as_deref().unwrap_or("")
                ),
            );
        }
        let profile = &self.profile;
        if profile.error.is_none() {
            let scope = gate_scope(selected.needed_by.as_deref(), &selected.scope);
            if let Some(gap) = scope_gap(profile, scope, storyboard) {
                return skip(SkipReason::NotApplicable, gap);
            }
            if let Some(gate) = storyboard.capability_gate() {
                let capabilities = profile.capabilities.as_ref().unwrap_or(&Value::Null);
                if !gate.holds(capabilities) {
                    return skip(
                        SkipReason::NotApplicable,
                        format!(
                            "requires_capability {} does not hold: the agent declares {}",
                            gate.describe(),
                            gate.declared(capabilities)
                        ),
                    );
                }
            }
        }
        for requirement in storyboard.requires.iter().flatten() {
            let met = match requirement.as_str() {
                "controller" => self.advertises("comply_test_controller"),
                "seeded_state" => self.config.seeded_state,
                "real_wire" => true,
                _ => false,
            };
            if !met {
                return skip(SkipReason::RequirementUnmet, requirement.clone());
            }
        }
        for family in storyboard.required_any_of_tools.iter().flatten() {
            if !family.tools.iter().any(|t| self.advertises(t)) {
                return skip(
                    SkipReason::RequirementUnmet,
                    format!(
                        "missing_required_tool_family: needs {}{}",
                        family.tools.join(" or "),
                        family
                            .rationale
                            .as_deref()
                            .map(|r| format!(" ({r})"))
                            .unwrap_or_default()
                    ),
                );
            }
        }
        if let Some(tools) = storyboard.required_tools.as_ref().filter(|t| !t.is_empty())
            && !tools.iter().any(|t| self.advertises(t))
        {
            return skip(
                SkipReason::MissingTool,
                format!(
                    "the agent advertises none of {tools:?} (it advertises {:?})",
                    profile.tools
                ),
            );
        }
        None
    }

    async fn run_storyboard(&self, selected: &Selected) -> StoryboardResult {
        let started = Instant::now();
        let storyboard = &selected.storyboard;
        let mut result = StoryboardResult {
            id: storyboard.id.clone(),
            title: storyboard.label().to_owned(),
            path: storyboard.source.display().to_string(),
            outcome: Outcome::NotApplicable,
            skip: None,
            needed_by: None,
            steps: Vec::new(),
            duration_ms: 0,
        };
        if let Some(skip) = self.applicability(selected) {
            result.skip = Some(skip);
            return result;
        }
        let kit = match self.load_kit(storyboard) {
            Ok(kit) => kit,
            Err(e) => {
                result.outcome = Outcome::Failed;
                result.steps.push(StepResult::runner_failure(
                    "prerequisites",
                    "load_test_kit",
                    "load_test_kit",
                    e.to_string(),
                ));
                return result;
            }
        };
        let mut run = StoryboardRun::new(self, storyboard, kit);
        run.mint_generated();
        if let Some(skip) = run.seed().await {
            result.skip = Some(skip);
            result.steps = run.results;
            return result;
        }
        run.run_phases().await;
        let secrets: Vec<String> = [run.bearer.clone(), run.kit.api_key().map(str::to_owned)]
            .into_iter()
            .flatten()
            .collect();
        crate::invariants::apply(&storyboard.invariants, &secrets, &mut run.results);
        let (outcome, skip) = run.grade_storyboard();
        result.outcome = outcome;
        result.skip = skip;
        result.steps = run.results;
        result.duration_ms = millis(started);
        result
    }
}

/// The canonical form of a storyboard path (the path itself when it cannot be resolved).
fn key_of(file: &Path) -> PathBuf {
    file.canonicalize().unwrap_or_else(|_| file.to_owned())
}

/// The scope a storyboard's declarations are checked against: a scenario a claimed
/// specialism requires applies (and expands) through that claim, whichever specialism's folder
/// it sits in (sales-non-guaranteed requires one filed under governance-aware-seller).
fn gate_scope<'s>(needed_by: Option<&str>, scope: &'s Scope) -> &'s Scope {
    match (needed_by, scope) {
        (Some(_), Scope::Specialism(_)) => &Scope::Other,
        (_, scope) => scope,
    }
}

/// Why a storyboard at `scope` is outside what the agent declares: an undeclared specialism,
/// or a protocol (from its folder, else its `protocol:`) missing from `supported_protocols`.
fn scope_gap(profile: &AgentProfile, scope: &Scope, storyboard: &Storyboard) -> Option<String> {
    if let Scope::Specialism(slug) = scope
        && !profile.specialisms.iter().any(|s| s == slug)
    {
        return Some(format!(
            "the agent declares specialisms {:?}, not {slug}",
            profile.specialisms
        ));
    }
    let protocol = match scope {
        Scope::Protocol(p) => Some(p.as_str()),
        _ => storyboard.protocol.as_deref(),
    }?;
    let wire = protocol.replace('-', "_");
    (!profile.supported_protocols.contains(&wire)).then(|| {
        format!(
            "the agent declares supported_protocols {:?}, not {wire}",
            profile.supported_protocols
        )
    })
}

/// The agent profile from its tool list and its `get_adcp_capabilities` payload, if any.
fn profile_of(tools: Vec<String>, capabilities: Option<Value>) -> AgentProfile {
    let strings = |key: &str| -> Vec<String> {
        capabilities
            .as_ref()
            .and_then(|c| c.get(key))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    AgentProfile {
        supported_protocols: strings("supported_protocols"),
        specialisms: strings("specialisms"),
        error: capabilities
            .is_none()
            .then(|| "get_adcp_capabilities returned no payload".to_owned()),
        capabilities,
        tools,
    }
}

pub(crate) fn millis(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Whether `get_products` discovery (for filling `create_media_buy`) has run, and what it found.
#[derive(Debug, Clone)]
pub(crate) enum Discovery {
    /// Not attempted yet.
    NotYet,
    /// Attempted; the product found, if any.
    Done(Option<DiscoveredProduct>),
}

/// The state of one storyboard run.
pub(crate) struct StoryboardRun<'r> {
    pub(crate) runner: &'r Runner,
    pub(crate) storyboard: &'r Storyboard,
    pub(crate) kit: TestKit,
    pub(crate) ctx: RunContext,
    pub(crate) bearer: Option<String>,
    pub(crate) account: Value,
    pub(crate) contributions: BTreeSet<String>,
    pub(crate) contributors: BTreeMap<String, (String, String)>,
    pub(crate) passed_steps: HashSet<String>,
    pub(crate) failed_producers: HashMap<String, String>,
    pub(crate) probes: HashMap<String, Option<HttpObservation>>,
    pub(crate) jwks: Option<Result<Vec<Value>, String>>,
    pub(crate) verifier: VerifierState,
    /// Verification outcomes by delivery index: re-checking one delivery is not a replay.
    pub(crate) verified: HashMap<usize, ValidationResult>,
    /// The product `get_products` discovery found; `None` inside once discovery ran empty.
    pub(crate) discovered: Discovery,
    pub(crate) step_started: HashMap<String, DateTime<Utc>>,
    pub(crate) results: Vec<StepResult>,
}

impl<'r> StoryboardRun<'r> {
    fn new(runner: &'r Runner, storyboard: &'r Storyboard, kit: TestKit) -> Self {
        let bearer = runner
            .config
            .auth
            .clone()
            .or_else(|| kit.api_key().map(str::to_owned))
            .or_else(|| runner.discovery_bearer.clone());
        let account = storyboard_account(storyboard).unwrap_or_else(|| {
            let mut account = runner.config.default_account.clone();
            if let Some(domain) = kit.brand_domain() {
                account["brand"] = json!({"domain": domain});
            }
            account
        });
        // One capture token per storyboard run: receiver URLs of same-named steps in different
        // storyboards never collide.
        let capture = uuid::Uuid::new_v4().simple().to_string();
        let ctx = RunContext::new(
            storyboard.context.as_ref(),
            RunnerVars {
                webhook_base: Some(runner.receiver.base_url().to_owned()),
                run_token: capture.clone(),
            },
        );
        for step in storyboard.phases.iter().flat_map(|p| &p.steps) {
            if step.task == "expect_webhook_retry_keys_stable"
                && let Some(trigger) = &step.triggered_by
            {
                let retry = step.retry_trigger.as_ref();
                runner.receiver.arm_retry(
                    trigger,
                    &capture,
                    retry.and_then(|r| r.count).unwrap_or(3),
                    retry.and_then(|r| r.http_status).unwrap_or(503),
                );
            }
        }
        Self {
            runner,
            storyboard,
            kit,
            ctx,
            bearer,
            account,
            contributions: BTreeSet::new(),
            contributors: BTreeMap::new(),
            passed_steps: HashSet::new(),
            failed_producers: HashMap::new(),
            probes: HashMap::new(),
            jwks: None,
            verifier: VerifierState::default(),
            verified: HashMap::new(),
            discovered: Discovery::NotYet,
            step_started: HashMap::new(),
            results: Vec::new(),
        }
    }

    async fn run_phases(&mut self) {
        let phases = &self.storyboard.phases;
        let mut tripped: HashMap<&str, String> = HashMap::new();
        for (index, phase) in phases.iter().enumerate() {
            self.ctx.reset_aliases();
            let dependencies: Vec<&str> = match &phase.depends_on {
                Some(list) => list.iter().map(String::as_str).collect(),
                None => phases[..index].iter().map(|p| p.id.as_str()).collect(),
            };
            let blocker = dependencies
                .iter()
                .find_map(|d| tripped.get(d).map(|step| format!("{d}.{step}")));
            if let Some(expression) = &phase.skip_if {
                match self.kit.evaluate_skip_if(expression) {
                    Some(false) => {}
                    verdict => {
                        for step in &phase.steps {
                            let mut r = if verdict.is_some() {
                                StepResult::skipped(
                                    &phase.id,
                                    &step.id,
                                    &step.task,
                                    SkipReason::NotApplicable,
                                    format!(
                                        "skip_if `{expression}` is true for test kit {}",
                                        self.kit.id().unwrap_or("(none)")
                                    ),
                                )
                            } else {
                                let mut r = StepResult::skipped(
                                    &phase.id,
                                    &step.id,
                                    &step.task,
                                    SkipReason::NotApplicable,
                                    String::new(),
                                );
                                r.status = StepStatus::Failed;
                                r.skip = None;
                                r.error = Some(format!("cannot evaluate skip_if `{expression}`"));
                                r
                            };
                            r.optional = phase.optional;
                            r.stateful = step.stateful;
                            self.results.push(r);
                        }
                        continue;
                    }
                }
            }
            let first = self.results.len();
            for step in &phase.steps {
                let result = if let (Some(blocker), true) = (&blocker, step.stateful) {
                    self.blocked(phase, step, blocker)
                } else {
                    let span = tracing::info_span!("step", storyboard = %self.storyboard.id, phase = %phase.id, step = %step.id);
                    self.run_step(phase, step).instrument(span).await
                };
                self.runner
                    .observer
                    .step_finished(&self.storyboard.id, &result);
                self.results.push(result);
            }
            if !phase.optional
                && let Some(step) = trips_cascade(phase, &self.results[first..])
            {
                tripped.insert(&phase.id, step);
            }
        }
    }

    /// A stateful step skipped because a phase it depends on tripped the cascade.
    fn blocked(&mut self, phase: &Phase, step: &Step, blocker: &str) -> StepResult {
        let mut r = StepResult::skipped(
            &phase.id,
            &step.id,
            &step.task,
            SkipReason::PrerequisiteFailed,
            format!("depends on {blocker}, which did not pass"),
        );
        r.stateful = true;
        r.optional = phase.optional;
        for name in step.context_outputs.iter().filter_map(|o| o.context_name()) {
            self.failed_producers
                .insert(name.to_owned(), step.id.clone());
        }
        r
    }

    /// Regrades moot branches and returns the storyboard outcome.
    fn grade_storyboard(&mut self) -> (Outcome, Option<Skip>) {
        for phase in self.storyboard.phases.iter().filter(|p| p.optional) {
            let flags: BTreeSet<String> = phase
                .steps
                .iter()
                .filter_map(|s| s.contribution(phase))
                .chain(phase.branch_set.iter().map(|b| b.id.clone()))
                .collect();
            let taken = flags.iter().find_map(|flag| {
                let (p, s) = self.contributors.get(flag)?;
                (p != &phase.id).then(|| (flag.clone(), p.clone(), s.clone()))
            });
            let Some((flag, peer_phase, peer_step)) = taken else {
                continue;
            };
            let contributed_here = self.contributors.values().any(|(p, _)| p == &phase.id);
            if contributed_here {
                continue;
            }
            for result in self.results.iter_mut().filter(|r| r.phase_id == phase.id) {
                if result.status == StepStatus::Failed {
                    result.status = StepStatus::Skipped;
                    result.skip = Some(Skip {
                        reason: SkipReason::PeerBranchTaken,
                        detail: format!(
                            "{flag} contributed by {peer_phase}.{peer_step} — {} is moot",
                            phase.id
                        ),
                    });
                }
            }
        }
        // A failing step fails the storyboard wherever it sits: optional phases only get
        // leeway through branch sets, whose moot branches were regraded above.
        if self.results.iter().any(|r| r.status == StepStatus::Failed) {
            return (Outcome::Failed, None);
        }
        if self.results.iter().any(StepResult::passed) {
            return (Outcome::Passed, None);
        }
        (
            Outcome::NotApplicable,
            Some(Skip {
                reason: SkipReason::NotApplicable,
                detail: "every step was skipped (see the step reasons)".into(),
            }),
        )
    }
}

/// The step that trips the cascade for later phases, if any (runner-output-contract.yaml >
/// cascade_rules).
fn trips_cascade(phase: &Phase, results: &[StepResult]) -> Option<String> {
    let stateful: Vec<&StepResult> = results.iter().filter(|r| r.stateful).collect();
    let substituted: HashSet<String> = phase
        .steps
        .iter()
        .filter(|s| results.iter().any(|r| r.step_id == s.id && r.passed()))
        .flat_map(Step::provides_state_for)
        .collect();
    stateful.iter().find_map(|r| {
        // A controller scenario the agent does not implement never set the state later phases
        // rely on (a forced arm, an unavailable upstream): they must not run as if it had.
        let unsupported_scenario = r.status == StepStatus::Skipped
            && r.skip.as_ref().is_some_and(|s| {
                s.detail
                    .starts_with(crate::step::CONTROLLER_SCENARIO_UNSUPPORTED)
            });
        let trips = match (&r.status, r.skip.as_ref().map(|s| s.reason)) {
            _ if unsupported_scenario => true,
            (
                StepStatus::Skipped,
                Some(
                    SkipReason::MissingTool
                    | SkipReason::NotApplicable
                    | SkipReason::MissingTestController,
                ),
            ) => stateful.len() > 1 && !substituted.contains(&r.step_id),
            (StepStatus::Failed, _)
            | (
                StepStatus::Skipped,
                Some(
                    SkipReason::PrerequisiteFailed
                    | SkipReason::UnsatisfiedContract
                    | SkipReason::PeerBranchTaken,
                ),
            ) => true,
            _ => false,
        };
        trips.then(|| r.step_id.clone())
    })
}

/// The first `account` object with a brand in the storyboard's requests, with `sandbox: true`.
fn storyboard_account(storyboard: &Storyboard) -> Option<Value> {
    let mut account = storyboard
        .phases
        .iter()
        .flat_map(|p| &p.steps)
        .filter_map(|s| s.sample_request.as_ref()?.get("account"))
        .find(|a| a.get("brand").is_some())?
        .clone();
    if let Value::Object(map) = &mut account {
        map.insert("sandbox".into(), json!(true));
    }
    Some(account)
}
