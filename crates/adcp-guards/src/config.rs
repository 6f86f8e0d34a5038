//! The server facts some rules depend on: whether webhooks can be delivered at all, and which
//! hosts may receive them over plain http during development.

use std::collections::BTreeSet;

use url::Host;

/// A host given to [`GuardConfig::allow_insecure_http_host`] that is neither a domain name nor an
/// IP address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The host could not be parsed; the allow-list would never match it.
    #[error("`{host}` is not a valid host name or IP address for the http:// allow-list")]
    InvalidInsecureHttpHost {
        /// The rejected input.
        host: String,
    },
}

/// What the guards need to know about the server.
///
/// The default is the safe one: no webhook delivery wired (so every `push_notification_config`
/// is rejected) and an empty http allow-list (so every webhook URL must be https).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardConfig {
    webhook_delivery: bool,
    /// Canonical host serialisations (`example.test`, `127.0.0.1`, `[::1]`).
    insecure_http_hosts: BTreeSet<String>,
}

impl GuardConfig {
    /// The default: no webhook delivery, no http hosts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Declares whether the server delivers webhooks. Without it, a request carrying
    /// `push_notification_config` is rejected, because the protocol forbids accepting a webhook
    /// registration the seller cannot honour.
    #[must_use]
    pub fn with_webhook_delivery(mut self, wired: bool) -> Self {
        self.webhook_delivery = wired;
        self
    }

    /// Allows webhook URLs with the `http` scheme for exactly this host (no suffix or wildcard
    /// matching). Meant for local development receivers such as `127.0.0.1`; production servers
    /// leave the list empty.
    ///
    /// The host is canonicalised as a URL host would be (lower-case, IPv4 shorthand expanded,
    /// IPv6 with or without brackets), so `LOCALHOST` matches `http://localhost:8080/`.
    pub fn allow_insecure_http_host(mut self, host: &str) -> Result<Self, ConfigError> {
        let invalid = || ConfigError::InvalidInsecureHttpHost {
            host: host.to_owned(),
        };
        let trimmed = host.trim();
        let parsed = Host::parse(trimmed)
            .or_else(|_| Host::parse(&format!("[{trimmed}]")))
            .map_err(|_| invalid())?;
        self.insecure_http_hosts.insert(parsed.to_string());
        Ok(self)
    }

    /// Whether the server delivers webhooks.
    pub fn webhook_delivery(&self) -> bool {
        self.webhook_delivery
    }

    /// The http allow-list, canonicalised, in sorted order.
    pub fn insecure_http_hosts(&self) -> impl Iterator<Item = &str> {
        self.insecure_http_hosts.iter().map(String::as_str)
    }

    /// Whether `host`, as a parsed URL serialises it, may receive webhooks over http.
    pub(crate) fn allows_insecure_http(&self, host: &str) -> bool {
        self.insecure_http_hosts.contains(host)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_has_no_delivery_and_no_http_hosts() {
        let config = GuardConfig::new();
        assert!(!config.webhook_delivery());
        assert_eq!(config.insecure_http_hosts().count(), 0);
    }

    #[test]
    fn hosts_are_canonicalised_like_url_hosts() {
        let config = GuardConfig::new()
            .allow_insecure_http_host("LocalHost")
            .unwrap()
            .allow_insecure_http_host("::1")
            .unwrap()
            .allow_insecure_http_host("[::2]")
            .unwrap()
            .allow_insecure_http_host(" 127.1 ")
            .unwrap();
        let hosts: Vec<_> = config.insecure_http_hosts().collect();
        assert_eq!(hosts, ["127.0.0.1", "[::1]", "[::2]", "localhost"]);
        for url in ["http://localhost:9/", "http://[::1]/", "http://127.0.0.1/x"] {
            let parsed = url::Url::parse(url).unwrap();
            assert!(
                config.allows_insecure_http(parsed.host_str().unwrap()),
                "{url}"
            );
        }
        assert!(!config.allows_insecure_http("sub.localhost"));
    }

    #[test]
    fn unparseable_host_is_refused() {
        for bad in ["", "a b", "http://x", "[::1"] {
            assert!(
                GuardConfig::new().allow_insecure_http_host(bad).is_err(),
                "{bad:?}"
            );
        }
    }
}
