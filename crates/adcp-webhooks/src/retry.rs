//! What one delivery attempt came to, and when to try again.
//!
//! 2xx is delivered. 408, 425, 429, 5xx, timeouts and connection errors are retried with
//! exponential backoff and full jitter until the horizon. Everything else (other 4xx, 3xx since
//! redirects are never followed, a 401 carrying `WWW-Authenticate: Signature error=...`, an
//! SSRF refusal) is terminal for the delivery.

use std::time::Duration;

/// The class of a failed attempt; stored and logged, never carrying URL or secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// The receiver answered with this non-2xx status.
    HttpStatus(u16),
    /// The receiver rejected the signature (`401` with `WWW-Authenticate: Signature error=...`).
    SignatureRejected,
    /// Connect or total timeout.
    Timeout,
    /// The connection could not be established or broke.
    Connect,
    /// The destination was refused by the SSRF policy.
    SsrfBlocked,
    /// The URL cannot be used, or the delivery cannot be authenticated as registered.
    Misconfigured,
    /// Any other transport error.
    Transport,
}

impl FailureKind {
    /// A stable, log-safe label (`http_503`, `timeout`, `ssrf_blocked`, ...).
    pub fn label(self) -> String {
        match self {
            Self::HttpStatus(status) => format!("http_{status}"),
            Self::SignatureRejected => "signature_rejected".into(),
            Self::Timeout => "timeout".into(),
            Self::Connect => "connect".into(),
            Self::SsrfBlocked => "ssrf_blocked".into(),
            Self::Misconfigured => "misconfigured".into(),
            Self::Transport => "transport".into(),
        }
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The receiver answered 2xx.
    Delivered,
    /// Worth another attempt later.
    Retryable(FailureKind),
    /// Never worth another attempt of this delivery.
    Terminal(FailureKind),
}

impl AttemptOutcome {
    /// A log-safe label: `delivered`, `retryable:<kind>`, `terminal:<kind>`.
    pub fn label(self) -> String {
        match self {
            Self::Delivered => "delivered".into(),
            Self::Retryable(kind) => format!("retryable:{}", kind.label()),
            Self::Terminal(kind) => format!("terminal:{}", kind.label()),
        }
    }
}

/// Classifies an HTTP response status (and its `WWW-Authenticate` header for 401).
pub fn classify_status(status: u16, www_authenticate: Option<&str>) -> AttemptOutcome {
    match status {
        200..=299 => AttemptOutcome::Delivered,
        408 | 425 | 429 | 500..=599 => AttemptOutcome::Retryable(FailureKind::HttpStatus(status)),
        401 if www_authenticate.is_some_and(is_signature_challenge) => {
            AttemptOutcome::Terminal(FailureKind::SignatureRejected)
        }
        _ => AttemptOutcome::Terminal(FailureKind::HttpStatus(status)),
    }
}

fn is_signature_challenge(header: &str) -> bool {
    let header = header.trim_start();
    header.len() >= 9 && header[..9].eq_ignore_ascii_case("signature") && header.contains("error=")
}

/// Backoff between attempts of one delivery, and how long to keep trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The ceiling of the first retry's delay.
    pub base_delay: Duration,
    /// The largest ceiling any retry's delay can have.
    pub max_delay: Duration,
    /// How long after enqueueing a delivery is still attempted (default 24 h).
    pub horizon: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_hours(1),
            horizon: Duration::from_hours(24),
        }
    }
}

impl RetryPolicy {
    /// The delay before the attempt after `attempts_made` failed ones: uniformly random in
    /// `[0, min(max_delay, base_delay * 2^(attempts_made - 1))]` (full jitter), but never shorter
    /// than the receiver's `Retry-After` (itself capped at `max_delay`).
    pub fn delay_after(&self, attempts_made: u32, retry_after: Option<Duration>) -> Duration {
        let exponent = attempts_made.saturating_sub(1).min(31);
        let ceiling = self
            .base_delay
            .saturating_mul(1_u32 << exponent)
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(rand::random::<f64>());
        retry_after.map_or(jittered, |ra| jittered.max(ra.min(self.max_delay)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_per_the_delivery_rules() {
        assert_eq!(classify_status(204, None), AttemptOutcome::Delivered);
        for retry in [408, 425, 429, 500, 503, 599] {
            assert_eq!(
                classify_status(retry, None),
                AttemptOutcome::Retryable(FailureKind::HttpStatus(retry))
            );
        }
        for terminal in [301, 400, 403, 404, 409, 410, 422] {
            assert_eq!(
                classify_status(terminal, None),
                AttemptOutcome::Terminal(FailureKind::HttpStatus(terminal))
            );
        }
        assert_eq!(
            classify_status(401, Some("Signature error=\"webhook_signature_invalid\"")),
            AttemptOutcome::Terminal(FailureKind::SignatureRejected)
        );
        assert_eq!(
            classify_status(401, Some("Bearer")),
            AttemptOutcome::Terminal(FailureKind::HttpStatus(401))
        );
    }

    #[test]
    fn delays_grow_within_full_jitter_bounds_and_respect_retry_after() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        for _ in 0..200 {
            assert!(policy.delay_after(1, None) <= Duration::from_millis(100));
            assert!(policy.delay_after(3, None) <= Duration::from_millis(400));
            assert!(policy.delay_after(40, None) <= Duration::from_secs(2));
            assert!(policy.delay_after(1, Some(Duration::from_secs(1))) >= Duration::from_secs(1));
            assert!(policy.delay_after(1, Some(Duration::from_mins(1))) <= Duration::from_secs(2));
        }
        let samples: Vec<_> = (0..50).map(|_| policy.delay_after(5, None)).collect();
        assert!(
            samples.iter().any(|d| *d != samples[0]),
            "delays are jittered"
        );
    }
}
