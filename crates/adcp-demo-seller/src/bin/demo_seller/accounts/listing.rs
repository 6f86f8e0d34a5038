//! `list_accounts`: the caller's accounts, filtered as the request asks and paged in account-id
//! order.

use adcp_types::AdcpError;
use adcp_types::generated::{
    AccountStatus, AccountWithAuthorization, AccountWithAuthorizationGovernanceAgentsItem,
    ListAccountsRequest, ListAccountsRequestStatus, ListAccountsResponse, PaginationResponse,
};
use serde_json::Map;

use super::book::{AccountBook, AccountRecord, Namespace, Reference};

/// The page size when the request names none (`core/pagination-request.json` default).
const DEFAULT_PAGE: u64 = 50;
/// The largest page (`core/pagination-request.json` maximum).
const MAX_PAGE: u64 = 100;
/// What starts every cursor: the rest is the last account id of the previous page, so a page
/// continues after it even when accounts were added in between.
const CURSOR_PREFIX: &str = "acct.";

/// The account status a request's `status` filter names.
fn status_of(filter: ListAccountsRequestStatus) -> AccountStatus {
    match filter {
        ListAccountsRequestStatus::Active => AccountStatus::Active,
        ListAccountsRequestStatus::PendingApproval => AccountStatus::PendingApproval,
        ListAccountsRequestStatus::Rejected => AccountStatus::Rejected,
        ListAccountsRequestStatus::PaymentRequired => AccountStatus::PaymentRequired,
        ListAccountsRequestStatus::Suspended => AccountStatus::Suspended,
        ListAccountsRequestStatus::Closed => AccountStatus::Closed,
    }
}

/// `record` as `list_accounts` returns it: write-only bank details and subscriber credentials
/// left out, the bound governance agent's URL (never its credential) included.
fn listed(book: &AccountBook, ns: &Namespace, record: AccountRecord) -> AccountWithAuthorization {
    let governance_agents = book
        .governance(ns, &record.account_id)
        .map(|binding| [AccountWithAuthorizationGovernanceAgentsItem { url: binding.url }]);
    AccountWithAuthorization {
        account_scope: Some(record.account_scope()),
        advertiser: Some(record.brand.domain.clone()),
        authorization: None,
        billing: Some(record.billing),
        billing_entity: record.billing_entity_echo(),
        billing_proxy: None,
        brand: Some(record.brand.clone()),
        credit_limit: None,
        ext: None,
        governance_agents,
        name: record.name(),
        notification_configs: record.subscribers_echo(),
        operator: Some(record.operator.clone()),
        payment_terms: Some(record.payment_terms),
        rate_card: None,
        reporting_bucket: None,
        sandbox: Some(ns.is_sandbox()),
        setup: None,
        status: record.status,
        account_id: record.account_id,
        extra: Map::new(),
    }
}

/// The accounts `ns` may see that match `request`, one page of them. A caller without a
/// namespace (unauthenticated) sees none.
pub(crate) fn list(
    book: &AccountBook,
    ns: Option<&Namespace>,
    request: &ListAccountsRequest,
) -> Result<ListAccountsResponse, AdcpError> {
    let pagination = request.pagination.as_ref();
    let after = match pagination.and_then(|p| p.cursor.as_deref()) {
        None => None,
        Some(cursor) => Some(cursor.strip_prefix(CURSOR_PREFIX).ok_or_else(|| {
            AdcpError::invalid_request("this cursor was not issued by list_accounts")
                .with_field("pagination.cursor")
        })?),
    };
    let size = pagination
        .and_then(|p| p.max_results)
        .map_or(DEFAULT_PAGE, |n| n.get().min(MAX_PAGE));
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let matching: Vec<AccountRecord> = match ns {
        None => Vec::new(),
        Some(ns) => {
            let only = request
                .account
                .as_ref()
                .map(|reference| book.find(ns, &Reference::of(reference)));
            book.list(ns)
                .into_iter()
                .filter(|record| {
                    only.as_ref()
                        .is_none_or(|id| id.as_deref() == Some(&record.account_id))
                })
                .filter(|_| request.sandbox.is_none_or(|flag| flag == ns.is_sandbox()))
                .filter(|record| {
                    request
                        .status
                        .is_none_or(|status| status_of(status) == record.status)
                })
                .collect()
        }
    };
    let total = matching.len();
    let rest: Vec<AccountRecord> = matching
        .into_iter()
        .filter(|record| after.is_none_or(|after| record.account_id.as_str() > after))
        .collect();
    let has_more = rest.len() > size;
    let page: Vec<AccountRecord> = rest.into_iter().take(size).collect();
    let cursor = has_more
        .then(|| {
            page.last()
                .map(|record| format!("{CURSOR_PREFIX}{}", record.account_id))
        })
        .flatten();
    let accounts = match ns {
        Some(ns) => page
            .into_iter()
            .map(|record| listed(book, ns, record))
            .collect(),
        None => Vec::new(),
    };
    Ok(ListAccountsResponse {
        accounts,
        context: None,
        errors: None,
        ext: None,
        pagination: Some(PaginationResponse {
            cursor,
            has_more,
            total_count: u64::try_from(total).ok(),
        }),
        extra: Map::new(),
    })
}

#[cfg(test)]
mod tests {
    use adcp_server::Principal;
    use adcp_types::generated::{AccountStatus, ListAccountsRequest};
    use serde_json::json;

    use super::list;
    use crate::accounts::book::{AccountBook, AccountRecord, Namespace, NaturalKey, Origin};

    fn seed(book: &AccountBook, ns: &Namespace, id: &str, status: AccountStatus) {
        let brand = serde_json::from_value(json!({ "domain": format!("{id}.example") })).unwrap();
        book.put(
            ns,
            AccountRecord {
                account_id: id.to_owned(),
                key: NaturalKey::new(&brand, "pinnacle.example"),
                brand,
                operator: "pinnacle.example".into(),
                billing: adcp_types::generated::BillingParty::Operator,
                billing_entity: None,
                payment_terms: adcp_types::generated::PaymentTerms::Net30,
                status,
                subscribers: None,
                origin: Origin::Seeded,
            },
        );
    }

    fn request(value: serde_json::Value) -> ListAccountsRequest {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn pages_follow_the_cursor_in_id_order() {
        let book = AccountBook::default();
        let ns = Namespace::of(&Principal::new("sandbox:acme-outdoor"));
        for id in ["c", "a", "b"] {
            seed(&book, &ns, id, AccountStatus::Active);
        }
        let first = list(
            &book,
            Some(&ns),
            &request(json!({ "pagination": { "max_results": 2 } })),
        )
        .unwrap();
        let ids: Vec<&str> = first
            .accounts
            .iter()
            .map(|a| a.account_id.as_str())
            .collect();
        assert_eq!(ids, ["a", "b"]);
        let page = first.pagination.unwrap();
        assert!(page.has_more);
        assert_eq!(page.total_count, Some(3));
        let cursor = page.cursor.unwrap();
        let next = list(
            &book,
            Some(&ns),
            &request(json!({ "pagination": { "max_results": 2, "cursor": cursor } })),
        )
        .unwrap();
        let ids: Vec<&str> = next
            .accounts
            .iter()
            .map(|a| a.account_id.as_str())
            .collect();
        assert_eq!(ids, ["c"]);
        assert!(!next.pagination.unwrap().has_more);
        let foreign = list(
            &book,
            Some(&ns),
            &request(json!({ "pagination": { "cursor": "zzz" } })),
        );
        assert_eq!(
            foreign.unwrap_err().field.as_deref(),
            Some("pagination.cursor")
        );
    }

    #[test]
    fn filters_and_namespaces_narrow_the_list() {
        let book = AccountBook::default();
        let ns = Namespace::of(&Principal::new("sandbox:acme-outdoor"));
        seed(&book, &ns, "a", AccountStatus::Active);
        seed(&book, &ns, "b", AccountStatus::Suspended);
        let active = list(&book, Some(&ns), &request(json!({ "status": "active" }))).unwrap();
        assert_eq!(active.accounts.len(), 1);
        let one = list(
            &book,
            Some(&ns),
            &request(json!({ "account": { "account_id": "b" } })),
        )
        .unwrap();
        assert_eq!(one.accounts[0].account_id, "b");
        let live_only = list(&book, Some(&ns), &request(json!({ "sandbox": false }))).unwrap();
        assert!(live_only.accounts.is_empty());
        let live = Namespace::of(&Principal::new("live:acme-outdoor"));
        assert!(
            list(&book, Some(&live), &request(json!({})))
                .unwrap()
                .accounts
                .is_empty()
        );
        assert!(
            list(&book, None, &request(json!({})))
                .unwrap()
                .accounts
                .is_empty()
        );
    }
}
