//! The demo's callers: the compliance test kits' `demo-<kit>-…` bearer keys, and accounts
//! whose mode follows the caller (a live key can never act on a sandbox account).

use std::sync::Arc;

use adcp_server::{Account, AccountQuery, AccountResolver, Authenticator, Principal};
use adcp_types::generated::AccountStatus;
use adcp_types::{AdcpError, codes};
use async_trait::async_trait;
use http::HeaderMap;

use crate::accounts::book::{AccountBook, Namespace, Reference};

/// Live-mode keys (checked before the generic `demo-` prefix).
const LIVE_PREFIX: &str = "demo-acme-outdoor-live-";

/// Accepts `Authorization: Bearer demo-<kit>-<suffix>`: `demo-acme-outdoor-live-…` is a live
/// principal, every other `demo-…` key a sandbox principal named after its kit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoKeys;

/// Whether the caller is onboarded passthrough-only: it has no payments relationship with the
/// seller, so only the operator can be invoiced on its accounts.
///
/// The demo's sandbox (test-kit) callers are: their accounts carry no real billing, and no
/// agent ever went through the demo's payments onboarding, so `agent` billing — which the
/// demo supports for its live buyer agents — is refused to them with
/// `BILLING_NOT_PERMITTED_FOR_AGENT`. This is the precondition the billing-gate test kit
/// declares (`test-kits/billing-gate-runner.yaml`, `commercial_relationship:
/// passthrough_only`) for its `demo-billing-passthrough-…` key, and it holds for every other
/// sandbox key too.
pub(crate) fn passthrough_only(principal: &Principal) -> bool {
    !is_live(principal)
}

/// Whether a principal is a live-mode one (its accounts are live accounts).
pub(crate) fn is_live(principal: &Principal) -> bool {
    principal.id().starts_with("live:")
}

#[async_trait]
impl Authenticator for DemoKeys {
    async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>, AdcpError> {
        let presented = headers.contains_key(http::header::AUTHORIZATION)
            || headers.contains_key("x-adcp-auth");
        let Some(token) = adcp_server::bearer_token(headers) else {
            return if presented {
                Err(AdcpError::new(
                    codes::AUTH_INVALID,
                    "the presented credentials are not valid",
                ))
            } else {
                Ok(None)
            };
        };
        if let Some(rest) = token.strip_prefix(LIVE_PREFIX).filter(|r| !r.is_empty()) {
            let _ = rest;
            return Ok(Some(Principal::new("live:acme-outdoor")));
        }
        match token
            .strip_prefix("demo-")
            .and_then(|rest| rest.rsplit_once('-'))
        {
            Some((kit, suffix)) if !kit.is_empty() && !suffix.is_empty() => {
                Ok(Some(Principal::new(format!("sandbox:{kit}"))))
            }
            _ => Err(AdcpError::new(
                codes::AUTH_INVALID,
                "the presented credentials are not valid",
            )),
        }
    }
}

/// The tools that commit spend: refused on an account that is not `active`.
const SPEND_TOOLS: [&str; 2] = ["create_media_buy", "update_media_buy"];

/// Accounts named in the request (`account_id`, or `brand` + `operator` — the account the
/// caller provisioned or seeded under that key, else the key's own id), falling back to the
/// principal; sandbox exactly when the principal is a sandbox one. A call that commits spend
/// on a recorded account that is not `active` is refused with the status's code.
#[derive(Debug, Clone)]
pub(crate) struct DemoAccounts {
    pub(crate) book: Arc<AccountBook>,
}

/// The refusal of spend on an account in `status`, if that status gates it.
///
/// rc.9 names the codes for suspended (`ACCOUNT_SUSPENDED`), payment-required
/// (`ACCOUNT_PAYMENT_REQUIRED`) and not-yet-usable (`ACCOUNT_SETUP_REQUIRED`) accounts; a
/// closed or rejected account (both terminal) can no longer be used at all, which the table
/// has no closer code for than `ACCOUNT_NOT_FOUND`.
fn spend_refusal(status: AccountStatus) -> Option<AdcpError> {
    let (code, message) = match status {
        AccountStatus::Active => return None,
        AccountStatus::Suspended => (codes::ACCOUNT_SUSPENDED, "this account is suspended"),
        AccountStatus::PaymentRequired => (
            codes::ACCOUNT_PAYMENT_REQUIRED,
            "this account has an outstanding balance to pay before new spend",
        ),
        AccountStatus::PendingApproval => (
            codes::ACCOUNT_SETUP_REQUIRED,
            "this account is pending approval and cannot commit spend yet",
        ),
        AccountStatus::Rejected | AccountStatus::Closed => (
            codes::ACCOUNT_NOT_FOUND,
            "this account is closed and can no longer be used",
        ),
    };
    Some(AdcpError::new(code, message).with_field("account"))
}

#[async_trait]
impl AccountResolver for DemoAccounts {
    async fn resolve(&self, query: AccountQuery<'_>) -> Result<Option<Account>, AdcpError> {
        let Some(principal) = query.principal else {
            return Ok(None);
        };
        let ns = Namespace::of(principal);
        let id = query.account.and_then(Reference::of_value).map_or_else(
            || principal.id().to_owned(),
            |reference| self.book.account_id(&ns, &reference),
        );
        if SPEND_TOOLS.contains(&query.tool)
            && let Some(refusal) = self
                .book
                .get(&ns, &id)
                .and_then(|record| spend_refusal(record.status))
        {
            return Err(refusal);
        }
        Ok(Some(if ns.is_sandbox() {
            Account::sandbox(id)
        } else {
            Account::new(id)
        }))
    }
}

#[cfg(test)]
mod tests {
    use adcp_types::generated::AccountStatus;
    use adcp_types::{Recovery, codes};

    use super::spend_refusal;

    #[test]
    fn only_an_active_account_commits_spend() {
        assert!(spend_refusal(AccountStatus::Active).is_none());
        let suspended = spend_refusal(AccountStatus::Suspended).unwrap();
        assert_eq!(suspended.code, codes::ACCOUNT_SUSPENDED);
        assert_eq!(suspended.recovery, Recovery::Terminal);
        let unpaid = spend_refusal(AccountStatus::PaymentRequired).unwrap();
        assert_eq!(unpaid.code, codes::ACCOUNT_PAYMENT_REQUIRED);
        let pending = spend_refusal(AccountStatus::PendingApproval).unwrap();
        assert_eq!(pending.code, codes::ACCOUNT_SETUP_REQUIRED);
        let closed = spend_refusal(AccountStatus::Closed).unwrap();
        assert_eq!(closed.code, codes::ACCOUNT_NOT_FOUND);
        assert_eq!(closed.field.as_deref(), Some("account"));
    }
}
