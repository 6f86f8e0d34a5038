//! Decoding a JSON request into its generated type, with the offending field's path on failure.

use adcp_types::{AdcpError, ValidationIssue};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Decodes `request` into `T`. A wrong type or missing field becomes `VALIDATION_ERROR` whose
/// `field` is the JSONPath-lite path (`packages[0].budget`) and whose `issues[0].pointer` is the
/// matching RFC 6901 pointer.
pub(crate) fn decode<T: DeserializeOwned>(request: &Value) -> Result<T, AdcpError> {
    // Tracking the path costs on every member; it is only needed to name a failure, so a
    // request is decoded plainly first and again, with the path, only when that fails.
    if let Ok(decoded) = T::deserialize(request) {
        return Ok(decoded);
    }
    serde_path_to_error::deserialize(request).map_err(|error| {
        let pointer = pointer_of(error.path());
        let message = error.inner().to_string();
        AdcpError::validation(
            format!("the request does not match the tool's schema: {message}"),
            vec![ValidationIssue {
                pointer,
                message,
                keyword: "type".to_owned(),
            }],
        )
    })
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut pointer = String::new();
    for segment in path {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::*;
    use adcp_types::generated::GetProductsRequest;
    use serde_json::json;

    #[test]
    fn wrong_types_name_their_field() {
        let error = decode::<GetProductsRequest>(&json!({"buying_mode": "brief", "brief": 42}))
            .unwrap_err();
        assert_eq!(error.code, "VALIDATION_ERROR");
        assert_eq!(error.field.as_deref(), Some("brief"));
        assert_eq!(error.issues[0].pointer, "/brief");
    }
}
