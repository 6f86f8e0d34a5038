//! Property tests: no rule panics on arbitrary JSON, every rejection is well formed and belongs
//! to the moment that produced it, and secrets never reach a message.

use crate::common;

use adcp_guards::{DispatchOutcome, GuardConfig, Moment, Rejection, pre_dispatch};
use common::{assert_well_formed, config};
use proptest::prelude::*;
use serde_json::{Map, Number, Value, json};

const TOOLS: [&str; 5] = [
    "get_products",
    "get_signals",
    "create_media_buy",
    "get_task_status",
    "x",
];

/// Keys the rules read, so arbitrary objects hit them often.
const KEYS: &[&str] = &[
    "buying_mode",
    "discovery_mode",
    "brief",
    "refine",
    "scope",
    "action",
    "signal_spec",
    "signal_refs",
    "signal_ids",
    "if_wholesale_feed_version",
    "if_pricing_version",
    "push_notification_config",
    "url",
    "operation_id",
    "token",
    "authentication",
    "schemes",
    "credentials",
    "status",
    "task_id",
];

/// Strings the rules compare against, so arbitrary values hit them often.
const WORDS: &[&str] = &[
    "brief",
    "wholesale",
    "refine",
    "proposal",
    "product",
    "request",
    "finalize",
    "include",
    "submitted",
    "working",
    "Bearer",
    "HMAC-SHA256",
    "<unset>",
    "https://buyer.example/h",
    "http://127.0.0.1:9/h",
    "http://[::1]/h",
    "https://u:p@b.example/",
    "0123456789abcdef0123456789abcdef",
    "",
];

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        any::<String>().prop_map(Value::String),
        prop::sample::select(WORDS).prop_map(Value::from),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(KEYS).prop_map(str::to_owned),
        "[a-z_]{0,12}"
    ]
}

/// Arbitrary JSON, up to four levels deep.
fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn arb_config() -> impl Strategy<Value = GuardConfig> {
    (any::<bool>(), any::<bool>()).prop_map(|(delivery, dev_host)| {
        let config = GuardConfig::new().with_webhook_delivery(delivery);
        if dev_host {
            config
                .allow_insecure_http_host("127.0.0.1")
                .expect("valid host")
        } else {
            config
        }
    })
}

fn arb_account() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        any::<String>(),
        Just("<unset>".to_owned()),
        Just("acct".to_owned())
    ])
}

fn expect_moment(rejection: &Rejection, moment: Moment) {
    assert_well_formed(rejection);
    assert_eq!(rejection.rule().moment(), moment, "{rejection}");
}

/// Runs every moment in order, as a server would, checking each rejection.
fn run_all(
    config: &GuardConfig,
    tool: &str,
    request: &Value,
    account: Option<&str>,
    result: &Value,
) {
    let admitted = match pre_dispatch(config, tool, request) {
        Ok(admitted) => admitted,
        Err(rejection) => return expect_moment(&rejection, Moment::PreDispatch),
    };
    let checked = match admitted.after_account_resolution(account) {
        Ok(checked) => checked,
        Err(rejection) => return expect_moment(&rejection, Moment::AfterAccountResolution),
    };
    if let Err(rejection) = checked.pre_handoff() {
        expect_moment(&rejection, Moment::PreHandoff);
    }
    for outcome in [DispatchOutcome::Sync(result), DispatchOutcome::Handoff] {
        if let Err(rejection) = checked.post_dispatch(outcome) {
            expect_moment(&rejection, Moment::PostDispatch);
        }
    }
}

/// A request every rule accepts for each tool, with a push config the rules read deeply.
fn base_request(tool: &str) -> Value {
    let push = json!({
        "url": "https://buyer.example/h",
        "operation_id": "op",
        "token": "0123456789abcdef",
        "authentication": { "schemes": ["Bearer"], "credentials": "0123456789abcdef0123456789abcdef" },
    });
    match tool {
        "get_products" => json!({
            "buying_mode": "refine",
            "refine": [{ "scope": "proposal", "proposal_id": "p", "action": "finalize" }],
            "push_notification_config": push,
        }),
        "get_signals" => {
            json!({ "signal_spec": "s", "signal_refs": [{}], "push_notification_config": push })
        }
        _ => json!({ "push_notification_config": push }),
    }
}

/// Paths (as JSON pointers) of every field some rule reads.
const READ_POINTERS: &[&str] = &[
    "",
    "/buying_mode",
    "/discovery_mode",
    "/brief",
    "/refine",
    "/refine/0",
    "/refine/0/scope",
    "/refine/0/action",
    "/signal_spec",
    "/signal_refs",
    "/signal_ids",
    "/if_wholesale_feed_version",
    "/if_pricing_version",
    "/push_notification_config",
    "/push_notification_config/url",
    "/push_notification_config/operation_id",
    "/push_notification_config/token",
    "/push_notification_config/authentication",
    "/push_notification_config/authentication/schemes",
    "/push_notification_config/authentication/schemes/0",
    "/push_notification_config/authentication/credentials",
];

/// `request` with the value at `pointer` replaced (or inserted into its parent object).
fn inject(mut request: Value, pointer: &str, value: Value) -> Value {
    if pointer.is_empty() {
        return value;
    }
    let (parent, key) = pointer
        .rsplit_once('/')
        .expect("non-empty pointers start with /");
    match request.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), value);
        }
        Some(Value::Array(items)) => {
            if let Some(slot) = key.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                *slot = value;
            }
        }
        _ => {}
    }
    request
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_rule_panics_on_arbitrary_json(
        config in arb_config(),
        tool in prop::sample::select(&TOOLS[..]),
        request in arb_json(),
        account in arb_account(),
        result in arb_json(),
    ) {
        run_all(&config, tool, &request, account.as_deref(), &result);
    }

    #[test]
    fn no_rule_panics_on_arbitrary_values_in_read_fields(
        config in arb_config(),
        tool in prop::sample::select(&TOOLS[..3]),
        pointer in prop::sample::select(READ_POINTERS),
        value in arb_json(),
        account in arb_account(),
        result in arb_json(),
    ) {
        let request = inject(base_request(tool), pointer, value);
        run_all(&config, tool, &request, account.as_deref(), &result);
    }

    #[test]
    fn pre_dispatch_rejections_of_an_object_name_a_field(
        tool in prop::sample::select(&TOOLS[..3]),
        pointer in prop::sample::select(&READ_POINTERS[1..]),
        value in arb_json(),
    ) {
        let request = inject(base_request(tool), pointer, value);
        if let Err(rejection) = pre_dispatch(&config(), tool, &request) {
            prop_assert!(rejection.error().field.is_some(), "{}", rejection);
        }
    }

    #[test]
    fn secrets_never_reach_the_wire(
        secret in "SECRET[0-9]{6,20}",
        pointer in prop::sample::select(&[
            "/push_notification_config/token",
            "/push_notification_config/authentication/credentials",
            "/push_notification_config/url",
        ][..]),
        shape in 0usize..4,
        tool in prop::sample::select(&TOOLS[..3]),
    ) {
        let value = match shape {
            0 => Value::String(secret.clone()),
            1 => Value::String(format!("http://buyer.example/?t={secret}")),
            2 => Value::String(format!("https://{secret}:x@buyer.example/")),
            _ => json!([secret.clone()]),
        };
        let request = inject(base_request(tool), pointer, value);
        if let Err(rejection) = pre_dispatch(&config(), tool, &request) {
            let wire = common::wire(&rejection);
            prop_assert!(!wire.contains(&secret), "{}", wire);
        }
    }
}
