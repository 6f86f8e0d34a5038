//! Receiving webhooks: a local receiver, what each one is verified against, and how a
//! delivery is printed.

pub(crate) mod receiver;
pub(crate) mod trust;

use serde_json::{Map, Value, json};

pub(crate) use receiver::{Delivery, Receiver};
pub(crate) use trust::{Trust, TrustArgs, Verdict};

use crate::output;

/// Headers never printed: they carry the receiver's own credentials.
const SECRET_HEADERS: [&str; 2] = ["authorization", "cookie"];

/// Prints one delivery and its verdict on standard output: a heading, the verdict and the
/// pretty payload; or, with `json`, one JSON object on one line (`received_at`, `path`,
/// `target_uri`, `verdict`, `scheme`, `detail`, `headers`, `payload`, and `body`: the raw body
/// as text, the exact bytes the signature covers).
pub(crate) fn print_delivery(index: usize, delivery: &Delivery, verdict: &Verdict, json: bool) {
    let payload = delivery
        .json()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&delivery.body).into_owned()));
    if json {
        output::print_json(&delivery_json(delivery, verdict, &payload), false);
        return;
    }
    let label = match verdict.outcome {
        "pass" => output::verdict_label(true),
        "fail" => output::verdict_label(false),
        _ => output::dim("UNCHECKED"),
    };
    output::print_out(&format!(
        "{} {}",
        output::heading(&format!("── webhook {index} · POST {}", delivery.path)),
        output::dim(&delivery.received_at)
    ));
    output::print_out(&format!(
        "{label} {} {}",
        output::dim(verdict.scheme),
        verdict.detail
    ));
    output::print_json(&payload, true);
}

/// The JSON form of a delivery (see [`print_delivery`]).
pub(crate) fn delivery_json(delivery: &Delivery, verdict: &Verdict, payload: &Value) -> Value {
    let mut headers = Map::new();
    for (name, value) in &delivery.headers {
        if SECRET_HEADERS.contains(&name.as_str()) {
            continue;
        }
        let joined = match headers.get(name).and_then(Value::as_str) {
            Some(before) => format!("{before}, {value}"),
            None => value.clone(),
        };
        headers.insert(name.clone(), Value::String(joined));
    }
    json!({
        "received_at": delivery.received_at,
        "path": delivery.path,
        "target_uri": delivery.target_uri,
        "verdict": verdict.outcome,
        "scheme": verdict.scheme,
        "detail": verdict.detail,
        "headers": headers,
        "payload": payload,
        "body": String::from_utf8_lossy(&delivery.body),
    })
}

/// The task status a webhook payload reports (`status`), if any.
pub(crate) fn status_of(payload: &Value) -> Option<&str> {
    payload.get("status").and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_never_printed() {
        let delivery = Delivery {
            path: "/h".into(),
            target_uri: "http://127.0.0.1:1/h".into(),
            headers: vec![
                ("authorization".into(), "Bearer secret".into()),
                ("x-a".into(), "1".into()),
                ("x-a".into(), "2".into()),
            ],
            body: "{}".into(),
            received_at: String::new(),
        };
        let verdict = Verdict {
            outcome: "pass",
            scheme: "rfc9421",
            detail: String::new(),
        };
        let printed = delivery_json(&delivery, &verdict, &json!({}));
        assert!(printed["headers"].get("authorization").is_none());
        assert_eq!(printed["headers"]["x-a"], "1, 2");
        assert_eq!(printed["verdict"], "pass");
    }
}
