//! The `Host` allow-list (DNS-rebinding protection), parsed once when the router is built and
//! consulted on every request to `/mcp`, `/a2a` and the agent card.

use axum::http::{HeaderMap, Uri, header};

/// [`crate::HttpConfig::allowed_hosts`], parsed: each entry's host (lower case, without IPv6
/// brackets) and its port, if it names one.
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts {
    entries: Vec<(String, Option<u16>)>,
}

impl AllowedHosts {
    /// Parses `hosts` (`name`, `name:port`, `[v6]:port` or a bare IPv6 address). An entry
    /// without a port matches any port; an empty list allows every host.
    pub(crate) fn new(hosts: &[String]) -> Self {
        let entries = hosts
            .iter()
            .map(|allowed| allowed.trim())
            .map(|allowed| match allowed.parse::<http::uri::Authority>() {
                Ok(authority) => (bare(authority.host()), authority.port_u16()),
                // A bare IPv6 address (`::1`) is not an authority without brackets.
                Err(_) => (bare(allowed), None),
            })
            .collect();
        Self { entries }
    }

    /// Whether the request's `Host` header (or, without one, the authority of its URI, as
    /// HTTP/2 carries it) names an allowed host; a request naming no readable host is not
    /// allowed unless the list is empty.
    pub(crate) fn allows(&self, uri: &Uri, headers: &HeaderMap) -> bool {
        if self.entries.is_empty() {
            return true;
        }
        let named = match headers.get(header::HOST) {
            Some(value) => value.to_str().ok().and_then(split_host),
            None => uri
                .authority()
                .and_then(|authority| split_host(authority.as_str())),
        };
        let Some((name, port)) = named else {
            return false;
        };
        self.entries.iter().any(|(allowed, allowed_port)| {
            allowed.eq_ignore_ascii_case(name) && allowed_port.is_none_or(|p| port == Some(p))
        })
    }
}

/// The host and port a `Host` value (or an HTTP/2 authority) names: `name`, `name:port`,
/// `[v6]` or `[v6]:port`, read in place (this runs on every request). `None` for anything else:
/// user info (a `Host` header carries none), a port that is not a number up to 65535, a
/// bracketed name that is not an IPv6 address, percent-encoding or spaces in a name.
fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if let Some(bracketed) = value.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']')?;
        address.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            after => Some(after.strip_prefix(':')?),
        };
        (address, port)
    } else {
        let (name, port) = match value.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value, None),
        };
        let well_formed = |c: char| c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=".contains(c);
        if name.is_empty() || !name.chars().all(well_formed) {
            return None;
        }
        (name, port)
    };
    let port = match port {
        None | Some("") => None,
        Some(port) if port.bytes().all(|b| b.is_ascii_digit()) => Some(port.parse().ok()?),
        Some(_) => return None,
    };
    Some((name, port))
}

/// A host name as compared: lower case, without the brackets of an IPv6 literal.
fn bare(host: &str) -> String {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with_host(host: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(host) {
            headers.insert(header::HOST, value);
        }
        headers
    }

    #[test]
    fn entries_match_by_name_and_port() {
        let hosts = AllowedHosts::new(&[
            "localhost".into(),
            "127.0.0.1".into(),
            "::1".into(),
            " Seller.Example:8443 ".into(),
        ]);
        for allowed in [
            "localhost",
            "LOCALHOST:3000",
            "127.0.0.1:80",
            "[::1]:9000",
            "[::1]",
            "localhost:",
            "seller.example:8443",
        ] {
            assert!(
                hosts.allows(&Uri::default(), &with_host(allowed)),
                "{allowed}"
            );
        }
        for refused in [
            "evil.example",
            "seller.example",
            "seller.example:443",
            "localhost.evil.example",
            "not a host",
            "evil@localhost",
            "localhost:99999",
            "localhost:80x",
            "localhost:80:81",
            "[::1]x",
            "[::1",
            "::1",
            ":80",
            "local%68ost",
            "localhost.",
            "local host",
            "local\thost",
            "[]",
            "[localhost]",
        ] {
            assert!(
                !hosts.allows(&Uri::default(), &with_host(refused)),
                "{refused}"
            );
        }
        assert!(
            !hosts.allows(&Uri::default(), &HeaderMap::new()),
            "no host at all"
        );
        // HTTP/2 names the host in the URI's authority, with no `Host` header.
        let h2 = |uri: &str| uri.parse::<Uri>().unwrap_or_default();
        assert!(hosts.allows(&h2("http://localhost:3001/mcp"), &HeaderMap::new()));
        assert!(!hosts.allows(&h2("http://evil.example/mcp"), &HeaderMap::new()));
        assert!(!hosts.allows(&h2("http://evil@localhost/mcp"), &HeaderMap::new()));
        assert!(!hosts.allows(&h2("http://localhost:99999/mcp"), &HeaderMap::new()));
        assert!(hosts.allows(&h2("http://[::1]:3001/mcp"), &HeaderMap::new()));
        // A `Host` header, when present, is what counts.
        assert!(!hosts.allows(&h2("http://localhost/mcp"), &with_host("evil.example")));
    }

    #[test]
    fn an_empty_list_allows_every_host() {
        let hosts = AllowedHosts::new(&[]);
        assert!(hosts.allows(&Uri::default(), &with_host("anything.example")));
        assert!(hosts.allows(&Uri::default(), &HeaderMap::new()));
    }
}
