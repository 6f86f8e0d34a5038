//! Helpers shared by the integration tests.

#![allow(dead_code, unreachable_pub, unused_macros)]

use adcp_guards::{GuardConfig, Rejection, Rule};
use adcp_types::Recovery;
use serde_json::Value;

/// What a case expects: pass, or a rejection by `rule` pointing at `field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Pass,
    Reject(Rule, Option<&'static str>),
}

/// A server with webhook delivery wired and 127.0.0.1 on the http allow-list.
pub fn config() -> GuardConfig {
    GuardConfig::new()
        .with_webhook_delivery(true)
        .allow_insecure_http_host("127.0.0.1")
        .expect("127.0.0.1 is a valid host")
}

/// Every rejection is INVALID_REQUEST/correctable, fired by a rule of the moment that ran it.
pub fn assert_well_formed(rejection: &Rejection) {
    let error = rejection.error();
    assert_eq!(error.code, "INVALID_REQUEST", "{rejection}");
    assert_eq!(error.recovery, Recovery::Correctable, "{rejection}");
    assert!(!error.message.is_empty(), "{rejection}");
    assert!(
        error.message.ends_with('.'),
        "messages are sentences: {}",
        error.message
    );
}

/// Checks `outcome` against `expect`, naming `case` on failure.
pub fn check<T: std::fmt::Debug>(case: &str, outcome: Result<T, Rejection>, expect: Expect) {
    match (outcome, expect) {
        (Ok(_), Expect::Pass) => {}
        (Ok(value), Expect::Reject(rule, _)) => {
            panic!("{case}: expected `{rule}`, passed with {value:?}")
        }
        (Err(rejection), Expect::Pass) => panic!("{case}: expected pass, got {rejection}"),
        (Err(rejection), Expect::Reject(rule, field)) => {
            assert_eq!(rejection.rule(), rule, "{case}: {rejection}");
            assert_eq!(
                rejection.error().field.as_deref(),
                field,
                "{case}: {rejection}"
            );
            assert_well_formed(&rejection);
        }
    }
}

/// The wire form of a rejection, as the buyer would see it.
pub fn wire(rejection: &Rejection) -> String {
    rejection.error().to_value().to_string()
}

/// `base` with `key` set to `value` (a JSON object is assumed).
pub fn with(mut base: Value, key: &str, value: Value) -> Value {
    base.as_object_mut()
        .expect("base is an object")
        .insert(key.to_owned(), value);
    base
}

/// One pre-dispatch case: a named request to `tool` and what the rules must do with it.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    pub tool: &'static str,
    pub request: Value,
    pub expect: Expect,
}

/// Runs `pre_dispatch` on every case with `config`.
pub fn run(cases: impl AsRef<[Case]>, config: &GuardConfig) {
    for case in cases.as_ref() {
        check(
            case.name,
            adcp_guards::pre_dispatch(config, case.tool, &case.request),
            case.expect,
        );
    }
}

/// A table of cases, one per line: `"name", TOOL, {json request} => expect;`.
macro_rules! cases {
    ($($name:literal, $tool:expr, $request:tt => $expect:expr;)*) => {
        vec![$($crate::common::Case {
            name: $name,
            tool: $tool,
            request: serde_json::json!($request),
            expect: $expect,
        }),*]
    };
}
