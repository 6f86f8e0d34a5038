//! The clock a record's times are read against: wall time for live accounts, and for sandbox
//! accounts a fixed, documented sandbox clock.
//!
//! The rc.9 storyboards date their flights in 2026 (`2026-04-01` to `2027-08-31`), while a
//! machine running them may be later than some of those dates. Graded against wall time, a
//! storyboard would pass or fail depending on the day it ran. Sandbox accounts therefore read
//! the sandbox clock: [`SANDBOX_EPOCH`] (`2026-03-01T00:00:00Z`, before every dated storyboard
//! flight) plus the real time elapsed since the process first read it, so time still advances
//! (a buy's `confirmed_at` precedes later changes) while every storyboard date stays in the
//! future for a month of uptime.

use std::sync::LazyLock;
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};

/// The sandbox clock's first reading, in seconds since the Unix epoch: 2026-03-01T00:00:00Z.
pub(crate) const SANDBOX_EPOCH: i64 = 1_772_323_200;

/// When the process first read the sandbox clock.
static FIRST_READ: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Now, for a record of a sandbox (`true`) or live (`false`) account.
pub(crate) fn now(sandbox: bool) -> DateTime<Utc> {
    if !sandbox {
        return Utc::now();
    }
    let epoch = DateTime::from_timestamp(SANDBOX_EPOCH, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let elapsed = TimeDelta::from_std(FIRST_READ.elapsed()).unwrap_or(TimeDelta::zero());
    epoch.checked_add_signed(elapsed).unwrap_or(epoch)
}

/// `time` as the wire carries it: RFC 3339 in UTC, whole seconds.
pub(crate) fn wire(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_clock_starts_before_every_dated_storyboard_flight() {
        let first = now(true);
        assert!(wire(first).starts_with("2026-03-01T"), "{}", wire(first));
        assert!(now(true) >= first, "the sandbox clock advances");
    }

    #[test]
    fn live_accounts_read_wall_time() {
        let before = Utc::now();
        assert!(now(false) >= before);
    }
}
