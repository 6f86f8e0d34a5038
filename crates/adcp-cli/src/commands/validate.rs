//! `adcp validate TOOL [FILE]`: a request (or `--response`) checked against the AdCP rc.9
//! schemas embedded in the binary, every violation printed with its field path.

use std::path::PathBuf;

use adcp_types::manifest::{self, TaskStatus};
use adcp_types::validate::SchemaSet;
use adcp_types::{ValidationIssue, error::pointer_to_field_path};
use clap::Args;
use serde_json::{Value, json};

use crate::cli::EXIT_STATUS;
use crate::error::{CliError, Outcome};
use crate::input;
use crate::output;

/// The longest message printed for one violation.
const MAX_MESSAGE: usize = 200;

/// `adcp validate`.
#[derive(Debug, Args)]
#[command(after_help = EXIT_STATUS)]
pub(crate) struct ValidateArgs {
    /// The tool whose schema applies, e.g. get_products.
    #[arg(value_name = "TOOL")]
    pub(crate) tool: String,
    /// The JSON document (default, or -: standard input).
    #[arg(value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Validate a response instead of a request (the async arm's schema when its status is
    /// submitted, working or input-required).
    #[arg(long)]
    pub(crate) response: bool,
    /// Print the result as one JSON object (`valid`, `schema`, `errors[]` with `field`,
    /// `pointer`, `keyword`, `message`).
    #[arg(long)]
    pub(crate) json: bool,
}

/// One violation, as printed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Violation {
    field: String,
    pointer: String,
    keyword: String,
    message: String,
}

/// Validates the document; exit 1 when it is invalid.
pub(crate) fn run(args: &ValidateArgs) -> Result<Outcome, CliError> {
    let Some(spec) = manifest::tool(&args.tool) else {
        return Err(CliError::Usage(unknown_tool(&args.tool)));
    };
    let document = input::document(args.file.as_deref())?;
    let schemas = SchemaSet::load_default().map_err(|e| CliError::Usage(e.to_string()))?;
    let (schema, result) = if args.response {
        match async_status(&document).and_then(|s| spec.async_arm_schema(s).map(|arm| (s, arm))) {
            Some((status, arm)) => (
                arm,
                schemas.validate_async_arm(spec.name, status, &document),
            ),
            None => (
                spec.response_schema,
                schemas.validate_response(spec.name, &document),
            ),
        }
    } else {
        (
            spec.request_schema,
            schemas.validate_request(spec.name, &document),
        )
    };
    let kind = if args.response { "response" } else { "request" };
    let violations: Vec<Violation> = result
        .err()
        .unwrap_or_default()
        .iter()
        .map(violation)
        .collect();
    if args.json {
        let errors: Vec<Value> = violations
            .iter()
            .map(|v| json!({"field": v.field, "pointer": v.pointer, "keyword": v.keyword, "message": v.message}))
            .collect();
        output::print_json(
            &json!({"valid": violations.is_empty(), "tool": spec.name, "kind": kind, "schema": schema, "errors": errors}),
            true,
        );
    } else if violations.is_empty() {
        output::print_out(&format!(
            "{} {} {kind} ({schema})",
            output::verdict_label(true),
            spec.name
        ));
    } else {
        output::print_out(&format!(
            "{} {} {kind} ({schema}): {} error{}",
            output::verdict_label(false),
            spec.name,
            violations.len(),
            if violations.len() == 1 { "" } else { "s" }
        ));
        for v in &violations {
            output::print_out(&format!(
                "  {}: {} {}",
                output::heading(&v.field),
                v.message,
                output::dim(&format!("({})", v.keyword))
            ));
        }
    }
    Ok(Outcome::from_ok(violations.is_empty()))
}

/// The async status a response declares, when it is one with its own schema arm.
fn async_status(document: &Value) -> Option<TaskStatus> {
    match document.get("status").and_then(Value::as_str)? {
        "submitted" => Some(TaskStatus::Submitted),
        "working" => Some(TaskStatus::Working),
        "input-required" => Some(TaskStatus::InputRequired),
        _ => None,
    }
}

/// A schema issue with the field it is about: a missing (`required`) or unexpected
/// (`additionalProperties`) property is named itself, not the object holding it.
fn violation(issue: &ValidationIssue) -> Violation {
    let parent = pointer_to_field_path(&issue.pointer);
    let named = match issue.keyword.as_str() {
        "required" => issue.message.split('"').nth(1),
        "additionalProperties" => issue.message.split('\'').nth(1),
        _ => None,
    };
    let field = match (named, parent.is_empty()) {
        (Some(name), true) => name.to_owned(),
        (Some(name), false) => format!("{parent}.{name}"),
        (None, true) => "(the document)".to_owned(),
        (None, false) => parent,
    };
    Violation {
        field,
        pointer: issue.pointer.clone(),
        keyword: issue.keyword.clone(),
        message: output::truncate(&output::one_line(&issue.message), MAX_MESSAGE),
    }
}

/// The error for a tool the manifest does not know, with near names.
fn unknown_tool(name: &str) -> String {
    let word = name.split('_').max_by_key(|w| w.len()).unwrap_or(name);
    let near: Vec<&str> = manifest::TOOLS
        .iter()
        .map(|t| t.name)
        .filter(|t| word.len() > 2 && t.contains(word))
        .take(5)
        .collect();
    if near.is_empty() {
        format!("`{name}` is not an AdCP {} tool", adcp_types::ADCP_VERSION)
    } else {
        format!(
            "`{name}` is not an AdCP {} tool (did you mean {}?)",
            adcp_types::ADCP_VERSION,
            near.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(pointer: &str, keyword: &str, message: &str) -> ValidationIssue {
        ValidationIssue {
            pointer: pointer.into(),
            keyword: keyword.into(),
            message: message.into(),
        }
    }

    #[test]
    fn violations_name_the_field() {
        assert_eq!(
            violation(&issue(
                "",
                "required",
                "\"buying_mode\" is a required property"
            ))
            .field,
            "buying_mode"
        );
        assert_eq!(
            violation(&issue(
                "/packages/0",
                "additionalProperties",
                "Additional properties are not allowed ('budgt' was unexpected)"
            ))
            .field,
            "packages[0].budgt"
        );
        assert_eq!(
            violation(&issue("/packages/0/budget", "minimum", "-1 is less than 0")).field,
            "packages[0].budget"
        );
        assert_eq!(violation(&issue("", "type", "x")).field, "(the document)");
    }

    #[test]
    fn unknown_tools_get_suggestions() {
        assert!(unknown_tool("get_product").contains("get_products"));
        assert!(unknown_tool("zzz").contains("is not an AdCP"));
    }
}
