//! The little the runner adds to a storyboard's `sample_request` before sending it, every
//! change recorded as a note on the step so the report shows exactly what reached the wire.
//!
//! - An `idempotency_key` on mutating tools that lack one (unless the step says
//!   `omit_idempotency_key`), as the reference runner does.
//! - For `create_media_buy` on steps that expect success: flight dates the storyboard authored
//!   in the past are moved into a window starting a day after the run started (the same window
//!   for every step of the run, so a replay stays byte-identical), and a missing body
//!   (`brand`, `account`, dates, `packages`) is filled from the storyboard's own account and a
//!   product the agent returned from `get_products`. Storyboards such as `webhook-emission`
//!   author only the envelope fields and rely on this. Steps that expect an error are sent
//!   exactly as written.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// A product chosen to fill `create_media_buy.packages`.
#[derive(Debug, Clone)]
pub struct DiscoveredProduct {
    /// `product_id`.
    pub product_id: String,
    /// The first pricing option.
    pub pricing_option: Value,
}

/// Adds an `idempotency_key` when the tool is mutating and the request has none.
pub fn ensure_idempotency_key(
    request: &mut Value,
    mutating: bool,
    omit: bool,
    notes: &mut Vec<String>,
) {
    if omit || !mutating {
        return;
    }
    let Value::Object(map) = request else { return };
    let present = map
        .get("idempotency_key")
        .and_then(Value::as_str)
        .is_some_and(|k| !k.is_empty());
    if !present {
        map.insert(
            "idempotency_key".into(),
            json!(uuid::Uuid::new_v4().to_string()),
        );
        notes.push("added a fresh idempotency_key (mutating tool)".into());
    }
}

/// The run-relative flight window: a day after the run started, for `days` days.
fn window(run_start: DateTime<Utc>, duration: Duration) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = run_start + Duration::days(1);
    (start, start + duration)
}

fn stamp(t: DateTime<Utc>) -> Value {
    json!(t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

fn parse(value: Option<&Value>) -> Option<DateTime<Utc>> {
    value
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Moves stale flight dates into the run window.
pub fn refresh_flight_dates(
    request: &mut Value,
    run_start: DateTime<Utc>,
    notes: &mut Vec<String>,
) {
    let Value::Object(map) = request else { return };
    let start = parse(map.get("start_time"));
    let end = parse(map.get("end_time"));
    let asap = map.get("start_time").and_then(Value::as_str) == Some("asap");
    let duration = match (start, end) {
        (Some(s), Some(e)) if e > s => e - s,
        _ => Duration::days(7),
    };
    let (fresh_start, fresh_end) = window(run_start, duration);
    let mut new_start = start;
    if let Some(s) = start
        && s < run_start
    {
        new_start = Some(fresh_start);
        map.insert("start_time".into(), stamp(fresh_start));
        notes.push(format!("moved past start_time {s} to {fresh_start}"));
    }
    if let Some(e) = end {
        let floor = if asap {
            run_start
        } else {
            new_start.unwrap_or(run_start)
        };
        if e < run_start || e <= floor {
            let moved = if e < run_start {
                fresh_end
            } else {
                floor + duration
            };
            map.insert("end_time".into(), stamp(moved));
            notes.push(format!("moved end_time {e} to {moved}"));
        }
    }
}

/// Fills a `create_media_buy` request that lacks its body.
pub fn fill_create_media_buy(
    request: &mut Value,
    account: &Value,
    run_start: DateTime<Utc>,
    product: Option<&DiscoveredProduct>,
    notes: &mut Vec<String>,
) {
    let Value::Object(map) = request else { return };
    let mut added = Vec::new();
    if !map.contains_key("account") {
        map.insert("account".into(), account.clone());
        added.push("account");
    }
    if !map.contains_key("brand")
        && let Some(brand) = account.get("brand")
    {
        map.insert("brand".into(), brand.clone());
        added.push("brand");
    }
    let (start, end) = window(run_start, Duration::days(7));
    if !map.contains_key("start_time") {
        map.insert("start_time".into(), stamp(start));
        added.push("start_time");
    }
    if !map.contains_key("end_time") {
        map.insert("end_time".into(), stamp(end));
        added.push("end_time");
    }
    if !map.contains_key("packages")
        && !map.contains_key("proposal_id")
        && let Some(product) = product
    {
        map.insert("packages".into(), json!([package_for(product)]));
        added.push("packages");
        notes.push(format!(
            "packages synthesized from discovered product {}",
            product.product_id
        ));
    }
    if !added.is_empty() {
        notes.push(format!(
            "filled missing create_media_buy fields: {}",
            added.join(", ")
        ));
    }
}

fn package_for(product: &DiscoveredProduct) -> Value {
    let option = &product.pricing_option;
    let mut package = Map::new();
    package.insert("product_id".into(), json!(product.product_id));
    if let Some(id) = option.get("pricing_option_id") {
        package.insert("pricing_option_id".into(), id.clone());
    }
    let min_spend = option
        .get("min_spend_per_package")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    package.insert("budget".into(), json!(min_spend.max(1000.0)));
    if option.get("fixed_price").is_none()
        && let Some(floor) = option.get("floor_price").and_then(Value::as_f64)
    {
        package.insert("bid_price".into(), json!((floor * 150.0).round() / 100.0));
    }
    Value::Object(package)
}

/// Picks the first product with a pricing option from a `get_products` response.
pub fn discovered_product(response: &Value) -> Option<DiscoveredProduct> {
    response
        .get("products")?
        .as_array()?
        .iter()
        .find_map(|product| {
            let product_id = product.get("product_id")?.as_str()?.to_owned();
            let pricing_option = product.get("pricing_options")?.as_array()?.first()?.clone();
            Some(DiscoveredProduct {
                product_id,
                pricing_option,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn stale_dates_move_into_one_run_window_and_future_ones_stay() {
        let mut notes = Vec::new();
        let mut a =
            json!({"start_time": "2026-07-01T00:00:00Z", "end_time": "2026-07-31T23:59:59Z"});
        let mut b = a.clone();
        refresh_flight_dates(&mut a, run_start(), &mut notes);
        refresh_flight_dates(&mut b, run_start(), &mut notes);
        assert_eq!(a, b, "replays must stay byte-identical");
        assert_eq!(a["start_time"], "2026-11-27T12:00:00Z");
        assert!(parse(a.get("end_time")).unwrap() > parse(a.get("start_time")).unwrap());
        let mut future =
            json!({"start_time": "2027-01-01T00:00:00Z", "end_time": "2027-02-01T00:00:00Z"});
        let before = future.clone();
        refresh_flight_dates(&mut future, run_start(), &mut notes);
        assert_eq!(future, before);
    }

    #[test]
    fn idempotency_keys_are_added_only_where_needed() {
        let mut notes = Vec::new();
        let mut request = json!({});
        ensure_idempotency_key(&mut request, true, true, &mut notes);
        assert!(request.get("idempotency_key").is_none());
        ensure_idempotency_key(&mut request, false, false, &mut notes);
        assert!(request.get("idempotency_key").is_none());
        ensure_idempotency_key(&mut request, true, false, &mut notes);
        assert!(request.get("idempotency_key").is_some());
        let mut kept = json!({"idempotency_key": "k-1234567890123456"});
        ensure_idempotency_key(&mut kept, true, false, &mut notes);
        assert_eq!(kept["idempotency_key"], "k-1234567890123456");
    }

    #[test]
    fn an_envelope_only_create_media_buy_is_filled() {
        let mut notes = Vec::new();
        let mut request =
            json!({"push_notification_config": {"url": "http://x"}, "idempotency_key": "k"});
        let product = discovered_product(
            &json!({"products": [{"product_id": "p1", "pricing_options": [{"pricing_option_id": "po", "floor_price": 5.0}]}]}),
        );
        fill_create_media_buy(
            &mut request,
            &json!({"brand": {"domain": "acmeoutdoor.example"}, "operator": "o.example", "sandbox": true}),
            run_start(),
            product.as_ref(),
            &mut notes,
        );
        assert_eq!(request["brand"], json!({"domain": "acmeoutdoor.example"}));
        assert_eq!(request["packages"][0]["product_id"], "p1");
        assert_eq!(request["packages"][0]["bid_price"], 7.5);
        assert!(request.get("start_time").is_some());
        assert!(!notes.is_empty());
    }
}
