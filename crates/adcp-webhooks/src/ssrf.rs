//! SSRF protection for webhook URLs supplied by buyers.
//!
//! Two checks, both required: [`SsrfPolicy::check_url`] before a request (scheme, userinfo,
//! literal IPs, which a connector never resolves), and [`GuardedResolver`], installed as the
//! client's DNS resolver, which checks every address a host name resolves to and hands the
//! connector only those checked addresses. The connection is therefore pinned to an address that
//! passed the check, and a DNS answer that changes between check and connect (rebinding) is
//! checked again rather than trusted.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use adcp_guards::address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Why a destination was refused. Carries no URL (the path and query may hold secrets).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsrfError {
    /// The URL does not parse, has no host, or carries userinfo.
    #[error("webhook URL is malformed or carries userinfo")]
    MalformedUrl,
    /// The scheme is not `https` (or `http` to an allow-listed loopback host).
    #[error("webhook URL scheme is not allowed")]
    SchemeNotAllowed,
    /// The port is outside the configured allow-list.
    #[error("webhook URL port is not allowed")]
    PortNotAllowed,
    /// The destination address is in a blocked range.
    #[error("webhook destination address is not allowed ({0})")]
    AddressBlocked(IpAddr),
    /// The host name resolved to no address.
    #[error("webhook host did not resolve")]
    NoAddress,
}

/// Where webhooks may go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsrfPolicy {
    allow_loopback: bool,
    allowed_ports: Option<Vec<u16>>,
}

impl SsrfPolicy {
    /// The production policy: HTTPS only, every special-purpose range blocked, any port.
    pub fn strict() -> Self {
        Self::default()
    }

    /// Development and test policy: additionally allows loopback addresses (and plain `http` to
    /// them). Every other blocked range stays blocked.
    #[must_use]
    pub fn allow_loopback(mut self) -> Self {
        self.allow_loopback = true;
        self
    }

    /// Hardened mode: only these destination ports (e.g. `[443, 8443]`).
    #[must_use]
    pub fn with_allowed_ports(mut self, ports: impl Into<Vec<u16>>) -> Self {
        self.allowed_ports = Some(ports.into());
        self
    }

    /// Whether the policy permits connecting to `ip`: never to an address in
    /// [`adcp_guards::address::is_blocked`]'s table (the same table the request-time guard
    /// uses), except loopback ([`adcp_guards::address::is_loopback`]) when the policy allows it.
    pub fn permits(&self, ip: IpAddr) -> bool {
        if address::is_loopback(ip) {
            return self.allow_loopback;
        }
        !address::is_blocked(ip)
    }

    /// Checks what can be checked without DNS: scheme, userinfo, port, and literal IP hosts.
    pub fn check_url(&self, url: &str) -> Result<Url, SsrfError> {
        let parsed = Url::parse(url).map_err(|_| SsrfError::MalformedUrl)?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(SsrfError::MalformedUrl);
        }
        let literal = match parsed.host() {
            None => return Err(SsrfError::MalformedUrl),
            Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(Host::Domain(_)) => None,
        };
        let loopback_host = literal.map_or_else(
            || {
                parsed
                    .host_str()
                    .is_some_and(|h| h.eq_ignore_ascii_case("localhost"))
            },
            address::is_loopback,
        );
        match parsed.scheme() {
            "https" => {}
            "http" if self.allow_loopback && loopback_host => {}
            _ => return Err(SsrfError::SchemeNotAllowed),
        }
        if let (Some(ports), Some(port)) = (&self.allowed_ports, parsed.port_or_known_default())
            && !ports.contains(&port)
        {
            return Err(SsrfError::PortNotAllowed);
        }
        if let Some(ip) = literal
            && !self.permits(ip)
        {
            return Err(SsrfError::AddressBlocked(ip));
        }
        Ok(parsed)
    }
}

/// The boxed future a [`HostLookup`] returns.
pub type LookupFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Resolves a host name to addresses; the system resolver by default, replaceable in tests.
pub trait HostLookup: Send + Sync + fmt::Debug {
    /// Every address `host` resolves to.
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo` via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl HostLookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A `reqwest` resolver that refuses a host when any of its addresses is blocked, and otherwise
/// returns exactly the addresses it checked.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: SsrfPolicy,
    lookup: Arc<dyn HostLookup>,
}

impl GuardedResolver {
    /// A resolver enforcing `policy` over `lookup`'s answers.
    pub fn new(policy: SsrfPolicy, lookup: Arc<dyn HostLookup>) -> Self {
        Self { policy, lookup }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let lookup = Arc::clone(&self.lookup);
        Box::pin(async move {
            let addresses = lookup.lookup(name.as_str()).await?;
            if addresses.is_empty() {
                return Err(
                    Box::new(SsrfError::NoAddress) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            if let Some(blocked) = addresses.iter().copied().find(|ip| !policy.permits(*ip)) {
                return Err(Box::new(SsrfError::AddressBlocked(blocked))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            let checked: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(checked)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_metadata_and_mapped_addresses_are_blocked() {
        let strict = SsrfPolicy::strict();
        for ip in [
            "10.1.2.3",
            "127.0.0.1",
            "169.254.169.254",
            "100.100.100.200",
            "172.31.255.255",
            "192.168.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "0.0.0.0",
            "::1",
            "::",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "64:ff9b:1::a00:1",
            "64:ff9b:1::5db8:d822",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "::ffff:0:5db8:d822",
            "64:ff9b::7f00:1",
        ] {
            assert!(!strict.permits(ip.parse().unwrap()), "{ip} must be blocked");
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "::ffff:93.184.216.34",
        ] {
            assert!(strict.permits(ip.parse().unwrap()), "{ip} must be allowed");
        }
    }

    #[test]
    fn loopback_allow_list_opens_loopback_only() {
        let dev = SsrfPolicy::strict().allow_loopback();
        assert!(dev.permits("127.0.0.1".parse().unwrap()));
        assert!(dev.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!dev.permits("10.0.0.1".parse().unwrap()));
        assert!(!dev.permits("169.254.169.254".parse().unwrap()));
    }

    #[test]
    fn urls_are_checked_for_scheme_userinfo_port_and_literal_ips() {
        let strict = SsrfPolicy::strict();
        assert_eq!(
            strict.check_url("http://example.com/h").unwrap_err(),
            SsrfError::SchemeNotAllowed
        );
        assert_eq!(
            strict.check_url("https://u:p@example.com/h").unwrap_err(),
            SsrfError::MalformedUrl
        );
        assert!(matches!(
            strict.check_url("https://10.0.0.7/h"),
            Err(SsrfError::AddressBlocked(_))
        ));
        assert!(matches!(
            strict.check_url("https://[::ffff:127.0.0.1]/h"),
            Err(SsrfError::AddressBlocked(_))
        ));
        assert!(strict.check_url("https://example.com/h?q=1").is_ok());
        let dev = SsrfPolicy::strict().allow_loopback();
        assert!(dev.check_url("http://127.0.0.1:9/h").is_ok());
        assert_eq!(
            dev.check_url("http://example.com/h").unwrap_err(),
            SsrfError::SchemeNotAllowed
        );
        let hardened = SsrfPolicy::strict().with_allowed_ports([443, 8443]);
        assert_eq!(
            hardened.check_url("https://example.com:9443/").unwrap_err(),
            SsrfError::PortNotAllowed
        );
    }
}
