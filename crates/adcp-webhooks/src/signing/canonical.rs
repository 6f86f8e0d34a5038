//! AdCP URL canonicalization for the `@target-uri` and `@authority` components.
//!
//! Signer and verifier must derive byte-identical component values from a URL, so both call
//! this one function; it is checked on its own against the protocol's
//! `request-signing/canonicalization.json` vectors. The `url` crate does the WHATWG work
//! (lower-case scheme and host, IDNA to Punycode, default-port removal, dot segments); this
//! module adds what WHATWG parsing forgives but the profile rejects (empty authority, bare IPv6,
//! zone identifiers) and the RFC 3986 percent-encoding normalisation of the path.

use url::Url;

/// The canonical `@target-uri` and `@authority` of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalTarget {
    /// Scheme, host, non-default port, normalised path and the query bytes, without fragment.
    pub target_uri: String,
    /// Host and non-default port, as it appears in `target_uri`.
    pub authority: String,
}

/// Why a URL cannot be signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target URI is malformed: {reason}")]
pub struct TargetUriMalformed {
    /// A short, secret-free reason (never the URL itself).
    pub reason: &'static str,
}

const fn malformed(reason: &'static str) -> TargetUriMalformed {
    TargetUriMalformed { reason }
}

/// Canonicalizes `url` per the AdCP RFC 9421 profile.
///
/// Fails for URLs without an authority or host, with a bare or zone-scoped IPv6 literal, or that
/// the WHATWG parser rejects.
pub fn canonicalize_target(url: &str) -> Result<CanonicalTarget, TargetUriMalformed> {
    check_raw_authority(url)?;
    let parsed = Url::parse(url).map_err(|_| malformed("URL does not parse"))?;
    if parsed.cannot_be_a_base() {
        return Err(malformed("URL has no authority"));
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(malformed("authority missing host"))?;
    let authority = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    };
    let mut target_uri = format!("{}://{authority}", parsed.scheme());
    let path = parsed.path();
    if path.is_empty() {
        target_uri.push('/');
    } else {
        normalize_percent_encoding(path, &mut target_uri);
    }
    if let Some(query) = parsed.query() {
        target_uri.push('?');
        target_uri.push_str(query);
    }
    Ok(CanonicalTarget {
        target_uri,
        authority,
    })
}

/// Rejects authorities the WHATWG parser would silently repair.
fn check_raw_authority(url: &str) -> Result<(), TargetUriMalformed> {
    let (_, rest) = url
        .split_once("://")
        .ok_or(malformed("URL has no authority"))?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.is_empty() {
        return Err(malformed("empty authority"));
    }
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host_port.is_empty() || host_port.starts_with(':') {
        return Err(malformed("authority missing host"));
    }
    if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((literal, _)) = bracketed.split_once(']') else {
            return Err(malformed("IPv6 literal missing closing bracket"));
        };
        if literal.contains('%') {
            return Err(malformed("IPv6 zone identifier in signed URL"));
        }
    } else if host_port.matches(':').count() > 1 {
        return Err(malformed("IPv6 literal not bracketed"));
    }
    Ok(())
}

/// Upper-cases `%xx` hex digits and decodes percent-encoded unreserved characters
/// (RFC 3986 §6.2.2.1 and §6.2.2.2), leaving everything else byte for byte.
fn normalize_percent_encoding(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(hi), Some(lo)) = (hex_value(bytes[i + 1]), hex_value(bytes[i + 2]))
        {
            let decoded = hi * 16 + lo;
            if is_unreserved(decoded) {
                out.push(char::from(decoded));
            } else {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
            }
            i += 3;
            continue;
        }
        // The path is ASCII after WHATWG parsing (non-ASCII is percent-encoded), so a byte is a char.
        out.push(char::from(bytes[i]));
        i += 1;
    }
}

const fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

const fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_hex_in_path_is_uppercased_and_unreserved_is_decoded() {
        let t = canonicalize_target("https://Buyer.Example.com:443/a/%e2%98%83/%7Efoo%2f?b=2&a=1")
            .unwrap();
        assert_eq!(
            t.target_uri,
            "https://buyer.example.com/a/%E2%98%83/~foo%2F?b=2&a=1"
        );
        assert_eq!(t.authority, "buyer.example.com");
    }

    #[test]
    fn non_default_port_is_kept_in_both_components() {
        let t = canonicalize_target("http://127.0.0.1:8080/hook").unwrap();
        assert_eq!(t.target_uri, "http://127.0.0.1:8080/hook");
        assert_eq!(t.authority, "127.0.0.1:8080");
    }
}
