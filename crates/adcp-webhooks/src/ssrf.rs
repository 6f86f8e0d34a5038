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
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// IPv4 ranges no webhook may reach (RFC 6890 special-purpose, private, shared, metadata).
const BLOCKED_V4: &[Ipv4Net] = &[
    Ipv4Net::new_assert(Ipv4Addr::UNSPECIFIED, 8),
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8),
    Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10),
    Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16),
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 88, 99, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16),
    Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15),
    Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(203, 0, 113, 0), 24),
    Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4),
    Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4),
];

const LOOPBACK_V4: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8);

/// IPv6 ranges no webhook may reach (unspecified, ULA incl. AWS `fd00:ec2::254`, link- and
/// site-local, multicast, documentation, discard).
const BLOCKED_V6: &[Ipv6Net] = &[
    Ipv6Net::new_assert(Ipv6Addr::UNSPECIFIED, 128),
    Ipv6Net::new_assert(Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64),
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32),
    Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
    Ipv6Net::new_assert(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
    Ipv6Net::new_assert(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
    Ipv6Net::new_assert(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
];

/// IPv6 prefixes that embed an IPv4 address, which is checked in its place.
const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x0064, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);
const V4_COMPATIBLE: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::UNSPECIFIED, 96);

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

fn loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => LOOPBACK_V4.contains(&v4),
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

/// The IPv4 address an IPv6 address stands for, if it embeds one.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let o = v6.octets();
    if NAT64.contains(&v6) || (V4_COMPATIBLE.contains(&v6) && v6 != Ipv6Addr::LOCALHOST) {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if SIX_TO_FOUR.contains(&v6) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
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

    /// Whether the policy permits connecting to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
            IpAddr::V4(_) => ip,
        };
        if loopback(ip) {
            return self.allow_loopback;
        }
        match ip {
            IpAddr::V4(v4) => !BLOCKED_V4.iter().any(|net| net.contains(&v4)),
            IpAddr::V6(v6) => !BLOCKED_V6.iter().any(|net| net.contains(&v6)),
        }
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
            |ip| loopback(embedded_v4_or_self(ip)),
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

fn embedded_v4_or_self(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
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
