//! `adcp storyboard run URL [--file F | ID…]`: grade the agent against chosen storyboards.

use std::path::{Path, PathBuf};

use adcp_conformance::catalog::Catalog;
use clap::Args;

use crate::cli::EXIT_STATUS;
use crate::commands::grade::{self, GradeArgs, Selection};
use crate::error::{CliError, Outcome};

/// `adcp storyboard run`.
#[derive(Debug, Args)]
#[command(
    after_help = EXIT_STATUS,
    long_about = "Grade the agent against chosen storyboards: ids from the compliance folder \
(e.g. capability_discovery, media_buy_seller/get_products_async), paths relative to it \
(universal/idempotency.yaml), your own files with --file, or specialism bundles. Scenarios a \
storyboard requires run with it. With only --file and no compliance folder configured, the \
files' folder stands in for it (test kits resolve there)."
)]
pub(crate) struct RunArgs {
    /// The run's options.
    #[command(flatten)]
    pub(crate) grade: GradeArgs,
    /// Storyboard ids, or paths relative to the compliance folder.
    #[arg(value_name = "ID")]
    pub(crate) ids: Vec<String>,
    /// A storyboard file or folder of your own. Repeatable.
    #[arg(long = "file", value_name = "F")]
    pub(crate) files: Vec<PathBuf>,
    /// A specialism bundle (e.g. signal-owned). Repeatable.
    #[arg(long = "specialism", value_name = "SLUG")]
    pub(crate) specialisms: Vec<String>,
}

/// Resolves the selection and runs it.
pub(crate) async fn run(args: &RunArgs) -> Result<Outcome, CliError> {
    if args.ids.is_empty() && args.files.is_empty() && args.specialisms.is_empty() {
        return Err(CliError::Usage(
            "name the storyboards to run (ID…, --file F or --specialism SLUG); `adcp assess` runs every one that applies".to_owned(),
        ));
    }
    for file in &args.files {
        if !file.exists() {
            return Err(CliError::Read {
                path: file.clone(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
    }
    let fallback_root = if args.ids.is_empty() && args.specialisms.is_empty() {
        args.files.first().and_then(|f| folder_of(f))
    } else {
        None
    };
    let mut storyboards = args.files.clone();
    if !args.ids.is_empty() {
        let root = grade::compliance_dir(args.grade.compliance_dir.as_deref(), None)?;
        let catalog = Catalog::open(&root).map_err(|e| CliError::Conformance(e.to_string()))?;
        for id in &args.ids {
            storyboards.push(resolve(&catalog, id)?);
        }
    }
    let selection = Selection {
        storyboards,
        specialisms: args.specialisms.clone(),
        fallback_root,
        whole_agent: false,
    };
    grade::grade(&args.grade, selection).await
}

/// The file of storyboard `id`, or `id` as a path under the compliance folder.
fn resolve(catalog: &Catalog, id: &str) -> Result<PathBuf, CliError> {
    if let Some(path) = catalog.path_of(id) {
        return Ok(path.to_owned());
    }
    let as_path = catalog.resolve(Path::new(id));
    if as_path.exists() {
        return Ok(as_path);
    }
    Err(CliError::Usage(format!(
        "no storyboard `{id}` in {} (give a storyboard id such as capability_discovery, or a path such as universal/idempotency.yaml)",
        catalog.root().display()
    )))
}

/// The folder holding `path` (itself when it is a folder).
fn folder_of(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        return Some(path.to_owned());
    }
    let parent = path.parent()?;
    Some(if parent.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        parent.to_owned()
    })
}
