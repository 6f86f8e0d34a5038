//! Generates `manifest.rs`: the tool table, the error-code table, and the protocol's small
//! string enums (`TaskType`, `TaskStatus`, `Specialism`, `AdcpProtocol`), from `manifest.json`
//! and the matching `enums/*.json` files.

use std::fmt::Write as _;

use anyhow::{Context, Result};
use heck::{ToShoutySnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::schemas::SchemaTree;

/// The Rust source of `generated/manifest.rs` (unformatted).
pub(crate) fn generate(tree: &SchemaTree) -> Result<String> {
    let manifest = tree
        .get("manifest.json")
        .context("the schema tree has no manifest.json")?;
    let mut out = String::new();
    let version = manifest["adcp_version"]
        .as_str()
        .context("manifest adcp_version")?;
    writeln!(out, "/// The AdCP version these types were generated from.")?;
    writeln!(out, "pub const ADCP_VERSION: &str = {version:?};")?;

    out.push_str(&string_enum(
        tree,
        "TaskType",
        "enums/task-type.json",
        "A protocol task type: what `task_type` names on a task and on a webhook.",
    )?);
    out.push_str(&string_enum(
        tree,
        "TaskStatus",
        "enums/task-status.json",
        "The status of a protocol task.",
    )?);
    out.push_str(&string_enum(
        tree,
        "Specialism",
        "enums/specialism.json",
        "A specialism an agent claims in `get_adcp_capabilities` (wire kebab-case).",
    )?);
    out.push_str(&string_enum(
        tree,
        "AdcpProtocol",
        "enums/adcp-protocol.json",
        "A protocol domain of AdCP (`media-buy`, `signals`, ...).",
    )?);
    out.push_str(&error_codes(manifest)?);
    out.push_str(&tools(manifest)?);
    out.push_str(&specialisms(manifest)?);
    Ok(out)
}

fn string_enum(tree: &SchemaTree, name: &str, file: &str, doc: &str) -> Result<String> {
    let schema = tree
        .get(file)
        .with_context(|| format!("{file} is missing"))?;
    let values: Vec<&str> = schema["enum"]
        .as_array()
        .with_context(|| format!("{file} has no enum"))?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let descriptions = schema.get("enumDescriptions");
    let mut out = String::new();
    writeln!(out, "\n/// {doc}")?;
    writeln!(out, "///\n/// Generated from `{file}`.")?;
    writeln!(
        out,
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]"
    )?;
    writeln!(out, "pub enum {name} {{")?;
    for value in &values {
        let text = descriptions
            .and_then(|d| d.get(*value))
            .and_then(Value::as_str)
            .map_or_else(|| format!("`{value}`."), first_sentence);
        writeln!(out, "    /// {text}")?;
        writeln!(out, "    #[serde(rename = {value:?})]")?;
        writeln!(out, "    {},", variant_name(value))?;
    }
    writeln!(out, "}}\n")?;
    writeln!(out, "impl {name} {{")?;
    writeln!(out, "    /// Every value, in the schema's order.")?;
    writeln!(out, "    pub const ALL: &'static [Self] = &[")?;
    for value in &values {
        writeln!(out, "        Self::{},", variant_name(value))?;
    }
    writeln!(out, "    ];\n")?;
    writeln!(out, "    /// The wire spelling.")?;
    writeln!(out, "    pub const fn as_str(self) -> &'static str {{")?;
    writeln!(out, "        match self {{")?;
    for value in &values {
        writeln!(
            out,
            "            Self::{} => {value:?},",
            variant_name(value)
        )?;
    }
    writeln!(out, "        }}\n    }}\n}}\n")?;
    writeln!(out, "impl ::std::fmt::Display for {name} {{")?;
    writeln!(
        out,
        "    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{"
    )?;
    writeln!(out, "        f.write_str(self.as_str())\n    }}\n}}\n")?;
    writeln!(out, "impl ::std::str::FromStr for {name} {{")?;
    writeln!(out, "    type Err = crate::UnknownEnumValue;")?;
    writeln!(
        out,
        "    fn from_str(value: &str) -> Result<Self, Self::Err> {{"
    )?;
    writeln!(out, "        match value {{")?;
    for value in &values {
        writeln!(
            out,
            "            {value:?} => Ok(Self::{}),",
            variant_name(value)
        )?;
    }
    writeln!(
        out,
        "            other => Err(crate::UnknownEnumValue {{ kind: {name:?}, value: other.to_owned() }}),"
    )?;
    writeln!(out, "        }}\n    }}\n}}")?;
    Ok(out)
}

fn error_codes(manifest: &Value) -> Result<String> {
    // Sorted by code, whatever map order serde_json keeps, so lookups can binary-search.
    let codes: std::collections::BTreeMap<&String, &Value> = manifest["error_codes"]
        .as_object()
        .context("manifest error_codes")?
        .iter()
        .collect();
    let default = manifest["error_code_policy"]["default_unknown_recovery"]
        .as_str()
        .context("manifest error_code_policy.default_unknown_recovery")?;
    let mut out = String::new();
    writeln!(
        out,
        "\n/// The standard error codes, as constants (`codes::INVALID_REQUEST`)."
    )?;
    writeln!(out, "pub mod codes {{")?;
    for (code, spec) in &codes {
        let doc = spec["description"]
            .as_str()
            .map_or_else(String::new, first_sentence);
        writeln!(out, "    /// {doc}")?;
        writeln!(
            out,
            "    pub const {}: &str = {code:?};",
            code.to_shouty_snake_case()
        )?;
    }
    writeln!(out, "}}\n")?;
    writeln!(
        out,
        "/// Every standard error code with its recovery and suggestion, sorted by code."
    )?;
    writeln!(out, "pub static ERROR_CODES: &[ErrorCodeSpec] = &[")?;
    for (code, spec) in &codes {
        let recovery = recovery_variant(spec["recovery"].as_str().context("error recovery")?);
        let suggestion = spec["suggestion"].as_str().unwrap_or_default();
        writeln!(
            out,
            "    ErrorCodeSpec {{ code: {code:?}, recovery: Recovery::{recovery}, suggestion: {suggestion:?} }},"
        )?;
    }
    writeln!(out, "];\n")?;
    writeln!(
        out,
        "/// The recovery of `code`: from the table for standard codes, `{default}` for any other \
         (the manifest's `error_code_policy.default_unknown_recovery`)."
    )?;
    writeln!(out, "pub fn recovery_for_code(code: &str) -> Recovery {{")?;
    writeln!(out, "    ERROR_CODES")?;
    writeln!(out, "        .binary_search_by(|spec| spec.code.cmp(code))")?;
    writeln!(
        out,
        "        .map_or(Recovery::{}, |i| ERROR_CODES[i].recovery)",
        recovery_variant(default)
    )?;
    writeln!(out, "}}")?;
    Ok(out)
}

fn tools(manifest: &Value) -> Result<String> {
    let tools = manifest["tools"].as_object().context("manifest tools")?;
    let mut out = String::new();
    writeln!(out, "\n/// Every tool of the protocol, sorted by name.")?;
    writeln!(out, "pub static TOOLS: &[ToolSpec] = &[")?;
    for (name, spec) in tools {
        let specialisms: Vec<String> = strings(spec, "specialisms")
            .iter()
            .map(|s| format!("Specialism::{}", variant_name(&s.replace('_', "-"))))
            .collect();
        writeln!(
            out,
            "    ToolSpec {{ name: {name:?}, protocol: {:?}, mutating: {}, request_schema: {:?}, \
             response_schema: {:?}, async_response_schemas: &{:?}, specialisms: &[{}] }},",
            spec["protocol"].as_str().context("tool protocol")?,
            spec["mutating"].as_bool().context("tool mutating")?,
            spec["request_schema"]
                .as_str()
                .context("tool request_schema")?,
            spec["response_schema"]
                .as_str()
                .context("tool response_schema")?,
            strings(spec, "async_response_schemas"),
            specialisms.join(", "),
        )?;
    }
    writeln!(out, "];")?;
    Ok(out)
}

fn specialisms(manifest: &Value) -> Result<String> {
    let specialisms = manifest["specialisms"]
        .as_object()
        .context("manifest specialisms")?;
    let mut out = String::new();
    writeln!(
        out,
        "\n/// The specialisms the manifest describes, with the tools each exercises."
    )?;
    writeln!(out, "pub static SPECIALISMS: &[SpecialismSpec] = &[")?;
    for (name, spec) in specialisms {
        writeln!(
            out,
            "    SpecialismSpec {{ specialism: Specialism::{}, protocol: {:?}, title: {:?}, \
             entry_point_tools: &{:?}, exercised_tools: &{:?} }},",
            variant_name(&name.replace('_', "-")),
            spec["protocol"].as_str().context("specialism protocol")?,
            spec["title"].as_str().unwrap_or_default(),
            strings(spec, "entry_point_tools"),
            strings(spec, "exercised_tools"),
        )?;
    }
    writeln!(out, "];")?;
    Ok(out)
}

/// The strings of the array at `spec[key]` (empty when absent).
fn strings(spec: &Value, key: &str) -> Vec<String> {
    spec[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn recovery_variant(recovery: &str) -> String {
    recovery.to_upper_camel_case()
}

/// `input-required` → `InputRequired`, `media_buy_delivery` → `MediaBuyDelivery`.
pub(crate) fn variant_name(value: &str) -> String {
    value.to_upper_camel_case()
}

/// The first sentence of a description, on one line, safe inside a `///` comment.
pub(crate) fn first_sentence(text: &str) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let end = one_line.find(". ").map_or(one_line.len(), |i| i + 1);
    let mut sentence: String = one_line[..end].chars().take(300).collect();
    if sentence.is_empty() {
        sentence.push_str("(undocumented)");
    }
    sentence
}
