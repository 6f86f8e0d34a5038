//! Storyboards, phases, steps and validations as the YAML spells them.
//!
//! Parsing is tolerant of keys this runner does not use (storyboards carry narrative, docs
//! references and reviewer notes), but a validation's `check` is never guessed: an unknown
//! kind parses as [`CheckKind::Unknown`] and fails its step loudly when graded.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::error::Error;

/// One storyboard file.
#[derive(Debug, Clone, Deserialize)]
pub struct Storyboard {
    /// The storyboard id, e.g. `media_buy_seller/get_products_async`.
    pub id: String,
    /// The storyboard's own version.
    #[serde(default)]
    pub version: Option<String>,
    /// A human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// The category (`sales_non_guaranteed`, `error_compliance`, ...).
    #[serde(default)]
    pub category: Option<String>,
    /// The protocol domain the storyboard belongs to, when it names one (`media-buy`).
    #[serde(default)]
    pub protocol: Option<String>,
    /// Lenient applicability: the agent must advertise at least one of these tools.
    #[serde(default)]
    pub required_tools: Option<Vec<String>>,
    /// Strict families: each family needs at least one advertised tool.
    #[serde(default)]
    pub required_any_of_tools: Option<Vec<ToolFamily>>,
    /// Runtime gates (`controller`, `seeded_state`, `real_wire`, or unknown values).
    #[serde(default)]
    pub requires: Option<Vec<String>>,
    /// Scenario ids that run alongside this storyboard.
    #[serde(default)]
    pub requires_scenarios: Vec<String>,
    /// A gate on the agent's `get_adcp_capabilities` reply: the storyboard applies only when
    /// it holds.
    #[serde(default)]
    pub requires_capability: Option<CapabilityGate>,
    /// The test kit and seeding switch.
    #[serde(default)]
    pub prerequisites: Prerequisites,
    /// Declarative state seeded through `comply_test_controller` before the phases run.
    #[serde(default)]
    pub fixtures: Option<Map<String, Value>>,
    /// Initial context values.
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
    /// Cross-step assertions graded over every step (`context.no_secret_echo`, ...).
    #[serde(default)]
    pub invariants: Vec<String>,
    /// The phases, in order.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Where the storyboard was read from (set by [`Storyboard::load`]).
    #[serde(skip)]
    pub source: PathBuf,
}

/// `requires_capability:`: a dotted path into the agent's `get_adcp_capabilities` reply and
/// what must hold there (every given condition must).
#[derive(Debug, Clone, Deserialize)]
pub struct CapabilityGate {
    /// The dotted path, e.g. `media_buy.supported_optimization_metrics`.
    pub path: String,
    /// The value at `path` must equal this.
    #[serde(default)]
    pub equals: Option<Value>,
    /// The value at `path` must be an array containing this (or a string containing it).
    #[serde(default)]
    pub contains: Option<Value>,
    /// The value at `path` must be present and non-null (`true`) or absent (`false`).
    #[serde(default)]
    pub present: Option<bool>,
}

impl CapabilityGate {
    /// Whether the gate holds for `capabilities` (the agent's `get_adcp_capabilities` payload).
    pub fn holds(&self, capabilities: &Value) -> bool {
        let value = self
            .path
            .split('.')
            .try_fold(capabilities, |node, key| node.get(key))
            .filter(|v| !v.is_null());
        if let Some(present) = self.present
            && present != value.is_some()
        {
            return false;
        }
        if let Some(expected) = &self.equals
            && value != Some(expected)
        {
            return false;
        }
        if let Some(needle) = &self.contains {
            let found = match value {
                Some(Value::Array(items)) => items.contains(needle),
                Some(Value::String(text)) => needle.as_str().is_some_and(|n| text.contains(n)),
                _ => false,
            };
            if !found {
                return false;
            }
        }
        true
    }

    /// The gate as a sentence fragment: `media_buy.frequency_capping present`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self.path.clone()];
        if let Some(present) = self.present {
            parts.push(if present { "present" } else { "absent" }.to_owned());
        }
        if let Some(expected) = &self.equals {
            parts.push(format!("equals {expected}"));
        }
        if let Some(needle) = &self.contains {
            parts.push(format!("contains {needle}"));
        }
        parts.join(" ")
    }

    /// What the agent declares at the gate's path, for a skip detail.
    pub fn declared(&self, capabilities: &Value) -> String {
        self.path
            .split('.')
            .try_fold(capabilities, |node, key| node.get(key))
            .map_or_else(|| "nothing".to_owned(), Value::to_string)
    }
}

/// Reads a member that is present, `null` included, as `Some` (serde's `Option` would read an
/// explicit `null` as absent).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// One `required_any_of_tools` family.
#[derive(Debug, Clone, Deserialize)]
pub struct ToolFamily {
    /// At least one of these must be advertised.
    pub tools: Vec<String>,
    /// Why the family is required.
    #[serde(default)]
    pub rationale: Option<String>,
}

/// `prerequisites:`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Prerequisites {
    /// The test kit, relative to the compliance root (`test-kits/acme-outdoor.yaml`).
    #[serde(default)]
    pub test_kit: Option<String>,
    /// Seed `fixtures:` through the controller before the phases run.
    #[serde(default)]
    pub controller_seeding: bool,
}

/// One phase.
#[derive(Debug, Clone, Deserialize)]
pub struct Phase {
    /// Unique within the storyboard.
    pub id: String,
    /// A human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// The phase may be skipped (`skip_if`) or be one branch of a branch set; a branch made
    /// moot by a contributing peer is regraded `peer_branch_taken`.
    #[serde(default)]
    pub optional: bool,
    /// `!test_kit.<path>` or `test_kit.<path>`: skip the phase when it evaluates true.
    #[serde(default)]
    pub skip_if: Option<String>,
    /// Membership of an any-of branch set.
    #[serde(default)]
    pub branch_set: Option<BranchSet>,
    /// Phases whose failure cascades into this one (default: every earlier phase).
    #[serde(default)]
    pub depends_on: Option<Vec<String>>,
    /// The steps, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// `branch_set:` on a phase.
#[derive(Debug, Clone, Deserialize)]
pub struct BranchSet {
    /// The flag contributing steps set.
    pub id: String,
    /// Only `any_of` exists.
    #[serde(default)]
    pub semantics: Option<String>,
}

/// One step: a tool call, an HTTP probe, or a runner assertion.
#[derive(Debug, Clone, Deserialize)]
// The storyboard format has independent boolean switches; mirroring it is the point.
#[allow(clippy::struct_excessive_bools)]
pub struct Step {
    /// Unique within the phase.
    pub id: String,
    /// A human-readable title.
    #[serde(default)]
    pub title: Option<String>,
    /// The AdCP tool, a runner pseudo-task, or a `$test_kit.` reference.
    pub task: String,
    /// The task when `task` is a test-kit reference that resolves to nothing.
    #[serde(default)]
    pub task_default: Option<String>,
    /// Request schema, relative to the schema root.
    #[serde(default)]
    pub schema_ref: Option<String>,
    /// Response schema, relative to the schema root.
    #[serde(default)]
    pub response_schema_ref: Option<String>,
    /// Whether the step depends on, or establishes, state shared with later steps.
    #[serde(default)]
    pub stateful: bool,
    /// The request payload, before substitution.
    #[serde(default)]
    pub sample_request: Option<Value>,
    /// The agent is expected to reject the request.
    #[serde(default)]
    pub expect_error: bool,
    /// `schema_invalid` (default) or `payload_well_formed`.
    #[serde(default)]
    pub negative_path: Option<String>,
    /// Do not validate the request against its schema.
    #[serde(default)]
    pub sample_request_skip_schema: bool,
    /// Credentials override; makes the step a raw HTTP probe.
    #[serde(default)]
    pub auth: Option<AuthDirective>,
    /// Send the request without an `idempotency_key`.
    #[serde(default)]
    pub omit_idempotency_key: bool,
    /// The flag this step contributes when it passes.
    #[serde(default)]
    pub contributes_to: Option<String>,
    /// Shorthand for contributing the enclosing branch set's id.
    #[serde(default)]
    pub contributes: bool,
    /// `prior_step.<id>.passed`: contribute only when that step passed.
    #[serde(default)]
    pub contributes_if: Option<String>,
    /// Values captured into the context after the step passes.
    #[serde(default)]
    pub context_outputs: Vec<ContextOutput>,
    /// Values injected into the request after substitution.
    #[serde(default)]
    pub context_inputs: Vec<ContextInput>,
    /// The checks graded on the response.
    #[serde(default)]
    pub validations: Vec<Validation>,
    /// Skip with `missing_tool` unless the agent advertises this tool.
    #[serde(default)]
    pub requires_tool: Option<String>,
    /// Grade `not_applicable` unless the runner provides this harness contract.
    #[serde(default)]
    pub requires_contract: Option<String>,
    /// `advisory` makes every failure of this step non-blocking.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Webhook assertions: the step whose receiver URL is observed.
    #[serde(default)]
    pub triggered_by: Option<String>,
    /// Webhook assertions: which deliveries count.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Webhook assertions: how long to wait.
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// `expect_webhook`: require a pattern-valid `idempotency_key` (default true).
    #[serde(default)]
    pub expect_idempotency_key: Option<bool>,
    /// `expect_webhook`: validate the payload against this schema.
    #[serde(default)]
    pub webhook_payload_schema_ref: Option<String>,
    /// `expect_webhook`: at most this many distinct logical events.
    #[serde(default)]
    pub expect_max_deliveries_per_logical_event: Option<usize>,
    /// `expect_webhook_retry_keys_stable`: the receiver's 5xx-then-2xx behaviour.
    #[serde(default)]
    pub retry_trigger: Option<RetryTrigger>,
    /// `expect_webhook_retry_keys_stable`: fewest deliveries to observe.
    #[serde(default)]
    pub expect_min_deliveries: Option<usize>,
    /// `expect_webhook_signature_valid`: the RFC 9421 `tag` to require.
    #[serde(default)]
    pub require_tag: Option<String>,
    /// Fire the request several times concurrently.
    #[serde(default)]
    pub parallel_dispatch: Option<ParallelDispatch>,
    /// `expect_rate_limit_not_replayed`: the burst description.
    #[serde(default)]
    pub rate_limit_trip: Option<RateLimitTrip>,
    /// Same-phase peers whose state this step establishes when it passes.
    #[serde(default)]
    pub provides_state_for: Option<Value>,
}

/// `auth:` on a step.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthDirective {
    /// Strip every credential.
    None,
    /// A typed credential.
    Credential {
        /// `api_key`, `basic` or `oauth_bearer`.
        kind: String,
        /// `true` or a dotted test-kit path.
        from_test_kit: Option<Value>,
        /// `random_invalid` or `random_invalid_jwt`.
        value_strategy: Option<String>,
    },
}

impl<'de> Deserialize<'de> for AuthDirective {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match value {
            Value::String(s) if s == "none" => Ok(Self::None),
            Value::Object(map) => Ok(Self::Credential {
                kind: map
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("api_key")
                    .to_owned(),
                from_test_kit: map.get("from_test_kit").cloned(),
                value_strategy: map
                    .get("value_strategy")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            }),
            other => Err(serde::de::Error::custom(format!(
                "auth must be \"none\" or an object, not {other}"
            ))),
        }
    }
}

/// One `context_outputs` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct ContextOutput {
    /// The context name (the spec's spelling).
    #[serde(default)]
    pub name: Option<String>,
    /// The context name (an older spelling some storyboards still use).
    #[serde(default)]
    pub key: Option<String>,
    /// Where to read the value in the response (`""` is the whole body).
    #[serde(default)]
    pub path: Option<String>,
    /// `uuid_v4` or `opaque_id`: mint a value instead of capturing one.
    #[serde(default)]
    pub generate: Option<String>,
}

impl ContextOutput {
    /// The context name, whichever spelling the storyboard used.
    pub fn context_name(&self) -> Option<&str> {
        self.name.as_deref().or(self.key.as_deref())
    }
}

/// One `context_inputs` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct ContextInput {
    /// The context name to read.
    pub key: String,
    /// Where to write it in the request.
    pub inject_at: String,
}

/// `retry_trigger:`.
#[derive(Debug, Clone, Deserialize)]
pub struct RetryTrigger {
    /// Deliveries answered with `http_status` before the receiver answers 200.
    #[serde(default)]
    pub count: Option<u32>,
    /// The retryable status to answer with.
    #[serde(default)]
    pub http_status: Option<u16>,
}

/// `parallel_dispatch:`.
#[derive(Debug, Clone, Deserialize)]
pub struct ParallelDispatch {
    /// How many concurrent requests (2..=10).
    pub count: usize,
    /// Send the same `idempotency_key` on every request.
    #[serde(default)]
    pub same_idempotency_key: Option<bool>,
    /// How long to wait at the barrier.
    #[serde(default)]
    pub barrier_timeout_ms: Option<u64>,
}

/// `rate_limit_trip:`.
#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitTrip {
    /// The mutating tool to burst.
    pub trip_target_task: String,
    /// The request body; `idempotency_key` is rewritten per attempt.
    #[serde(default)]
    pub trip_target_sample_request: Option<Value>,
    /// The burst ceiling (50..=500).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// The longest `retry_after` the runner waits before replaying.
    #[serde(default)]
    pub replay_max_wait_seconds: Option<u64>,
}

/// How much a failing validation counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Fails the step (the default).
    Required,
    /// Reported, but does not fail the step.
    Advisory,
}

/// One validation.
#[derive(Debug, Clone, Deserialize)]
pub struct Validation {
    /// What to check.
    pub check: CheckKind,
    /// The response path the check reads.
    #[serde(default)]
    pub path: Option<String>,
    /// The expected value; `Some(Value::Null)` when the storyboard wrote `value: null` (a
    /// check that the field is null or, for `field_value_or_absent`, absent), `None` when it
    /// wrote no `value`.
    #[serde(default, deserialize_with = "present")]
    pub value: Option<Value>,
    /// The accepted values.
    #[serde(default)]
    pub allowed_values: Option<Vec<Value>>,
    /// A JavaScript regular expression (`field_pattern`).
    #[serde(default)]
    pub pattern: Option<String>,
    /// A context name (cross-step comparisons).
    #[serde(default)]
    pub context_key: Option<String>,
    /// What the check asserts, in words.
    #[serde(default)]
    pub description: Option<String>,
    /// `required` (default) or `advisory`.
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Fields only some checks read (`upstream_traffic`, `refs_resolve`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

macro_rules! check_kinds {
    ($($variant:ident => $name:literal,)*) => {
        /// Every validation kind this runner grades, plus [`CheckKind::Unknown`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum CheckKind {
            $(
                #[doc = concat!("`", $name, "`")]
                $variant,
            )*
            /// A kind this runner does not implement: grading it fails the step.
            Unknown(String),
        }

        impl CheckKind {
            /// Every kind this runner implements, by its storyboard spelling.
            pub const SUPPORTED: &'static [&'static str] = &[$($name,)*];

            /// The storyboard spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $name,)*
                    Self::Unknown(name) => name,
                }
            }

            /// Parses a storyboard spelling; never fails.
            pub fn parse(name: &str) -> Self {
                match name {
                    $($name => Self::$variant,)*
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }
    };
}

check_kinds! {
    ResponseSchema => "response_schema",
    FieldPresent => "field_present",
    FieldAbsent => "field_absent",
    FieldValue => "field_value",
    FieldValueOrAbsent => "field_value_or_absent",
    FieldPattern => "field_pattern",
    FieldContains => "field_contains",
    EnvelopeFieldPresent => "envelope_field_present",
    EnvelopeFieldAbsent => "envelope_field_absent",
    EnvelopeFieldValue => "envelope_field_value",
    EnvelopeFieldValueOrAbsent => "envelope_field_value_or_absent",
    EnvelopeFieldPattern => "envelope_field_pattern",
    StatusCode => "status_code",
    ErrorCode => "error_code",
    HttpStatus => "http_status",
    HttpStatusIn => "http_status_in",
    On401RequireHeader => "on_401_require_header",
    ResourceEqualsAgentUrl => "resource_equals_agent_url",
    AnyOf => "any_of",
    FieldEqualsContext => "field_equals_context",
    FieldLessThan => "field_less_than",
    FieldGreaterThan => "field_greater_than",
    FieldAtMost => "field_at_most",
    FieldAtLeast => "field_at_least",
    ArrayLength => "array_length",
    RefsResolve => "refs_resolve",
    UpstreamTraffic => "upstream_traffic",
    CrossResponseFieldEqual => "cross_response_field_equal",
    CrossResponseCountDistinct => "cross_response_count_distinct",
    ReplayNotCachedRateLimit => "replay_not_cached_rate_limit",
    A2aSubmittedArtifact => "a2a_submitted_artifact",
    A2aContextContinuity => "a2a_context_continuity",
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CheckKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(Self::parse(&name))
    }
}

impl Storyboard {
    /// Reads and parses one storyboard file.
    ///
    /// Fails when the file is unreadable, is not YAML, lacks `id`, declares `requires: []`
    /// (the spec's one load-time error), or reuses a phase id.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut storyboard = Self::parse(&text).map_err(|message| Error::Storyboard {
            path: path.to_owned(),
            message,
        })?;
        path.clone_into(&mut storyboard.source);
        Ok(storyboard)
    }

    /// Parses storyboard YAML; the error is a human-readable reason.
    pub fn parse(text: &str) -> Result<Self, String> {
        let storyboard: Self = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        if storyboard.requires.as_ref().is_some_and(Vec::is_empty) {
            return Err(
                "requires: [] is not allowed; use requires: [real_wire] for the default \
                        behavior, or omit the field entirely"
                    .into(),
            );
        }
        let mut seen = std::collections::HashSet::new();
        for phase in &storyboard.phases {
            if !seen.insert(phase.id.as_str()) {
                return Err(format!("phase id `{}` appears twice", phase.id));
            }
        }
        Ok(storyboard)
    }

    /// The capability gate the storyboard applies under: its `requires_capability`, else one
    /// rc.9 states only in prose. `signed_requests` has no `requires_capability`, yet its
    /// narrative says "This storyboard runs for any agent advertising
    /// `request_signing.supported: true`" and its first step's `expected` says "If false or
    /// absent, this storyboard does not apply and grading skips to a non-applicable outcome".
    pub fn capability_gate(&self) -> Option<CapabilityGate> {
        self.requires_capability.clone().or_else(|| {
            (self.id == "signed_requests").then(|| CapabilityGate {
                path: "request_signing.supported".into(),
                equals: Some(Value::Bool(true)),
                contains: None,
                present: None,
            })
        })
    }

    /// Every check kind the storyboard declares, in order of first appearance.
    pub fn check_kinds(&self) -> Vec<CheckKind> {
        let mut kinds: Vec<CheckKind> = Vec::new();
        for step in self.phases.iter().flat_map(|p| &p.steps) {
            for validation in &step.validations {
                if !kinds.contains(&validation.check) {
                    kinds.push(validation.check.clone());
                }
            }
        }
        kinds
    }

    /// A label for reports: the title, else the id.
    pub fn label(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.id)
    }
}

impl Step {
    /// The flag this step contributes (explicit, or its phase's branch set).
    pub fn contribution(&self, phase: &Phase) -> Option<String> {
        if let Some(flag) = &self.contributes_to {
            return Some(flag.clone());
        }
        if self.contributes {
            return phase.branch_set.as_ref().map(|b| b.id.clone());
        }
        None
    }

    /// The peers named by `provides_state_for` (a string or a list).
    pub fn provides_state_for(&self) -> Vec<String> {
        match &self.provides_state_for {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether every failure of this step is advisory.
    pub fn is_advisory(&self) -> bool {
        self.severity == Some(Severity::Advisory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_check_kinds_parse_without_guessing() {
        assert_eq!(CheckKind::parse("field_value"), CheckKind::FieldValue);
        assert_eq!(
            CheckKind::parse("field_vaule"),
            CheckKind::Unknown("field_vaule".into())
        );
    }

    #[test]
    fn an_explicit_null_value_is_kept_apart_from_no_value() {
        let sb = Storyboard::parse(
            "id: x\nphases:\n  - id: p\n    steps:\n      - id: s\n        task: t\n        validations:\n          - check: field_value_or_absent\n            path: a\n            value: null\n          - check: field_present\n            path: b\n",
        )
        .unwrap();
        let validations = &sb.phases[0].steps[0].validations;
        assert_eq!(validations[0].value, Some(Value::Null));
        assert_eq!(validations[1].value, None);
    }

    #[test]
    fn empty_requires_is_a_load_error() {
        let err = Storyboard::parse("id: x\nrequires: []\nphases: []\n").unwrap_err();
        assert!(err.contains("requires: []"));
    }

    #[test]
    fn context_outputs_accept_both_spellings_and_auth_none() {
        let sb = Storyboard::parse(
            "id: x\nphases:\n  - id: p\n    steps:\n      - id: s\n        task: t\n        auth: none\n        context_outputs:\n          - key: a\n            path: b\n          - name: c\n            generate: uuid_v4\n",
        )
        .unwrap();
        let step = &sb.phases[0].steps[0];
        assert_eq!(step.auth, Some(AuthDirective::None));
        assert_eq!(step.context_outputs[0].context_name(), Some("a"));
        assert_eq!(step.context_outputs[1].context_name(), Some("c"));
    }

    #[test]
    fn capability_gates_check_equals_contains_and_presence() {
        let gate = |yaml: &str| {
            Storyboard::parse(&format!("id: x\nrequires_capability:\n{yaml}phases: []\n"))
                .unwrap()
                .requires_capability
                .unwrap()
        };
        let caps = serde_json::json!({
            "media_buy": {
                "supported_optimization_metrics": ["clicks", "reach"],
                "frequency_capping": {"supported": true},
                "supports_proposals": false,
                "conversion_tracking": null
            }
        });
        let contains =
            gate("  path: media_buy.supported_optimization_metrics\n  contains: reach\n");
        assert!(contains.holds(&caps));
        let missing =
            gate("  path: media_buy.supported_optimization_metrics\n  contains: completed_views\n");
        assert!(!missing.holds(&caps));
        assert!(gate("  path: media_buy.frequency_capping\n  present: true\n").holds(&caps));
        // A null member is not present.
        let null = gate("  path: media_buy.conversion_tracking\n  present: true\n");
        assert!(!null.holds(&caps));
        assert_eq!(null.declared(&caps), "null");
        let equals = gate("  path: media_buy.supports_proposals\n  equals: true\n");
        assert!(!equals.holds(&caps));
        assert_eq!(
            equals.describe(),
            "media_buy.supports_proposals equals true"
        );
        assert!(!gate("  path: signals.discovery_modes\n  present: true\n").holds(&caps));
    }
}
