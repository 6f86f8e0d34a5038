//! One self-contained document per validator: the root schema with every document its `$ref`s
//! reach, transitively, under `definitions` (keyed by the document's path in the set), and
//! every such `$ref` rewritten to point inside.
//!
//! Why: `jsonschema` caches a `$ref` target's compiled node by its URI *and the chain of base
//! URIs walked to reach it*. Across documents that chain differs on every path, so a schema
//! such as `core/product.json`, reached along many paths, was compiled once per path (the
//! `get_products` response validator held 9.5 MB). Inside one document the chain stays the same,
//! so each target compiles once and is shared. Verdicts are unchanged: draft 7 resolves a
//! pointer into a definition exactly as it resolves the same pointer into the file.
//!
//! A reference that is neither a path in the set nor a JSON Pointer fragment (an absolute URL
//! elsewhere, a plain-name anchor) is left as written: the compile then goes through the
//! set's retriever, which serves only the set and refuses anything else.
//!
//! What it assumes of a schema set, all true of AdCP 3.1.0-rc.9 (every schema a manifest tool
//! names compiles, and bundled and unbundled validators agree, in the tests): no sub-schema
//! carries an `$id` of its own (it would change what the rewritten pointers resolve against);
//! no other document refers back to a root the caller derived (`validator_opening`), since such
//! a reference lands on the derived root; and a root-relative reference holds no `..`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{BASE, Documents, ValidateError};
use crate::manifest::ADCP_VERSION;
use crate::schema_tree::for_each_schema;

/// `root` (the schema at `path`, or a form of it derived by the caller) with every document
/// it reaches embedded and every reference rewritten; see the module docs.
pub(super) fn bundle(
    mut root: Value,
    path: &str,
    documents: &Documents,
) -> Result<Value, ValidateError> {
    let mut pending = Vec::new();
    rewrite(&mut root, path, path, &mut pending);
    let mut embedded: BTreeMap<String, Value> = BTreeMap::new();
    while let Some(target) = pending.pop() {
        if target == path || embedded.contains_key(&target) {
            continue;
        }
        let mut document = documents.parse(&target)?;
        if let Some(map) = document.as_object_mut() {
            // Its base is now the bundle's: every reference inside was rewritten against it.
            map.remove("$id");
            map.remove("$schema");
        }
        rewrite(&mut document, &target, path, &mut pending);
        embedded.insert(target, document);
    }
    let Some(map) = root.as_object_mut() else {
        return Ok(root);
    };
    map.remove("$id");
    if !embedded.is_empty() {
        let definitions = map
            .entry("definitions")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(definitions) = definitions {
            // A key is a path with a `/` or a `.json`: never one of a schema's own names.
            definitions.extend(embedded);
        }
    }
    Ok(root)
}

/// Rewrites every `$ref` in `schema` (the document at `at`) that names a document of the set
/// or a pointer into one; queues each document named other than `root`.
fn rewrite(schema: &mut Value, at: &str, root: &str, pending: &mut Vec<String>) {
    for_each_schema(schema, &mut |map| {
        let Some(Value::String(reference)) = map.get_mut("$ref") else {
            return;
        };
        let (document, fragment) = reference
            .split_once('#')
            .unwrap_or((reference.as_str(), ""));
        if !(fragment.is_empty() || fragment.starts_with('/')) {
            return;
        }
        let Some(target) = resolve(at, document) else {
            return;
        };
        let rewritten = if target == root {
            format!("#{fragment}")
        } else {
            format!("#/definitions/{}{fragment}", escape(&target))
        };
        *reference = rewritten;
        if target != root {
            pending.push(target);
        }
    });
}

/// The set path `reference` (without its fragment) names from the document at `at`: the same
/// document when empty, a root-relative `/schemas/<version>/...` or absolute URI of the set, or
/// a path relative to `at`'s folder. `None` for anything outside the set.
fn resolve(at: &str, reference: &str) -> Option<String> {
    if reference.is_empty() {
        return Some(at.to_owned());
    }
    let in_set = |path: &str| {
        path.strip_prefix("/schemas/")
            .and_then(|rest| rest.strip_prefix(ADCP_VERSION))
            .and_then(|rest| rest.strip_prefix('/'))
            .map(str::to_owned)
    };
    if let Some(path) = reference.strip_prefix(BASE) {
        return in_set(path);
    }
    if reference.starts_with('/') {
        return in_set(reference);
    }
    if reference.contains(':') {
        return None;
    }
    let mut segments: Vec<&str> = at.split('/').collect();
    segments.pop();
    for segment in reference.split('/') {
        match segment {
            "." | "" => {}
            ".." => {
                segments.pop()?;
            }
            name => segments.push(name),
        }
    }
    Some(segments.join("/"))
}

/// `path` as one JSON Pointer segment (RFC 6901).
fn escape(path: &str) -> String {
    path.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::json;

    use super::*;

    fn documents(files: &[(&'static str, Value)]) -> Documents {
        let mut files: Vec<(Cow<'static, str>, Cow<'static, str>)> = files
            .iter()
            .map(|(name, value)| (Cow::Borrowed(*name), Cow::Owned(value.to_string())))
            .collect();
        files.sort();
        Documents { files }
    }

    #[test]
    fn references_are_resolved_like_uris_within_the_set() {
        let v = ADCP_VERSION;
        assert_eq!(resolve("core/a.json", ""), Some("core/a.json".into()));
        assert_eq!(
            resolve("core/a.json", &format!("/schemas/{v}/enums/b.json")),
            Some("enums/b.json".into())
        );
        assert_eq!(
            resolve("core/a.json", &format!("{BASE}/schemas/{v}/enums/b.json")),
            Some("enums/b.json".into())
        );
        assert_eq!(
            resolve("media-buy/x/a.json", "../../core/b.json"),
            Some("core/b.json".into())
        );
        assert_eq!(
            resolve("core/a.json", "./b.json"),
            Some("core/b.json".into())
        );
        assert_eq!(resolve("core/a.json", "/schemas/0.0.1/b.json"), None);
        assert_eq!(resolve("core/a.json", "https://example.com/b.json"), None);
        assert_eq!(resolve("a.json", "../b.json"), None);
    }

    #[test]
    fn every_reached_document_is_embedded_once_and_pointed_at() {
        let v = ADCP_VERSION;
        let set = documents(&[
            (
                "core/product.json",
                json!({"$id": format!("/schemas/{v}/core/product.json"), "type": "object",
                       "properties": {"format": {"$ref": "format.json"},
                                      "id": {"$ref": "#/definitions/id"},
                                      "$ref": {"type": "string"}},
                       "definitions": {"id": {"type": "string"}}}),
            ),
            (
                "core/format.json",
                json!({"$id": format!("/schemas/{v}/core/format.json"),
                       "enum": [{"$ref": "data, not a reference"}],
                       "allOf": [{"$ref": format!("/schemas/{v}/core/product.json#/definitions/id")}]}),
            ),
            (
                "list.json",
                json!({"type": "array",
                       "items": {"$ref": format!("/schemas/{v}/core/product.json")},
                       "contains": {"$ref": "core/format.json"}}),
            ),
        ]);
        let root = set.parse("list.json").unwrap();
        let bundled = bundle(root, "list.json", &set).unwrap();
        assert_eq!(
            bundled,
            json!({
                "type": "array",
                "items": {"$ref": "#/definitions/core~1product.json"},
                "contains": {"$ref": "#/definitions/core~1format.json"},
                "definitions": {
                    "core/product.json": {"type": "object",
                        "properties": {"format": {"$ref": "#/definitions/core~1format.json"},
                                       "id": {"$ref": "#/definitions/core~1product.json/definitions/id"},
                                       "$ref": {"type": "string"}},
                        "definitions": {"id": {"type": "string"}}},
                    "core/format.json": {
                        "enum": [{"$ref": "data, not a reference"}],
                        "allOf": [{"$ref": "#/definitions/core~1product.json/definitions/id"}]}
                }
            })
        );
    }

    #[test]
    fn a_reference_back_to_the_root_points_at_the_root() {
        let set = documents(&[
            ("a.json", json!({"items": {"$ref": "b.json"}})),
            ("b.json", json!({"not": {"$ref": "a.json#/items"}})),
        ]);
        let bundled = bundle(set.parse("a.json").unwrap(), "a.json", &set).unwrap();
        assert_eq!(
            bundled,
            json!({"items": {"$ref": "#/definitions/b.json"},
                   "definitions": {"b.json": {"not": {"$ref": "#/items"}}}})
        );
    }
}
