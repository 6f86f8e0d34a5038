//! Account resolution: which account a call acts for.
//!
//! Three strategies ship with the crate, matching how sellers model accounts:
//! - [`ExplicitAccounts`]: the buyer names the account in the request's `account` field
//!   (`{account_id}` or the natural key `{brand, operator}`);
//! - [`PrincipalAccounts`]: implicit, the authenticated principal *is* the account;
//! - [`SingletonAccount`]: a one-account seller.
//!
//! Adopters with their own account store implement [`AccountResolver`].

use std::collections::BTreeMap;

use adcp_types::{AdcpError, codes};
use async_trait::async_trait;
use serde_json::Value;

use crate::auth::Principal;

/// A resolved account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    id: String,
    sandbox: bool,
}

impl Account {
    /// A production account.
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            sandbox: false,
        }
    }

    /// A sandbox account: no real spend, and the compliance test controller may act on it.
    pub fn sandbox(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            sandbox: true,
        }
    }

    /// The account id tasks, idempotency keys and webhooks are scoped by.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether this is a sandbox account.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox
    }
}

/// What an [`AccountResolver`] sees of a call.
#[derive(Debug, Clone, Copy)]
pub struct AccountQuery<'a> {
    /// The wire tool name.
    pub tool: &'a str,
    /// The request's `account` field, if present and not null.
    pub account: Option<&'a Value>,
    /// The authenticated caller, if any.
    pub principal: Option<&'a Principal>,
}

/// Resolves the account a call acts for.
///
/// `Ok(None)` means "no account": synchronous reads still run, but nothing that creates a task
/// (a handoff, a push-notification registration) is allowed. `Err` is sent to the buyer as is
/// (e.g. `ACCOUNT_NOT_FOUND`).
#[async_trait]
pub trait AccountResolver: Send + Sync + 'static {
    /// Resolves the account of one call.
    async fn resolve(&self, query: AccountQuery<'_>) -> Result<Option<Account>, AdcpError>;
}

/// Accounts named in the request (`account.account_id`, or the natural key
/// `account.brand.domain` + `account.operator`, whose `sandbox` flag is honoured).
///
/// Open by default (any well-formed reference resolves to an account of that id); with
/// [`ExplicitAccounts::with_account`] only the registered ids resolve and any other id is
/// `ACCOUNT_NOT_FOUND`.
///
/// The reference's `sandbox` flag is chosen by the buyer, so it is ignored (accounts resolve as
/// production) unless [`ExplicitAccounts::trust_buyer_sandbox_flag`] opts in — a seller whose
/// whole endpoint is a sandbox. Registered accounts keep their registered mode.
#[derive(Debug, Clone, Default)]
pub struct ExplicitAccounts {
    known: BTreeMap<String, Account>,
    trust_sandbox_flag: bool,
}

impl ExplicitAccounts {
    /// Resolves every well-formed reference.
    pub fn open() -> Self {
        Self::default()
    }

    /// Honours the buyer's `sandbox: true` on open references (sandbox-only deployments).
    #[must_use]
    pub fn trust_buyer_sandbox_flag(mut self) -> Self {
        self.trust_sandbox_flag = true;
        self
    }

    /// Registers a known account; once any is registered, only known ids resolve.
    #[must_use]
    pub fn with_account(mut self, account: Account) -> Self {
        self.known.insert(account.id.clone(), account);
        self
    }

    fn lookup(&self, id: String, sandbox: bool) -> Result<Account, AdcpError> {
        if self.known.is_empty() {
            return Ok(Account {
                id,
                sandbox: sandbox && self.trust_sandbox_flag,
            });
        }
        self.known.get(&id).cloned().ok_or_else(|| {
            AdcpError::new(
                codes::ACCOUNT_NOT_FOUND,
                "no account with this reference exists for this seller",
            )
            .with_field("account")
        })
    }
}

/// The id an account reference names: `account_id`, or `operator:domain` for the natural key.
/// `None` when the reference names neither.
pub fn account_id_of(reference: &Value) -> Option<(String, bool)> {
    let sandbox = reference
        .get("sandbox")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(id) = reference.get("account_id").and_then(Value::as_str) {
        return Some((id.to_owned(), sandbox)).filter(|(id, _)| !id.trim().is_empty());
    }
    let domain = reference
        .get("brand")
        .and_then(|brand| brand.get("domain"))
        .and_then(Value::as_str)?;
    let operator = reference
        .get("operator")
        .and_then(Value::as_str)
        .unwrap_or(domain);
    Some((format!("{operator}:{domain}"), sandbox))
}

#[async_trait]
impl AccountResolver for ExplicitAccounts {
    async fn resolve(&self, query: AccountQuery<'_>) -> Result<Option<Account>, AdcpError> {
        let Some(reference) = query.account else {
            return Ok(None);
        };
        if !reference.is_object() {
            return Err(
                AdcpError::invalid_request("`account` must be an object").with_field("account")
            );
        }
        match account_id_of(reference) {
            Some((id, sandbox)) => self.lookup(id, sandbox).map(Some),
            None => Err(AdcpError::invalid_request(
                "`account` must carry `account_id`, or `brand.domain` and `operator`",
            )
            .with_field("account")),
        }
    }
}

/// Implicit accounts: the authenticated principal is the account (its id is the principal id).
/// Unauthenticated calls have no account.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrincipalAccounts {
    sandbox: bool,
}

impl PrincipalAccounts {
    /// Principals map to production accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Principals map to sandbox accounts.
    pub fn sandbox() -> Self {
        Self { sandbox: true }
    }
}

#[async_trait]
impl AccountResolver for PrincipalAccounts {
    async fn resolve(&self, query: AccountQuery<'_>) -> Result<Option<Account>, AdcpError> {
        Ok(query.principal.map(|principal| Account {
            id: principal.id().to_owned(),
            sandbox: self.sandbox,
        }))
    }
}

/// A seller with one account: every call acts for it.
#[derive(Debug, Clone)]
pub struct SingletonAccount(Account);

impl SingletonAccount {
    /// Every call resolves to `account`.
    pub fn new(account: Account) -> Self {
        Self(account)
    }
}

#[async_trait]
impl AccountResolver for SingletonAccount {
    async fn resolve(&self, _query: AccountQuery<'_>) -> Result<Option<Account>, AdcpError> {
        Ok(Some(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn explicit_accounts_read_both_reference_forms() {
        let resolver = ExplicitAccounts::open().trust_buyer_sandbox_flag();
        let by_id = json!({"account_id": "acc_1"});
        let natural = json!({"brand": {"domain": "acme.example"}, "operator": "agency.example", "sandbox": true});
        let q = |account| AccountQuery {
            tool: "get_products",
            account,
            principal: None,
        };
        let a = resolver.resolve(q(Some(&by_id))).await.unwrap().unwrap();
        assert_eq!((a.id(), a.is_sandbox()), ("acc_1", false));
        let b = resolver.resolve(q(Some(&natural))).await.unwrap().unwrap();
        assert_eq!(
            (b.id(), b.is_sandbox()),
            ("agency.example:acme.example", true)
        );
        assert!(resolver.resolve(q(None)).await.unwrap().is_none());
        let bad = json!({"nothing": 1});
        let error = resolver.resolve(q(Some(&bad))).await.unwrap_err();
        assert_eq!(error.field.as_deref(), Some("account"));
    }

    #[tokio::test]
    async fn the_buyers_sandbox_flag_needs_an_opt_in() {
        let natural = json!({"brand": {"domain": "acme.example"}, "sandbox": true});
        let query = AccountQuery {
            tool: "comply_test_controller",
            account: Some(&natural),
            principal: None,
        };
        let account = ExplicitAccounts::open()
            .resolve(query)
            .await
            .unwrap()
            .unwrap();
        assert!(!account.is_sandbox());
    }

    #[tokio::test]
    async fn known_accounts_reject_strangers() {
        let resolver = ExplicitAccounts::open().with_account(Account::new("acc_1"));
        let other = json!({"account_id": "acc_2"});
        let error = resolver
            .resolve(AccountQuery {
                tool: "get_products",
                account: Some(&other),
                principal: None,
            })
            .await
            .unwrap_err();
        assert_eq!(error.code, codes::ACCOUNT_NOT_FOUND);
    }
}
