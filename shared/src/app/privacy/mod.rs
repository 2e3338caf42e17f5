//! Privacy use cases (GDPR): export everything held about an account (art. 15) and erase it
//! (art. 17), leaving only keyed hashes — tombstones that stop a later event from silently
//! re-creating the account, and an audit record of what was erased, when and by whom.
//!
//! Both start from the same lookup ([`holdings`]): every item of every table that names the
//! account or one of its external ids. So an export lists exactly what an erasure deletes.

use crate::app::ingest::identity::{provisional_account_id, record_link_attribute};
use crate::app::ingest::WebhookResponse;
use crate::app::ports::portfolio::MrrLedger;
use crate::app::ports::privacy::{ErasureLog, ErasureRequest, ErasureRequests, HeldData, HeldItem, Tombstones};
use crate::app::ports::store::{LinkSource, StoreError};
use crate::domain::contact::Contact;
use crate::domain::playbook::attr::{CONTACT, EMAILED};
use crate::domain::privacy::{value_mentions, ErasureAudit, ErasureKey, InventoryEntry, ACCOUNT_KIND, INVENTORY};
use crate::domain::time;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use strum::IntoEnumIterator;

/// The variable whose value keys the hashes an erasure leaves (shared with the signing of
/// unsubscribe tokens and outbound webhooks).
pub const ERASURE_KEY_VAR: &str = "FORESIGHT_SIGNING_SECRET";

/// What the privacy use cases read and write.
pub struct PrivacyPorts<'a> {
    /// Every table: the account table first (links are found there).
    pub tables: Vec<&'a dyn HeldData>,
    /// The MRR ledger: an erased account's months leave the month totals with it.
    pub ledger: &'a dyn MrrLedger,
    pub tombstones: &'a dyn Tombstones,
    pub log: &'a dyn ErasureLog,
}

#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    #[error("{ERASURE_KEY_VAR} is not set: an erasure keeps keyed hashes and needs the key")]
    MissingKey,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every item held for an account, and the external ids it is known by.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Holdings {
    pub items: Vec<HeldItem>,
    pub external_ids: BTreeSet<(LinkSource, String)>,
}

/// The external ids an item shows for `account_id`: a link to it, or the record's link
/// attributes (`link_stripe`, ...).
fn external_ids_of(item: &HeldItem, account_id: &str) -> Vec<(LinkSource, String)> {
    let mut found = Vec::new();
    if let Some(rest) = item.pk.strip_prefix("LINK#") {
        let owner = item.item.get("account_id").and_then(|v| v.as_str());
        if let (Some((source, external)), Some(owner)) = (rest.split_once('#'), owner) {
            if owner == account_id {
                if let Ok(source) = source.parse::<LinkSource>() {
                    found.push((source, external.to_owned()));
                }
            }
        }
    }
    if item.pk == format!("ACCOUNT#{account_id}") && item.kind == "account" {
        for source in LinkSource::iter() {
            let value = record_link_attribute(source).and_then(|name| item.item.get(name)).and_then(|v| v.as_str());
            if let Some(external) = value {
                found.push((source, external.to_owned()));
            }
        }
    }
    found
}

/// Whether an item that mentions one of the needles really is the account's. Account-table
/// items are judged by their key: the account's own partition, the provisional partitions of
/// its external ids, its links. A ticket id of another account that happens to equal a
/// Zendesk organization id must not take that account's record with it.
fn belongs(item: &HeldItem, account_id: &str, external_ids: &BTreeSet<(LinkSource, String)>) -> bool {
    if item.table != "accounts" {
        return true;
    }
    if let Some(owner) = item.pk.strip_prefix("ACCOUNT#") {
        return owner == account_id
            || external_ids.iter().any(|(source, external)| provisional_account_id(*source, external) == owner);
    }
    if let Some(rest) = item.pk.strip_prefix("LINK#") {
        let owner = item.item.get("account_id").and_then(|v| v.as_str());
        let named = rest
            .split_once('#')
            .and_then(|(source, external)| Some((source.parse::<LinkSource>().ok()?, external.to_owned())))
            .is_some_and(|id| external_ids.contains(&id));
        return owner == Some(account_id) || named;
    }
    true
}

/// Finds every item held for `account_id` in every table: a first pass over the account table
/// learns its external ids (links, the record's link attributes), then every table is read
/// for the account id and those ids.
pub async fn holdings(ports: &PrivacyPorts<'_>, account_id: &str) -> Result<Holdings, StoreError> {
    let Some((accounts, _)) = ports.tables.split_first() else {
        return Ok(Holdings::default());
    };
    let first = accounts.find_mentions(&[account_id.to_owned()]).await?;
    let external_ids: BTreeSet<(LinkSource, String)> =
        first.iter().flat_map(|item| external_ids_of(item, account_id)).collect();
    let mut needles = vec![account_id.to_owned()];
    needles.extend(external_ids.iter().map(|(_, id)| id.clone()));
    needles.sort();
    needles.dedup();
    let mut items = Vec::new();
    for (i, table) in ports.tables.iter().enumerate() {
        let found = if i == 0 && needles.len() == 1 { first.clone() } else { table.find_mentions(&needles).await? };
        items.extend(found.into_iter().filter(|item| belongs(item, account_id, &external_ids)));
    }
    Ok(Holdings { items, external_ids })
}

/// One line of an export's data inventory: the kind's description and how many items of it
/// the export holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InventoryLine {
    #[serde(flatten)]
    pub entry: InventoryEntry,
    pub items: usize,
}

/// Everything held about an account (GDPR art. 15), with its data inventory.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountExport {
    pub account_id: String,
    pub exported_at: String,
    pub inventory: Vec<InventoryLine>,
    pub items: Vec<HeldItem>,
}

/// Every item held for the account; `None` when nothing is held.
pub async fn export(ports: &PrivacyPorts<'_>, account_id: &str, now: i64) -> Result<Option<AccountExport>, StoreError> {
    let held = holdings(ports, account_id).await?;
    if held.items.is_empty() {
        return Ok(None);
    }
    let count = |kind: &str| held.items.iter().filter(|item| item.kind == kind).count();
    let mut inventory: Vec<InventoryLine> =
        INVENTORY.iter().map(|entry| InventoryLine { entry: *entry, items: count(entry.kind) }).collect();
    // A kind the inventory does not describe yet is still listed, never hidden.
    let described: BTreeSet<&str> = INVENTORY.iter().map(|e| e.kind).collect();
    let others: BTreeSet<&str> =
        held.items.iter().map(|item| item.kind.as_str()).filter(|kind| !described.contains(kind)).collect();
    for kind in others {
        let table = held.items.iter().find(|item| item.kind == kind).map_or("", |item| item.table);
        let entry = InventoryEntry { kind: "other", table, what: "", source: "", retention: "" };
        inventory.push(InventoryLine { entry, items: count(kind) });
    }
    Ok(Some(AccountExport {
        account_id: account_id.to_owned(),
        exported_at: time::rfc3339(now),
        inventory,
        items: held.items,
    }))
}

/// Erases the account (GDPR art. 17): tombstones first (so no event re-creates it meanwhile),
/// then every item of every table, the MRR ledger through its own refresh (the month totals
/// follow), and last the audit record. Safe to repeat; `None` when nothing was held.
pub async fn erase(
    ports: &PrivacyPorts<'_>,
    key: Option<&ErasureKey>,
    account_id: &str,
    actor: &str,
    now: i64,
) -> Result<Option<ErasureAudit>, PrivacyError> {
    let key = key.ok_or(PrivacyError::MissingKey)?;
    let held = holdings(ports, account_id).await?;
    if held.items.is_empty() {
        return Ok(None);
    }
    let mut hashes = vec![key.hash(ACCOUNT_KIND, account_id)];
    hashes.extend(held.external_ids.iter().map(|(source, id)| key.hash(source.as_str(), id)));
    ports.tombstones.bury(&hashes, now).await?;
    // Ledger months go through the ledger's refresh (below), which takes them out of the
    // month totals in the same transaction.
    let is_ledger = |item: &HeldItem| item.kind == "mrr_month";
    for table in &ports.tables {
        let mine: Vec<HeldItem> =
            held.items.iter().filter(|item| item.table == table.role() && !is_ledger(item)).cloned().collect();
        table.delete_items(&mine).await?;
    }
    let partitions: BTreeSet<&str> = held
        .items
        .iter()
        .filter(|item| item.table == "accounts")
        .filter_map(|item| item.pk.strip_prefix("ACCOUNT#"))
        .collect();
    for partition in partitions {
        ports.ledger.refresh(partition).await?;
    }
    let mut erased: BTreeMap<String, u64> = BTreeMap::new();
    for item in &held.items {
        *erased.entry(item.kind.clone()).or_default() += 1;
    }
    let audit = ErasureAudit {
        subject: hashes[0].clone(),
        erased_at: time::rfc3339(now),
        actor: actor.to_owned(),
        erased,
        tombstones: hashes.len() as u64,
    };
    ports.log.record_erasure(&audit).await?;
    tracing::info!(subject = %audit.subject, actor, erased = ?audit.erased, "account erased");
    Ok(Some(audit))
}

/// The erasure a Stripe delivery asks for when the deployment erases on `customer.deleted`:
/// `Some` for an accepted `customer.deleted` of a known account, `None` for anything else.
pub fn customer_deleted_request(answer: &WebhookResponse, now: i64) -> Option<ErasureRequest> {
    let body = &answer.body;
    if answer.status != 200 || body["type"] != "customer.deleted" {
        return None;
    }
    let account_id = body["account_id"].as_str().filter(|id| !id.is_empty())?;
    let event_id = body["event_id"].as_str().unwrap_or_default();
    Some(ErasureRequest {
        account_id: account_id.to_owned(),
        actor: format!("stripe customer.deleted {event_id}"),
        requested_at: now,
    })
}

/// Erases every account an event asked to erase ([`ErasureRequests`]), oldest request first.
/// Each erasure takes its request with the account's other items (the request names the
/// account); a request for an account already erased finds only itself and goes the same way.
pub async fn erase_requested(
    ports: &PrivacyPorts<'_>,
    requests: &dyn ErasureRequests,
    key: Option<&ErasureKey>,
    now: i64,
) -> Result<Vec<ErasureAudit>, PrivacyError> {
    let mut done = Vec::new();
    for request in requests.pending_erasures().await? {
        if let Some(audit) = erase(ports, key, &request.account_id, &request.actor, now).await? {
            done.push(audit);
        }
    }
    Ok(done)
}

/// What erasing one person found and did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PersonErasure {
    pub audit: ErasureAudit,
    /// Items that still name the address but belong to an account (a usage day's user set, an
    /// account record): listed for the operator, never deleted whole for one person's sake.
    pub still_named_in: Vec<HeldReference>,
}

/// Where an item is, without its content.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HeldReference {
    pub table: &'static str,
    pub kind: String,
    pub pk: String,
    pub sk: String,
}

/// Kinds of item that are about one person and go whole with them: contacts, and links whose
/// external id is the address (an analytics user identified by email).
fn is_personal(item: &HeldItem, address: &str) -> bool {
    item.kind == "contact"
        || (item.kind == "link"
            && item.pk.rsplit_once('#').is_some_and(|(_, external)| external.eq_ignore_ascii_case(address)))
}

/// The attributes of an account record that are about the person with this contact key: the
/// contact itself (`ct#<key>`) and the playbook emails sent to them (`em#<key>#<time>`). Their
/// unsubscribe (`un#<key>`, a time under a pseudonymous key) stays: it is what keeps a later
/// `identify` of the same address from being emailed again.
fn person_attributes(item: &HeldItem, contact_key: &str) -> Vec<String> {
    if item.kind != "account" {
        return Vec::new();
    }
    let contact = format!("{CONTACT}{contact_key}");
    let emailed = format!("{EMAILED}{contact_key}#");
    let names = item.item.as_object().into_iter().flat_map(|attributes| attributes.keys());
    names.filter(|name| **name == contact || name.starts_with(&emailed)).cloned().collect()
}

/// Erases one person wherever held (`DELETE /contacts?email=`): every item about them
/// (contacts, links keyed by the address), their contact attributes on account records (the
/// record itself stays), a tombstone of the address, and an audit record (the address as a
/// keyed hash). `None` when nothing names the address.
pub async fn erase_person(
    ports: &PrivacyPorts<'_>,
    key: Option<&ErasureKey>,
    address: &str,
    actor: &str,
    now: i64,
) -> Result<Option<PersonErasure>, PrivacyError> {
    let key = key.ok_or(PrivacyError::MissingKey)?;
    let needles = [address.trim().to_owned()];
    let mut found = Vec::new();
    for table in &ports.tables {
        found.extend(table.find_mentions(&needles).await?);
    }
    if found.is_empty() {
        return Ok(None);
    }
    let hash = key.hash("contact", &needles[0].to_lowercase());
    ports.tombstones.bury(std::slice::from_ref(&hash), now).await?;
    let (personal, elsewhere): (Vec<HeldItem>, Vec<HeldItem>) =
        found.into_iter().partition(|item| is_personal(item, &needles[0]));
    for table in &ports.tables {
        let mine: Vec<HeldItem> = personal.iter().filter(|item| item.table == table.role()).cloned().collect();
        table.delete_items(&mine).await?;
    }
    let mut erased: BTreeMap<String, u64> = BTreeMap::new();
    for item in &personal {
        *erased.entry(item.kind.clone()).or_default() += 1;
    }
    let contact_key = Contact::key_of(&needles[0]);
    let mut still_named = Vec::new();
    for mut item in elsewhere {
        let names = person_attributes(&item, &contact_key);
        if !names.is_empty() {
            let table = ports.tables.iter().find(|table| table.role() == item.table);
            if let Some(table) = table {
                table.remove_attributes(&item, &names).await?;
            }
            for name in &names {
                let kind = if name.starts_with(EMAILED) { "playbook_email" } else { "contact" };
                *erased.entry(kind.to_owned()).or_default() += 1;
                if let Some(attributes) = item.item.as_object_mut() {
                    attributes.remove(name);
                }
            }
        }
        // Listed only if the address is still named once the person's attributes are gone.
        if value_mentions(&item.item, &needles) {
            still_named.push(item);
        }
    }
    let audit =
        ErasureAudit { subject: hash, erased_at: time::rfc3339(now), actor: actor.to_owned(), erased, tombstones: 1 };
    ports.log.record_erasure(&audit).await?;
    let still_named_in = still_named
        .into_iter()
        .map(|item| HeldReference { table: item.table, kind: item.kind, pk: item.pk, sk: item.sk })
        .collect();
    Ok(Some(PersonErasure { audit, still_named_in }))
}
