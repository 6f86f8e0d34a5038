//! The one table of IP address ranges no webhook may reach, shared by the request-time guard
//! (an IP-literal push URL is refused before any task exists) and the delivery-time SSRF guard
//! in `adcp-webhooks` (every resolved address is checked before connecting).
//!
//! Pure functions over [`IpAddr`]: no I/O, no DNS. An IPv6 address that embeds an IPv4 address
//! (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 well-known prefix
//! `64:ff9b::/96`, 6to4 `2002::/16`) is judged by the IPv4 address it stands for, so a private
//! IPv4 address cannot be smuggled in an IPv6 spelling. Prefixes whose embedded address is not at
//! a fixed place, or that only reach local networks (IPv4-translated `::ffff:0:0:0/96`, NAT64
//! local-use `64:ff9b:1::/48`, the IETF protocol block `2001::/23` with Teredo `2001::/32`), are
//! blocked whole.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An IPv4 prefix: network address and length.
type V4Net = (Ipv4Addr, u32);
/// An IPv6 prefix: network address and length.
type V6Net = (Ipv6Addr, u32);

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u32) -> V4Net {
    (Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u32) -> V6Net {
    (
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    )
}

/// IPv4 ranges no webhook may reach: RFC 6890 special-purpose, private, shared (CGNAT),
/// link-local (cloud metadata `169.254.169.254`), loopback, documentation, benchmarking,
/// multicast and reserved.
const BLOCKED_V4: &[V4Net] = &[
    v4(0, 0, 0, 0, 8),
    v4(10, 0, 0, 0, 8),
    v4(100, 64, 0, 0, 10),
    v4(127, 0, 0, 0, 8),
    v4(169, 254, 0, 0, 16),
    v4(172, 16, 0, 0, 12),
    v4(192, 0, 0, 0, 24),
    v4(192, 0, 2, 0, 24),
    v4(192, 88, 99, 0, 24),
    v4(192, 168, 0, 0, 16),
    v4(198, 18, 0, 0, 15),
    v4(198, 51, 100, 0, 24),
    v4(203, 0, 113, 0, 24),
    v4(224, 0, 0, 0, 4),
    v4(240, 0, 0, 0, 4),
];

/// IPv6 ranges no webhook may reach, whatever address they might embed.
const BLOCKED_V6: &[V6Net] = &[
    // Unspecified and loopback.
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128),
    // IPv4-translated (SIIT, RFC 2765): only meaningful inside a translator's network.
    v6([0, 0, 0, 0, 0xffff, 0, 0, 0], 96),
    // NAT64 local-use prefix (RFC 8215): a site's own translator.
    v6([0x0064, 0xff9b, 0x0001, 0, 0, 0, 0, 0], 48),
    // Discard-only (RFC 6666).
    v6([0x0100, 0, 0, 0, 0, 0, 0, 0], 64),
    // IETF protocol assignments (RFC 2928), including Teredo 2001::/32 (RFC 4380).
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
    // Documentation (RFC 3849, RFC 9637).
    v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0], 32),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20),
    // Unique local (incl. AWS `fd00:ec2::254`), link-local, deprecated site-local, multicast.
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8),
];

/// IPv4-mapped `::ffff:0:0/96`.
const MAPPED: V6Net = v6([0, 0, 0, 0, 0, 0xffff, 0, 0], 96);
/// IPv4-compatible `::/96` (deprecated).
const COMPATIBLE: V6Net = v6([0, 0, 0, 0, 0, 0, 0, 0], 96);
/// NAT64 well-known prefix `64:ff9b::/96` (RFC 6052).
const NAT64: V6Net = v6([0x0064, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
/// 6to4 `2002::/16` (RFC 3056): the IPv4 address is bits 16..48.
const SIX_TO_FOUR: V6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

fn in_v4(ip: Ipv4Addr, (net, len): V4Net) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): V6Net) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    ip.to_bits() & mask == net.to_bits() & mask
}

/// The IPv4 address an IPv6 address stands for, when it embeds one at a fixed place:
/// IPv4-mapped, IPv4-compatible (except `::` and `::1`), the NAT64 well-known prefix, 6to4.
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let o = ip.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    if in_v6(ip, MAPPED) || in_v6(ip, NAT64) {
        return Some(low);
    }
    if in_v6(ip, COMPATIBLE) && ip != Ipv6Addr::UNSPECIFIED && ip != Ipv6Addr::LOCALHOST {
        return Some(low);
    }
    if in_v6(ip, SIX_TO_FOUR) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// Whether `ip` is in a range no webhook may reach, loopback included. IPv6 spellings of an
/// IPv4 address (see [`embedded_ipv4`]) are judged by that IPv4 address.
///
/// Guarantees: every address for which [`is_loopback`] holds is blocked, so callers that allow
/// loopback in development test [`is_loopback`] first and fall back to this.
pub fn is_blocked(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => BLOCKED_V4.iter().any(|net| in_v4(v4, *net)),
        IpAddr::V6(v6) => {
            BLOCKED_V6.iter().any(|net| in_v6(v6, *net))
                || embedded_ipv4(v6).is_some_and(|v4| is_blocked(IpAddr::V4(v4)))
        }
    }
}

/// Whether `ip` is this host's loopback: `127.0.0.0/8`, `::1`, or `127.0.0.0/8` IPv4-mapped
/// (which dual-stack sockets deliver to the IPv4 loopback). Translator prefixes that embed
/// `127.x` (NAT64, 6to4) are not loopback: they are blocked like any other embedded address.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6 == Ipv6Addr::LOCALHOST || (in_v6(v6, MAPPED) && embedded_is_loopback(v6))
        }
    }
}

fn embedded_is_loopback(v6: Ipv6Addr) -> bool {
    v6.octets()[12] == 127
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocked(ip: &str) -> bool {
        is_blocked(ip.parse().expect("test address"))
    }

    #[test]
    fn private_loopback_metadata_and_reserved_v4_are_blocked() {
        for ip in [
            "0.0.0.0",
            "0.255.255.255",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.0",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.0",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
        for ip in [
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "93.184.216.34",
            "8.8.8.8",
        ] {
            assert!(!blocked(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn special_v6_ranges_are_blocked() {
        for ip in [
            "::",
            "::1",
            "100::1",
            "2001:db8::1",
            "3fff::1",
            "3fff:fff:ffff::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
        for ip in [
            "2606:2800:220:1:248:1893:25c8:1946",
            "2a00:1450:4001::1",
            "3fff:1000::1",
        ] {
            assert!(!blocked(ip), "{ip} must be allowed");
        }
    }

    #[test]
    fn nat64_local_use_is_blocked_whole_with_boundaries() {
        for ip in [
            "64:ff9b:1::",
            "64:ff9b:1::a00:1",
            "64:ff9b:1::5db8:d822",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
        // Just outside the /48, and not the well-known /96 either.
        assert!(!blocked("64:ff9b:2::5db8:d822"));
        assert!(!blocked("64:ff9a:ffff:ffff:ffff:ffff:ffff:ffff"));
    }

    #[test]
    fn ietf_protocol_block_and_teredo_are_blocked_whole_with_boundaries() {
        for ip in [
            "2001::",
            "2001::1",
            // Teredo, whatever IPv4 it obfuscates (here a public server and client).
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:1::1",
            "2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
        assert!(!blocked("2001:200::1"), "first address after 2001::/23");
        assert!(!blocked("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    }

    #[test]
    fn ipv4_translated_is_blocked_whole_with_boundaries() {
        for ip in ["::ffff:0:0:0", "::ffff:0:5db8:d822", "::ffff:0:ffff:ffff"] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
        // `::fffe:ffff:ffff` and `::1:0:0:0` sit on either side of the /96.
        assert!(!blocked("::1:0:0:0"));
    }

    #[test]
    fn embedded_ipv4_is_judged_as_ipv4() {
        for ip in [
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::",
            "2002:a9fe:a9fe::1",
        ] {
            assert!(blocked(ip), "{ip} must be blocked");
        }
        for ip in [
            "::ffff:93.184.216.34",
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
        ] {
            assert!(!blocked(ip), "{ip} must be allowed");
        }
        assert_eq!(
            embedded_ipv4("2002:c0a8:101::".parse().unwrap()),
            Some(Ipv4Addr::new(192, 168, 1, 1))
        );
        assert_eq!(embedded_ipv4("::1".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("2606:2800::1".parse().unwrap()), None);
    }

    #[test]
    fn loopback_is_blocked_and_recognised() {
        for ip in ["127.0.0.1", "127.255.255.254", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_loopback(ip), "{ip}");
            assert!(is_blocked(ip), "{ip}");
        }
        for ip in ["64:ff9b::7f00:1", "2002:7f00:1::", "10.0.0.1", "::2"] {
            assert!(!is_loopback(ip.parse().unwrap()), "{ip}");
        }
    }
}
