//! The wire error of `core/error.json`: what every AdCP failure looks like to a buyer.
//!
//! [`AdcpError`] is data, not a Rust error hierarchy: crates build it at the server's edge from
//! their own error enums, and it travels unchanged over MCP (`structuredContent.adcp_error`), in a
//! failed task's `error`, and in a failed webhook's `result`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::manifest::{codes, recovery_for_code};

/// How a buyer agent should react to an error, as `core/error.json` classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recovery {
    /// Retry after a delay: rate limits, outages, timeouts.
    Transient,
    /// Fix the request and send it again: an invalid field, a budget too low.
    Correctable,
    /// A person must act: account suspended, payment required.
    Terminal,
}

impl Recovery {
    /// The wire spelling (`transient`, `correctable`, `terminal`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Correctable => "correctable",
            Self::Terminal => "terminal",
        }
    }
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field-level validation failure (`core/error.json` `issues[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationIssue {
    /// RFC 6901 pointer into the request, e.g. `/packages/0/budget`.
    pub pointer: String,
    /// Why this field was rejected.
    pub message: String,
    /// The JSON Schema keyword that rejected it (`required`, `type`, `enum`, ...).
    pub keyword: String,
}

/// The AdCP wire error (`core/error.json`).
///
/// Guarantees: `code` is never empty and `recovery` is always set when the error is built with
/// [`AdcpError::new`] — from the manifest's table for known codes and `transient` (the manifest's
/// policy) for unknown ones. Deserialising a wire error without `recovery` applies the same rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdcpError {
    /// Machine-readable code, e.g. `INVALID_REQUEST`. The vocabulary is open.
    pub code: String,
    /// Human-readable explanation. Never carries secrets or internal detail.
    pub message: String,
    /// How the buyer should recover.
    pub recovery: Recovery,
    /// JSONPath-lite path of the offending request field (`packages[0].budget`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A suggested fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Seconds to wait before retrying; always within 1..=3600 when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u32>,
    /// Structured field failures; when present, `field` mirrors the first one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<ValidationIssue>,
    /// Task-specific details (`rejected_value`, `accepted_values`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

impl AdcpError {
    /// An error with `code` and `message`, its recovery taken from the manifest's table.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        let recovery = recovery_for_code(&code);
        Self {
            code,
            message: message.into(),
            recovery,
            field: None,
            suggestion: None,
            retry_after: None,
            issues: Vec::new(),
            details: None,
        }
    }

    /// `INVALID_REQUEST` (correctable): the request is malformed or inconsistent.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(codes::INVALID_REQUEST, message)
    }

    /// `VALIDATION_ERROR` (correctable) carrying the field-level issues; `field` mirrors the
    /// first issue, translated to JSONPath-lite as the protocol requires.
    pub fn validation(message: impl Into<String>, issues: Vec<ValidationIssue>) -> Self {
        let field = issues
            .first()
            .map(|issue| pointer_to_field_path(&issue.pointer));
        let mut error = Self::new(codes::VALIDATION_ERROR, message);
        error.field = field.filter(|path| !path.is_empty());
        error.issues = issues;
        error
    }

    /// `SERVICE_UNAVAILABLE` (transient): something on the seller's side failed; the message is
    /// generic on purpose so no internals reach the wire.
    pub fn internal() -> Self {
        Self::new(
            codes::SERVICE_UNAVAILABLE,
            "the seller could not complete this request; retry later",
        )
    }

    /// Sets the offending field (JSONPath-lite, e.g. `push_notification_config.url`).
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets a suggested fix.
    #[must_use]
    pub fn with_suggestion(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }

    /// Overrides the recovery the code table gave.
    #[must_use]
    pub fn with_recovery(mut self, recovery: Recovery) -> Self {
        self.recovery = recovery;
        self
    }

    /// Sets `retry_after`, clamped into the protocol's 1..=3600 seconds.
    #[must_use]
    pub fn with_retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds.clamp(1, 3600));
        self
    }

    /// Adds one entry to `details`.
    #[must_use]
    pub fn with_detail(mut self, key: impl Into<String>, value: Value) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.into(), value);
        self
    }

    /// The error as a JSON object, ready for the wire.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_else(|_| {
            // Serialising plain strings and numbers cannot fail; keep a safe shape regardless.
            serde_json::json!({ "code": self.code, "message": self.message })
        })
    }
}

impl fmt::Display for AdcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field `{field}`)")?;
        }
        Ok(())
    }
}

impl std::error::Error for AdcpError {}

/// The wire shape, lenient: `recovery` may be absent or unknown and is then derived from the code.
#[derive(Deserialize)]
struct WireError {
    code: String,
    message: String,
    #[serde(default)]
    recovery: Option<Value>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    suggestion: Option<String>,
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    issues: Vec<ValidationIssue>,
    #[serde(default)]
    details: Option<Map<String, Value>>,
}

impl<'de> Deserialize<'de> for AdcpError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireError::deserialize(deserializer)?;
        let recovery = wire
            .recovery
            .and_then(|value| serde_json::from_value(value).ok())
            .unwrap_or_else(|| recovery_for_code(&wire.code));
        Ok(Self {
            code: wire.code,
            message: wire.message,
            recovery,
            field: wire.field,
            suggestion: wire.suggestion,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            retry_after: wire.retry_after.map(|s| s.clamp(1.0, 3600.0) as u32),
            issues: wire.issues,
            details: wire.details,
        })
    }
}

/// Translates an RFC 6901 pointer (`/packages/0/targeting`) into the JSONPath-lite form the
/// protocol's `field` uses (`packages[0].targeting`).
pub fn pointer_to_field_path(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_code_takes_recovery_from_manifest() {
        assert_eq!(
            AdcpError::invalid_request("x").recovery,
            Recovery::Correctable
        );
    }

    #[test]
    fn unknown_code_is_transient() {
        assert_eq!(
            AdcpError::new("SELLER_SPECIFIC_THING", "x").recovery,
            Recovery::Transient
        );
    }

    #[test]
    fn wire_error_without_recovery_derives_it() {
        let error: AdcpError =
            serde_json::from_str(r#"{"code":"INVALID_REQUEST","message":"m"}"#).unwrap();
        assert_eq!(error.recovery, Recovery::Correctable);
    }

    #[test]
    fn pointer_translates_to_jsonpath_lite() {
        assert_eq!(
            pointer_to_field_path("/packages/0/targeting"),
            "packages[0].targeting"
        );
        assert_eq!(pointer_to_field_path("/a~1b/c"), "a/b.c");
        assert_eq!(pointer_to_field_path(""), "");
    }

    #[test]
    fn validation_error_mirrors_first_issue_in_field() {
        let error = AdcpError::validation(
            "bad",
            vec![ValidationIssue {
                pointer: "/packages/1/budget".into(),
                message: "must be a number".into(),
                keyword: "type".into(),
            }],
        );
        assert_eq!(error.field.as_deref(), Some("packages[1].budget"));
        let wire = error.to_value();
        assert_eq!(wire["issues"][0]["keyword"], "type");
    }

    #[test]
    fn retry_after_is_clamped() {
        assert_eq!(
            AdcpError::internal().with_retry_after(0).retry_after,
            Some(1)
        );
        assert_eq!(
            AdcpError::internal().with_retry_after(99_999).retry_after,
            Some(3600)
        );
    }
}
