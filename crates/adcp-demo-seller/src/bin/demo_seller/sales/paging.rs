//! Cursor paging of the list replies the demo pages itself (`list_creative_formats`,
//! `list_creatives`; the server pages only discovery): the standard `pagination` block
//! (`core/pagination-response.json`), with a cursor exactly when `has_more`.
//!
//! A cursor is opaque to buyers: the offset of the next page bound to a digest of the query,
//! so a cursor followed under a different query is refused (`INVALID_REQUEST` naming
//! `pagination.cursor`) instead of silently paging through another result set.

use std::hash::{DefaultHasher, Hash, Hasher};

use adcp_types::AdcpError;
use adcp_types::generated::{PaginationRequest, PaginationResponse};
use serde_json::Value;

/// The page size when the request names none (`core/pagination-request.json` default).
const DEFAULT_PAGE: usize = 50;
/// The largest page a buyer may ask for (`core/pagination-request.json` maximum).
const MAX_PAGE: usize = 100;
/// What starts every cursor the demo mints.
const CURSOR_PREFIX: &str = "dc1.";

/// One requested page of one query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    offset: usize,
    size: usize,
    digest: u64,
}

/// Request members that do not change the result set.
const NOT_PART_OF_THE_QUERY: [&str; 5] = [
    "pagination",
    "context",
    "idempotency_key",
    "adcp_major_version",
    "adcp_version",
];

/// A digest of `request` without the members that do not change the result set.
fn digest_of(request: &Value) -> u64 {
    let mut query = request.clone();
    if let Value::Object(map) = &mut query {
        for key in NOT_PART_OF_THE_QUERY {
            map.remove(key);
        }
    }
    let mut hasher = DefaultHasher::new();
    query.to_string().hash(&mut hasher);
    hasher.finish()
}

impl Page {
    /// The page `request` (the call's JSON) asks for with `pagination`. A cursor this demo did
    /// not mint for this query is `INVALID_REQUEST` naming `pagination.cursor`.
    pub(crate) fn read(
        pagination: Option<&PaginationRequest>,
        request: &Value,
    ) -> Result<Self, AdcpError> {
        let digest = digest_of(request);
        let size = pagination
            .and_then(|p| p.max_results)
            .and_then(|n| usize::try_from(n.get()).ok())
            .map_or(DEFAULT_PAGE, |n| n.min(MAX_PAGE));
        let offset = match pagination.and_then(|p| p.cursor.as_deref()) {
            None => 0,
            Some(cursor) => offset_of(cursor, digest).ok_or_else(|| {
                AdcpError::invalid_request(
                    "`pagination.cursor` is not a cursor this agent issued for this query",
                )
                .with_field("pagination.cursor")
            })?,
        };
        Ok(Self {
            offset,
            size,
            digest,
        })
    }

    /// This page of `items`, and the `pagination` block describing it (`total_count` is the
    /// whole result set; a cursor only when more follows).
    pub(crate) fn cut<T>(&self, items: Vec<T>) -> (Vec<T>, PaginationResponse) {
        let total = items.len();
        let page: Vec<T> = items
            .into_iter()
            .skip(self.offset)
            .take(self.size)
            .collect();
        let next = self.offset.saturating_add(page.len());
        let has_more = next < total;
        let pagination = PaginationResponse {
            cursor: has_more.then(|| format!("{CURSOR_PREFIX}{next}.{:016x}", self.digest)),
            has_more,
            total_count: u64::try_from(total).ok(),
        };
        (page, pagination)
    }
}

/// The offset a cursor carries, when it was minted for the query with `digest`.
fn offset_of(cursor: &str, digest: u64) -> Option<usize> {
    let (offset, bound) = cursor.strip_prefix(CURSOR_PREFIX)?.split_once('.')?;
    (bound == format!("{digest:016x}")).then_some(())?;
    offset.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(request: &Value) -> Result<Page, AdcpError> {
        let pagination: Option<PaginationRequest> = request
            .get("pagination")
            .map(|p| serde_json::from_value(p.clone()).unwrap());
        Page::read(pagination.as_ref(), request)
    }

    #[test]
    fn a_walk_ends_on_a_terminal_page_without_a_cursor() {
        let first = json!({"name_search": "x", "pagination": {"max_results": 2}});
        let (items, block) = page(&first).unwrap().cut(vec![1, 2, 3]);
        assert_eq!(items, [1, 2]);
        assert!(block.has_more);
        assert_eq!(block.total_count, Some(3));
        let cursor = block.cursor.unwrap();
        let second =
            json!({"name_search": "x", "pagination": {"max_results": 2, "cursor": cursor}});
        let (items, block) = page(&second).unwrap().cut(vec![1, 2, 3]);
        assert_eq!(items, [3]);
        assert!(!block.has_more);
        assert_eq!(block.cursor, None);
    }

    #[test]
    fn a_cursor_followed_under_another_query_is_refused() {
        let (_, block) = page(&json!({"name_search": "x", "pagination": {"max_results": 1}}))
            .unwrap()
            .cut(vec![1, 2]);
        let other = json!({"name_search": "y", "pagination": {"cursor": block.cursor.unwrap()}});
        let error = page(&other).unwrap_err();
        assert_eq!(error.field.as_deref(), Some("pagination.cursor"));
        assert!(page(&json!({"pagination": {"cursor": "forged"}})).is_err());
    }
}
