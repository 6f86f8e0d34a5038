//! Whole runs against a small in-process agent: MCP streamable-HTTP JSON-RPC by hand, the same
//! tools as A2A skills (`SendMessage` at `/a2a`, the agent card at the older
//! `/.well-known/agent.json` path only), a demo API key on `list_creatives`, and RFC
//! 9421-signed webhooks (signed with the protocol's public test key, the signature base built
//! here independently of the runner's verifier).

// Test helpers outside #[test] functions unwrap too: a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use adcp_conformance::catalog::default_compliance_dir;
use adcp_conformance::client::AgentClient;
use adcp_conformance::report::{Outcome, SkipReason, StepStatus, StoryboardResult};
use adcp_conformance::{Protocol, Report, RunConfig};
use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::Signer as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

const DEMO_KEY: &str = "demo-acme-outdoor-v1";
const KID: &str = "test-ed25519-webhook-2026";

/// The tools (MCP) and skills (A2A) the mock advertises.
const TOOLS: [&str; 5] = [
    "get_adcp_capabilities",
    "get_products",
    "list_creatives",
    "create_media_buy",
    "comply_test_controller",
];

#[derive(Clone)]
struct Agent {
    base: String,
    key: Arc<ed25519_dalek::SigningKey>,
    public_x: String,
    deliveries: Arc<AtomicUsize>,
    /// idempotency_key → (request body without context, media_buy_id).
    media_buys: Arc<Mutex<HashMap<String, (Value, String)>>>,
    rate_limited_calls: Arc<AtomicUsize>,
    http: reqwest::Client,
    /// What `get_adcp_capabilities` declares in `specialisms`.
    specialisms: Arc<Vec<String>>,
}

fn test_key() -> (ed25519_dalek::SigningKey, String) {
    let keys: Value = serde_json::from_str(
        &std::fs::read_to_string(
            default_compliance_dir().join("test-vectors/webhook-signing/keys.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let key = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == KID)
        .unwrap();
    let d: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key["_private_d_for_test_only"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    (
        ed25519_dalek::SigningKey::from_bytes(&d),
        key["x"].as_str().unwrap().to_owned(),
    )
}

fn json_response(value: &Value) -> Response {
    ([("content-type", "application/json")], value.to_string()).into_response()
}

async fn start_agent() -> Agent {
    start_agent_declaring(&[]).await
}

/// The mock, declaring `specialisms` in its capabilities.
async fn start_agent_declaring(specialisms: &[&str]) -> Agent {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let (key, public_x) = test_key();
    let agent = Agent {
        base: format!("http://{addr}"),
        key: Arc::new(key),
        public_x,
        deliveries: Arc::new(AtomicUsize::new(0)),
        media_buys: Arc::new(Mutex::new(HashMap::new())),
        rate_limited_calls: Arc::new(AtomicUsize::new(0)),
        http: {
            adcp_conformance::install_tls_provider();
            reqwest::Client::new()
        },
        specialisms: Arc::new(specialisms.iter().map(|s| (*s).to_owned()).collect()),
    };
    let state = agent.clone();
    let a2a_state = agent.clone();
    let jwks = agent.clone();
    let brand = agent.clone();
    let app = Router::new()
        .route(
            "/mcp",
            post(move |headers: HeaderMap, body: Bytes| {
                let agent = state.clone();
                async move { agent.rpc(&headers, &body) }
            })
            .delete(|| async { StatusCode::OK }),
        )
        .route(
            "/a2a",
            post(move |headers: HeaderMap, body: Bytes| {
                let agent = a2a_state.clone();
                async move { agent.a2a(&headers, &body) }
            }),
        )
        .route(
            "/.well-known/agent.json",
            get(|| async {
                let skills: Vec<Value> = TOOLS
                    .iter()
                    .map(|t| json!({"id": t, "name": t, "description": t, "tags": []}))
                    .collect();
                json_response(&json!({"name": "mock-seller", "version": "0.0.0", "skills": skills}))
            }),
        )
        .route(
            "/.well-known/jwks.json",
            get(move || {
                let agent = jwks.clone();
                async move {
                    json_response(&json!({"keys": [{
                        "kid": KID, "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
                        "key_ops": ["verify"], "adcp_use": "webhook-signing", "x": agent.public_x
                    }]}))
                }
            }),
        )
        .route(
            "/.well-known/brand.json",
            get(move || {
                let agent = brand.clone();
                async move {
                    json_response(&json!({"agents": [{
                        "url": format!("{}/mcp", agent.base),
                        "jwks_uri": format!("{}/.well-known/jwks.json", agent.base)
                    }]}))
                }
            }),
        );
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    agent
}

impl Agent {
    fn rpc(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        let message: Value = serde_json::from_slice(body).unwrap();
        let id = message.get("id").cloned();
        let method = message["method"].as_str().unwrap_or_default();
        let result = match method {
            "initialize" => json!({
                "protocolVersion": message["params"]["protocolVersion"],
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "mock-seller", "version": "0.0.0"}
            }),
            "notifications/initialized" => return StatusCode::ACCEPTED.into_response(),
            "tools/list" => {
                let tools: Vec<Value> = TOOLS
                    .iter()
                    .map(|n| json!({"name": n, "inputSchema": {"type": "object"}}))
                    .collect();
                json!({ "tools": tools })
            }
            "tools/call" => {
                let name = message["params"]["name"].as_str().unwrap_or_default();
                let args = message["params"]["arguments"].clone();
                if name == "list_creatives"
                    && headers.get("authorization").and_then(|v| v.to_str().ok())
                        != Some(&format!("Bearer {DEMO_KEY}"))
                {
                    return (
                        StatusCode::UNAUTHORIZED,
                        [("www-authenticate", "Bearer realm=\"mock-seller\"")],
                        "unauthorized",
                    )
                        .into_response();
                }
                self.call(name, &args)
            }
            other => panic!("unexpected method {other}"),
        };
        let reply = json!({"jsonrpc": "2.0", "id": id, "result": result});
        (
            [
                ("content-type", "application/json"),
                ("mcp-session-id", "session-1"),
            ],
            reply.to_string(),
        )
            .into_response()
    }

    /// A2A `SendMessage`: the skill call answered as an A2A 1.0 task, the AdCP body in the
    /// status message for `submitted` and in the `result` artifact otherwise; a refused
    /// credential is a 401 whose JSON-RPC error has a null id.
    fn a2a(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        let message: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(message["method"], "SendMessage", "{message}");
        assert_eq!(headers.get("a2a-version").unwrap(), "1.0");
        let id = message["id"].clone();
        let call = &message["params"]["message"]["parts"][0]["data"];
        let name = call["skill"].as_str().unwrap();
        if name == "list_creatives"
            && headers.get("authorization").and_then(|v| v.to_str().ok())
                != Some(&format!("Bearer {DEMO_KEY}"))
        {
            let refusal = json!({"jsonrpc": "2.0", "id": null, "error": {
                "code": -32001,
                "message": "authentication required",
                "data": {"adcp_error": {"code": "AUTH_MISSING", "message": "no valid credential", "recovery": "correctable"}}
            }});
            return (
                StatusCode::UNAUTHORIZED,
                [
                    ("www-authenticate", "Bearer realm=\"mock-seller\""),
                    ("content-type", "application/json"),
                ],
                refusal.to_string(),
            )
                .into_response();
        }
        let result = self.call(name, &call["parameters"]);
        let adcp = result["structuredContent"].clone();
        let parts = json!([{"data": adcp}]);
        let task_id = format!("a2a_{}", uuid::Uuid::new_v4().simple());
        let task = if adcp["status"] == "submitted" {
            json!({"id": task_id, "contextId": "ctx_mock", "status": {
                "state": "TASK_STATE_SUBMITTED",
                "message": {"role": "ROLE_AGENT", "messageId": task_id, "parts": parts}
            }})
        } else {
            let state = if result["isError"] == true {
                "TASK_STATE_FAILED"
            } else {
                "TASK_STATE_COMPLETED"
            };
            json!({"id": task_id, "contextId": "ctx_mock", "status": {"state": state},
                   "artifacts": [{"artifactId": "result", "name": "result", "parts": parts}]})
        };
        json_response(&json!({"jsonrpc": "2.0", "id": id, "result": {"task": task}}))
    }

    fn call(&self, name: &str, args: &Value) -> Value {
        match name {
            "create_media_buy" => return self.create_media_buy(args),
            "comply_test_controller" => {
                let body = match args["scenario"].as_str() {
                    Some("list_scenarios") => {
                        json!({"success": true, "scenarios": ["seed_product", "seed_pricing_option"]})
                    }
                    Some("seed_product" | "seed_pricing_option") => json!({"success": true}),
                    _ => json!({"success": false, "error": "UNKNOWN_SCENARIO"}),
                };
                return json!({"structuredContent": body, "content": [{"type": "text", "text": body.to_string()}]});
            }
            _ => {}
        }
        let context = args.get("context").cloned();
        let mut body = match name {
            "get_adcp_capabilities" => json!({
                "status": "completed",
                "adcp_version": "3.1",
                "adcp": {
                    "major_versions": [3],
                    "supported_versions": ["3.1"],
                    "idempotency": {"supported": true, "replay_ttl_seconds": 86400}
                },
                "supported_protocols": ["media_buy"],
                "specialisms": *self.specialisms,
                "identity": {"brand_json_url": "https://mock-seller.example/.well-known/brand.json"}
            }),
            "list_creatives" => json!({
                "status": "completed",
                "query_summary": {"total_matching": 0, "returned": 0},
                "pagination": {"has_more": false},
                "creatives": []
            }),
            _ if args.get("adcp_major_version") == Some(&json!(99)) => {
                let error = json!({"code": "VERSION_UNSUPPORTED", "message": "major 99 is not supported", "recovery": "correctable"});
                let mut body = json!({"adcp_error": error, "errors": [error], "status": "failed"});
                if let Some(context) = context {
                    body["context"] = context;
                }
                return json!({"isError": true, "structuredContent": body, "content": [{"type": "text", "text": body.to_string()}]});
            }
            _ => {
                if let Some(config) = args.get("push_notification_config") {
                    self.emit(config.clone());
                    json!({"status": "submitted", "task_id": "task_mock_1"})
                } else {
                    json!({"status": "completed", "cache_scope": "public", "products": []})
                }
            }
        };
        if let Some(context) = context {
            body["context"] = context;
        }
        json!({"structuredContent": body, "content": [{"type": "text", "text": body.to_string()}]})
    }

    /// Idempotent creates (first insert wins), past flights refused, and one RATE_LIMITED on
    /// the third create for `ratelimit.example`, which is not cached for its key.
    fn create_media_buy(&self, args: &Value) -> Value {
        let error = |code: &str| {
            let error = json!({"code": code, "message": code, "recovery": "correctable", "details": {"retry_after": 1}});
            let body = json!({"adcp_error": error, "errors": [error], "status": "failed", "context": args.get("context")});
            json!({"isError": true, "structuredContent": body, "content": [{"type": "text", "text": body.to_string()}]})
        };
        let Some(key) = args["idempotency_key"].as_str() else {
            return error("INVALID_REQUEST");
        };
        let start =
            chrono::DateTime::parse_from_rfc3339(args["start_time"].as_str().unwrap_or_default());
        if start.is_ok_and(|s| s < chrono::Utc::now()) {
            return error("INVALID_REQUEST");
        }
        if args["brand"]["domain"] == "ratelimit.example"
            && self.rate_limited_calls.fetch_add(1, Ordering::SeqCst) == 2
        {
            return error("RATE_LIMITED");
        }
        let mut fingerprint = args.clone();
        fingerprint.as_object_mut().unwrap().remove("context");
        let mut store = self.media_buys.lock().unwrap();
        let (id, replayed) = match store.get(key) {
            Some((seen, _)) if *seen != fingerprint => return error("IDEMPOTENCY_CONFLICT"),
            Some((_, id)) => (id.clone(), true),
            None => {
                let id = format!("mb_{}", store.len() + 1);
                store.insert(key.to_owned(), (fingerprint, id.clone()));
                (id, false)
            }
        };
        let mut body = json!({"status": "completed", "media_buy_id": id, "packages": [], "replayed": replayed});
        if let Some(context) = args.get("context") {
            body["context"] = context.clone();
        }
        json!({"structuredContent": body, "content": [{"type": "text", "text": body.to_string()}]})
    }

    /// Delivers one signed completion webhook, retrying on 5xx with the same key and a fresh nonce.
    fn emit(&self, config: Value) {
        let agent = self.clone();
        tokio::spawn(async move {
            let url = config["url"].as_str().unwrap().to_owned();
            let payload = json!({
                "idempotency_key": format!("whk_{}", uuid::Uuid::new_v4().simple()),
                "operation_id": config["operation_id"],
                "task_id": "task_mock_1",
                "task_type": "get_products",
                "protocol": "media-buy",
                "status": "completed",
                "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "result": {"status": "completed", "products": [], "cache_scope": "public"}
            })
            .to_string();
            for _ in 0..6 {
                let response = agent.signed_post(&url, &payload).await;
                agent.deliveries.fetch_add(1, Ordering::SeqCst);
                if response.is_success() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
    }

    async fn signed_post(&self, url: &str, body: &str) -> StatusCode {
        let parsed = url::Url::parse(url).unwrap();
        let authority = format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap());
        let digest = format!(
            "sha-256=:{}:",
            STANDARD.encode(Sha256::digest(body.as_bytes()))
        );
        let created = chrono::Utc::now().timestamp();
        let nonce = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
        let params = format!(
            "(\"@method\" \"@target-uri\" \"@authority\" \"content-type\" \"content-digest\");created={created};expires={};nonce=\"{nonce}\";keyid=\"{KID}\";alg=\"ed25519\";tag=\"adcp/webhook-signing/v1\"",
            created + 300
        );
        let base = format!(
            "\"@method\": POST\n\"@target-uri\": {url}\n\"@authority\": {authority}\n\"content-type\": application/json\n\"content-digest\": {digest}\n\"@signature-params\": {params}"
        );
        let signature = URL_SAFE_NO_PAD.encode(self.key.sign(base.as_bytes()).to_bytes());
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("content-digest", digest)
            .header("signature-input", format!("sig1={params}"))
            .header("signature", format!("sig1=:{signature}:"))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        StatusCode::from_u16(response.status().as_u16()).unwrap()
    }
}

fn config(agent: &Agent, storyboards: Vec<PathBuf>) -> RunConfig {
    config_over(Protocol::Mcp, agent, storyboards)
}

/// A run over `protocol`, at the mock's endpoint for it.
fn config_over(protocol: Protocol, agent: &Agent, storyboards: Vec<PathBuf>) -> RunConfig {
    let path = match protocol {
        Protocol::A2a => "a2a",
        _ => "mcp",
    };
    let mut config = RunConfig::new(&format!("{}/{path}", agent.base));
    config.protocol = protocol;
    config.storyboards = storyboards;
    config.webhook_settle = Duration::from_millis(500);
    config.request_timeout = Duration::from_secs(10);
    config
}

fn storyboard<'r>(report: &'r Report, id: &str) -> &'r StoryboardResult {
    report
        .storyboards
        .iter()
        .find(|s| s.id == id)
        .unwrap_or_else(|| panic!("{id} not in report"))
}

fn write_storyboard(name: &str, yaml: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "adcp-conformance-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test]
async fn universal_storyboards_grade_a_conformant_mock() {
    universal_storyboards_grade_a_conformant_mock_over(Protocol::Mcp).await;
}

#[tokio::test]
async fn universal_storyboards_grade_a_conformant_mock_over_a2a() {
    universal_storyboards_grade_a_conformant_mock_over(Protocol::A2a).await;
}

async fn universal_storyboards_grade_a_conformant_mock_over(protocol: Protocol) {
    let agent = start_agent().await;
    let report = adcp_conformance::run(&config_over(
        protocol,
        &agent,
        vec![
            "universal/capability-discovery.yaml".into(),
            "universal/v3-envelope-integrity.yaml".into(),
            "universal/version-negotiation.yaml".into(),
            "universal/security.yaml".into(),
            "specialisms/signal-owned/index.yaml".into(),
        ],
    ))
    .await
    .unwrap();
    let table = report.to_table();
    for id in [
        "capability_discovery",
        "v3_envelope_integrity",
        "version_negotiation",
        "security_baseline",
    ] {
        assert_eq!(
            storyboard(&report, id).outcome,
            Outcome::Passed,
            "{id}\n{table}"
        );
    }
    let security = storyboard(&report, "security_baseline");
    let step = |id: &str| security.steps.iter().find(|s| s.step_id == id).unwrap();
    assert_eq!(step("probe_unauth").status, StepStatus::Passed, "{table}");
    assert_eq!(
        step("probe_invalid_api_key").status,
        StepStatus::Passed,
        "{table}"
    );
    assert_eq!(
        step("probe_basic").skip.as_ref().unwrap().reason,
        SkipReason::NotApplicable
    );
    assert_eq!(
        step("assert_mechanism").status,
        StepStatus::Passed,
        "{table}"
    );
    let signal_owned = storyboard(&report, "signal_owned");
    assert_eq!(signal_owned.outcome, Outcome::NotApplicable, "{table}");
    assert!(
        signal_owned
            .skip
            .as_ref()
            .unwrap()
            .detail
            .contains("signal-owned"),
        "{table}"
    );
    assert!(report.passed(), "{table}");
}

#[tokio::test]
async fn webhooks_are_observed_retried_and_signature_checked() {
    webhooks_are_observed_retried_and_signature_checked_over(Protocol::Mcp).await;
}

#[tokio::test]
async fn webhooks_are_observed_retried_and_signature_checked_over_a2a() {
    webhooks_are_observed_retried_and_signature_checked_over(Protocol::A2a).await;
}

async fn webhooks_are_observed_retried_and_signature_checked_over(protocol: Protocol) {
    let agent = start_agent().await;
    let path = write_storyboard(
        "webhooks.yaml",
        r#"
id: mock/webhooks
title: "Webhook assertions against the mock"
prerequisites:
  test_kit: "test-kits/acme-outdoor.yaml"
phases:
  - id: keys
    steps:
      - id: fetch
        task: fetch_brand_jwks
      - id: purpose
        task: assert_jwks_purpose
  - id: trigger
    steps:
      - id: discover
        task: get_products
        stateful: true
        context_outputs:
          - name: task_id
            path: task_id
        sample_request:
          buying_mode: brief
          brief: "anything"
          push_notification_config:
            url: "{{runner.webhook_url:discover}}"
            operation_id: "op_mock"
          context:
            correlation_id: "mock--discover"
        validations:
          - check: field_value
            path: status
            value: submitted
          - check: field_value
            path: context.correlation_id
            value: "mock--discover"
      - id: arrived
        task: expect_webhook
        triggered_by: discover
        filter:
          body:
            operation_id: "op_mock"
            task_id: "$context.task_id"
            result.cache_scope: "public"
        timeout_seconds: 10
        expect_idempotency_key: true
        webhook_payload_schema_ref: "core/mcp-webhook-payload.json"
        stateful: true
      - id: stable
        task: expect_webhook_retry_keys_stable
        triggered_by: discover
        filter:
          body:
            operation_id: "op_mock"
        retry_trigger:
          count: 2
          http_status: 503
        timeout_seconds: 10
        expect_min_deliveries: 2
        stateful: true
      - id: signed
        task: expect_webhook_signature_valid
        triggered_by: discover
        filter:
          body:
            operation_id: "op_mock"
        timeout_seconds: 10
        stateful: true
"#,
    );
    let report = adcp_conformance::run(&config_over(protocol, &agent, vec![path]))
        .await
        .unwrap();
    let table = report.to_table();
    let result = storyboard(&report, "mock/webhooks");
    assert_eq!(
        result.outcome,
        Outcome::Passed,
        "{table}\n{}",
        report.to_json()
    );
    assert!(
        agent.deliveries.load(Ordering::SeqCst) >= 3,
        "two refused deliveries, then one accepted"
    );
    let stable = result.steps.iter().find(|s| s.step_id == "stable").unwrap();
    assert!(
        stable
            .validations
            .iter()
            .filter(|v| v.check == "webhook_signature")
            .count()
            >= 3,
        "{table}"
    );
}

#[tokio::test]
async fn failures_are_loud_and_dependents_are_skipped_with_reasons() {
    let agent = start_agent().await;
    let path = write_storyboard(
        "failures.yaml",
        r#"
id: mock/failures
prerequisites:
  test_kit: "test-kits/acme-outdoor.yaml"
phases:
  - id: first
    steps:
      - id: wrong_value
        task: get_adcp_capabilities
        stateful: true
        context_outputs:
          - name: never
            path: does.not.exist
        validations:
          - check: field_value
            path: supported_protocols[0]
            value: signals
      - id: unknown_check
        task: get_adcp_capabilities
        validations:
          - check: field_vibes
            path: adcp
      - id: uses_missing_capture
        task: get_products
        sample_request:
          buying_mode: brief
          brief: "$context.never"
      - id: not_a_tool
        task: teleport_media_buy
  - id: second
    steps:
      - id: cascaded
        task: get_products
        stateful: true
        sample_request:
          buying_mode: brief
          brief: "x"
"#,
    );
    let report = adcp_conformance::run(&config(&agent, vec![path]))
        .await
        .unwrap();
    let table = report.to_table();
    let result = storyboard(&report, "mock/failures");
    assert_eq!(result.outcome, Outcome::Failed, "{table}");
    assert!(!report.passed());
    let step = |id: &str| result.steps.iter().find(|s| s.step_id == id).unwrap();
    assert_eq!(step("wrong_value").status, StepStatus::Failed, "{table}");
    let unknown = step("unknown_check");
    assert_eq!(unknown.status, StepStatus::Failed, "{table}");
    assert!(
        unknown.validations[0]
            .error
            .as_ref()
            .unwrap()
            .contains("field_vibes"),
        "{table}"
    );
    let dependent = step("uses_missing_capture");
    assert_eq!(
        dependent.skip.as_ref().unwrap().reason,
        SkipReason::PrerequisiteFailed,
        "{table}"
    );
    assert!(
        dependent
            .skip
            .as_ref()
            .unwrap()
            .detail
            .contains("wrong_value"),
        "{table}"
    );
    assert_eq!(step("not_a_tool").status, StepStatus::Failed, "{table}");
    assert_eq!(
        step("cascaded").skip.as_ref().unwrap().reason,
        SkipReason::PrerequisiteFailed,
        "{table}"
    );
    let junit = report.to_junit();
    assert!(junit.contains("field_vibes"));
}

/// Seeding, a parallel dispatch, an any-of branch set, and the rate-limit trip.
const IDEMPOTENCY_STORYBOARD: &str = r#"
id: mock/idempotency
prerequisites:
  test_kit: "test-kits/acme-outdoor.yaml"
  controller_seeding: true
fixtures:
  products:
    - product_id: p1
      delivery_type: non_guaranteed
  pricing_options:
    - product_id: p1
      pricing_option_id: po1
      pricing_model: cpm
phases:
  - id: concurrent
    steps:
      - id: concurrent_create
        task: create_media_buy
        requires_contract: parallel_dispatch_runner
        parallel_dispatch:
          count: 3
          same_idempotency_key: true
        sample_request:
          idempotency_key: "$generate:uuid_v4#k"
          account: {brand: {domain: acmeoutdoor.example}, operator: pinnacle-agency.example}
          brand: {domain: acmeoutdoor.example}
          start_time: "2026-07-01T00:00:00Z"
          end_time: "2026-07-31T23:59:59Z"
          packages: [{product_id: p1, budget: 5000, pricing_option_id: po1}]
        validations:
          - check: cross_response_count_distinct
            path: media_buy_id
            allowed_values: [1]
          - check: cross_response_field_equal
            path: media_buy_id
  - id: reject_path
    optional: true
    branch_set: {id: handled, semantics: any_of}
    steps:
      - id: reject
        task: create_media_buy
        expect_error: true
        contributes: true
        sample_request:
          idempotency_key: "$generate:uuid_v4#r"
          brand: {domain: acmeoutdoor.example}
          start_time: "2099-01-01T00:00:00Z"
          end_time: "2099-02-01T00:00:00Z"
        validations:
          - check: error_code
            value: INVALID_REQUEST
  - id: accept_path
    optional: true
    branch_set: {id: handled, semantics: any_of}
    steps:
      - id: accept
        task: create_media_buy
        contributes: true
        sample_request:
          idempotency_key: "$generate:uuid_v4#a"
          brand: {domain: acmeoutdoor.example}
          start_time: "2099-01-01T00:00:00Z"
          end_time: "2099-02-01T00:00:00Z"
        validations:
          - check: field_present
            path: media_buy_id
  - id: assert
    steps:
      - id: assert_handled
        task: assert_contribution
        validations:
          - check: any_of
            allowed_values: [handled]
  - id: rate
    steps:
      - id: trip
        task: expect_rate_limit_not_replayed
        requires_contract: rate_limit_trip_runner
        rate_limit_trip:
          trip_target_task: create_media_buy
          max_attempts: 50
          trip_target_sample_request:
            brand: {domain: ratelimit.example}
            start_time: "2099-01-01T00:00:00Z"
            end_time: "2099-02-01T00:00:00Z"
        validations:
          - check: replay_not_cached_rate_limit
"#;

#[tokio::test]
async fn seeding_parallel_dispatch_branch_sets_and_rate_limit_trip() {
    let agent = start_agent().await;
    let path = write_storyboard("idempotency.yaml", IDEMPOTENCY_STORYBOARD);
    let report = adcp_conformance::run(&config(&agent, vec![path]))
        .await
        .unwrap();
    let table = report.to_table();
    let result = storyboard(&report, "mock/idempotency");
    assert_eq!(
        result.outcome,
        Outcome::Passed,
        "{table}\n{}",
        report.to_json()
    );
    let step = |id: &str| result.steps.iter().find(|s| s.step_id == id).unwrap();
    assert_eq!(
        step("seed_product.p1").status,
        StepStatus::Passed,
        "{table}"
    );
    assert_eq!(
        step("seed_pricing_option.p1.po1").status,
        StepStatus::Passed,
        "{table}"
    );
    let concurrent = step("concurrent_create");
    assert!(
        concurrent.notes.iter().any(|n| n.contains("start_time")),
        "stale dates are moved: {table}"
    );
    assert_eq!(
        step("reject").skip.as_ref().unwrap().reason,
        SkipReason::PeerBranchTaken,
        "{table}"
    );
    assert_eq!(step("accept").status, StepStatus::Passed, "{table}");
    let trip = step("trip");
    assert_eq!(trip.status, StepStatus::Passed, "{table}");
    assert!(
        trip.notes
            .iter()
            .any(|n| n.contains("RATE_LIMITED on attempt 3")),
        "{table}"
    );
    // One buy for the three parallel dispatches, one each for the two branch steps (the mock
    // accepts what the reject branch expected refused), two before the burst tripped, and the
    // replay after retry_after: the trip was not cached.
    assert_eq!(agent.media_buys.lock().unwrap().len(), 6);
}

#[tokio::test]
async fn the_a2a_client_reads_the_card_and_maps_tasks_and_refusals() {
    let agent = start_agent().await;
    let client = AgentClient::with_protocol(
        &format!("{}/a2a", agent.base),
        Duration::from_secs(10),
        Protocol::A2a,
    );
    assert_eq!(client.list_tools(None).await.unwrap(), TOOLS);
    let capabilities = client
        .call_tool(None, "get_adcp_capabilities", &json!({}))
        .await
        .unwrap();
    assert!(capabilities.succeeded(), "{capabilities:?}");
    assert_eq!(
        capabilities.data().unwrap()["supported_protocols"],
        json!(["media_buy"])
    );
    assert_eq!(
        capabilities.a2a_task.unwrap().state.as_deref(),
        Some("TASK_STATE_COMPLETED")
    );
    let refused = client
        .call_tool(None, "list_creatives", &json!({}))
        .await
        .unwrap();
    assert!(!refused.succeeded());
    assert_eq!(
        refused.data().unwrap()["adcp_error"]["code"],
        "AUTH_MISSING",
        "{refused:?}"
    );
    let accepted = client
        .call_tool(Some(DEMO_KEY), "list_creatives", &json!({}))
        .await
        .unwrap();
    assert!(accepted.succeeded(), "{accepted:?}");
    let (http, response) = adcp_conformance::probe::raw_call(
        Protocol::A2a,
        &adcp_conformance::probe::http_client(Duration::from_secs(10)),
        client.url(),
        Some("Bearer wrong"),
        "list_creatives",
        &json!({}),
    )
    .await;
    assert_eq!(http.status, 401);
    assert!(http.headers.contains_key("www-authenticate"));
    assert!(response.is_some_and(|r| r.rpc_error.is_some()));
    let unreachable = AgentClient::with_protocol(
        "http://127.0.0.1:9/a2a",
        Duration::from_secs(5),
        Protocol::A2a,
    );
    let error = unreachable.list_tools(None).await.unwrap_err().to_string();
    assert!(
        error.contains("/.well-known/agent-card.json") && error.contains("/.well-known/agent.json"),
        "{error}"
    );
}

/// A compliance folder of small storyboards: two universal ones (one gated on a capability
/// the mock lacks), a claimed specialism's bundle requiring a tool the mock does not advertise
/// and two scenarios (one gated on an undeclared capability, one with a step needing a missing
/// tool), and an unclaimed specialism whose scenario must not be pulled in.
fn claims_compliance_root() -> PathBuf {
    let root = std::env::temp_dir().join(format!(
        "adcp-conformance-claims-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let capabilities_step =
        "phases:\n  - id: p\n    steps:\n      - id: caps\n        task: get_adcp_capabilities\n";
    let files = [
        (
            "universal/plain.yaml",
            format!("id: mock/plain\n{capabilities_step}"),
        ),
        (
            "universal/gated.yaml",
            format!(
                "id: mock/gated_universal\nrequires_capability:\n  path: media_buy.reach_metrics\n  present: true\n{capabilities_step}"
            ),
        ),
        (
            "specialisms/sales-non-guaranteed/index.yaml",
            format!(
                "id: mock_bundle\nprotocol: media-buy\nrequired_tools: [get_products, sync_governance]\nrequires_scenarios: [mock/needed_gated, mock/needed_tool]\n{capabilities_step}"
            ),
        ),
        (
            "domains/media-buy/scenarios/needed_gated.yaml",
            format!(
                "id: mock/needed_gated\nrequires_capability:\n  path: media_buy.audience_targeting\n  present: true\n{capabilities_step}"
            ),
        ),
        (
            "domains/media-buy/scenarios/needed_tool.yaml",
            format!(
                "id: mock/needed_tool\n{capabilities_step}      - id: accounts\n        task: sync_accounts\n        sample_request:\n          accounts: []\n"
            ),
        ),
        (
            "specialisms/signal-owned/index.yaml",
            format!(
                "id: mock_unclaimed\nrequires_scenarios: [mock/only_unclaimed]\n{capabilities_step}"
            ),
        ),
        (
            "domains/media-buy/scenarios/only_unclaimed.yaml",
            format!("id: mock/only_unclaimed\n{capabilities_step}"),
        ),
    ];
    for (path, yaml) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, yaml).unwrap();
    }
    root
}

/// Counts what an observer is told.
#[derive(Default)]
struct Counting {
    started: AtomicUsize,
    steps: AtomicUsize,
    finished: Mutex<Vec<(String, Outcome)>>,
}

impl adcp_conformance::Observer for Counting {
    fn run_started(&self, _agent: &adcp_conformance::report::AgentProfile, storyboards: usize) {
        self.started.store(storyboards, Ordering::SeqCst);
    }

    fn step_finished(&self, _storyboard: &str, _step: &adcp_conformance::report::StepResult) {
        self.steps.fetch_add(1, Ordering::SeqCst);
    }

    fn storyboard_finished(&self, result: &StoryboardResult) {
        self.finished
            .lock()
            .unwrap()
            .push((result.id.clone(), result.outcome));
    }
}

#[tokio::test]
async fn assessment_fails_a_claimed_specialisms_gaps_and_leaves_the_rest_not_applicable() {
    let agent = start_agent_declaring(&["sales-non-guaranteed"]).await;
    let root = claims_compliance_root();
    let observer = Arc::new(Counting::default());
    let mut options = adcp_conformance::AssessOptions::default();
    options.compliance_dir = Some(root.clone());
    options.auth = Some(DEMO_KEY.into());
    options.request_timeout = Some(Duration::from_secs(10));
    options.observer = Some(observer.clone());
    let report = adcp_conformance::assess(&format!("{}/mcp", agent.base), options)
        .await
        .unwrap();
    assert!(report.whole_agent);
    assert!(!report.passed());
    assert_eq!(storyboard(&report, "mock/plain").outcome, Outcome::Passed);
    let gated = storyboard(&report, "mock/gated_universal");
    assert_eq!(gated.outcome, Outcome::NotApplicable);
    assert!(
        gated
            .skip
            .as_ref()
            .unwrap()
            .detail
            .contains("requires_capability media_buy.reach_metrics present"),
        "{:?}",
        gated.skip
    );
    // The claimed bundle fails on its required tool, naming it.
    let bundle = storyboard(&report, "mock_bundle");
    assert_eq!(bundle.outcome, Outcome::Failed);
    assert_eq!(bundle.needed_by.as_deref(), Some("sales-non-guaranteed"));
    let claim = bundle
        .steps
        .iter()
        .find(|s| s.step_id == "claimed_specialism")
        .unwrap();
    assert!(
        claim.error.as_deref().unwrap().contains("sync_governance"),
        "{claim:?}"
    );
    // A required scenario gated on an undeclared capability fails, keeping the reason.
    let needed = storyboard(&report, "mock/needed_gated");
    assert_eq!(needed.outcome, Outcome::Failed);
    assert_eq!(
        needed.skip.as_ref().unwrap().reason,
        SkipReason::NotApplicable
    );
    assert!(
        needed
            .skip
            .as_ref()
            .unwrap()
            .detail
            .contains("media_buy.audience_targeting")
    );
    // A required scenario's step skipped for a missing tool fails.
    let tool = storyboard(&report, "mock/needed_tool");
    assert_eq!(tool.outcome, Outcome::Failed);
    let accounts = tool.steps.iter().find(|s| s.step_id == "accounts").unwrap();
    assert_eq!(accounts.status, StepStatus::Failed);
    assert!(accounts.error.as_deref().unwrap().contains("sync_accounts"));
    // The unclaimed specialism is not applicable and pulls nothing in.
    assert_eq!(
        storyboard(&report, "mock_unclaimed").outcome,
        Outcome::NotApplicable
    );
    assert!(
        !report
            .storyboards
            .iter()
            .any(|s| s.id == "mock/only_unclaimed")
    );
    // The observer saw every storyboard, with the report's grades.
    let finished = observer.finished.lock().unwrap().clone();
    let graded: Vec<(String, Outcome)> = report
        .storyboards
        .iter()
        .map(|s| (s.id.clone(), s.outcome))
        .collect();
    assert_eq!(finished, graded);
    assert_eq!(
        observer.started.load(Ordering::SeqCst),
        report.storyboards.len()
    );
    assert!(observer.steps.load(Ordering::SeqCst) >= 4);

    // The same folder graded without assessment: gaps are coverage skips, not failures.
    let mut config = RunConfig::new(&format!("{}/mcp", agent.base));
    config.compliance_dir = Some(root);
    config.auth = Some(DEMO_KEY.into());
    let plain = adcp_conformance::run(&config).await.unwrap();
    assert!(!plain.whole_agent);
    assert_eq!(
        storyboard(&plain, "mock/needed_gated").outcome,
        Outcome::NotApplicable
    );
    assert_eq!(
        storyboard(&plain, "mock/needed_tool").outcome,
        Outcome::Passed
    );
    assert_eq!(storyboard(&plain, "mock_bundle").outcome, Outcome::Passed);
}

#[tokio::test]
async fn an_unsupported_controller_scenario_skips_what_depends_on_it() {
    let agent = start_agent().await;
    let path = write_storyboard(
        "unsupported.yaml",
        r"
id: mock/unsupported_scenario
phases:
  - id: force
    steps:
      - id: force_arm
        task: comply_test_controller
        stateful: true
        sample_request:
          scenario: force_teleport_arm
          params: {}
  - id: use
    steps:
      - id: forced_call
        task: get_products
        stateful: true
        sample_request:
          buying_mode: wholesale
",
    );
    let mut config = config(&agent, vec![path]);
    config.auth = Some(DEMO_KEY.into());
    let report = adcp_conformance::run(&config).await.unwrap();
    let result = storyboard(&report, "mock/unsupported_scenario");
    assert_ne!(result.outcome, Outcome::Failed, "{result:?}");
    let force = result
        .steps
        .iter()
        .find(|s| s.step_id == "force_arm")
        .unwrap();
    assert!(
        force
            .skip
            .as_ref()
            .unwrap()
            .detail
            .starts_with("controller_scenario_unsupported"),
        "{force:?}"
    );
    let used = result
        .steps
        .iter()
        .find(|s| s.step_id == "forced_call")
        .unwrap();
    assert_eq!(
        used.skip.as_ref().map(|s| s.reason),
        Some(SkipReason::PrerequisiteFailed),
        "{used:?}"
    );
}
