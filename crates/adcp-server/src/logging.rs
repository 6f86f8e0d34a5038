//! Logging that never writes a secret, whatever `RUST_LOG` says.
//!
//! The SDK's own crates never log a bearer token, a push credential or a URL query string, at
//! any level. Dependencies do: rmcp logs whole tool arguments (push configs included) at
//! `debug`, and three lines per request at `info`. [`SecretSafe`] wraps any
//! [`Filter`] (typically an `EnvFilter` from `RUST_LOG`) and lets through only:
//! - every level from the SDK's crates (`adcp_*`) and from the targets you trust
//!   ([`SecretSafe::trust`], e.g. your seller's crate);
//! - `info` and above from other crates, except rmcp: `warn` and above.
//!
//! So `RUST_LOG=trace` shows the SDK's spans and events in full, and nothing that could carry
//! a buyer's secret. [`init`] installs it with the usual formatter; the demo seller uses it.

use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Level, Metadata};
use tracing_subscriber::layer::{Context, Filter};

/// The target prefixes that always pass: the SDK's own crates.
const SDK_TARGETS: &[&str] = &["adcp_"];

/// Dependencies that log request payloads at `info`: capped at `warn`.
const PAYLOAD_AT_INFO: &[&str] = &["rmcp"];

/// A [`Filter`] that caps dependencies' verbosity so their payload dumps never reach the
/// output; see the module docs.
#[derive(Debug, Clone)]
pub struct SecretSafe<F> {
    inner: F,
    trusted: Vec<String>,
}

impl<F> SecretSafe<F> {
    /// Wraps `inner` (which still decides everything it lets through, within the caps).
    pub fn new(inner: F) -> Self {
        Self {
            inner,
            trusted: Vec::new(),
        }
    }

    /// Lets every level of targets starting with `prefix` through (your own crate, which you
    /// vouch never logs secrets).
    #[must_use]
    pub fn trust(mut self, prefix: impl Into<String>) -> Self {
        self.trusted.push(prefix.into());
        self
    }

    /// Whether a callsite may ever be enabled, whatever `inner` says.
    fn permits(&self, metadata: &Metadata<'_>) -> bool {
        let target = metadata.target();
        let trusted = SDK_TARGETS.iter().any(|p| target.starts_with(p))
            || self.trusted.iter().any(|p| target.starts_with(p.as_str()));
        if trusted {
            return true;
        }
        let cap = if PAYLOAD_AT_INFO.iter().any(|p| target.starts_with(p)) {
            Level::WARN
        } else {
            Level::INFO
        };
        // tracing orders levels by verbosity: TRACE > DEBUG > INFO > WARN > ERROR.
        *metadata.level() <= cap
    }
}

impl<S, F: Filter<S>> Filter<S> for SecretSafe<F> {
    fn enabled(&self, metadata: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        self.permits(metadata) && self.inner.enabled(metadata, cx)
    }

    fn callsite_enabled(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.permits(metadata) {
            self.inner.callsite_enabled(metadata)
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }
}

/// Installs a global subscriber writing human-readable lines to stderr, filtered by `RUST_LOG`
/// (or `default_directives` when unset, e.g. `"info"`) inside [`SecretSafe`], trusting the
/// `trusted` target prefixes as well. Fails if a global subscriber is already installed.
pub fn init(
    default_directives: &str,
    trusted: &[&str],
) -> Result<(), tracing_subscriber::util::TryInitError> {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_directives));
    let filter = trusted
        .iter()
        .fold(SecretSafe::new(env), |filter, prefix| filter.trust(*prefix));
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(filter),
        )
        .try_init()
}

#[cfg(test)]
mod tests {
    use tracing::callsite::Identifier;
    use tracing::field::FieldSet;
    use tracing::metadata::Kind;

    use super::*;

    struct Site;
    impl tracing::Callsite for Site {
        fn set_interest(&self, _: Interest) {}
        fn metadata(&self) -> &Metadata<'_> {
            unreachable!("not registered")
        }
    }
    static SITE: Site = Site;

    fn meta(target: &'static str, level: Level) -> Metadata<'static> {
        Metadata::new(
            "event",
            target,
            level,
            None,
            None,
            None,
            FieldSet::new(&[], Identifier(&SITE)),
            Kind::EVENT,
        )
    }

    #[test]
    fn dependencies_are_capped_and_the_sdk_is_not() {
        let filter = SecretSafe::new(()).trust("my_seller");
        assert!(filter.permits(&meta("adcp_server::dispatch", Level::TRACE)));
        assert!(filter.permits(&meta("my_seller::sales", Level::DEBUG)));
        assert!(!filter.permits(&meta("rmcp::service", Level::DEBUG)));
        assert!(!filter.permits(&meta("rmcp::service", Level::INFO)));
        assert!(filter.permits(&meta("rmcp::service", Level::WARN)));
        assert!(!filter.permits(&meta("hyper::proto", Level::TRACE)));
        assert!(!filter.permits(&meta("reqwest::connect", Level::DEBUG)));
        assert!(filter.permits(&meta("sqlx::query", Level::INFO)));
    }
}
