//! The wire validator (feature `validate`): every AdCP schema in one `jsonschema` registry,
//! references resolved within the set and never from the network.
//!
//! The pinned schemas are compiled into the crate by its build script, so
//! [`SchemaSet::embedded`] (and [`SchemaSet::load_default`]) work in any binary with no files and
//! no environment. [`SchemaSet::load`] reads a folder written by `cargo xtask schemas` instead;
//! `load_default` does so when `ADCP_SCHEMAS_DIR` is set.
//!
//! Costs, measured on the 3.1.0-rc.9 set (639 schemas; release build, two-core machine):
//! - Binary size: about 2.5 MB of read-only data. The schemas are embedded minified (2.45 MB;
//!   the folder on disk is 3.4 MB of indented JSON) with a table of their paths; a debug build
//!   of the `validate_request` example gained 2.47 MB of `.rodata`, and the bundle is a fifth of
//!   the stripped release validator bench (11.8 MB).
//! - First validation: building the set (parsing every schema, preparing the registry) takes
//!   about 30 ms, once per process with [`SchemaSet::load_default`]. Each schema's validator then
//!   compiles on first use: the first `get_products` response (50 products) takes about 20–25 ms,
//!   later ones 80 µs; the first `get_products` request about 3 ms, later ones 1.1 µs.
//!   `cargo xtask bench` prints these numbers (`cold_start`, then the steady state).
//!
//! Errors carry the RFC 6901 instance path and the rejecting keyword, ready for
//! [`AdcpError::validation`](crate::AdcpError::validation).

use std::borrow::Cow;
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
        "cannot read the AdCP schemas at {path}: {source} (`cargo xtask schemas` writes the folder; \
         unset ADCP_SCHEMAS_DIR to use the schemas embedded in the binary)"
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

/// The schemas the build script embedded: `BUNDLE` and the `FILES` table of ranges into it.
#[allow(clippy::unreadable_literal)]
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}

impl SchemaSet {
    /// Builds the set from the schemas compiled into this crate (the pinned version, whatever
    /// the file system holds). Each call parses every schema again; most callers want the
    /// process-wide [`SchemaSet::load_default`].
    pub fn embedded() -> Result<Self, ValidateError> {
        let documents = embedded::FILES.iter().map(|&(rel, start, end)| {
            let text = embedded::BUNDLE.get(start..end).unwrap_or_default();
            Ok((rel.to_owned(), Cow::Borrowed(text)))
        });
        Self::from_documents(Path::new("<embedded>"), documents)
    }

    /// Loads every `*.json` below `dir` (a folder written by `cargo xtask schemas`), except
    /// `manifest.json`, which is data rather than a schema.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, ValidateError> {
        let dir = dir.as_ref();
        let mut files = Vec::new();
        collect(dir, dir, &mut files)?;
        files.sort();
        let documents = files.into_iter().map(|rel| {
            let path = dir.join(&rel);
            let text = std::fs::read_to_string(&path)
                .map_err(|source| ValidateError::Io { path, source })?;
            Ok((rel, Cow::Owned(text)))
        });
        Self::from_documents(dir, documents)
    }

    /// The process-wide set, built once: from the folder `ADCP_SCHEMAS_DIR` names (the version
    /// folder or its parent) when that variable is set and not empty, otherwise from the
    /// embedded schemas.
    pub fn load_default() -> Result<&'static SchemaSet, ValidateError> {
        static SET: OnceLock<SchemaSet> = OnceLock::new();
        if let Some(set) = SET.get() {
            return Ok(set);
        }
        // `ADCP_SCHEMAS_DIR=` (set but empty, as container templates often leave it) means
        // unset, not "the current directory".
        let set = match std::env::var_os("ADCP_SCHEMAS_DIR").filter(|dir| !dir.is_empty()) {
            Some(dir) => {
                let dir = PathBuf::from(dir);
                let versioned = dir.join(ADCP_VERSION);
                Self::load(if versioned.is_dir() { versioned } else { dir })?
            }
            None => Self::embedded()?,
        };
        Ok(SET.get_or_init(|| set))
    }

    /// The one way a set is built: `(relative path, JSON text)` pairs, from `origin` (a folder,
    /// or `<embedded>`), parsed and registered under their `$id`-compatible URIs.
    fn from_documents<'a>(
        origin: &Path,
        documents: impl Iterator<Item = Result<(String, Cow<'a, str>), ValidateError>>,
    ) -> Result<Self, ValidateError> {
        let mut schemas = Vec::new();
        let mut resources = Vec::new();
        for document in documents {
            let (rel, text) = document?;
            let value: Value =
                serde_json::from_str(&text).map_err(|source| ValidateError::Json {
                    path: origin.join(&rel),
                    source,
                })?;
            resources.push((uri_of(&rel), Resource::from_contents(value)));
            schemas.push(rel);
        }
        schemas.sort();
        let registry = Registry::new()
            .extend(resources)
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| ValidateError::Schema {
                schema: origin.display().to_string(),
                message: e.to_string(),
            })?;
        Ok(Self {
            registry,
            schemas,
            compiled: RwLock::new(HashMap::new()),
        })
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
        check(self.validator(schema), instance)
    }

    /// Validates a success response of `tool_name` with the top-level members `open` accepting
    /// any value: for a member the caller checks on its own (`get_task_status`' `result` is the
    /// task's own reply, a union of every async response), compiling it would cost memory and
    /// time for nothing.
    pub fn validate_response_opening(
        &self,
        tool_name: &str,
        open: &[&str],
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        let Some(schema) = tool(tool_name).map(|t| t.response_schema) else {
            return self.validate_named(tool_name, None, instance);
        };
        check(self.validator_opening(schema, open), instance)
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
        self.compiled_or(schema, schema, || Ok(json!({ "$ref": uri_of(schema) })))
    }

    /// The compiled validator of `schema` with its top-level `properties` named in `open`
    /// accepting any value, compiling it on first use. Everything else — `required`, the other
    /// members, `additionalProperties`, the `allOf` envelopes — is checked as in
    /// [`SchemaSet::validator`].
    pub fn validator_opening(
        &self,
        schema: &str,
        open: &[&str],
    ) -> Result<Arc<Validator>, ValidateError> {
        if open.is_empty() {
            return self.validator(schema);
        }
        let key = format!("{schema}#open={}", open.join(","));
        self.compiled_or(&key, schema, || {
            let failed = |message: String| ValidateError::Schema {
                schema: schema.to_owned(),
                message,
            };
            let uri = uri_of(schema);
            let base = jsonschema::uri::from_str(&uri).map_err(|e| failed(e.to_string()))?;
            let resolved = self
                .registry
                .resolver(base)
                .lookup(&uri)
                .map_err(|e| failed(e.to_string()))?;
            let mut root = resolved.contents().clone();
            if let Some(properties) = root.get_mut("properties").and_then(Value::as_object_mut) {
                for name in open {
                    if let Some(member) = properties.get_mut(*name) {
                        *member = Value::Bool(true);
                    }
                }
            }
            // A sibling `$id`: relative references resolve exactly as from the original, and
            // the registry's resource under the original id stays as it is.
            let opened = schema.strip_suffix(".json").map_or_else(
                || format!("{schema}.opened"),
                |stem| format!("{stem}.opened.json"),
            );
            if let Some(map) = root.as_object_mut() {
                map.insert("$id".into(), Value::String(uri_of(&opened)));
            }
            Ok(root)
        })
    }

    /// The validator cached under `key`, else the one compiled from the root schema `root`
    /// builds (for the known schema `schema`), cached under `key`.
    fn compiled_or(
        &self,
        key: &str,
        schema: &str,
        root: impl FnOnce() -> Result<Value, ValidateError>,
    ) -> Result<Arc<Validator>, ValidateError> {
        if let Some(found) = self
            .compiled
            .read()
            .ok()
            .and_then(|map| map.get(key).cloned())
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
            .build(&root()?)
            .map_err(|e| ValidateError::Schema {
                schema: schema.to_owned(),
                message: e.to_string(),
            })?;
        let validator = Arc::new(validator);
        if let Ok(mut map) = self.compiled.write() {
            map.entry(key.to_owned())
                .or_insert_with(|| validator.clone());
        }
        Ok(validator)
    }
}

/// Runs `validator` (or reports why there is none) over `instance`: `Ok(())` or every
/// violation found.
fn check(
    validator: Result<Arc<Validator>, ValidateError>,
    instance: &Value,
) -> Result<(), Vec<ValidationIssue>> {
    let validator = validator.map_err(|e| {
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
    fn a_folder_loads_the_same_set_as_the_embedded_schemas() {
        let dir = std::env::temp_dir().join(format!("adcp-types-load-{}", std::process::id()));
        for &(rel, start, end) in embedded::FILES {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().expect("a file has a folder")).expect("mkdir");
            std::fs::write(&path, &embedded::BUNDLE[start..end]).expect("write");
        }
        std::fs::write(dir.join("manifest.json"), "{}").expect("write");
        let loaded = SchemaSet::load(&dir);
        std::fs::remove_dir_all(&dir).expect("cleanup");
        let loaded = loaded.expect("the folder loads");
        assert_eq!(
            loaded.schemas,
            set().schemas,
            "manifest.json is not a schema"
        );
        let bad = json!({"buying_mode": "brief", "brief": 42});
        assert_eq!(
            loaded.validate_request("get_products", &bad),
            set().validate_request("get_products", &bad)
        );
    }

    #[test]
    fn a_missing_folder_is_an_io_error() {
        let missing = std::env::temp_dir().join("adcp-types-no-such-schema-folder");
        assert!(matches!(
            SchemaSet::load(missing),
            Err(ValidateError::Io { .. })
        ));
    }

    #[test]
    fn an_opened_member_accepts_anything_and_the_rest_is_still_checked() {
        let status = json!({
            "task_id": "task_1", "task_type": "get_products", "protocol": "media-buy",
            "status": "completed", "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:01Z", "result": 42
        });
        // The whole schema rejects a result that is no async response...
        assert!(set().validate_response("get_task_status", &status).is_err());
        // ...the opened one leaves it to the caller, and is compiled once.
        let open = ["result"];
        assert_eq!(
            set().validate_response_opening("get_task_status", &open, &status),
            Ok(())
        );
        let first = set()
            .validator_opening("protocol/get-task-status-response.json", &open)
            .unwrap();
        let again = set()
            .validator_opening("protocol/get-task-status-response.json", &open)
            .unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        // Everything else still holds: a missing required member, a wrong enum value.
        let mut missing = status.clone();
        missing.as_object_mut().unwrap().remove("task_id");
        assert!(
            set()
                .validate_response_opening("get_task_status", &open, &missing)
                .is_err()
        );
        let mut wrong = status;
        wrong["status"] = json!("finished");
        let issues = set()
            .validate_response_opening("get_task_status", &open, &wrong)
            .unwrap_err();
        assert!(issues.iter().any(|i| i.pointer == "/status"), "{issues:?}");
        assert!(
            set()
                .validate_response_opening("no_such_tool", &open, &json!({}))
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
