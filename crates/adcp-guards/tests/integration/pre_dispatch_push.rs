//! The pre-dispatch push-notification rules as tables of positive and negative cases for
//! get_products, get_signals and a non-discovery tool.

use crate::common;

use adcp_guards::{GuardConfig, Rule, pre_dispatch};
use common::{Case, Expect, config, run, with};
use serde_json::{Value, json};

use Expect::{Pass, Reject};

const PRODUCTS: &str = "get_products";
const SIGNALS: &str = "get_signals";
const CREATE: &str = "create_media_buy";

/// A request of each tool that every non-push rule accepts.
fn bases() -> [(&'static str, Value); 3] {
    [
        (PRODUCTS, json!({ "buying_mode": "brief", "brief": "b" })),
        (SIGNALS, json!({ "signal_spec": "s" })),
        (CREATE, json!({ "buyer_ref": "r" })),
    ]
}

/// Every base request with `push_notification_config` set to each of `pushes`.
fn with_push(pushes: &[(&'static str, Value, Expect)]) -> Vec<Case> {
    let mut cases = Vec::new();
    for (tool, base) in bases() {
        for (name, push, expect) in pushes {
            let request = with(base.clone(), "push_notification_config", push.clone());
            cases.push(Case {
                name,
                tool,
                request,
                expect: *expect,
            });
        }
    }
    cases
}

fn push() -> Value {
    json!({ "url": "https://buyer.example/hooks/adcp", "operation_id": "op_1", "token": "0123456789abcdef" })
}

#[test]
fn wholesale_with_push_config() {
    let reject = Reject(
        Rule::WholesaleWithPushConfig,
        Some("push_notification_config"),
    );
    let push = push();
    let table = cases![
        "products wholesale + push", PRODUCTS, { "buying_mode": "wholesale", "push_notification_config": push } => reject;
        "signals wholesale + push", SIGNALS, { "discovery_mode": "wholesale", "push_notification_config": push } => reject;
        // The mode decides, not the config's validity: any config is refused for being there.
        "products wholesale + invalid push", PRODUCTS,
            { "buying_mode": "wholesale", "push_notification_config": "x" } => reject;
        "signals wholesale + empty push", SIGNALS, { "discovery_mode": "wholesale", "push_notification_config": {} } => reject;
        "products wholesale + null push", PRODUCTS, { "buying_mode": "wholesale", "push_notification_config": null } => Pass;
        "signals wholesale + null push", SIGNALS, { "discovery_mode": "wholesale", "push_notification_config": null } => Pass;
        "products brief + push", PRODUCTS, { "buying_mode": "brief", "brief": "b", "push_notification_config": push } => Pass;
        "products missing mode + push", PRODUCTS, { "brief": "b", "push_notification_config": push } => Pass;
        "products refine + push", PRODUCTS,
            { "buying_mode": "refine", "refine": [{ "scope": "request", "ask": "a" }], "push_notification_config": push }
            => Pass;
        "signals brief + push", SIGNALS, { "signal_spec": "s", "push_notification_config": push } => Pass;
    ];
    run(&table, &config());
    // Even on a server without webhook delivery, the wholesale conflict is named first.
    let no_delivery: Vec<_> = table
        .into_iter()
        .filter(|case| case.expect != Pass)
        .collect();
    run(&no_delivery, &GuardConfig::new());
}

#[test]
fn push_config_without_delivery() {
    let reject = Reject(
        Rule::PushConfigWithoutDelivery,
        Some("push_notification_config"),
    );
    let no_delivery = GuardConfig::new().with_webhook_delivery(false);
    run(
        with_push(&[
            ("push without delivery", push(), reject),
            ("invalid push without delivery", json!(5), reject),
            ("null push, no delivery", Value::Null, Pass),
        ]),
        &no_delivery,
    );
    for (tool, request) in bases() {
        let case = format!("{tool} without push, no delivery");
        common::check(&case, pre_dispatch(&no_delivery, tool, &request), Pass);
    }
    // With delivery wired the same config is accepted.
    run(
        with_push(&[("push with delivery", push(), Pass)]),
        &config(),
    );
}

fn at(field: &'static str) -> Expect {
    Reject(Rule::PushConfigInvalid, Some(field))
}

#[test]
fn push_config_shape_and_url() {
    let url = |url: &str| json!({ "url": url });
    let field = "push_notification_config.url";
    run(
        with_push(&[
            (
                "config not an object",
                json!("https://b.example/h"),
                at("push_notification_config"),
            ),
            (
                "config is a list",
                json!([]),
                at("push_notification_config"),
            ),
            ("url missing", json!({ "operation_id": "op" }), at(field)),
            ("url null", json!({ "url": null }), at(field)),
            ("url not a string", json!({ "url": 5 }), at(field)),
            ("relative url", url("/hooks"), at(field)),
            ("not a url", url("buyer hooks"), at(field)),
            (
                "http to a public host",
                url("http://buyer.example/h"),
                at(field),
            ),
            (
                "http to a suffix-matching host",
                url("http://127.0.0.1.evil.example/h"),
                at(field),
            ),
            (
                "http to localhost, not listed",
                url("http://localhost/h"),
                at(field),
            ),
            ("ftp", url("ftp://buyer.example/h"), at(field)),
            (
                "credentials in url",
                url("https://user:pw@buyer.example/h"),
                at(field),
            ),
            (
                "user in url",
                url("https://user@buyer.example/h"),
                at(field),
            ),
            (
                "https with port and query",
                url("https://buyer.example:9443/h?route=a"),
                Pass,
            ),
            (
                "http to an allowed dev host",
                url("http://127.0.0.1:3900/h"),
                Pass,
            ),
            (
                "unknown fields ignored",
                json!({ "url": "https://b.example/", "extra": {} }),
                Pass,
            ),
        ]),
        &config(),
    );
}

#[test]
fn push_config_operation_id_and_token() {
    let op = |value: Value| json!({ "url": "https://b.example/", "operation_id": value });
    let token = |value: Value| json!({ "url": "https://b.example/", "token": value });
    let op_field = "push_notification_config.operation_id";
    let token_field = "push_notification_config.token";
    run(
        with_push(&[
            ("operation id with a slash", op(json!("a/b")), at(op_field)),
            ("operation id with a space", op(json!("a b")), at(op_field)),
            ("empty operation id", op(json!("")), at(op_field)),
            (
                "operation id too long",
                op(json!("x".repeat(256))),
                at(op_field),
            ),
            ("operation id not a string", op(json!(12)), at(op_field)),
            ("operation id charset", op(json!("op_1.a:b-C")), Pass),
            (
                "operation id at the bound",
                op(json!("x".repeat(255))),
                Pass,
            ),
            (
                "token too short",
                token(json!("x".repeat(15))),
                at(token_field),
            ),
            (
                "token too long",
                token(json!("x".repeat(4097))),
                at(token_field),
            ),
            ("token not a string", token(json!(["x"])), at(token_field)),
            (
                "token at the lower bound",
                token(json!("x".repeat(16))),
                Pass,
            ),
            (
                "token at the upper bound, in characters",
                token(json!("é".repeat(4096))),
                Pass,
            ),
        ]),
        &config(),
    );
}

#[test]
fn push_config_legacy_authentication() {
    let auth = |schemes: Value, credentials: Value| json!({ "url": "https://b.example/h", "authentication": { "schemes": schemes, "credentials": credentials } });
    let secret = json!("0123456789abcdef0123456789abcdef");
    let schemes = "push_notification_config.authentication.schemes";
    let credentials = "push_notification_config.authentication.credentials";
    run(
        with_push(&[
            (
                "two schemes",
                auth(json!(["Bearer", "HMAC-SHA256"]), secret.clone()),
                at(schemes),
            ),
            ("no schemes", auth(json!([]), secret.clone()), at(schemes)),
            (
                "unknown scheme",
                auth(json!(["Basic"]), secret.clone()),
                at("push_notification_config.authentication.schemes[0]"),
            ),
            (
                "schemes not a list",
                auth(json!("Bearer"), secret.clone()),
                at(schemes),
            ),
            (
                "scheme not a string",
                auth(json!([1]), secret.clone()),
                at(schemes),
            ),
            (
                "short credentials",
                auth(json!(["Bearer"]), json!("x".repeat(31))),
                at(credentials),
            ),
            (
                "credentials not a string",
                auth(json!(["Bearer"]), json!(32)),
                at(credentials),
            ),
            (
                "credentials missing",
                json!({ "url": "https://b.example/", "authentication": { "schemes": ["Bearer"] } }),
                at(credentials),
            ),
            (
                "authentication not an object",
                json!({ "url": "https://b.example/", "authentication": "Bearer" }),
                at("push_notification_config.authentication"),
            ),
            ("bearer", auth(json!(["Bearer"]), secret.clone()), Pass),
            ("hmac", auth(json!(["HMAC-SHA256"]), secret), Pass),
        ]),
        &config(),
    );
}

#[test]
fn admitted_reports_push_config() {
    for (tool, base) in bases() {
        let request = with(base, "push_notification_config", push());
        assert!(
            pre_dispatch(&config(), tool, &request)
                .unwrap()
                .has_push_config()
        );
    }
}

#[test]
fn push_url_ip_literals_in_blocked_ranges() {
    let url = |url: &str| json!({ "url": url });
    let blocked = at("push_notification_config.url");
    let dev = GuardConfig::new()
        .with_webhook_delivery(true)
        .allow_insecure_http_host("127.0.0.1")
        .unwrap()
        .allow_insecure_http_host("localhost")
        .unwrap()
        .allow_insecure_http_host("::1")
        .unwrap()
        .allow_insecure_http_host("10.0.0.1")
        .unwrap();
    let table = [
        ("private v4", url("https://10.0.0.1/h"), blocked),
        (
            "cloud metadata",
            url("https://169.254.169.254/latest/meta-data"),
            blocked,
        ),
        (
            "metadata, shorthand v4",
            url("https://0xa9fea9fe/"),
            blocked,
        ),
        ("shared address space", url("https://100.64.0.1/h"), blocked),
        (
            "mapped private",
            url("https://[::ffff:10.0.0.1]/h"),
            blocked,
        ),
        (
            "nat64 local-use",
            url("https://[64:ff9b:1::a00:1]/h"),
            blocked,
        ),
        (
            "nat64 well-known private",
            url("https://[64:ff9b::a9fe:a9fe]/h"),
            blocked,
        ),
        ("ietf protocol block", url("https://[2001::1]/h"), blocked),
        (
            "teredo",
            url("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/h"),
            blocked,
        ),
        (
            "ipv4-translated",
            url("https://[::ffff:0:a00:1]/h"),
            blocked,
        ),
        ("unique local", url("https://[fd00:ec2::254]/h"), blocked),
        // Whatever the scheme, and even when the literal is on the http allow-list: the
        // sender could never reach it.
        (
            "http to a listed private literal",
            url("http://10.0.0.1/h"),
            blocked,
        ),
        ("wss to a private literal", url("wss://10.0.0.1/h"), blocked),
        (
            "mapped loopback, not listed",
            url("https://[::ffff:127.0.0.1]/h"),
            blocked,
        ),
        ("public v4 literal", url("https://93.184.216.34/h"), Pass),
        (
            "public v6 literal",
            url("https://[2606:2800:220:1:248:1893:25c8:1946]/h"),
            Pass,
        ),
        (
            "mapped public",
            url("https://[::ffff:93.184.216.34]/h"),
            Pass,
        ),
        (
            "listed loopback over http",
            url("http://127.0.0.1:3900/h"),
            Pass,
        ),
        (
            "listed loopback over https",
            url("https://127.0.0.1:3900/h"),
            Pass,
        ),
        ("listed v6 loopback", url("http://[::1]:3900/h"), Pass),
        ("listed localhost", url("http://localhost:3900/h"), Pass),
    ];
    run(with_push(&table), &dev);
    // Without the allow-list entry, a loopback literal is as unreachable as any other.
    run(
        with_push(&[("loopback, not listed", url("https://127.0.0.1/h"), blocked)]),
        &GuardConfig::new().with_webhook_delivery(true),
    );
}

#[test]
fn messages_never_echo_secrets() {
    let token = "SECRETTOKEN42";
    let credentials = "SECRETCREDENTIALS-0123456789abcdef0123";
    let url_secret = "SECRETQUERY77";
    let pushes = [
        json!({ "url": "https://b.example/", "token": token }),
        json!({ "url": "https://b.example/", "authentication": { "schemes": ["Basic"], "credentials": credentials } }),
        json!({ "url": "https://b.example/", "authentication": { "schemes": ["Bearer", "Bearer"], "credentials": credentials } }),
        json!({ "url": format!("http://b.example/?k={url_secret}") }),
        json!({ "url": format!("https://u:{url_secret}@b.example/") }),
        json!({ "url": format!("{url_secret} not a url") }),
        json!({ "url": format!("https://b.example/{url_secret}"), "operation_id": "bad id" }),
        json!({ "url": format!("https://169.254.169.254/latest?k={url_secret}") }),
    ];
    for push in pushes {
        let request = json!({ "buying_mode": "brief", "push_notification_config": push });
        let rejection = pre_dispatch(&config(), PRODUCTS, &request).unwrap_err();
        let wire = common::wire(&rejection);
        for secret in [token, credentials, url_secret] {
            assert!(!wire.contains(secret), "{wire}");
        }
    }
}
