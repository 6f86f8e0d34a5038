//! The deprecated legacy schemes a buyer selects with `push_notification_config.authentication`:
//! HMAC-SHA256 over `"{timestamp}.{raw body}"`, and Bearer. Removed in AdCP 4.0.

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// Header carrying `sha256=<hex>`.
pub const HMAC_SIGNATURE_HEADER: &str = "x-adcp-signature";
/// Header carrying the Unix-seconds timestamp that was signed.
pub const HMAC_TIMESTAMP_HEADER: &str = "x-adcp-timestamp";
/// How far a receiver lets the timestamp drift, in seconds.
pub const HMAC_TOLERANCE_SECS: i64 = 300;

/// Why a legacy HMAC signature was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HmacError {
    /// A header is missing or not in the `sha256=<hex>` / integer form.
    #[error("legacy HMAC headers are missing or malformed")]
    Malformed,
    /// The timestamp is more than 300 s away from now.
    #[error("legacy HMAC timestamp is outside the tolerance")]
    Stale,
    /// The MAC does not match.
    #[error("legacy HMAC signature does not match")]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-ADCP-Signature` value (`sha256=<lower-case hex>`) for `body` sent at `timestamp`.
pub fn hmac_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    let mut out = String::with_capacity(7 + tag.len() * 2);
    out.push_str("sha256=");
    for byte in tag {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let digit = |b: u8| char::from(b).to_digit(16);
            u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()
        })
        .collect()
}

/// Checks a legacy HMAC webhook in constant time, with ±300 s on the timestamp.
pub fn verify_hmac(
    secret: &[u8],
    body: &[u8],
    timestamp_header: &str,
    signature_header: &str,
    now: i64,
) -> Result<(), HmacError> {
    let timestamp: i64 = timestamp_header
        .trim()
        .parse()
        .map_err(|_| HmacError::Malformed)?;
    let hex = signature_header
        .trim()
        .strip_prefix("sha256=")
        .ok_or(HmacError::Malformed)?;
    let claimed = decode_hex(hex).ok_or(HmacError::Malformed)?;
    if (now - timestamp).abs() > HMAC_TOLERANCE_SECS {
        return Err(HmacError::Stale);
    }
    mac(secret, timestamp, body)
        .verify_slice(&claimed)
        .map_err(|_| HmacError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_an_independent_computation_and_round_trips() {
        // Expected value computed independently with Python's hmac module.
        let secret = b"0123456789abcdef0123456789abcdef";
        let sig = hmac_signature(secret, 1_700_000_000, b"{\"a\":1}");
        assert_eq!(
            sig,
            "sha256=f05f2539e3ae1c49aec5f8cfdad75ef6b06480b133973ffbb7ec9e18827af177"
        );
        assert_eq!(
            verify_hmac(secret, b"{\"a\":1}", "1700000000", &sig, 1_700_000_100),
            Ok(())
        );
        assert_eq!(
            verify_hmac(secret, b"{\"a\":2}", "1700000000", &sig, 1_700_000_100),
            Err(HmacError::Mismatch)
        );
        assert_eq!(
            verify_hmac(secret, b"{\"a\":1}", "1700000000", &sig, 1_700_000_301),
            Err(HmacError::Stale)
        );
        assert_eq!(
            verify_hmac(secret, b"{}", "x", &sig, 0),
            Err(HmacError::Malformed)
        );
    }
}
