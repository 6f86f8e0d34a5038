//! A per-host circuit breaker for the in-memory supervisor and the PostgreSQL outbox worker:
//! after repeated failures a host is left alone for a while, then probed with one delivery at a
//! time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

/// When a host's circuit opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive retryable failures that open the circuit.
    pub failure_threshold: u32,
    /// How long an open circuit defers deliveries before one probe is let through.
    pub open_for: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        Self {
            failure_threshold: 5,
            open_for: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Default)]
struct HostState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    probing: bool,
}

/// Circuit state of every host seen.
#[derive(Debug, Default)]
pub(crate) struct Breakers {
    policy: BreakerPolicy,
    hosts: HashMap<String, HostState>,
}

impl Breakers {
    pub(crate) fn new(policy: BreakerPolicy) -> Self {
        Self {
            policy,
            hosts: HashMap::new(),
        }
    }

    /// `Ok` when a delivery to `host` may go now, else the instant to defer it to.
    pub(crate) fn admit(&mut self, host: &str, now: Instant) -> Result<(), Instant> {
        let Some(state) = self.hosts.get_mut(host) else {
            return Ok(());
        };
        match state.open_until {
            None => Ok(()),
            Some(until) if until > now => Err(until),
            Some(_) if state.probing => Err(now + self.policy.open_for.min(Duration::from_secs(1))),
            Some(_) => {
                state.probing = true;
                Ok(())
            }
        }
    }

    /// The host answered (2xx, or a terminal 4xx: it is up).
    pub(crate) fn record_success(&mut self, host: &str) {
        self.hosts.remove(host);
    }

    /// A retryable failure (5xx, timeout, connection error).
    pub(crate) fn record_failure(&mut self, host: &str, now: Instant) {
        let state = self.hosts.entry(host.to_owned()).or_default();
        state.consecutive_failures += 1;
        if state.probing || state.consecutive_failures >= self.policy.failure_threshold {
            state.open_until = Some(now + self.policy.open_for);
            state.probing = false;
        }
    }

    /// The hosts [`Breakers::admit`] would refuse at `now` (circuit open, or its one probe
    /// already let through), and the hosts whose circuit would let exactly one probe through.
    /// (The PostgreSQL outbox worker leaves the first out of its claims.)
    #[cfg(any(feature = "postgres", test))]
    pub(crate) fn paused_and_probing(&self, now: Instant) -> (Vec<&str>, Vec<&str>) {
        let mut paused = Vec::new();
        let mut probe = Vec::new();
        for (host, state) in &self.hosts {
            match state.open_until {
                Some(until) if until > now || state.probing => paused.push(host.as_str()),
                Some(_) => probe.push(host.as_str()),
                None => {}
            }
        }
        (paused, probe)
    }

    /// Whether `host`'s circuit is currently open.
    #[cfg(test)]
    pub(crate) fn is_open(&self, host: &str, now: Instant) -> bool {
        self.hosts
            .get(host)
            .and_then(|s| s.open_until)
            .is_some_and(|until| until > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_threshold_then_lets_one_probe_through() {
        let policy = BreakerPolicy {
            failure_threshold: 2,
            open_for: Duration::from_secs(10),
        };
        let mut breakers = Breakers::new(policy);
        let t0 = Instant::now();
        assert!(breakers.admit("h", t0).is_ok());
        breakers.record_failure("h", t0);
        assert!(breakers.admit("h", t0).is_ok());
        breakers.record_failure("h", t0);
        assert!(breakers.is_open("h", t0));
        assert_eq!(breakers.admit("h", t0), Err(t0 + Duration::from_secs(10)));
        assert!(breakers.admit("other", t0).is_ok());
        let later = t0 + Duration::from_secs(11);
        assert!(breakers.admit("h", later).is_ok(), "half-open probe");
        assert!(
            breakers.admit("h", later).is_err(),
            "only one probe at a time"
        );
        breakers.record_failure("h", later);
        assert!(breakers.is_open("h", later));
        let much_later = later + Duration::from_secs(11);
        assert!(breakers.admit("h", much_later).is_ok());
        breakers.record_success("h");
        assert!(breakers.admit("h", much_later).is_ok());
        assert!(breakers.admit("h", much_later).is_ok());
    }

    #[test]
    fn paused_and_probing_hosts_follow_admit() {
        let policy = BreakerPolicy {
            failure_threshold: 1,
            open_for: Duration::from_secs(10),
        };
        let mut breakers = Breakers::new(policy);
        let t0 = Instant::now();
        breakers.record_failure("h", t0);
        assert_eq!(breakers.paused_and_probing(t0), (vec!["h"], vec![]));
        let later = t0 + Duration::from_secs(11);
        assert_eq!(breakers.paused_and_probing(later), (vec![], vec!["h"]));
        assert!(breakers.admit("h", later).is_ok());
        assert_eq!(breakers.paused_and_probing(later), (vec!["h"], vec![]));
        breakers.record_success("h");
        assert_eq!(breakers.paused_and_probing(later), (vec![], vec![]));
    }
}
