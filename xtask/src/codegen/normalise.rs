//! Prepares the AdCP schemas for typify 0.8.
//!
//! typify takes one document of `#/definitions/...`; it cannot follow cross-file `$ref`s, panics
//! on `if/then/else`, cannot merge `not` with `$ref`s, and loses data on some unions. Each pass
//! here removes one such obstacle, and every constraint it removes stays enforced by the runtime
//! validator (`adcp_types::validate`), which reads the original schemas:
//!
//! 1. [`collect_definitions`]: one definition per file (named after the file), local
//!    `definitions`/`$defs` and deep pointers hoisted under file-qualified names, every `$ref`
//!    rewritten to `#/definitions/<Name>`.
//! 2. [`strip_schema`]: conditionals, `not`, `contains`, `dependencies`, string formats,
//!    patterns and lengths, defaults and annotations are dropped; enums whose values collide
//!    once case-folded become plain strings.
//! 3. [`drop_validation_only_unions`]: `anyOf`/`oneOf` whose branches only list required
//!    properties carry no shape.
//! 4. [`drop_envelopes`]: the version and protocol envelopes are not merged into each body;
//!    the server owns those fields and unknown fields are kept by (6).
//! 5. [`tag_discriminated_unions`]: a `oneOf` whose branches pin one property to string
//!    constants becomes an internally tagged enum instead of an untagged one that matches its
//!    first branch whatever the tag says.
//! 6. [`keep_unknown_fields`]: open objects get `additionalProperties: {}`, which typify turns
//!    into a flattened `extra` map, so payloads round-trip without loss.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use crate::schemas::SchemaTree;

/// Files that are not type schemas (registries and meta-schemas) or that typify cannot take
/// even after normalising (an `allOf[$ref, {...}]` inside `oneOf` arms trips an assertion); no
/// seller tool uses the latter two.
const SKIPPED_FILES: &[&str] = &[
    "index.json",
    "adagents.json",
    "manifest.json",
    "manifest.schema.json",
    "core/registry-event.json",
    "core/registry-feed-response.json",
];

/// Keywords dropped from every schema object; the runtime validator still enforces them.
const STRIPPED_KEYWORDS: &[&str] = &[
    "if",
    "then",
    "else",
    "not",
    "contains",
    "dependencies",
    "propertyNames",
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "uniqueItems",
    "default",
    "examples",
    "$comment",
    "$id",
    "$schema",
    "discriminator",
    "enumDescriptions",
    "enumMetadata",
    "notes",
];

/// Keys whose values are data, not schemas: never recursed into.
const DATA_KEYWORDS: &[&str] = &["enum", "const", "required", "title", "description", "type"];

/// Keys whose values map names to schemas.
const SCHEMA_MAPS: &[&str] = &["properties", "patternProperties", "definitions", "$defs"];

/// The hand-written types that replace some schema files, by definition name.
pub(crate) const REPLACED: &[(&str, &str)] = &[
    ("TaskType", "crate::manifest::TaskType"),
    ("TaskStatus", "crate::manifest::TaskStatus"),
    ("Specialism", "crate::manifest::Specialism"),
    ("AdcpProtocol", "crate::manifest::AdcpProtocol"),
];

/// The normalised definitions, and which file each came from.
#[derive(Debug, Default)]
pub(crate) struct Definitions {
    /// Definition name → schema.
    pub(crate) schemas: BTreeMap<String, Value>,
    /// Definition name → the schema file it came from (`media-buy/get-products-request.json`).
    pub(crate) origin: BTreeMap<String, String>,
    /// Schema file → the definition of the file itself (not its hoisted parts).
    pub(crate) primary: BTreeMap<String, String>,
}

/// Runs every pass over the tree.
pub(crate) fn normalise(tree: &SchemaTree, version: &str) -> Result<Definitions> {
    let mut defs = collect_definitions(tree, version)?;
    let mut hoisted = Vec::new();
    let mut taken: BTreeSet<String> = defs.schemas.keys().cloned().collect();
    for (name, schema) in &mut defs.schemas {
        strip_schema(schema);
        drop_validation_only_unions(schema);
        drop_envelopes(schema);
        tag_discriminated_unions(schema);
        pattern_properties_to_maps(schema);
        keep_unknown_fields(schema);
        hoist_tagged_branch_properties(name, schema, &mut taken, &mut hoisted);
        hoist_titled_branches(name, schema, &mut taken, &mut hoisted);
    }
    for (name, owner, schema) in hoisted {
        let origin = defs.origin.get(&owner).cloned().unwrap_or_default();
        if defs.schemas.insert(name.clone(), schema).is_some() {
            bail!("hoisted branch {name} collides with an existing definition");
        }
        defs.origin.insert(name, origin);
    }
    flatten_all_of(&mut defs.schemas);
    Ok(defs)
}

/// Pass 7: merge `allOf` members that are plain objects (inline, or a `$ref` to a plain-object
/// definition) into their parent. typify 0.8 asserts when it merges a referenced definition that
/// carries a title; merging here gives the same struct without the assertion. Repeats until
/// nothing changes, so chains of `allOf` flatten bottom-up.
pub(crate) fn flatten_all_of(schemas: &mut BTreeMap<String, Value>) {
    for _ in 0..8 {
        let snapshot = schemas.clone();
        let mut changed = false;
        for schema in schemas.values_mut() {
            for_each_schema(schema, &mut |map| {
                changed |= merge_plain_members(map, &snapshot);
            });
        }
        if !changed {
            return;
        }
    }
}

fn plain_object<'a>(
    member: &'a Value,
    defs: &'a BTreeMap<String, Value>,
) -> Option<&'a Map<String, Value>> {
    let target = match member.get("$ref").and_then(Value::as_str) {
        Some(reference) => defs.get(reference.strip_prefix("#/definitions/")?)?,
        None => member,
    };
    let object = target.as_object()?;
    let composite = ["allOf", "anyOf", "oneOf", "$ref", "enum", "items"]
        .iter()
        .any(|k| object.contains_key(*k));
    let is_object = object
        .get("type")
        .and_then(Value::as_str)
        .is_none_or(|t| t == "object");
    (!composite && is_object && object.contains_key("properties")).then_some(object)
}

fn merge_plain_members(map: &mut Map<String, Value>, defs: &BTreeMap<String, Value>) -> bool {
    let Some(Value::Array(members)) = map.get("allOf") else {
        return false;
    };
    let Some(plain) = members
        .iter()
        .map(|m| plain_object(m, defs))
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    let plain: Vec<Map<String, Value>> = plain.into_iter().cloned().collect();
    map.remove("allOf");
    map.insert("type".into(), json!("object"));
    for member in plain {
        if let Some(Value::Object(properties)) = member.get("properties") {
            let own = map.entry("properties").or_insert_with(|| json!({}));
            if let Some(own) = own.as_object_mut() {
                for (name, schema) in properties {
                    own.entry(name.clone()).or_insert_with(|| schema.clone());
                }
            }
        }
        if let Some(Value::Array(required)) = member.get("required") {
            let own = map.entry("required").or_insert_with(|| json!([]));
            if let Some(own) = own.as_array_mut() {
                for name in required {
                    if !own.contains(name) {
                        own.push(name.clone());
                    }
                }
            }
        }
        if let Some(additional) = member.get("additionalProperties") {
            map.entry("additionalProperties")
                .or_insert_with(|| additional.clone());
        }
    }
    true
}

/// The definition name of a schema file: its file stem in UpperCamelCase, or, when two files
/// share a stem, the path in UpperCamelCase.
pub(crate) fn definition_names(files: &[&str]) -> BTreeMap<String, String> {
    let stem = |rel: &str| {
        rel.rsplit('/')
            .next()
            .unwrap_or(rel)
            .trim_end_matches(".json")
            .to_upper_camel_case()
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for rel in files {
        *counts.entry(stem(rel)).or_default() += 1;
    }
    files
        .iter()
        .map(|rel| {
            let short = stem(rel);
            let name = if counts[&short] > 1 {
                rel.trim_end_matches(".json")
                    .replace('/', "_")
                    .to_upper_camel_case()
            } else {
                short
            };
            ((*rel).to_owned(), name)
        })
        .collect()
}

/// Pass 1: one definitions map with every `$ref` pointing into it.
pub(crate) fn collect_definitions(tree: &SchemaTree, version: &str) -> Result<Definitions> {
    let files: Vec<&str> = tree
        .keys()
        .map(String::as_str)
        .filter(|rel| !SKIPPED_FILES.contains(rel))
        .filter(|rel| {
            tree[*rel].get("$schema").and_then(Value::as_str)
                == Some("http://json-schema.org/draft-07/schema#")
        })
        .collect();
    let names = definition_names(&files);
    let prefix = format!("/schemas/{version}/");
    let mut defs = Definitions::default();
    for rel in &files {
        let root = &tree[*rel];
        let mut ctx = RefContext {
            rel,
            root,
            names: &names,
            prefix: &prefix,
            hoisted: BTreeMap::new(),
        };
        let mut body = root.clone();
        ctx.rewrite(&mut body)?;
        let name = names[*rel].clone();
        for (hoisted_name, schema) in std::mem::take(&mut ctx.hoisted) {
            defs.origin.insert(hoisted_name.clone(), (*rel).to_owned());
            defs.schemas.insert(hoisted_name, schema);
        }
        defs.origin.insert(name.clone(), (*rel).to_owned());
        defs.primary.insert((*rel).to_owned(), name.clone());
        defs.schemas.insert(name, body);
    }
    Ok(defs)
}

struct RefContext<'a> {
    rel: &'a str,
    root: &'a Value,
    names: &'a BTreeMap<String, String>,
    prefix: &'a str,
    hoisted: BTreeMap<String, Value>,
}

impl RefContext<'_> {
    fn rewrite(&mut self, value: &mut Value) -> Result<()> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref").cloned() {
                    let target = self.target_name(&reference)?;
                    map.insert(
                        "$ref".into(),
                        Value::String(format!("#/definitions/{target}")),
                    );
                }
                // Nested definition blocks are hoisted when referenced; inline they mean nothing.
                map.remove("definitions");
                map.remove("$defs");
                for (key, child) in map.iter_mut() {
                    if DATA_KEYWORDS.contains(&key.as_str()) {
                        continue;
                    }
                    match (SCHEMA_MAPS.contains(&key.as_str()), child) {
                        // Keys of `properties` are names, not keywords: a property may be
                        // called `type` or `description`.
                        (true, Value::Object(entries)) => {
                            for entry in entries.values_mut() {
                                self.rewrite(entry)?;
                            }
                        }
                        (_, child) => self.rewrite(child)?,
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.rewrite(item)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The definition a `$ref` points at, hoisting local targets on first use.
    fn target_name(&mut self, reference: &str) -> Result<String> {
        let (file, pointer) = match reference.split_once('#') {
            Some((file, pointer)) => (file, pointer),
            None => (reference, ""),
        };
        let (rel, root) = if file.is_empty() {
            (self.rel.to_owned(), self.root)
        } else {
            let rel = file
                .strip_prefix(self.prefix)
                .with_context(|| format!("{}: unexpected $ref {reference}", self.rel))?
                .to_owned();
            if pointer.is_empty() {
                return self
                    .names
                    .get(&rel)
                    .cloned()
                    .with_context(|| format!("{}: $ref to unknown file {rel}", self.rel));
            }
            if rel != self.rel {
                bail!(
                    "{}: cross-file pointer refs are not used by AdCP ({reference})",
                    self.rel
                );
            }
            (rel, self.root)
        };
        let owner = self
            .names
            .get(&rel)
            .cloned()
            .unwrap_or_else(|| rel.to_upper_camel_case());
        let last = pointer.rsplit('/').next().unwrap_or_default();
        let name = format!("{owner}{}", last.to_upper_camel_case());
        if !self.hoisted.contains_key(&name) {
            let mut target = root
                .pointer(pointer)
                .cloned()
                .with_context(|| format!("{}: dangling pointer {reference}", self.rel))?;
            // Guard against self-reference while the target is rewritten.
            self.hoisted.insert(name.clone(), Value::Null);
            self.rewrite(&mut target)?;
            self.hoisted.insert(name.clone(), target);
        }
        Ok(name)
    }
}

/// Applies `f` to every schema object below (and including) `value`.
fn for_each_schema(value: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            for (key, child) in map.iter_mut() {
                if DATA_KEYWORDS.contains(&key.as_str()) {
                    continue;
                }
                if SCHEMA_MAPS.contains(&key.as_str()) {
                    if let Value::Object(entries) = child {
                        for entry in entries.values_mut() {
                            for_each_schema(entry, f);
                        }
                    }
                } else {
                    for_each_schema(child, f);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                for_each_schema(item, f);
            }
        }
        _ => {}
    }
}

/// Pass 2: drop what typify cannot take or would turn into strict or lossy types.
pub(crate) fn strip_schema(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        for keyword in STRIPPED_KEYWORDS {
            map.remove(*keyword);
        }
        map.retain(|key, _| !key.starts_with("x-"));
        let collides = map
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| {
                let mut seen = BTreeSet::new();
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|v| !seen.insert(v.to_upper_camel_case()))
            });
        if collides {
            map.remove("enum");
        }
    });
}

/// Pass 3: remove `anyOf`/`oneOf` whose branches only say which properties are required.
pub(crate) fn drop_validation_only_unions(schema: &mut Value) {
    const SHAPELESS: &[&str] = &["title", "description", "required", "not", "$comment"];
    for_each_schema(schema, &mut |map| {
        for keyword in ["anyOf", "oneOf"] {
            let shapeless = map
                .get(keyword)
                .and_then(Value::as_array)
                .is_some_and(|branches| {
                    branches.iter().all(|branch| {
                        branch
                            .as_object()
                            .is_some_and(|o| o.keys().all(|k| SHAPELESS.contains(&k.as_str())))
                    })
                });
            if shapeless {
                map.remove(keyword);
            }
        }
    });
}

/// Pass 4: drop the envelope `allOf` members and members left empty by stripping.
pub(crate) fn drop_envelopes(schema: &mut Value) {
    const ENVELOPES: &[&str] = &[
        "#/definitions/VersionEnvelope",
        "#/definitions/ProtocolEnvelope",
    ];
    for_each_schema(schema, &mut |map| {
        let Some(Value::Array(members)) = map.get_mut("allOf") else {
            return;
        };
        members.retain(|member| {
            let is_envelope = member
                .get("$ref")
                .and_then(Value::as_str)
                .is_some_and(|r| ENVELOPES.contains(&r));
            let is_empty = member.as_object().is_some_and(|o| {
                o.keys()
                    .all(|k| matches!(k.as_str(), "title" | "description" | "$comment"))
            });
            !is_envelope && !is_empty
        });
        if members.is_empty() {
            map.remove("allOf");
        }
    });
}

/// Pass 5: give const-discriminated `oneOf`s a shape typify turns into a tagged enum.
pub(crate) fn tag_discriminated_unions(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        let Some(tag) = common_const_tag(map) else {
            return;
        };
        let shared_properties = map.remove("properties");
        let shared_required = map.remove("required");
        let shared_additional = map.remove("additionalProperties");
        map.insert("type".into(), json!("object"));
        let Some(Value::Array(branches)) = map.get_mut("oneOf") else {
            return;
        };
        for branch in branches {
            let Some(branch) = branch.as_object_mut() else {
                continue;
            };
            branch.insert("type".into(), json!("object"));
            branch.insert("x-tagged-branch".into(), json!(true));
            if let Some(Value::Object(shared)) = &shared_properties {
                let properties = branch.entry("properties").or_insert_with(|| json!({}));
                if let Some(properties) = properties.as_object_mut() {
                    for (key, value) in shared {
                        properties
                            .entry(key.clone())
                            .or_insert_with(|| value.clone());
                    }
                }
            }
            if let Some(Value::Array(shared)) = &shared_required {
                let required = branch.entry("required").or_insert_with(|| json!([]));
                if let Some(required) = required.as_array_mut() {
                    for name in shared {
                        if !required.contains(name) {
                            required.push(name.clone());
                        }
                    }
                }
            }
            if let Some(additional) = &shared_additional {
                branch
                    .entry("additionalProperties")
                    .or_insert_with(|| additional.clone());
            }
            // typify recognises a one-value enum as a tag; it ignores `const`.
            if let Some(property) = branch.get_mut("properties").and_then(|p| p.get_mut(&tag))
                && let Some(value) = property.get("const").cloned()
            {
                *property = json!({ "type": "string", "enum": [value] });
            }
        }
    });
}

/// The property every `oneOf` branch pins to a string `const`, if there is one.
fn common_const_tag(map: &Map<String, Value>) -> Option<String> {
    let branches = map.get("oneOf")?.as_array()?;
    let per_branch: Vec<BTreeSet<String>> = branches
        .iter()
        .map(|branch| {
            branch
                .get("properties")
                .and_then(Value::as_object)
                .map(|properties| {
                    properties
                        .iter()
                        .filter(|(_, p)| p.get("const").is_some_and(Value::is_string))
                        .map(|(name, _)| name.clone())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let first = per_branch.first()?;
    first
        .iter()
        .find(|tag| per_branch.iter().all(|set| set.contains(*tag)))
        .cloned()
}

/// Pass 6a: `patternProperties` become a map. typify 0.8 ignores them and would generate an
/// empty struct that drops every entry (creative `assets`, for one). A closed object with a
/// single pattern gets a typed map; anything else a map of JSON values, so nothing is lost.
pub(crate) fn pattern_properties_to_maps(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        let Some(Value::Object(patterns)) = map.remove("patternProperties") else {
            return;
        };
        let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
        let has_properties = map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        let value_schema = match patterns.into_iter().next() {
            Some((_, only)) if closed && !has_properties => only,
            _ => json!({}),
        };
        map.insert("type".into(), json!("object"));
        map.insert("additionalProperties".into(), value_schema);
    });
}

/// Pass 6: open objects keep their unknown fields in a flattened `extra` map.
pub(crate) fn keep_unknown_fields(schema: &mut Value) {
    for_each_schema(schema, &mut |map| {
        let is_object = map.get("type").and_then(Value::as_str) == Some("object");
        let has_properties = map
            .get("properties")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty());
        if !is_object || !has_properties || map.contains_key("oneOf") || map.contains_key("anyOf") {
            return;
        }
        match map.get("additionalProperties") {
            None | Some(Value::Bool(true)) => {
                map.insert("additionalProperties".into(), json!({}));
            }
            _ => {}
        }
    });
}

/// Pass 8: inline enums and objects inside the branches of a tagged union become named
/// definitions. typify names an inline property type `{Union}{Property}` whatever the branch,
/// so two branches with an `action` enum would share one enum and reject the other's values
/// (`finalize` on a proposal-scoped refine entry).
fn hoist_tagged_branch_properties(
    owner: &str,
    schema: &mut Value,
    taken: &mut BTreeSet<String>,
    out: &mut Vec<(String, String, Value)>,
) {
    for_each_schema(schema, &mut |map| {
        let Some(Value::Array(branches)) = map.get_mut("oneOf") else {
            return;
        };
        for branch in branches.iter_mut() {
            let Some(branch) = branch.as_object_mut() else {
                continue;
            };
            if !branch.contains_key("x-tagged-branch") {
                continue;
            }
            let Some(Value::Object(properties)) = branch.get_mut("properties") else {
                continue;
            };
            // The tag is the property whose schema is a one-value enum.
            let tag_value = properties
                .values()
                .find_map(|p| {
                    p.get("enum")
                        .and_then(Value::as_array)
                        .filter(|e| e.len() == 1)
                })
                .and_then(|e| e[0].as_str())
                .unwrap_or("branch")
                .to_upper_camel_case();
            for (property, property_schema) in properties.iter_mut() {
                let inline_enum = property_schema
                    .get("enum")
                    .and_then(Value::as_array)
                    .is_some_and(|values| values.len() > 1);
                let inline_object = property_schema.get("properties").is_some();
                if property_schema.get("$ref").is_some() || !(inline_enum || inline_object) {
                    continue;
                }
                let base = format!("{owner}{tag_value}{}", property.to_upper_camel_case());
                let mut name = base.clone();
                let mut n = 2;
                while !taken.insert(name.clone()) {
                    name = format!("{base}{n}");
                    n += 1;
                }
                let body = std::mem::replace(
                    property_schema,
                    json!({ "$ref": format!("#/definitions/{name}") }),
                );
                out.push((name, owner.to_owned(), body));
            }
        }
    });
}

/// Moves titled object branches of `oneOf`/`anyOf` into named definitions, so enum variants
/// are named after them rather than `Variant0`, `Variant1`.
fn hoist_titled_branches(
    owner: &str,
    schema: &mut Value,
    taken: &mut BTreeSet<String>,
    out: &mut Vec<(String, String, Value)>,
) {
    for_each_schema(schema, &mut |map| {
        for keyword in ["oneOf", "anyOf"] {
            let Some(Value::Array(branches)) = map.get_mut(keyword) else {
                continue;
            };
            for branch in branches.iter_mut() {
                let Some(object) = branch.as_object() else {
                    continue;
                };
                let hoistable = object.get("$ref").is_none()
                    && object.contains_key("properties")
                    && !object.contains_key("x-tagged-branch");
                let Some(title) = object.get("title").and_then(Value::as_str) else {
                    continue;
                };
                if !hoistable {
                    continue;
                }
                // A bare title reads best; the owner-qualified fallback ends in `Arm` so it
                // cannot meet typify's own `{Parent}{Property}` names for inline types.
                let title = title.to_upper_camel_case();
                let mut name = title.clone();
                let mut n = 1;
                while !taken.insert(name.clone()) {
                    name = if n == 1 {
                        format!("{owner}{title}Arm")
                    } else {
                        format!("{owner}{title}Arm{n}")
                    };
                    n += 1;
                }
                let body =
                    std::mem::replace(branch, json!({ "$ref": format!("#/definitions/{name}") }));
                out.push((name, owner.to_owned(), body));
            }
        }
    });
    // Markers are only for the passes above; typify would keep them as extensions.
    for_each_schema(schema, &mut |map| {
        map.remove("x-tagged-branch");
    });
    for (_, _, body) in out.iter_mut() {
        for_each_schema(body, &mut |map| {
            map.remove("x-tagged-branch");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, Value)]) -> SchemaTree {
        files
            .iter()
            .map(|(rel, body)| {
                let mut body = body.clone();
                body["$schema"] = json!("http://json-schema.org/draft-07/schema#");
                ((*rel).to_owned(), body)
            })
            .collect()
    }

    #[test]
    fn refs_are_rewritten_and_local_definitions_hoisted() {
        let t = tree(&[
            (
                "core/a.json",
                json!({
                    "type": "object",
                    "properties": {
                        "b": {"$ref": "/schemas/v/core/b.json"},
                        "d": {"$ref": "#/definitions/inner"}
                    },
                    "definitions": {"inner": {"type": "string"}}
                }),
            ),
            ("core/b.json", json!({"type": "string"})),
        ]);
        let defs = collect_definitions(&t, "v").unwrap();
        assert_eq!(
            defs.schemas["A"]["properties"]["b"]["$ref"],
            "#/definitions/B"
        );
        assert_eq!(
            defs.schemas["A"]["properties"]["d"]["$ref"],
            "#/definitions/AInner"
        );
        assert_eq!(defs.schemas["AInner"], json!({"type": "string"}));
        assert!(defs.schemas["A"].get("definitions").is_none());
    }

    #[test]
    fn colliding_stems_are_qualified_by_path() {
        let names = definition_names(&["media-buy/x.json", "signals/x.json", "core/y.json"]);
        assert_eq!(names["media-buy/x.json"], "MediaBuyX");
        assert_eq!(names["signals/x.json"], "SignalsX");
        assert_eq!(names["core/y.json"], "Y");
    }

    #[test]
    fn conditionals_and_colliding_enums_are_stripped_but_property_names_kept() {
        let mut s = json!({
            "if": {}, "then": {}, "not": {},
            "properties": {"if": {"type": "string", "format": "date-time"}},
            "enum": ["clickTag", "clickTAG"]
        });
        strip_schema(&mut s);
        assert_eq!(s, json!({"properties": {"if": {"type": "string"}}}));
    }

    #[test]
    fn required_only_unions_are_dropped() {
        let mut s = json!({"anyOf": [{"required": ["a"]}, {"required": ["b"]}], "oneOf": [{"type": "string"}]});
        drop_validation_only_unions(&mut s);
        assert_eq!(s, json!({"oneOf": [{"type": "string"}]}));
    }

    #[test]
    fn envelopes_leave_the_all_of() {
        let mut s =
            json!({"allOf": [{"$ref": "#/definitions/VersionEnvelope"}, {"description": "x"}]});
        drop_envelopes(&mut s);
        assert_eq!(s, json!({}));
    }

    #[test]
    fn const_discriminated_union_becomes_taggable() {
        let mut s = json!({
            "properties": {"id": {"type": "string"}},
            "required": ["id"],
            "oneOf": [
                {"properties": {"kind": {"type": "string", "const": "a"}}},
                {"properties": {"kind": {"type": "string", "const": "b"}, "x": {"type": "integer"}}}
            ]
        });
        tag_discriminated_unions(&mut s);
        let b = &s["oneOf"][1];
        assert_eq!(
            b["properties"]["kind"],
            json!({"type": "string", "enum": ["b"]})
        );
        assert_eq!(b["properties"]["id"], json!({"type": "string"}));
        assert_eq!(b["required"], json!(["id"]));
        assert!(s.get("properties").is_none());
    }

    #[test]
    fn open_objects_keep_unknown_fields() {
        let mut s = json!({"type": "object", "properties": {"a": {"type": "string"}},
            "additionalProperties": true});
        keep_unknown_fields(&mut s);
        assert_eq!(s["additionalProperties"], json!({}));
        let mut closed =
            json!({"type": "object", "properties": {"a": {}}, "additionalProperties": false});
        keep_unknown_fields(&mut closed);
        assert_eq!(closed["additionalProperties"], json!(false));
    }
}
