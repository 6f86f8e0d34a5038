//! Every storyboard the issue requires parses, and every check kind and runner task they use
//! is one this runner implements.

// Test helpers outside #[test] functions unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use adcp_conformance::catalog::{Catalog, default_compliance_dir};
use adcp_conformance::model::{CheckKind, Storyboard};

/// The storyboards issue 7 requires to pass, plus get_signals pagination (the demo's signals
/// side is paged by the server) and the controller's deterministic testing.
const MUST_PASS: [&str; 16] = [
    "domains/media-buy/scenarios/get_products_async.yaml",
    "domains/signals/scenarios/get_signals_async.yaml",
    "universal/webhook-emission.yaml",
    "universal/idempotency.yaml",
    "universal/error-compliance.yaml",
    "universal/error-compliance-signals.yaml",
    "universal/capability-discovery.yaml",
    "universal/schema-validation.yaml",
    "universal/schema-validation-signals.yaml",
    "universal/version-negotiation.yaml",
    "universal/v3-envelope-integrity.yaml",
    "universal/read-tool-idempotency.yaml",
    "universal/security.yaml",
    "universal/comply-controller-mode-gate.yaml",
    "universal/get-signals-pagination-integrity.yaml",
    "universal/deterministic-testing.yaml",
];

/// The specialism bundles issue 7 requires, as far as the seller implements their tools.
const BUNDLES: [&str; 2] = ["sales-non-guaranteed", "signal-owned"];

/// Runner tasks (non-tool steps) this runner implements.
const RUNNER_TASKS: [&str; 10] = [
    "assert_contribution",
    "protected_resource_metadata",
    "oauth_auth_server_metadata",
    "fetch_brand_jwks",
    "assert_jwks_purpose",
    "expect_webhook",
    "expect_webhook_retry_keys_stable",
    "expect_webhook_signature_valid",
    "expect_no_webhook",
    "expect_rate_limit_not_replayed",
];

/// The must-pass storyboards plus both bundles and their `requires_scenarios`.
fn required_storyboards(catalog: &Catalog) -> Vec<(PathBuf, Storyboard)> {
    let mut out = Vec::new();
    let mut queue: Vec<PathBuf> = MUST_PASS.iter().map(|p| catalog.root().join(p)).collect();
    queue.extend(BUNDLES.iter().map(|b| catalog.specialism_index(b)));
    let mut seen = BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let storyboard = Storyboard::load(&path).unwrap_or_else(|e| panic!("{e}"));
        for id in &storyboard.requires_scenarios {
            let scenario = catalog.path_of(id).unwrap_or_else(|| {
                panic!("{} requires {id}, which no file declares", storyboard.id)
            });
            queue.push(scenario.to_owned());
        }
        out.push((path, storyboard));
    }
    out
}

#[test]
fn every_required_storyboard_parses_and_uses_only_known_checks() {
    let catalog = Catalog::open(&default_compliance_dir()).unwrap();
    let storyboards = required_storyboards(&catalog);
    assert!(storyboards.len() >= MUST_PASS.len() + BUNDLES.len());
    let mut unknown = Vec::new();
    for (path, storyboard) in &storyboards {
        assert!(
            !storyboard.phases.is_empty(),
            "{} has no phases",
            path.display()
        );
        for kind in storyboard.check_kinds() {
            if let CheckKind::Unknown(name) = kind {
                unknown.push(format!("{} uses `{name}`", path.display()));
            }
        }
    }
    // The bundles' required scenarios reach beyond the must-pass set; the must-pass set
    // itself must be fully covered.
    let must_pass_unknown: Vec<&String> = unknown
        .iter()
        .filter(|u| {
            MUST_PASS
                .iter()
                .chain(BUNDLES.iter())
                .any(|m| u.contains(m))
        })
        .collect();
    assert!(
        must_pass_unknown.is_empty(),
        "unknown check kinds: {must_pass_unknown:#?}"
    );
    assert!(
        unknown.is_empty(),
        "check kinds in required scenarios this runner does not implement: {unknown:#?}"
    );
}

#[test]
fn every_task_in_the_must_pass_set_is_a_tool_or_a_runner_task() {
    let catalog = Catalog::open(&default_compliance_dir()).unwrap();
    let mut unknown = BTreeSet::new();
    for (path, storyboard) in required_storyboards(&catalog) {
        for step in storyboard.phases.iter().flat_map(|p| &p.steps) {
            let task = match step.task.strip_prefix("$test_kit.") {
                Some(_) => step.task_default.clone().unwrap_or_default(),
                None => step.task.clone(),
            };
            if adcp_types::manifest::tool(&task).is_none() && !RUNNER_TASKS.contains(&task.as_str())
            {
                unknown.insert(format!("{}: {task}", path.display()));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "tasks that are neither tools nor runner tasks: {unknown:#?}"
    );
}

#[test]
fn every_storyboard_in_the_compliance_tree_parses() {
    let catalog = Catalog::open(&default_compliance_dir()).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for dir in ["universal", "domains", "protocols", "specialisms"] {
        for file in catalog.storyboard_files(&catalog.root().join(dir)).unwrap() {
            count += 1;
            if let Err(e) = Storyboard::load(&file) {
                failures.push(e.to_string());
            }
        }
    }
    assert!(count > 100, "only {count} storyboards found");
    assert!(failures.is_empty(), "{failures:#?}");
}
