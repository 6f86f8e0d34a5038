//! `webhook listen`: a real signed webhook from the seller passes; the same headers with a
//! changed body fail; the same webhook again fails as a replay.

use std::process::Stdio;
use std::time::Duration;

use adcp_server::webhooks::signing::WebhookSigningKey;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, BufReader};

use crate::support::{TOKEN, TempDir, account, adcp, command, seller_with_key};

/// Signed-header names a tampered copy keeps.
const SIGNED: [&str; 4] = [
    "signature",
    "signature-input",
    "content-digest",
    "content-type",
];

/// Generates a key with `adcp keys generate` into `dir`; returns it loaded, and the JWKS file.
async fn generated_key(dir: &TempDir) -> (WebhookSigningKey, String) {
    let private = dir.file("private.jwk");
    let jwks = dir.file("jwks.json");
    adcp(&[
        "keys",
        "generate",
        "--kid",
        "listen-test",
        "--private-out",
        &private,
        "--jwks-out",
        &jwks,
    ])
    .await
    .expect(0);
    let jwk: Value = serde_json::from_str(&std::fs::read_to_string(&private).unwrap()).unwrap();
    (WebhookSigningKey::from_private_jwk(&jwk).unwrap(), jwks)
}

/// Starts `adcp webhook listen ARGS…`; returns the child and its base URL (from its first
/// line on standard error, which must also contain `announce`).
async fn listen(args: &[&str], announce: &str) -> (tokio::process::Child, String) {
    let mut child = command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(10), stderr.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.contains(announce), "{first}");
    let base = first.strip_prefix("listening on ").map_or_else(
        || panic!("the listener announces its URL: {first}"),
        |rest| rest.split('/').take(3).collect::<Vec<_>>().join("/"),
    );
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_webhook_passes_and_a_tampered_or_replayed_one_fails() {
    // The seller signs with a key made by `adcp keys generate`.
    let dir = TempDir::new("listen");
    let (key, jwks) = generated_key(&dir).await;
    let seller = seller_with_key(key).await;
    let (mut listener, base) = listen(
        &[
            "webhook", "listen", "--jwks", &jwks, "--count", "3", "--json",
        ],
        "verifying RFC 9421 signatures",
    )
    .await;
    let hook_url = format!("{base}/hooks/brief");

    // The seller hands a brief off and signs the terminal webhook to the listener.
    let arguments = json!({
        "buying_mode": "brief", "brief": "sports fans", "account": account(),
        "push_notification_config": {"url": hook_url, "operation_id": "op-1", "token": "receiver-token-0123456789"}
    })
    .to_string();
    adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
    ])
    .await
    .expect(0);

    let mut stdout = BufReader::new(listener.stdout.take().unwrap()).lines();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(15), stdout.next_line())
            .await
            .expect("a webhook is printed")
            .unwrap()
            .unwrap();
        serde_json::from_str(&line).unwrap()
    };
    let real = next().await;
    assert_eq!(real["verdict"], "pass", "{real}");
    assert_eq!(real["detail"], "signed by key listen-test");
    assert_eq!(real["payload"]["status"], "completed");
    assert_eq!(real["payload"]["operation_id"], "op-1");

    // The same signed headers with another body: refused.
    let headers = real["headers"].as_object().unwrap();
    adcp_conformance::install_tls_provider();
    let http = reqwest::Client::new();
    let post = |body: String| {
        let mut request = http.post(&hook_url).body(body);
        for name in SIGNED {
            request = request.header(name, headers[name].as_str().unwrap());
        }
        request.send()
    };
    let mut changed = real["payload"].clone();
    changed["status"] = json!("failed");
    assert_eq!(post(changed.to_string()).await.unwrap().status(), 401);
    let tampered = next().await;
    assert_eq!(tampered["verdict"], "fail", "{tampered}");
    assert!(
        tampered["detail"]
            .as_str()
            .unwrap()
            .starts_with("webhook_signature_digest_mismatch"),
        "{tampered}"
    );

    // The original again, byte for byte: a replay.
    let original = real["body"].as_str().unwrap().to_owned();
    assert_eq!(post(original).await.unwrap().status(), 401);
    let replayed = next().await;
    assert_eq!(replayed["verdict"], "fail", "{replayed}");
    assert!(
        replayed["detail"]
            .as_str()
            .unwrap()
            .starts_with("webhook_signature_replayed"),
        "{replayed}"
    );

    let status = tokio::time::timeout(Duration::from_secs(10), listener.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(1),
        "a failed webhook makes the exit status 1"
    );
}

/// Registers `url` as the push target of a handed-off brief (with `authentication` when given).
async fn brief_to(seller: &crate::support::Running, url: &str, authentication: Option<Value>) {
    let mut push =
        json!({"url": url, "operation_id": "op-2", "token": "receiver-token-0123456789"});
    if let Some(authentication) = authentication {
        push["authentication"] = authentication;
    }
    let arguments = json!({
        "buying_mode": "brief", "brief": "sports fans", "account": account(),
        "push_notification_config": push
    })
    .to_string();
    adcp(&[
        "call",
        &seller.url,
        "get_products",
        &arguments,
        "--auth",
        TOKEN,
    ])
    .await
    .expect(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_come_from_brand_json_and_legacy_hmac_verifies_with_the_secret() {
    let seller = crate::support::seller().await;
    let brand = format!("{}/.well-known/brand.json", seller.base);
    let (listener, base) = listen(
        &[
            "webhook",
            "listen",
            "--brand-json",
            &brand,
            "--count",
            "1",
            "--json",
        ],
        "/.well-known/jwks.json",
    )
    .await;
    brief_to(&seller, &format!("{base}/signed"), None).await;
    let output = tokio::time::timeout(Duration::from_secs(15), listener.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let hook: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(hook["verdict"], "pass", "{hook}");
    assert_eq!(hook["detail"], "signed by key cli-test-seller-1");

    let secret = "shared-secret-0123456789abcdef-0123456789";
    let (listener, base) = listen(
        &[
            "webhook", "listen", "--secret", secret, "--count", "1", "--json",
        ],
        "legacy HMAC-SHA256",
    )
    .await;
    let legacy = json!({"schemes": ["HMAC-SHA256"], "credentials": secret});
    brief_to(&seller, &format!("{base}/legacy"), Some(legacy)).await;
    let output = tokio::time::timeout(Duration::from_secs(15), listener.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let hook: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(hook["scheme"], "hmac-sha256", "{hook}");
    assert_eq!(hook["verdict"], "pass", "{hook}");
    assert_eq!(output.status.code(), Some(0));
}
