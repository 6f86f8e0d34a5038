//! `sync_accounts`: provisioning buyer-declared accounts (`brand` + `operator` + `billing`)
//! and updating the settings of accounts the caller already has (`account`), entry by entry.
//!
//! An entry that cannot be honoured fails on its own (`action: failed`, `status: rejected`,
//! `errors[]`) and changes nothing; the others proceed. The one whole-request failure is an
//! `account_id` the caller has no account under: its entry could not even be reported (a
//! result item must carry the account's brand and operator), so nothing is processed.

use adcp_server::Principal;
use adcp_types::generated::{
    AccountRef, AccountStatus, BillingParty, BrandRef, BusinessEntity, CloudStorageProtocol,
    CoreError, CoreErrorRecovery, NotificationConfig, PaymentTerms, SyncAccountsRequest,
    SyncAccountsRequestAccountsItem, SyncAccountsSuccess, SyncAccountsSuccessAccountsItem,
    SyncAccountsSuccessAccountsItemAction as Action, SyncAccountsSuccessAccountsItemStatus,
};
use adcp_types::{AdcpError, Recovery, codes};
use serde_json::{Map, json};

use super::book::{AccountBook, AccountRecord, Namespace, NaturalKey, Origin, Reference};
use super::subscribers::{self, notification_config};
use crate::access;

/// The billing models the demo accepts (`account.supported_billing` in its capabilities).
pub(crate) const SUPPORTED_BILLING: [BillingParty; 2] =
    [BillingParty::Operator, BillingParty::Agent];

/// The payment terms of an account provisioned without any.
const DEFAULT_TERMS: PaymentTerms = PaymentTerms::Net30;

/// An error as a result item carries it (`core/error.json`).
pub(crate) fn core_error(error: &AdcpError) -> CoreError {
    CoreError {
        code: error.code.clone(),
        details: error.details.clone(),
        field: error.field.clone(),
        issues: None,
        message: error.message.clone(),
        recovery: Some(match error.recovery {
            Recovery::Transient => CoreErrorRecovery::Transient,
            Recovery::Correctable => CoreErrorRecovery::Correctable,
            Recovery::Terminal => CoreErrorRecovery::Terminal,
        }),
        retry_after: error.retry_after.map(f64::from),
        sdk_id: None,
        source: None,
        suggestion: error.suggestion.clone(),
        extra: Map::new(),
    }
}

/// The wire status of an account status (the result item has its own enum).
fn wire_status(status: AccountStatus) -> SyncAccountsSuccessAccountsItemStatus {
    match status {
        AccountStatus::Active => SyncAccountsSuccessAccountsItemStatus::Active,
        AccountStatus::PendingApproval => SyncAccountsSuccessAccountsItemStatus::PendingApproval,
        AccountStatus::Rejected => SyncAccountsSuccessAccountsItemStatus::Rejected,
        AccountStatus::PaymentRequired => SyncAccountsSuccessAccountsItemStatus::PaymentRequired,
        AccountStatus::Suspended => SyncAccountsSuccessAccountsItemStatus::Suspended,
        AccountStatus::Closed => SyncAccountsSuccessAccountsItemStatus::Closed,
    }
}

/// The settable state one entry asks for.
struct Settings {
    billing_entity: Option<BusinessEntity>,
    payment_terms: Option<PaymentTerms>,
    subscribers: Option<Vec<NotificationConfig>>,
    preferred_reporting_protocol: Option<CloudStorageProtocol>,
    sandbox: Option<bool>,
}

impl Settings {
    /// `record` with these settings applied (rc.9's declarative replace for subscribers).
    fn apply(self, mut record: AccountRecord) -> Result<AccountRecord, AdcpError> {
        if let Some(configs) = self.subscribers {
            record.subscribers = Some(subscribers::check(configs)?);
        }
        if let Some(entity) = self.billing_entity {
            record.billing_entity = Some(entity);
        }
        if let Some(terms) = self.payment_terms {
            record.payment_terms = terms;
        }
        Ok(record)
    }

    /// The notes a result carries about what was asked and not used.
    fn warnings(&self) -> Option<Vec<String>> {
        self.preferred_reporting_protocol.map(|_| {
            vec!["this seller delivers no offline reports, so preferred_reporting_protocol is not used".to_owned()]
        })
    }
}

/// One `sync_accounts` call of one principal.
pub(crate) struct Sync<'a> {
    pub(crate) book: &'a AccountBook,
    pub(crate) ns: &'a Namespace,
    pub(crate) principal: &'a Principal,
}

impl Sync<'_> {
    /// Processes `request` and returns its per-account results (`dry_run` changes nothing).
    pub(crate) fn run(
        &self,
        request: SyncAccountsRequest,
    ) -> Result<SyncAccountsSuccess, AdcpError> {
        let dry_run = request.dry_run == Some(true);
        let declared = self.declared(&request.accounts)?;
        let mut results = Vec::with_capacity(request.accounts.len());
        for (i, entry) in request.accounts.into_iter().enumerate() {
            let (result, record) = match entry {
                SyncAccountsRequestAccountsItem::Variant0 {
                    billing,
                    billing_entity,
                    brand,
                    notification_configs,
                    operator,
                    payment_terms,
                    preferred_reporting_protocol,
                    sandbox,
                } => {
                    let settings = Settings {
                        billing_entity,
                        payment_terms,
                        subscribers: notification_configs.map(|configs| {
                            configs
                                .into_iter()
                                .map(|c| notification_config!(c))
                                .collect()
                        }),
                        preferred_reporting_protocol,
                        sandbox,
                    };
                    self.provision(brand, operator, billing, settings)
                }
                SyncAccountsRequestAccountsItem::Variant1 {
                    account,
                    billing_entity,
                    notification_configs,
                    payment_terms,
                    preferred_reporting_protocol,
                    sandbox,
                } => {
                    let settings = Settings {
                        billing_entity,
                        payment_terms,
                        subscribers: notification_configs.map(|configs| {
                            configs
                                .into_iter()
                                .map(|c| notification_config!(c))
                                .collect()
                        }),
                        preferred_reporting_protocol,
                        sandbox,
                    };
                    self.update(i, &account, settings)?
                }
            };
            if let Some(record) = record
                && !dry_run
            {
                self.book.put(self.ns, record);
            }
            results.push(result);
        }
        if request.delete_missing == Some(true) {
            results.extend(self.deactivate_missing(&declared, dry_run));
        }
        Ok(SyncAccountsSuccess {
            accounts: results,
            context: None,
            dry_run: dry_run.then_some(true),
            ext: None,
            extra: Map::new(),
        })
    }

    /// The natural keys of every account the request names (for `delete_missing`).
    ///
    /// Refuses the whole request when an entry names, by `account_id`, an account this caller
    /// does not have: settings-update mode never creates an account, and a result item for it
    /// could not be reported (it must carry the account's brand and operator).
    fn declared(
        &self,
        entries: &[SyncAccountsRequestAccountsItem],
    ) -> Result<Vec<NaturalKey>, AdcpError> {
        let mut declared = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            match entry {
                SyncAccountsRequestAccountsItem::Variant0 {
                    brand, operator, ..
                } => {
                    declared.push(NaturalKey::new(brand, operator));
                }
                SyncAccountsRequestAccountsItem::Variant1 { account, .. } => {
                    let reference = Reference::of(account);
                    match self.record(&reference) {
                        Some(record) => declared.push(record.key),
                        None => {
                            if let Reference::Id(id) = &reference {
                                return Err(unknown_account_id(id, i));
                            }
                        }
                    }
                }
            }
        }
        Ok(declared)
    }

    /// The account `reference` names for this caller, if it has one.
    fn record(&self, reference: &Reference) -> Option<AccountRecord> {
        self.book
            .find(self.ns, reference)
            .and_then(|id| self.book.get(self.ns, &id))
    }

    /// An error if the entry's `sandbox` flag asks for the other mode than the caller's
    /// credential: a sandbox (test-kit) key provisions sandbox accounts and a live key live
    /// ones. Omitted, the flag follows the credential.
    fn check_mode(&self, sandbox: Option<bool>) -> Result<(), AdcpError> {
        match sandbox {
            Some(flag) if flag != self.ns.is_sandbox() => Err(AdcpError::invalid_request(if flag {
                "this credential is a live-mode credential; sandbox accounts need a sandbox credential"
            } else {
                "this credential is a sandbox (test-kit) credential; it provisions sandbox accounts only"
            })
            .with_field("sandbox")),
            _ => Ok(()),
        }
    }

    /// The billing gates: the seller-wide capability (`BILLING_NOT_SUPPORTED`), then the
    /// caller's commercial relationship (`BILLING_NOT_PERMITTED_FOR_AGENT`, whose details carry
    /// only the rejected value and one suggestion, as `error-details/
    /// billing-not-permitted-for-agent.json` requires).
    fn check_billing(&self, billing: BillingParty) -> Result<(), AdcpError> {
        if !SUPPORTED_BILLING.contains(&billing) {
            return Err(AdcpError::new(
                codes::BILLING_NOT_SUPPORTED,
                format!("this seller does not support `{billing}` billing"),
            )
            .with_field("billing")
            .with_detail("scope", json!("capability"))
            .with_detail("supported_billing", json!(SUPPORTED_BILLING)));
        }
        if access::passthrough_only(self.principal) && billing != BillingParty::Operator {
            return Err(AdcpError::new(
                codes::BILLING_NOT_PERMITTED_FOR_AGENT,
                format!("this agent is onboarded without a payments relationship, so `{billing}` billing is not available to it"),
            )
            .with_field("billing")
            .with_detail("rejected_billing", json!(billing))
            .with_detail("suggested_billing", json!(BillingParty::Operator)));
        }
        Ok(())
    }

    /// A provisioning-mode entry: upserts the account of `brand` + `operator`.
    fn provision(
        &self,
        brand: BrandRef,
        operator: String,
        billing: BillingParty,
        settings: Settings,
    ) -> (SyncAccountsSuccessAccountsItem, Option<AccountRecord>) {
        let key = NaturalKey::new(&brand, &operator);
        let existing = self.record(&Reference::Natural(key.clone()));
        let checked = self
            .check_mode(settings.sandbox)
            .and_then(|()| self.check_billing(billing));
        if let Err(error) = checked {
            return (
                self.failed(brand, operator, existing.as_ref(), &error),
                None,
            );
        }
        let warnings = settings.warnings();
        let base = existing.clone().unwrap_or_else(|| AccountRecord {
            account_id: key.account_id(),
            key: key.clone(),
            brand: brand.clone(),
            operator: operator.clone(),
            billing,
            billing_entity: None,
            payment_terms: DEFAULT_TERMS,
            status: AccountStatus::Active,
            subscribers: None,
            origin: Origin::Synced,
        });
        let base = AccountRecord {
            brand: brand.clone(),
            operator: operator.clone(),
            billing,
            ..base
        };
        match settings.apply(base) {
            Ok(record) => {
                let action = match &existing {
                    None => Action::Created,
                    Some(before) if before == &record => Action::Unchanged,
                    Some(_) => Action::Updated,
                };
                (self.item(&record, action, warnings), Some(record))
            }
            Err(error) => (
                self.failed(brand, operator, existing.as_ref(), &error),
                None,
            ),
        }
    }

    /// A settings-update entry (entry `i`): changes the settable state of the account `account`
    /// names.
    /// An `account_id` this caller has no account under fails the whole request (see
    /// [`declared`](Self::declared)).
    fn update(
        &self,
        i: usize,
        account: &AccountRef,
        settings: Settings,
    ) -> Result<(SyncAccountsSuccessAccountsItem, Option<AccountRecord>), AdcpError> {
        let existing = match (self.record(&Reference::of(account)), account) {
            (Some(existing), _) => existing,
            (None, AccountRef::Variant0 { account_id }) => {
                return Err(unknown_account_id(account_id, i));
            }
            (
                None,
                AccountRef::Variant1 {
                    brand, operator, ..
                },
            ) => {
                let error = AdcpError::new(
                    codes::ACCOUNT_NOT_FOUND,
                    "no account with this brand and operator exists for this caller; provision it with brand, operator and billing",
                )
                .with_field("account");
                return Ok((
                    self.failed(brand.clone(), operator.clone(), None, &error),
                    None,
                ));
            }
        };
        let refused = |error: &AdcpError| {
            self.failed(
                existing.brand.clone(),
                existing.operator.clone(),
                Some(&existing),
                error,
            )
        };
        if let Err(error) = self.check_mode(settings.sandbox) {
            return Ok((refused(&error), None));
        }
        let warnings = settings.warnings();
        Ok(match settings.apply(existing.clone()) {
            Ok(record) => {
                let action = if record == existing {
                    Action::Unchanged
                } else {
                    Action::Updated
                };
                (self.item(&record, action, warnings), Some(record))
            }
            Err(error) => (refused(&error), None),
        })
    }

    /// With `delete_missing`: closes every account this caller provisioned that the request
    /// did not declare (seeded accounts are not the buyer's to delete).
    fn deactivate_missing(
        &self,
        declared: &[NaturalKey],
        dry_run: bool,
    ) -> Vec<SyncAccountsSuccessAccountsItem> {
        self.book
            .list(self.ns)
            .into_iter()
            .filter(|record| {
                record.origin == Origin::Synced
                    && record.status != AccountStatus::Closed
                    && !declared.contains(&record.key)
            })
            .map(|record| {
                let closed = AccountRecord {
                    status: AccountStatus::Closed,
                    ..record
                };
                let item = self.item(&closed, Action::Updated, None);
                if !dry_run {
                    self.book.put(self.ns, closed);
                }
                item
            })
            .collect()
    }

    /// The result of an account the entry applied to.
    fn item(
        &self,
        record: &AccountRecord,
        action: Action,
        warnings: Option<Vec<String>>,
    ) -> SyncAccountsSuccessAccountsItem {
        SyncAccountsSuccessAccountsItem {
            account_id: Some(record.account_id.clone()),
            account_scope: Some(record.account_scope()),
            action,
            authorization: None,
            billing: Some(record.billing),
            billing_entity: record.billing_entity_echo(),
            brand: record.brand.clone(),
            credit_limit: None,
            errors: None,
            name: Some(record.name()),
            notification_configs: record.subscribers_echo(),
            operator: record.operator.clone(),
            payment_terms: Some(record.payment_terms),
            rate_card: None,
            sandbox: Some(self.ns.is_sandbox()),
            setup: None,
            status: wire_status(record.status),
            warnings,
            extra: Map::new(),
        }
    }

    /// The result of an entry that failed: the request was declined (`status: rejected`, the
    /// value rc.9's notification-config storyboards expect of a declined entry) and nothing
    /// changed. Per-agent commercial state never leaks: only the account's id is added, and
    /// only for an account the caller already has.
    fn failed(
        &self,
        brand: BrandRef,
        operator: String,
        existing: Option<&AccountRecord>,
        error: &AdcpError,
    ) -> SyncAccountsSuccessAccountsItem {
        SyncAccountsSuccessAccountsItem {
            account_id: existing.map(|record| record.account_id.clone()),
            account_scope: None,
            action: Action::Failed,
            authorization: None,
            billing: None,
            billing_entity: None,
            brand,
            credit_limit: None,
            errors: Some(vec![core_error(error)]),
            name: None,
            notification_configs: None,
            operator,
            payment_terms: None,
            rate_card: None,
            sandbox: Some(self.ns.is_sandbox()),
            setup: None,
            status: SyncAccountsSuccessAccountsItemStatus::Rejected,
            warnings: None,
            extra: Map::new(),
        }
    }
}

/// `ACCOUNT_NOT_FOUND` for entry `i`'s `account_id`.
fn unknown_account_id(id: &str, i: usize) -> AdcpError {
    AdcpError::new(
        codes::ACCOUNT_NOT_FOUND,
        format!("no account `{id}` exists for this caller; settings updates never create one"),
    )
    .with_field(format!("accounts[{i}].account"))
}

#[cfg(test)]
mod tests {
    use adcp_server::Principal;
    use adcp_types::codes;
    use adcp_types::generated::{
        SyncAccountsRequest, SyncAccountsSuccess, SyncAccountsSuccessAccountsItemAction as Action,
        SyncAccountsSuccessAccountsItemStatus as Status,
    };
    use serde_json::{Value, json};

    use super::Sync;
    use crate::accounts::book::{AccountBook, Namespace};

    fn run(
        book: &AccountBook,
        principal: &str,
        request: Value,
    ) -> Result<SyncAccountsSuccess, adcp_types::AdcpError> {
        let principal = Principal::new(principal);
        let ns = Namespace::of(&principal);
        let mut request = request;
        request["idempotency_key"] = json!("0123456789abcdef0123");
        let request: SyncAccountsRequest = serde_json::from_value(request).unwrap();
        Sync {
            book,
            ns: &ns,
            principal: &principal,
        }
        .run(request)
    }

    fn provision(billing: &str) -> Value {
        json!({ "accounts": [{
            "brand": { "domain": "acmeoutdoor.example" },
            "operator": "pinnacle-agency.example",
            "billing": billing
        }]})
    }

    #[test]
    fn provisioning_upserts_by_natural_key() {
        let book = AccountBook::default();
        let created = run(&book, "sandbox:acme-outdoor", provision("operator")).unwrap();
        let item = &created.accounts[0];
        assert_eq!(item.action, Action::Created);
        assert_eq!(item.status, Status::Active);
        assert_eq!(
            item.account_id.as_deref(),
            Some("pinnacle-agency.example:acmeoutdoor.example")
        );
        assert_eq!(item.sandbox, Some(true));
        let again = run(&book, "sandbox:acme-outdoor", provision("operator")).unwrap();
        assert_eq!(again.accounts[0].action, Action::Unchanged);
        let mut terms = provision("operator");
        terms["accounts"][0]["payment_terms"] = json!("net_60");
        let changed = run(&book, "sandbox:acme-outdoor", terms).unwrap();
        assert_eq!(changed.accounts[0].action, Action::Updated);
        // Another principal provisioning the same key gets its own account.
        let other = run(&book, "sandbox:nova-motors", provision("operator")).unwrap();
        assert_eq!(other.accounts[0].action, Action::Created);
    }

    #[test]
    fn billing_gates_answer_their_codes_with_clamped_details() {
        let book = AccountBook::default();
        let unsupported = run(&book, "sandbox:acme-outdoor", provision("advertiser")).unwrap();
        let item = &unsupported.accounts[0];
        assert_eq!(item.action, Action::Failed);
        assert_eq!(item.status, Status::Rejected);
        let error = &item.errors.as_ref().unwrap()[0];
        assert_eq!(error.code, codes::BILLING_NOT_SUPPORTED);
        let details = error.details.as_ref().unwrap();
        assert_eq!(details["scope"], "capability");
        assert_eq!(details["supported_billing"], json!(["operator", "agent"]));

        let passthrough = run(&book, "sandbox:billing-passthrough", provision("agent")).unwrap();
        let error = &passthrough.accounts[0].errors.as_ref().unwrap()[0];
        assert_eq!(error.code, codes::BILLING_NOT_PERMITTED_FOR_AGENT);
        let details = error.details.as_ref().unwrap();
        assert_eq!(
            details.len(),
            2,
            "only rejected_billing and suggested_billing: {details:?}"
        );
        assert_eq!(details["rejected_billing"], "agent");
        assert_eq!(details["suggested_billing"], "operator");
        assert!(passthrough.accounts[0].account_id.is_none());
        let recovered = run(&book, "sandbox:billing-passthrough", provision("operator")).unwrap();
        assert_eq!(recovered.accounts[0].action, Action::Created);
        // Sandbox callers have no payments relationship; a live buyer agent does.
        let sandbox_agent = run(&book, "sandbox:acme-outdoor", provision("agent")).unwrap();
        assert_eq!(sandbox_agent.accounts[0].action, Action::Failed);
        let live_agent = run(&book, "live:acme-outdoor", provision("agent")).unwrap();
        assert_eq!(live_agent.accounts[0].action, Action::Created);
        assert_eq!(
            live_agent.accounts[0].billing,
            Some(adcp_types::generated::BillingParty::Agent)
        );
        // Nothing was provisioned by the failed entries.
        assert_eq!(
            book.list(&Namespace::of(&Principal::new("sandbox:acme-outdoor")))
                .len(),
            0
        );
    }

    #[test]
    fn the_sandbox_flag_must_match_the_credential() {
        let book = AccountBook::default();
        let mut live_sandbox = provision("operator");
        live_sandbox["accounts"][0]["sandbox"] = json!(true);
        let refused = run(&book, "live:acme-outdoor", live_sandbox).unwrap();
        let error = &refused.accounts[0].errors.as_ref().unwrap()[0];
        assert_eq!(error.code, codes::INVALID_REQUEST);
        assert_eq!(error.field.as_deref(), Some("sandbox"));
        let live = run(&book, "live:acme-outdoor", provision("operator")).unwrap();
        assert_eq!(live.accounts[0].sandbox, Some(false));
    }

    #[test]
    fn settings_updates_never_create_and_dry_runs_change_nothing() {
        let book = AccountBook::default();
        let unknown = run(
            &book,
            "sandbox:acme-outdoor",
            json!({ "accounts": [{ "account": { "account_id": "acct_x" }, "payment_terms": "net_60" }] }),
        )
        .unwrap_err();
        assert_eq!(unknown.code, codes::ACCOUNT_NOT_FOUND);
        assert_eq!(unknown.field.as_deref(), Some("accounts[0].account"));

        let mut dry = provision("operator");
        dry["dry_run"] = json!(true);
        let preview = run(&book, "sandbox:acme-outdoor", dry).unwrap();
        assert_eq!(preview.dry_run, Some(true));
        assert_eq!(preview.accounts[0].action, Action::Created);
        assert!(
            book.list(&Namespace::of(&Principal::new("sandbox:acme-outdoor")))
                .is_empty()
        );

        let created = run(&book, "sandbox:acme-outdoor", provision("operator")).unwrap();
        let id = created.accounts[0].account_id.clone().unwrap();
        let update = json!({ "accounts": [{
            "account": { "account_id": id },
            "payment_terms": "net_60",
            "notification_configs": [{
                "subscriber_id": "buyer-primary",
                "url": "https://example.com/hooks",
                "event_types": ["creative.purged"],
                "active": false,
                "authentication": { "schemes": ["Bearer"], "credentials": "0123456789abcdef0123456789abcdef" }
            }]
        }]});
        let updated = run(&book, "sandbox:acme-outdoor", update).unwrap();
        let item = &updated.accounts[0];
        assert_eq!(item.action, Action::Updated);
        let echoed = &item.notification_configs.as_ref().unwrap()[0];
        assert_eq!(echoed.subscriber_id, "buyer-primary");
        assert!(
            echoed
                .authentication
                .as_ref()
                .unwrap()
                .credentials
                .is_none()
        );
    }
}
