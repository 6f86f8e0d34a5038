//! The wire validator (feature `validate`): every AdCP schema in one `jsonschema` registry,
//! references resolved from the local schema folder and never from the network.
//!
//! Validators compile lazily, once per schema, and are then shared: the first validation of a
//! tool's response costs a few milliseconds, every later one microseconds. Errors carry the
//! RFC 6901 instance path and the rejecting keyword, ready for
//! [`AdcpError::validation`](crate::AdcpError::validation).
//!
//! The schema folder is `cargo xtask schemas`'s output; [`SchemaSet::load_default`] finds it
//! through `ADCP_SCHEMAS_DIR` or the workspace's `schemas/<version>/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

use jsonschema::{Registry, Resource, Validator};
use serde_json::{Value, json};

use crate::error::ValidationIssue;
use crate::manifest::{ADCP_VERSION, TaskStatus, tool};

/// The base every root-relative `$id` (`/schemas/3.1.0-rc.9/...`) resolves against. It is a
/// reserved name, so nothing could ever be fetched from it.
const BASE: &str = "https://adcp.invalid";

/// Why a schema set could not be loaded or a schema could not be compiled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// The schema folder is missing or unreadable.
    #[error(
        "cannot read the AdCP schemas at {path}: {source} (run `cargo xtask schemas`, or set ADCP_SCHEMAS_DIR)"
    )]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A schema file is not JSON.
    #[error("{path} is not valid JSON: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parse error.
        source: serde_json::Error,
    },
    /// The registry or a validator could not be built.
    #[error("schema {schema}: {message}")]
    Schema {
        /// The schema path.
        schema: String,
        /// What went wrong.
        message: String,
    },
    /// No tool of that name, or the tool has no such arm.
    #[error("unknown schema for {0}")]
    UnknownSchema(String),
}

/// Every schema of one AdCP version, compiled on demand.
pub struct SchemaSet {
    registry: Registry<'static>,
    schemas: Vec<String>,
    compiled: RwLock<HashMap<String, Arc<Validator>>>,
}

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("schemas", &self.schemas.len())
            .finish_non_exhaustive()
    }
}

impl SchemaSet {
    /// Loads every `*.json` below `dir` (a folder written by `cargo xtask schemas`).
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, ValidateError> {
        let dir = dir.as_ref();
        let mut files = Vec::new();
        collect(dir, dir, &mut files)?;
        files.sort();
        let mut resources = Vec::with_capacity(files.len());
        for rel in &files {
            let path = dir.join(rel);
            let text = std::fs::read_to_string(&path).map_err(|source| ValidateError::Io {
                path: path.clone(),
                source,
            })?;
            let value: Value =
                serde_json::from_str(&text).map_err(|source| ValidateError::Json {
                    path: path.clone(),
                    source,
                })?;
            resources.push((uri_of(rel), Resource::from_contents(value)));
        }
        let registry = Registry::new()
            .extend(resources)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| ValidateError::Schema {
                schema: dir.display().to_string(),
                message: e.to_string(),
            })?;
        Ok(Self {
            registry,
            schemas: files,
            compiled: RwLock::new(HashMap::new()),
        })
    }

    /// The process-wide set, loaded once from `ADCP_SCHEMAS_DIR` (the version folder or its
    /// parent) or the workspace's `schemas/<version>/`.
    pub fn load_default() -> Result<&'static SchemaSet, ValidateError> {
        static SET: OnceLock<SchemaSet> = OnceLock::new();
        if let Some(set) = SET.get() {
            return Ok(set);
        }
        let set = Self::load(default_dir())?;
        Ok(SET.get_or_init(|| set))
    }

    /// How many schema files the set holds.
    pub fn len(&self) -> usize {
        self.schemas.len()
    }

    /// Whether the set holds no schema.
    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }

    /// Validates `instance` against the schema at `schema` (relative to the schema root,
    /// e.g. `core/error.json`). `Ok(())` or every violation found.
    pub fn validate_schema(
        &self,
        schema: &str,
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        let validator = self.validator(schema).map_err(|e| {
            vec![ValidationIssue {
                pointer: String::new(),
                message: e.to_string(),
                keyword: "$ref".into(),
            }]
        })?;
        if validator.is_valid(instance) {
            return Ok(());
        }
        Err(validator
            .iter_errors(instance)
            .map(|error| ValidationIssue {
                pointer: error.instance_path().to_string(),
                message: error.to_string(),
                keyword: keyword_of(&error.schema_path().to_string()),
            })
            .collect())
    }

    /// Validates a request to `tool_name`.
    pub fn validate_request(
        &self,
        tool_name: &str,
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        let schema = tool(tool_name).map(|t| t.request_schema);
        self.validate_named(tool_name, schema, instance)
    }

    /// Validates a success response of `tool_name`.
    pub fn validate_response(
        &self,
        tool_name: &str,
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        let schema = tool(tool_name).map(|t| t.response_schema);
        self.validate_named(tool_name, schema, instance)
    }

    /// Validates an async arm (`submitted`, `working`, `input-required`) of `tool_name`.
    pub fn validate_async_arm(
        &self,
        tool_name: &str,
        status: TaskStatus,
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        let schema = tool(tool_name).and_then(|t| t.async_arm_schema(status));
        self.validate_named(tool_name, schema, instance)
    }

    fn validate_named(
        &self,
        tool_name: &str,
        schema: Option<&str>,
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        match schema {
            Some(schema) => self.validate_schema(schema, instance),
            None => Err(vec![ValidationIssue {
                pointer: String::new(),
                message: ValidateError::UnknownSchema(tool_name.to_owned()).to_string(),
                keyword: "$ref".into(),
            }]),
        }
    }

    /// The compiled validator of `schema`, compiling it on first use.
    pub fn validator(&self, schema: &str) -> Result<Arc<Validator>, ValidateError> {
        if let Some(found) = self
            .compiled
            .read()
            .ok()
            .and_then(|map| map.get(schema).cloned())
        {
            return Ok(found);
        }
        if self
            .schemas
            .binary_search_by(|s| s.as_str().cmp(schema))
            .is_err()
        {
            return Err(ValidateError::UnknownSchema(schema.to_owned()));
        }
        let validator = jsonschema::draft7::options()
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&json!({ "$ref": uri_of(schema) }))
            .map_err(|e| ValidateError::Schema {
                schema: schema.to_owned(),
                message: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        if let Ok(mut map) = self.compiled.write() {
            map.entry(schema.to_owned())
                .or_insert_with(|| validator.clone());
        }
        Ok(validator)
    }
}

fn uri_of(rel: &str) -> String {
    format!("{BASE}/schemas/{ADCP_VERSION}/{rel}")
}

/// The keyword that rejected: the last segment of the schema path that is a keyword.
fn keyword_of(schema_path: &str) -> String {
    schema_path
        .rsplit('/')
        .find(|segment| !segment.is_empty() && !segment.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("schema")
        .to_owned()
}

fn default_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADCP_SCHEMAS_DIR") {
        let dir = PathBuf::from(dir);
        let versioned = dir.join(ADCP_VERSION);
        return if versioned.is_dir() { versioned } else { dir };
    }
    // The workspace layout: crates/adcp-types → ../../schemas/<version>.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas")
        .join(ADCP_VERSION)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<(), ValidateError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ValidateError::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let path = entry
            .map_err(|source| ValidateError::Io {
                path: dir.to_owned(),
                source,
            })?
            .path();
        if path.is_dir() {
            collect(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            // The manifest is data described by its own meta-schema, not a schema.
            let rel = path.strip_prefix(root).ok().and_then(Path::to_str);
            if let Some(rel) = rel.filter(|rel| *rel != "manifest.json") {
                out.push(rel.replace('\\', "/"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> &'static SchemaSet {
        SchemaSet::load_default().expect("run `cargo xtask schemas` first")
    }

    #[test]
    fn a_good_request_passes_and_a_bad_one_names_its_field() {
        let good = json!({"buying_mode": "brief", "brief": "Premium video for a sports brand"});
        assert_eq!(set().validate_request("get_products", &good), Ok(()));
        let bad = json!({"buying_mode": "nope", "brief": 42});
        let issues = set().validate_request("get_products", &bad).unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.pointer == "/brief" && i.keyword == "type"),
            "{issues:?}"
        );
    }

    #[test]
    fn async_arms_are_validated_by_status() {
        let submitted = json!({"status": "submitted", "task_id": "task_1"});
        assert_eq!(
            set().validate_async_arm("get_signals", TaskStatus::Submitted, &submitted),
            Ok(())
        );
        let wrong = json!({"status": "working", "task_id": "task_1"});
        assert!(
            set()
                .validate_async_arm("get_signals", TaskStatus::Submitted, &wrong)
                .is_err()
        );
        assert!(
            set()
                .validate_async_arm("get_signals", TaskStatus::InputRequired, &submitted)
                .is_err()
        );
    }

    #[test]
    fn unknown_tools_and_schemas_are_errors() {
        assert!(set().validate_request("no_such_tool", &json!({})).is_err());
        assert!(matches!(
            set().validator("nope.json"),
            Err(ValidateError::UnknownSchema(_))
        ));
    }
}
