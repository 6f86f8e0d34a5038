//! Splits typify's single output into one module per protocol domain, so each domain can sit
//! behind a cargo feature.
//!
//! A definition's home domain comes from its schema file's folder (`media-buy/`, `signals/`,
//! ...). Shared folders (`core/`, `enums/`, ...) are no one's home: their types go where they are
//! used. A type reachable from exactly one domain lives in that domain's module; a type reachable
//! from several, or from the always-on `protocol`/`account`/`compliance` tools, lives in `core`.
//! So a domain module only refers to itself and `core`, and features never depend on each other.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use anyhow::{Result, bail};
use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;

/// The always-compiled module.
pub(crate) const CORE: &str = "core";

/// Schema folder → domain module; folders not listed are shared.
const DOMAINS: &[(&str, &str)] = &[
    ("media-buy", "media_buy"),
    ("signals", "signals"),
    ("creative", "creative"),
    ("formats", "creative"),
    ("governance", "governance"),
    ("content-standards", "governance"),
    ("property", "governance"),
    ("collection", "governance"),
    ("brand", "brand"),
    ("sponsored-intelligence", "sponsored_intelligence"),
    ("tmp", "trusted_match"),
    ("protocol", CORE),
    ("account", CORE),
    ("compliance", CORE),
];

/// Domain module → the cargo feature that enables it.
pub(crate) const FEATURES: &[(&str, &str)] = &[
    ("media_buy", "media-buy"),
    ("signals", "signals"),
    ("creative", "creative"),
    ("governance", "governance"),
    ("brand", "brand"),
    ("sponsored_intelligence", "sponsored-intelligence"),
    ("trusted_match", "trusted-match"),
];

fn domain_of_file(rel: &str) -> Option<&'static str> {
    let folder = rel.split('/').next()?;
    DOMAINS.iter().find(|(f, _)| *f == folder).map(|(_, d)| *d)
}

/// Generated file name → unformatted source.
pub(crate) type GeneratedFiles = BTreeMap<String, String>;

/// Generated type name → the module it lives in.
pub(crate) type TypeHomes = BTreeMap<String, &'static str>;

/// Splits `file` into `core.rs`, one file per domain, and `mod.rs` (all unformatted).
pub(crate) fn split(
    file: syn::File,
    origin: &BTreeMap<String, String>,
) -> Result<(GeneratedFiles, TypeHomes)> {
    let mut owned: BTreeMap<String, Vec<syn::Item>> = BTreeMap::new();
    let mut shared_items = Vec::new();
    let mut order = Vec::new();
    let declared: BTreeSet<String> = file.items.iter().filter_map(declared_type).collect();
    for mut item in file.items {
        strip_schema_docs(&mut item);
        match owner_of(&item, &declared) {
            Some(owner) => {
                if !owned.contains_key(&owner) {
                    order.push(owner.clone());
                }
                owned.entry(owner).or_default().push(item);
            }
            None => shared_items.push(item),
        }
    }
    let types: BTreeSet<String> = owned.keys().cloned().collect();
    let references: BTreeMap<String, BTreeSet<String>> = owned
        .iter()
        .map(|(owner, items)| {
            let mut found = BTreeSet::new();
            for item in items {
                collect_idents(item.to_token_stream(), &types, &mut found);
            }
            found.remove(owner);
            (owner.clone(), found)
        })
        .collect();

    // Which domains reach each type.
    let mut reached_by: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for (definition, rel) in origin {
        let Some(domain) = domain_of_file(rel) else {
            continue;
        };
        if !types.contains(definition) {
            continue;
        }
        let mut queue = VecDeque::from([definition.clone()]);
        let mut seen = BTreeSet::new();
        while let Some(current) = queue.pop_front() {
            if !seen.insert(current.clone()) {
                continue;
            }
            if let Some(next) = references.get(&current) {
                queue.extend(next.iter().cloned());
            }
            reached_by.entry(current).or_default().insert(domain);
        }
    }
    // Types no domain reaches live in core, and so must everything they refer to.
    let mut queue: VecDeque<String> = types
        .iter()
        .filter(|t| reached_by.get(*t).is_none_or(|d| d.len() != 1))
        .cloned()
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(current) = queue.pop_front() {
        if !seen.insert(current.clone()) {
            continue;
        }
        if let Some(next) = references.get(&current) {
            queue.extend(next.iter().cloned());
        }
        reached_by.entry(current).or_default().insert(CORE);
    }
    let home = |owner: &str| -> &'static str {
        match reached_by.get(owner) {
            Some(domains) if domains.len() == 1 => domains.iter().next().copied().unwrap_or(CORE),
            _ => CORE,
        }
    };

    // By construction a domain type refers only to its own domain and core; check it anyway,
    // because a violation would make a feature fail to compile alone.
    for (owner, refs) in &references {
        let from = home(owner);
        for target in refs {
            let to = home(target);
            if from != to && to != CORE {
                bail!(
                    "{owner} ({from}) refers to {target} ({to}): domains would depend on each other"
                );
            }
        }
    }

    let homes: BTreeMap<String, &'static str> =
        types.iter().map(|t| (t.clone(), home(t))).collect();
    // Items stay grouped by the type they belong to, so a file split never separates a type
    // from its impls.
    let mut modules: BTreeMap<&'static str, Vec<Vec<syn::Item>>> = BTreeMap::new();
    modules.entry(CORE).or_default().push(shared_items);
    for owner in &order {
        let module = home(owner);
        modules
            .entry(module)
            .or_default()
            .push(owned.remove(owner).unwrap_or_default());
    }

    let mut files = BTreeMap::new();
    let mut mod_rs = String::from(
        "//! Types generated from the AdCP schemas, one module per protocol domain.\n\
         //! Every type is re-exported here; a domain's types exist when its feature is on.\n\n",
    );
    for (module, groups) in modules {
        let feature = FEATURES.iter().find(|(m, _)| *m == module).map(|(_, f)| *f);
        let parts = split_into_parts(groups);
        let count = parts.len();
        for (index, part) in parts.into_iter().enumerate() {
            let name = if count == 1 {
                module.to_owned()
            } else {
                format!("{module}_{}", index + 1)
            };
            let mut source = if module == CORE {
                String::from("//! Types every domain shares, and the always-on protocol tools.\n")
            } else {
                format!(
                    "//! Types used only by the `{}` domain.\n",
                    feature.unwrap_or(module)
                )
            };
            if count > 1 {
                source.push_str(&format!(
                    "//! Part {} of {count}, split to keep files small.\n",
                    index + 1
                ));
            }
            source.push_str("\n#[allow(unused_imports)]\nuse super::*;\n");
            source.push_str(&part);
            files.insert(format!("{name}.rs"), source);
            let cfg = feature
                .map(|f| format!("#[cfg(feature = \"{f}\")]\n"))
                .unwrap_or_default();
            mod_rs.push_str(&format!(
                "{cfg}#[allow(clippy::all, clippy::pedantic, missing_docs, unreachable_pub, dead_code, \
                 rust_2018_idioms, missing_debug_implementations)]\nmod {name};\n{cfg}pub use {name}::*;\n\n"
            ));
        }
    }
    mod_rs.push_str("/// The manifest tables and the protocol's small enums.\npub mod manifest;\n");
    mod_rs.push_str("/// Tool name → generated request and response types.\n#[allow(clippy::too_many_lines)]\npub mod tools;\n");
    files.insert("mod.rs".to_owned(), mod_rs);
    Ok((files, homes))
}

/// The largest generated file, in bytes of source; bigger modules are split into parts.
const MAX_FILE_BYTES: usize = 1_000_000;

/// Formats `groups` and splits them, at group boundaries, into sources of at most
/// [`MAX_FILE_BYTES`] (a single larger group still gets a file of its own).
fn split_into_parts(groups: Vec<Vec<syn::Item>>) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    for items in groups {
        let text = prettyplease::unparse(&syn::File {
            shebang: None,
            frontmatter: None,
            attrs: Vec::new(),
            items,
        });
        if !current.is_empty() && current.len() + text.len() > MAX_FILE_BYTES {
            parts.push(std::mem::take(&mut current));
        }
        current.push_str(&text);
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

/// The type an item declares, if it declares one.
fn declared_type(item: &syn::Item) -> Option<String> {
    match item {
        syn::Item::Struct(s) => Some(s.ident.to_string()),
        syn::Item::Enum(e) => Some(e.ident.to_string()),
        syn::Item::Type(t) => Some(t.ident.to_string()),
        _ => None,
    }
}

/// The generated type an item belongs to: the type it declares, the `Self` type of an impl, or
/// — for an impl on a foreign type such as `impl From<Newtype> for i64`, which reads the
/// newtype's private field — the first generated type the impl names.
fn owner_of(item: &syn::Item, declared: &BTreeSet<String>) -> Option<String> {
    if let Some(name) = declared_type(item) {
        return Some(name);
    }
    let syn::Item::Impl(implementation) = item else {
        return None;
    };
    if let syn::Type::Path(path) = implementation.self_ty.as_ref()
        && let Some(last) = path.path.segments.last()
        && declared.contains(&last.ident.to_string())
    {
        return Some(last.ident.to_string());
    }
    let mut named = BTreeSet::new();
    collect_idents(implementation.to_token_stream(), declared, &mut named);
    // Prefer the first one in source order, not the alphabetical first.
    first_ident_in(implementation.to_token_stream(), &named)
}

fn first_ident_in(tokens: TokenStream, names: &BTreeSet<String>) -> Option<String> {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) if names.contains(&ident.to_string()) => {
                return Some(ident.to_string());
            }
            TokenTree::Group(group) => {
                if let Some(found) = first_ident_in(group.stream(), names) {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

fn collect_idents(tokens: TokenStream, types: &BTreeSet<String>, found: &mut BTreeSet<String>) {
    for token in tokens {
        match token {
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                if types.contains(&name) {
                    found.insert(name);
                }
            }
            TokenTree::Group(group) => collect_idents(group.stream(), types, found),
            _ => {}
        }
    }
}

/// typify repeats each type's JSON schema in its doc comment; the schema files are the
/// reference, and the copies would double the generated code.
fn strip_schema_docs(item: &mut syn::Item) {
    fn filter(attrs: &mut Vec<syn::Attribute>) {
        let mut skipping = false;
        attrs.retain(|attr| {
            let Some(text) = doc_text(attr) else {
                return true;
            };
            if text.contains("<details><summary>JSON schema</summary>") {
                skipping = true;
            }
            let keep = !skipping;
            if text.contains("</details>") {
                skipping = false;
            }
            keep
        });
        // Trailing empty doc lines left behind by the cut.
        while attrs
            .last()
            .and_then(doc_text)
            .is_some_and(|t| t.trim().is_empty())
        {
            attrs.pop();
        }
    }
    match item {
        syn::Item::Struct(s) => filter(&mut s.attrs),
        syn::Item::Enum(e) => filter(&mut e.attrs),
        syn::Item::Type(t) => filter(&mut t.attrs),
        _ => {}
    }
}

/// The text of a `#[doc = "..."]` attribute; `None` for any other attribute.
pub(super) fn doc_text(attr: &syn::Attribute) -> Option<String> {
    if !attr.path().is_ident("doc") {
        return None;
    }
    match &attr.meta {
        syn::Meta::NameValue(nv) => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}
