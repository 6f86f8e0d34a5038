//! Finding storyboards: the compliance folder, explicit paths, specialism bundles, scenario ids
//! named by `requires_scenarios`, and the capability-driven default selection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::model::Storyboard;

/// Files under the compliance folder that are YAML but not storyboards.
const NOT_STORYBOARDS: [&str; 2] = ["storyboard-schema.yaml", "runner-output-contract.yaml"];

/// What a storyboard's location says about when it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `universal/`: applies to every agent.
    Universal,
    /// `domains/<p>/` or `protocols/<p>/`: applies when the agent supports protocol `p`.
    Protocol(String),
    /// `specialisms/<slug>/`: applies when the agent declares the specialism.
    Specialism(String),
    /// Anywhere else (an adopter's own storyboard): always applies.
    Other,
}

/// A storyboard selected for the run.
#[derive(Debug, Clone)]
pub struct Selected {
    /// The parsed storyboard.
    pub storyboard: Storyboard,
    /// Where it applies.
    pub scope: Scope,
    /// Why it was selected (explicit, bundle of X, required by Y).
    pub selected_by: String,
    /// In a whole-agent assessment, the claimed specialism whose bundle needs this storyboard.
    pub needed_by: Option<String>,
}

/// The compliance folder and an index of every storyboard id in it.
#[derive(Debug)]
pub struct Catalog {
    root: PathBuf,
    ids: BTreeMap<String, PathBuf>,
}

impl Catalog {
    /// Indexes `root` (a `compliance/<version>/` folder). Unparseable YAML files are skipped
    /// from the id index only; selecting one explicitly still reports its error.
    pub fn open(root: &Path) -> Result<Self, Error> {
        let mut files = Vec::new();
        collect_yaml(root, &mut files)?;
        let mut ids = BTreeMap::new();
        for file in files {
            if file.components().any(|c| c.as_os_str() == "test-kits") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(&file)
                && let Some(id) = top_level_id(&text)
            {
                ids.entry(id).or_insert(file);
            }
        }
        Ok(Self {
            root: root.to_owned(),
            ids,
        })
    }

    /// The compliance folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file declaring storyboard `id`.
    pub fn path_of(&self, id: &str) -> Option<&Path> {
        self.ids.get(id).map(PathBuf::as_path)
    }

    /// Resolves a user-given path: as given, else relative to the compliance folder.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        if path.exists() || path.is_absolute() {
            path.to_owned()
        } else {
            self.root.join(path)
        }
    }

    /// Every storyboard file at `path` (a file, or a folder searched recursively).
    pub fn storyboard_files(&self, path: &Path) -> Result<Vec<PathBuf>, Error> {
        let path = self.resolve(path);
        if path.is_dir() {
            let mut files = Vec::new();
            collect_yaml(&path, &mut files)?;
            files.retain(|f| {
                let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                !NOT_STORYBOARDS.contains(&name)
                    && !f.components().any(|c| c.as_os_str() == "test-kits")
                    && std::fs::read_to_string(f).is_ok_and(|text| looks_like_storyboard(&text))
            });
            files.sort();
            Ok(files)
        } else if path.is_file() {
            Ok(vec![path])
        } else {
            Err(Error::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such storyboard file or folder",
                ),
            })
        }
    }

    /// The bundle file of a specialism (`specialisms/<slug>/index.yaml`).
    pub fn specialism_index(&self, slug: &str) -> PathBuf {
        self.root.join("specialisms").join(slug).join("index.yaml")
    }

    /// The baseline of a protocol domain (`domains/<p>/index.yaml`).
    pub fn protocol_index(&self, protocol: &str) -> PathBuf {
        self.root.join("domains").join(protocol).join("index.yaml")
    }

    /// Every universal storyboard.
    pub fn universal(&self) -> Result<Vec<PathBuf>, Error> {
        self.storyboard_files(&self.root.join("universal"))
    }

    /// Where a storyboard file applies, from its location.
    pub fn scope_of(&self, file: &Path) -> Scope {
        let relative = file.strip_prefix(&self.root).unwrap_or(file);
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        match parts.first().map(String::as_str) {
            Some("universal") => Scope::Universal,
            Some("domains" | "protocols") if parts.len() > 2 => Scope::Protocol(parts[1].clone()),
            Some("specialisms") if parts.len() > 2 => Scope::Specialism(parts[1].clone()),
            _ => Scope::Other,
        }
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Whether YAML text has the top-level `id:` and `phases:` of a storyboard (the folders also
/// hold data files such as `fictional-entities.yaml`).
fn looks_like_storyboard(text: &str) -> bool {
    top_level_id(text).is_some() && text.lines().any(|l| l.starts_with("phases:"))
}

/// The value of a top-level `id:` line, without parsing the whole file.
fn top_level_id(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("id:")?;
        let id = rest.trim().trim_matches(['"', '\'']);
        (!id.is_empty()).then(|| id.to_owned())
    })
}

/// The default compliance folder: `ADCP_COMPLIANCE_DIR`, else the workspace's sibling
/// `../shared/compliance/<version>`.
pub fn default_compliance_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADCP_COMPLIANCE_DIR") {
        let dir = PathBuf::from(dir);
        let versioned = dir.join(adcp_types::ADCP_VERSION);
        return if versioned.is_dir() { versioned } else { dir };
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/compliance")
        .join(adcp_types::ADCP_VERSION)
}

/// The default schema folder: `ADCP_SCHEMAS_DIR`, else the workspace's `schemas/<version>`.
pub fn default_schemas_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ADCP_SCHEMAS_DIR") {
        let dir = PathBuf::from(dir);
        let versioned = dir.join(adcp_types::ADCP_VERSION);
        return if versioned.is_dir() { versioned } else { dir };
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas")
        .join(adcp_types::ADCP_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_scopes_come_from_the_compliance_tree() {
        let catalog = Catalog::open(&default_compliance_dir()).unwrap();
        let path = catalog
            .path_of("media_buy_seller/get_products_async")
            .unwrap();
        assert_eq!(catalog.scope_of(path), Scope::Protocol("media-buy".into()));
        let index = catalog.specialism_index("signal-owned");
        assert_eq!(
            catalog.scope_of(&index),
            Scope::Specialism("signal-owned".into())
        );
        let universal = catalog.universal().unwrap();
        assert!(universal.iter().any(|p| p.ends_with("idempotency.yaml")));
        assert!(
            !universal
                .iter()
                .any(|p| p.ends_with("storyboard-schema.yaml"))
        );
        assert_eq!(top_level_id("# c\nid: \"x/y\"\n"), Some("x/y".into()));
    }
}
