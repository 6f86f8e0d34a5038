//! Parsing of `Signature-Input`, `Signature` and `Content-Digest` with `sfv`.
//!
//! RFC 8941 byte sequences use standard base64, while the AdCP profile sends base64url without
//! padding (and still tolerates standard base64 until 3.2). Before handing a header to `sfv`,
//! each `:...:` token is checked for a mixed alphabet (a hard error) and rewritten to padded
//! standard base64, so `sfv` does the structural parsing.

use sfv::{BareItem, Dictionary, InnerList, ListEntry, Parser};

use super::SignatureErrorCode;

/// The parsed `sig1` member of `Signature-Input`.
#[derive(Debug)]
pub(super) struct SignatureParams {
    pub(super) inner: InnerList,
    pub(super) components: Vec<String>,
}

/// Rewrites every sf-binary token in `header` to padded standard base64.
pub(super) fn normalize_binary_tokens(header: &str) -> Result<String, SignatureErrorCode> {
    let mut out = String::with_capacity(header.len() + 4);
    let mut chars = header.chars();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                '\\' => out.extend(chars.next()),
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            ':' => {
                let mut token = String::new();
                let mut closed = false;
                for t in chars.by_ref() {
                    if t == ':' {
                        closed = true;
                        break;
                    }
                    token.push(t);
                }
                if !closed {
                    return Err(SignatureErrorCode::HeaderMalformed);
                }
                let url_alphabet = token.contains(['-', '_']);
                let std_alphabet = token.contains(['+', '/']);
                if url_alphabet && std_alphabet {
                    return Err(SignatureErrorCode::HeaderMalformed);
                }
                let mut token: String = token
                    .chars()
                    .map(|t| match t {
                        '-' => '+',
                        '_' => '/',
                        other => other,
                    })
                    .collect();
                if !token.contains('=') {
                    while !token.len().is_multiple_of(4) {
                        token.push('=');
                    }
                }
                out.push(':');
                out.push_str(&token);
                out.push(':');
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

fn parse_dictionary(header: &str) -> Result<Dictionary, SignatureErrorCode> {
    let normalized = normalize_binary_tokens(header)?;
    Parser::new(&normalized)
        .parse::<Dictionary>()
        .map_err(|_| SignatureErrorCode::HeaderMalformed)
}

/// Parses the `sig1` label of `Signature-Input`; other labels are ignored.
pub(super) fn parse_signature_input(header: &str) -> Result<SignatureParams, SignatureErrorCode> {
    let dict = parse_dictionary(header)?;
    let Some(ListEntry::InnerList(inner)) = dict.get("sig1") else {
        return Err(SignatureErrorCode::HeaderMalformed);
    };
    let components = inner
        .items
        .iter()
        .map(|item| match &item.bare_item {
            BareItem::String(name) if item.params.is_empty() => Ok(name.as_str().to_owned()),
            _ => Err(SignatureErrorCode::HeaderMalformed),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SignatureParams {
        inner: inner.clone(),
        components,
    })
}

/// Parses the `sig1` byte sequence of `Signature`.
pub(super) fn parse_signature(header: &str) -> Result<Vec<u8>, SignatureErrorCode> {
    let dict = parse_dictionary(header)?;
    match dict.get("sig1") {
        Some(ListEntry::Item(item)) => match &item.bare_item {
            BareItem::ByteSequence(bytes) => Ok(bytes.clone()),
            _ => Err(SignatureErrorCode::HeaderMalformed),
        },
        _ => Err(SignatureErrorCode::HeaderMalformed),
    }
}

/// The `sha-256` digest in a `Content-Digest` header, if it parses and has one.
pub(super) fn parse_sha256_digest(header: &str) -> Option<Vec<u8>> {
    let dict = parse_dictionary(header).ok()?;
    match dict.get("sha-256") {
        Some(ListEntry::Item(item)) => item.bare_item.as_byte_sequence().map(<[u8]>::to_vec),
        _ => None,
    }
}

/// The serialized `@signature-params` value: the `sig1` inner list with its parameters.
pub(super) fn signature_params_value(params: &SignatureParams) -> Option<String> {
    sfv::FieldType::serialize(&vec![ListEntry::InnerList(params.inner.clone())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_alphabet_tokens_are_rewritten_and_mixed_ones_rejected() {
        assert_eq!(
            normalize_binary_tokens("sig1=:ab-_c:").unwrap(),
            "sig1=:ab+/c===:"
        );
        assert_eq!(
            normalize_binary_tokens("a=\"x:y\", b=:AA==:").unwrap(),
            "a=\"x:y\", b=:AA==:"
        );
        assert_eq!(
            normalize_binary_tokens("sig1=:A+B-:"),
            Err(SignatureErrorCode::HeaderMalformed)
        );
        assert_eq!(
            normalize_binary_tokens("sig1=:AAAA"),
            Err(SignatureErrorCode::HeaderMalformed)
        );
    }
}
