//! The payload hash that tells a replay from a conflicting reuse of a key.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Fields that do not make two requests different: the key itself, the buyer's echo-only
/// `context` and conversation id (`context_id`, which an A2A message's `contextId` feeds), plus
/// the version envelope.
const IGNORED: [&str; 5] = [
    "idempotency_key",
    "context",
    "context_id",
    "adcp_version",
    "adcp_major_version",
];

/// SHA-256 (hex) of the request's canonical JSON (keys sorted at every depth), without the
/// fields `idempotency_key`, `context`, `context_id`, `adcp_version` and `adcp_major_version`. Two requests
/// with the same fingerprint are the same request.
pub fn fingerprint(request: &Value) -> String {
    fingerprint_excluding(request, &[])
}

/// [`fingerprint`] that also leaves out the top-level fields in `also_ignored` (e.g. the
/// `pagination` of a query whose pages share one digest).
pub(crate) fn fingerprint_excluding(request: &Value, also_ignored: &[&str]) -> String {
    let mut canonical = String::new();
    match request {
        Value::Object(map) => write_object(
            map.iter().filter(|(key, _)| {
                !IGNORED.contains(&key.as_str()) && !also_ignored.contains(&key.as_str())
            }),
            &mut canonical,
        ),
        other => write_canonical(other, &mut canonical),
    }
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => write_object(map.iter(), out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// An object's entries with their keys sorted (whatever order the map keeps them in).
fn write_object<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>, out: &mut String) {
    let mut entries: Vec<_> = entries.collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        write_canonical(value, out);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_key_and_context_do_not_matter() {
        let a = json!({"idempotency_key": "k1", "b": {"y": 1, "x": [1, 2]}, "a": 1, "context": {"n": 1}});
        let b = json!({"a": 1, "b": {"x": [1, 2], "y": 1}, "idempotency_key": "k2"});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let c = json!({"a": 2, "b": {"x": [1, 2], "y": 1}});
        assert_ne!(fingerprint(&a), fingerprint(&c));
        let d = json!({"a": 1, "b": {"x": [2, 1], "y": 1}});
        assert_ne!(fingerprint(&a), fingerprint(&d));
    }
}
