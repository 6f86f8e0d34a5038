//! Loads the compliance storyboards and test kits once per test binary.
//!
//! Storyboards are YAML (format: `universal/storyboard-schema.yaml`). Each file is read into
//! `serde_json::Value` so payloads can go straight to the generated types and the validator.
//! `domains/` is a byte-for-byte copy of `protocols/`; duplicates are dropped by content so every
//! sample is checked once, under its `protocols/` (or first) path.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use adcp_types::ADCP_VERSION;
use serde_json::{Map, Value};

/// Every storyboard and test kit of the compliance folder.
pub(crate) struct Corpus {
    /// The folder the corpus was read from.
    pub(crate) root: PathBuf,
    /// Storyboards (documents with `phases`), by path relative to `root`.
    pub(crate) storyboards: Vec<Storyboard>,
    /// Files that are not YAML, with the parser's message.
    pub(crate) unparsable: Vec<(String, String)>,
    /// Files skipped because an identical file was already read.
    pub(crate) duplicates: usize,
    /// YAML documents that are not storyboards (the format description, state machines).
    pub(crate) not_storyboards: usize,
    /// Test kits, by path relative to `root` (`test-kits/acme-outdoor.yaml`).
    kits: BTreeMap<String, Value>,
}

/// One storyboard file.
pub(crate) struct Storyboard {
    /// Path relative to the compliance folder.
    pub(crate) path: String,
    /// The parsed document.
    pub(crate) doc: Value,
}

/// One step, with what a runner needs to know about its phase.
pub(crate) struct Step<'a> {
    pub(crate) phase: &'a Value,
    pub(crate) raw: &'a Value,
    pub(crate) id: &'a str,
}

impl Corpus {
    /// The corpus, loaded on first use. Panics with a clear message when the folder is missing:
    /// these tests must not pass vacuously.
    pub(crate) fn get() -> &'static Corpus {
        static CORPUS: OnceLock<Corpus> = OnceLock::new();
        CORPUS.get_or_init(|| Corpus::load(&compliance_dir()))
    }

    fn load(root: &Path) -> Corpus {
        assert!(
            root.is_dir(),
            "compliance storyboards not found at {} (set ADCP_COMPLIANCE_DIR)",
            root.display()
        );
        let mut files = Vec::new();
        collect_yaml(root, root, &mut files);
        // `protocols/` before its `domains/` copy, so kept paths match index.json.
        files.sort_by_key(|rel| (rel.starts_with("domains/"), rel.clone()));
        let mut seen = HashSet::new();
        let mut corpus = Corpus {
            root: root.to_owned(),
            storyboards: Vec::new(),
            unparsable: Vec::new(),
            duplicates: 0,
            not_storyboards: 0,
            kits: BTreeMap::new(),
        };
        for rel in files {
            let text =
                std::fs::read_to_string(root.join(&rel)).expect("compliance file is readable");
            if !seen.insert(text.clone()) {
                corpus.duplicates += 1;
                continue;
            }
            let doc = match serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&text) {
                Ok(doc) => yaml_to_json(doc),
                Err(error) => {
                    corpus.unparsable.push((rel, error.to_string()));
                    continue;
                }
            };
            if rel.starts_with("test-kits/") {
                corpus.kits.insert(rel, doc);
            } else if doc.get("phases").is_some_and(Value::is_array) {
                corpus.storyboards.push(Storyboard { path: rel, doc });
            } else {
                corpus.not_storyboards += 1;
            }
        }
        assert!(
            !corpus.storyboards.is_empty(),
            "no storyboards under {}",
            root.display()
        );
        corpus
    }

    /// The test kit a storyboard names in `prerequisites.test_kit`, if it exists.
    pub(crate) fn kit_of(&self, storyboard: &Storyboard) -> Option<&Value> {
        let path = storyboard
            .doc
            .pointer("/prerequisites/test_kit")?
            .as_str()?;
        self.kits.get(path.trim_start_matches("./"))
    }

    /// Reads a JSON file of the compliance folder (test vectors).
    pub(crate) fn json(&self, rel: &str) -> Value {
        let text = std::fs::read_to_string(self.root.join(rel)).expect("test vector is readable");
        serde_json::from_str(&text).expect("test vector is JSON")
    }
}

impl Storyboard {
    /// Every step of every phase, in order.
    pub(crate) fn steps(&self) -> Vec<Step<'_>> {
        let mut out = Vec::new();
        for phase in self.doc["phases"].as_array().into_iter().flatten() {
            for step in phase["steps"].as_array().into_iter().flatten() {
                let id = step["id"].as_str().unwrap_or("<no id>");
                out.push(Step {
                    phase,
                    raw: step,
                    id,
                });
            }
        }
        out
    }

    /// `storyboard path#step id`, the key allow-lists use.
    pub(crate) fn key(&self, step_id: &str) -> String {
        format!("{}#{step_id}", self.path)
    }
}

/// `ADCP_COMPLIANCE_DIR` (the version folder or its parent), else the shared folder beside the
/// workspace.
fn compliance_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADCP_COMPLIANCE_DIR") {
        let dir = PathBuf::from(dir);
        let versioned = dir.join(ADCP_VERSION);
        return if versioned.is_dir() { versioned } else { dir };
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compliance")
        .join(ADCP_VERSION)
}

fn collect_yaml(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("compliance folder is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_yaml(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            let rel = path
                .strip_prefix(root)
                .expect("below root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push(rel);
        }
    }
}

/// YAML to JSON: scalar keys become strings, tags are dropped (storyboards use none).
pub(crate) fn yaml_to_json(value: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match yaml_to_json(key) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, yaml_to_json(value));
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

/// Looks up a dotted runner path (`products[0].pricing_options[0].pricing_option_id`,
/// `rights.0.rights_id`, `forced.task_id`) in `value`.
pub(crate) fn lookup<'v>(value: &'v Value, path: &str) -> Option<&'v Value> {
    let mut current = value;
    for segment in path.split('.') {
        let (name, indices) = match segment.find('[') {
            Some(at) => (&segment[..at], &segment[at..]),
            None => (segment, ""),
        };
        if !name.is_empty() {
            current = match (current, name.parse::<usize>()) {
                (Value::Array(items), Ok(i)) => items.get(i)?,
                _ => current.get(name)?,
            };
        }
        for index in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            current = current.get(index.parse::<usize>().ok()?)?;
        }
    }
    (!current.is_null()).then_some(current)
}

/// The final field name of a runner path (`products[0].format_ids[0]` → `format_ids`).
pub(crate) fn leaf(path: &str) -> &str {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.split('[').next().unwrap_or(last)
}
