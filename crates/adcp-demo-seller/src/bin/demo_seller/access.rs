//! The demo's callers: the compliance test kits' `demo-<kit>-…` bearer keys, and accounts
//! whose mode follows the caller (a live key can never act on a sandbox account).

use adcp_server::{
    Account, AccountQuery, AccountResolver, Authenticator, Principal, account_id_of,
};
use adcp_types::{AdcpError, codes};
use async_trait::async_trait;
use http::HeaderMap;

/// Live-mode keys (checked before the generic `demo-` prefix).
const LIVE_PREFIX: &str = "demo-acme-outdoor-live-";

/// Accepts `Authorization: Bearer demo-<kit>-<suffix>`: `demo-acme-outdoor-live-…` is a live
/// principal, every other `demo-…` key a sandbox principal named after its kit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoKeys;

/// Whether a principal id is a live-mode one.
fn is_live(principal: &Principal) -> bool {
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

/// Accounts named in the request (`account_id` or `brand.domain` + `operator`), falling back
/// to the principal; sandbox exactly when the principal is a sandbox one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DemoAccounts;

#[async_trait]
impl AccountResolver for DemoAccounts {
    async fn resolve(&self, query: AccountQuery<'_>) -> Result<Option<Account>, AdcpError> {
        let Some(principal) = query.principal else {
            return Ok(None);
        };
        let id = query
            .account
            .and_then(account_id_of)
            .map_or_else(|| principal.id().to_owned(), |(id, _)| id);
        Ok(Some(if is_live(principal) {
            Account::new(id)
        } else {
            Account::sandbox(id)
        }))
    }
}
