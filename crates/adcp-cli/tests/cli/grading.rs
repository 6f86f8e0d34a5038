//! `assess` and `storyboard run`: storyboards written here (and, when the compliance tree sits
//! beside the workspace, one of the protocol's own) graded against the seller, the JSON report
//! parsed, the exit status following the outcome.

use std::path::PathBuf;

use crate::support::{TOKEN, TempDir, adcp, seller};

/// A storyboard the seller passes: capabilities with the context echoed, then wholesale
/// products.
const PASSING: &str = r#"
id: cli_smoke
version: "1.0.0"
title: "adcp command smoke test"
category: capability_discovery
phases:
  - id: discovery
    title: "Discovery"
    steps:
      - id: capabilities
        title: "Read the capabilities"
        task: get_adcp_capabilities
        stateful: false
        sample_request:
          context:
            correlation_id: "cli-smoke-1"
        validations:
          - check: field_present
            path: "adcp.major_versions"
            description: "Declares its major versions"
          - check: field_value
            path: "context.correlation_id"
            value: "cli-smoke-1"
            description: "Echoes the context"
      - id: wholesale
        title: "Wholesale products"
        task: get_products
        stateful: false
        sample_request:
          buying_mode: wholesale
          account:
            brand:
              domain: acme.example
            operator: acme.example
        validations:
          - check: field_present
            path: "products"
            description: "Lists products"
"#;

/// A storyboard the seller fails: it declares major version 3, not 2.
const FAILING: &str = r#"
id: cli_wrong_version
title: "expects AdCP 2"
phases:
  - id: discovery
    steps:
      - id: capabilities
        task: get_adcp_capabilities
        stateful: false
        validations:
          - check: field_value
            path: "adcp.major_versions[0]"
            value: 2
            description: "Declares major version 2"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assess_grades_every_universal_storyboard_and_reports_json_and_junit() {
    let seller = seller().await;
    let compliance = TempDir::new("compliance");
    compliance.write("universal/cli-smoke.yaml", PASSING);
    let junit = compliance.file("junit.xml");
    let run = adcp(&[
        "assess",
        &seller.url,
        "--auth",
        TOKEN,
        "--compliance-dir",
        compliance.0.to_str().unwrap(),
        "--json",
        "--junit",
        &junit,
        "--skip-rate-limit-trip",
    ])
    .await;
    let report = run.expect(0).json();
    assert_eq!(report["agent_url"], seller.url.as_str());
    assert_eq!(report["whole_agent"], true, "assess grades the whole agent");
    assert_eq!(
        report["storyboards"].as_array().unwrap().len(),
        1,
        "{report}"
    );
    let storyboard = &report["storyboards"][0];
    assert_eq!(storyboard["id"], "cli_smoke");
    assert_eq!(storyboard["outcome"], "passed", "{storyboard}");
    assert_eq!(report["summary"]["steps_passed"], 2, "{report}");
    assert_eq!(report["summary"]["storyboards_failed"], 0);
    assert!(
        report["agent"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "get_products")
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"cli_smoke\""), "{xml}");
    // Not a terminal: plain progress lines on standard error.
    // Not a terminal: a plain line per graded storyboard, with the running counts.
    assert!(
        run.stderr
            .contains("PASS storyboard cli_smoke (1/1 graded: 1 passed, 0 failed, 0 n/a)"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_storyboard_exits_1_and_a_passing_table_ends_in_pass() {
    let seller = seller().await;
    let dir = TempDir::new("storyboards");
    let failing = dir.write("wrong-version.yaml", FAILING);
    let passing = dir.write("smoke.yaml", PASSING);
    let run = adcp(&[
        "storyboard",
        "run",
        &seller.url,
        "--file",
        &failing,
        "--auth",
        TOKEN,
        "--json",
    ])
    .await;
    let report = run.expect(1).json();
    assert_eq!(report["storyboards"][0]["outcome"], "failed", "{report}");
    let check = &report["storyboards"][0]["steps"][0]["validations"][0];
    assert_eq!(check["passed"], false, "{check}");

    let table = adcp(&[
        "storyboard",
        "run",
        &seller.url,
        "--file",
        &passing,
        "--auth",
        TOKEN,
    ])
    .await;
    table.expect(0);
    assert!(
        table.stdout.contains("== cli_smoke [PASS]"),
        "{}",
        table.stdout
    );
    assert_eq!(
        table.stdout.trim_end().lines().last(),
        Some("PASS"),
        "{}",
        table.stdout
    );

    let nothing = adcp(&["storyboard", "run", &seller.url]).await;
    nothing.expect(2);
    assert!(nothing.stderr.contains("adcp assess"), "{}", nothing.stderr);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = adcp(&[
        "storyboard",
        "run",
        &format!("http://127.0.0.1:{port}/mcp"),
        "--file",
        &passing,
    ])
    .await;
    gone.expect(2);
    assert!(gone.stderr.contains("cannot reach"), "{}", gone.stderr);
}

/// The protocol's compliance tree, when it sits beside the workspace.
fn compliance_tree() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compliance")
        .join(adcp_types::ADCP_VERSION);
    dir.join("universal/capability-discovery.yaml")
        .is_file()
        .then_some(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_protocols_capability_discovery_storyboard_runs_by_id() {
    let Some(tree) = compliance_tree() else {
        eprintln!(
            "skipped: no compliance tree at ../shared/compliance/{}",
            adcp_types::ADCP_VERSION
        );
        return;
    };
    let seller = seller().await;
    let run = adcp(&[
        "storyboard",
        "run",
        &seller.url,
        "capability_discovery",
        "--auth",
        TOKEN,
        "--compliance-dir",
        tree.to_str().unwrap(),
        "--json",
    ])
    .await;
    let report = run.json();
    let storyboard = report["storyboards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "capability_discovery")
        .unwrap_or_else(|| panic!("capability_discovery ran: {report}"));
    // Every field check of the discovery step passes (response_schema needs the schema folder,
    // which a fresh clone may not have materialised).
    let step = storyboard["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == "get_capabilities")
        .unwrap_or_else(|| panic!("{storyboard}"));
    for check in step["validations"].as_array().unwrap() {
        if check["check"] != "response_schema" {
            assert_eq!(check["passed"], true, "{check}");
        }
    }
    let expected = i32::from(storyboard["outcome"] != "passed");
    run.expect(expected);
}
