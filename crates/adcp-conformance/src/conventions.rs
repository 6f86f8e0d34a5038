//! Conventional captures: the well-known ids a successful step's response yields into the
//! run context without the storyboard declaring `context_outputs`.
//!
//! rc.9 storyboards rely on them: `media_buy_seller/performance_buy_flow` sends
//! `$context.media_buy_id` after a `create_media_buy` step that declares no capture. The
//! reference runner (`@adcp/client`) fills the context by convention after each successful
//! step; grading the same storyboards the same way needs the same names. A storyboard's own
//! `context_outputs` are applied afterwards and win.

use serde_json::{Map, Value};

/// The values `task`'s successful response `data` yields, by context name.
pub(crate) fn captures(task: &str, data: &Value) -> Vec<(&'static str, Value)> {
    let mut out = Captured::default();
    if !media_buy(task, data, &mut out) {
        other(task, data, &mut out);
    }
    out.0
}

/// The media-buy protocol's tools (accounts, discovery, buys, formats, creatives); `false`
/// when `task` is none of them.
fn media_buy(task: &str, data: &Value, out: &mut Captured) -> bool {
    match task {
        "sync_accounts" => {
            if let Some(first) = first(data, "accounts") {
                out.field(first, "account_id", "account_id");
                out.field(first, "status", "account_status");
                let mut account = Map::new();
                for key in ["brand", "operator"] {
                    if let Some(value) = first.get(key) {
                        account.insert(key.to_owned(), value.clone());
                    }
                }
                out.set("account", Value::Object(account));
            }
        }
        "list_accounts" => {
            if let Some(first) = first(data, "accounts") {
                out.field(first, "account_id", "account_id");
            }
        }
        "get_products" => {
            if let Some(product) = first(data, "products") {
                out.list(data, "products", "products");
                out.field(product, "product_id", "product_id");
                if let Some(proposal) = first(data, "proposals") {
                    out.field(proposal, "proposal_id", "proposal_id");
                }
            }
        }
        "create_media_buy" | "update_media_buy" => {
            out.field(data, "media_buy_id", "media_buy_id");
            // rc.9 moves the buy's state to `media_buy_status`; older agents sent `status`.
            if !out.field(data, "media_buy_status", "media_buy_status") {
                out.field(data, "status", "media_buy_status");
            }
        }
        "get_media_buys" => {
            // A page in the middle of a listing does not name "the" buy.
            let more = data.pointer("/pagination/has_more") == Some(&Value::Bool(true));
            if let (Some(buy), false) = (first(data, "media_buys"), more) {
                out.field(buy, "media_buy_id", "media_buy_id");
                out.field(buy, "status", "media_buy_status");
            }
        }
        "list_creative_formats" => {
            if let Some(format) = first(data, "formats") {
                out.list(data, "formats", "formats");
                out.field(format, "format_id", "format_id");
            }
        }
        "build_creative" => {
            if let Some(manifest) = data.get("creative_manifest") {
                out.set("creative_manifest", manifest.clone());
                out.field(manifest, "format_id", "format_id");
            }
            if let Some(manifest) = first(data, "creative_manifests") {
                out.list(data, "creative_manifests", "creative_manifests");
                out.field(manifest, "format_id", "format_id");
            }
        }
        "sync_creatives" if first(data, "creatives").is_some() => {
            out.list(data, "creatives", "creative_results");
        }
        "list_creatives" => {
            if let Some(creative) = first(data, "creatives") {
                out.list(data, "creatives", "creatives");
                out.field(creative, "creative_id", "creative_id");
            }
        }
        "preview_creative" if first(data, "previews").is_some() => {
            out.list(data, "previews", "previews");
        }
        "sync_creatives" | "preview_creative" => {}
        _ => return false,
    }
    true
}

/// Every other protocol's tools with conventional captures.
fn other(task: &str, data: &Value, out: &mut Captured) {
    match task {
        "get_signals" => {
            if let Some(signal) = first(data, "signals") {
                out.list(data, "signals", "signals");
                out.field(signal, "signal_id", "signal_id");
            }
        }
        "activate_signal" => {
            if let Some(deployment) = first(data, "deployments") {
                out.list(data, "deployments", "deployments");
                out.field(deployment, "activation_key", "activation_key");
                out.field(deployment, "type", "deployment_type");
            }
        }
        "sync_catalogs" => out.first_with_id(data, "catalogs", "catalogs", "catalog_id"),
        "sync_audiences" => out.first_with_id(data, "audiences", "audiences", "audience_id"),
        "sync_event_sources" => {
            out.first_with_id(data, "event_sources", "event_sources", "event_source_id");
        }
        "si_initiate_session" => {
            out.field(data, "session_id", "session_id");
        }
        "si_get_offering" => {
            out.field(data, "offering_id", "offering_id");
            if let Some(offering) = first(data, "offerings") {
                out.field(offering, "offering_id", "offering_id");
            }
        }
        "sync_plans" => {
            if let Some(plan) = first(data, "plans") {
                out.field(plan, "plan_id", "plan_id");
            }
        }
        "create_property_list" => {
            // The list's auth_token is a credential: never captured.
            if let Some(list) = data.get("list") {
                out.field(list, "list_id", "property_list_id");
                out.field(list, "name", "property_list_name");
            }
        }
        "create_content_standards" => {
            out.field(data, "standards_id", "content_standards_id");
        }
        "get_rights" => {
            if let Some(rights) = first(data, "rights") {
                out.field(rights, "rights_id", "rights_id");
            }
        }
        "acquire_rights" if data.get("rights_grant_id").is_some_and(|v| !v.is_null()) => {
            out.field(data, "rights_grant_id", "rights_grant_id");
            out.field(data, "rights_id", "rights_id");
        }
        "sync_governance" => {
            out.set("governance_synced", Value::Bool(true));
            out.set("governance_response", data.clone());
        }
        "check_governance" => {
            out.field(data, "governance_context", "governance_context");
            out.field(data, "check_id", "check_id");
            out.field(data, "plan_id", "plan_id");
            out.field(data, "status", "governance_status");
        }
        "report_plan_outcome" => {
            out.field(data, "outcome_id", "outcome_id");
            out.field(data, "status", "outcome_status");
        }
        _ => {}
    }
}

/// The first element of array `key` of `data`.
fn first<'d>(data: &'d Value, key: &str) -> Option<&'d Value> {
    data.get(key)?.as_array()?.first()
}

/// Captures collected for one response.
#[derive(Default)]
struct Captured(Vec<(&'static str, Value)>);

impl Captured {
    fn set(&mut self, name: &'static str, value: Value) {
        self.0.retain(|(existing, _)| *existing != name);
        self.0.push((name, value));
    }

    /// Captures `source[key]` as `name` when it is present and not null or empty.
    fn field(&mut self, source: &Value, key: &str, name: &'static str) -> bool {
        match source.get(key) {
            Some(value) if !value.is_null() && value != "" => {
                self.set(name, value.clone());
                true
            }
            _ => false,
        }
    }

    /// Captures the whole array `data[key]` as `name`.
    fn list(&mut self, data: &Value, key: &str, name: &'static str) {
        if let Some(list) = data.get(key) {
            self.set(name, list.clone());
        }
    }

    /// Captures the array `data[key]` as `name` and its first element's `id_key`.
    fn first_with_id(&mut self, data: &Value, key: &str, name: &'static str, id_key: &'static str) {
        if let Some(item) = first(data, key) {
            self.list(data, key, name);
            self.field(item, id_key, id_key);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::captures;

    fn named(task: &str, data: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        captures(task, data)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    #[test]
    fn a_created_buy_yields_its_id_and_state() {
        let got = named(
            "create_media_buy",
            &json!({"status": "completed", "media_buy_id": "mb_1", "media_buy_status": "active"}),
        );
        assert_eq!(
            got,
            vec![
                ("media_buy_id".to_owned(), json!("mb_1")),
                ("media_buy_status".to_owned(), json!("active"))
            ]
        );
        let legacy = named(
            "create_media_buy",
            &json!({"media_buy_id": "mb_2", "status": "pending_start"}),
        );
        assert_eq!(
            legacy[1],
            ("media_buy_status".to_owned(), json!("pending_start"))
        );
    }

    #[test]
    fn a_listing_mid_pagination_names_no_buy() {
        let page = json!({"media_buys": [{"media_buy_id": "mb_1", "status": "active"}], "pagination": {"has_more": true}});
        assert!(named("get_media_buys", &page).is_empty());
        let last = json!({"media_buys": [{"media_buy_id": "mb_1", "status": "active"}], "pagination": {"has_more": false}});
        assert_eq!(named("get_media_buys", &last).len(), 2);
    }

    #[test]
    fn credentials_and_empty_values_are_not_captured() {
        let list = json!({"list": {"list_id": "pl_1", "name": "Safe", "auth_token": "secret"}});
        let got = named("create_property_list", &list);
        assert!(got.iter().all(|(_, v)| v != &json!("secret")));
        assert_eq!(got.len(), 2);
        assert!(named("get_products", &json!({"products": []})).is_empty());
        assert!(named("create_media_buy", &json!({"media_buy_id": ""})).is_empty());
        assert!(named("unknown_tool", &json!({"media_buy_id": "x"})).is_empty());
    }

    #[test]
    fn discovery_yields_the_first_product_and_the_list() {
        let got = named(
            "get_products",
            &json!({"products": [{"product_id": "p1"}, {"product_id": "p2"}], "proposals": [{"proposal_id": "pr1"}]}),
        );
        let names: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["products", "product_id", "proposal_id"]);
        assert_eq!(got[1].1, json!("p1"));
    }
}
