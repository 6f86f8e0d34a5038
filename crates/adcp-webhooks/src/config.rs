//! The buyer's `push_notification_config` (`core/push-notification-config.json`), read into a
//! typed view that decides the authentication mode and never prints its secrets.

use serde_json::Value;

use crate::error::WebhookError;

/// A secret string (a token or legacy credential) whose `Debug` is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// How one webhook registration is authenticated.
///
/// The buyer's `authentication` block is a switch, not a fallback: present selects the legacy
/// scheme, absent selects RFC 9421. A delivery is never signed both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookAuth {
    /// The AdCP RFC 9421 profile, with the seller's key.
    Rfc9421,
    /// Legacy HMAC-SHA256 with the shared secret (`X-ADCP-Signature`, `X-ADCP-Timestamp`).
    HmacSha256(Secret),
    /// Legacy `Authorization: Bearer <credentials>`.
    Bearer(Secret),
}

/// The member of a stored push config that asks for A2A webhook bodies
/// ([`WebhookEnvelope::A2aTask`]). adcp-server's A2A binding adds it when a buyer registers
/// A2A's own `taskPushNotificationConfig`; a config without it gets the AdCP payload.
pub const A2A_ENVELOPE_MEMBER: &str = "a2a_task_envelope";

/// The value of [`A2A_ENVELOPE_MEMBER`] that asks for A2A v0.3 bodies
/// ([`WebhookEnvelope::A2aTaskV03`]); `true` asks for A2A 1.0.
pub const A2A_V03_ENVELOPE: &str = "v0.3";

/// The body shape a push config's webhooks take: the channel chosen at registration decides
/// it, whatever transport the call came over.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookEnvelope {
    /// AdCP's `core/mcp-webhook-payload.json` (a push config in the skill's parameters).
    #[default]
    Adcp,
    /// An A2A 1.0 `StreamResponse` carrying the `Task` (`{"task": {id, contextId, status,
    /// artifacts, metadata}}`): A2A's own push config.
    A2aTask,
    /// The A2A v0.3 `Task` itself (`kind: "task"`, lowercase states, `kind`-tagged parts): A2A's
    /// own push config registered by a v0.3 buyer.
    A2aTaskV03,
}

impl WebhookAuth {
    /// The stored scheme name: `rfc9421`, `HMAC-SHA256` or `Bearer`.
    pub const fn scheme(&self) -> &'static str {
        match self {
            Self::Rfc9421 => "rfc9421",
            Self::HmacSha256(_) => "HMAC-SHA256",
            Self::Bearer(_) => "Bearer",
        }
    }

    /// Rebuilds the mode from a stored scheme name and credentials.
    pub fn from_parts(scheme: &str, credentials: Option<String>) -> Result<Self, WebhookError> {
        match (scheme, credentials) {
            ("rfc9421", _) => Ok(Self::Rfc9421),
            ("HMAC-SHA256", Some(c)) => Ok(Self::HmacSha256(Secret(c))),
            ("Bearer", Some(c)) => Ok(Self::Bearer(Secret(c))),
            _ => Err(WebhookError::InvalidRequest(
                "unknown or incomplete webhook authentication".into(),
            )),
        }
    }

    /// The legacy credentials, if any.
    pub fn credentials(&self) -> Option<&Secret> {
        match self {
            Self::Rfc9421 => None,
            Self::HmacSha256(s) | Self::Bearer(s) => Some(s),
        }
    }
}

/// A validated `push_notification_config`.
///
/// `Debug` shows the URL's scheme and host only, and redacts the token and credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct PushNotificationConfig {
    /// The receiver URL, opaque to the seller.
    pub url: String,
    /// The buyer's correlation id, echoed verbatim into every payload.
    pub operation_id: Option<String>,
    /// The buyer's token, echoed verbatim as the payload's `token`.
    pub token: Option<Secret>,
    /// The authentication mode the registration selected.
    pub auth: WebhookAuth,
    /// The body shape the registration selected.
    pub envelope: WebhookEnvelope,
}

impl std::fmt::Debug for PushNotificationConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushNotificationConfig")
            .field("destination", &redact_url(&self.url))
            .field("operation_id", &self.operation_id)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("auth", &self.auth.scheme())
            .field("envelope", &self.envelope)
            .finish()
    }
}

fn valid_operation_id(id: &str) -> bool {
    (1..=255).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
}

impl PushNotificationConfig {
    /// Reads and validates the config object against `core/push-notification-config.json`:
    /// `url` required; `operation_id` `^[A-Za-z0-9_.:-]{1,255}$`; `token` 16..=4096 chars;
    /// `authentication` with exactly one of `Bearer`/`HMAC-SHA256` and credentials of 32+ chars.
    pub fn from_value(value: &Value) -> Result<Self, WebhookError> {
        let invalid =
            |what: &str| WebhookError::InvalidRequest(format!("push_notification_config: {what}"));
        let url = value
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("url is required"))?;
        let operation_id = match value.get("operation_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) if valid_operation_id(id) => Some(id.clone()),
            Some(_) => return Err(invalid("operation_id must match ^[A-Za-z0-9_.:-]{1,255}$")),
        };
        let token = match value.get("token") {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if (16..=4096).contains(&t.chars().count()) => {
                Some(Secret(t.clone()))
            }
            Some(_) => return Err(invalid("token must be a string of 16 to 4096 characters")),
        };
        let auth = match value.get("authentication") {
            None | Some(Value::Null) => WebhookAuth::Rfc9421,
            Some(block) => {
                let schemes = block
                    .get("schemes")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice);
                let credentials = block.get("credentials").and_then(Value::as_str);
                match (schemes, credentials) {
                    (Some([scheme]), Some(c)) if c.chars().count() >= 32 => match scheme.as_str() {
                        Some("Bearer") => WebhookAuth::Bearer(Secret(c.to_owned())),
                        Some("HMAC-SHA256") => WebhookAuth::HmacSha256(Secret(c.to_owned())),
                        _ => {
                            return Err(invalid(
                                "authentication.schemes must be Bearer or HMAC-SHA256",
                            ));
                        }
                    },
                    _ => {
                        return Err(invalid(
                            "authentication needs one scheme and credentials of 32+ characters",
                        ));
                    }
                }
            }
        };
        let envelope = match value.get(A2A_ENVELOPE_MEMBER) {
            Some(Value::Bool(true)) => WebhookEnvelope::A2aTask,
            Some(Value::String(version)) if version == A2A_V03_ENVELOPE => {
                WebhookEnvelope::A2aTaskV03
            }
            _ => WebhookEnvelope::Adcp,
        };
        Ok(Self {
            url: url.to_owned(),
            operation_id,
            token,
            auth,
            envelope,
        })
    }
}

/// A log-safe rendering of a URL: scheme, host and port only (no path, query or userinfo).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}/…", parsed.scheme()),
                None => format!("{}://{host}/…", parsed.scheme()),
            }
        }
        Err(_) => "<unparseable url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn authentication_block_switches_to_the_legacy_scheme() {
        let base = json!({"url": "https://b.example/h?sig=abc", "operation_id": "op_1"});
        assert_eq!(
            PushNotificationConfig::from_value(&base).unwrap().auth,
            WebhookAuth::Rfc9421
        );
        let mut hmac = base.clone();
        hmac["authentication"] = json!({"schemes": ["HMAC-SHA256"], "credentials": "c".repeat(32)});
        assert!(matches!(
            PushNotificationConfig::from_value(&hmac).unwrap().auth,
            WebhookAuth::HmacSha256(_)
        ));
        hmac["authentication"]["credentials"] = json!("short");
        assert!(PushNotificationConfig::from_value(&hmac).is_err());
    }

    #[test]
    fn debug_output_holds_no_secret_and_no_query() {
        let cfg = PushNotificationConfig::from_value(&json!({
            "url": "https://b.example:8443/h/secret-path?sig=querysecret",
            "token": "tok-0123456789abcdef",
            "authentication": {"schemes": ["Bearer"], "credentials": "bearer-credential-0123456789abcdef"}
        }))
        .unwrap();
        let shown = format!("{cfg:?}");
        for secret in [
            "querysecret",
            "secret-path",
            "tok-0123456789abcdef",
            "bearer-credential",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("b.example:8443"));
    }

    #[test]
    fn malformed_operation_id_and_token_are_rejected() {
        assert!(
            PushNotificationConfig::from_value(&json!({"url": "https://x", "operation_id": "a b"}))
                .is_err()
        );
        assert!(
            PushNotificationConfig::from_value(&json!({"url": "https://x", "token": "short"}))
                .is_err()
        );
        assert!(PushNotificationConfig::from_value(&json!({"operation_id": "a"})).is_err());
    }
}
