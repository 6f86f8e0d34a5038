//! Framework pagination of discovery replies (opt-in: `AdcpServerBuilder::auto_paginate`).
//!
//! A platform that answers `get_products` / `get_signals` with its whole match set can leave
//! paging to the server: the reply's list is cut to the request's page and given the standard
//! `pagination` block (`has_more`, a `cursor` exactly when `has_more`, `total_count`). A
//! platform that pages itself (its reply already has `pagination`) is left alone.
//!
//! Like `fields`, it shapes the wire reply only: result hooks (persist-draft) have already
//! seen the platform's full result when it runs.
//!
//! Cursors are opaque to buyers: an offset bound to a digest of the query, so a cursor
//! followed under a different query is refused (`INVALID_REQUEST`, field
//! `pagination.cursor`) before the platform runs, instead of silently paging through another
//! result set. A cursor the server did not mint (no [`CURSOR_PREFIX`]) is the platform's own:
//! it reaches the platform untouched, and is refused only if the platform then answers without
//! paging itself.
//!
//! A handoff's task result is the platform's own and is not paged (as with `fields`).

use adcp_types::AdcpError;
use serde_json::{Value, json};

use super::projection;
use crate::idempotency::fingerprint_excluding;

/// The page size when the request names none (`core/pagination-request.json` default).
const DEFAULT_PAGE: usize = 50;
/// The largest page a buyer may ask for (`core/pagination-request.json` maximum).
const MAX_PAGE: usize = 100;
/// Request fields that do not change the result set (besides the idempotency envelope).
const NOT_PART_OF_THE_QUERY: [&str; 3] = ["pagination", "push_notification_config", "fields"];
/// What starts every cursor the server mints.
const CURSOR_PREFIX: &str = "pg1.";
/// Hex digits of the query digest carried in a cursor.
const DIGEST_LEN: usize = 16;

/// The page one discovery request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    list: &'static str,
    offset: usize,
    size: usize,
    /// The request carries a cursor the server did not mint (the platform's own).
    platform_cursor: bool,
}

impl Page {
    /// The page `request` asks of `tool`, or `None` when `tool` is not paginated by the
    /// framework. A cursor this server did not mint for this query is an `INVALID_REQUEST`
    /// naming `pagination.cursor`, raised before the platform runs.
    pub(crate) fn read(tool: &str, request: &Value) -> Result<Option<Self>, AdcpError> {
        let Some(rule) = projection::rule(tool) else {
            return Ok(None);
        };
        let pagination = request.get("pagination").filter(|p| p.is_object());
        let size = pagination
            .and_then(|p| p.get("max_results"))
            // get_signals' deprecated top-level `max_results`; `pagination.max_results` wins.
            .or_else(|| request.get("max_results"))
            .and_then(Value::as_f64)
            .map_or(DEFAULT_PAGE, page_size);
        let (offset, platform_cursor) = match pagination.and_then(|p| p.get("cursor")) {
            None | Some(Value::Null) => (0, false),
            Some(Value::String(cursor)) if !cursor.starts_with(CURSOR_PREFIX) => (0, true),
            Some(cursor) => {
                let offset = cursor
                    .as_str()
                    .and_then(|cursor| offset_of(cursor, &query_digest(request)))
                    .ok_or_else(foreign_cursor)?;
                (offset, false)
            }
        };
        Ok(Some(Self {
            list: rule.list,
            offset,
            size,
            platform_cursor,
        }))
    }

    /// Refuses a reply that ignored a cursor the server did not mint: the platform did not
    /// page itself, so the cursor means nothing. Checked before the result hooks run.
    pub(crate) fn check_reply(&self, body: &Value) -> Result<(), AdcpError> {
        if self.platform_cursor && body.get("pagination").is_none() {
            return Err(foreign_cursor());
        }
        Ok(())
    }

    /// Cuts `body`'s list to this page and adds `pagination`, unless the platform already
    /// paginated (its body has `pagination`) or the body has no such list.
    pub(crate) fn apply(&self, request: &Value, body: &mut Value) {
        let Some(map) = body.as_object_mut() else {
            return;
        };
        if map.contains_key("pagination") {
            return;
        }
        let Some(items) = map.get_mut(self.list).and_then(Value::as_array_mut) else {
            return;
        };
        let total = items.len();
        items.drain(..self.offset.min(total));
        items.truncate(self.size);
        let next = self.offset.saturating_add(self.size);
        let pagination = if next < total {
            json!({
                "has_more": true,
                "cursor": cursor(next, &query_digest(request)),
                "total_count": total,
            })
        } else {
            json!({ "has_more": false, "total_count": total })
        };
        map.insert("pagination".to_owned(), pagination);
    }
}

/// A page size from the request's number: whole numbers (`10` or `10.0`) clamped to
/// 1..=100; anything else gets the default.
fn page_size(n: f64) -> usize {
    if n.fract() != 0.0 || !n.is_finite() {
        return DEFAULT_PAGE;
    }
    // Exact: the clamped value is a whole number from 1 to 100.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let whole = n.clamp(1.0, MAX_PAGE as f64) as usize;
    whole
}

fn foreign_cursor() -> AdcpError {
    AdcpError::invalid_request(
        "`pagination.cursor` is not a cursor this agent returned for this query; follow the \
         cursor of the previous page unchanged, with the same query, or start again without a \
         cursor",
    )
    .with_field("pagination.cursor")
}

/// The digest binding a cursor to its query.
fn query_digest(request: &Value) -> String {
    let mut digest = fingerprint_excluding(request, &NOT_PART_OF_THE_QUERY);
    digest.truncate(DIGEST_LEN);
    digest
}

fn cursor(offset: usize, digest: &str) -> String {
    format!("{CURSOR_PREFIX}{offset}.{digest}")
}

/// The offset in `cursor` if it was minted for the query with `digest`.
fn offset_of(cursor: &str, digest: &str) -> Option<usize> {
    let (offset, minted_for) = cursor.strip_prefix(CURSOR_PREFIX)?.split_once('.')?;
    if minted_for != digest {
        return None;
    }
    offset.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products(n: usize) -> Value {
        json!({ "products": (0..n).map(|i| json!({ "product_id": format!("p{i}") })).collect::<Vec<_>>() })
    }

    fn ids(body: &Value) -> Vec<&str> {
        body["products"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["product_id"].as_str().unwrap())
            .collect()
    }

    fn walk(request: &Value, body: &Value) -> (Value, Value) {
        let page = Page::read("get_products", request).unwrap().unwrap();
        let mut reply = body.clone();
        page.apply(request, &mut reply);
        let pagination = reply["pagination"].clone();
        (reply, pagination)
    }

    #[test]
    fn pages_walk_the_whole_list_once() {
        let body = products(5);
        let query = json!({ "buying_mode": "wholesale", "pagination": { "max_results": 2 } });
        let mut seen = Vec::new();
        let mut request = query.clone();
        for expected_more in [true, true, false] {
            let (reply, pagination) = walk(&request, &body);
            seen.extend(ids(&reply).into_iter().map(str::to_owned));
            assert_eq!(pagination["has_more"], expected_more, "{pagination}");
            assert_eq!(pagination["total_count"], 5);
            assert_eq!(
                pagination.get("cursor").is_some(),
                expected_more,
                "a cursor exactly when has_more: {pagination}"
            );
            if let Some(cursor) = pagination.get("cursor") {
                request = query.clone();
                request["pagination"]["cursor"] = cursor.clone();
                // The echo-only envelope does not change the query.
                request["context"] = json!({ "correlation_id": "another page" });
            }
        }
        assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4"]);
    }

    #[test]
    fn the_default_page_is_fifty_and_signals_honour_the_legacy_max_results() {
        let (reply, pagination) = walk(&json!({}), &products(60));
        assert_eq!(ids(&reply).len(), 50);
        assert_eq!(pagination["has_more"], true);

        let page = Page::read("get_signals", &json!({ "max_results": 3 }))
            .unwrap()
            .unwrap();
        assert_eq!(page.size, 3);
        let page = Page::read(
            "get_signals",
            &json!({ "max_results": 3, "pagination": { "max_results": 1 } }),
        )
        .unwrap()
        .unwrap();
        assert_eq!(page.size, 1, "pagination.max_results wins");
    }

    #[test]
    fn foreign_or_forged_cursors_are_refused_with_their_field() {
        let (_, pagination) = walk(
            &json!({ "buying_mode": "wholesale", "pagination": { "max_results": 1 } }),
            &products(3),
        );
        let cursor = pagination["cursor"].clone();
        for request in [
            json!({ "buying_mode": "brief", "brief": "other", "pagination": { "max_results": 1, "cursor": cursor } }),
            json!({ "buying_mode": "wholesale", "pagination": { "cursor": "pg1.1.0000000000000000" } }),
            json!({ "buying_mode": "wholesale", "pagination": { "cursor": "pg1.x" } }),
            json!({ "buying_mode": "wholesale", "pagination": { "cursor": 1 } }),
        ] {
            let error = Page::read("get_products", &request).unwrap_err();
            assert_eq!(error.code, "INVALID_REQUEST", "{request}");
            assert_eq!(error.field.as_deref(), Some("pagination.cursor"));
        }
    }

    #[test]
    fn a_cursor_the_server_did_not_mint_is_the_platforms() {
        let request = json!({ "pagination": { "max_results": 1, "cursor": "platform-page-2" } });
        let page = Page::read("get_products", &request).unwrap().unwrap();
        let mut paged = products(3);
        paged["pagination"] = json!({ "has_more": false });
        assert_eq!(
            page.check_reply(&paged),
            Ok(()),
            "the platform paged itself"
        );
        let error = page.check_reply(&products(3)).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("pagination.cursor"));
    }

    #[test]
    fn page_sizes_are_whole_numbers_from_one_to_a_hundred() {
        for (given, size) in [
            (json!(10.0), 10),
            (json!(0), 1),
            (json!(500), 100),
            (json!(-3), 1),
            (json!(2.5), 50),
        ] {
            let request = json!({ "pagination": { "max_results": given } });
            let page = Page::read("get_products", &request).unwrap().unwrap();
            assert_eq!(page.size, size, "{given}");
        }
    }

    #[test]
    fn a_platform_that_pages_itself_and_other_tools_are_left_alone() {
        let mut body = products(3);
        body["pagination"] = json!({ "has_more": false });
        let before = body.clone();
        let (reply, _) = walk(&json!({ "pagination": { "max_results": 1 } }), &body);
        assert_eq!(reply, before);
        assert_eq!(
            Page::read("list_creatives", &json!({})).unwrap(),
            None,
            "only the discovery tools are paged by the framework"
        );
    }

    /// A paged reply still validates against the pinned response schema.
    #[test]
    fn a_paged_reply_validates() {
        let Ok(schemas) = adcp_types::validate::SchemaSet::load_default() else {
            panic!("the schemas are installed for tests (cargo xtask schemas)");
        };
        let signal = |id: &str| {
            json!({
                "signal_agent_segment_id": id, "name": id, "description": "d", "signal_type": "owned",
                "signal_id": { "source": "agent", "agent_url": "https://seller.example/mcp", "id": id },
                "value_type": "binary",
                "deployments": [{ "type": "platform", "platform": "the-trade-desk", "is_live": true }],
                "pricing_options": [{ "pricing_option_id": "cpm_std", "model": "cpm", "cpm": 1.5, "currency": "USD" }]
            })
        };
        let request = json!({ "signal_spec": "audience", "pagination": { "max_results": 1 } });
        let page = Page::read("get_signals", &request).unwrap().unwrap();
        let mut body = json!({ "signals": [signal("a"), signal("b")], "status": "completed", "cache_scope": "public" });
        page.apply(&request, &mut body);
        assert_eq!(body["signals"].as_array().unwrap().len(), 1);
        assert_eq!(schemas.validate_response("get_signals", &body), Ok(()));
    }
}
