//! Test kits: the brand identity, demo credentials and harness contracts a storyboard names in
//! `prerequisites.test_kit`.
//!
//! Kits are kept as JSON values because their shape varies by flavour (brand kit or runner
//! contract); the runner reads them through dotted paths (`auth.api_key`,
//! `operations.primary_webhook_emitter`).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::Error;

/// One test kit.
#[derive(Debug, Clone, Default)]
pub struct TestKit {
    /// Where it was read from; `None` for the empty kit.
    pub path: Option<PathBuf>,
    /// The kit's contents.
    pub data: Value,
}

impl TestKit {
    /// Reads a kit file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let data: Value = serde_yaml_ng::from_str(&text).map_err(|e| Error::TestKit {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self {
            path: Some(path.to_owned()),
            data,
        })
    }

    /// The value at a dotted path (`auth.api_key`), if present and not null.
    pub fn get(&self, dotted: &str) -> Option<&Value> {
        let mut current = &self.data;
        for segment in dotted.split('.').filter(|s| !s.is_empty()) {
            current = current.get(segment)?;
        }
        (!current.is_null()).then_some(current)
    }

    /// The kit id (`acme_outdoor`, `webhook_receiver_runner`).
    pub fn id(&self) -> Option<&str> {
        self.get("id").and_then(Value::as_str)
    }

    /// The demo API key the runner sends on positive probes.
    pub fn api_key(&self) -> Option<&str> {
        self.get("auth.api_key").and_then(Value::as_str)
    }

    /// The brand's house domain (`acmeoutdoor.example`).
    pub fn brand_domain(&self) -> Option<&str> {
        self.get("brand.house.domain").and_then(Value::as_str)
    }

    /// Evaluates a phase `skip_if` expression: `test_kit.<path>` is true when the path holds a
    /// truthy value, `!test_kit.<path>` negates it. Any other expression is `None` (the
    /// runner reports it rather than guessing).
    pub fn evaluate_skip_if(&self, expression: &str) -> Option<bool> {
        let expression = expression.trim();
        let (negate, rest) = match expression.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, expression),
        };
        let path = rest.strip_prefix("test_kit.")?;
        let truthy = self.get(path).is_some_and(|v| match v {
            Value::Bool(b) => *b,
            Value::String(s) => !s.is_empty(),
            Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Value::Array(a) => !a.is_empty(),
            Value::Object(_) => true,
            Value::Null => false,
        });
        Some(truthy != negate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn skip_if_reads_the_kit() {
        let kit = TestKit {
            path: None,
            data: json!({"auth": {"api_key": "demo-v1"}}),
        };
        assert_eq!(kit.evaluate_skip_if("!test_kit.auth.api_key"), Some(false));
        assert_eq!(kit.evaluate_skip_if("!test_kit.auth.basic"), Some(true));
        assert_eq!(kit.evaluate_skip_if("test_kit.auth.api_key"), Some(true));
        assert_eq!(kit.evaluate_skip_if("agent.is_cool"), None);
        assert_eq!(kit.api_key(), Some("demo-v1"));
    }
}
