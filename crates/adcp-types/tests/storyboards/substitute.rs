//! Deterministic placeholder substitution for storyboard `sample_request`s.
//!
//! The storyboard format (`universal/storyboard-schema.yaml`, "Context accumulator and
//! substitution") defines the tokens; this module resolves them without a live agent:
//!
//! - `$generate:<kind>#<key>` → a UUID v4-shaped value derived from the key (same key, same value).
//! - `{{runner.webhook_url:<id>}}` / `{{runner.webhook_base}}` → `https://buyer.example/webhooks/<id>`.
//! - `$context.<name>` → the storyboard's root `context:` block; else the `context_outputs`
//!   entry that captures `<name>` (`generate:` → UUID; `path:` → the capturing step's
//!   `sample_response`, then the storyboard's seeded `fixtures:`); else a value shaped by the
//!   captured field (a format-id object for `format_ids[i]`, a number for prices, an enum value
//!   for `format_kind`/`billing`); else a plausible id string.
//! - `$test_kit.<path>` → the storyboard's test kit; else a plausible string.
//! - `{{prior_step.<id>.<field>}}` → the prior step's `sample_response`, else a plausible string.
//!
//! Every token the resolver meets is counted by how it was resolved, so the summary shows how
//! much of a sample is the spec's own text and how much is ours.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::corpus::{Storyboard, leaf, lookup};

/// How many tokens each resolution path produced.
#[derive(Debug, Default)]
pub(crate) struct Resolutions {
    pub(crate) counts: BTreeMap<&'static str, usize>,
}

impl Resolutions {
    fn note(&mut self, how: &'static str) {
        *self.counts.entry(how).or_default() += 1;
    }
}

/// Resolves the tokens of one storyboard.
pub(crate) struct Resolver<'a> {
    storyboard: &'a Storyboard,
    kit: Option<&'a Value>,
    /// The seller response the seeded fixtures stand for (`products` with their pricing options,
    /// `accounts`, `creatives`, `plans`, `media_buys`).
    seeded: Value,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(storyboard: &'a Storyboard, kit: Option<&'a Value>) -> Self {
        Self {
            storyboard,
            kit,
            seeded: seeded_view(&storyboard.doc),
        }
    }

    /// The task a step calls: a `$test_kit.` reference resolves through the kit, then
    /// `task_default`.
    pub(crate) fn task_of(&self, step: &Value) -> Option<String> {
        let task = step["task"].as_str()?;
        match task.strip_prefix("$test_kit.") {
            Some(path) => self
                .kit
                .and_then(|kit| lookup(kit, path))
                .and_then(Value::as_str)
                .or_else(|| step["task_default"].as_str())
                .map(str::to_owned),
            None => Some(task.to_owned()),
        }
    }

    /// Whether a phase's `skip_if` is a `!test_kit.<path>` gate the kit does not satisfy. Other
    /// expressions depend on run-time context and are not evaluated (the phase's samples are
    /// checked).
    pub(crate) fn phase_skipped_by_kit(&self, phase: &Value) -> Option<String> {
        let expression = phase["skip_if"].as_str()?;
        let path = expression.trim().strip_prefix("!test_kit.")?;
        let present = self.kit.and_then(|kit| lookup(kit, path)).is_some();
        (!present).then(|| format!("phase skip_if `{expression}` holds for this test kit"))
    }

    /// Why a step's sample cannot be checked on its own: its `schema_ref` is a test-kit
    /// reference the kit does not set. Such samples are envelope fragments (`context`,
    /// `idempotency_key`, `push_notification_config`) the runner merges into whatever operation
    /// the kit names; `task_default` only says where to send them.
    pub(crate) fn fragment_reason(&self, step: &Value) -> Option<String> {
        let schema = step["schema_ref"].as_str()?;
        let path = schema.strip_prefix("$test_kit.")?;
        let resolved = self.kit.and_then(|kit| lookup(kit, path)).is_some();
        (!resolved)
            .then(|| format!("envelope fragment: schema_ref `{schema}` is unset in the test kit"))
    }

    /// `value` with every token replaced.
    pub(crate) fn substitute(&self, value: &Value, stats: &mut Resolutions) -> Value {
        match value {
            Value::String(text) => self.substitute_str(text, stats),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.substitute(v, stats)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.substitute(v, stats)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn substitute_str(&self, text: &str, stats: &mut Resolutions) -> Value {
        if let Some(name) = text.strip_prefix("$context.") {
            return self.context(name, stats);
        }
        if let Some(spec) = text.strip_prefix("$generate:") {
            stats.note("$generate");
            let key = spec.split_once('#').map_or(spec, |(_, key)| key);
            return Value::String(uuid_for(key));
        }
        if let Some(path) = text.strip_prefix("$test_kit.") {
            if let Some(found) = self.kit.and_then(|kit| lookup(kit, path)) {
                stats.note("$test_kit from the kit");
                return found.clone();
            }
            stats.note("$test_kit plausible (absent from the kit)");
            return Value::String(plausible_id(leaf(path)));
        }
        if !text.contains("{{") {
            return Value::String(text.to_owned());
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            let Some(len) = rest[start..].find("}}") else {
                break;
            };
            out.push_str(&rest[..start]);
            let token = rest[start + 2..start + len].trim();
            out.push_str(&self.mustache(token, stats));
            rest = &rest[start + len + 2..];
        }
        out.push_str(rest);
        Value::String(out)
    }

    fn mustache(&self, token: &str, stats: &mut Resolutions) -> String {
        if let Some(id) = token.strip_prefix("runner.webhook_url:") {
            stats.note("{{runner.webhook_url}}");
            return format!("https://buyer.example/webhooks/{id}");
        }
        if token == "runner.webhook_base" {
            stats.note("{{runner.webhook_base}}");
            return "https://buyer.example/webhooks".to_owned();
        }
        if let Some((step_id, field)) = token
            .strip_prefix("prior_step.")
            .and_then(|r| r.split_once('.'))
        {
            let from_sample = self
                .storyboard
                .steps()
                .iter()
                .find(|s| s.id == step_id)
                .and_then(|s| lookup(&s.raw["sample_response"], field))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if let Some(found) = from_sample {
                stats.note("{{prior_step}} from its sample_response");
                return found;
            }
            stats.note("{{prior_step}} plausible");
            return plausible_id(leaf(field));
        }
        // Unknown token: left in place so the unresolved-token check reports it.
        format!("{{{{{token}}}}}")
    }

    fn context(&self, name: &str, stats: &mut Resolutions) -> Value {
        if let Some(found) = self.storyboard.doc.get("context").and_then(|c| c.get(name)) {
            stats.note("$context from the root context block");
            return found.clone();
        }
        let capture = self.storyboard.steps().into_iter().find_map(|s| {
            s.raw["context_outputs"].as_array()?.iter().find_map(|out| {
                let named = out
                    .get("name")
                    .or_else(|| out.get("key"))
                    .and_then(Value::as_str);
                (named == Some(name)).then_some((s.raw, out))
            })
        });
        let Some((step, output)) = capture else {
            stats.note("$context plausible (never captured)");
            return shaped(name, name);
        };
        if output.get("generate").is_some() {
            stats.note("$context generated");
            return Value::String(uuid_for(name));
        }
        let path = output["path"].as_str().unwrap_or(name);
        let path = path.strip_prefix("task_completion.").unwrap_or(path);
        if let Some(found) = lookup(&step["sample_response"], path) {
            stats.note("$context from the capturing step's sample_response");
            return found.clone();
        }
        if let Some(found) = lookup(&self.seeded, path).filter(|v| !v.is_object() && !v.is_array())
        {
            stats.note("$context from seeded fixtures");
            return found.clone();
        }
        stats.note("$context shaped by the captured field");
        shaped(path, name)
    }
}

/// The seeded fixtures as a seller would return them: each product carries the
/// `fixtures.pricing_options` that name it.
fn seeded_view(doc: &Value) -> Value {
    let Some(fixtures) = doc.get("fixtures").and_then(Value::as_object) else {
        return Value::Null;
    };
    let mut view: Map<String, Value> = fixtures.clone();
    let pricing = fixtures
        .get("pricing_options")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Array(products)) = view.get_mut("products") {
        for product in products.iter_mut() {
            let id = product["product_id"].clone();
            let own: Vec<Value> = pricing
                .iter()
                .filter(|p| p["product_id"] == id)
                .cloned()
                .collect();
            if let (Some(map), false) = (product.as_object_mut(), own.is_empty()) {
                map.entry("pricing_options").or_insert(Value::Array(own));
            }
        }
    }
    Value::Object(view)
}

/// A value of the shape the captured field has on the wire.
fn shaped(path: &str, name: &str) -> Value {
    let last = path.rsplit('.').next().unwrap_or(path);
    let field = leaf(path);
    if field == "format_ids" && last.ends_with(']') {
        return json!({"agent_url": "https://creative.adcontextprotocol.org/", "id": "display_300x250"});
    }
    match field {
        "signal_id" => {
            json!({"source": "catalog", "data_provider_domain": "tridentauto.example", "id": "likely_ev_buyers"})
        }
        "signal_ref" => {
            json!({"scope": "data_provider", "data_provider_domain": "tridentauto.example", "signal_id": "likely_ev_buyers"})
        }
        "p25" | "p50" | "p75" | "p90" | "fixed_price" | "floor_price" | "bid_price" => json!(12.5),
        "format_kind" => json!("image"),
        "suggested_billing" | "billing" => json!("operator"),
        "agent_url" => json!("https://creative.adcontextprotocol.org/"),
        _ if name.ends_with("bid_price") => json!(12.5),
        _ if field.ends_with("_url") => {
            json!(format!("https://{}.example/", field.replace('_', "-")))
        }
        _ => Value::String(plausible_id(name)),
    }
}

/// An id-shaped string (`[a-z0-9_]`, which every AdCP id pattern admits).
fn plausible_id(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("sb_{clean}")
}

/// A UUID v4-shaped string derived from `key` with two FNV-1a passes (stable across runs).
pub(crate) fn uuid_for(key: &str) -> String {
    let fnv = |seed: u64| {
        key.bytes().fold(seed, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&fnv(0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&fnv(0x8422_2325_cbf2_9ce4).to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Tokens left after substitution (a runner must never send one).
pub(crate) fn unresolved_tokens(value: &Value, pointer: &str, out: &mut Vec<String>) {
    match value {
        Value::String(text) => {
            let token = text.contains("{{")
                || ["$context.", "$generate:", "$test_kit."]
                    .iter()
                    .any(|p| text.contains(p));
            if token {
                out.push(format!("{pointer} = {text:?}"));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                unresolved_tokens(item, &format!("{pointer}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                unresolved_tokens(item, &format!("{pointer}/{key}"), out);
            }
        }
        _ => {}
    }
}
