//! `adcp keys generate`: a fresh webhook-signing key, as the private JWK a seller signs with
//! (`WebhookSigningKey::from_private_jwk` loads it) and the public JWKS it publishes at its
//! brand.json `jwks_uri`.

use std::path::{Path, PathBuf};

use adcp_webhooks::signing::WebhookSigningKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Args, ValueEnum};
use rand::TryRngCore as _;
use serde_json::{Value, json};

use crate::cli::EXIT_STATUS;
use crate::error::{CliError, Outcome};
use crate::output;

/// The signing algorithms of the AdCP webhook profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Alg {
    /// Ed25519 (RFC 9421 `ed25519`, JWK `EdDSA`).
    Ed25519,
    /// ECDSA P-256 with SHA-256 (RFC 9421 `ecdsa-p256-sha256`, JWK `ES256`).
    Es256,
}

/// `adcp keys generate`.
#[derive(Debug, Args)]
#[command(
    after_help = EXIT_STATUS,
    long_about = "Generate a webhook-signing key from the operating system's random source. \
Prints one JSON object: private_jwk (keep it secret; load it with \
WebhookSigningKey::from_private_jwk) and jwks (publish it at the jwks_uri of your brand.json \
agents[] entry). --private-out and --jwks-out write them to files instead."
)]
pub(crate) struct GenerateArgs {
    /// The algorithm.
    #[arg(long, value_enum, default_value_t = Alg::Ed25519)]
    pub(crate) alg: Alg,
    /// The key id (default: webhook-<date>-<random>).
    #[arg(long, value_name = "KID")]
    pub(crate) kid: Option<String>,
    /// Write the private JWK to this file (created with mode 0600 on Unix; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub(crate) private_out: Option<PathBuf>,
    /// Write the public JWKS to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks_out: Option<PathBuf>,
}

/// Generates the key and prints or writes it.
pub(crate) fn run(args: &GenerateArgs) -> Result<Outcome, CliError> {
    let kid = args.kid.clone().unwrap_or_else(default_kid);
    let private = generate(&kid, args.alg)?;
    let jwks = json!({"keys": [public_of(&private)?]});
    if let Some(path) = &args.private_out {
        write_private(path, &pretty(&private))?;
        output::note(&format!("private JWK written to {}", path.display()));
    }
    if let Some(path) = &args.jwks_out {
        std::fs::write(path, pretty(&jwks) + "\n").map_err(|source| CliError::Write {
            path: path.clone(),
            source,
        })?;
        output::note(&format!("public JWKS written to {}", path.display()));
    }
    match (&args.private_out, &args.jwks_out) {
        (None, None) => output::print_json(&json!({"private_jwk": private, "jwks": jwks}), true),
        (None, Some(_)) => output::print_json(&json!({"private_jwk": private}), true),
        (Some(_), None) => output::print_json(&jwks, true),
        (Some(_), Some(_)) => {}
    }
    Ok(Outcome::Passed)
}

/// A private JWK for a fresh key: the public members the AdCP profile requires, `d`, and
/// `key_ops: ["sign"]`. Guarantee: it loads back with `WebhookSigningKey::from_private_jwk`
/// into a key whose public JWK equals the one derived here.
fn generate(kid: &str, alg: Alg) -> Result<Value, CliError> {
    let (key, d) = loop {
        let secret = random_32()?;
        let key = match alg {
            Alg::Ed25519 => WebhookSigningKey::from_ed25519_seed(kid, &secret),
            // A random 32-byte string is a valid P-256 scalar except with probability ~2^-32.
            Alg::Es256 => match WebhookSigningKey::from_p256_scalar(kid, &secret) {
                Ok(key) => key,
                Err(_) => continue,
            },
        };
        break (key, URL_SAFE_NO_PAD.encode(secret));
    };
    let mut private = key.public_jwk();
    let Some(members) = private.as_object_mut() else {
        return Err(CliError::Keys("the public JWK is not an object".to_owned()));
    };
    members.insert("d".to_owned(), Value::String(d));
    members.insert("key_ops".to_owned(), json!(["sign"]));
    if public_of(&private)? != key.public_jwk() {
        return Err(CliError::Keys(
            "the private JWK does not load back to the same key".to_owned(),
        ));
    }
    Ok(private)
}

/// The public JWK of a private one, as the seller's server publishes it.
fn public_of(private: &Value) -> Result<Value, CliError> {
    WebhookSigningKey::from_private_jwk(private)
        .map(|key| key.public_jwk())
        .map_err(|e| CliError::Keys(e.to_string()))
}

/// 32 bytes from the operating system's random source.
fn random_32() -> Result<[u8; 32], CliError> {
    let mut bytes = [0_u8; 32];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| CliError::Keys(format!("the system random source failed: {e}")))?;
    Ok(bytes)
}

/// `webhook-<YYYY-MM-DD>-<8 hex>`.
fn default_kid() -> String {
    let suffix: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .take(8)
        .collect();
    format!("webhook-{}-{suffix}", chrono::Utc::now().format("%Y-%m-%d"))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// Writes the private key to a new file, readable by its owner only on Unix.
fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let write = |options: &std::fs::OpenOptions| -> std::io::Result<()> {
        let mut file = options.open(path)?;
        file.write_all(text.as_bytes())?;
        file.write_all(b"\n")
    };
    write(&options).map_err(|source| CliError::Write {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_algorithms_round_trip_through_the_loader() {
        for (alg, kty) in [(Alg::Ed25519, "OKP"), (Alg::Es256, "EC")] {
            let private = generate("k1", alg).unwrap();
            assert_eq!(private["kty"], kty);
            assert_eq!(private["kid"], "k1");
            assert!(private["d"].as_str().is_some_and(|d| !d.is_empty()));
            let public = public_of(&private).unwrap();
            assert!(public.get("d").is_none());
            assert_eq!(public["key_ops"], json!(["verify"]));
            assert_eq!(public["adcp_use"], "webhook-signing");
        }
        assert_ne!(
            generate("a", Alg::Ed25519).unwrap()["d"],
            generate("a", Alg::Ed25519).unwrap()["d"]
        );
    }
}
