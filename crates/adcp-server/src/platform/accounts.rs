//! The account tools (`list_accounts`, `sync_accounts`, ...): the buyer-facing side of account
//! management, separate from how the server resolves a call's account
//! ([`AccountResolver`](crate::AccountResolver)).

use adcp_types::generated::{
    GetAccountFinancialsRequest, GetAccountFinancialsResponse, ListAccountsRequest,
    ListAccountsResponse, ReportUsageRequest, ReportUsageResponse, SyncAccountsRequest,
    SyncAccountsResponse, SyncGovernanceRequest, SyncGovernanceResponse,
};

use super::family::platform_family;

platform_family! {
    /// Account management: listing and syncing buyer accounts, governance agents, financials
    /// and usage reporting (the `audience-sync`, `sales-social` and governance-aware
    /// specialisms exercise these).
    trait AccountsPlatform;
    /// The tools an [`AccountsPlatform`] can serve.
    enum AccountsTool;
    fn accounts_handlers;
    /// The accounts this buyer may use.
    sync ListAccounts => list_accounts(ListAccountsRequest) -> ListAccountsResponse;
    /// Creates or updates buyer accounts. May hand off (e.g. credit review).
    task SyncAccounts => sync_accounts(SyncAccountsRequest) -> SyncAccountsResponse;
    /// Registers the governance agents that approve spend on an account.
    sync SyncGovernance => sync_governance(SyncGovernanceRequest) -> SyncGovernanceResponse;
    /// Spend, credit and invoices of an account. May hand off.
    task GetAccountFinancials => get_account_financials(GetAccountFinancialsRequest) -> GetAccountFinancialsResponse;
    /// Records vendor usage against an account.
    sync ReportUsage => report_usage(ReportUsageRequest) -> ReportUsageResponse;
}
