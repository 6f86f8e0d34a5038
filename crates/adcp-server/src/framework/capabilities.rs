//! `get_adcp_capabilities`, derived from what the server was built with: declarations are
//! commitments, so nothing here is claimed that the server does not do.

use std::time::Duration;

use adcp_types::Specialism;
use serde_json::{Map, Value, json};

use crate::dispatch::{SUPPORTED_MAJOR, SUPPORTED_VERSIONS};

/// What the capabilities document is derived from.
#[derive(Debug, Clone, Default)]
pub(crate) struct CapabilityInputs {
    pub(crate) protocols: Vec<&'static str>,
    pub(crate) specialisms: Vec<Specialism>,
    pub(crate) replay_ttl: Duration,
    pub(crate) in_flight_max: Duration,
    pub(crate) signing_algorithm: Option<&'static str>,
    pub(crate) brand_json_url: Option<String>,
    pub(crate) scenarios: Vec<&'static str>,
    pub(crate) extra: Map<String, Value>,
}

fn clamp_secs(duration: Duration, min: u64, max: u64) -> u64 {
    duration.as_secs().clamp(min, max)
}

/// The capabilities body (without envelope fields).
pub(crate) fn document(inputs: &CapabilityInputs) -> Value {
    let mut doc = Map::new();
    doc.insert(
        "adcp".into(),
        json!({
            "major_versions": [SUPPORTED_MAJOR],
            "supported_versions": SUPPORTED_VERSIONS,
            "build_version": env!("CARGO_PKG_VERSION"),
            "idempotency": {
                "supported": true,
                "replay_ttl_seconds": clamp_secs(inputs.replay_ttl, 3600, 604_800),
                "in_flight_max_seconds": clamp_secs(inputs.in_flight_max, 1, 604_800),
            },
        }),
    );
    doc.insert("supported_protocols".into(), json!(inputs.protocols));
    if !inputs.specialisms.is_empty() {
        doc.insert(
            "specialisms".into(),
            json!(
                inputs
                    .specialisms
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
        );
    }
    doc.insert(
        "webhook_signing".into(),
        match inputs.signing_algorithm {
            Some(algorithm) => json!({
                "supported": true,
                "profile": "adcp/webhook-signing/v1",
                "algorithms": [algorithm],
                "legacy_hmac_fallback": true,
            }),
            None => json!({ "supported": false }),
        },
    );
    if let Some(url) = &inputs.brand_json_url {
        doc.insert("identity".into(), json!({ "brand_json_url": url }));
    }
    if !inputs.scenarios.is_empty() {
        doc.insert(
            "compliance_testing".into(),
            json!({ "scenarios": inputs.scenarios }),
        );
    }
    for (key, value) in &inputs.extra {
        merge(doc.entry(key.clone()).or_insert(Value::Null), value);
    }
    Value::Object(doc)
}

/// Deep-merges `patch` into `target` (objects merge key by key; anything else replaces).
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_reflects_its_inputs() {
        let doc = document(&CapabilityInputs {
            protocols: vec!["media_buy"],
            specialisms: vec![Specialism::SalesNonGuaranteed],
            replay_ttl: Duration::from_hours(2),
            in_flight_max: Duration::from_mins(10),
            signing_algorithm: Some("ed25519"),
            brand_json_url: Some("https://seller.example/.well-known/brand.json".into()),
            scenarios: vec!["force_task_completion"],
            extra: json!({"media_buy": {"buying_modes": ["brief"]}, "adcp": {"build_version": "9.9.9"}})
                .as_object()
                .cloned()
                .unwrap(),
        });
        assert_eq!(doc["adcp"]["idempotency"]["replay_ttl_seconds"], 7200);
        assert_eq!(doc["adcp"]["build_version"], "9.9.9");
        assert_eq!(doc["adcp"]["major_versions"], json!([3]));
        assert_eq!(doc["specialisms"], json!(["sales-non-guaranteed"]));
        assert_eq!(doc["webhook_signing"]["algorithms"], json!(["ed25519"]));
        assert_eq!(doc["media_buy"]["buying_modes"], json!(["brief"]));
        assert_eq!(
            doc["compliance_testing"]["scenarios"],
            json!(["force_task_completion"])
        );
    }
}
