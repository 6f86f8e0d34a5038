//! The account controller scenarios, `seed_account` and `force_account_status`, served next to
//! the demo's other sandbox fixtures.
//!
//! Both act on the invoking principal's own sandbox accounts only: rc.9 keys controller state
//! on the invocation's auth principal, and the controller itself refuses live accounts before
//! any scenario runs.

use std::sync::Arc;

use adcp_server::{Account, Principal, SandboxFixtures};
use adcp_types::AdcpError;
use adcp_types::generated::{AccountStatus, BillingParty, BrandRef, PaymentTerms};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::book::{AccountBook, AccountRecord, Namespace, NaturalKey, Origin};

/// The scenarios this module serves.
const SCENARIOS: [&str; 2] = ["seed_account", "force_account_status"];

/// The account fields `seed_account` reads from `params.fixture`.
#[derive(Debug, Deserialize)]
struct SeedFixture {
    brand: BrandRef,
    operator: String,
    billing: Option<BillingParty>,
    payment_terms: Option<PaymentTerms>,
    status: Option<AccountStatus>,
    sandbox: Option<bool>,
}

fn invalid_params(message: impl Into<String>) -> AdcpError {
    AdcpError::new("INVALID_PARAMS", message)
}

fn text<'a>(params: &'a Value, name: &str) -> Result<&'a str, AdcpError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid_params(format!("`params.{name}` is required")))
}

/// `inner`'s scenarios plus the account ones, which keep their records in `book`.
#[derive(Debug, Clone)]
pub(crate) struct WithAccountScenarios<F> {
    pub(crate) inner: F,
    pub(crate) book: Arc<AccountBook>,
}

impl<F> WithAccountScenarios<F> {
    /// The sandbox namespace of the principal that invoked the controller.
    fn namespace(principal: Option<&Principal>) -> Result<Namespace, AdcpError> {
        principal
            .map(Namespace::of)
            .filter(Namespace::is_sandbox)
            .ok_or_else(|| {
                AdcpError::new(
                    "FORBIDDEN",
                    "account scenarios act on an authenticated sandbox caller's own accounts",
                )
            })
    }

    /// `seed_account`: records (or replaces) the sandbox account `params.account_id` from
    /// `params.fixture`, which must name the brand and operator (the demo's accounts are
    /// buyer-declared).
    fn seed(
        &self,
        params: &Value,
        principal: Option<&Principal>,
    ) -> Result<Map<String, Value>, AdcpError> {
        let ns = Self::namespace(principal)?;
        let account_id = text(params, "account_id")?;
        let fixture = params.get("fixture").cloned().unwrap_or_else(|| json!({}));
        let fixture = SeedFixture::deserialize(fixture).map_err(|error| {
            invalid_params(format!(
                "`params.fixture` must carry brand.domain and operator ({error})"
            ))
        })?;
        if fixture.sandbox == Some(false) {
            return Err(invalid_params(
                "the controller seeds sandbox accounts only; `fixture.sandbox` must not be false",
            ));
        }
        let key = NaturalKey::new(&fixture.brand, &fixture.operator);
        let subscribers = self
            .book
            .get(&ns, account_id)
            .and_then(|existing| existing.subscribers);
        self.book.put(
            &ns,
            AccountRecord {
                account_id: account_id.to_owned(),
                key,
                brand: fixture.brand,
                operator: fixture.operator,
                billing: fixture.billing.unwrap_or(BillingParty::Operator),
                billing_entity: None,
                payment_terms: fixture.payment_terms.unwrap_or(PaymentTerms::Net30),
                status: fixture.status.unwrap_or(AccountStatus::Active),
                subscribers,
                origin: Origin::Seeded,
            },
        );
        Ok(Map::new())
    }

    /// `force_account_status`: moves the caller's sandbox account `params.account_id` to
    /// `params.status`. Closed and rejected are terminal (`enums/account-status.json`): moving
    /// out of them is `INVALID_TRANSITION`.
    fn force_status(
        &self,
        params: &Value,
        principal: Option<&Principal>,
    ) -> Result<Map<String, Value>, AdcpError> {
        let ns = Self::namespace(principal)?;
        let account_id = text(params, "account_id")?;
        let status: AccountStatus = text(params, "status")?
            .parse()
            .map_err(|_| invalid_params("`params.status` is not an account status"))?;
        let Some(mut record) = self.book.get(&ns, account_id) else {
            return Err(AdcpError::new(
                "NOT_FOUND",
                format!("no sandbox account `{account_id}` for this caller"),
            ));
        };
        let previous = record.status;
        let terminal = matches!(previous, AccountStatus::Closed | AccountStatus::Rejected);
        if terminal && status != previous {
            return Err(AdcpError::new(
                "INVALID_TRANSITION",
                format!("account `{account_id}` is {previous}, a terminal status"),
            ));
        }
        record.status = status;
        self.book.put(&ns, record);
        let mut fields = Map::new();
        fields.insert("previous_state".into(), Value::from(previous.to_string()));
        fields.insert("current_state".into(), Value::from(status.to_string()));
        Ok(fields)
    }
}

#[async_trait]
impl<F: SandboxFixtures> SandboxFixtures for WithAccountScenarios<F> {
    fn scenarios(&self) -> Vec<&'static str> {
        let mut scenarios = self.inner.scenarios();
        scenarios.extend(SCENARIOS);
        scenarios
    }

    async fn apply(
        &self,
        scenario: &str,
        params: &Value,
        account: &Account,
    ) -> Result<Map<String, Value>, AdcpError> {
        self.apply_as(scenario, params, account, None).await
    }

    async fn apply_as(
        &self,
        scenario: &str,
        params: &Value,
        account: &Account,
        principal: Option<&Principal>,
    ) -> Result<Map<String, Value>, AdcpError> {
        match scenario {
            "seed_account" => self.seed(params, principal),
            "force_account_status" => self.force_status(params, principal),
            _ => {
                self.inner
                    .apply_as(scenario, params, account, principal)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use adcp_server::{Account, Principal, SandboxFixtures};
    use adcp_types::AdcpError;
    use async_trait::async_trait;
    use serde_json::{Map, Value, json};

    use super::WithAccountScenarios;
    use crate::accounts::book::{AccountBook, Namespace};

    /// Fixtures that serve one scenario of their own.
    struct Inner;

    #[async_trait]
    impl SandboxFixtures for Inner {
        fn scenarios(&self) -> Vec<&'static str> {
            vec!["seed_product"]
        }

        async fn apply(
            &self,
            _: &str,
            _: &Value,
            _: &Account,
        ) -> Result<Map<String, Value>, AdcpError> {
            let mut fields = Map::new();
            fields.insert("inner".into(), Value::Bool(true));
            Ok(fields)
        }
    }

    fn fixtures() -> WithAccountScenarios<Inner> {
        WithAccountScenarios {
            inner: Inner,
            book: Arc::new(AccountBook::default()),
        }
    }

    #[tokio::test]
    async fn seeded_accounts_belong_to_the_seeding_principal_and_move_through_statuses() {
        let fixtures = fixtures();
        let account = Account::sandbox("sandbox:acme-outdoor");
        let me = Principal::new("sandbox:acme-outdoor");
        let seed = json!({
            "account_id": "acct_1",
            "fixture": {
                "brand": { "domain": "acme.example" },
                "operator": "pinnacle.example",
                "billing": "operator",
                "sandbox": true,
                "status": "active"
            }
        });
        fixtures
            .apply_as("seed_account", &seed, &account, Some(&me))
            .await
            .unwrap();
        let mine = Namespace::of(&me);
        assert!(fixtures.book.get(&mine, "acct_1").is_some());
        let other = Namespace::of(&Principal::new("sandbox:nova-motors"));
        assert!(fixtures.book.get(&other, "acct_1").is_none());

        let force = |status: &str| json!({ "account_id": "acct_1", "status": status });
        let moved = fixtures
            .apply_as(
                "force_account_status",
                &force("suspended"),
                &account,
                Some(&me),
            )
            .await
            .unwrap();
        assert_eq!(moved["previous_state"], "active");
        assert_eq!(moved["current_state"], "suspended");
        let closed = fixtures
            .apply_as(
                "force_account_status",
                &force("closed"),
                &account,
                Some(&me),
            )
            .await
            .unwrap();
        assert_eq!(closed["previous_state"], "suspended");
        let reopened = fixtures
            .apply_as(
                "force_account_status",
                &force("active"),
                &account,
                Some(&me),
            )
            .await
            .unwrap_err();
        assert_eq!(reopened.code, "INVALID_TRANSITION");
        let stranger = fixtures
            .apply_as(
                "force_account_status",
                &force("active"),
                &account,
                Some(&Principal::new("sandbox:nova-motors")),
            )
            .await
            .unwrap_err();
        assert_eq!(stranger.code, "NOT_FOUND");
    }

    #[tokio::test]
    async fn bad_params_and_other_scenarios() {
        let fixtures = fixtures();
        let account = Account::sandbox("x");
        let me = Principal::new("sandbox:acme-outdoor");
        let missing = fixtures
            .apply_as(
                "seed_account",
                &json!({ "account_id": "a" }),
                &account,
                Some(&me),
            )
            .await
            .unwrap_err();
        assert_eq!(missing.code, "INVALID_PARAMS");
        let live = fixtures
            .apply_as(
                "force_account_status",
                &json!({ "account_id": "a", "status": "active" }),
                &account,
                Some(&Principal::new("live:acme-outdoor")),
            )
            .await
            .unwrap_err();
        assert_eq!(live.code, "FORBIDDEN");
        let inner = fixtures
            .apply_as("seed_product", &json!({}), &account, Some(&me))
            .await
            .unwrap();
        assert_eq!(inner["inner"], true);
        assert_eq!(
            fixtures.scenarios(),
            ["seed_product", "seed_account", "force_account_status"]
        );
    }
}
