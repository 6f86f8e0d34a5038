//! `cargo xtask api-snapshot [--check]`: the public API of each library crate, from rustdoc
//! JSON on the stable toolchain (`RUSTC_BOOTSTRAP=1`), written to `api/<crate>.txt`.
//!
//! `public-api` is pinned to the release that reads this toolchain's rustdoc format (57 on
//! rustc 1.95); bump both together. For `adcp-types` only item names are kept: its generated
//! types are already guarded by `cargo xtask codegen --check`.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::util::{self, cargo, ensure_file_contents, workspace_root};

/// The library crates whose API is snapshotted, and whether only item names are kept.
const CRATES: &[(&str, bool)] = &[
    ("adcp-types", true),
    ("adcp-tasks", false),
    ("adcp-guards", false),
    ("adcp-webhooks", false),
    ("adcp-server", false),
];

/// Regenerates (or checks) every snapshot.
pub(crate) fn run(check: bool) -> Result<()> {
    let target = workspace_root().join("target/api");
    for (name, names_only) in CRATES {
        if !workspace_root()
            .join("crates")
            .join(name)
            .join("Cargo.toml")
            .is_file()
        {
            continue;
        }
        let json = rustdoc_json(name, &target)?;
        let api = public_api::Builder::from_rustdoc_json(&json)
            .omit_blanket_impls(true)
            .omit_auto_trait_impls(true)
            .omit_auto_derived_impls(true)
            .sorted(true)
            .build()
            .with_context(|| format!("reading the rustdoc JSON of {name}"))?;
        let mut lines: Vec<String> = api.items().map(ToString::to_string).collect();
        if *names_only {
            lines = lines.iter().filter_map(|line| item_name(line)).collect();
            lines.dedup();
        }
        let mut text = lines.join("\n");
        text.push('\n');
        let path = workspace_root().join("api").join(format!("{name}.txt"));
        ensure_file_contents(&path, &text, check, "cargo xtask api-snapshot")?;
        eprintln!("api-snapshot: {name}: {} items", lines.len());
    }
    Ok(())
}

fn rustdoc_json(name: &str, target: &std::path::Path) -> Result<PathBuf> {
    util::run(
        cargo()
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", target)
            .args([
                "rustdoc",
                "--quiet",
                "-p",
                name,
                "--lib",
                "--all-features",
                "--",
            ])
            .args([
                "-Z",
                "unstable-options",
                "--output-format",
                "json",
                "--cap-lints",
                "allow",
            ]),
    )?;
    Ok(target
        .join("doc")
        .join(format!("{}.json", name.replace('-', "_"))))
}

/// `pub struct adcp_types::Foo` from a declaration line; `None` for fields, impls and methods.
fn item_name(line: &str) -> Option<String> {
    const KINDS: &[&str] = &[
        "pub struct ",
        "pub enum ",
        "pub fn ",
        "pub mod ",
        "pub const ",
        "pub static ",
        "pub type ",
        "pub trait ",
        "pub macro ",
    ];
    let kind = KINDS.iter().find(|k| line.starts_with(**k))?;
    let rest = &line[kind.len()..];
    let end = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let path = rest[..end].trim_end_matches(':');
    // Methods and associated items (`Type::method`) are not items of their own.
    let segments = path.split("::").count();
    let owner_is_type = path
        .split("::")
        .nth(segments.saturating_sub(2))
        .is_some_and(|s| s.starts_with(char::is_uppercase));
    (!owner_is_type).then(|| format!("{kind}{path}"))
}

#[cfg(test)]
mod tests {
    use super::item_name;

    #[test]
    fn names_only_keeps_declarations() {
        assert_eq!(
            item_name("pub struct adcp_types::Foo").as_deref(),
            Some("pub struct adcp_types::Foo")
        );
        assert_eq!(item_name("pub adcp_types::Foo::bar: u8"), None);
        assert_eq!(item_name("pub fn adcp_types::Foo::new() -> Self"), None);
        assert_eq!(
            item_name("pub fn adcp_types::manifest::tool(name: &str)").as_deref(),
            Some("pub fn adcp_types::manifest::tool")
        );
    }
}
