//! Runs typify over the normalised definitions and hands its output to [`super::partition`].

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use syn::visit_mut::VisitMut;
use typify::{TypeSpace, TypeSpaceImpl, TypeSpaceSettings};

use super::normalise::{self, REPLACED};
use super::partition;
use super::{builders, docs};
use crate::schemas::SchemaTree;

/// The typify settings: plain structs (our own builders come from [`builders`]), deterministic
/// maps, `PartialEq` on all.
fn settings() -> TypeSpaceSettings {
    let mut settings = TypeSpaceSettings::default();
    settings
        .with_struct_builder(false)
        .with_derive("PartialEq".to_owned())
        .with_map_type("::std::collections::BTreeMap");
    for (name, path) in REPLACED {
        settings.with_replacement(
            *name,
            *path,
            [TypeSpaceImpl::Display, TypeSpaceImpl::FromStr].into_iter(),
        );
    }
    settings
}

/// Generated domain files (`core.rs`, `media_buy.rs`, ...) and `mod.rs`, unformatted.
pub(crate) fn generate(tree: &SchemaTree) -> Result<BTreeMap<String, String>> {
    let version = tree
        .get("manifest.json")
        .and_then(|m| m["adcp_version"].as_str())
        .context("manifest.json names the adcp_version")?;
    let defs = normalise::normalise(tree, version)?;
    let mut space = TypeSpace::new(&settings());
    let schemas = defs
        .schemas
        .iter()
        .map(|(name, schema)| {
            let schema: schemars::schema::Schema = serde_json::from_value(schema.clone())
                .with_context(|| format!("definition {name} is not a schema"))?;
            Ok((name.clone(), schema))
        })
        .collect::<Result<Vec<_>>>()?;
    space
        .add_ref_types(schemas)
        .context("typify rejected the normalised schemas")?;
    let mut file: syn::File =
        syn::parse2(space.to_stream()).context("typify produced unparsable Rust")?;
    OptionalCollections.visit_file_mut(&mut file);
    builders::add(&mut file, &defs.schemas)?;
    docs::as_prose(&mut file);
    let (mut files, homes) = partition::split(file, &defs.origin)?;
    files.insert(
        "tools.rs".to_owned(),
        tool_dispatch(tree, &defs.primary, &homes)?,
    );
    Ok(files)
}

/// `tools.rs`: round-trip helpers that map a tool name to its generated request and response
/// types, each arm behind the feature of the module its type lives in.
fn tool_dispatch(
    tree: &SchemaTree,
    primary: &BTreeMap<String, String>,
    homes: &BTreeMap<String, &'static str>,
) -> Result<String> {
    let tools = tree["manifest.json"]["tools"]
        .as_object()
        .context("manifest tools")?;
    let mut out = String::from(
        "//! Tool name → generated types, for round-trip checks over real payloads.\n\n\
         use serde_json::Value;\n\n\
         fn round_trip<T: ::serde::de::DeserializeOwned + ::serde::Serialize>(value: &Value) -> Result<Value, serde_json::Error> {\n\
         let typed: T = serde_json::from_value(value.clone())?;\n serde_json::to_value(&typed)\n}\n",
    );
    for (kind, key) in [
        ("request", "request_schema"),
        ("response", "response_schema"),
    ] {
        out.push_str(&format!(
            "\n/// Parses `value` as the {kind} type of `tool` and serialises it back. `None` when the \
             tool is unknown or its domain's feature is off.\n\
             pub fn {kind}_round_trip(tool: &str, value: &Value) -> Option<Result<Value, serde_json::Error>> {{\n match tool {{\n"
        ));
        for (tool, spec) in tools {
            let Some(file) = spec[key].as_str() else {
                continue;
            };
            let Some(name) = primary.get(file) else {
                continue;
            };
            let Some(module) = homes.get(name) else {
                continue;
            };
            if let Some((_, feature)) = partition::FEATURES.iter().find(|(m, _)| m == module) {
                out.push_str(&format!("#[cfg(feature = \"{feature}\")]\n"));
            }
            out.push_str(&format!(
                "{tool:?} => Some(round_trip::<super::{name}>(value)),\n"
            ));
        }
        out.push_str("_ => None,\n }\n}\n");
    }
    Ok(out)
}

/// Makes optional arrays and maps `Option<...>`, so an empty list on the wire (`"errors": []`)
/// survives a round trip instead of being dropped as typify's `skip_serializing_if =
/// "Vec::is_empty"` would.
struct OptionalCollections;

impl VisitMut for OptionalCollections {
    fn visit_field_mut(&mut self, field: &mut syn::Field) {
        let skips_empty = field.attrs.iter().any(|attr| {
            attr.path().is_ident("serde") && {
                let text = quote::ToTokens::to_token_stream(&attr.meta).to_string();
                text.contains("is_empty") && text.contains("skip_serializing_if")
            }
        });
        let is_flattened = field.attrs.iter().any(|attr| {
            attr.path().is_ident("serde")
                && quote::ToTokens::to_token_stream(&attr.meta)
                    .to_string()
                    .contains("flatten")
        });
        if !skips_empty || is_flattened {
            return;
        }
        let ty = &field.ty;
        field.ty = syn::parse_quote!(::std::option::Option<#ty>);
        for attr in &mut field.attrs {
            if attr.path().is_ident("serde") {
                *attr = syn::parse_quote!(#[serde(default, skip_serializing_if = "::std::option::Option::is_none")]);
            }
        }
    }
}

/// Diagnostic for generator work: which definitions make typify panic on their own (with the
/// definitions they reference). Run with `ADCP_CODEGEN_DIAGNOSE=1 cargo xtask codegen`.
pub(crate) fn diagnose(tree: &SchemaTree) -> Result<()> {
    let version = tree
        .get("manifest.json")
        .and_then(|m| m["adcp_version"].as_str())
        .context("manifest.json names the adcp_version")?;
    let defs = normalise::normalise(tree, version)?;
    std::panic::set_hook(Box::new(|_| {}));
    let mut failing = Vec::new();
    for name in defs.schemas.keys() {
        if REPLACED.iter().any(|(r, _)| r == name) {
            continue;
        }
        let mut closure = std::collections::BTreeSet::new();
        let mut stack = vec![name.clone()];
        while let Some(current) = stack.pop() {
            if !closure.insert(current.clone()) {
                continue;
            }
            let text = defs
                .schemas
                .get(&current)
                .map(ToString::to_string)
                .unwrap_or_default();
            for part in text.split("\"#/definitions/").skip(1) {
                if let Some(target) = part.split('"').next() {
                    stack.push(target.to_owned());
                }
            }
        }
        let subset: Vec<(String, schemars::schema::Schema)> = closure
            .iter()
            .filter(|n| !REPLACED.iter().any(|(r, _)| r == *n))
            .filter_map(|n| {
                Some((
                    n.clone(),
                    serde_json::from_value(defs.schemas.get(n)?.clone()).ok()?,
                ))
            })
            .collect();
        let outcome = std::panic::catch_unwind(|| {
            let mut space = TypeSpace::new(&settings());
            space.add_ref_types(subset).map_err(|e| e.to_string())
        });
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failing.push(format!("{name}: error {e}")),
            Err(p) => failing.push(format!(
                "{name}: panic {}",
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default()
            )),
        }
    }
    let _ = std::panic::take_hook();
    for line in &failing {
        eprintln!("{line}");
    }
    eprintln!(
        "{} of {} definitions fail",
        failing.len(),
        defs.schemas.len()
    );
    Ok(())
}
