//! The wire validator (feature `validate`): every AdCP schema of one version, each tool's
//! validator compiled on first use, references resolved within the set and never from the
//! network.
//!
//! The pinned schemas are compiled into the crate by its build script, so
//! [`SchemaSet::embedded`] (and [`SchemaSet::load_default`]) work in any binary with no files and
//! no environment. [`SchemaSet::load`] reads a folder written by `cargo xtask schemas` instead;
//! `load_default` does so when `ADCP_SCHEMAS_DIR` is set.
//!
//! What a set holds, and when:
//! - The schemas are kept as minified JSON text without annotation keywords (`title`,
//!   `description`, `examples`, `$comment`), which never change a verdict: 1 MB for the
//!   3.1.0-rc.9 set of 639 files, embedded in the binary's read-only data (a folder loaded with
//!   [`SchemaSet::load`] is held on the heap). No schema is parsed until a validator needs it,
//!   so building a set costs microseconds and no heap beyond a table of names.
//! - A validator is compiled on first use from the documents its schema reaches, bundled into
//!   one document (`bundle.rs`) so that a sub-schema reached along many paths compiles once,
//!   and kept; the parsed documents are dropped, the validator owns everything it checks with.
//!   Concurrent first calls compile it once; the others wait for that compile.
//!   `cargo xtask bench` prints the cost of each first compile (`cold_start`) and the steady
//!   state.
//!
//! Errors carry the RFC 6901 instance path and the rejecting keyword, ready for
//! [`AdcpError::validation`](crate::AdcpError::validation).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::{Value, json};

use crate::error::ValidationIssue;
use crate::manifest::{ADCP_VERSION, TOOLS, TaskStatus, tool, tool_position};
use crate::schema_tree::strip_annotations;

mod bundle;

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
    /// A schema could not be parsed, or a validator could not be compiled from it.
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
    documents: Arc<Documents>,
    compiled: RwLock<HashMap<String, Arc<Compiled>>>,
    /// Each manifest tool's request and response validators, by the tool's place in
    /// [`TOOLS`], once compiled: every call validates with one of them, found here without a
    /// lock, a hash or a reference count.
    by_tool: Box<[[OnceLock<Arc<Validator>>; 2]]>,
}

/// Which of a tool's two validators [`SchemaSet::by_tool`] holds in a slot.
#[derive(Clone, Copy)]
enum Side {
    Request = 0,
    Response = 1,
}

/// One validator's compile, run once however many callers ask for it at the same time; a
/// schema that does not compile keeps its error.
type Compiled = OnceLock<Result<Arc<Validator>, String>>;

impl std::fmt::Debug for SchemaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaSet")
            .field("schemas", &self.documents.files.len())
            .finish_non_exhaustive()
    }
}

/// The schemas the build script embedded: `BUNDLE` and the `FILES` table of ranges into it.
#[allow(clippy::unreadable_literal)]
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schemas.rs"));
}

/// The schema texts of a set by relative path, sorted by it: borrowed from the embedded
/// bundle, or owned when loaded from a folder.
#[derive(Debug)]
struct Documents {
    files: Vec<(Cow<'static, str>, Cow<'static, str>)>,
}

impl Documents {
    /// The minified text of the schema at `rel`.
    fn text(&self, rel: &str) -> Option<&str> {
        self.files
            .binary_search_by(|(name, _)| name.as_ref().cmp(rel))
            .ok()
            .map(|i| self.files[i].1.as_ref())
    }

    /// The schema at `rel`, parsed.
    fn parse(&self, rel: &str) -> Result<Value, ValidateError> {
        let text = self
            .text(rel)
            .ok_or_else(|| ValidateError::UnknownSchema(rel.to_owned()))?;
        serde_json::from_str(text).map_err(|e| ValidateError::Schema {
            schema: rel.to_owned(),
            message: e.to_string(),
        })
    }
}

/// Serves `$ref`s from the set's own documents; any other URI is an error, so nothing is ever
/// fetched from the network.
struct SetRetriever(Arc<Documents>);

impl Retrieve for SetRetriever {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let rel = uri
            .as_str()
            .strip_prefix(BASE)
            .and_then(|path| path.strip_prefix("/schemas/"))
            .and_then(|path| path.strip_prefix(ADCP_VERSION))
            .and_then(|path| path.strip_prefix('/'))
            .ok_or_else(|| format!("{uri} is outside the AdCP {ADCP_VERSION} schema set"))?;
        Ok(self.0.parse(rel)?)
    }
}

impl SchemaSet {
    /// The set of schemas compiled into this crate (the pinned version, whatever the file
    /// system holds). Costs a table of names: nothing is parsed until a validator needs it.
    /// Each set compiles and keeps its own validators; most callers want the process-wide
    /// [`SchemaSet::load_default`].
    pub fn embedded() -> Result<Self, ValidateError> {
        let files = embedded::FILES
            .iter()
            .map(|&(rel, start, end)| {
                let text = embedded::BUNDLE.get(start..end).unwrap_or_default();
                (Cow::Borrowed(rel), Cow::Borrowed(text))
            })
            .collect();
        Ok(Self::from_files(files))
    }

    /// Loads every `*.json` below `dir` (a folder written by `cargo xtask schemas`), except
    /// `manifest.json`, which is data rather than a schema. Every file is parsed now, so a file
    /// that is not JSON fails the load, and kept minified without its annotations, as the
    /// embedded set is.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, ValidateError> {
        let dir = dir.as_ref();
        let mut names = Vec::new();
        collect(dir, dir, &mut names)?;
        let mut files = Vec::with_capacity(names.len());
        for rel in names {
            let path = dir.join(&rel);
            let text = std::fs::read_to_string(&path).map_err(|source| ValidateError::Io {
                path: path.clone(),
                source,
            })?;
            let mut value: Value = serde_json::from_str(&text)
                .map_err(|source| ValidateError::Json { path, source })?;
            strip_annotations(&mut value);
            files.push((Cow::Owned(rel), Cow::Owned(value.to_string())));
        }
        Ok(Self::from_files(files))
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

    /// The one way a set is built: its documents, sorted by relative path here.
    fn from_files(mut files: Vec<(Cow<'static, str>, Cow<'static, str>)>) -> Self {
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Self {
            documents: Arc::new(Documents { files }),
            compiled: RwLock::new(HashMap::new()),
            by_tool: TOOLS.iter().map(|_| Default::default()).collect(),
        }
    }

    /// The relative paths of every schema in the set, sorted.
    pub fn schema_names(&self) -> impl Iterator<Item = &str> {
        self.documents.files.iter().map(|(name, _)| name.as_ref())
    }

    /// How many schema files the set holds.
    pub fn len(&self) -> usize {
        self.documents.files.len()
    }

    /// Whether the set holds no schema.
    pub fn is_empty(&self) -> bool {
        self.documents.files.is_empty()
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
        if let Some(validator) = self.tool_validator(tool_name, Side::Request) {
            return check_with(validator, instance);
        }
        let schema = tool(tool_name).map(|t| t.request_schema);
        self.validate_named(tool_name, schema, instance)
    }

    /// Validates a success response of `tool_name`.
    pub fn validate_response(
        &self,
        tool_name: &str,
        instance: &Value,
    ) -> Result<(), Vec<ValidationIssue>> {
        if let Some(validator) = self.tool_validator(tool_name, Side::Response) {
            return check_with(validator, instance);
        }
        let schema = tool(tool_name).map(|t| t.response_schema);
        self.validate_named(tool_name, schema, instance)
    }

    /// The compiled request or response validator of the manifest tool `tool_name`, compiled
    /// on first use; `None` for a tool outside the manifest or a schema that does not compile
    /// (the callers then report why).
    fn tool_validator(&self, tool_name: &str, side: Side) -> Option<&Validator> {
        let position = tool_position(tool_name)?;
        let slot = &self.by_tool.get(position)?[side as usize];
        if let Some(validator) = slot.get() {
            return Some(validator);
        }
        let spec = &TOOLS[position];
        let schema = match side {
            Side::Request => spec.request_schema,
            Side::Response => spec.response_schema,
        };
        let compiled = self.validator(schema).ok()?;
        Some(slot.get_or_init(|| compiled))
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

    /// The compiled validator of `schema`, compiling it on first use (once, however many
    /// callers ask at the same time).
    pub fn validator(&self, schema: &str) -> Result<Arc<Validator>, ValidateError> {
        self.compiled_or(schema, schema, || self.documents.parse(schema))
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
        // JSON-encoded, so no list of names can collide with another.
        let key = format!("{schema}#open={}", json!(open));
        self.compiled_or(&key, schema, || {
            let mut root = self.documents.parse(schema)?;
            if let Some(properties) = root.get_mut("properties").and_then(Value::as_object_mut) {
                for name in open {
                    if let Some(member) = properties.get_mut(*name) {
                        *member = Value::Bool(true);
                    }
                }
            }
            Ok(root)
        })
    }

    /// The validator cached under `key`, else the one compiled from the root schema `root`
    /// builds (the known schema `schema`, or a form of it), bundled with every document it
    /// reaches (`bundle`), cached under `key`. One caller compiles; the others asking for
    /// `key` meanwhile wait for its result.
    fn compiled_or(
        &self,
        key: &str,
        schema: &str,
        root: impl FnOnce() -> Result<Value, ValidateError>,
    ) -> Result<Arc<Validator>, ValidateError> {
        // A compile that panicked poisons nothing it wrote: its slot stays empty, and the next
        // caller compiles again.
        let found = self
            .compiled
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned();
        let cell = if let Some(cell) = found {
            cell
        } else {
            if self.documents.text(schema).is_none() {
                return Err(ValidateError::UnknownSchema(schema.to_owned()));
            }
            self.compiled
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default()
                .clone()
        };
        let compiled = cell.get_or_init(|| {
            let root = root()
                .and_then(|root| bundle::bundle(root, schema, &self.documents))
                .map_err(|e| e.to_string())?;
            jsonschema::draft7::options()
                .with_retriever(SetRetriever(self.documents.clone()))
                .should_validate_formats(true)
                .build(&root)
                .map(Arc::new)
                .map_err(|e| e.to_string())
        });
        compiled.clone().map_err(|message| ValidateError::Schema {
            schema: schema.to_owned(),
            message,
        })
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
    check_with(&validator, instance)
}

/// Runs `validator` over `instance`: `Ok(())` or every violation found.
fn check_with(validator: &Validator, instance: &Value) -> Result<(), Vec<ValidationIssue>> {
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

/// The URI of the schema at `rel` in the set.
#[cfg(test)]
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
        assert!(
            loaded.schema_names().eq(set().schema_names()),
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
    fn every_schema_a_tool_names_compiles_from_the_set_alone() {
        // A set of its own: every validator is dropped with it at the end of the test.
        let set = SchemaSet::embedded().unwrap();
        let mut names: Vec<&str> = crate::manifest::TOOLS
            .iter()
            .flat_map(|tool| {
                [tool.request_schema, tool.response_schema]
                    .into_iter()
                    .chain(tool.async_response_schemas.iter().copied())
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        assert!(names.len() > 100, "only {} schemas", names.len());
        for name in names {
            if let Err(error) = set.validator(name) {
                panic!("{name} does not compile: {error}");
            }
        }
    }

    #[test]
    fn a_bundled_validator_finds_what_the_unbundled_schema_finds() {
        // The same schema compiled the plain way: a `$ref` to it, every document fetched from
        // the set by the retriever.
        let unbundled = |schema: &str| {
            jsonschema::draft7::options()
                .with_retriever(SetRetriever(set().documents.clone()))
                .should_validate_formats(true)
                .build(&json!({ "$ref": uri_of(schema) }))
                .unwrap()
        };
        let findings = |validator: &Validator, instance: &Value| {
            let mut found: Vec<(String, String)> = validator
                .iter_errors(instance)
                .map(|e| {
                    let keyword = keyword_of(&e.schema_path().to_string());
                    (e.instance_path().to_string(), keyword)
                })
                .collect();
            found.sort();
            found.dedup();
            found
        };
        let product = json!({
            "product_id": "p1", "name": "P", "description": "d",
            "publisher_properties": [{"publisher_domain": "news.example", "selection_type": "all"}],
            "delivery_type": "non_guaranteed",
            "format_ids": [{"agent_url": "https://creative.example/", "id": "display_300x250"}],
            "pricing_options": [{"pricing_option_id": "cpm", "pricing_model": "cpm",
                                 "currency": "USD", "fixed_price": 5.0}],
            "reporting_capabilities": {
                "available_reporting_frequencies": ["daily"], "expected_delay_minutes": 60,
                "timezone": "UTC", "supports_webhooks": false,
                "available_metrics": ["impressions"], "date_range_support": "date_range"},
        });
        let reply = |products: Vec<Value>| json!({"status": "completed", "cache_scope": "public", "products": products});
        let mut cases = vec![reply(vec![product.clone()])];
        for (pointer, bad) in [
            ("/format_ids/0/id", json!(5)),
            ("/pricing_options/0/pricing_model", json!("per-click")),
            ("/delivery_type", json!(null)),
            (
                "/publisher_properties/0",
                json!({"selection_type": "by_id"}),
            ),
        ] {
            let mut broken = product.clone();
            *broken.pointer_mut(pointer).unwrap() = bad;
            cases.push(reply(vec![product.clone(), broken]));
        }
        let schema = tool("get_products").unwrap().response_schema;
        let (bundled, plain) = (set().validator(schema).unwrap(), unbundled(schema));
        for case in &cases {
            assert_eq!(findings(&bundled, case), findings(&plain, case), "{case}");
        }
        assert_eq!(findings(&bundled, &cases[0]), vec![]);
        assert!(cases[1..].iter().all(|c| !findings(&bundled, c).is_empty()));
        assert!(
            findings(&bundled, &cases[1])
                .iter()
                .any(|(p, _)| p == "/products/1/format_ids/0/id")
        );
    }

    #[test]
    fn concurrent_first_calls_compile_one_validator() {
        let set = SchemaSet::embedded().unwrap();
        let schema = tool("get_products").unwrap().response_schema;
        let compiled: Vec<Arc<Validator>> = std::thread::scope(|scope| {
            let callers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| set.validator(schema).unwrap()))
                .collect();
            callers.into_iter().map(|c| c.join().unwrap()).collect()
        });
        assert!(compiled.iter().all(|v| Arc::ptr_eq(v, &compiled[0])));
    }

    #[test]
    fn a_reference_outside_the_set_is_an_error_not_a_fetch() {
        let retriever = SetRetriever(set().documents.clone());
        for uri in [
            "https://example.com/schemas/x.json",
            "https://adcp.invalid/schemas/0.0.1/core/error.json",
            "https://adcp.invalid/schemas/3.1.0-rc.9/core/no-such.json",
        ] {
            let uri = jsonschema::uri::from_str(uri).unwrap();
            assert!(retriever.retrieve(&uri).is_err(), "{uri}");
        }
        let inside = jsonschema::uri::from_str(&uri_of("core/error.json")).unwrap();
        assert!(retriever.retrieve(&inside).unwrap().is_object());
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
