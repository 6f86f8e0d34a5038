//! The rules after pre-dispatch: account resolution, pre-handoff and post-dispatch, as tables for
//! get_products, get_signals and a non-discovery tool.

use crate::common;

use adcp_guards::{AccountChecked, DispatchOutcome, Rule, account_is_resolved, pre_dispatch};
use common::{Expect, check, config};
use serde_json::{Value, json};

use Expect::{Pass, Reject};

const UNRESOLVED: [Option<&str>; 5] = [
    None,
    Some(""),
    Some("   "),
    Some("<unset>"),
    Some(" <unset> "),
];

fn push() -> Value {
    json!({ "url": "https://buyer.example/hooks", "operation_id": "op-9" })
}

/// Brief-mode requests of each discovery verb and one other tool, with or without push config.
fn async_capable_requests(with_push: bool) -> Vec<(&'static str, Value)> {
    let mut requests = vec![
        (
            "get_products",
            json!({ "buying_mode": "brief", "brief": "b" }),
        ),
        (
            "get_products",
            json!({ "buying_mode": "refine", "refine": [{ "scope": "request", "ask": "a" }] }),
        ),
        ("get_signals", json!({ "signal_spec": "s" })),
        ("create_media_buy", json!({ "buyer_ref": "r" })),
    ];
    if with_push {
        for (_, request) in &mut requests {
            request["push_notification_config"] = push();
        }
    }
    requests
}

fn wholesale_requests() -> [(&'static str, Value); 2] {
    [
        ("get_products", json!({ "buying_mode": "wholesale" })),
        ("get_signals", json!({ "discovery_mode": "wholesale" })),
    ]
}

fn checked(tool: &str, request: &Value, account: Option<&str>) -> AccountChecked {
    pre_dispatch(&config(), tool, request)
        .expect("the fixture passes pre-dispatch")
        .after_account_resolution(account)
        .expect("the fixture has no push config, so any account passes")
}

#[test]
fn account_resolution_recognises_placeholders() {
    for account in UNRESOLVED {
        assert!(!account_is_resolved(account), "{account:?}");
    }
    for account in ["acct_1", "a", "<unset>x", "brand.example:operator.example"] {
        assert!(account_is_resolved(Some(account)), "{account}");
    }
}

#[test]
fn push_config_with_unresolved_account() {
    let reject = Reject(Rule::PushConfigWithUnresolvedAccount, Some("account"));
    for (tool, request) in async_capable_requests(true) {
        let admitted = pre_dispatch(&config(), tool, &request).unwrap();
        for account in UNRESOLVED {
            let case = format!("{tool} push, account {account:?}");
            check(
                &case,
                admitted.clone().after_account_resolution(account),
                reject,
            );
        }
        check(
            &format!("{tool} push, resolved"),
            admitted.after_account_resolution(Some("acct")),
            Pass,
        );
    }
    // Without push config, an unresolved account is fine until something hands off.
    for (tool, request) in async_capable_requests(false) {
        let admitted = pre_dispatch(&config(), tool, &request).unwrap();
        for account in UNRESOLVED {
            let case = format!("{tool} no push, account {account:?}");
            check(
                &case,
                admitted.clone().after_account_resolution(account),
                Pass,
            );
        }
    }
}

#[test]
fn wholesale_handoff() {
    for (tool, request) in wholesale_requests() {
        let field = if tool == "get_products" {
            "buying_mode"
        } else {
            "discovery_mode"
        };
        // The wholesale rule comes first, whatever the account.
        for account in [Some("acct"), None] {
            let checked = checked(tool, &request, account);
            check(
                &format!("{tool} wholesale handoff, account {account:?}"),
                checked.pre_handoff(),
                Reject(Rule::WholesaleHandoff, Some(field)),
            );
            // A synchronous wholesale answer is what the protocol asks for.
            let products = json!({ "products": [], "incomplete": [{ "scope": "products" }] });
            check(
                &format!("{tool} wholesale sync"),
                checked.post_dispatch(DispatchOutcome::Sync(&products)),
                Pass,
            );
        }
    }
    for (tool, request) in async_capable_requests(false) {
        check(
            &format!("{tool} handoff"),
            checked(tool, &request, Some("acct")).pre_handoff(),
            Pass,
        );
    }
}

#[test]
fn handoff_with_unresolved_account() {
    let reject = Reject(Rule::HandoffWithUnresolvedAccount, Some("account"));
    for (tool, request) in async_capable_requests(false) {
        for account in UNRESOLVED {
            let checked = checked(tool, &request, account);
            assert!(!checked.account_resolved());
            check(
                &format!("{tool} handoff, account {account:?}"),
                checked.pre_handoff(),
                reject,
            );
        }
        let resolved = checked(tool, &request, Some("acct"));
        assert!(resolved.account_resolved());
        check(
            &format!("{tool} handoff, resolved"),
            resolved.pre_handoff(),
            Pass,
        );
    }
}

#[test]
fn hand_rolled_async_envelope() {
    let reject = Reject(Rule::HandRolledAsyncEnvelope, None);
    let refused = [
        json!({ "task_id": "task_1", "status": "submitted" }),
        json!({ "status": "submitted" }),
        json!({ "task_id": "task_1", "status": "working", "percentage": 10 }),
        json!({ "status": "submitted", "products": [] }),
    ];
    let accepted = [
        json!({ "products": [] }),
        json!({ "signals": [], "status": "completed" }),
        json!({ "status": "input-required", "reason": "CLARIFICATION_NEEDED" }),
        json!({ "status": 5 }),
        json!({ "status": "Submitted" }),
        json!([{ "status": "submitted" }]),
        json!("submitted"),
        Value::Null,
    ];
    for (tool, request) in async_capable_requests(false) {
        let checked = checked(tool, &request, Some("acct"));
        for result in &refused {
            check(
                &format!("{tool} sync {result}"),
                checked.post_dispatch(DispatchOutcome::Sync(result)),
                reject,
            );
        }
        for result in &accepted {
            check(
                &format!("{tool} sync {result}"),
                checked.post_dispatch(DispatchOutcome::Sync(result)),
                Pass,
            );
        }
        check(
            &format!("{tool} handoff"),
            checked.post_dispatch(DispatchOutcome::Handoff),
            Pass,
        );
    }
    // The polling tools report task statuses by design.
    for tool in ["get_task_status", "list_tasks", "tasks/get"] {
        let checked = checked(tool, &json!({ "task_id": "task_1" }), Some("acct"));
        let status =
            json!({ "task_id": "task_1", "task_type": "get_products", "status": "working" });
        check(
            tool,
            checked.post_dispatch(DispatchOutcome::Sync(&status)),
            Pass,
        );
    }
}

#[test]
fn hand_rolled_message_points_at_handoff_to_task() {
    let checked = checked("get_signals", &json!({ "signal_spec": "s" }), Some("acct"));
    let result = json!({ "task_id": "t", "status": "submitted" });
    let rejection = checked
        .post_dispatch(DispatchOutcome::Sync(&result))
        .unwrap_err();
    assert!(rejection.error().message.contains("handoff_to_task"));
}

#[test]
fn rules_fire_only_at_their_moment() {
    // A request that breaks a later rule passes every earlier moment untouched.
    let request = json!({ "buying_mode": "wholesale" });
    let admitted = pre_dispatch(&config(), "get_products", &request).unwrap();
    let checked = admitted.after_account_resolution(None).unwrap();
    let rejection = checked.pre_handoff().unwrap_err();
    assert_eq!(rejection.rule().moment(), adcp_guards::Moment::PreHandoff);
}
