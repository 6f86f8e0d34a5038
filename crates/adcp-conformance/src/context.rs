//! The storyboard-run context: `context_outputs` captures, generated ids, prior responses, and
//! the substitution of every placeholder a storyboard may write into a request or an
//! expected value.
//!
//! Placeholders:
//! - `$context.<name>`: a captured value. As a whole string it keeps its JSON type; inside a
//!   longer string it is interpolated as text.
//! - `$generate:uuid_v4` / `$generate:uuid_v4#<alias>` (and `opaque_id`): a fresh UUID, the
//!   same one for every use of an alias within a phase (aliases reset at phase boundaries, as
//!   the reference runner does; the idempotency storyboard depends on both halves).
//! - `$test_kit.<path>`: a test-kit value.
//! - `{{runner.webhook_url:<step_id>}}`, `{{runner.webhook_base}}`: the loopback receiver.
//! - `{{prior_step.<step_id>.<path>}}`: a field of an earlier step's response.
//!
//! A placeholder that cannot be resolved is an error naming it; nothing literal such as
//! `$context.x` or `{{...}}` is ever sent to the agent.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::kit::TestKit;
use crate::path;

/// Values a substitution may draw on besides the context: the receiver's base URL and the
/// per-run token that makes receiver URLs distinct from any protocol `operation_id`.
#[derive(Debug, Clone)]
pub struct RunnerVars {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub webhook_base: Option<String>,
    /// A random token minted once per storyboard run, the last segment of receiver URLs.
    pub run_token: String,
}

impl RunnerVars {
    /// The per-step receiver URL: stable for a step within a run (the idempotency replay
    /// sends it twice and must hash identically) and never equal to an `operation_id`.
    pub fn webhook_url(&self, step_id: &str) -> Option<String> {
        self.webhook_base
            .as_ref()
            .map(|base| format!("{base}/step/{step_id}/{}", self.run_token))
    }
}

/// A placeholder that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// The placeholder as written, e.g. `$context.media_buy_id`.
    pub token: String,
    /// The context name, when the placeholder was `$context.<name>`.
    pub context_name: Option<String>,
}

/// The context accumulator of one storyboard run.
#[derive(Debug)]
pub struct RunContext {
    values: BTreeMap<String, Value>,
    aliases: HashMap<String, String>,
    responses: HashMap<String, Value>,
    runner: RunnerVars,
}

impl RunContext {
    /// A fresh context seeded with the storyboard's root `context:` block.
    pub fn new(initial: Option<&serde_json::Map<String, Value>>, runner: RunnerVars) -> Self {
        let values = initial
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        Self {
            values,
            aliases: HashMap::new(),
            responses: HashMap::new(),
            runner,
        }
    }

    /// The runner variables.
    pub fn runner(&self) -> &RunnerVars {
        &self.runner
    }

    /// A captured value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// Stores a captured or generated value.
    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_owned(), value);
    }

    /// Every captured value, for reports.
    pub fn values(&self) -> &BTreeMap<String, Value> {
        &self.values
    }

    /// Remembers a step's response for `{{prior_step.<id>.<path>}}`.
    pub fn record_response(&mut self, step_id: &str, response: Value) {
        self.responses.insert(step_id.to_owned(), response);
    }

    /// Forgets `$generate` aliases: called at every phase boundary.
    pub fn reset_aliases(&mut self) {
        self.aliases.clear();
    }

    /// Mints the value of a `generate:` context output.
    pub fn generate(kind: &str) -> Option<Value> {
        matches!(kind, "uuid_v4" | "opaque_id")
            .then(|| Value::String(uuid::Uuid::new_v4().to_string()))
    }

    /// Substitutes every placeholder in `value`.
    pub fn substitute(&mut self, value: &Value, kit: &TestKit) -> Result<Value, Unresolved> {
        match value {
            Value::String(s) => self.substitute_str(s, kit),
            Value::Array(items) => items
                .iter()
                .map(|item| self.substitute(item, kit))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            Value::Object(map) => {
                let mut out = serde_json::Map::with_capacity(map.len());
                for (k, v) in map {
                    out.insert(k.clone(), self.substitute(v, kit)?);
                }
                Ok(Value::Object(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn substitute_str(&mut self, s: &str, kit: &TestKit) -> Result<Value, Unresolved> {
        // A whole-string placeholder keeps the JSON type of what it resolves to.
        if let Some(name) = s.strip_prefix("$context.")
            && is_name(name)
        {
            return self.context_value(name);
        }
        if let Some(spec) = s.strip_prefix("$generate:") {
            return self.generated(spec).map(Value::String);
        }
        if let Some(dotted) = s.strip_prefix("$test_kit.") {
            return kit.get(dotted).cloned().ok_or_else(|| Unresolved {
                token: s.to_owned(),
                context_name: None,
            });
        }
        if let Some(inner) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
            && !inner.contains("{{")
        {
            return self.mustache(inner.trim(), s);
        }
        if !s.contains("$context.") && !s.contains("{{") {
            return Ok(Value::String(s.to_owned()));
        }
        self.interpolate(s).map(Value::String)
    }

    fn interpolate(&mut self, s: &str) -> Result<String, Unresolved> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        loop {
            let next_context = rest.find("$context.");
            let next_mustache = rest.find("{{");
            let (at, is_context) = match (next_context, next_mustache) {
                (None, None) => break,
                (Some(c), Some(m)) if m < c => (m, false),
                (Some(c), _) => (c, true),
                (None, Some(m)) => (m, false),
            };
            out.push_str(&rest[..at]);
            rest = &rest[at..];
            if is_context {
                let name_len = rest["$context.".len()..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                    .unwrap_or(rest.len() - "$context.".len());
                let name = &rest["$context.".len()..][..name_len];
                if name.is_empty() {
                    out.push_str("$context.");
                    rest = &rest["$context.".len()..];
                    continue;
                }
                out.push_str(&as_text(&self.context_value(name)?));
                rest = &rest["$context.".len() + name_len..];
            } else {
                let Some(end) = rest.find("}}") else {
                    return Err(Unresolved {
                        token: rest.to_owned(),
                        context_name: None,
                    });
                };
                let token = &rest[..end + 2];
                out.push_str(&as_text(&self.mustache(rest[2..end].trim(), token)?));
                rest = &rest[end + 2..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn context_value(&self, name: &str) -> Result<Value, Unresolved> {
        self.values.get(name).cloned().ok_or_else(|| Unresolved {
            token: format!("$context.{name}"),
            context_name: Some(name.to_owned()),
        })
    }

    fn generated(&mut self, spec: &str) -> Result<String, Unresolved> {
        let (kind, alias) = match spec.split_once('#') {
            Some((kind, alias)) => (kind, Some(alias)),
            None => (spec, None),
        };
        if !matches!(kind, "uuid_v4" | "opaque_id") {
            return Err(Unresolved {
                token: format!("$generate:{spec}"),
                context_name: None,
            });
        }
        let fresh = || uuid::Uuid::new_v4().to_string();
        Ok(match alias {
            Some(alias) => self
                .aliases
                .entry(alias.to_owned())
                .or_insert_with(fresh)
                .clone(),
            None => fresh(),
        })
    }

    fn mustache(&self, inner: &str, token: &str) -> Result<Value, Unresolved> {
        let unresolved = || Unresolved {
            token: token.to_owned(),
            context_name: None,
        };
        if let Some(step_id) = inner.strip_prefix("runner.webhook_url:") {
            return self
                .runner
                .webhook_url(step_id.trim())
                .map(Value::String)
                .ok_or_else(unresolved);
        }
        if inner == "runner.webhook_base" {
            return self
                .runner
                .webhook_base
                .clone()
                .map(Value::String)
                .ok_or_else(unresolved);
        }
        if let Some(rest) = inner.strip_prefix("prior_step.") {
            let (step_id, field) = rest.split_once('.').ok_or_else(unresolved)?;
            let response = self.responses.get(step_id).ok_or_else(unresolved)?;
            return path::resolve(response, field)
                .filter(|v| !v.is_null())
                .ok_or_else(unresolved);
        }
        Err(unresolved())
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> RunContext {
        RunContext::new(
            Some(json!({"count": 3, "id": "mb_1"}).as_object().unwrap()),
            RunnerVars {
                webhook_base: Some("http://127.0.0.1:9".into()),
                run_token: "tok".into(),
            },
        )
    }

    #[test]
    fn whole_string_context_keeps_type_and_embedded_interpolates() {
        let mut ctx = context();
        let kit = TestKit::default();
        let out = ctx
            .substitute(
                &json!({"n": "$context.count", "s": "id=$context.id!", "a": ["$context.id"]}),
                &kit,
            )
            .unwrap();
        assert_eq!(out, json!({"n": 3, "s": "id=mb_1!", "a": ["mb_1"]}));
    }

    #[test]
    fn unresolved_context_names_the_token() {
        let mut ctx = context();
        let err = ctx
            .substitute(&json!({"x": "$context.missing"}), &TestKit::default())
            .unwrap_err();
        assert_eq!(err.token, "$context.missing");
        assert_eq!(err.context_name.as_deref(), Some("missing"));
    }

    #[test]
    fn generate_aliases_are_stable_within_a_phase_and_reset_between() {
        let mut ctx = context();
        let kit = TestKit::default();
        let a = ctx.substitute(&json!("$generate:uuid_v4#k"), &kit).unwrap();
        let b = ctx.substitute(&json!("$generate:uuid_v4#k"), &kit).unwrap();
        let c = ctx.substitute(&json!("$generate:uuid_v4"), &kit).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        ctx.reset_aliases();
        let d = ctx.substitute(&json!("$generate:uuid_v4#k"), &kit).unwrap();
        assert_ne!(a, d);
        assert!(uuid::Uuid::parse_str(d.as_str().unwrap()).is_ok());
    }

    #[test]
    fn runner_and_prior_step_mustaches_resolve() {
        let mut ctx = context();
        ctx.record_response("create", json!({"task_id": "t9"}));
        let kit = TestKit {
            path: None,
            data: json!({"operations": {"emitter": "create_media_buy"}}),
        };
        let out = ctx
            .substitute(
                &json!({
                    "url": "{{runner.webhook_url:trigger}}",
                    "base": "{{ runner.webhook_base }}",
                    "task": "{{prior_step.create.task_id}}",
                    "text": "see {{prior_step.create.task_id}} now",
                    "op": "$test_kit.operations.emitter"
                }),
                &kit,
            )
            .unwrap();
        assert_eq!(
            out,
            json!({
                "url": "http://127.0.0.1:9/step/trigger/tok",
                "base": "http://127.0.0.1:9",
                "task": "t9",
                "text": "see t9 now",
                "op": "create_media_buy"
            })
        );
        let err = ctx
            .substitute(&json!("{{prior_step.nope.task_id}}"), &kit)
            .unwrap_err();
        assert_eq!(err.token, "{{prior_step.nope.task_id}}");
    }
}
