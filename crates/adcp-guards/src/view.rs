//! Lenient, typed reads of single fields out of a JSON object.
//!
//! The server is lenient on input: the guards read only the fields their rules need and ignore
//! everything else. A field that is absent or JSON `null` reads as absent; a field with the wrong
//! type becomes a [`Rejection`] naming that field, never a panic.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::rule::{Rejection, Rule};

/// One JSON object and the JSONPath-lite path that leads to it (empty for the request root).
#[derive(Debug, Clone)]
pub(crate) struct ObjectView<'a> {
    map: &'a Map<String, Value>,
    path: String,
    /// The rule a type error inside this object is reported under.
    rule: Rule,
}

impl<'a> ObjectView<'a> {
    /// A view of `map` located at `path`; type errors inside it are reported under `rule`.
    pub(crate) fn new(map: &'a Map<String, Value>, path: impl Into<String>, rule: Rule) -> Self {
        Self {
            map,
            path: path.into(),
            rule,
        }
    }

    /// The path of `key` inside this object.
    pub(crate) fn path_of(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The raw value of `key`, `None` when absent or `null`.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// Whether `key` is present with a non-null value.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.raw(key).is_some()
    }

    /// Reads `key` as `T`; `expected` completes the sentence "`field` must be ...".
    pub(crate) fn read<T: Deserialize<'a>>(
        &self,
        key: &str,
        expected: &str,
    ) -> Result<Option<T>, Rejection> {
        let Some(value) = self.raw(key) else {
            return Ok(None);
        };
        T::deserialize(value)
            .map(Some)
            .map_err(|_| self.type_error(key, expected))
    }

    /// Reads `key` as a string.
    pub(crate) fn string(&self, key: &str) -> Result<Option<&'a str>, Rejection> {
        self.read::<&'a str>(key, "a string")
    }

    /// Reads `key` as an array.
    pub(crate) fn array(&self, key: &str) -> Result<Option<&'a [Value]>, Rejection> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.as_slice())),
            Some(_) => Err(self.type_error(key, "an array")),
        }
    }

    /// Reads `key` as a nested object.
    pub(crate) fn object(&self, key: &str) -> Result<Option<ObjectView<'a>>, Rejection> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Object(map)) => {
                Ok(Some(ObjectView::new(map, self.path_of(key), self.rule)))
            }
            Some(_) => Err(self.type_error(key, "an object")),
        }
    }

    /// The rejection for `key` having the wrong type.
    pub(crate) fn type_error(&self, key: &str, expected: &str) -> Rejection {
        let field = self.path_of(key);
        Rejection::new(
            self.rule,
            format!("`{field}` must be {expected}."),
            Some(field),
        )
    }
}

/// `parent.key`, or `key` at the root.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The number of Unicode scalar values in `text`, as JSON Schema's `minLength` counts them.
pub(crate) fn char_len(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: &Value) -> &Map<String, Value> {
        value.as_object().unwrap()
    }

    #[test]
    fn null_and_absent_read_as_absent() {
        let value = json!({ "a": null });
        let view = ObjectView::new(map(&value), "", Rule::MalformedField);
        assert_eq!(view.string("a").unwrap(), None);
        assert_eq!(view.string("b").unwrap(), None);
        assert!(!view.has("a"));
    }

    #[test]
    fn wrong_type_names_the_nested_field() {
        let value = json!({ "token": 5 });
        let view = ObjectView::new(
            map(&value),
            "push_notification_config",
            Rule::PushConfigInvalid,
        );
        let rejection = view.string("token").unwrap_err();
        assert_eq!(rejection.rule(), Rule::PushConfigInvalid);
        assert_eq!(
            rejection.error().field.as_deref(),
            Some("push_notification_config.token")
        );
    }

    #[test]
    fn strings_are_borrowed_and_arrays_checked() {
        let value = json!({ "s": "x", "a": [1], "o": {} });
        let view = ObjectView::new(map(&value), "", Rule::MalformedField);
        assert_eq!(view.string("s").unwrap(), Some("x"));
        assert_eq!(view.array("a").unwrap().map(<[Value]>::len), Some(1));
        assert!(view.array("s").is_err());
        assert!(view.object("o").unwrap().is_some());
        assert!(view.object("a").is_err());
    }

    #[test]
    fn char_len_counts_scalars_not_bytes() {
        assert_eq!(char_len("é€"), 2);
    }
}
