//! The validity rule for `push_notification_config` (`core/push-notification-config.json`).
//!
//! Beyond the schema's constraints, the URL must be https unless its host is on the server's
//! development allow-list, must not embed user credentials, and must not name an IP literal in a
//! blocked range ([`crate::address`]), whatever its scheme: such a webhook could never be
//! delivered (the sender refuses it), so it is refused before a task exists. Messages name the offending field
//! and never repeat the URL, the token or the credentials: all three are secrets of the buyer.

use std::net::IpAddr;

use serde_json::Value;
use url::{Host, Url};

use crate::address;

use crate::config::GuardConfig;
use crate::rule::{Rejection, Rule};
use crate::view::{ObjectView, char_len};

/// The request field that carries the webhook registration.
pub(crate) const PUSH_NOTIFICATION_CONFIG: &str = "push_notification_config";

const TOKEN_LEN: std::ops::RangeInclusive<usize> = 16..=4096;
const OPERATION_ID_MAX: usize = 255;
const CREDENTIALS_MIN: usize = 32;
const LEGACY_SCHEMES: [&str; 2] = ["Bearer", "HMAC-SHA256"];

/// The fields of a push notification config the rule reads, already type-checked.
#[derive(Debug)]
pub(crate) struct PushNotificationConfigView<'a> {
    url: &'a str,
    operation_id: Option<&'a str>,
    token: Option<&'a str>,
    authentication: Option<LegacyAuthenticationView<'a>>,
}

/// The deprecated `authentication` block.
#[derive(Debug)]
struct LegacyAuthenticationView<'a> {
    schemes: Vec<&'a str>,
    credentials: &'a str,
}

impl<'a> PushNotificationConfigView<'a> {
    /// Reads the config; any type error or missing required field is `push_config_invalid`.
    pub(crate) fn read(value: &'a Value) -> Result<Self, Rejection> {
        let Value::Object(map) = value else {
            return Err(invalid(
                PUSH_NOTIFICATION_CONFIG,
                "must be an object with at least a `url`",
            ));
        };
        let config = ObjectView::new(map, PUSH_NOTIFICATION_CONFIG, Rule::PushConfigInvalid);
        let url = config
            .string("url")?
            .ok_or_else(|| invalid(&config.path_of("url"), "is required"))?;
        let operation_id = config.string("operation_id")?;
        let token = config.string("token")?;
        let authentication = config
            .object("authentication")?
            .map(|auth| {
                let schemes = auth
                    .read::<Vec<&'a str>>("schemes", "an array of scheme names")?
                    .ok_or_else(|| invalid(&auth.path_of("schemes"), "is required"))?;
                let credentials = auth
                    .string("credentials")?
                    .ok_or_else(|| invalid(&auth.path_of("credentials"), "is required"))?;
                Ok::<_, Rejection>(LegacyAuthenticationView {
                    schemes,
                    credentials,
                })
            })
            .transpose()?;
        Ok(Self {
            url,
            operation_id,
            token,
            authentication,
        })
    }

    /// Applies the value constraints, in field order: url, operation_id, token, authentication.
    pub(crate) fn check(&self, config: &GuardConfig) -> Result<(), Rejection> {
        check_url(self.url, config)?;
        if let Some(operation_id) = self.operation_id {
            check_operation_id(operation_id)?;
        }
        if let Some(token) = self.token
            && !TOKEN_LEN.contains(&char_len(token))
        {
            return Err(invalid(
                &field("token"),
                "must be between 16 and 4096 characters; generate at least 128 bits of randomness",
            ));
        }
        if let Some(authentication) = &self.authentication {
            authentication.check()?;
        }
        Ok(())
    }
}

impl LegacyAuthenticationView<'_> {
    fn check(&self) -> Result<(), Rejection> {
        let path = field("authentication");
        match self.schemes.as_slice() {
            [scheme] if LEGACY_SCHEMES.contains(scheme) => {}
            [_] => {
                return Err(invalid(
                    &format!("{path}.schemes[0]"),
                    "must be \"Bearer\" or \"HMAC-SHA256\"",
                ));
            }
            _ => {
                return Err(invalid(
                    &format!("{path}.schemes"),
                    "must name exactly one scheme, \"Bearer\" or \"HMAC-SHA256\"",
                ));
            }
        }
        if char_len(self.credentials) < CREDENTIALS_MIN {
            return Err(invalid(
                &format!("{path}.credentials"),
                "must be at least 32 characters (or omit `authentication` to use RFC 9421 \
                 signed webhooks)",
            ));
        }
        Ok(())
    }
}

fn check_url(raw: &str, config: &GuardConfig) -> Result<(), Rejection> {
    let path = field("url");
    let url = Url::parse(raw).map_err(|_| invalid(&path, "must be an absolute https URL"))?;
    let literal = match url.host() {
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
        Some(Host::Domain(_)) | None => None,
    };
    if let Some(ip) = literal
        && address::is_blocked(ip)
        && !(address::is_loopback(ip)
            && url
                .host_str()
                .is_some_and(|host| config.allows_insecure_http(host)))
    {
        return Err(invalid(
            &path,
            "must not point at a private, loopback, link-local or otherwise reserved IP \
             address; use a publicly reachable host",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http"
            if url
                .host_str()
                .is_some_and(|host| config.allows_insecure_http(host)) => {}
        _ => return Err(invalid(&path, "must use https")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            &path,
            "must not embed credentials; use `token` or signed webhooks to authenticate deliveries",
        ));
    }
    Ok(())
}

fn check_operation_id(operation_id: &str) -> Result<(), Rejection> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-');
    if operation_id.is_empty()
        || operation_id.len() > OPERATION_ID_MAX
        || !operation_id.chars().all(allowed)
    {
        return Err(invalid(
            &field("operation_id"),
            "must be 1 to 255 characters from A-Z, a-z, 0-9, '_', '.', ':' and '-'",
        ));
    }
    Ok(())
}

fn field(key: &str) -> String {
    format!("{PUSH_NOTIFICATION_CONFIG}.{key}")
}

/// A `push_config_invalid` rejection saying "`field` <problem>.".
fn invalid(field: &str, problem: &str) -> Rejection {
    Rejection::new(
        Rule::PushConfigInvalid,
        format!("`{field}` {problem}."),
        Some(field.to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(value: &Value, config: &GuardConfig) -> Result<(), Rejection> {
        PushNotificationConfigView::read(value)?.check(config)
    }

    #[test]
    fn minimal_https_config_is_valid() {
        check(
            &json!({ "url": "https://buyer.example/hook" }),
            &GuardConfig::new(),
        )
        .unwrap();
    }

    #[test]
    fn http_needs_an_exact_allow_list_entry() {
        let config = GuardConfig::new()
            .allow_insecure_http_host("127.0.0.1")
            .unwrap();
        check(&json!({ "url": "http://127.0.0.1:9000/h" }), &config).unwrap();
        let other = check(&json!({ "url": "http://127.0.0.2/h" }), &config).unwrap_err();
        assert_eq!(
            other.error().field.as_deref(),
            Some("push_notification_config.url")
        );
        assert!(check(&json!({ "url": "http://127.0.0.1/h" }), &GuardConfig::new()).is_err());
    }

    #[test]
    fn non_web_schemes_are_rejected_even_for_allowed_hosts() {
        let config = GuardConfig::new()
            .allow_insecure_http_host("localhost")
            .unwrap();
        for url in [
            "ftp://localhost/x",
            "ws://localhost/",
            "file:///etc/passwd",
            "mailto:a@b",
        ] {
            assert!(check(&json!({ "url": url }), &config).is_err(), "{url}");
        }
    }

    #[test]
    fn operation_id_bounds() {
        let ok = "a".repeat(255);
        check(
            &json!({ "url": "https://b.example/", "operation_id": ok }),
            &GuardConfig::new(),
        )
        .unwrap();
        for bad in [
            String::new(),
            "a".repeat(256),
            "op id".into(),
            "op/1".into(),
            "é".into(),
        ] {
            let value = json!({ "url": "https://b.example/", "operation_id": bad });
            let rejection = check(&value, &GuardConfig::new()).unwrap_err();
            assert_eq!(
                rejection.error().field.as_deref(),
                Some("push_notification_config.operation_id")
            );
        }
    }
}
