//! The names of the rules and the moments they run at, and the rejection a rule produces.
//!
//! Names are stable: they appear in logs and metrics and in the crate docs' table, so renaming
//! one is a breaking change.

use std::fmt;

use adcp_types::{AdcpError, Recovery};

/// When, in the life of one request, a rule runs.
///
/// Each entry point of this crate runs exactly the rules of one moment, so a server cannot apply
/// a rule before the facts it needs exist (an account) or after the side effect it prevents (a
/// task row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Moment {
    /// After the request is decoded, before account resolution; the platform is never called.
    PreDispatch,
    /// Right after account resolution, before any task exists.
    AfterAccountResolution,
    /// The moment the platform returned a handoff, before any registry row, background task,
    /// draft or webhook.
    PreHandoff,
    /// After the platform returned a synchronous result, before it reaches the buyer.
    PostDispatch,
}

impl Moment {
    /// Every moment, in the order a request passes through them.
    pub const ALL: &'static [Moment] = &[
        Self::PreDispatch,
        Self::AfterAccountResolution,
        Self::PreHandoff,
        Self::PostDispatch,
    ];

    /// A stable snake_case name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::PreDispatch => "pre_dispatch",
            Self::AfterAccountResolution => "after_account_resolution",
            Self::PreHandoff => "pre_handoff",
            Self::PostDispatch => "post_dispatch",
        }
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rejection rule. See the crate docs for the table of conditions and fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The request arguments are not a JSON object.
    RequestNotObject,
    /// A field some rule reads has the wrong JSON type or an unknown enum value.
    MalformedField,
    /// get_products `buying_mode: refine` without a non-empty `refine[]`.
    RefineWithoutEntries,
    /// get_products `refine[]` while `buying_mode` is not `refine`.
    RefineEntriesOutsideRefineMode,
    /// get_products `brief` while `buying_mode` is `wholesale` or `refine`.
    BriefOutsideBriefMode,
    /// get_products `refine[]` mixes a finalize entry with anything but proposal-scoped
    /// finalize entries.
    RefineFinalizeNotExclusive,
    /// get_signals brief mode without `signal_spec`, `signal_refs` or `signal_ids`.
    SignalsBriefWithoutSelector,
    /// get_signals wholesale mode with `signal_spec`, `signal_refs` or `signal_ids`.
    SignalsSelectorInWholesale,
    /// `if_pricing_version` without `if_wholesale_feed_version`.
    PricingVersionWithoutFeedVersion,
    /// `if_wholesale_feed_version` or `if_pricing_version` outside wholesale mode.
    FeedVersionOutsideWholesale,
    /// Wholesale discovery carrying `push_notification_config`.
    WholesaleWithPushConfig,
    /// `push_notification_config` while the server has no webhook delivery wired.
    PushConfigWithoutDelivery,
    /// A `push_notification_config` that breaks the URL, operation id, token or legacy
    /// authentication constraints.
    PushConfigInvalid,
    /// `push_notification_config` while the resolved account is absent or a placeholder.
    PushConfigWithUnresolvedAccount,
    /// The platform returned a handoff for a wholesale discovery request.
    WholesaleHandoff,
    /// The platform returned a handoff while the resolved account is absent or a placeholder.
    HandoffWithUnresolvedAccount,
    /// The platform returned a `submitted`/`working` envelope it built itself instead of
    /// handing off.
    HandRolledAsyncEnvelope,
}

impl Rule {
    /// Every rule, grouped by moment in request order.
    pub const ALL: &'static [Rule] = &[
        Self::RequestNotObject,
        Self::MalformedField,
        Self::RefineWithoutEntries,
        Self::RefineEntriesOutsideRefineMode,
        Self::BriefOutsideBriefMode,
        Self::RefineFinalizeNotExclusive,
        Self::SignalsBriefWithoutSelector,
        Self::SignalsSelectorInWholesale,
        Self::PricingVersionWithoutFeedVersion,
        Self::FeedVersionOutsideWholesale,
        Self::WholesaleWithPushConfig,
        Self::PushConfigWithoutDelivery,
        Self::PushConfigInvalid,
        Self::PushConfigWithUnresolvedAccount,
        Self::WholesaleHandoff,
        Self::HandoffWithUnresolvedAccount,
        Self::HandRolledAsyncEnvelope,
    ];

    /// The stable snake_case name used in logs, metrics and the crate docs.
    pub const fn name(self) -> &'static str {
        match self {
            Self::RequestNotObject => "request_not_object",
            Self::MalformedField => "malformed_field",
            Self::RefineWithoutEntries => "refine_without_entries",
            Self::RefineEntriesOutsideRefineMode => "refine_entries_outside_refine_mode",
            Self::BriefOutsideBriefMode => "brief_outside_brief_mode",
            Self::RefineFinalizeNotExclusive => "refine_finalize_not_exclusive",
            Self::SignalsBriefWithoutSelector => "signals_brief_without_selector",
            Self::SignalsSelectorInWholesale => "signals_selector_in_wholesale",
            Self::PricingVersionWithoutFeedVersion => "pricing_version_without_feed_version",
            Self::FeedVersionOutsideWholesale => "feed_version_outside_wholesale",
            Self::WholesaleWithPushConfig => "wholesale_with_push_config",
            Self::PushConfigWithoutDelivery => "push_config_without_delivery",
            Self::PushConfigInvalid => "push_config_invalid",
            Self::PushConfigWithUnresolvedAccount => "push_config_with_unresolved_account",
            Self::WholesaleHandoff => "wholesale_handoff",
            Self::HandoffWithUnresolvedAccount => "handoff_with_unresolved_account",
            Self::HandRolledAsyncEnvelope => "hand_rolled_async_envelope",
        }
    }

    /// The one moment this rule runs at.
    pub const fn moment(self) -> Moment {
        match self {
            Self::RequestNotObject
            | Self::MalformedField
            | Self::RefineWithoutEntries
            | Self::RefineEntriesOutsideRefineMode
            | Self::BriefOutsideBriefMode
            | Self::RefineFinalizeNotExclusive
            | Self::SignalsBriefWithoutSelector
            | Self::SignalsSelectorInWholesale
            | Self::PricingVersionWithoutFeedVersion
            | Self::FeedVersionOutsideWholesale
            | Self::WholesaleWithPushConfig
            | Self::PushConfigWithoutDelivery
            | Self::PushConfigInvalid => Moment::PreDispatch,
            Self::PushConfigWithUnresolvedAccount => Moment::AfterAccountResolution,
            Self::WholesaleHandoff | Self::HandoffWithUnresolvedAccount => Moment::PreHandoff,
            Self::HandRolledAsyncEnvelope => Moment::PostDispatch,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule rejected the request: the rule's name for logs, and the wire error for the buyer.
///
/// Guarantees: the error's code is `INVALID_REQUEST` and its recovery `correctable`; its message
/// never contains a push token, legacy credentials or the webhook URL the buyer sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("guard `{rule}` rejected the request: {error}")]
pub struct Rejection {
    rule: Rule,
    /// Boxed: the wire error is large and rejections travel through many `Result`s.
    error: Box<AdcpError>,
}

impl Rejection {
    /// A rejection by `rule` with `message`, pointing at `field` when the rule names one.
    pub(crate) fn new(rule: Rule, message: impl Into<String>, field: Option<String>) -> Self {
        // The recovery is pinned here so the guarantee does not depend on the code table.
        let mut error = AdcpError::invalid_request(message).with_recovery(Recovery::Correctable);
        if let Some(field) = field {
            error = error.with_field(field);
        }
        Self {
            rule,
            error: Box::new(error),
        }
    }

    /// The rule that fired.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The wire error to send to the buyer.
    pub fn error(&self) -> &AdcpError {
        &self.error
    }

    /// The wire error, by value.
    pub fn into_error(self) -> AdcpError {
        *self.error
    }
}

impl From<Rejection> for AdcpError {
    fn from(rejection: Rejection) -> Self {
        *rejection.error
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn rule_names_are_unique_snake_case() {
        let names: HashSet<_> = Rule::ALL.iter().map(|rule| rule.name()).collect();
        assert_eq!(names.len(), Rule::ALL.len());
        for name in names {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
    }

    #[test]
    fn all_lists_rules_in_moment_order() {
        let moments: Vec<_> = Rule::ALL.iter().map(|rule| rule.moment()).collect();
        let order = |m: &Moment| Moment::ALL.iter().position(|x| x == m);
        assert!(moments.windows(2).all(|w| order(&w[0]) <= order(&w[1])));
    }

    #[test]
    fn rejection_converts_into_the_wire_error() {
        let rejection = Rejection::new(
            Rule::PushConfigInvalid,
            "bad",
            Some("push_notification_config".into()),
        );
        let error: AdcpError = rejection.clone().into();
        assert_eq!(error.code, "INVALID_REQUEST");
        assert_eq!(error.recovery, Recovery::Correctable);
        assert_eq!(error.field.as_deref(), Some("push_notification_config"));
        assert_eq!(rejection.rule(), Rule::PushConfigInvalid);
    }
}
