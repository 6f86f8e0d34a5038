//! Typed construction for the generated structs: a builder per struct and `Default` where no
//! field is required.
//!
//! typify's own builders store every field as `Result<T, String>` and take optional fields as
//! `Option<T>`; these are leaner and read better in a seller's code:
//!
//! - `Product::builder()` returns a `ProductBuilder` with one setter per field, named after the
//!   field and taking `impl Into<T>` (an optional field's setter takes the inner type, so no
//!   `Some(...)`);
//! - `build()` returns the struct, or `adcp_types::MissingField` naming the first required field
//!   left unset — never a half-built value;
//! - a required property the schema pins to a string `const` (a pricing option's
//!   `pricing_model`, say) starts out set to that constant;
//! - setters are generic, so they cost type-checking only, and every builder item sits behind
//!   the `builders` feature.
//!
//! Everything is derived from the parsed output, in file order, so the result is as
//! deterministic as typify's.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use quote::{format_ident, quote};
use serde_json::Value;

/// The feature every builder item sits behind.
const FEATURE: &str = "builders";

/// How `build()` fills one field.
enum Fill {
    /// Must be set (or pre-set from a `const`).
    Required,
    /// `Option<T>`: left `None` when unset; the setter takes `T`.
    Optional(Box<syn::Type>),
    /// A flattened map of extra properties: empty when unset.
    Defaulted,
}

/// One field of a struct, as the builder sees it.
struct FieldPlan {
    ident: syn::Ident,
    ty: syn::Type,
    fill: Fill,
    /// The string a schema `const` pins this field to.
    constant: Option<String>,
}

/// Adds `Default` to every struct without required fields that lacks it, and a builder to every
/// struct with named fields. `schemas` are the normalised definitions, read for `const`s.
pub(crate) fn add(file: &mut syn::File, schemas: &BTreeMap<String, Value>) -> Result<()> {
    let declared: BTreeSet<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            syn::Item::Type(t) => Some(t.ident.to_string()),
            _ => None,
        })
        .collect();
    let has_default_impl: BTreeSet<String> = file
        .items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(imp)
                if imp.trait_.as_ref().is_some_and(|(path, _)| {
                    path.segments.last().is_some_and(|s| s.ident == "Default")
                }) =>
            {
                last_ident(&imp.self_ty)
            }
            _ => None,
        })
        .collect();

    let mut items = Vec::with_capacity(file.items.len() * 2);
    for mut item in std::mem::take(&mut file.items) {
        let mut extra = Vec::new();
        if let syn::Item::Struct(strukt) = &mut item
            && let syn::Fields::Named(named) = &strukt.fields
        {
            let name = strukt.ident.to_string();
            let builder = format!("{name}Builder");
            if declared.contains(&builder) {
                bail!("a generated type is already named {builder}");
            }
            let plans = plan_fields(named, schemas.get(&name))?;
            let all_optional = plans.iter().all(|p| !matches!(p.fill, Fill::Required));
            if all_optional && !has_default_impl.contains(&name) {
                derive_default(strukt);
            }
            extra = builder_items(&strukt.ident, &plans)?;
        }
        items.push(item);
        items.extend(extra);
    }
    file.items = items;
    Ok(())
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// Classifies each field and finds the `const` the schema pins it to, if any.
fn plan_fields(named: &syn::FieldsNamed, schema: Option<&Value>) -> Result<Vec<FieldPlan>> {
    let properties = schema.and_then(|s| s.get("properties"));
    let required: BTreeSet<&str> = schema
        .and_then(|s| s.get("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut plans = Vec::new();
    for field in &named.named {
        let Some(ident) = field.ident.clone() else {
            bail!("a named field without a name");
        };
        if ident == "build" {
            bail!("a field named `build` would collide with the builder's build()");
        }
        let flattened = serde_args(field).iter().any(|a| a == "flatten");
        let fill = if let Some(inner) = option_inner(&field.ty) {
            Fill::Optional(Box::new(inner))
        } else if flattened && is_map(&field.ty) {
            Fill::Defaulted
        } else {
            Fill::Required
        };
        let wire = serde_args(field)
            .iter()
            .find_map(|a| {
                a.strip_prefix("rename = ")
                    .map(|v| v.trim_matches('"').to_owned())
            })
            .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned());
        let constant = match fill {
            Fill::Required if required.contains(wire.as_str()) => properties
                .and_then(|p| p.get(&wire))
                .and_then(|p| p.get("const"))
                .and_then(Value::as_str)
                .filter(|_| is_string(&field.ty))
                .map(str::to_owned),
            _ => None,
        };
        plans.push(FieldPlan {
            ident,
            ty: field.ty.clone(),
            fill,
            constant,
        });
    }
    Ok(plans)
}

/// The comma-separated arguments of a field's `#[serde(...)]` attributes, as source text.
fn serde_args(field: &syn::Field) -> Vec<String> {
    field
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("serde"))
        .filter_map(|a| match &a.meta {
            syn::Meta::List(list) => Some(list.tokens.to_string()),
            _ => None,
        })
        .flat_map(|text| {
            text.split(',')
                .map(|s| s.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `T` of an `Option<T>` (however the path to `Option` is spelled).
fn option_inner(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

fn is_map(ty: &syn::Type) -> bool {
    last_ident(ty).is_some_and(|n| n == "Map" || n == "BTreeMap")
}

fn is_string(ty: &syn::Type) -> bool {
    last_ident(ty).is_some_and(|n| n == "String")
}

/// Adds `Default` to a struct's `#[derive(...)]`.
fn derive_default(strukt: &mut syn::ItemStruct) {
    for attr in &mut strukt.attrs {
        if !attr.path().is_ident("derive") {
            continue;
        }
        if let syn::Meta::List(list) = &mut attr.meta {
            let text = list.tokens.to_string();
            if text.split(',').any(|d| d.trim() == "Default") {
                return;
            }
            let tokens = &list.tokens;
            list.tokens = quote!(#tokens, Default);
            return;
        }
    }
}

/// `impl T { fn builder() }`, `struct TBuilder`, its `Default` and its setters and `build()`.
fn builder_items(target: &syn::Ident, plans: &[FieldPlan]) -> Result<Vec<syn::Item>> {
    let builder = format_ident!("{}Builder", target);
    let target_name = target.to_string();
    let cfg = quote!(#[cfg(feature = #FEATURE)]);
    let struct_doc = format!(
        " Builds a [`{target_name}`] field by field; [`build`](Self::build) fails naming the \
         first required field left unset."
    );
    let entry_doc = format!(" Starts a [`{builder}`] with every field unset.");

    let mut slots = Vec::new();
    let mut defaults = Vec::new();
    let mut setters = Vec::new();
    let mut fills = Vec::new();
    for plan in plans {
        let ident = &plan.ident;
        let ty = &plan.ty;
        let field_name = ident.to_string();
        let field_name = field_name.trim_start_matches("r#");
        let (slot_ty, setter_ty): (syn::Type, &syn::Type) = match &plan.fill {
            Fill::Optional(inner) => (ty.clone(), inner.as_ref()),
            Fill::Required | Fill::Defaulted => (syn::parse_quote!(::std::option::Option<#ty>), ty),
        };
        slots.push(quote!(#ident: #slot_ty));
        defaults.push(if let Some(value) = &plan.constant {
            quote!(#ident: ::std::option::Option::Some(#value.to_owned()))
        } else {
            quote!(#ident: ::std::option::Option::None)
        });
        let doc = match (&plan.fill, &plan.constant) {
            (Fill::Required, Some(value)) => format!(
                " Sets [`{target_name}::{field_name}`] (required; starts as `{value:?}`, the schema's constant)."
            ),
            (Fill::Required, None) => {
                format!(" Sets [`{target_name}::{field_name}`] (required).")
            }
            _ => format!(" Sets [`{target_name}::{field_name}`]."),
        };
        setters.push(quote! {
            #[doc = #doc]
            pub fn #ident(mut self, value: impl ::std::convert::Into<#setter_ty>) -> Self {
                self.#ident = ::std::option::Option::Some(value.into());
                self
            }
        });
        fills.push(match &plan.fill {
            Fill::Required => quote! {
                #ident: self.#ident.ok_or(crate::MissingField {
                    type_name: #target_name,
                    field: #field_name,
                })?
            },
            Fill::Optional(_) => quote!(#ident: self.#ident),
            Fill::Defaulted => quote!(#ident: self.#ident.unwrap_or_default()),
        });
    }
    let build_doc = format!(
        " The [`{target_name}`], or the first required field left unset. Extra (unknown) \
         properties start empty."
    );
    let items: Vec<syn::Item> = vec![
        syn::parse2(quote! {
            #cfg
            impl #target {
                #[doc = #entry_doc]
                pub fn builder() -> #builder {
                    <#builder as ::std::default::Default>::default()
                }
            }
        })?,
        syn::parse2(quote! {
            #cfg
            #[doc = #struct_doc]
            #[derive(Clone, Debug)]
            #[must_use]
            pub struct #builder {
                #(#slots,)*
            }
        })?,
        syn::parse2(quote! {
            #cfg
            impl ::std::default::Default for #builder {
                fn default() -> Self {
                    Self { #(#defaults,)* }
                }
            }
        })?,
        syn::parse2(quote! {
            #cfg
            impl #builder {
                #(#setters)*
                #[doc = #build_doc]
                pub fn build(self) -> ::std::result::Result<#target, crate::MissingField> {
                    ::std::result::Result::Ok(#target { #(#fills,)* })
                }
            }
        })?,
    ];
    Ok(items)
}
