//! Flight-date rules of `create_media_buy`: a flight ends after it starts, a start in the past
//! is rejected or moved to now (never silently kept), and a package's own flight falls within
//! the buy's. The result is the normalised flight the seller stores and reports.
//!
//! The schema does not say what a past `start_time` means; the `schema_validation` storyboard
//! (`universal/schema-validation.yaml`, "Past start date") accepts either rejecting it with
//! `INVALID_REQUEST` or accepting it "and auto-adjust\[ing\] them forward to a legal flight
//! window", and fails a seller that silently keeps it. [`PastStart`] is that choice.
//!
//! Every function takes `now` rather than reading the clock, so a seller can run storyboards
//! dated in the past against a sandbox clock and tests stay deterministic.

use adcp_types::AdcpError;
use adcp_types::generated::{CreateMediaBuyRequest, PackageRequest, StartTiming};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

/// What a seller does with a `start_time` in the past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PastStart {
    /// Reject the buy with `INVALID_REQUEST` on `start_time` (the storyboard's reject path).
    Reject,
    /// Start the flight now instead (the storyboard's accept-and-adjust path); the buy is still
    /// rejected when its end is not after now.
    AdjustToNow,
}

/// A seller's flight-date policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlightPolicy {
    /// What a start in the past gets.
    pub past_start: PastStart,
    /// How far in the past a start may be and still count as "now": a buyer that sends the
    /// current time loses a little to the network, and that is not a past start. A start within
    /// the grace is kept as sent.
    pub grace: TimeDelta,
}

impl FlightPolicy {
    /// The default grace: five minutes.
    pub const DEFAULT_GRACE: TimeDelta = TimeDelta::minutes(5);

    /// Rejects past starts, with [`Self::DEFAULT_GRACE`].
    pub const fn reject_past_start() -> Self {
        Self {
            past_start: PastStart::Reject,
            grace: Self::DEFAULT_GRACE,
        }
    }

    /// Moves past starts to now, with [`Self::DEFAULT_GRACE`].
    pub const fn adjust_past_start() -> Self {
        Self {
            past_start: PastStart::AdjustToNow,
            grace: Self::DEFAULT_GRACE,
        }
    }
}

/// A media buy's normalised flight.
///
/// Guarantees: `start < end`; `start` is not before `now - grace` of the check that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flight {
    /// When the flight starts: the requested start, or now for `"asap"` and an adjusted start.
    pub start: DateTime<Utc>,
    /// When the flight ends, as requested.
    pub end: DateTime<Utc>,
    /// The buyer asked for `"asap"`.
    pub asap: bool,
    /// The requested start was in the past and was moved to now ([`PastStart::AdjustToNow`]).
    pub start_adjusted: bool,
}

impl Flight {
    /// `start` in RFC 3339 (UTC, `Z`), as `start_time` is stored and reported.
    pub fn start_time(&self) -> String {
        wire_time(self.start)
    }

    /// `end` in RFC 3339 (UTC, `Z`), as `end_time` is stored and reported.
    pub fn end_time(&self) -> String {
        wire_time(self.end)
    }
}

/// A package's normalised flight, inside its buy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageFlight {
    /// The package's start: its own `start_time`, else the buy's.
    pub start: DateTime<Utc>,
    /// The package's end: its own `end_time`, else the buy's.
    pub end: DateTime<Utc>,
    /// The package named its own start or end (rather than inheriting both).
    pub own_dates: bool,
}

/// Checks a `create_media_buy`'s `start_time` / `end_time` against `now` and returns the flight
/// to store.
///
/// Fails with `INVALID_REQUEST`:
/// - on `start_time` / `end_time` when it is not an RFC 3339 date-time (`"asap"` is the only
///   other start the schema allows: "Campaign start timing: 'asap' or ISO 8601 date-time");
/// - on `end_time` when the end is not after the requested start ("reversed dates must always
///   be rejected", `schema-validation.yaml`; `error-compliance.yaml` accepts `INVALID_REQUEST`
///   or `VALIDATION_ERROR`, `schema-validation.yaml` expects `INVALID_REQUEST`); this is checked
///   before the past-start rule, so a reversed flight is reported as reversed;
/// - on `start_time` when the start is more than `policy.grace` before `now` and the policy is
///   [`PastStart::Reject`];
/// - on `end_time` when the flight (after moving an `"asap"` or past start to now) would not
///   end after it starts.
pub fn check_flight(
    request: &CreateMediaBuyRequest,
    now: DateTime<Utc>,
    policy: FlightPolicy,
) -> Result<Flight, AdcpError> {
    let end = parse_time(&request.end_time, "end_time")?;
    let (StartTiming::Variant0(start) | StartTiming::Variant1(start)) = &request.start_time;
    let asap = start == "asap";
    let requested = if asap {
        None
    } else {
        Some(parse_time(start, "start_time")?)
    };
    if let Some(requested) = requested
        && end <= requested
    {
        return Err(AdcpError::invalid_request(format!(
            "end_time {} is not after start_time {}",
            request.end_time, start
        ))
        .with_field("end_time"));
    }
    let (start, start_adjusted) = match requested {
        None => (now, false),
        Some(requested) if requested >= earliest_start(now, policy) => (requested, false),
        Some(_) => match policy.past_start {
            PastStart::Reject => {
                return Err(AdcpError::invalid_request(format!(
                    "start_time {start} is in the past"
                ))
                .with_field("start_time")
                .with_suggestion("send a future start_time, or \"asap\""));
            }
            PastStart::AdjustToNow => (now, true),
        },
    };
    if end <= start {
        return Err(AdcpError::invalid_request(format!(
            "end_time {} is not in the future",
            request.end_time
        ))
        .with_field("end_time"));
    }
    Ok(Flight {
        start,
        end,
        asap,
        start_adjusted,
    })
}

/// Checks package `index`'s own `start_time` / `end_time` against its buy's `flight` and returns
/// the package's flight ("When omitted, the package inherits the media buy's start_time \[...\]
/// Must fall within the media buy's date range.").
///
/// A package start before the buy's adjusted start is moved to it under
/// [`PastStart::AdjustToNow`], like the buy's; under [`PastStart::Reject`] a package start in the
/// past is rejected like the buy's. Fails with `INVALID_REQUEST` naming
/// `packages[{index}].start_time` or `.end_time` when a date does not parse, falls outside the
/// buy's flight, or the package's end is not after its start.
pub fn check_package_flight(
    package: &PackageRequest,
    index: usize,
    flight: &Flight,
    now: DateTime<Utc>,
    policy: FlightPolicy,
) -> Result<PackageFlight, AdcpError> {
    let field = |name: &str| format!("packages[{index}].{name}");
    let own_start = package
        .start_time
        .as_deref()
        .map(|s| parse_time(s, &field("start_time")))
        .transpose()?;
    let own_end = package
        .end_time
        .as_deref()
        .map(|s| parse_time(s, &field("end_time")))
        .transpose()?;
    let mut start = own_start.unwrap_or(flight.start);
    if own_start.is_some() && start < earliest_start(now, policy) {
        match policy.past_start {
            PastStart::Reject => {
                return Err(
                    AdcpError::invalid_request("the package's start_time is in the past")
                        .with_field(field("start_time")),
                );
            }
            PastStart::AdjustToNow => start = start.max(flight.start),
        }
    }
    let end = own_end.unwrap_or(flight.end);
    if start < flight.start {
        return Err(AdcpError::invalid_request(format!(
            "the package starts before the media buy's start_time {}",
            flight.start_time()
        ))
        .with_field(field("start_time")));
    }
    if end > flight.end {
        return Err(AdcpError::invalid_request(format!(
            "the package ends after the media buy's end_time {}",
            flight.end_time()
        ))
        .with_field(field("end_time")));
    }
    if end <= start {
        return Err(AdcpError::invalid_request(
            "the package's end_time is not after its start_time",
        )
        .with_field(field("end_time")));
    }
    Ok(PackageFlight {
        start,
        end,
        own_dates: own_start.is_some() || own_end.is_some(),
    })
}

/// The earliest start that is not in the past: `now` less the policy's grace (the earliest
/// representable time if the grace reaches past it).
fn earliest_start(now: DateTime<Utc>, policy: FlightPolicy) -> DateTime<Utc> {
    now.checked_sub_signed(policy.grace)
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Parses an RFC 3339 date-time, or fails with `INVALID_REQUEST` naming `field`.
fn parse_time(value: &str, field: &str) -> Result<DateTime<Utc>, AdcpError> {
    DateTime::parse_from_rfc3339(value)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| {
            AdcpError::invalid_request(format!("`{field}` is not an RFC 3339 date-time"))
                .with_field(field.to_owned())
        })
}

/// A time as the wire carries it: RFC 3339 in UTC with `Z`, sub-seconds only when present.
fn wire_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::package;
    use adcp_types::codes;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn buy(start: &str, end: &str) -> CreateMediaBuyRequest {
        serde_json::from_value(json!({
            "idempotency_key": "flight-test-key-0001",
            "account": {"brand": {"domain": "acme.example"}, "operator": "agency.example"},
            "brand": {"domain": "acme.example"},
            "start_time": start,
            "end_time": end,
            "packages": [{"product_id": "p", "pricing_option_id": "cpm_usd", "budget": 1000}]
        }))
        .unwrap()
    }

    #[test]
    fn a_future_flight_is_kept_as_requested() {
        let flight = check_flight(
            &buy("2026-04-01T00:00:00Z", "2026-06-30T23:59:59Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap();
        assert_eq!(flight.start_time(), "2026-04-01T00:00:00Z");
        assert_eq!(flight.end_time(), "2026-06-30T23:59:59Z");
        assert!(!flight.asap && !flight.start_adjusted);
    }

    #[test]
    fn reversed_dates_are_rejected_with_invalid_request_on_end_time() {
        // error-compliance.yaml `reversed_dates_error`: start 2026-12-31, end 2026-01-01.
        for policy in [
            FlightPolicy::reject_past_start(),
            FlightPolicy::adjust_past_start(),
        ] {
            let error = check_flight(
                &buy("2026-12-31T00:00:00Z", "2026-01-01T00:00:00Z"),
                now(),
                policy,
            )
            .unwrap_err();
            assert_eq!(error.code, codes::INVALID_REQUEST);
            assert_eq!(error.field.as_deref(), Some("end_time"));
            assert!(error.message.contains("not after"), "{}", error.message);
        }
    }

    #[test]
    fn an_end_equal_to_the_start_is_reversed() {
        let error = check_flight(
            &buy("2026-04-01T00:00:00Z", "2026-04-01T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("end_time"));
    }

    #[test]
    fn a_past_start_is_rejected_under_the_reject_policy() {
        // schema-validation.yaml `create_buy_past_start_reject`: start 2020-01-01.
        let error = check_flight(
            &buy("2020-01-01T00:00:00Z", "2026-12-31T23:59:59Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.code, codes::INVALID_REQUEST);
        assert_eq!(error.field.as_deref(), Some("start_time"));
    }

    #[test]
    fn a_past_start_moves_to_now_under_the_adjust_policy() {
        let flight = check_flight(
            &buy("2020-01-01T00:00:00Z", "2026-12-31T23:59:59Z"),
            now(),
            FlightPolicy::adjust_past_start(),
        )
        .unwrap();
        assert_eq!(flight.start, now());
        assert!(flight.start_adjusted);
        assert_eq!(flight.end_time(), "2026-12-31T23:59:59Z");
    }

    #[test]
    fn an_adjusted_flight_that_already_ended_is_rejected_on_end_time() {
        let error = check_flight(
            &buy("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z"),
            now(),
            FlightPolicy::adjust_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("end_time"));
    }

    #[test]
    fn a_start_within_the_grace_is_not_in_the_past() {
        let flight = check_flight(
            &buy("2026-03-01T11:58:00Z", "2026-06-30T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap();
        assert_eq!(flight.start_time(), "2026-03-01T11:58:00Z");
        assert!(!flight.start_adjusted);
    }

    #[test]
    fn asap_starts_now() {
        let flight = check_flight(
            &buy("asap", "2026-06-30T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap();
        assert!(flight.asap);
        assert_eq!(flight.start, now());
        let error = check_flight(
            &buy("asap", "2026-01-01T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("end_time"));
    }

    #[test]
    fn an_unparseable_time_names_its_field() {
        let error = check_flight(
            &buy("2026-04-01", "2026-06-30T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("start_time"));
        let error = check_flight(
            &buy("2026-04-01T00:00:00Z", "soon"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("end_time"));
    }

    #[test]
    fn an_offset_time_is_normalised_to_utc() {
        let flight = check_flight(
            &buy("2026-04-01T02:00:00+02:00", "2026-06-30T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap();
        assert_eq!(flight.start_time(), "2026-04-01T00:00:00Z");
    }

    fn buy_flight() -> Flight {
        check_flight(
            &buy("2026-04-01T00:00:00Z", "2026-06-30T00:00:00Z"),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap()
    }

    #[test]
    fn a_package_without_dates_inherits_the_buys_flight() {
        let flight = buy_flight();
        let own = check_package_flight(
            &package(json!({})),
            0,
            &flight,
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap();
        assert_eq!((own.start, own.end), (flight.start, flight.end));
        assert!(!own.own_dates);
    }

    #[test]
    fn a_package_flight_must_fall_within_the_buys_date_range() {
        let flight = buy_flight();
        let policy = FlightPolicy::reject_past_start();
        let inside = package(
            json!({"start_time": "2026-05-01T00:00:00Z", "end_time": "2026-05-31T00:00:00Z"}),
        );
        assert!(
            check_package_flight(&inside, 0, &flight, now(), policy)
                .unwrap()
                .own_dates
        );
        let early = package(json!({"start_time": "2026-03-15T00:00:00Z"}));
        let error = check_package_flight(&early, 2, &flight, now(), policy).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[2].start_time"));
        let late = package(json!({"end_time": "2026-07-15T00:00:00Z"}));
        let error = check_package_flight(&late, 1, &flight, now(), policy).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[1].end_time"));
        let reversed = package(
            json!({"start_time": "2026-05-31T00:00:00Z", "end_time": "2026-05-01T00:00:00Z"}),
        );
        let error = check_package_flight(&reversed, 0, &flight, now(), policy).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[0].end_time"));
    }

    #[test]
    fn a_past_package_start_follows_the_policy() {
        let flight = check_flight(
            &buy("2020-01-01T00:00:00Z", "2026-06-30T00:00:00Z"),
            now(),
            FlightPolicy::adjust_past_start(),
        )
        .unwrap();
        let past = package(json!({"start_time": "2021-01-01T00:00:00Z"}));
        let own = check_package_flight(&past, 0, &flight, now(), FlightPolicy::adjust_past_start())
            .unwrap();
        assert_eq!(own.start, now());
        let error = check_package_flight(
            &past,
            0,
            &buy_flight(),
            now(),
            FlightPolicy::reject_past_start(),
        )
        .unwrap_err();
        assert_eq!(error.field.as_deref(), Some("packages[0].start_time"));
    }
}
