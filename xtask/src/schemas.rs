//! `cargo xtask schemas`: materialise the pinned AdCP schemas into the git-ignored
//! `schemas/<version>/`, from whichever source this machine has, and verify the pin.
//!
//! Sources, in order: `$ADCP_SCHEMAS_DIR`, `../shared/adcp-schemas/<version>` beside the
//! workspace, then the PyPI wheel `adcp==6.3.0b9` (fetched with pip). The wheel stores the same
//! schemas with file-relative `$ref`s and no `$id`, so every source is normalised first:
//! `$ref`s become root-relative (`/schemas/<version>/...`), `$id` is set to the file's own
//! root-relative path, and generation timestamps are dropped. The pin is a sha256 over that
//! normalised tree, serialised canonically (sorted keys), so it holds whatever the source.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::util::{run, workspace_root};

/// The normalised schema tree: relative path (`core/error.json`) to document.
pub(crate) type SchemaTree = BTreeMap<String, Value>;

/// What `schemas/PIN` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pin {
    pub(crate) version: String,
    pub(crate) sha256: String,
    pub(crate) files: usize,
    pub(crate) pypi_package: String,
}

impl Pin {
    /// Reads `schemas/PIN` (`key = "value"` lines).
    pub(crate) fn load() -> Result<Self> {
        let path = workspace_root().join("schemas/PIN");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut fields = BTreeMap::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .context("PIN lines are `key = \"value\"`")?;
            fields.insert(
                key.trim().to_owned(),
                value.trim().trim_matches('"').to_owned(),
            );
        }
        let get = |key: &str| {
            fields
                .get(key)
                .cloned()
                .with_context(|| format!("schemas/PIN lacks `{key}`"))
        };
        Ok(Self {
            version: get("version")?,
            sha256: get("sha256")?,
            files: get("files")?
                .parse()
                .context("`files` in schemas/PIN is a number")?,
            pypi_package: get("pypi_package")?,
        })
    }

    /// The folder the schemas are materialised into.
    pub(crate) fn target_dir(&self) -> PathBuf {
        workspace_root().join("schemas").join(&self.version)
    }
}

/// Makes sure `schemas/<version>/` holds the pinned tree and returns its path.
pub(crate) fn materialise() -> Result<PathBuf> {
    let pin = Pin::load()?;
    let target = pin.target_dir();
    if target.is_dir() {
        if let Ok(tree) = load_tree(&target)
            && verify(&pin, &tree, &target).is_ok()
        {
            return Ok(target);
        }
        eprintln!("{} is stale or incomplete; rebuilding it", target.display());
    }
    let (source, tree) = find_source(&pin)?;
    verify(&pin, &tree, &source)?;
    write_tree(&target, &tree)?;
    eprintln!(
        "materialised {} schema files (pin {}) from {} into {}",
        tree.len(),
        &pin.sha256[..12],
        source.display(),
        target.display()
    );
    Ok(target)
}

/// Loads the materialised tree, failing with the command to run when it is missing.
pub(crate) fn load_materialised() -> Result<(Pin, SchemaTree)> {
    let target = materialise()?;
    let pin = Pin::load()?;
    Ok((pin, load_tree(&target)?))
}

fn find_source(pin: &Pin) -> Result<(PathBuf, SchemaTree)> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os("ADCP_SCHEMAS_DIR") {
        let dir = PathBuf::from(dir);
        // Accept the version folder itself or its parent.
        candidates.push(dir.join(&pin.version));
        candidates.push(dir);
    }
    candidates.push(
        workspace_root()
            .join("../shared/adcp-schemas")
            .join(&pin.version),
    );
    for dir in candidates {
        if dir.join("manifest.json").is_file() {
            return Ok((dir.clone(), load_tree(&dir)?));
        }
    }
    let dir = fetch_wheel(pin)?;
    Ok((dir.clone(), load_tree(&dir)?))
}

/// Downloads the PyPI wheel that ships these schemas and unpacks only the schema folder.
fn fetch_wheel(pin: &Pin) -> Result<PathBuf> {
    let cache = workspace_root().join("schemas/.cache");
    let unpacked = cache.join("wheel");
    let dir = unpacked.join("adcp/_schemas").join(&pin.version);
    if dir.join("manifest.json").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(&cache)?;
    eprintln!(
        "no local schema source; fetching {} from PyPI",
        pin.pypi_package
    );
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--pre",
            "--quiet",
            "-d",
        ])
        .arg(&cache)
        .arg(&pin.pypi_package))
    .context("fetching the schemas from PyPI needs python3 with pip, or set ADCP_SCHEMAS_DIR")?;
    let prefix = format!("adcp/_schemas/{}/", pin.version);
    let script = "import sys, zipfile, glob\n\
        wheel = sorted(glob.glob(sys.argv[1] + '/*.whl'))[-1]\n\
        z = zipfile.ZipFile(wheel)\n\
        z.extractall(sys.argv[2], [n for n in z.namelist() if n.startswith(sys.argv[3])])\n";
    run(Command::new("python3")
        .args(["-c", script])
        .arg(&cache)
        .arg(&unpacked)
        .arg(&prefix))?;
    if !dir.join("manifest.json").is_file() {
        bail!(
            "the wheel {} has no {prefix}manifest.json",
            pin.pypi_package
        );
    }
    Ok(dir)
}

/// Reads every schema file below `dir` (skipping `bundled/` and `core/async-response-refs/`,
/// whose `$id`s duplicate the canonical files) and normalises it.
pub(crate) fn load_tree(dir: &Path) -> Result<SchemaTree> {
    let mut files = Vec::new();
    walk(dir, dir, &mut files)?;
    let version = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("the schema folder is named after its version")?
        .to_owned();
    let mut tree = SchemaTree::new();
    for rel in files {
        let text = std::fs::read_to_string(dir.join(&rel))?;
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("{rel} is not valid JSON"))?;
        tree.insert(rel.clone(), normalise(&rel, &value, &version));
    }
    Ok(tree)
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let rel = path
            .strip_prefix(root)?
            .to_str()
            .context("schema paths are UTF-8")?
            .replace('\\', "/");
        if rel == "bundled" || rel == "core/async-response-refs" {
            continue;
        }
        if path.is_dir() {
            walk(root, &path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            out.push(rel);
        }
    }
    Ok(())
}

/// The normal form of one schema file; see the module docs. `$id` keys are dropped at every
/// depth (the wheel has none) and the top-level one is set to the file's root-relative path.
pub(crate) fn normalise(rel: &str, value: &Value, version: &str) -> Value {
    let mut out = normalise_refs(rel, value, version);
    if let Value::Object(map) = &mut out {
        map.remove("generated_at");
        map.remove("_generatedAt");
        map.remove("$id");
        if rel != "manifest.json" {
            map.insert(
                "$id".into(),
                Value::String(format!("/schemas/{version}/{rel}")),
            );
        }
    }
    sorted(&out)
}

fn normalise_refs(rel: &str, value: &Value, version: &str) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let child = match (key.as_str(), child) {
                    // The wheel carries no `$id` at any depth; the top-level one is set again
                    // by `normalise`.
                    ("$id", _) => continue,
                    ("$ref", Value::String(reference)) => {
                        Value::String(root_relative_ref(rel, reference, version))
                    }
                    _ => normalise_refs(rel, child, version),
                };
                out.insert(key.clone(), child);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|item| normalise_refs(rel, item, version))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `../enums/x.json#/defs` in `core/y.json` becomes `/schemas/<v>/enums/x.json#/defs`;
/// fragment-only and already root-relative references are kept.
fn root_relative_ref(rel: &str, reference: &str, version: &str) -> String {
    if reference.starts_with('#') || reference.starts_with('/') || reference.contains("://") {
        return reference.to_owned();
    }
    let (path, fragment) = reference
        .split_once('#')
        .map_or((reference, None), |(p, f)| (p, Some(f)));
    let mut segments: Vec<&str> = rel.split('/').collect();
    segments.pop();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = format!("/schemas/{version}/{}", segments.join("/"));
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// A copy of `value` whose objects list their keys in sorted order, whatever map type
/// serde_json was built with.
pub(crate) fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let ordered: BTreeMap<&String, &Value> = map.iter().collect();
            Value::Object(
                ordered
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The sha256 of the canonical serialisation of `tree` (`path\ncompact-json\n` per file).
pub(crate) fn tree_digest(tree: &SchemaTree) -> String {
    let mut hasher = Sha256::new();
    for (rel, value) in tree {
        hasher.update(rel.as_bytes());
        hasher.update(b"\n");
        hasher.update(
            serde_json::to_string(&sorted(value))
                .unwrap_or_default()
                .as_bytes(),
        );
        hasher.update(b"\n");
    }
    let mut hex = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Fails with a clear message unless `tree` matches the pin.
pub(crate) fn verify(pin: &Pin, tree: &SchemaTree, source: &Path) -> Result<()> {
    let digest = tree_digest(tree);
    if tree.len() != pin.files || digest != pin.sha256 {
        bail!(
            "the schemas at {} do not match schemas/PIN\n  expected {} files, sha256 {}\n  found    {} files, sha256 {}\n\
             point ADCP_SCHEMAS_DIR at AdCP {} schemas, or update schemas/PIN deliberately",
            source.display(),
            pin.files,
            pin.sha256,
            tree.len(),
            digest,
            pin.version
        );
    }
    Ok(())
}

fn write_tree(target: &Path, tree: &SchemaTree) -> Result<()> {
    if target.exists() {
        std::fs::remove_dir_all(target)?;
    }
    for (rel, value) in tree {
        let path = target.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut text = serde_json::to_string_pretty(value)?;
        text.push('\n');
        std::fs::write(&path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_refs_become_root_relative() {
        let v = "3.1.0-rc.9";
        assert_eq!(
            root_relative_ref("core/product.json", "../enums/channels.json", v),
            "/schemas/3.1.0-rc.9/enums/channels.json"
        );
        assert_eq!(
            root_relative_ref("core/product.json", "placement.json#/definitions/x", v),
            "/schemas/3.1.0-rc.9/core/placement.json#/definitions/x"
        );
        assert_eq!(
            root_relative_ref("core/a.json", "#/$defs/x", v),
            "#/$defs/x"
        );
        assert_eq!(
            root_relative_ref("core/a.json", "/schemas/3.1.0-rc.9/core/b.json", v),
            "/schemas/3.1.0-rc.9/core/b.json"
        );
    }

    #[test]
    fn wheel_and_repository_forms_normalise_identically() {
        let v = "3.1.0-rc.9";
        let wheel = json!({"title": "T", "properties": {"e": {"$ref": "../enums/e.json"}}});
        let repo = json!({
            "$id": "/schemas/3.1.0-rc.9/core/t.json",
            "title": "T",
            "properties": {"e": {"$ref": "/schemas/3.1.0-rc.9/enums/e.json"}}
        });
        assert_eq!(
            normalise("core/t.json", &wheel, v),
            normalise("core/t.json", &repo, v)
        );
    }

    #[test]
    fn generation_timestamps_do_not_change_the_digest() {
        let v = "3.1.0-rc.9";
        let a = SchemaTree::from([(
            "manifest.json".to_owned(),
            normalise(
                "manifest.json",
                &json!({"generated_at": "1", "tools": {}}),
                v,
            ),
        )]);
        let b = SchemaTree::from([(
            "manifest.json".to_owned(),
            normalise(
                "manifest.json",
                &json!({"generated_at": "2", "tools": {}}),
                v,
            ),
        )]);
        assert_eq!(tree_digest(&a), tree_digest(&b));
    }

    #[test]
    fn pin_mismatch_is_a_clear_error() {
        let pin = Pin {
            version: "3.1.0-rc.9".into(),
            sha256: "00".into(),
            files: 1,
            pypi_package: "adcp==0".into(),
        };
        let tree = SchemaTree::from([("a.json".to_owned(), json!({}))]);
        let message = verify(&pin, &tree, Path::new("/somewhere"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("do not match schemas/PIN"), "{message}");
        assert!(message.contains("ADCP_SCHEMAS_DIR"), "{message}");
    }
}
