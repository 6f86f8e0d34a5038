//! The shape of a JSON-RPC message, checked before the MCP layer sees it, so that transport-level
//! garbage gets an error that says what is wrong (rmcp answers a mistyped `tools/call` with
//! "Method not found", and a batch or a non-object body with a bare HTTP 415).
//!
//! MCP's edge needs only a few facts from a message it passes on (its `id`, its method, the tool
//! a `tools/call` names). A `tools/call` with its arguments, the message the edge sees most, is
//! parsed once with rmcp's model, the edge reads the facts from that message
//! ([`Summary::of_model_call`]), and rmcp serves it as parsed. For any other message,
//! [`Summary::read`] takes the facts straight from the bytes, borrowing its strings and skipping
//! the rest. Both accept only what [`check`] accepts, with one exception: where serde_json's
//! `raw_value` feature is on (sqlx turns it on), a parsed tree gives serde_json's private member
//! names a meaning rmcp's model does not give them where it reads through serde's buffer (the
//! top level of the message and of `arguments`), so such a call is served as rmcp reads it, as
//! the edge's facts are. Anything they do not accept goes through [`check`] on a parsed tree,
//! which names what is wrong.

use std::borrow::Cow;
use std::fmt;

use adcp_types::AdcpError;
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, NumberOrString};
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// JSON-RPC's code for a message that is not a valid request.
pub(crate) const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC's code for parameters of the wrong shape.
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// What is wrong with a message, as the JSON-RPC error to answer with.
#[derive(Debug)]
pub(crate) struct Malformed {
    /// The JSON-RPC error code.
    pub(crate) code: i64,
    /// The request's `id`, when it had a usable one.
    pub(crate) id: Value,
    /// The AdCP error carried in `error.data.adcp_error` (its `field` names the offending
    /// member).
    pub(crate) error: AdcpError,
}

fn malformed(code: i64, id: &Value, field: &str, message: &str) -> Malformed {
    Malformed {
        code,
        id: id.clone(),
        error: AdcpError::invalid_request(message).with_field(field),
    }
}

/// The JSON-RPC method of a well-formed single message.
pub(crate) fn method(message: &Value) -> Option<&str> {
    message.get("method").and_then(Value::as_str)
}

/// Checks that `message` is one JSON-RPC 2.0 message MCP can serve, and that a `tools/call`
/// names its tool and passes its arguments as an object.
pub(crate) fn check(message: &Value) -> Result<(), Malformed> {
    let object = match message {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(malformed(
                INVALID_REQUEST,
                &Value::Null,
                "body",
                "JSON-RPC batches are not supported: send one request per HTTP POST",
            ));
        }
        _ => {
            return Err(malformed(
                INVALID_REQUEST,
                &Value::Null,
                "body",
                "the body must be a JSON-RPC 2.0 request object \
                 ({\"jsonrpc\": \"2.0\", \"id\", \"method\", \"params\"})",
            ));
        }
    };
    let id = match object.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_) | Value::Null)) => id.clone(),
        None => Value::Null,
        Some(_) => {
            return Err(malformed(
                INVALID_REQUEST,
                &Value::Null,
                "id",
                "`id` must be a string or a number",
            ));
        }
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(malformed(
            INVALID_REQUEST,
            &id,
            "jsonrpc",
            "`jsonrpc` must be \"2.0\"",
        ));
    }
    let is_response = object.contains_key("result") || object.contains_key("error");
    match object.get("method") {
        Some(Value::String(_)) => {}
        None if is_response => return Ok(()),
        _ => {
            return Err(malformed(
                INVALID_REQUEST,
                &id,
                "method",
                "`method` must be a string naming the JSON-RPC method",
            ));
        }
    }
    match object.get("params") {
        None | Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(malformed(
                INVALID_PARAMS,
                &id,
                "params",
                "`params` must be an object",
            ));
        }
    }
    if method(message) == Some("tools/call") {
        check_tool_call(object.get("params"), &id)?;
    }
    Ok(())
}

fn check_tool_call(params: Option<&Value>, id: &Value) -> Result<(), Malformed> {
    let Some(params) = params else {
        return Err(malformed(
            INVALID_PARAMS,
            id,
            "params",
            "tools/call needs `params` with the tool's `name` and its `arguments` object",
        ));
    };
    if !params.get("name").is_some_and(Value::is_string) {
        return Err(malformed(
            INVALID_PARAMS,
            id,
            "params.name",
            "tools/call needs `params.name`, the tool's name as a string",
        ));
    }
    match params.get("arguments") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(malformed(
            INVALID_PARAMS,
            id,
            "params.arguments",
            "`params.arguments` must be a JSON object of the tool's parameters",
        )),
    }
}

/// The facts the edge needs from a well-formed message.
#[derive(Debug, PartialEq)]
pub(crate) struct Summary<'a> {
    /// The request's `id` (`null` for a notification).
    pub(crate) id: Value,
    /// The JSON-RPC method (`None` for a response).
    pub(crate) method: Option<Cow<'a, str>>,
    /// The tool a `tools/call` names.
    pub(crate) tool: Option<Cow<'a, str>>,
}

impl<'a> Summary<'a> {
    /// The summary of `bytes` if they are one message [`check`] accepts, read without building
    /// a JSON tree; `None` otherwise (including for messages [`check`] would accept but this
    /// reading does not, so a caller falls back to parsing and [`check`]).
    pub(crate) fn read(bytes: &'a [u8]) -> Option<Self> {
        let shape: Shape<'a> = serde_json::from_slice(bytes).ok()?;
        let id = match shape.id {
            None | Some(Member::Null) => Value::Null,
            Some(Member::Str(id)) => Value::String(id.into_owned()),
            Some(Member::Number(id)) => Value::Number(id),
            Some(_) => return None,
        };
        if !matches!(&shape.jsonrpc, Some(Member::Str(version)) if version == "2.0") {
            return None;
        }
        let method = match shape.method {
            Some(Member::Str(method)) => Some(method),
            None if shape.is_response => None,
            _ => return None,
        };
        let tool = match shape.params {
            None => None,
            Some(Params::Object { name, arguments }) => {
                if !matches!(arguments, None | Some(Member::Object)) {
                    return None;
                }
                match name {
                    Some(Member::Str(name)) => Some(name),
                    _ => None,
                }
            }
            Some(Params::Other) => return None,
        };
        if method.as_deref() == Some("tools/call") && tool.is_none() {
            return None;
        }
        Some(Self { id, method, tool })
    }

    /// The summary of `message`, as rmcp's model parsed it, if it is a `tools/call` with an
    /// `arguments` object; `None` for anything else. Everything [`check`] refuses, the model
    /// refuses in a `tools/call` (a `jsonrpc` other than `"2.0"`, an `id` that is not a string or
    /// an integer, `params` or `arguments` that are not objects, a `name` that is not a
    /// string), except an `arguments: null`, which the model reads as absent: so a call
    /// without arguments is not summarised here. An integral `id` written as a float (`1.0`)
    /// is the integer, as rmcp reads and echoes it.
    pub(crate) fn of_model_call(message: &'a ClientJsonRpcMessage) -> Option<Self> {
        let JsonRpcMessage::Request(request) = message else {
            return None;
        };
        let ClientRequest::CallToolRequest(call) = &request.request else {
            return None;
        };
        call.params.arguments.as_ref()?;
        let id = match &request.id {
            NumberOrString::Number(id) => Value::from(*id),
            NumberOrString::String(id) => Value::from(id.as_ref()),
        };
        Some(Self {
            id,
            method: Some(Cow::Borrowed("tools/call")),
            tool: Some(Cow::Borrowed(&call.params.name)),
        })
    }

    /// The summary of a message [`check`] accepted (so its `params`, if any, is an object).
    pub(crate) fn of(message: &'a Value) -> Self {
        Self {
            id: message.get("id").cloned().unwrap_or(Value::Null),
            method: method(message).map(Cow::Borrowed),
            tool: message
                .get("params")
                .and_then(|params| params.get("name"))
                .and_then(Value::as_str)
                .map(Cow::Borrowed),
        }
    }
}

/// A message's members as [`Summary::read`] sees them (a repeated member: the last one, as in
/// a parsed tree).
#[derive(Default)]
struct Shape<'a> {
    jsonrpc: Option<Member<'a>>,
    id: Option<Member<'a>>,
    method: Option<Member<'a>>,
    params: Option<Params<'a>>,
    is_response: bool,
}

/// A member's kind, with a string's text and a number's value.
enum Member<'a> {
    Str(Cow<'a, str>),
    Number(serde_json::Number),
    Null,
    Object,
    Other,
}

/// `params` as [`Summary::read`] sees it: an object's `name` and `arguments`, or anything else.
enum Params<'a> {
    Object {
        name: Option<Member<'a>>,
        arguments: Option<Member<'a>>,
    },
    Other,
}

/// A member name as [`Summary::read`] sees it: the ones it looks at (at the top level, and
/// `name` and `arguments` in `params`), or another. serde_json's private names (`RawValue`,
/// `arbitrary_precision` numbers) are refused, so the caller parses a tree and checks that.
enum Key {
    Jsonrpc,
    Id,
    Method,
    Params,
    ResultOrError,
    Name,
    Arguments,
    Other,
}

/// The prefix of the member names serde_json gives a meaning of its own when it builds a tree.
const SERDE_JSON_PRIVATE: &str = "$serde_json::private::";

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                Ok(match key {
                    "jsonrpc" => Key::Jsonrpc,
                    "id" => Key::Id,
                    "method" => Key::Method,
                    "params" => Key::Params,
                    "result" | "error" => Key::ResultOrError,
                    "name" => Key::Name,
                    "arguments" => Key::Arguments,
                    private if private.starts_with(SERDE_JSON_PRIVATE) => {
                        return Err(E::custom("a member name serde_json reserves"));
                    }
                    _ => Key::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Shape<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapeVisitor;
        impl<'de> Visitor<'de> for ShapeVisitor {
            type Value = Shape<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC message object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape<'de>, A::Error> {
                let mut shape = Shape::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Jsonrpc => shape.jsonrpc = Some(map.next_value()?),
                        Key::Id => shape.id = Some(map.next_value()?),
                        Key::Method => shape.method = Some(map.next_value()?),
                        Key::Params => shape.params = Some(map.next_value()?),
                        Key::ResultOrError => {
                            map.next_value::<Skip>()?;
                            shape.is_response = true;
                        }
                        Key::Name | Key::Arguments | Key::Other => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(shape)
            }
        }
        deserializer.deserialize_map(ShapeVisitor)
    }
}

impl<'de> de::Deserialize<'de> for Params<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ParamsVisitor;
        impl<'de> Visitor<'de> for ParamsVisitor {
            type Value = Params<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params<'de>, A::Error> {
                let (mut name, mut arguments) = (None, None);
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::Name => name = Some(map.next_value()?),
                        Key::Arguments => arguments = Some(map.next_value()?),
                        _ => {
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(Params::Object { name, arguments })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Params<'de>, A::Error> {
                Skip.visit_seq(seq).map(|Skip| Params::Other)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Params<'de>, E> {
                Ok(Params::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Params<'de>, E> {
                Ok(Params::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Params<'de>, E> {
                Ok(Params::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Params<'de>, E> {
                Ok(Params::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Params<'de>, E> {
                Ok(Params::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Params<'de>, E> {
                Ok(Params::Other)
            }
        }
        deserializer.deserialize_any(ParamsVisitor)
    }
}

/// A value read and dropped, checked as a parsed tree checks it (serde's `IgnoredAny` lets
/// through numbers out of range and, in `serde_json`, strings that are not UTF-8).
struct Skip;

impl<'de> Visitor<'de> for Skip {
    type Value = Skip;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        while map.next_entry::<Key, Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
}

impl<'de> de::Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Skip)
    }
}

impl<'de> de::Deserialize<'de> for Member<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl<'de> Visitor<'de> for MemberVisitor {
            type Value = Member<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Borrowed(text)))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Member<'de>, E> {
                Ok(Member::Str(Cow::Owned(text.to_owned())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Member<'de>, E> {
                Ok(Member::Number(n.into()))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Member<'de>, E> {
                Ok(Member::Number(n.into()))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Member<'de>, E> {
                // JSON has no non-finite numbers: a parsed tree never holds one.
                Ok(serde_json::Number::from_f64(n).map_or(Member::Other, Member::Number))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Member<'de>, E> {
                Ok(Member::Null)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Member<'de>, E> {
                Ok(Member::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Member<'de>, A::Error> {
                Skip.visit_map(map).map(|Skip| Member::Object)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Member<'de>, A::Error> {
                Skip.visit_seq(seq).map(|Skip| Member::Other)
            }
        }
        deserializer.deserialize_any(MemberVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn refused(message: &Value) -> Malformed {
        match check(message) {
            Err(malformed) => malformed,
            Ok(()) => panic!("{message} was accepted"),
        }
    }

    #[test]
    fn well_formed_messages_pass() {
        for message in [
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            json!({"jsonrpc": "2.0", "id": "a", "method": "tools/call",
                   "params": {"name": "get_products", "arguments": {"brief": "x"}}}),
            json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "t"}}),
            json!({"jsonrpc": "2.0", "id": 3, "result": {}}),
        ] {
            assert!(check(&message).is_ok(), "{message}");
        }
    }

    #[test]
    fn garbage_is_named_with_its_field_and_code() {
        let cases = [
            (json!([{"jsonrpc": "2.0"}]), INVALID_REQUEST, "body"),
            (json!("hello"), INVALID_REQUEST, "body"),
            (json!(42), INVALID_REQUEST, "body"),
            (
                json!({"jsonrpc": "1.0", "id": 1, "method": "x"}),
                INVALID_REQUEST,
                "jsonrpc",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": 7}),
                INVALID_REQUEST,
                "method",
            ),
            (
                json!({"jsonrpc": "2.0", "id": {}, "method": "x"}),
                INVALID_REQUEST,
                "id",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "x"}),
                INVALID_PARAMS,
                "params",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": [1]}),
                INVALID_PARAMS,
                "params",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call"}),
                INVALID_PARAMS,
                "params",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": 3}}),
                INVALID_PARAMS,
                "params.name",
            ),
            (
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                    "params": {"name": "get_products", "arguments": [1, 2]}}),
                INVALID_PARAMS,
                "params.arguments",
            ),
        ];
        for (message, code, field) in cases {
            let malformed = refused(&message);
            assert_eq!(malformed.code, code, "{message}");
            assert_eq!(malformed.error.field.as_deref(), Some(field), "{message}");
            assert_eq!(malformed.error.code, "INVALID_REQUEST");
        }
    }

    /// What the edge learns from `message`: read from its bytes when that reading accepts it,
    /// else from the parsed tree once [`check`] has; `None` when [`check`] refuses it.
    fn summary_of(bytes: &[u8]) -> Option<(Value, Option<String>, Option<String>)> {
        let owned = |s: Summary<'_>| {
            (
                s.id,
                s.method.map(Cow::into_owned),
                s.tool.map(Cow::into_owned),
            )
        };
        let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
        let checked = parsed.as_ref().filter(|message| check(message).is_ok());
        let read = Summary::read(bytes).map(owned);
        if let Some(read) = &read {
            // The borrowed reading never accepts what `check` refuses, and agrees with the tree.
            let message = checked.unwrap_or_else(|| {
                panic!(
                    "{} was read but check refuses it",
                    String::from_utf8_lossy(bytes)
                )
            });
            assert_eq!(
                *read,
                owned(Summary::of(message)),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        read.or_else(|| checked.map(|message| owned(Summary::of(message))))
    }

    /// What rmcp's model reads as a call with arguments, `check` accepts, with the same facts.
    fn assert_the_model_summary_agrees_with_check(bytes: &[u8]) {
        let model: Option<ClientJsonRpcMessage> = serde_json::from_slice(bytes).ok();
        let Some(summary) = model.as_ref().and_then(Summary::of_model_call) else {
            return;
        };
        let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
        let message = parsed
            .as_ref()
            .filter(|message| check(message).is_ok())
            .unwrap_or_else(|| {
                panic!(
                    "{} was summarised from the model but check refuses it",
                    String::from_utf8_lossy(bytes)
                )
            });
        assert_eq!(
            (summary.id, summary.tool.map(Cow::into_owned)),
            (
                Summary::of(message).id,
                Summary::of(message).tool.map(Cow::into_owned)
            ),
            "{}",
            String::from_utf8_lossy(bytes)
        );
    }

    #[test]
    fn a_tool_call_with_arguments_is_summarised_from_the_model_alone() {
        let summarised = |bytes: &str| {
            let message: ClientJsonRpcMessage = serde_json::from_str(bytes).ok()?;
            Summary::of_model_call(&message).map(|s| (s.id, s.tool.map(Cow::into_owned)))
        };
        assert_eq!(
            summarised(
                r#"{"jsonrpc":"2.0","id":"a-1","method":"tools/call","params":{"name":"get_products","arguments":{"brief":"x"}}}"#
            ),
            Some((json!("a-1"), Some("get_products".to_owned())))
        );
        assert_eq!(
            summarised(
                r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{},"name":"t"}}"#
            ),
            Some((json!(7), Some("t".to_owned())))
        );
        for other in [
            // Without arguments, or with `null` ones (the model reads both as absent).
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":null}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":3,"result":{}}"#,
        ] {
            assert_eq!(summarised(other), None, "{other}");
        }
    }

    #[test]
    fn the_borrowed_reading_agrees_with_check_on_what_it_accepts() {
        let accepted: &[(&str, Value, Option<&str>, Option<&str>)] = &[
            (
                r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_products","arguments":{"brief":"x","n":[1,{"a":null}]},"_meta":{}}}"#,
                json!(7),
                Some("tools/call"),
                Some("get_products"),
            ),
            (
                r#"{"id":"a-1","method":"tools\/call","jsonrpc":"2.0","params":{"arguments":{},"name":"get_\u0073ignals"}}"#,
                json!("a-1"),
                Some("tools/call"),
                Some("get_signals"),
            ),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                Value::Null,
                Some("notifications/initialized"),
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":null,"method":"ping","params":{}}"#,
                Value::Null,
                Some("ping"),
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2.5,"method":"x","params":{"name":3}}"#,
                json!(2.5),
                Some("x"),
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":3,"result":{"ok":true}}"#,
                json!(3),
                None,
                None,
            ),
            (
                r#"{"jsonrpc":"2.0","id":-4,"error":{"code":1}}"#,
                json!(-4),
                None,
                None,
            ),
            // A repeated member counts once, the last, as in a parsed tree.
            (
                r#"{"jsonrpc":"1.0","jsonrpc":"2.0","id":{},"id":1,"method":"x"}"#,
                json!(1),
                Some("x"),
                None,
            ),
            (
                r#" {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}} "#,
                json!(1),
                Some("tools/call"),
                Some("t"),
            ),
        ];
        for (bytes, id, method, tool) in accepted {
            assert!(
                Summary::read(bytes.as_bytes()).is_some(),
                "{bytes} was not read"
            );
            let expected = (
                id.clone(),
                method.map(str::to_owned),
                tool.map(str::to_owned),
            );
            assert_eq!(summary_of(bytes.as_bytes()), Some(expected), "{bytes}");
            assert_the_model_summary_agrees_with_check(bytes.as_bytes());
        }
    }

    #[test]
    fn the_borrowed_reading_refuses_what_check_refuses() {
        let refused = [
            "",
            "{",
            r#"[{"jsonrpc":"2.0","id":1,"method":"x"}]"#,
            r#""hello""#,
            "42",
            "null",
            r#"{"jsonrpc":"2.0","id":1,"method":"x"} trailing"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
            r#"{"jsonrpc":2,"id":1,"method":"x"}"#,
            r#"{"id":1,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":"p"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":3}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":[1]}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":null}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":1e999}}"#,
        ];
        for bytes in refused {
            assert!(
                Summary::read(bytes.as_bytes()).is_none(),
                "{bytes} was read"
            );
            assert_eq!(summary_of(bytes.as_bytes()), None, "{bytes}");
            assert_the_model_summary_agrees_with_check(bytes.as_bytes());
        }
        // serde_json's private member names (a `RawValue`, an `arbitrary_precision` number)
        // mean something to a parsed tree, at any depth: never read, always parsed and checked.
        for bytes in [
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":{"$serde_json::private::RawValue":5}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"$serde_json::private::RawValue":"[1]"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"a":[{"$serde_json::private::Number":"1"}]}}}"#,
            r#"{"$serde_json::private::RawValue":"{}","jsonrpc":"2.0","id":1,"method":"x"}"#,
        ] {
            assert!(
                Summary::read(bytes.as_bytes()).is_none(),
                "{bytes} was read"
            );
            // Whatever the parsed tree makes of it, the edge acts on that. (rmcp's model, where it
            // reads through serde's buffer, takes these as plain member names: a call it reads is
            // summarised from that reading, which is also the message rmcp serves.)
            let _ = summary_of(bytes.as_bytes());
        }
        // Not UTF-8, in a member the reading skips.
        let invalid =
            b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":{\"a\":\"\xff\"}}";
        assert!(Summary::read(invalid).is_none());
        assert_eq!(summary_of(invalid), None);
    }

    #[test]
    fn the_id_is_echoed_when_usable() {
        let malformed =
            refused(&json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": 1}));
        assert_eq!(malformed.id, json!(9));
    }
}
