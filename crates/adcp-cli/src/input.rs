//! Reading JSON the user hands over: inline, `@file`, `-` (standard input) or a file path.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::CliError;

/// Reads the tool arguments of `adcp call`: absent means `{}`, `-` reads standard input,
/// `@path` reads a file, anything else is JSON text. The result is always a JSON object.
pub(crate) fn tool_arguments(raw: Option<&str>) -> Result<Value, CliError> {
    let (text, what) = match raw {
        None => return Ok(Value::Object(serde_json::Map::new())),
        Some("-") => (read_stdin()?, "standard input".to_owned()),
        Some(raw) => match raw.strip_prefix('@') {
            Some(path) => (read_file(Path::new(path))?, path.to_owned()),
            None => (raw.to_owned(), "the arguments".to_owned()),
        },
    };
    let value = parse(&text, &what)?;
    if !value.is_object() {
        return Err(CliError::Usage(format!(
            "{what} must be a JSON object (the tool's arguments), not {}",
            kind_of(&value)
        )));
    }
    Ok(value)
}

/// Reads a JSON document from `path`, or from standard input when `path` is `None` or `-`.
pub(crate) fn document(path: Option<&Path>) -> Result<Value, CliError> {
    match path {
        None => parse(&read_stdin()?, "standard input"),
        Some(path) if path == Path::new("-") => parse(&read_stdin()?, "standard input"),
        Some(path) => parse(&read_file(path)?, &path.display().to_string()),
    }
}

/// Parses `text` as JSON; errors name `what` and the line and column.
pub(crate) fn parse(text: &str, what: &str) -> Result<Value, CliError> {
    serde_json::from_str(text).map_err(|e| CliError::Json {
        what: what.to_owned(),
        detail: e.to_string(),
    })
}

/// Reads a whole file as UTF-8.
pub(crate) fn read_file(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.to_owned(),
        source,
    })
}

fn read_stdin() -> Result<String, CliError> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|source| CliError::Read {
            path: PathBuf::from("<standard input>"),
            source,
        })?;
    Ok(text)
}

/// The JSON kind of `value`, as a noun phrase for messages.
pub(crate) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_default_to_an_empty_object_and_must_be_objects() {
        assert_eq!(tool_arguments(None).unwrap(), serde_json::json!({}));
        assert_eq!(
            tool_arguments(Some(r#"{"a":1}"#)).unwrap(),
            serde_json::json!({"a": 1})
        );
        let not_object = tool_arguments(Some("[1]")).unwrap_err().to_string();
        assert!(not_object.contains("must be a JSON object"), "{not_object}");
        let broken = tool_arguments(Some("{")).unwrap_err().to_string();
        assert!(broken.contains("not valid JSON"), "{broken}");
        let missing = tool_arguments(Some("@/nonexistent/args.json"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("cannot read"), "{missing}");
    }
}
