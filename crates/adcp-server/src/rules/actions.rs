//! The actions a buyer can take on a media buy right now: `available_actions[]` (and the legacy
//! `valid_actions[]`) resolved from the products' `allowed_actions[]` templates and the buy's
//! status, and the `ACTION_NOT_ALLOWED` answer for a mutation outside them.

use adcp_types::generated::{
    MediaBuyActionMode, MediaBuyAvailableAction, MediaBuyStatus, MediaBuyValidAction, Product,
    ProductAllowedAction,
};
use adcp_types::{AdcpError, Recovery, codes};
use serde_json::json;

/// The statuses in which a buy can no longer change: nothing is available in them (updating "a
/// completed or canceled media buy" is `INVALID_STATE`, and a rejected buy never started).
const TERMINAL: [MediaBuyStatus; 3] = [
    MediaBuyStatus::Completed,
    MediaBuyStatus::Rejected,
    MediaBuyStatus::Canceled,
];

/// Whether the protocol's state machine allows `action` in `status`, whatever a product says:
/// nothing in a terminal status, `resume` only when paused, `pause` never when already paused.
fn state_allows(action: MediaBuyValidAction, status: MediaBuyStatus) -> bool {
    if TERMINAL.contains(&status) {
        return false;
    }
    match action {
        MediaBuyValidAction::Resume => status == MediaBuyStatus::Paused,
        MediaBuyValidAction::Pause => status != MediaBuyStatus::Paused,
        _ => true,
    }
}

/// Whether a product template entry permits its action in `status`: "When absent, the action is
/// permitted in all non-terminal statuses".
fn template_allows(entry: &ProductAllowedAction, status: MediaBuyStatus) -> bool {
    entry
        .allowed_statuses
        .as_deref()
        .is_none_or(|statuses| statuses.contains(&status))
}

/// The single mode in effect for a template's `modes[]`: the one listed, or
/// `conditional_self_serve` when several are ("Seller auto-approves within declared tolerances
/// and escalates outside them" — what a product offering both a self-serve and an approval
/// path means while the mutation is not yet known).
fn resolved_mode(modes: &[MediaBuyActionMode]) -> MediaBuyActionMode {
    match modes {
        [single] => *single,
        [first, rest @ ..] if rest.iter().all(|m| m == first) => *first,
        [] => MediaBuyActionMode::RequiresApproval,
        _ => MediaBuyActionMode::ConditionalSelfServe,
    }
}

/// How restrictive a mode is, for combining products.
fn strictness(mode: MediaBuyActionMode) -> u8 {
    match mode {
        MediaBuyActionMode::SelfServe => 0,
        MediaBuyActionMode::ConditionalSelfServe => 1,
        MediaBuyActionMode::RequiresApproval => 2,
    }
}

/// One product's action template: its `allowed_actions[]`, or, when it declares none ("Absence
/// means the seller has not declared a structured action surface for this product"), the
/// seller's `fallback` actions, self-serve in every non-terminal status.
fn template(product: &Product, fallback: &[MediaBuyValidAction]) -> Vec<ProductAllowedAction> {
    product.allowed_actions.clone().unwrap_or_else(|| {
        fallback
            .iter()
            .map(|action| ProductAllowedAction {
                action: *action,
                allowed_statuses: None,
                modes: vec![MediaBuyActionMode::SelfServe],
                sla: None,
                terms_ref: None,
            })
            .collect()
    })
}

/// Resolves the `available_actions[]` of a buy in `status` whose packages buy `products`.
///
/// Guarantees: uniquely keyed by `action` ("sellers MUST NOT emit two entries with the same
/// `action` value"), in the order of the first product's template; empty in a terminal status.
/// An action is available when every product's template permits it in `status` and the state
/// machine allows it (no `pause` while paused, `resume` only while paused). Its `mode` is the
/// strictest of the products' resolved modes (a product listing several `modes[]` resolves to
/// `conditional_self_serve`), and its `sla` and `terms_ref` come from the product that set that
/// mode. A product without `allowed_actions[]` contributes `fallback`, self-serve.
pub fn available_actions<'a>(
    products: impl IntoIterator<Item = &'a Product>,
    status: MediaBuyStatus,
    fallback: &[MediaBuyValidAction],
) -> Vec<MediaBuyAvailableAction> {
    let templates: Vec<Vec<ProductAllowedAction>> = products
        .into_iter()
        .map(|product| template(product, fallback))
        .collect();
    let Some((first, others)) = templates.split_first() else {
        return Vec::new();
    };
    let mut out: Vec<MediaBuyAvailableAction> = Vec::new();
    for entry in first {
        if out.iter().any(|a| a.action == entry.action)
            || !state_allows(entry.action, status)
            || !template_allows(entry, status)
        {
            continue;
        }
        let mut chosen = entry;
        let mut permitted = true;
        for other in others {
            match other.iter().find(|e| e.action == entry.action) {
                Some(e) if template_allows(e, status) => {
                    if strictness(resolved_mode(&e.modes))
                        > strictness(resolved_mode(&chosen.modes))
                    {
                        chosen = e;
                    }
                }
                _ => permitted = false,
            }
        }
        if permitted {
            out.push(MediaBuyAvailableAction {
                action: entry.action,
                mode: resolved_mode(&chosen.modes),
                sla: chosen.sla.clone(),
                terms_ref: chosen.terms_ref.clone(),
            });
        }
    }
    out
}

/// The legacy flat `valid_actions[]` for `available`: the same actions, in the same order
/// ("Sellers SHOULD populate both during the 3.x deprecation window").
pub fn valid_actions(available: &[MediaBuyAvailableAction]) -> Vec<MediaBuyValidAction> {
    available.iter().map(|a| a.action).collect()
}

/// Checks that `action`, which a direct (synchronous) `update_media_buy` maps to, may be
/// applied now to a buy in `status` whose packages buy `products`, and returns its resolved
/// entry.
///
/// Fails with `ACTION_NOT_ALLOWED` whose `details` carry `attempted_action`, `reason` and
/// `currently_available_actions` (`error-details/action-not-allowed.json`):
/// - `not_supported_on_product` (recovery `terminal`: "Terminal-for-this-buy") when a product's
///   template does not declare the action;
/// - `wrong_status` (`correctable`) when every template declares it but the buy's status does
///   not permit it;
/// - `mode_mismatch` (`correctable`) when it is available only as `requires_approval`, which a
///   direct update does not satisfy.
///
/// A seller that routes `requires_approval` actions through an approval task instead checks
/// `available_actions` itself for those.
pub fn check_action<'a>(
    products: impl IntoIterator<Item = &'a Product> + Clone,
    status: MediaBuyStatus,
    fallback: &[MediaBuyValidAction],
    action: MediaBuyValidAction,
) -> Result<MediaBuyAvailableAction, AdcpError> {
    let available = available_actions(products.clone(), status, fallback);
    let refuse = |reason: &str, recovery: Recovery, message: String| {
        AdcpError::new(codes::ACTION_NOT_ALLOWED, message)
            .with_recovery(recovery)
            .with_detail("attempted_action", json!(action))
            .with_detail("reason", json!(reason))
            .with_detail("currently_available_actions", json!(available))
    };
    if let Some(entry) = available.iter().find(|a| a.action == action) {
        if entry.mode == MediaBuyActionMode::RequiresApproval {
            return Err(refuse(
                "mode_mismatch",
                Recovery::Correctable,
                format!("`{action}` on this media buy requires the seller's approval"),
            ));
        }
        return Ok(entry.clone());
    }
    let declared = products.into_iter().all(|product| {
        template(product, fallback)
            .iter()
            .any(|e| e.action == action)
    });
    if declared {
        Err(refuse(
            "wrong_status",
            Recovery::Correctable,
            format!("`{action}` is not available while the media buy is {status}"),
        ))
    } else {
        Err(refuse(
            "not_supported_on_product",
            Recovery::Terminal,
            format!("the product does not support `{action}`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::test_support::product;
    use serde_json::{Value, json};

    /// The available_actions storyboard's product.
    fn templated() -> Product {
        product(
            json!({"product_id": "available_actions_display", "allowed_actions": [
                {"action": "increase_budget", "modes": ["self_serve"],
                 "sla": {"response_max": "PT5M", "completion_max": "PT1H"}},
                {"action": "extend_flight", "modes": ["requires_approval"],
                 "sla": {"response_max": "PT4H", "completion_max": "P2D"},
                 "terms_ref": "terms://available-actions/extension"},
                {"action": "cancel", "modes": ["requires_approval"]},
                {"action": "decrease_budget", "modes": ["self_serve"], "allowed_statuses": ["active"]}
            ]}),
        )
    }

    fn actions(available: &[MediaBuyAvailableAction]) -> Vec<String> {
        valid_actions(available)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_product_template_resolves_against_the_buys_status() {
        let product = templated();
        let pending = available_actions([&product], MediaBuyStatus::PendingCreatives, &[]);
        assert_eq!(
            actions(&pending),
            ["increase_budget", "extend_flight", "cancel"]
        );
        assert_eq!(pending[0].mode, MediaBuyActionMode::SelfServe);
        assert_eq!(
            serde_json::to_value(&pending[0].sla).unwrap(),
            json!({"response_max": "PT5M", "completion_max": "PT1H"})
        );
        assert_eq!(
            pending[1].terms_ref.as_deref(),
            Some("terms://available-actions/extension")
        );
        let active = available_actions([&product], MediaBuyStatus::Active, &[]);
        assert_eq!(
            actions(&active),
            [
                "increase_budget",
                "extend_flight",
                "cancel",
                "decrease_budget"
            ]
        );
    }

    #[test]
    fn nothing_is_available_in_a_terminal_status() {
        let product = templated();
        for status in TERMINAL {
            assert!(available_actions([&product], status, &[]).is_empty());
        }
    }

    #[test]
    fn pause_and_resume_follow_the_state_machine() {
        let fallback = [
            MediaBuyValidAction::Pause,
            MediaBuyValidAction::Resume,
            MediaBuyValidAction::Cancel,
        ];
        let plain = product(json!({}));
        let active = available_actions([&plain], MediaBuyStatus::Active, &fallback);
        assert_eq!(actions(&active), ["pause", "cancel"]);
        let paused = available_actions([&plain], MediaBuyStatus::Paused, &fallback);
        assert_eq!(actions(&paused), ["resume", "cancel"]);
        assert!(
            paused
                .iter()
                .all(|a| a.mode == MediaBuyActionMode::SelfServe)
        );
    }

    #[test]
    fn a_buy_over_several_products_gets_the_common_actions_in_the_strictest_mode() {
        let first = templated();
        let second = product(json!({"allowed_actions": [
            {"action": "increase_budget", "modes": ["self_serve", "requires_approval"]},
            {"action": "cancel", "modes": ["self_serve"]}
        ]}));
        let available = available_actions([&first, &second], MediaBuyStatus::Active, &[]);
        assert_eq!(actions(&available), ["increase_budget", "cancel"]);
        assert_eq!(available[0].mode, MediaBuyActionMode::ConditionalSelfServe);
        assert_eq!(available[0].sla, None);
        assert_eq!(available[1].mode, MediaBuyActionMode::RequiresApproval);
    }

    #[test]
    fn a_self_serve_action_is_allowed() {
        let product = templated();
        let entry = check_action(
            [&product],
            MediaBuyStatus::PendingCreatives,
            &[],
            MediaBuyValidAction::IncreaseBudget,
        )
        .unwrap();
        assert_eq!(entry.mode, MediaBuyActionMode::SelfServe);
    }

    fn details(error: &AdcpError) -> &serde_json::Map<String, Value> {
        error.details.as_ref().unwrap()
    }

    #[test]
    fn an_approval_routed_action_is_a_correctable_mode_mismatch() {
        let product = templated();
        let error = check_action(
            [&product],
            MediaBuyStatus::PendingCreatives,
            &[],
            MediaBuyValidAction::ExtendFlight,
        )
        .unwrap_err();
        assert_eq!(error.code, codes::ACTION_NOT_ALLOWED);
        assert_eq!(error.recovery, Recovery::Correctable);
        assert_eq!(details(&error)["attempted_action"], json!("extend_flight"));
        assert_eq!(details(&error)["reason"], json!("mode_mismatch"));
        let current = details(&error)["currently_available_actions"]
            .as_array()
            .unwrap();
        assert!(current.contains(
            &json!({"action": "extend_flight", "mode": "requires_approval",
            "sla": {"response_max": "PT4H", "completion_max": "P2D"},
            "terms_ref": "terms://available-actions/extension"})
        ));
    }

    #[test]
    fn a_declared_action_outside_its_statuses_is_a_correctable_wrong_status() {
        let product = templated();
        let error = check_action(
            [&product],
            MediaBuyStatus::PendingCreatives,
            &[],
            MediaBuyValidAction::DecreaseBudget,
        )
        .unwrap_err();
        assert_eq!(details(&error)["reason"], json!("wrong_status"));
        assert_eq!(error.recovery, Recovery::Correctable);
    }

    #[test]
    fn an_undeclared_action_is_terminal_not_supported_on_product() {
        let product = templated();
        let error = check_action(
            [&product],
            MediaBuyStatus::PendingCreatives,
            &[],
            MediaBuyValidAction::Pause,
        )
        .unwrap_err();
        assert_eq!(details(&error)["attempted_action"], json!("pause"));
        assert_eq!(details(&error)["reason"], json!("not_supported_on_product"));
        assert_eq!(error.recovery, Recovery::Terminal);
        let current = details(&error)["currently_available_actions"]
            .as_array()
            .unwrap();
        assert!(
            current
                .iter()
                .any(|a| a["action"] == json!("increase_budget"))
        );
    }

    #[test]
    fn pausing_a_paused_buy_is_wrong_status() {
        let product = product(json!({}));
        let error = check_action(
            [&product],
            MediaBuyStatus::Paused,
            &[MediaBuyValidAction::Pause],
            MediaBuyValidAction::Pause,
        )
        .unwrap_err();
        assert_eq!(details(&error)["reason"], json!("wrong_status"));
    }
}
