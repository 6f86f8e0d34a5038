//! `tools`, `call` (sync, `--wait`, `--webhook`), `capabilities`, and the one-line errors.

use serde_json::{Value, json};

use crate::support::{TOKEN, account, adcp, seller};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_lists_the_agents_tools_over_mcp_and_a2a() {
    let seller = seller().await;
    let listed = adcp(&["tools", &seller.url, "--auth", TOKEN, "--json"]).await;
    let names: Vec<String> = listed
        .expect(0)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n == "get_products"), "{names:?}");
    assert!(
        names.iter().any(|n| n == "get_adcp_capabilities"),
        "{names:?}"
    );

    let plain = adcp(&["tools", &seller.url, "--auth", TOKEN]).await;
    assert!(
        plain
            .expect(0)
            .stdout
            .lines()
            .any(|l| l.starts_with("get_products ")),
        "{}",
        plain.stdout
    );

    let a2a = format!("{}/a2a", seller.base);
    let skills = adcp(&["tools", &a2a, "--protocol", "a2a", "--json"]).await;
    assert!(
        skills.expect(0).stdout.contains("\"get_products\""),
        "{}",
        skills.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synchronous_call_prints_the_products() {
    let seller = seller().await;
    let arguments = json!({"buying_mode": "wholesale", "account": account()}).to_string();
    let reply = adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
        "--json",
    ])
    .await;
    let body = reply.expect(0).json();
    assert_eq!(
        body["products"][0]["product_id"], "homepage_display",
        "{body}"
    );
    assert_eq!(reply.stdout.lines().count(), 1, "--json prints one line");

    let pretty = adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
    ])
    .await;
    let first = pretty
        .expect(0)
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        first.starts_with("get_products → completed"),
        "{}",
        pretty.stdout
    );
    assert!(
        pretty
            .stdout
            .contains("\"product_id\": \"homepage_display\""),
        "{}",
        pretty.stdout
    );

    // Over A2A the same call returns the same products.
    let a2a = format!("{}/a2a", seller.base);
    let over_a2a = adcp(&[
        "call",
        &a2a,
        "get_products",
        &arguments,
        "--protocol",
        "a2a",
        "--auth",
        TOKEN,
        "--json",
    ])
    .await;
    assert_eq!(
        over_a2a.expect(0).json()["products"][0]["product_id"],
        "homepage_display"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_follows_a_handed_off_brief_to_completed() {
    let seller = seller().await;
    let arguments =
        json!({"buying_mode": "brief", "brief": "sports fans", "account": account()}).to_string();
    // Without --wait: the handoff itself, and a hint on how to follow it.
    let handed = adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
        "--json",
    ])
    .await;
    assert_eq!(handed.expect(0).json()["status"], "submitted");
    assert!(handed.stderr.contains("--wait"), "{}", handed.stderr);

    let waited = adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
        "--wait",
        "--json",
    ])
    .await;
    let last = waited.expect(0).json();
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(
        last["result"]["products"][0]["product_id"], "homepage_display",
        "{last}"
    );
    assert!(
        waited.stderr.contains("waiting for task"),
        "{}",
        waited.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_registers_a_loopback_receiver_and_verifies_what_arrives() {
    let seller = seller().await;
    let arguments =
        json!({"buying_mode": "brief", "brief": "sports fans", "account": account()}).to_string();
    let run = adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
        "--webhook",
        "--json",
        "--wait-timeout",
        "20",
    ])
    .await;
    run.expect(0);
    let hooks: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = hooks.last().expect("a webhook was printed");
    assert_eq!(last["verdict"], "pass", "{last}");
    assert_eq!(last["scheme"], "rfc9421");
    assert!(
        last["detail"]
            .as_str()
            .unwrap()
            .contains("cli-test-seller-1"),
        "{last}"
    );
    assert_eq!(last["payload"]["status"], "completed");
    assert!(
        run.stderr.contains("/.well-known/jwks.json"),
        "keys found through brand.json: {}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capabilities_are_readable_and_available_as_json() {
    let seller = seller().await;
    let readable = adcp(&["capabilities", &seller.url, "--auth", TOKEN]).await;
    let text = &readable.expect(0).stdout;
    assert!(text.starts_with("AdCP agent at"), "{text}");
    assert!(text.contains("supported_protocols  media_buy"), "{text}");
    assert!(text.contains("major_versions"), "{text}");
    let raw = adcp(&["capabilities", &seller.url, "--auth", TOKEN, "--json"]).await;
    assert_eq!(raw.expect(0).json()["adcp"]["major_versions"], json!([3]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_one_line_a_person_can_act_on() {
    let seller = seller().await;
    let one_line = |stderr: &str| {
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("{ "),
            "{stderr}"
        );
    };

    let anonymous = adcp(&["tools", &seller.url]).await;
    anonymous.expect(2);
    one_line(&anonymous.stderr);
    assert!(
        anonymous.stderr.contains("401")
            && anonymous.stderr.contains("Bearer")
            && anonymous.stderr.contains("--auth"),
        "{}",
        anonymous.stderr
    );

    let refused = adcp(&[
        "call",
        &seller.url,
        "get_products",
        "{}",
        "--auth",
        "wrong-token",
    ])
    .await;
    refused.expect(2);
    one_line(&refused.stderr);
    assert!(
        refused.stderr.contains("were refused"),
        "{}",
        refused.stderr
    );

    let not_agent = adcp(&[
        "capabilities",
        &format!("{}/nothing-here", seller.base),
        "--auth",
        TOKEN,
    ])
    .await;
    not_agent.expect(2);
    one_line(&not_agent.stderr);
    assert!(
        not_agent.stderr.contains("is not an AdCP agent"),
        "{}",
        not_agent.stderr
    );

    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let gone = adcp(&["tools", &format!("http://127.0.0.1:{port}/mcp")]).await;
    gone.expect(2);
    one_line(&gone.stderr);
    assert!(
        gone.stderr.contains("cannot reach") && gone.stderr.contains("connection refused"),
        "{}",
        gone.stderr
    );

    // The agent's own error is its answer: printed, exit 1.
    let invalid = adcp(&[
        "call",
        &seller.url,
        "get_products",
        r#"{"buying_mode": "auction"}"#,
        "--auth",
        TOKEN,
    ])
    .await;
    invalid.expect(1);
    assert!(invalid.stderr.contains("buying_mode"), "{}", invalid.stderr);
}
