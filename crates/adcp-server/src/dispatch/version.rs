//! Version negotiation: `adcp_version` (release, e.g. `"3.1"`) and the deprecated
//! `adcp_major_version` (integer).

use adcp_types::{AdcpError, codes};
use serde_json::{Map, Value};

/// The major version this server speaks.
pub const SUPPORTED_MAJOR: u64 = 3;

/// The releases this server serves, newest first (release precision, as
/// `get_adcp_capabilities.adcp.supported_versions` lists them).
pub const SUPPORTED_VERSIONS: [&str; 1] = ["3.1"];

/// The release served when the buyer pins none.
pub const SERVED_VERSION: &str = SUPPORTED_VERSIONS[0];

/// Checks the buyer's version pins. `Ok` carries the release served (echoed as `adcp_version`);
/// a pin outside major 3 is `VERSION_UNSUPPORTED` with the field that carried it.
pub(crate) fn negotiate(request: &Map<String, Value>) -> Result<&'static str, AdcpError> {
    if let Some(major) = request.get("adcp_major_version").filter(|v| !v.is_null()) {
        match major.as_u64() {
            Some(SUPPORTED_MAJOR) => {}
            Some(_) => return Err(unsupported("adcp_major_version")),
            None => {
                return Err(
                    AdcpError::invalid_request("`adcp_major_version` must be an integer")
                        .with_field("adcp_major_version"),
                );
            }
        }
    }
    let Some(version) = request.get("adcp_version").filter(|v| !v.is_null()) else {
        return Ok(SERVED_VERSION);
    };
    let Some(version) = version.as_str() else {
        return Err(
            AdcpError::invalid_request("`adcp_version` must be a string such as \"3.1\"")
                .with_field("adcp_version"),
        );
    };
    let mut parts = version.split(['.', '-']);
    let major = parts.next().and_then(|m| m.parse::<u64>().ok());
    let minor = parts.next().and_then(|m| m.parse::<u64>().ok());
    match (major, minor) {
        (Some(SUPPORTED_MAJOR), Some(minor)) => {
            // Serve the highest supported release at or below the pin; a pin below every
            // supported release of the major (e.g. "3.0") is served the oldest one we have.
            Ok(SUPPORTED_VERSIONS
                .iter()
                .copied()
                .find(|served| {
                    served
                        .split('.')
                        .nth(1)
                        .and_then(|m| m.parse::<u64>().ok())
                        .is_some_and(|served_minor| served_minor <= minor)
                })
                .unwrap_or(SERVED_VERSION))
        }
        (Some(_), Some(_)) => Err(unsupported("adcp_version")),
        _ => Err(
            AdcpError::invalid_request("`adcp_version` must look like \"3.1\" (major.minor)")
                .with_field("adcp_version"),
        ),
    }
}

fn unsupported(field: &str) -> AdcpError {
    AdcpError::new(
        codes::VERSION_UNSUPPORTED,
        format!("this agent serves AdCP major version {SUPPORTED_MAJOR} (releases {SUPPORTED_VERSIONS:?})"),
    )
    .with_field(field)
    .with_detail("supported_versions", serde_json::json!(SUPPORTED_VERSIONS))
    .with_detail("supported_major_versions", serde_json::json!([SUPPORTED_MAJOR]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[allow(clippy::needless_pass_by_value)]
    fn run(v: Value) -> Result<&'static str, AdcpError> {
        negotiate(v.as_object().unwrap())
    }

    #[test]
    fn pins_inside_and_outside_the_major() {
        assert_eq!(run(json!({})).unwrap(), "3.1");
        assert_eq!(run(json!({"adcp_version": "3.1"})).unwrap(), "3.1");
        assert_eq!(run(json!({"adcp_version": "3.4"})).unwrap(), "3.1");
        assert_eq!(run(json!({"adcp_major_version": 3})).unwrap(), "3.1");
        let e = run(json!({"adcp_version": "99.0"})).unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.field.as_deref()),
            ("VERSION_UNSUPPORTED", Some("adcp_version"))
        );
        let e = run(json!({"adcp_major_version": 99})).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("adcp_major_version"));
        assert_eq!(
            run(json!({"adcp_version": 3})).unwrap_err().code,
            "INVALID_REQUEST"
        );
    }
}
