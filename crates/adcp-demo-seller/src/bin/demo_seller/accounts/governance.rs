//! `sync_governance`: binding the governance agent that owns an account's governance lifecycle
//! (rc.9: one agent per account, replace semantics).
//!
//! Authority: the demo's accounts live in the caller's own namespace, so the caller has
//! authority over every account it can name. A natural key names the caller's buyer-declared
//! account of that brand and operator whether or not it was provisioned yet (the demo's
//! resolver accepts it on every call); an `account_id` must name an account the caller has.
//!
//! The demo persists the binding and shows it on `list_accounts`; it does not call the agent
//! (`check_governance`) during media-buy lifecycle events — it claims no governance-aware
//! specialism — so it keeps no copy of the credential it would present to the agent.

use adcp_types::generated::{
    SyncGovernanceRequest, SyncGovernanceSuccess, SyncGovernanceSuccessAccountsItem,
    SyncGovernanceSuccessAccountsItemGovernanceAgentsItem, SyncGovernanceSuccessAccountsItemStatus,
};
use adcp_types::{AdcpError, codes};
use serde_json::Map;

use super::book::{AccountBook, GovernanceBinding, Namespace, Reference};
use super::provision::core_error;

/// Binds each entry's governance agent and reports one result per entry.
pub(crate) fn sync(
    book: &AccountBook,
    ns: &Namespace,
    request: SyncGovernanceRequest,
) -> SyncGovernanceSuccess {
    let accounts = request
        .accounts
        .into_iter()
        .map(|entry| {
            let reference = Reference::of(&entry.account);
            let account_id = match &reference {
                Reference::Id(_) => book.find(ns, &reference),
                Reference::Natural(_) => Some(book.account_id(ns, &reference)),
            };
            let [agent] = entry.governance_agents;
            let Some(account_id) = account_id else {
                let error = AdcpError::new(
                    codes::ACCOUNT_NOT_FOUND,
                    "no account with this id exists for this caller",
                )
                .with_field("account");
                return SyncGovernanceSuccessAccountsItem {
                    account: entry.account,
                    errors: Some(vec![core_error(&error)]),
                    governance_agents: None,
                    status: SyncGovernanceSuccessAccountsItemStatus::Failed,
                    extra: Map::new(),
                };
            };
            book.bind_governance(
                ns,
                &account_id,
                GovernanceBinding {
                    url: agent.url.clone(),
                },
            );
            SyncGovernanceSuccessAccountsItem {
                account: entry.account,
                errors: None,
                governance_agents: Some([SyncGovernanceSuccessAccountsItemGovernanceAgentsItem {
                    url: agent.url,
                }]),
                status: SyncGovernanceSuccessAccountsItemStatus::Synced,
                extra: Map::new(),
            }
        })
        .collect();
    SyncGovernanceSuccess {
        accounts,
        context: None,
        ext: None,
        extra: Map::new(),
    }
}
