//! Walking the schema objects of a JSON Schema document (draft 7 keywords, plus the later
//! drafts' subschema keywords), and removing its annotations.
//!
//! [`for_each_schema`] visits the document's root and every subschema below it, and nothing
//! else: a property *named* `description` or `$ref` (a key of `properties`) is never taken for
//! a keyword, and values under `enum`, `const` and `default`, which are data, are never entered.
//!
//! [`strip_annotations`] removes `title`, `description`, `examples` and `$comment` from every
//! schema object. Annotations never change a verdict, yet `jsonschema` keeps them in every compiled
//! validator: the AdCP set is 2.45 MB minified with them and about 1 MB without, and its
//! validators shrink by about a third.
//!
//! The build script includes this file too (`#[path]`), so the embedded bundle and a folder
//! loaded at run time are stripped by the same rule.

use serde_json::{Map, Value};

/// The keywords removed from each schema object.
const ANNOTATIONS: [&str; 4] = ["title", "description", "examples", "$comment"];

/// Keywords whose value is one subschema.
const ONE_SCHEMA: [&str; 12] = [
    "additionalProperties",
    "additionalItems",
    "items",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
];

/// Keywords whose value is an array of subschemas.
const SCHEMA_ARRAYS: [&str; 5] = ["allOf", "anyOf", "oneOf", "items", "prefixItems"];

/// Keywords whose value maps names to subschemas (`dependencies` values that are arrays of
/// property names are left as they are).
const SCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "dependencies",
];

/// Calls `visit` with `schema` and then with every subschema below it, each a JSON object
/// (boolean schemas have nothing to visit).
pub(crate) fn for_each_schema(schema: &mut Value, visit: &mut impl FnMut(&mut Map<String, Value>)) {
    let Value::Object(map) = schema else {
        return;
    };
    visit(map);
    for keyword in ONE_SCHEMA {
        if let Some(sub) = map.get_mut(keyword).filter(|v| v.is_object()) {
            for_each_schema(sub, visit);
        }
    }
    for keyword in SCHEMA_ARRAYS {
        if let Some(Value::Array(subs)) = map.get_mut(keyword) {
            for sub in subs {
                for_each_schema(sub, visit);
            }
        }
    }
    for keyword in SCHEMA_MAPS {
        if let Some(Value::Object(subs)) = map.get_mut(keyword) {
            for sub in subs.values_mut() {
                for_each_schema(sub, visit);
            }
        }
    }
}

/// Strips the annotations of `schema` and of every subschema below it.
pub(crate) fn strip_annotations(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        for keyword in ANNOTATIONS {
            map.remove(keyword);
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::strip_annotations;

    #[test]
    fn annotations_go_and_properties_named_like_them_stay() {
        let mut schema = json!({
            "$comment": "internal",
            "title": "Product",
            "description": "A product",
            "examples": [{"title": "x"}],
            "type": "object",
            "properties": {
                "title": {"type": "string", "description": "The title"},
                "description": {"type": "string", "title": "Description"}
            },
            "required": ["title", "description"],
            "definitions": {"a": {"description": "gone", "enum": [{"description": "data"}]}},
            "anyOf": [{"title": "one", "const": {"title": "data"}}, true],
            "items": [{"description": "tuple"}],
            "additionalProperties": {"description": "extra", "default": {"description": "d"}},
            "dependencies": {"a": ["b"], "c": {"title": "dep"}}
        });
        strip_annotations(&mut schema);
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "description": {"type": "string"}
                },
                "required": ["title", "description"],
                "definitions": {"a": {"enum": [{"description": "data"}]}},
                "anyOf": [{"const": {"title": "data"}}, true],
                "items": [{}],
                "additionalProperties": {"default": {"description": "d"}},
                "dependencies": {"a": ["b"], "c": {}}
            })
        );
    }
}
