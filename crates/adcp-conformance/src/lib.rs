//! A storyboard runner that grades an AdCP seller agent against the protocol's compliance
//! storyboards (AdCP 3.1.0-rc.9), over MCP or A2A, by URL.
//!
//! The protocol publishes its compliance suite as YAML storyboards: phases of steps, each a
//! tool call (or a runner assertion such as "a webhook arrived") with validations on the
//! response. This crate parses them ([`model`]), carries `context_outputs` between steps
//! ([`context`]), drives the agent with rmcp's streamable-HTTP client or A2A JSON-RPC
//! `SendMessage` ([`client`], [`a2a`]) or, where HTTP details are graded, a raw probe
//! ([`probe`]), hosts the webhook receiver on loopback
//! ([`receiver`]), verifies RFC 9421 webhook signatures ([`signature`]), grades every check
//! ([`checks`]) and reports ([`report`]).
//!
//! # Using it
//!
//! From code (what `cargo xtask conformance` can call):
//!
//! ```no_run
//! # async fn demo() -> Result<(), adcp_conformance::Error> {
//! let mut config = adcp_conformance::RunConfig::new("http://127.0.0.1:3001/mcp");
//! config.storyboards = vec!["universal/idempotency.yaml".into()];
//! config.specialisms = vec!["signal-owned".into()];
//! let report = adcp_conformance::run(&config).await?;
//! println!("{}", report.to_table());
//! std::fs::write("conformance.json", report.to_json()).ok();
//! assert!(report.passed());
//! # Ok(()) }
//! ```
//!
//! From a shell:
//!
//! ```text
//! adcp-conformance --url http://127.0.0.1:3001/mcp \
//!     --storyboard universal/idempotency.yaml --specialism signal-owned \
//!     --report conformance.json --junit conformance.xml
//! ```
//!
//! The process exits 1 when any storyboard fails and 2 when the run cannot start. Other flags:
//! `--protocol a2a` (the URL is then the agent's A2A JSON-RPC endpoint, e.g.
//! `http://127.0.0.1:3001/a2a`, and tools are the agent card's skills), `--auth TOKEN` (or
//! `ADCP_CONFORMANCE_AUTH`; default: each storyboard's test-kit demo key),
//! `--compliance-dir`, `--schemas-dir`, `--brand-json-url` (where the webhook-signing JWKS is
//! found when the agent's declared `https` brand.json is not reachable from the run),
//! `--timeout SECONDS`, `--skip-rate-limit-trip`, `--seeded-state`.
//!
//! # Selection and applicability
//!
//! Storyboards come from `--storyboard` paths (files or folders, relative to the compliance
//! folder when not found as given) and `--specialism` bundles
//! (`specialisms/<slug>/index.yaml`); each selected storyboard pulls in its
//! `requires_scenarios`. With neither, the run is capability-driven: every universal
//! storyboard, the baseline of each supported protocol, and the bundle of each declared
//! specialism. A storyboard that does not apply (undeclared specialism or protocol, a
//! `requires_capability` gate the agent's capabilities do not meet, missing tools, unmet
//! `requires:`) is reported `not_applicable` with the reason; it never drops out.
//!
//! # Whole-agent assessment
//!
//! [`assess`] (`--assess`; `adcp assess`) grades as a buyer's compliance check does: after
//! discovery only the storyboards within the agent's declarations pull in the scenarios they
//! require, and a claimed specialism's gaps fail rather than skip — a bundle `required_tools`
//! entry not advertised, a required scenario that does not apply (a capability gate, a missing
//! tool or controller), a required step skipped for a missing tool. Each such storyboard
//! names the specialism in `needed_by`. [`Observer`] receives the run's progress.
//!
//! # Guarantees
//!
//! - A check kind the runner does not implement fails its step, naming the kind.
//! - A placeholder that cannot be resolved is never sent: the step fails with
//!   `unresolved_substitution`, or is skipped as `prerequisite_failed` when the step that
//!   should have produced the value failed.
//! - Everything the runner adds to a request (see [`shaping`]) is listed in the step's notes.
//! - A step in any phase that fails fails its storyboard; an optional branch made moot by a
//!   contributing peer is regraded `peer_branch_taken` first. A storyboard whose every step was
//!   skipped is `not_applicable`, never `passed`.
//!
//! # Deliberate differences from the reference runner, and what is not implemented
//!
//! - Webhook assertions that count deliveries (`expect_max_deliveries_per_logical_event`,
//!   `expect_webhook_retry_keys_stable`) return once a delivery was acknowledged and no new one
//!   arrived for [`RunConfig::webhook_settle`], rather than idling out the full timeout.
//! - Requests are sent as the storyboard wrote them; accounts are never swapped for a
//!   "harness account". Only [`shaping`]'s additions are made.
//! - Invariants: `context.no_secret_echo` and `idempotency.conflict_no_payload_leak` are graded;
//!   others (`status.monotonic`, ...) are reported, advisory, as not implemented.
//! - Not implemented, and reported when met: the `canonical_format_satisfaction` check and
//!   runner tasks other than the eleven in this crate (a storyboard using them fails, naming
//!   them; `replay_webhook_vector`, which grades a buyer's receiver, is graded not applicable
//!   because no receiver URL is configured);
//!   the A2A wire-shape checks (`a2a_*`: not applicable on MCP runs, failed as not implemented
//!   on A2A runs); `expires_after_version` promotion (an
//!   advisory check stays advisory); multi-agent routing (`default_agent`); schema validation
//!   of `sample_request` (an authoring lint, not agent behaviour); the signature verifier's
//!   per-key rate caps and revocation-list staleness (webhook vectors 018 and 019).

pub mod a2a;
pub mod catalog;
pub mod checks;
mod checks_extra;
pub mod client;
pub mod context;
mod conventions;
pub mod error;
mod invariants;
pub mod kit;
pub mod model;
pub mod observer;
mod path;
pub mod probe;
mod pseudo;
pub mod receiver;
pub mod report;
mod request;
mod runner;
mod seeding;
pub mod shaping;
pub mod signature;
mod step;
mod webhooks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use error::Error;
pub use observer::{Observer, Silent};
pub use report::Report;

/// Installs the process-wide rustls crypto provider (ring) unless one is installed already.
/// When this crate is built together with crates that select reqwest's `rustls-no-provider`
/// feature, every reqwest client needs it; calling it more than once is harmless.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The transport the runner drives the agent over.
///
/// Guarantees: the choice changes only how tool calls and tool discovery travel (MCP
/// `tools/call` and `tools/list`, or A2A `SendMessage` and the agent card's skills); every
/// check grades the same AdCP payload either way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
#[non_exhaustive]
pub enum Protocol {
    /// MCP streamable HTTP; the agent URL is the MCP endpoint (e.g. `/mcp`).
    #[default]
    Mcp,
    /// A2A JSON-RPC; the agent URL is the A2A endpoint (e.g. `/a2a`).
    A2a,
}

impl Protocol {
    /// The protocol's name as the command line and reports spell it (`mcp`, `a2a`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mcp => "mcp",
            Self::A2a => "a2a",
        }
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run is configured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunConfig {
    /// The agent's endpoint for [`RunConfig::protocol`]: MCP, e.g.
    /// `http://127.0.0.1:3001/mcp`, or A2A JSON-RPC, e.g. `http://127.0.0.1:3001/a2a`.
    pub agent_url: String,
    /// The transport the agent is driven over (default MCP).
    pub protocol: Protocol,
    /// Storyboard files or folders (relative to the compliance folder when not found as given).
    pub storyboards: Vec<PathBuf>,
    /// Specialism bundles to run (`sales-non-guaranteed`, `signal-owned`).
    pub specialisms: Vec<String>,
    /// The `compliance/<version>` folder; default [`catalog::default_compliance_dir`].
    pub compliance_dir: Option<PathBuf>,
    /// The schema folder; default [`catalog::default_schemas_dir`], or the schemas embedded in
    /// `adcp-types` when that folder does not exist.
    pub schemas_dir: Option<PathBuf>,
    /// The bearer token sent on ordinary calls. Default: the storyboard's test-kit
    /// `auth.api_key`, else none.
    pub auth: Option<String>,
    /// The longest any single request may take.
    pub request_timeout: Duration,
    /// Webhook assertions that count deliveries return once no new delivery arrived for this
    /// long (after at least one was acknowledged), instead of idling out their full timeout.
    pub webhook_settle: Duration,
    /// Run the `rate_limit_trip_runner` burst (up to a few hundred mutating calls).
    pub rate_limit_trip: bool,
    /// The operator asserts prerequisite state was seeded out of band (`requires: [seeded_state]`).
    pub seeded_state: bool,
    /// Where to fetch the agent's brand.json (and through it the webhook-signing JWKS), ahead
    /// of the agent's own `identity.brand_json_url` and its origin's `/.well-known/brand.json`.
    pub brand_json_url: Option<String>,
    /// The account used where a storyboard names none (seeding, filled requests) and its own
    /// requests carry no account.
    pub default_account: serde_json::Value,
    /// Grade the whole agent as a buyer's compliance check does (see [`assess`]): with no
    /// storyboards or specialisms named, only the storyboards the agent's declarations select
    /// are expanded, and a claimed specialism's gaps (a required tool not advertised, a
    /// required scenario gated on an undeclared capability, a step skipped for a missing tool)
    /// fail instead of being skipped.
    pub whole_agent: bool,
}

impl RunConfig {
    /// Defaults for grading the agent at `agent_url`.
    pub fn new(agent_url: &str) -> Self {
        Self {
            agent_url: agent_url.to_owned(),
            protocol: Protocol::Mcp,
            storyboards: Vec::new(),
            specialisms: Vec::new(),
            compliance_dir: None,
            schemas_dir: None,
            auth: None,
            request_timeout: Duration::from_mins(1),
            webhook_settle: Duration::from_secs(3),
            rate_limit_trip: true,
            seeded_state: false,
            brand_json_url: None,
            default_account: serde_json::json!({
                "brand": {"domain": "acmeoutdoor.example"},
                "operator": "pinnacle-agency.example",
                "sandbox": true
            }),
            whole_agent: false,
        }
    }
}

/// How [`assess`] grades an agent: everything of a [`RunConfig`] except the selection, which
/// comes from the agent itself.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct AssessOptions {
    /// The transport (default MCP; the URL given to [`assess`] is then the MCP endpoint).
    pub protocol: Protocol,
    /// The bearer token for ordinary calls (default: each storyboard's test-kit key).
    pub auth: Option<String>,
    /// The `compliance/<version>` folder (default [`catalog::default_compliance_dir`]).
    pub compliance_dir: Option<PathBuf>,
    /// The schema folder (default: the workspace's, else the schemas embedded in `adcp-types`).
    pub schemas_dir: Option<PathBuf>,
    /// The longest any single request may take (default one minute).
    pub request_timeout: Option<Duration>,
    /// Leave out the `rate_limit_trip_runner` burst (a few hundred mutating calls).
    pub skip_rate_limit_trip: bool,
    /// The operator asserts prerequisite state was seeded out of band.
    pub seeded_state: bool,
    /// Where to fetch the agent's brand.json first (for its webhook-signing JWKS).
    pub brand_json_url: Option<String>,
    /// Receives the run's progress (default: nothing does).
    pub observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for AssessOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssessOptions")
            .field("protocol", &self.protocol)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .field("compliance_dir", &self.compliance_dir)
            .field("schemas_dir", &self.schemas_dir)
            .field("request_timeout", &self.request_timeout)
            .field("skip_rate_limit_trip", &self.skip_rate_limit_trip)
            .field("seeded_state", &self.seeded_state)
            .field("brand_json_url", &self.brand_json_url)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

impl AssessOptions {
    /// The whole-agent [`RunConfig`] these options describe for the agent at `agent_url`.
    pub fn run_config(&self, agent_url: &str) -> RunConfig {
        let mut config = RunConfig::new(agent_url);
        config.protocol = self.protocol;
        config.auth.clone_from(&self.auth);
        config.compliance_dir.clone_from(&self.compliance_dir);
        config.schemas_dir.clone_from(&self.schemas_dir);
        if let Some(timeout) = self.request_timeout {
            config.request_timeout = timeout;
        }
        config.rate_limit_trip = !self.skip_rate_limit_trip;
        config.seeded_state = self.seeded_state;
        config.brand_json_url.clone_from(&self.brand_json_url);
        config.whole_agent = true;
        config
    }
}

/// Grades the agent at `agent_url` the way a buyer's compliance check does.
///
/// It reads the agent's tools and `get_adcp_capabilities`, selects every rc.9 storyboard that
/// applies to the protocols, specialisms and capabilities it declares (every universal
/// storyboard, each supported protocol's baseline, each claimed specialism's bundle, and the
/// scenarios those require), and runs them back to back against the one agent. A claimed
/// specialism's gaps are failures, not skips: a tool in its `required_tools` that the agent
/// does not advertise, a scenario it requires that is gated on a capability the agent does
/// not declare (or needs the test controller it lacks), and any of its steps skipped for a
/// missing tool. Everything else that does not apply is reported `not_applicable` with the
/// reason. Fails only when the run cannot start.
///
/// ```no_run
/// # async fn check() -> Result<(), adcp_conformance::Error> {
/// let mut options = adcp_conformance::AssessOptions::default();
/// options.auth = Some("my-test-key".into());
/// let report = adcp_conformance::assess("http://127.0.0.1:3001/mcp", options).await?;
/// assert!(report.passed(), "{}", report.to_table());
/// # Ok(()) }
/// ```
pub async fn assess(agent_url: &str, options: AssessOptions) -> Result<Report, Error> {
    let config = options.run_config(agent_url);
    let observer = options.observer.unwrap_or_else(|| Arc::new(Silent));
    run_observed(&config, observer).await
}

/// Runs the selected storyboards against the agent and grades them.
///
/// Fails only when the run cannot start (unreadable storyboards, no compliance folder, the
/// receiver cannot bind); everything the agent does is graded into the [`Report`].
pub async fn run(config: &RunConfig) -> Result<Report, Error> {
    run_observed(config, Arc::new(Silent)).await
}

/// [`run`], telling `observer` about each storyboard and step as it is graded.
pub async fn run_observed(
    config: &RunConfig,
    observer: Arc<dyn Observer>,
) -> Result<Report, Error> {
    runner::Runner::start(config.clone(), observer)
        .await?
        .run()
        .await
}

#[cfg(test)]
mod tests {
    /// `run` can be spawned onto a multi-threaded runtime (xtask may do so).
    #[test]
    fn the_run_future_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let config = crate::RunConfig::new("http://127.0.0.1:9/mcp");
        assert_send(&crate::run(&config));
        assert_send(&crate::assess(
            "http://127.0.0.1:9/mcp",
            crate::AssessOptions::default(),
        ));
    }
}
