//! Runs the protocol's webhook-signing conformance vectors (`test-vectors/webhook-signing`) and
//! URL canonicalization vectors against this crate's verifier and signer.

// Integration tests: unwrap is how a check fails.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use adcp_webhooks::signing::{WebhookSigner, WebhookSigningKey, canonicalize_target};
use adcp_webhooks::verify::{InboundWebhook, SignatureErrorCode, VerifierConfig, WebhookVerifier};
use serde_json::{Value, json};

fn vectors_dir() -> PathBuf {
    std::env::var_os("ADCP_COMPLIANCE_DIR")
        .map_or_else(
            || {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/compliance/3.1.0-rc.9")
            },
            PathBuf::from,
        )
        .join("test-vectors")
}

fn read_json(path: &std::path::Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn vectors(kind: &str) -> Vec<(String, Value)> {
    let dir = vectors_dir().join("webhook-signing").join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                read_json(&p),
            )
        })
        .collect()
}

fn keys() -> Vec<Value> {
    read_json(&vectors_dir().join("webhook-signing/keys.json"))["keys"]
        .as_array()
        .unwrap()
        .clone()
}

/// The JWKS the vector presents: `keys.json` filtered to `jwks_ref`, with `jwks_override`
/// applied and private members removed.
fn jwks_for(vector: &Value) -> Value {
    let wanted: Vec<&str> = vector["jwks_ref"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let keys = keys()
        .into_iter()
        .filter(|k| wanted.contains(&k["kid"].as_str().unwrap()))
        .map(|mut k| {
            let kid = k["kid"].as_str().unwrap().to_owned();
            if let Some(over) = vector.get("jwks_override").and_then(|o| o.get(&kid)) {
                k = over.clone();
            }
            let map = k.as_object_mut().unwrap();
            map.retain(|name, _| !name.starts_with('_') && !name.starts_with('$'));
            k
        })
        .collect::<Vec<_>>();
    json!({ "keys": keys })
}

const SMALL_CAP: usize = 4;

fn verifier_for(vector: &Value) -> WebhookVerifier {
    let config = VerifierConfig {
        replay_cap_per_keyid: SMALL_CAP,
        ..VerifierConfig::default()
    };
    let verifier = WebhookVerifier::with_config(&jwks_for(vector), config);
    let now = vector["reference_now"].as_i64().unwrap();
    if let Some(state) = vector.get("test_harness_state") {
        for entry in state
            .get("replay_cache_entries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            verifier.remember_nonce(
                entry["keyid"].as_str().unwrap(),
                entry["nonce"].as_str().unwrap(),
                now + 360,
                now,
            );
        }
        if let Some(revoked) = state.get("revoked_kids").and_then(Value::as_array) {
            verifier.set_revocations(revoked.iter().map(|k| k.as_str().unwrap().to_owned()), None);
        }
        if let Some(kid) = state
            .get("per_keyid_cap_filled_for")
            .and_then(Value::as_str)
        {
            for i in 0..SMALL_CAP {
                verifier.remember_nonce(kid, &format!("prefill-nonce-{i:04}"), now + 360, now);
            }
        }
        if let Some(stale) = state
            .get("revocation_list_stale_seconds")
            .and_then(Value::as_i64)
        {
            // Last refreshed `stale` seconds ago with a one-hour update interval and one hour of grace.
            verifier.set_revocations(Vec::new(), Some(now - stale + 3600 + 3600));
        }
    }
    verifier
}

fn run(verifier: &WebhookVerifier, vector: &Value) -> Result<(), SignatureErrorCode> {
    let request = &vector["request"];
    let headers: Vec<(&str, &str)> = request["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    let inbound = InboundWebhook {
        method: request["method"].as_str().unwrap(),
        url: request["url"].as_str().unwrap(),
        headers: &headers,
        body: request["body"].as_str().unwrap().as_bytes(),
    };
    verifier
        .verify(&inbound, vector["reference_now"].as_i64().unwrap())
        .map(|_| ())
}

#[test]
fn every_positive_vector_verifies() {
    let positives = vectors("positive");
    assert_eq!(
        positives.len(),
        7,
        "expected the 7 positive vectors of rc.9"
    );
    for (name, vector) in positives {
        assert_eq!(vector["expected_outcome"]["success"], true);
        let verifier = verifier_for(&vector);
        assert_eq!(run(&verifier, &vector), Ok(()), "{name} must verify");
        // Delivering the same signature again is a replay.
        assert_eq!(
            run(&verifier, &vector),
            Err(SignatureErrorCode::Replayed),
            "{name} replayed"
        );
    }
}

#[test]
fn every_negative_vector_fails_with_its_error_code() {
    let negatives = vectors("negative");
    assert_eq!(
        negatives.len(),
        21,
        "expected the 21 negative vectors of rc.9"
    );
    for (name, vector) in negatives {
        let expected = vector["expected_outcome"]["error_code"].as_str().unwrap();
        let got = run(&verifier_for(&vector), &vector);
        assert_eq!(
            got.map_err(SignatureErrorCode::as_str),
            Err(expected),
            "{name}"
        );
    }
}

#[test]
fn deliver_twice_black_box_replay_is_rejected_on_the_second_delivery() {
    let (_, vector) = vectors("negative")
        .into_iter()
        .find(|(n, _)| n.starts_with("016"))
        .unwrap();
    let verifier = WebhookVerifier::new(&jwks_for(&vector));
    assert_eq!(run(&verifier, &vector), Ok(()));
    assert_eq!(run(&verifier, &vector), Err(SignatureErrorCode::Replayed));
}

#[test]
fn signer_reproduces_the_ed25519_vector_signatures() {
    // Ed25519 is deterministic: signing the vector's base with the vector's key must give its bytes.
    let keys = keys();
    for (name, vector) in vectors("positive") {
        let kid = vector["jwks_ref"][0].as_str().unwrap();
        let jwk = keys.iter().find(|k| k["kid"] == kid).unwrap();
        if jwk["kty"] != "OKP" {
            continue;
        }
        let key = WebhookSigningKey::from_private_jwk(jwk).unwrap();
        let signature = key.sign(
            vector["expected_signature_base"]
                .as_str()
                .unwrap()
                .as_bytes(),
        );
        let header = vector["request"]["headers"]["Signature"].as_str().unwrap();
        let encoded = base64_url(&signature);
        assert!(
            header.contains(&format!("sig1=:{encoded}:")),
            "{name}: {header} vs {encoded}"
        );
    }
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[test]
fn signer_output_verifies_for_both_algorithms_with_the_vector_keys() {
    let keys = keys();
    for kid in ["test-ed25519-webhook-2026", "test-es256-webhook-2026"] {
        let jwk = keys.iter().find(|k| k["kid"] == kid).unwrap();
        let signer = WebhookSigner::new(WebhookSigningKey::from_private_jwk(jwk).unwrap());
        let jwks = json!({"keys": [signer.key().public_jwk()]});
        let verifier = WebhookVerifier::new(&jwks);
        let url = "https://Buyer.Example.com:443/adcp/webhook/op_%e2%98%83?b=2&a=1";
        let body = br#"{"idempotency_key":"whk_0123456789abcdef","status":"completed"}"#;
        let now = 1_776_520_800;
        let first = signer.sign_at(url, body, now, &[7; 16]).unwrap();
        let second = signer.sign_at(url, body, now, &[8; 16]).unwrap();
        assert_ne!(
            first.signature_input, second.signature_input,
            "a fresh nonce per attempt"
        );
        for signed in [&first, &second] {
            let headers: Vec<(&str, &str)> = signed.pairs().to_vec();
            let inbound = InboundWebhook {
                method: "POST",
                url,
                headers: &headers,
                body,
            };
            assert!(verifier.verify(&inbound, now + 10).is_ok(), "{kid}");
        }
        // A tampered body fails the digest check.
        let headers: Vec<(&str, &str)> = first.pairs().to_vec();
        let inbound = InboundWebhook {
            method: "POST",
            url,
            headers: &headers,
            body: b"{}",
        };
        let fresh = WebhookVerifier::new(&jwks);
        assert_eq!(
            fresh.verify(&inbound, now).unwrap_err(),
            SignatureErrorCode::DigestMismatch
        );
    }
}

#[test]
fn url_canonicalization_matches_the_protocol_vectors() {
    let cases = read_json(&vectors_dir().join("request-signing/canonicalization.json"));
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let got = canonicalize_target(case["input_url"].as_str().unwrap());
        if case.get("reject").and_then(Value::as_bool) == Some(true) {
            assert!(got.is_err(), "{name} must be rejected, got {got:?}");
        } else {
            let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                got.target_uri,
                case["expected_target_uri"].as_str().unwrap(),
                "{name}"
            );
            assert_eq!(
                got.authority,
                case["expected_authority"].as_str().unwrap(),
                "{name}"
            );
        }
    }
}
