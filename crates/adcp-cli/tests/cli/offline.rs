//! Commands that need no agent: `validate`, `keys generate`, `demo` when it is not installed,
//! and `--help`.

use adcp_server::webhooks::signing::{WebhookSigner, WebhookSigningKey};
use adcp_server::webhooks::verify::{InboundWebhook, WebhookVerifier};
use serde_json::json;

use crate::support::{TempDir, adcp, adcp_with_stdin};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_accepts_a_good_request_and_names_the_bad_field() {
    let dir = TempDir::new("validate");
    let good = dir.write("good.json", r#"{"buying_mode": "wholesale"}"#);
    let ok = adcp(&["validate", "get_products", &good]).await;
    assert!(
        ok.expect(0).stdout.starts_with("PASS get_products request"),
        "{}",
        ok.stdout
    );

    let bad = r#"{"buying_mode": "wholesale", "pagination": {"max_results": "ten"}}"#;
    let rejected = adcp_with_stdin(&["validate", "get_products", "--json"], bad).await;
    let report = rejected.expect(1).json();
    assert_eq!(report["valid"], false);
    assert_eq!(
        report["errors"][0]["field"], "pagination.max_results",
        "{report}"
    );
    assert_eq!(report["errors"][0]["keyword"], "type", "{report}");

    let missing = adcp_with_stdin(&["validate", "get_products", "-"], "{}").await;
    missing.expect(1);
    assert!(
        missing
            .stdout
            .contains("buying_mode: \"buying_mode\" is a required property"),
        "{}",
        missing.stdout
    );

    // A response, and its submitted arm.
    let response =
        json!({"status": "completed", "cache_scope": "public", "products": []}).to_string();
    adcp_with_stdin(&["validate", "get_products", "--response"], &response)
        .await
        .expect(0);
    let submitted = adcp_with_stdin(
        &["validate", "get_products", "--response"],
        r#"{"status": "submitted"}"#,
    )
    .await;
    submitted.expect(1);
    assert!(submitted.stdout.contains("task_id"), "{}", submitted.stdout);

    let unknown = adcp(&["validate", "get_product", &good]).await;
    unknown.expect(2);
    assert!(
        unknown.stderr.contains("did you mean get_products"),
        "{}",
        unknown.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_keys_load_into_the_servers_signer_and_verify_against_the_jwks() {
    for alg in ["ed25519", "es256"] {
        let run = adcp(&["keys", "generate", "--alg", alg, "--kid", "seller-2026"]).await;
        let out = run.expect(0).json();
        let private = &out["private_jwk"];
        assert_eq!(private["kid"], "seller-2026");
        assert!(
            out["jwks"]["keys"][0].get("d").is_none(),
            "the JWKS is public only"
        );
        let key = WebhookSigningKey::from_private_jwk(private).expect("the private JWK loads");
        assert_eq!(key.public_jwk(), out["jwks"]["keys"][0]);
        // The server's signer signs with it; the published JWKS verifies the signature.
        let url = "https://buyer.example/hooks/1";
        let body = br#"{"status":"completed"}"#;
        let signed = WebhookSigner::new(key).sign(url, body).unwrap();
        let headers: Vec<(&str, &str)> = signed.pairs().to_vec();
        WebhookVerifier::new(&out["jwks"])
            .verify_now(&InboundWebhook {
                method: "POST",
                url,
                headers: &headers,
                body,
            })
            .expect("the signature verifies with the generated JWKS");
    }

    let dir = TempDir::new("keys");
    let private = dir.file("private.jwk");
    let jwks = dir.file("jwks.json");
    adcp(&[
        "keys",
        "generate",
        "--private-out",
        &private,
        "--jwks-out",
        &jwks,
    ])
    .await
    .expect(0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o077,
            0,
            "the private key is readable by its owner only"
        );
    }
    let again = adcp(&["keys", "generate", "--private-out", &private]).await;
    again.expect(2);
    assert!(
        again.stderr.contains("cannot write"),
        "an existing key is never overwritten: {}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_has_help_with_the_exit_status() {
    for command in [
        vec!["--help"],
        vec!["tools", "--help"],
        vec!["call", "--help"],
        vec!["capabilities", "--help"],
        vec!["assess", "--help"],
        vec!["storyboard", "run", "--help"],
        vec!["validate", "--help"],
        vec!["webhook", "listen", "--help"],
        vec!["keys", "generate", "--help"],
        vec!["demo", "--help"],
    ] {
        let help = adcp(&command).await;
        assert!(
            help.expect(0).stdout.contains("Exit status:"),
            "{command:?}: {}",
            help.stdout
        );
    }
    let usage = adcp(&["call"]).await;
    usage.expect(2);
}
