//! The demo's account store: every account a principal provisioned (`sync_accounts`) or the
//! controller seeded (`seed_account`), and the governance agent bound to each account
//! (`sync_governance`).
//!
//! Accounts live in a principal's [`Namespace`]: its id and its mode. A sandbox principal's
//! accounts are sandbox accounts and a live principal's are live, whatever a request's
//! `sandbox` flag says, so one principal never sees another's accounts and the sandbox never
//! mixes with live. Records are keyed by [`RecordScope`] (owner, account id, sandbox), the
//! SDK's scope of every seller-side record.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use adcp_server::Principal;
use adcp_server::rules::scope::RecordScope;
use adcp_types::generated::{
    AccountRef, AccountScope, AccountStatus, BillingParty, BrandRef, BusinessEntity,
    NotificationConfig, PaymentTerms,
};
use serde_json::Value;

use crate::access;

/// Whose accounts a call sees: the principal's id and whether it is a sandbox principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Namespace {
    owner: String,
    sandbox: bool,
}

impl Namespace {
    /// The namespace of `principal`: sandbox exactly when the principal is a sandbox one.
    pub(crate) fn of(principal: &Principal) -> Self {
        Self {
            owner: principal.id().to_owned(),
            sandbox: !access::is_live(principal),
        }
    }

    /// Whether this namespace's accounts are sandbox accounts.
    pub(crate) fn is_sandbox(&self) -> bool {
        self.sandbox
    }

    /// The scope of the account `account_id` in this namespace.
    pub(crate) fn scope(&self, account_id: &str) -> RecordScope {
        RecordScope::new(self.owner.clone(), account_id, self.sandbox)
    }

    fn owns(&self, scope: &RecordScope) -> bool {
        scope.owner() == self.owner && scope.is_sandbox() == self.sandbox
    }
}

/// The natural key of a buyer-declared account: the brand (domain, and `brand_id` for a house
/// of brands) and the operator, compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NaturalKey {
    domain: String,
    brand_id: Option<String>,
    operator: String,
}

impl NaturalKey {
    /// The key of `brand` operated by `operator`.
    pub(crate) fn new(brand: &BrandRef, operator: &str) -> Self {
        Self {
            domain: brand.domain.to_ascii_lowercase(),
            brand_id: brand.brand_id.as_ref().map(ToString::to_string),
            operator: operator.to_ascii_lowercase(),
        }
    }

    /// The account id the demo gives the account this key names: `operator:domain` (what the
    /// SDK's `account_id_of` derives from a natural key), with `:brand_id` appended when the
    /// brand names one so two brands of one house stay two accounts.
    pub(crate) fn account_id(&self) -> String {
        match &self.brand_id {
            Some(brand_id) => format!("{}:{}:{brand_id}", self.operator, self.domain),
            None => format!("{}:{}", self.operator, self.domain),
        }
    }

    /// The key of an untyped account reference (`brand.domain` + `operator`, the operator
    /// defaulting to the brand's domain as the SDK's `account_id_of` does), if it carries one.
    fn of_value(reference: &Value) -> Option<Self> {
        let brand = reference.get("brand")?;
        let domain = brand.get("domain").and_then(Value::as_str)?;
        let operator = reference
            .get("operator")
            .and_then(Value::as_str)
            .unwrap_or(domain);
        Some(Self {
            domain: domain.to_ascii_lowercase(),
            brand_id: brand
                .get("brand_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            operator: operator.to_ascii_lowercase(),
        })
    }
}

/// How a request names an account: by seller-assigned id or by natural key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reference {
    /// `{account_id}`.
    Id(String),
    /// `{brand, operator}`.
    Natural(NaturalKey),
}

impl Reference {
    /// The reference a typed `AccountRef` makes.
    pub(crate) fn of(reference: &AccountRef) -> Self {
        match reference {
            AccountRef::Variant0 { account_id } => Self::Id(account_id.clone()),
            AccountRef::Variant1 {
                brand, operator, ..
            } => Self::Natural(NaturalKey::new(brand, operator)),
        }
    }

    /// The reference an untyped `account` field makes, if it names an account at all (a bare
    /// `{sandbox: true}` names none). `account_id` wins over a natural key.
    pub(crate) fn of_value(reference: &Value) -> Option<Self> {
        if let Some(id) = reference
            .get("account_id")
            .and_then(Value::as_str)
            .filter(|id| !id.trim().is_empty())
        {
            return Some(Self::Id(id.to_owned()));
        }
        NaturalKey::of_value(reference).map(Self::Natural)
    }
}

/// Where a record came from: only accounts the buyer provisioned are deactivated by a later
/// `sync_accounts` with `delete_missing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Provisioned by `sync_accounts`.
    Synced,
    /// Seeded by the controller's `seed_account`.
    Seeded,
}

/// One account as the seller records it. `billing_entity` keeps the write-only bank details and
/// `subscribers` the write-only credentials; the wire views strip both.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AccountRecord {
    pub(crate) account_id: String,
    pub(crate) key: NaturalKey,
    pub(crate) brand: BrandRef,
    pub(crate) operator: String,
    pub(crate) billing: BillingParty,
    pub(crate) billing_entity: Option<BusinessEntity>,
    pub(crate) payment_terms: PaymentTerms,
    pub(crate) status: AccountStatus,
    /// `None` until a request sets them; `Some(vec![])` after a buyer cleared them (echoed as
    /// an empty array).
    pub(crate) subscribers: Option<Vec<NotificationConfig>>,
    pub(crate) origin: Origin,
}

impl AccountRecord {
    /// The human-readable name: the brand, and its operator when someone else operates it.
    pub(crate) fn name(&self) -> String {
        if self.brand.domain.eq_ignore_ascii_case(&self.operator) {
            self.brand.domain.clone()
        } else {
            format!("{} c/o {}", self.brand.domain, self.operator)
        }
    }

    /// Whose rates apply: the brand's own account, or the operator's for this brand.
    pub(crate) fn account_scope(&self) -> AccountScope {
        if self.brand.domain.eq_ignore_ascii_case(&self.operator) {
            AccountScope::Brand
        } else {
            AccountScope::OperatorBrand
        }
    }

    /// The billing entity as responses carry it: bank details are write-only.
    pub(crate) fn billing_entity_echo(&self) -> Option<BusinessEntity> {
        self.billing_entity.clone().map(|entity| BusinessEntity {
            bank: None,
            ..entity
        })
    }

    /// The notification subscribers as responses carry them: credentials are write-only.
    pub(crate) fn subscribers_echo(&self) -> Option<Vec<NotificationConfig>> {
        self.subscribers
            .as_ref()
            .map(|configs| configs.iter().map(without_credentials).collect())
    }
}

/// `config` with its `authentication.credentials` removed (write-only, never echoed).
fn without_credentials(config: &NotificationConfig) -> NotificationConfig {
    let mut echoed = config.clone();
    if let Some(auth) = &mut echoed.authentication {
        auth.credentials = None;
    }
    echoed
}

/// The governance agent bound to one account (`sync_governance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GovernanceBinding {
    /// The agent's HTTPS endpoint.
    pub(crate) url: String,
}

#[derive(Debug, Default)]
struct State {
    accounts: BTreeMap<RecordScope, AccountRecord>,
    governance: BTreeMap<RecordScope, GovernanceBinding>,
}

/// The demo's accounts and governance bindings, in memory.
///
/// Guarantees: every read and write goes through a [`Namespace`], so a record is reachable only
/// by the principal (and mode) it was recorded under.
#[derive(Debug, Default)]
pub(crate) struct AccountBook {
    state: Mutex<State>,
}

impl AccountBook {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves whole records behind (every write is one
        // insert), so the state stays usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The id of the recorded account `reference` names in `ns`, if any.
    pub(crate) fn find(&self, ns: &Namespace, reference: &Reference) -> Option<String> {
        let state = self.state();
        match reference {
            Reference::Id(id) => state
                .accounts
                .contains_key(&ns.scope(id))
                .then(|| id.clone()),
            Reference::Natural(key) => state
                .accounts
                .iter()
                .find(|(scope, record)| ns.owns(scope) && &record.key == key)
                .map(|(_, record)| record.account_id.clone()),
        }
    }

    /// The account id `reference` names in `ns`: the recorded account's, else the id the
    /// demo gives an account of that reference (the natural key's id, or the id as named).
    pub(crate) fn account_id(&self, ns: &Namespace, reference: &Reference) -> String {
        self.find(ns, reference).unwrap_or_else(|| match reference {
            Reference::Id(id) => id.clone(),
            Reference::Natural(key) => key.account_id(),
        })
    }

    /// The account `account_id` of `ns`.
    pub(crate) fn get(&self, ns: &Namespace, account_id: &str) -> Option<AccountRecord> {
        self.state().accounts.get(&ns.scope(account_id)).cloned()
    }

    /// Records (or replaces) `record` in `ns`.
    pub(crate) fn put(&self, ns: &Namespace, record: AccountRecord) {
        let scope = ns.scope(&record.account_id);
        self.state().accounts.insert(scope, record);
    }

    /// Every account of `ns`, ordered by account id.
    pub(crate) fn list(&self, ns: &Namespace) -> Vec<AccountRecord> {
        self.state()
            .accounts
            .iter()
            .filter(|(scope, _)| ns.owns(scope))
            .map(|(_, record)| record.clone())
            .collect()
    }

    /// Binds `binding` to the account `account_id` of `ns`, replacing any earlier one.
    pub(crate) fn bind_governance(
        &self,
        ns: &Namespace,
        account_id: &str,
        binding: GovernanceBinding,
    ) {
        self.state()
            .governance
            .insert(ns.scope(account_id), binding);
    }

    /// The governance agent bound to the account `account_id` of `ns`, if any.
    pub(crate) fn governance(&self, ns: &Namespace, account_id: &str) -> Option<GovernanceBinding> {
        self.state().governance.get(&ns.scope(account_id)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use adcp_types::generated::{AccountStatus, BillingParty, BrandRef, PaymentTerms};

    use super::{AccountBook, AccountRecord, Namespace, NaturalKey, Origin, Reference};
    use adcp_server::Principal;
    use serde_json::json;

    fn brand(domain: &str) -> BrandRef {
        serde_json::from_value(json!({ "domain": domain })).unwrap()
    }

    fn record(domain: &str, operator: &str) -> AccountRecord {
        let brand = brand(domain);
        let key = NaturalKey::new(&brand, operator);
        AccountRecord {
            account_id: key.account_id(),
            key,
            brand,
            operator: operator.to_owned(),
            billing: BillingParty::Operator,
            billing_entity: None,
            payment_terms: PaymentTerms::Net30,
            status: AccountStatus::Active,
            subscribers: None,
            origin: Origin::Synced,
        }
    }

    #[test]
    fn principals_and_modes_never_see_each_others_accounts() {
        let book = AccountBook::default();
        let sandbox = Namespace::of(&Principal::new("sandbox:acme-outdoor"));
        let other = Namespace::of(&Principal::new("sandbox:nova-motors"));
        let live = Namespace::of(&Principal::new("live:acme-outdoor"));
        assert!(sandbox.is_sandbox());
        assert!(!live.is_sandbox());
        book.put(&sandbox, record("acmeoutdoor.example", "pinnacle.example"));
        let id = "pinnacle.example:acmeoutdoor.example";
        assert!(book.get(&sandbox, id).is_some());
        assert!(book.get(&other, id).is_none());
        assert!(book.get(&live, id).is_none());
        assert_eq!(book.list(&sandbox).len(), 1);
        assert!(book.list(&other).is_empty());
        assert!(book.list(&live).is_empty());
    }

    #[test]
    fn a_natural_key_finds_the_account_whatever_its_id() {
        let book = AccountBook::default();
        let ns = Namespace::of(&Principal::new("sandbox:acme-outdoor"));
        let mut seeded = record("Acme.example", "pinnacle.example");
        seeded.account_id = "acct_1".into();
        book.put(&ns, seeded);
        let natural = Reference::of_value(&json!({
            "brand": { "domain": "acme.example" },
            "operator": "pinnacle.example"
        }))
        .unwrap();
        assert_eq!(book.find(&ns, &natural).as_deref(), Some("acct_1"));
        assert_eq!(book.account_id(&ns, &natural), "acct_1");
        let by_id = Reference::of_value(&json!({ "account_id": "acct_1", "sandbox": true }));
        assert_eq!(by_id, Some(Reference::Id("acct_1".into())));
        let unknown =
            Reference::Natural(NaturalKey::new(&brand("other.example"), "pinnacle.example"));
        assert_eq!(book.find(&ns, &unknown), None);
        assert_eq!(
            book.account_id(&ns, &unknown),
            "pinnacle.example:other.example"
        );
        assert_eq!(Reference::of_value(&json!({ "sandbox": true })), None);
    }

    #[test]
    fn brands_of_one_house_are_distinct_accounts() {
        let spark: BrandRef =
            serde_json::from_value(json!({ "domain": "nova.example", "brand_id": "spark" }))
                .unwrap();
        let key = NaturalKey::new(&spark, "pinnacle.example");
        assert_eq!(key.account_id(), "pinnacle.example:nova.example:spark");
        assert_ne!(
            key,
            NaturalKey::new(&brand("nova.example"), "pinnacle.example")
        );
    }
}
