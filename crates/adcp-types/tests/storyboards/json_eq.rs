//! JSON comparison for round trips: numbers compare by value (`14` equals `14.0`), everything
//! else structurally. Differences name the RFC 6901 pointer and what happened there.

use serde_json::Value;

/// Every difference between the wire payload and its round trip, as readable lines.
pub(crate) fn differences(wire: &Value, round_tripped: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(wire, round_tripped, "", &mut out);
    out
}

fn walk(wire: &Value, back: &Value, pointer: &str, out: &mut Vec<String>) {
    match (wire, back) {
        (Value::Number(a), Value::Number(b)) => {
            let same = match (a.as_i64(), b.as_i64()) {
                (Some(x), Some(y)) => x == y,
                _ => a.as_f64() == b.as_f64(),
            };
            if !same {
                out.push(format!("{}: {a} became {b}", at(pointer)));
            }
        }
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                let child = format!("{pointer}/{}", escape(key));
                match b.get(key) {
                    Some(other) => walk(value, other, &child, out),
                    None => out.push(format!("{}: lost (was {})", at(&child), short(value))),
                }
            }
            for (key, value) in b {
                if !a.contains_key(key) {
                    let child = format!("{pointer}/{}", escape(key));
                    out.push(format!("{}: added {}", at(&child), short(value)));
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(x, y, &format!("{pointer}/{i}"), out);
            }
            if a.len() != b.len() {
                out.push(format!(
                    "{}: {} items became {}",
                    at(pointer),
                    a.len(),
                    b.len()
                ));
            }
        }
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{}: {} became {}", at(pointer), short(a), short(b))),
    }
}

fn at(pointer: &str) -> &str {
    if pointer.is_empty() {
        "<root>"
    } else {
        pointer
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 160 {
        format!("{}…", &text[..text.floor_char_boundary(160)])
    } else {
        text
    }
}

#[test]
fn numbers_compare_by_value_and_losses_are_named() {
    use serde_json::json;
    assert!(
        differences(
            &json!({"a": 14, "b": [1.5]}),
            &json!({"a": 14.0, "b": [1.5]})
        )
        .is_empty()
    );
    let diffs = differences(
        &json!({"a": {"x": 1, "y/z": 2}}),
        &json!({"a": {"x": 2}, "c": null}),
    );
    assert_eq!(
        diffs,
        [
            "/a/x: 1 became 2",
            "/a/y~1z: lost (was 2)",
            "/c: added null"
        ]
    );
}
