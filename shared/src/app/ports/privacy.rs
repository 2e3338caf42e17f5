//! Privacy ports: finding every stored item that names an account (export, erasure), deleting
//! them, the tombstones that stand in for erased ids, and the erasure audit log.

use super::store::StoreError;
use crate::domain::privacy::ErasureAudit;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

/// One stored item, as an export shows it and an erasure deletes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldItem {
    /// The table's role: `accounts` or `outbox`.
    pub table: &'static str,
    /// What the item is (`account`, `usage`, `link`, `mrr_month`, `notification`, `report`, ...).
    pub kind: String,
    /// Its key (`pk`, `sk`).
    pub pk: String,
    pub sk: String,
    /// Every attribute, as JSON.
    pub item: Value,
}

/// One table's items, looked up by what they mention.
#[async_trait]
pub trait HeldData: Send + Sync {
    /// The table's role, as [`HeldItem::table`] names it.
    fn role(&self) -> &'static str;

    /// Every item that names one of `needles` as a whole token, anywhere (keys, attribute
    /// values, nested maps): a full read of the table, so nothing is missed however an item
    /// came to name the account. Tombstones and audit records hold only keyed hashes and never
    /// match.
    async fn find_mentions(&self, needles: &[String]) -> Result<Vec<HeldItem>, StoreError>;

    /// Deletes these items (of this table); an item already gone is not an error.
    async fn delete_items(&self, items: &[HeldItem]) -> Result<(), StoreError>;

    /// Removes these attributes from one item of this table, keeping the rest (a person's
    /// contact facts on an account record); an item or attribute already gone is not an error.
    async fn remove_attributes(&self, item: &HeldItem, names: &[String]) -> Result<(), StoreError>;
}

/// Keyed hashes of erased ids (`ErasureKey::hash`), kept so that a later event for an erased
/// Stripe customer, Zendesk organization or analytics group does not silently re-create the
/// account. Checked by [`super::store::LinkStore::erased`].
#[async_trait]
pub trait Tombstones: Send + Sync {
    async fn bury(&self, hashes: &[String], at: i64) -> Result<(), StoreError>;
}

/// An erasure asked for by an event (a Stripe `customer.deleted`) and not done yet: the webhook
/// that receives the event may not read every table, so it leaves the request for the privacy
/// function, whose erasure of the account also removes the request (it names the account).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErasureRequest {
    pub account_id: String,
    /// Who asked, for the audit record (`stripe customer.deleted evt_…`).
    pub actor: String,
    pub requested_at: i64,
}

/// Erasures requested and not done yet.
#[async_trait]
pub trait ErasureRequests: Send + Sync {
    /// Records the request (again: harmless, the latest actor wins).
    async fn request_erasure(&self, request: &ErasureRequest) -> Result<(), StoreError>;

    /// Every request not done yet, oldest first.
    async fn pending_erasures(&self) -> Result<Vec<ErasureRequest>, StoreError>;
}

/// Where erasures are recorded (no personal data: see [`ErasureAudit`]).
#[async_trait]
pub trait ErasureLog: Send + Sync {
    async fn record_erasure(&self, audit: &ErasureAudit) -> Result<(), StoreError>;
}
