//! Which account an event belongs to, for every source: an explicit account id (Stripe metadata,
//! a Zendesk organization's external id, an analytics group trait) wins and is remembered as a
//! link; otherwise the link decides; otherwise the data is kept under a provisional id derived
//! from the external id, and merged into the account when the link appears.

use crate::app::ports::store::{AccountStore, LinkSource, LinkStore, StoreError};
use crate::domain::account::attr;
use crate::domain::change::AccountChange;
use serde_json::json;

/// The account id that holds data of an external id nobody has linked yet. Stripe customer ids
/// are already unambiguous (`cus_...`), and an analytics group id is the product's own account
/// id unless a link says otherwise; other sources' ids are numbers or free text, so they get a
/// prefix naming the source.
pub fn provisional_account_id(source: LinkSource, external_id: &str) -> String {
    match source {
        LinkSource::Stripe | LinkSource::Analytics => external_id.to_owned(),
        other => format!("{}:{external_id}", other.as_str()),
    }
}

/// Resolves the account of an event that carries `external_id` of `source` and possibly the
/// account id itself. `recheck_merge` asks for a merge attempt even when the link is known (on
/// rare events, so that a merge interrupted half-way completes on the next one).
pub async fn resolve_account(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    source: LinkSource,
    external_id: Option<&str>,
    explicit_account: Option<&str>,
    recheck_merge: bool,
) -> Result<Option<String>, StoreError> {
    match (explicit_account, external_id) {
        (Some(account), Some(external)) => {
            let known = links.resolve(source, external).await?;
            let is_new = known.as_deref() != Some(account);
            // A new link is where an erased account would come back: not without an admin.
            if is_new && is_erased(links, source, external, Some(account)).await? {
                return Ok(None);
            }
            if is_new {
                link_merged(accounts, links, source, external, account).await?;
            } else if recheck_merge {
                merge_provisional(accounts, source, external, account).await?;
            }
            Ok(Some(account.to_owned()))
        }
        (Some(account), None) => Ok(Some(account.to_owned())),
        (None, Some(external)) => match links.resolve(source, external).await? {
            Some(account) => Ok(Some(account)),
            // Only an unknown id can be an erased one (its link went with the account).
            None if is_erased(links, source, external, None).await? => Ok(None),
            None => Ok(Some(provisional_account_id(source, external))),
        },
        (None, None) => Ok(None),
    }
}

/// Links `external_id` to `account` and merges what was kept provisionally (the admin path, and
/// analytics group traits). The link is also written on the account record (`links.<source>_…`)
/// so that tasks and the CRM health sync find the company, and so that a Zendesk organization
/// linked before its first ticket makes Zendesk a connected source of the account (no ticket is
/// then silence); the same value every time, so a repeated link changes nothing.
pub async fn link_and_merge(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    source: LinkSource,
    external_id: &str,
    account: &str,
) -> Result<bool, StoreError> {
    // Linking again on purpose is how an admin lifts an erasure's tombstone.
    links.clear_erased(Some(source), external_id).await?;
    links.clear_erased(None, account).await?;
    let merged = link_merged(accounts, links, source, external_id, account).await?;
    if let Some(name) = record_link_attribute(source) {
        accounts.apply(&AccountChange::new(account).with_fact(name, json!(external_id))).await?;
    }
    Ok(merged)
}

/// The record attribute that shows a source's link (`links.<source>_…` in the account JSON);
/// `None` for the user → group link, which is no link of the account.
pub fn record_link_attribute(source: LinkSource) -> Option<&'static str> {
    match source {
        LinkSource::Stripe => Some(attr::STRIPE_CUSTOMER),
        LinkSource::Zendesk => Some(attr::ZENDESK_ORGANIZATION),
        LinkSource::Analytics => Some(attr::ANALYTICS_GROUP),
        LinkSource::Hubspot => Some(attr::HUBSPOT_COMPANY),
        LinkSource::Salesforce => Some(attr::SALESFORCE_ACCOUNT),
        LinkSource::AnalyticsUser => None,
    }
}

/// Links `external_id` to `account` with what was kept provisionally merged in: merged before
/// the link is written and again after it. A failure anywhere leaves the link unwritten or the
/// merge to redo, and the sender's retry (which finds no link, or links again) completes it;
/// merging only after the link would leave a provisional record behind for good when the merge
/// failed, since the retry finds the link and skips it. The second merge catches what an event
/// stored provisionally between the two steps (usually it finds nothing: one read).
async fn link_merged(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    source: LinkSource,
    external_id: &str,
    account: &str,
) -> Result<bool, StoreError> {
    let before = merge_provisional(accounts, source, external_id, account).await?;
    links.link(source, external_id, account).await?;
    let after = merge_provisional(accounts, source, external_id, account).await?;
    Ok(before || after)
}

/// Closes the race between an event stored under a provisional id and a concurrent one that
/// links its external id. The linking side merges after it writes the link; this side, after it
/// wrote under the provisional id, reads the link again (strongly consistent) and merges when it
/// appeared meanwhile. Whichever of the two finishes second sees the other's write, so no
/// provisional record stays behind. One read, and only for events stored provisionally.
/// Returns the account the record was merged into, if it was.
pub async fn settle_provisional(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    source: LinkSource,
    external_id: Option<&str>,
    stored_under: &str,
) -> Result<Option<String>, StoreError> {
    let Some(external) = external_id.filter(|e| provisional_account_id(source, e) == stored_under) else {
        return Ok(None);
    };
    match links.resolve(source, external).await? {
        Some(account) if account != stored_under => {
            merge_provisional(accounts, source, external, &account).await?;
            Ok(Some(account))
        }
        _ => Ok(None),
    }
}

async fn merge_provisional(
    accounts: &dyn AccountStore,
    source: LinkSource,
    external_id: &str,
    account: &str,
) -> Result<bool, StoreError> {
    let provisional = provisional_account_id(source, external_id);
    let merged = accounts.merge(&provisional, account).await?;
    if merged {
        tracing::info!(source = source.as_str(), external_id, account, "merged provisional record into account");
    }
    Ok(merged)
}

/// Whether an event for `external` (and `account`, when named) concerns an erased account: it
/// is then not applied (logged, answered 2xx as an ignored event, so the sender does not retry).
async fn is_erased(
    links: &dyn LinkStore,
    source: LinkSource,
    external: &str,
    account: Option<&str>,
) -> Result<bool, StoreError> {
    let erased = links.erased(Some(source), external).await?
        || match account {
            Some(account) => links.erased(None, account).await?,
            None => false,
        };
    if erased {
        tracing::warn!(
            source = source.as_str(),
            "event for an erased account ignored: POST /links to link the id again on purpose"
        );
    }
    Ok(erased)
}
