//! The demo's account tools: `list_accounts`, `sync_accounts` and `sync_governance`, over an
//! in-memory [`AccountBook`] that keeps every principal's accounts apart (and sandbox apart
//! from live), plus the `seed_account` and `force_account_status` controller scenarios.

pub(crate) mod book;
mod governance;
mod listing;
mod provision;
mod scenarios;
mod subscribers;

use std::sync::Arc;

use adcp_server::{AccountsPlatform, AccountsTool, CallContext, Outcome, Principal, TaskResult};
use adcp_types::generated::{
    ListAccountsRequest, ListAccountsResponse, SyncAccountsRequest, SyncAccountsResponse,
    SyncGovernanceRequest, SyncGovernanceResponse,
};
use adcp_types::{AdcpError, codes};
use async_trait::async_trait;

pub(crate) use book::AccountBook;
use book::Namespace;
pub(crate) use provision::SUPPORTED_BILLING;
pub(crate) use scenarios::WithAccountScenarios;

/// The account tools of the demo seller.
#[derive(Debug, Clone)]
pub(crate) struct DemoAccountTools {
    pub(crate) book: Arc<AccountBook>,
}

/// The authenticated caller, which every account change needs.
fn caller(ctx: &CallContext) -> Result<&Principal, AdcpError> {
    ctx.principal().ok_or_else(|| {
        AdcpError::new(
            codes::AUTH_MISSING,
            "accounts belong to an authenticated caller: send `Authorization: Bearer <token>`",
        )
    })
}

#[async_trait]
impl AccountsPlatform for DemoAccountTools {
    fn tools(&self) -> Vec<AccountsTool> {
        vec![
            AccountsTool::ListAccounts,
            AccountsTool::SyncAccounts,
            AccountsTool::SyncGovernance,
        ]
    }

    async fn list_accounts(
        &self,
        request: ListAccountsRequest,
        ctx: &CallContext,
    ) -> Result<ListAccountsResponse, AdcpError> {
        let ns = ctx.principal().map(Namespace::of);
        listing::list(&self.book, ns.as_ref(), &request)
    }

    async fn sync_accounts(
        &self,
        request: SyncAccountsRequest,
        ctx: &CallContext,
    ) -> Result<TaskResult<SyncAccountsResponse>, AdcpError> {
        let principal = caller(ctx)?;
        let ns = Namespace::of(principal);
        let sync = provision::Sync {
            book: &self.book,
            ns: &ns,
            principal,
        };
        Ok(Outcome::Completed(sync.run(request)?.into()))
    }

    async fn sync_governance(
        &self,
        request: SyncGovernanceRequest,
        ctx: &CallContext,
    ) -> Result<SyncGovernanceResponse, AdcpError> {
        let ns = Namespace::of(caller(ctx)?);
        Ok(governance::sync(&self.book, &ns, request).into())
    }
}
