//! Privacy in memory (`--store memory`): the same item shapes as DynamoDB's (`pk`, `sk`, kind,
//! attributes), so an export reads alike on both stores, and the same tombstones and audits.

use super::outbox::MemoryOutbox;
use super::store::MemoryStore;
use crate::app::ports::privacy::{ErasureLog, ErasureRequest, ErasureRequests, HeldData, HeldItem, Tombstones};
use crate::app::ports::store::{LinkSource, StoreError};
use crate::domain::privacy::{value_mentions, ErasureAudit, ErasureConfig};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::collections::BTreeSet;

impl MemoryStore {
    /// Recognises erased ids by their keyed hashes.
    pub fn with_erasure(self, erasure: ErasureConfig) -> Self {
        self.privacy.lock().unwrap_or_else(|e| e.into_inner()).erasure = Some(erasure);
        self
    }

    /// The erasure audits recorded (tests).
    pub fn erasure_audits(&self) -> Vec<ErasureAudit> {
        self.privacy.lock().unwrap_or_else(|e| e.into_inner()).audits.clone()
    }
}

fn held(table: &'static str, kind: &str, pk: String, sk: String, mut item: Value) -> HeldItem {
    if let Value::Object(map) = &mut item {
        map.insert("pk".into(), json!(pk));
        map.insert("sk".into(), json!(sk));
    }
    HeldItem { table, kind: kind.to_owned(), pk, sk, item }
}

#[async_trait]
impl HeldData for MemoryStore {
    fn role(&self) -> &'static str {
        "accounts"
    }

    async fn find_mentions(&self, needles: &[String]) -> Result<Vec<HeldItem>, StoreError> {
        let mut items = Vec::new();
        for (id, account) in self.accounts.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let mut record = serde_json::Map::from_iter(account.attributes.clone());
            record.insert("account_id".into(), json!(id));
            items.push(held("accounts", "account", format!("ACCOUNT#{id}"), "ACCOUNT".into(), Value::Object(record)));
            for (day, usage) in &account.usage {
                let mut item = serde_json::to_value(usage).unwrap_or_default();
                item["account_id"] = json!(id);
                items.push(held("accounts", "usage", format!("ACCOUNT#{id}"), format!("USAGE#{day}"), item));
            }
        }
        for ((id, month), ledger) in self.ledger.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let item = serde_json::to_value(ledger).unwrap_or_default();
            items.push(held("accounts", "mrr_month", format!("ACCOUNT#{id}"), format!("MRR#{month}"), item));
        }
        for ((source, external), id) in self.links.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let pk = format!("LINK#{}#{external}", source.as_str());
            items.push(held("accounts", "link", pk, "LINK".into(), json!({"type": "link", "account_id": id})));
        }
        for request in &self.privacy.lock().unwrap_or_else(|e| e.into_inner()).requests {
            let item = json!({"type": "erasure_request", "account_id": request.account_id, "actor": request.actor});
            let sk = request.account_id.clone();
            items.push(held("accounts", "erasure_request", "ERASURE_REQUEST".into(), sk, item));
        }
        Ok(items.into_iter().filter(|item| value_mentions(&item.item, needles)).collect())
    }

    async fn delete_items(&self, items: &[HeldItem]) -> Result<(), StoreError> {
        for item in items {
            if item.pk == "ERASURE_REQUEST" {
                let mut privacy = self.privacy.lock().unwrap_or_else(|e| e.into_inner());
                privacy.requests.retain(|request| request.account_id != item.sk);
            } else if let Some(rest) = item.pk.strip_prefix("LINK#") {
                if let Some((source, external)) = rest.split_once('#') {
                    if let Ok(source) = source.parse::<LinkSource>() {
                        self.links.lock().unwrap_or_else(|e| e.into_inner()).remove(&(source, external.to_owned()));
                    }
                }
            } else if let Some(id) = item.pk.strip_prefix("ACCOUNT#") {
                let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
                if item.sk == "ACCOUNT" {
                    accounts.remove(id);
                    self.renewals.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
                    self.cards.lock().unwrap_or_else(|e| e.into_inner()).remove(id);
                } else if let (Some(day), Some(account)) = (item.sk.strip_prefix("USAGE#"), accounts.get_mut(id)) {
                    account.usage.retain(|d, _| d.to_string() != day);
                }
                // Ledger months go through the ledger's refresh (the month totals follow).
            }
        }
        Ok(())
    }

    async fn remove_attributes(&self, item: &HeldItem, names: &[String]) -> Result<(), StoreError> {
        if let (Some(id), "ACCOUNT") = (item.pk.strip_prefix("ACCOUNT#"), item.sk.as_str()) {
            if let Some(account) = self.accounts.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id) {
                for name in names {
                    account.attributes.remove(name);
                }
            }
        }
        Ok(())
    }
}

#[async_trait]
impl Tombstones for MemoryStore {
    async fn bury(&self, hashes: &[String], _at: i64) -> Result<(), StoreError> {
        self.privacy.lock().unwrap_or_else(|e| e.into_inner()).tombstones.extend(hashes.iter().cloned());
        Ok(())
    }
}

#[async_trait]
impl ErasureRequests for MemoryStore {
    async fn request_erasure(&self, request: &ErasureRequest) -> Result<(), StoreError> {
        let mut privacy = self.privacy.lock().unwrap_or_else(|e| e.into_inner());
        privacy.requests.retain(|r| r.account_id != request.account_id);
        privacy.requests.push(request.clone());
        Ok(())
    }

    async fn pending_erasures(&self) -> Result<Vec<ErasureRequest>, StoreError> {
        let mut requests = self.privacy.lock().unwrap_or_else(|e| e.into_inner()).requests.clone();
        requests.sort_by_key(|r| r.requested_at);
        Ok(requests)
    }
}

#[async_trait]
impl ErasureLog for MemoryStore {
    async fn record_erasure(&self, audit: &ErasureAudit) -> Result<(), StoreError> {
        self.privacy.lock().unwrap_or_else(|e| e.into_inner()).audits.push(audit.clone());
        Ok(())
    }
}

#[async_trait]
impl HeldData for MemoryOutbox {
    fn role(&self) -> &'static str {
        "outbox"
    }

    async fn find_mentions(&self, needles: &[String]) -> Result<Vec<HeldItem>, StoreError> {
        let mut items = Vec::new();
        for entry in self.entries.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let item = serde_json::to_value(entry).unwrap_or_default();
            let pk = format!("NOTIFICATION#{}", entry.dedupe_key);
            items.push(held("outbox", "notification", pk, "NOTIFICATION".into(), item));
        }
        for report in self.reports.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let item = serde_json::to_value(report).unwrap_or_default();
            items.push(held("outbox", "report", format!("REPORT#{}", report.key), "REPORT".into(), item));
        }
        Ok(items.into_iter().filter(|item| value_mentions(&item.item, needles)).collect())
    }

    async fn delete_items(&self, items: &[HeldItem]) -> Result<(), StoreError> {
        let gone: BTreeSet<&str> = items.iter().map(|item| item.pk.as_str()).collect();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|entry| !gone.contains(format!("NOTIFICATION#{}", entry.dedupe_key).as_str()));
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        reports.retain(|report| !gone.contains(format!("REPORT#{}", report.key).as_str()));
        Ok(())
    }

    /// Outbox entries are typed records without per-person attributes: an entry that names a
    /// person goes whole, through `delete_items`.
    async fn remove_attributes(&self, _item: &HeldItem, _names: &[String]) -> Result<(), StoreError> {
        Ok(())
    }
}
