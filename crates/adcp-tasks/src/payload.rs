//! Payload checks shared by the stores: a size cap that fails clearly, and (for PostgreSQL's
//! JSONB) no NUL characters.

use std::io;

use serde_json::Value;

use crate::error::TaskError;

/// The default cap on one stored JSON payload: 4 MiB.
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 4 * 1024 * 1024;

/// Fails with [`TaskError::PayloadTooLarge`] when `value` serialises to more than `limit` bytes.
pub(crate) fn check_size(
    field: &'static str,
    value: &Value,
    limit: usize,
) -> Result<(), TaskError> {
    let mut counter = Counter { bytes: 0, limit };
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => Ok(()),
        // The counter stops writing once over the limit; either way the size is known.
        Err(_) if counter.bytes > limit => Err(TaskError::PayloadTooLarge {
            field,
            size: counter.bytes,
            limit,
        }),
        Err(error) => Err(TaskError::Serialization(error)),
    }
}

/// Fails with [`TaskError::UnstorablePayload`] when a string or key in `value` holds U+0000,
/// which PostgreSQL's JSONB cannot store.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn check_no_nul(field: &'static str, value: &Value) -> Result<(), TaskError> {
    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(map) => map
                .iter()
                .any(|(key, item)| key.contains('\0') || has_nul(item)),
            Value::Null | Value::Bool(_) | Value::Number(_) => false,
        }
    }
    if has_nul(value) {
        return Err(TaskError::UnstorablePayload {
            field,
            reason: "contains a NUL character (U+0000)".to_owned(),
        });
    }
    Ok(())
}

struct Counter {
    bytes: usize,
    limit: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes += buf.len();
        if self.bytes > self.limit {
            return Err(io::Error::other("over the payload limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn size_cap_fails_clearly() {
        let value = json!({"blob": "x".repeat(100)});
        assert!(check_size("result", &value, 1000).is_ok());
        let error = check_size("result", &value, 50).unwrap_err();
        assert!(matches!(
            error,
            TaskError::PayloadTooLarge {
                field: "result",
                limit: 50,
                ..
            }
        ));
        assert!(error.to_string().contains("result"));
    }

    #[test]
    fn nul_is_refused_anywhere() {
        assert!(check_no_nul("result", &json!({"a": ["ok", {"b": "x\u{0}y"}]})).is_err());
        assert!(check_no_nul("result", &json!({"k\u{0}": 1})).is_err());
        assert!(check_no_nul("result", &json!({"a": "\\u0000 is fine as text"})).is_ok());
    }
}
