//! Account scoping of a seller's own records (media buys, creatives, accounts a buyer synced):
//! who may read or change a record.
//!
//! rc.9 scopes every seller-side record to the account it was created under, and the sandbox
//! (`account.sandbox: true`) is a separate world: "sandbox never mixed with live". Naming an
//! account is not enough to reach its records — the buyer must also be the principal the
//! record was created by, or one buyer could read and pause another's buys by guessing an
//! account reference. A [`RecordScope`] is that triple (principal, account, sandbox); a store
//! that keys records by it and looks them up only with the caller's scope gets all of it.

use adcp_types::AdcpError;

use crate::account::Account;
use crate::auth::Principal;
use crate::call::CallContext;

/// The owner of a seller-side record: the authenticated principal that created it, the
/// account it was created under, and whether that account is a sandbox account.
///
/// Guarantees: two scopes are equal only when all three agree, so a record stored under one
/// scope is invisible to every other — another principal naming the same account, the same
/// principal under another account, and a live account sharing a sandbox account's id.
/// Unauthenticated callers share the owner `anonymous`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordScope {
    owner: String,
    account_id: String,
    sandbox: bool,
}

impl RecordScope {
    /// A scope from its parts.
    pub fn new(owner: impl Into<String>, account_id: impl Into<String>, sandbox: bool) -> Self {
        Self {
            owner: owner.into(),
            account_id: account_id.into(),
            sandbox,
        }
    }

    /// The scope of the call being served.
    ///
    /// Fails with `INVALID_REQUEST` (`field: account`) when the call resolved no account:
    /// records are never stored or read outside an account.
    pub fn of(ctx: &CallContext) -> Result<Self, AdcpError> {
        Self::for_call(ctx.tool(), ctx.principal(), ctx.account())
    }

    fn for_call(
        tool: &str,
        principal: Option<&Principal>,
        account: Option<&Account>,
    ) -> Result<Self, AdcpError> {
        let account = account.ok_or_else(|| {
            AdcpError::invalid_request(format!("{tool} needs an account: name one in `account`"))
                .with_field("account")
        })?;
        Ok(Self::new(
            crate::auth::owner_of(principal),
            account.id(),
            account.is_sandbox(),
        ))
    }

    /// The principal's id (`anonymous` for unauthenticated callers).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The account's id.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Whether the account is a sandbox account.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::RecordScope;
    use crate::account::Account;
    use crate::auth::Principal;

    #[test]
    fn a_record_is_reachable_only_from_its_own_scope() {
        let mut buys = HashMap::new();
        let sandbox = RecordScope::new("demo-acme-outdoor", "acme:pinnacle", true);
        buys.insert((sandbox.clone(), "mb_1"), "active");
        // The same principal and account reach it.
        let again = RecordScope::new("demo-acme-outdoor", "acme:pinnacle", true);
        assert_eq!(buys.get(&(again, "mb_1")), Some(&"active"));
        // Another principal naming the same account does not.
        let other = RecordScope::new("demo-acme-outdoor-live", "acme:pinnacle", true);
        assert_eq!(buys.get(&(other, "mb_1")), None);
        // Live never sees sandbox, even with the same principal and account id.
        let live = RecordScope::new("demo-acme-outdoor", "acme:pinnacle", false);
        assert_eq!(buys.get(&(live, "mb_1")), None);
        // Nor another account of the same principal.
        let elsewhere = RecordScope::new("demo-acme-outdoor", "acme:other", true);
        assert_eq!(buys.get(&(elsewhere, "mb_1")), None);
        assert_eq!(sandbox.owner(), "demo-acme-outdoor");
        assert_eq!(sandbox.account_id(), "acme:pinnacle");
        assert!(sandbox.is_sandbox());
    }

    #[test]
    fn a_call_is_scoped_by_its_principal_and_account() {
        let principal = Principal::new("buyer-a");
        let account = Account::sandbox("acme:pinnacle");
        let scope =
            RecordScope::for_call("get_media_buys", Some(&principal), Some(&account)).unwrap();
        assert_eq!(scope, RecordScope::new("buyer-a", "acme:pinnacle", true));
        let anonymous = RecordScope::for_call("get_media_buys", None, Some(&account)).unwrap();
        assert_eq!(anonymous.owner(), "anonymous");
        let error = RecordScope::for_call("get_media_buys", Some(&principal), None).unwrap_err();
        assert_eq!(error.code, adcp_types::codes::INVALID_REQUEST);
        assert_eq!(error.field.as_deref(), Some("account"));
    }
}
