//! The JSON path dialect storyboards use to address response fields.
//!
//! Paths are dotted with bracketed indexes (`products[0].format_ids[0].id`), may index arrays
//! with a bare numeric segment (`result.products.0.product_id`, the webhook filter spelling),
//! may ask for an array's `length`, and may flatten arrays with `[*]` (or `[]`) where a check
//! accepts several values. The empty path addresses the whole document.

use serde_json::Value;

/// One step of a parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// An object key (or, on an array, a numeric index or `length`).
    Key(String),
    /// A bracketed array index.
    Index(usize),
    /// `[*]` or `[]`: every element of an array.
    Wildcard,
}

/// Longest path accepted; longer ones resolve to nothing rather than costing time.
const MAX_PATH_LEN: usize = 1024;

/// Most values a wildcard path may fan out to.
const MAX_FAN_OUT: usize = 10_000;

/// Splits `path` into segments. Malformed brackets are read as keys, so they simply fail to
/// resolve.
pub(crate) fn parse(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    if path.len() > MAX_PATH_LEN {
        return segments;
    }
    let mut key = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if !key.is_empty() {
                    segments.push(Segment::Key(std::mem::take(&mut key)));
                }
            }
            '[' => {
                if !key.is_empty() {
                    segments.push(Segment::Key(std::mem::take(&mut key)));
                }
                let mut inner = String::new();
                let mut closed = false;
                for d in chars.by_ref() {
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    inner.push(d);
                }
                if !closed {
                    key = format!("[{inner}");
                    continue;
                }
                match inner.as_str() {
                    "" | "*" => segments.push(Segment::Wildcard),
                    digits => match digits.parse::<usize>() {
                        Ok(i) => segments.push(Segment::Index(i)),
                        Err(_) => segments.push(Segment::Key(digits.to_owned())),
                    },
                }
            }
            other => key.push(other),
        }
    }
    if !key.is_empty() {
        segments.push(Segment::Key(key));
    }
    segments
}

/// Whether `path` uses the `[*]` / `[]` wildcard.
pub(crate) fn has_wildcard(path: &str) -> bool {
    parse(path).contains(&Segment::Wildcard)
}

/// The value at `path`, or `None` when any segment is missing. A wildcard never resolves here;
/// use [`resolve_all`].
pub(crate) fn resolve(root: &Value, path: &str) -> Option<Value> {
    let mut current = root.clone();
    for segment in parse(path) {
        current = step(&current, &segment)?;
    }
    Some(current)
}

/// Every value `path` reaches, flattening wildcards; absent branches contribute nothing.
pub(crate) fn resolve_all(root: &Value, path: &str) -> Vec<Value> {
    let mut frontier = vec![root.clone()];
    for segment in parse(path) {
        let mut next = Vec::new();
        for value in &frontier {
            if next.len() >= MAX_FAN_OUT {
                break;
            }
            if segment == Segment::Wildcard {
                if let Value::Array(items) = value {
                    next.extend(items.iter().take(MAX_FAN_OUT - next.len()).cloned());
                }
            } else if let Some(found) = step(value, &segment) {
                next.push(found);
            }
        }
        frontier = next;
    }
    frontier
}

fn step(current: &Value, segment: &Segment) -> Option<Value> {
    match (current, segment) {
        (Value::Array(items), Segment::Index(i)) => items.get(*i).cloned(),
        (Value::Array(items), Segment::Key(key)) => {
            if key == "length" {
                return Some(Value::from(items.len()));
            }
            key.parse::<usize>()
                .ok()
                .and_then(|i| items.get(i).cloned())
        }
        (Value::Object(map), Segment::Key(key)) => map.get(key).cloned(),
        _ => None,
    }
}

/// The RFC 6901 pointer spelling of `path` (`*` for a wildcard), for reports.
pub(crate) fn to_pointer(path: &str) -> String {
    let segments = parse(path);
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        match segment {
            Segment::Key(key) => out.push_str(&key.replace('~', "~0").replace('/', "~1")),
            Segment::Index(i) => out.push_str(&i.to_string()),
            Segment::Wildcard => out.push('*'),
        }
    }
    out
}

/// Writes `value` at `path`, creating objects and arrays on the way. Returns `false` when the
/// path crosses a scalar or uses a wildcard.
pub(crate) fn set(root: &mut Value, path: &str, value: Value) -> bool {
    let segments = parse(path);
    let Some((last, init)) = segments.split_last() else {
        *root = value;
        return true;
    };
    let mut current = root;
    for (i, segment) in init.iter().enumerate() {
        let next_is_index = matches!(segments.get(i + 1), Some(Segment::Index(_)));
        let fresh = || {
            if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(serde_json::Map::new())
            }
        };
        current = match segment {
            Segment::Key(key) => {
                let Value::Object(map) = current else {
                    return false;
                };
                let slot = map.entry(key.clone()).or_insert_with(fresh);
                if slot.is_null() {
                    *slot = fresh();
                }
                slot
            }
            Segment::Index(index) => {
                let Value::Array(items) = current else {
                    return false;
                };
                while items.len() <= *index {
                    items.push(Value::Null);
                }
                let slot = &mut items[*index];
                if slot.is_null() {
                    *slot = fresh();
                }
                slot
            }
            Segment::Wildcard => return false,
        };
    }
    match (current, last) {
        (Value::Object(map), Segment::Key(key)) => {
            map.insert(key.clone(), value);
            true
        }
        (Value::Array(items), Segment::Index(index)) => {
            while items.len() <= *index {
                items.push(Value::Null);
            }
            items[*index] = value;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_dotted_bracketed_and_numeric_segments() {
        let doc = json!({"products": [{"id": "a", "tags": ["x", "y"]}], "result": {"n": 0}});
        assert_eq!(resolve(&doc, "products[0].id"), Some(json!("a")));
        assert_eq!(resolve(&doc, "products.0.id"), Some(json!("a")));
        assert_eq!(resolve(&doc, "products[0].tags.length"), Some(json!(2)));
        assert_eq!(resolve(&doc, "result.n"), Some(json!(0)));
        assert_eq!(resolve(&doc, ""), Some(doc.clone()));
        assert_eq!(resolve(&doc, "products[1].id"), None);
        assert_eq!(resolve(&doc, "result.n.deeper"), None);
    }

    #[test]
    fn wildcards_flatten_arrays() {
        let doc = json!({"p": [{"f": [{"id": 1}, {"id": 2}]}, {"f": [{"id": 3}]}]});
        assert_eq!(
            resolve_all(&doc, "p[*].f[*].id"),
            vec![json!(1), json!(2), json!(3)]
        );
        assert!(has_wildcard("p[*].id"));
        assert!(!has_wildcard("p[0].id"));
        assert_eq!(resolve(&doc, "p[*]"), None);
    }

    #[test]
    fn pointers_escape_and_set_creates_structure() {
        assert_eq!(to_pointer("a/b.c[2]"), "/a~1b/c/2");
        let mut doc = json!({});
        assert!(set(&mut doc, "format_ids[0].id", json!("x")));
        assert_eq!(doc, json!({"format_ids": [{"id": "x"}]}));
        assert!(!set(&mut json!({"a": 1}), "a.b", json!(2)));
    }
}
