//! The graded outcome of a run: per storyboard, per step, per validation; printed as a table
//! and written as JSON or JUnit XML.
//!
//! Guarantees: a storyboard that could not be applied is present with an explicit
//! `not_applicable` outcome and reason, and every skipped step carries a reason and detail,
//! so nothing drops out of a report silently.

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::model::Severity;

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `adcp-conformance`.
    pub runner: &'static str,
    /// This crate's version.
    pub runner_version: &'static str,
    /// The AdCP version the storyboards target.
    pub adcp_version: &'static str,
    /// The agent graded.
    pub agent_url: String,
    /// The transport it was graded over (`mcp` or `a2a`).
    pub protocol: &'static str,
    /// Whether this was a whole-agent assessment ([`crate::assess`]): storyboards chosen from
    /// the agent's declarations, and a claimed specialism's gaps graded as failures.
    pub whole_agent: bool,
    /// When the run started (RFC 3339).
    pub started_at: String,
    /// Wall-clock duration.
    pub duration_ms: u64,
    /// What the agent advertised.
    pub agent: AgentProfile,
    /// One entry per storyboard selected.
    pub storyboards: Vec<StoryboardResult>,
    /// Counts.
    pub summary: Summary,
}

/// What the agent advertised at the start of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AgentProfile {
    /// `tools/list`.
    pub tools: Vec<String>,
    /// `get_adcp_capabilities.supported_protocols`.
    pub supported_protocols: Vec<String>,
    /// `get_adcp_capabilities.specialisms`.
    pub specialisms: Vec<String>,
    /// Why discovery failed, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The raw capabilities response.
    #[serde(skip)]
    pub capabilities: Option<Value>,
}

/// The grade of one storyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every required step passed.
    Passed,
    /// At least one required step failed.
    Failed,
    /// The storyboard does not apply to this agent (see the skip reason).
    NotApplicable,
}

/// One storyboard's result.
#[derive(Debug, Clone, Serialize)]
pub struct StoryboardResult {
    /// The storyboard id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// The file it was read from.
    pub path: String,
    /// The grade.
    pub outcome: Outcome,
    /// Why it was not applicable (or, in a whole-agent assessment, the gap that failed it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<Skip>,
    /// In a whole-agent assessment, the claimed specialism whose bundle needs this storyboard
    /// (its own bundle, or a scenario the bundle requires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub needed_by: Option<String>,
    /// Every step, in execution order (seeding steps first).
    pub steps: Vec<StepResult>,
    /// Wall-clock duration.
    pub duration_ms: u64,
}

/// The grade of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Every required validation passed.
    Passed,
    /// Passed, but an advisory validation failed.
    Warned,
    /// A required validation failed, or the call itself did.
    Failed,
    /// Not run (see the skip block).
    Skipped,
}

/// Why something was not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// An applicability gate evaluated false.
    NotApplicable,
    /// The storyboard has no phases.
    NoPhases,
    /// A step this one depends on did not pass.
    PrerequisiteFailed,
    /// The agent does not advertise a required tool.
    MissingTool,
    /// The agent does not advertise `comply_test_controller`.
    MissingTestController,
    /// A harness contract is not in scope for this run.
    UnsatisfiedContract,
    /// A peer branch of the same branch set contributed.
    PeerBranchTaken,
    /// A load-time requirement is not met.
    RequirementUnmet,
}

/// A skip reason with its human-readable detail.
#[derive(Debug, Clone, Serialize)]
pub struct Skip {
    /// The canonical reason.
    pub reason: SkipReason,
    /// What gate failed, citing what the agent declared.
    pub detail: String,
}

/// One step's result.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// The phase.
    pub phase_id: String,
    /// The step.
    pub step_id: String,
    /// The step title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The task invoked (after test-kit resolution).
    pub task: String,
    /// The grade.
    pub status: StepStatus,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<Skip>,
    /// A transport-level or runner-level error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Wall-clock duration.
    pub duration_ms: u64,
    /// Every validation graded, passed or not.
    pub validations: Vec<ValidationResult>,
    /// The exact request sent (credentials are never recorded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// The response observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// What the runner added to the request, and other observations that do not grade.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Whether the storyboard marks the step stateful.
    #[serde(skip)]
    pub stateful: bool,
    /// Whether the step sits in an optional phase.
    #[serde(skip)]
    pub optional: bool,
}

impl StepResult {
    /// A skipped step.
    pub fn skipped(
        phase_id: &str,
        step_id: &str,
        task: &str,
        reason: SkipReason,
        detail: String,
    ) -> Self {
        Self {
            phase_id: phase_id.to_owned(),
            step_id: step_id.to_owned(),
            title: None,
            task: task.to_owned(),
            status: StepStatus::Skipped,
            skip: Some(Skip { reason, detail }),
            error: None,
            duration_ms: 0,
            validations: Vec::new(),
            request: None,
            response: None,
            notes: Vec::new(),
            stateful: false,
            optional: false,
        }
    }

    /// A step the runner itself failed before or around the agent's calls (an unreadable
    /// storyboard or test kit, a whole-agent gap), with `error` saying why.
    pub fn runner_failure(phase_id: &str, step_id: &str, task: &str, error: String) -> Self {
        let mut step = Self::skipped(
            phase_id,
            step_id,
            task,
            SkipReason::NotApplicable,
            String::new(),
        );
        step.skip = None;
        step.status = StepStatus::Failed;
        step.error = Some(error);
        step
    }

    /// Whether the step passed (advisory failures included).
    pub fn passed(&self) -> bool {
        matches!(self.status, StepStatus::Passed | StepStatus::Warned)
    }
}

/// One validation's result.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationResult {
    /// The check kind (or a runner code such as `capture_path_not_resolvable`).
    pub check: String,
    /// Whether it passed.
    pub passed: bool,
    /// What it asserts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Required or advisory.
    pub severity: Severity,
    /// Graded not applicable (counts as neither pass nor fail).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub not_applicable: bool,
    /// Why it failed, or why it was not applicable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// RFC 6901 pointer into the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_pointer: Option<String>,
    /// What was expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<Value>,
    /// What was observed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<Value>,
}

impl ValidationResult {
    /// A passing result.
    pub fn pass(check: &str, description: Option<&str>) -> Self {
        Self {
            check: check.to_owned(),
            passed: true,
            description: description.map(str::to_owned),
            severity: Severity::Required,
            not_applicable: false,
            error: None,
            json_pointer: None,
            expected: None,
            actual: None,
        }
    }

    /// A failing result.
    pub fn fail(check: &str, description: Option<&str>, error: impl Into<String>) -> Self {
        Self {
            passed: false,
            error: Some(error.into()),
            ..Self::pass(check, description)
        }
    }

    /// A not-applicable result, with the reason.
    pub fn not_applicable(
        check: &str,
        description: Option<&str>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            not_applicable: true,
            error: Some(reason.into()),
            ..Self::pass(check, description)
        }
    }

    /// Adds expected and actual values.
    #[must_use]
    pub fn with_values(mut self, expected: Option<Value>, actual: Option<Value>) -> Self {
        self.expected = expected;
        self.actual = actual;
        self
    }

    /// Adds a JSON pointer.
    #[must_use]
    pub fn at(mut self, pointer: impl Into<String>) -> Self {
        self.json_pointer = Some(pointer.into());
        self
    }

    /// Whether this result fails its step.
    pub fn fails_step(&self) -> bool {
        !self.passed && !self.not_applicable && self.severity == Severity::Required
    }
}

/// Counts over the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Storyboards that passed.
    pub storyboards_passed: usize,
    /// Storyboards that failed.
    pub storyboards_failed: usize,
    /// Storyboards that did not apply.
    pub storyboards_not_applicable: usize,
    /// Steps that passed (warned included).
    pub steps_passed: usize,
    /// Steps that failed.
    pub steps_failed: usize,
    /// Steps skipped.
    pub steps_skipped: usize,
    /// Advisory validations that failed.
    pub validations_advisory_failed: usize,
}

impl Summary {
    /// Counts `storyboards`.
    pub fn of(storyboards: &[StoryboardResult]) -> Self {
        let mut summary = Self::default();
        for storyboard in storyboards {
            match storyboard.outcome {
                Outcome::Passed => summary.storyboards_passed += 1,
                Outcome::Failed => summary.storyboards_failed += 1,
                Outcome::NotApplicable => summary.storyboards_not_applicable += 1,
            }
            for step in &storyboard.steps {
                match step.status {
                    StepStatus::Passed | StepStatus::Warned => summary.steps_passed += 1,
                    StepStatus::Failed => summary.steps_failed += 1,
                    StepStatus::Skipped => summary.steps_skipped += 1,
                }
                summary.validations_advisory_failed += step
                    .validations
                    .iter()
                    .filter(|v| !v.passed && !v.not_applicable && v.severity == Severity::Advisory)
                    .count();
            }
        }
        summary
    }
}

impl Report {
    /// Whether no storyboard failed.
    pub fn passed(&self) -> bool {
        self.summary.storyboards_failed == 0
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// A per-step table followed by a per-storyboard summary, for terminals.
    pub fn to_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "AdCP conformance against {} over {} (AdCP {})",
            self.agent_url, self.protocol, self.adcp_version
        );
        if let Some(error) = &self.agent.error {
            let _ = writeln!(out, "agent discovery: {error}");
        }
        if self.whole_agent {
            let _ = writeln!(
                out,
                "whole-agent assessment: protocols {:?}, specialisms {:?}",
                self.agent.supported_protocols, self.agent.specialisms
            );
        }
        for storyboard in &self.storyboards {
            let needed_by = storyboard
                .needed_by
                .as_deref()
                .map(|slug| format!(" (needed by specialism {slug})"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "\n== {} [{}] {}{needed_by}",
                storyboard.id,
                outcome_label(storyboard.outcome),
                storyboard.title
            );
            if let Some(skip) = &storyboard.skip {
                let _ = writeln!(out, "   {}: {}", reason_label(skip.reason), skip.detail);
            }
            for step in &storyboard.steps {
                let _ = writeln!(
                    out,
                    "   {:<7} {:<28} {:<44} {}",
                    status_label(step.status),
                    truncate(&step.phase_id, 28),
                    truncate(&step.step_id, 44),
                    step_note(step)
                );
            }
        }
        let s = &self.summary;
        let _ = writeln!(
            out,
            "\n{} storyboards: {} passed, {} failed, {} not applicable; steps: {} passed, {} failed, {} skipped; {} advisory failures",
            self.storyboards.len(),
            s.storyboards_passed,
            s.storyboards_failed,
            s.storyboards_not_applicable,
            s.steps_passed,
            s.steps_failed,
            s.steps_skipped,
            s.validations_advisory_failed
        );
        out
    }

    /// The report as JUnit XML: one test suite per storyboard, one test case per step.
    pub fn to_junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites name=\"adcp-conformance\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">",
            self.summary.steps_passed + self.summary.steps_failed + self.summary.steps_skipped,
            self.summary.steps_failed,
            self.summary.steps_skipped,
            millis(self.duration_ms)
        );
        for storyboard in &self.storyboards {
            let failures = storyboard
                .steps
                .iter()
                .filter(|s| s.status == StepStatus::Failed)
                .count();
            let skipped = storyboard
                .steps
                .iter()
                .filter(|s| s.status == StepStatus::Skipped)
                .count();
            let _ = writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" time=\"{:.3}\">",
                xml(&storyboard.id),
                storyboard.steps.len().max(1),
                millis(storyboard.duration_ms)
            );
            if storyboard.steps.is_empty() {
                let detail = storyboard
                    .skip
                    .as_ref()
                    .map_or(String::new(), |s| s.detail.clone());
                let _ = writeln!(
                    out,
                    "    <testcase classname=\"{}\" name=\"(storyboard)\"><skipped message=\"{}\"/></testcase>",
                    xml(&storyboard.id),
                    xml(&detail)
                );
            }
            for step in &storyboard.steps {
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                    xml(&storyboard.id),
                    xml(&step.phase_id),
                    xml(&step.step_id),
                    millis(step.duration_ms)
                );
                match step.status {
                    StepStatus::Failed => {
                        let _ = writeln!(
                            out,
                            "><failure message=\"{}\">{}</failure></testcase>",
                            xml(&step_note(step)),
                            xml(&failure_details(step))
                        );
                    }
                    StepStatus::Skipped => {
                        let _ = writeln!(
                            out,
                            "><skipped message=\"{}\"/></testcase>",
                            xml(&step_note(step))
                        );
                    }
                    StepStatus::Passed | StepStatus::Warned => {
                        let _ = writeln!(out, "/>");
                    }
                }
            }
            let _ = writeln!(out, "  </testsuite>");
        }
        out.push_str("</testsuites>\n");
        out
    }
}

fn millis(ms: u64) -> f64 {
    // Durations in reports are far below f64's exact-integer range.
    #[allow(clippy::cast_precision_loss)]
    let seconds = ms as f64 / 1000.0;
    seconds
}

fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::NotApplicable => "N/A",
    }
}

fn status_label(status: StepStatus) -> &'static str {
    match status {
        StepStatus::Passed => "pass",
        StepStatus::Warned => "warn",
        StepStatus::Failed => "FAIL",
        StepStatus::Skipped => "skip",
    }
}

pub(crate) fn reason_label(reason: SkipReason) -> &'static str {
    match reason {
        SkipReason::NotApplicable => "not_applicable",
        SkipReason::NoPhases => "no_phases",
        SkipReason::PrerequisiteFailed => "prerequisite_failed",
        SkipReason::MissingTool => "missing_tool",
        SkipReason::MissingTestController => "missing_test_controller",
        SkipReason::UnsatisfiedContract => "unsatisfied_contract",
        SkipReason::PeerBranchTaken => "peer_branch_taken",
        SkipReason::RequirementUnmet => "requirement_unmet",
    }
}

/// One line saying why a step is not a plain pass.
fn step_note(step: &StepResult) -> String {
    if let Some(skip) = &step.skip {
        return format!("{}: {}", reason_label(skip.reason), skip.detail);
    }
    if let Some(error) = &step.error {
        return error.clone();
    }
    let failing: Vec<String> = step
        .validations
        .iter()
        .filter(|v| !v.passed && !v.not_applicable)
        .map(|v| {
            let advisory = if v.severity == Severity::Advisory {
                " (advisory)"
            } else {
                ""
            };
            format!(
                "{}{advisory}: {}",
                v.check,
                v.error.as_deref().unwrap_or("failed")
            )
        })
        .collect();
    if failing.is_empty() {
        let not_applicable = step.validations.iter().filter(|v| v.not_applicable).count();
        return if not_applicable > 0 {
            format!(
                "{} checks, {not_applicable} not applicable",
                step.validations.len()
            )
        } else {
            format!("{} checks", step.validations.len())
        };
    }
    failing.join("; ")
}

fn failure_details(step: &StepResult) -> String {
    let mut out = step_note(step);
    if let Some(request) = &step.request {
        let _ = write!(out, "\nrequest: {request}");
    }
    if let Some(response) = &step.response {
        let _ = write!(out, "\nresponse: {response}");
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut failed = StepResult::skipped(
            "p",
            "s2",
            "get_products",
            SkipReason::MissingTool,
            String::new(),
        );
        failed.status = StepStatus::Failed;
        failed.skip = None;
        failed.validations = vec![ValidationResult::fail(
            "field_value",
            None,
            "Expected 1, got 2 <&>",
        )];
        let storyboards = vec![
            StoryboardResult {
                id: "a".into(),
                title: "A".into(),
                path: "a.yaml".into(),
                outcome: Outcome::Failed,
                skip: None,
                needed_by: Some("sales-x".into()),
                steps: vec![
                    StepResult::skipped("p", "s1", "t", SkipReason::MissingTool, "needs x".into()),
                    failed,
                ],
                duration_ms: 5,
            },
            StoryboardResult {
                id: "b".into(),
                title: "B".into(),
                path: "b.yaml".into(),
                outcome: Outcome::NotApplicable,
                skip: Some(Skip {
                    reason: SkipReason::NotApplicable,
                    detail: "agent does not declare specialism x".into(),
                }),
                needed_by: None,
                steps: vec![],
                duration_ms: 0,
            },
        ];
        Report {
            runner: "adcp-conformance",
            runner_version: "0",
            adcp_version: "3.1.0-rc.9",
            agent_url: "http://127.0.0.1:1/mcp".into(),
            protocol: "mcp",
            whole_agent: true,
            started_at: "now".into(),
            duration_ms: 5,
            agent: AgentProfile::default(),
            summary: Summary::of(&storyboards),
            storyboards,
        }
    }

    #[test]
    fn table_json_and_junit_name_every_outcome() {
        let report = sample();
        assert!(!report.passed());
        assert_eq!(report.summary.storyboards_failed, 1);
        assert_eq!(report.summary.storyboards_not_applicable, 1);
        let table = report.to_table();
        assert!(table.contains("[FAIL]"));
        assert!(table.contains("(needed by specialism sales-x)"));
        assert!(table.contains("whole-agent assessment"));
        assert!(table.contains("missing_tool: needs x"));
        assert!(table.contains("agent does not declare specialism x"));
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["storyboards"][1]["outcome"], "not_applicable");
        let junit = report.to_junit();
        assert!(
            junit.contains("<failure message=\"field_value: Expected 1, got 2 &lt;&amp;&gt;\">")
        );
        assert!(junit.contains("<skipped message=\"agent does not declare specialism x\"/>"));
    }
}
