//! Validates one AdCP request for a named tool and prints the typed value or the field-precise
//! errors, as a seller would see them on the wire.
//!
//! ```text
//! cargo xtask validate get_products examples/get_products_brief.json
//! echo '{"buying_mode":"brief","brief":42}' | cargo xtask validate get_products
//! ```
//!
//! Exit status: 0 valid, 1 invalid, 2 usage or I/O error.

use std::io::Read;
use std::process::ExitCode;

use adcp_types::AdcpError;
use adcp_types::generated::tools::request_round_trip;
use adcp_types::validate::SchemaSet;

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let mut args = std::env::args().skip(1);
    let tool = args
        .next()
        .ok_or("usage: validate_request TOOL [FILE]  (reads stdin without FILE)")?;
    if adcp_types::manifest::tool(&tool).is_none() {
        let error = AdcpError::invalid_request(format!("unknown tool `{tool}`")).with_field("tool");
        println!("{}", pretty(&error.to_value()));
        return Ok(false);
    }
    let text = if let Some(path) = args.next() {
        std::fs::read_to_string(&path).map_err(|e| format!("reading {path}: {e}"))?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("reading stdin: {e}"))?;
        text
    };
    let request: serde_json::Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(e) => {
            let error = AdcpError::invalid_request(format!("the request is not valid JSON: {e}"));
            println!("{}", pretty(&error.to_value()));
            return Ok(false);
        }
    };
    let schemas = SchemaSet::load_default().map_err(|e| e.to_string())?;
    if let Err(issues) = schemas.validate_request(&tool, &request) {
        let error = AdcpError::validation(
            format!("the {tool} request does not match its schema"),
            issues,
        );
        println!("{}", pretty(&error.to_value()));
        return Ok(false);
    }
    match request_round_trip(&tool, &request) {
        Some(Ok(typed)) => println!("{}", pretty(&typed)),
        Some(Err(e)) => {
            let error = AdcpError::invalid_request(format!(
                "the request does not fit the {tool} type: {e}"
            ));
            println!("{}", pretty(&error.to_value()));
            return Ok(false);
        }
        None => println!("valid (the {tool} types are not compiled in this build)"),
    }
    Ok(true)
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}
