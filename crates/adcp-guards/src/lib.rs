//! # adcp-guards
//!
//! The rejection rules an AdCP seller applies to discovery (`get_products`, `get_signals`), push
//! notification registrations and async work, as pure functions: no I/O, no async, no state.
//!
//! The rules exist because some requests look valid field by field but cannot be honoured: a
//! wholesale read that asks for a webhook (wholesale is always synchronous), a webhook the seller
//! cannot deliver, a task without an account to own it, or a platform that builds a `submitted`
//! envelope by hand so that no buyer could ever poll it.
//!
//! ## Moments
//!
//! A server calls the rules at four moments, and the types make the order the only possible
//! one: [`pre_dispatch`] returns an [`Admitted`] request; only
//! [`Admitted::after_account_resolution`] turns it into an [`AccountChecked`] one; only that
//! offers [`AccountChecked::pre_handoff`] and [`AccountChecked::post_dispatch`].
//!
//! ```
//! use adcp_guards::{DispatchOutcome, GuardConfig, Rule, pre_dispatch};
//! use serde_json::json;
//!
//! let config = GuardConfig::new().with_webhook_delivery(true);
//! let request = json!({
//!     "buying_mode": "brief",
//!     "brief": "Outdoor video for a fall campaign",
//!     "push_notification_config": { "url": "https://buyer.example/hooks", "operation_id": "op-1" },
//! });
//! let checked = pre_dispatch(&config, "get_products", &request)?
//!     .after_account_resolution(Some("acct_42"))?;
//! // The platform handed off: check before creating the task.
//! checked.pre_handoff()?;
//! // A platform that hand-rolls the submitted arm is refused.
//! let hand_rolled = json!({ "task_id": "t", "status": "submitted" });
//! let rejection = checked.post_dispatch(DispatchOutcome::Sync(&hand_rolled)).unwrap_err();
//! assert_eq!(rejection.rule(), Rule::HandRolledAsyncEnvelope);
//! # Ok::<(), adcp_guards::Rejection>(())
//! ```
//!
//! ## Rules
//!
//! Every rejection is a [`Rejection`]: the [`Rule`] that fired (its stable name below) and an
//! [`adcp_types::AdcpError`] with code `INVALID_REQUEST` and recovery `correctable`. The "mode"
//! is `buying_mode` for get_products (brief, wholesale, refine) and `discovery_mode` for
//! get_signals (brief, wholesale); a missing or `null` mode means brief. A field that is absent
//! or `null` counts as absent throughout.
//!
//! | rule | moment | condition | code | recovery | field |
//! |---|---|---|---|---|---|
//! | `request_not_object` | pre-dispatch | the request arguments are not a JSON object | `INVALID_REQUEST` | correctable | none |
//! | `malformed_field` | pre-dispatch | a field a discovery rule reads has the wrong type, or the mode is not one of the verb's modes | `INVALID_REQUEST` | correctable | that field, e.g. `buying_mode`, `refine[0].action` |
//! | `refine_without_entries` | pre-dispatch | get_products refine mode without a non-empty `refine[]` | `INVALID_REQUEST` | correctable | `refine` |
//! | `refine_entries_outside_refine_mode` | pre-dispatch | get_products `refine[]` in brief or wholesale mode (including a missing mode) | `INVALID_REQUEST` | correctable | `buying_mode` |
//! | `brief_outside_brief_mode` | pre-dispatch | get_products `brief` in wholesale or refine mode | `INVALID_REQUEST` | correctable | `brief` |
//! | `refine_finalize_not_exclusive` | pre-dispatch | a `refine[]` entry has action `finalize` and another entry is not a proposal-scoped finalize | `INVALID_REQUEST` | correctable | `refine[i]`, the first offending entry |
//! | `signals_brief_without_selector` | pre-dispatch | get_signals brief mode with none of `signal_spec`, a non-empty `signal_refs`, a non-empty `signal_ids` | `INVALID_REQUEST` | correctable | `signal_spec` |
//! | `signals_selector_in_wholesale` | pre-dispatch | get_signals wholesale mode with `signal_spec`, `signal_refs` or `signal_ids` | `INVALID_REQUEST` | correctable | the first selector present |
//! | `pricing_version_without_feed_version` | pre-dispatch | either verb: `if_pricing_version` without `if_wholesale_feed_version` | `INVALID_REQUEST` | correctable | `if_pricing_version` |
//! | `feed_version_outside_wholesale` | pre-dispatch | either verb: a feed version token outside wholesale mode | `INVALID_REQUEST` | correctable | `if_wholesale_feed_version` or `if_pricing_version` |
//! | `wholesale_with_push_config` | pre-dispatch; the platform is never called | either verb: wholesale mode with `push_notification_config` | `INVALID_REQUEST` | correctable | `push_notification_config` |
//! | `push_config_without_delivery` | pre-dispatch | any tool: `push_notification_config` while [`GuardConfig::webhook_delivery`] is false | `INVALID_REQUEST` | correctable | `push_notification_config` |
//! | `push_config_invalid` | pre-dispatch | any tool: the config is not an object or lacks `url`; `url` is not an absolute URL, not https (http only for a host on the [`GuardConfig`] allow-list, exact match) or embeds credentials; `operation_id` does not match `[A-Za-z0-9_.:-]{1,255}`; `token` is not 16–4096 characters; the URL's host is an IP literal in a blocked range ([`address::is_blocked`]: private, shared, link-local/metadata, loopback unless that exact host is on the http allow-list, reserved, and their IPv6 spellings), whatever the scheme; `authentication` lacks exactly one scheme of `Bearer`/`HMAC-SHA256` or its `credentials` are under 32 characters; or any of these has the wrong type | `INVALID_REQUEST` | correctable | the field, e.g. `push_notification_config.operation_id` |
//! | `push_config_with_unresolved_account` | after account resolution, before any task exists | any tool: `push_notification_config` while the resolved account is absent, empty, whitespace or `<unset>` | `INVALID_REQUEST` | correctable | `account` |
//! | `wholesale_handoff` | pre-handoff: before any registry row, background task, draft or webhook | either verb: wholesale mode and the platform returned a handoff | `INVALID_REQUEST` | correctable | `buying_mode` / `discovery_mode` |
//! | `handoff_with_unresolved_account` | pre-handoff | any tool: the platform returned a handoff while the resolved account is absent, empty, whitespace or `<unset>` | `INVALID_REQUEST` | correctable | `account` |
//! | `hand_rolled_async_envelope` | post-dispatch | any tool but the task-polling ones: a synchronous result whose `status` is `submitted` or `working` (it did not come from a handoff) | `INVALID_REQUEST` | correctable | none; the message names `handoff_to_task` |
//!
//! `push_config_with_unresolved_account` and `handoff_with_unresolved_account` are the two
//! halves of "async + unresolved account"; the mode-consistency group runs from
//! `refine_without_entries` to `feed_version_outside_wholesale`.
//!
//! Messages say what is wrong and how to fix it. They never repeat the webhook URL, the push
//! token or legacy credentials.

pub mod address;
mod config;
mod discovery;
mod moments;
mod push;
mod rule;
mod view;

pub use config::{ConfigError, GuardConfig};
pub use discovery::{DiscoveryMode, DiscoveryVerb};
pub use moments::{AccountChecked, Admitted, DispatchOutcome, account_is_resolved, pre_dispatch};
pub use rule::{Moment, Rejection, Rule};
