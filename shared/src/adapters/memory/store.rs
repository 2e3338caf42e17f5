//! In-memory adapter: the local runner's default store. Same semantics as DynamoDB, with a
//! mutex standing in for DynamoDB's per-item atomicity.

use crate::app::ports::portfolio::{CrmSyncQueue, MrrLedger, PendingHealth, PortfolioCards};
use crate::app::ports::store::{
    changes_to_replay, AccountLister, AccountScanner, AccountStore, ApplyOutcome, LinkSource, LinkStore, RenewalIndex,
    ScanCursor, ScanPage, SourceRegistry, StoreError, UsageStore, RENEWAL_KEY, RENEWAL_MONTH,
};
use crate::domain::account::{AccountRecord, StoredAccount};
use crate::domain::change::AccountChange;
use crate::domain::connection::{DeploymentSources, Source};
use crate::domain::crm;
use crate::domain::kpi::{self, card_attr, AccountCard, LedgerMonth, MonthTotal};
use crate::domain::privacy::{ErasureAudit, ErasureConfig, ACCOUNT_KIND};
use crate::domain::time::rfc3339;
use crate::domain::usage::{DueDay, UsageDay};
use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryStore {
    pub(super) accounts: Mutex<BTreeMap<String, StoredAccount>>,
    pub(super) links: Mutex<HashMap<(LinkSource, String), String>>,
    /// The renewal index: account id → `renewal_key`. Kept out of the record's attributes, as
    /// DynamoDB keeps its layout attributes out of what `get` returns.
    pub(super) renewals: Mutex<BTreeMap<String, String>>,
    /// The portfolio cards' facts by account, kept out of the record like DynamoDB's layout
    /// attributes.
    pub(super) cards: Mutex<BTreeMap<String, BTreeMap<String, Value>>>,
    /// The MRR ledger by (account, month), and the month totals by (month, currency).
    pub(super) ledger: Mutex<BTreeMap<(String, String), LedgerMonth>>,
    totals: Mutex<BTreeMap<(String, String), (i64, i64)>>,
    /// Tombstones and erasure audits (`privacy.rs`).
    pub(super) privacy: Mutex<MemoryPrivacy>,
    sources: Mutex<DeploymentSources>,
}

/// Tombstones (keyed hashes), erasure audits, and the key to recognise erased ids with.
#[derive(Default)]
pub struct MemoryPrivacy {
    pub(super) erasure: Option<ErasureConfig>,
    pub(super) tombstones: std::collections::BTreeSet<String>,
    pub(super) audits: Vec<ErasureAudit>,
    pub(super) requests: Vec<crate::app::ports::privacy::ErasureRequest>,
}

impl MemoryPrivacy {
    fn hash(&self, source: Option<LinkSource>, id: &str) -> Option<String> {
        let erasure = self.erasure.as_ref()?;
        Some(erasure.key.hash(source.map_or(ACCOUNT_KIND, LinkSource::as_str), id))
    }

    pub(super) fn tombstone_stands(&self, source: Option<LinkSource>, id: &str) -> bool {
        self.erasure.as_ref().is_some_and(|e| e.block)
            && self.hash(source, id).is_some_and(|h| self.tombstones.contains(&h))
    }

    pub(super) fn remove_tombstone(&mut self, source: Option<LinkSource>, id: &str) {
        if let Some(hash) = self.hash(source, id) {
            self.tombstones.remove(&hash);
        }
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

/// Applies `change` to one stored account as DynamoDB's `UpdateItem` does: the guarded group
/// only when newer, the facts always (the layout attributes and the card beside the record, in
/// `derived`), the expirations only with a write that applied. Public so that a store modelled
/// on another layout (the sweep simulation of `benches/sweep_million.rs`) keeps these
/// semantics instead of restating them.
pub fn apply_to_account(account: &mut StoredAccount, change: &AccountChange) -> ApplyOutcome {
    let mut outcome = ApplyOutcome::Applied;
    if let Some(group) = &change.guarded {
        let stored = account.attributes.get(&group.attribute).and_then(AccountChange::stored_version);
        if stored.is_some_and(|v| v >= group.version.as_str()) {
            outcome = ApplyOutcome::Stale;
        } else {
            account.attributes.insert(group.attribute.clone(), group.value.clone());
        }
    }
    for (name, value) in &change.facts {
        if name == RENEWAL_MONTH || name == RENEWAL_KEY || card_attr::is_card(name) {
            account.derived.insert(name.clone(), value.clone());
        } else {
            account.attributes.insert(name.clone(), value.clone());
        }
    }
    if outcome == ApplyOutcome::Applied {
        for name in &change.expired {
            account.attributes.remove(name);
            account.derived.remove(name);
        }
    }
    outcome
}

fn apply_locked(
    accounts: &mut BTreeMap<String, StoredAccount>,
    renewals: &mut BTreeMap<String, String>,
    cards: &mut BTreeMap<String, BTreeMap<String, Value>>,
    change: &AccountChange,
) -> ApplyOutcome {
    let account = accounts
        .entry(change.account_id.clone())
        .or_insert_with(|| StoredAccount { account_id: change.account_id.clone(), ..Default::default() });
    let outcome = apply_to_account(account, change);
    // The indexes kept beside the records: the renewal index and the portfolio cards.
    for (name, value) in &change.facts {
        match name.as_str() {
            RENEWAL_MONTH => {}
            RENEWAL_KEY => {
                renewals.insert(change.account_id.clone(), value.as_str().unwrap_or_default().to_owned());
            }
            card if card_attr::is_card(card) => {
                cards.entry(change.account_id.clone()).or_default().insert(name.clone(), value.clone());
            }
            _ => {}
        }
    }
    if outcome == ApplyOutcome::Applied && change.expired.iter().any(|name| name == RENEWAL_KEY) {
        renewals.remove(&change.account_id);
    }
    outcome
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn apply(&self, change: &AccountChange) -> Result<ApplyOutcome, StoreError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let mut renewals = self.renewals.lock().unwrap_or_else(|e| e.into_inner());
        let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        Ok(apply_locked(&mut accounts, &mut renewals, &mut cards, change))
    }

    async fn get(&self, account_id: &str) -> Result<Option<StoredAccount>, StoreError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        Ok(accounts.get(account_id).cloned())
    }

    async fn merge(&self, from: &str, into: &str) -> Result<bool, StoreError> {
        if from == into {
            return Ok(false);
        }
        {
            let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
            let mut renewals = self.renewals.lock().unwrap_or_else(|e| e.into_inner());
            let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
            let Some(provisional) = accounts.remove(from) else {
                return Ok(false);
            };
            renewals.remove(from);
            cards.remove(from);
            for change in changes_to_replay(&provisional, into) {
                apply_locked(&mut accounts, &mut renewals, &mut cards, &change);
            }
            let target = accounts
                .entry(into.to_owned())
                .or_insert_with(|| StoredAccount { account_id: into.to_owned(), ..Default::default() });
            for (day, usage) in &provisional.usage {
                target.usage.entry(*day).or_default().absorb(usage);
            }
        }
        // The MRR ledger follows the points: the provisional record's goes, the account's is
        // rebuilt with the points it received.
        self.refresh(from).await?;
        self.refresh(into).await?;
        Ok(true)
    }
}

#[async_trait]
impl RenewalIndex for MemoryStore {
    async fn renewing_between(&self, from: i64, to: i64) -> Result<Vec<String>, StoreError> {
        let (low, high) = (rfc3339(from), rfc3339(to));
        let renewals = self.renewals.lock().unwrap_or_else(|e| e.into_inner());
        let mut found: Vec<(&String, &String)> = renewals
            .iter()
            .filter(|(_, key)| key.as_str() >= low.as_str() && key.as_str() < high.as_str())
            .map(|(account, key)| (key, account))
            .collect();
        found.sort();
        Ok(found.into_iter().map(|(_, account)| account.clone()).collect())
    }

    async fn account_item(&self, account_id: &str) -> Result<Option<StoredAccount>, StoreError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        Ok(accounts.get(account_id).map(|a| StoredAccount { usage: Default::default(), ..a.clone() }))
    }
}

#[async_trait]
impl AccountLister for MemoryStore {
    async fn list(&self) -> Result<Vec<StoredAccount>, StoreError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        Ok(accounts.values().cloned().collect())
    }
}

/// The segment an account falls in: a stable hash of its id, as DynamoDB hashes partition keys.
fn segment_of(account_id: &str, total: u32) -> u32 {
    let hash =
        account_id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    (hash % u64::from(total.max(1))) as u32
}

#[async_trait]
impl AccountScanner for MemoryStore {
    async fn scan_segment(
        &self,
        segment: u32,
        total: u32,
        after: Option<&ScanCursor>,
        page_items: Option<i32>,
    ) -> Result<ScanPage, StoreError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let limit = page_items.map_or(usize::MAX, |n| n.max(1) as usize);
        let mut page = ScanPage::default();
        let start = after.map(|c| c.pk.clone());
        let candidates = accounts
            .values()
            .filter(|a| start.as_ref().is_none_or(|s| a.account_id > *s))
            .filter(|a| segment_of(&a.account_id, total) == segment);
        for account in candidates {
            if page.accounts.len() == limit {
                let last = page.accounts.last().map(|a| a.account_id.clone()).unwrap_or_default();
                page.next = Some(ScanCursor { pk: last, sk: String::new() });
                break;
            }
            page.items_read += 1 + account.usage.len() as u64;
            page.accounts.push(account.clone());
        }
        Ok(page)
    }
}

#[async_trait]
impl UsageStore for MemoryStore {
    async fn add_usage(&self, account_id: &str, day: NaiveDate, usage: &UsageDay) -> Result<(), StoreError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let account = accounts
            .entry(account_id.to_owned())
            .or_insert_with(|| StoredAccount { account_id: account_id.to_owned(), ..Default::default() });
        account.usage.entry(day).or_default().absorb(usage);
        Ok(())
    }

    async fn settle_day(&self, account_id: &str, due: &DueDay) -> Result<bool, StoreError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let usage = accounts.get_mut(account_id).and_then(|a| a.usage.get_mut(&due.day));
        match usage {
            Some(usage) if due.still_holds(usage) => {
                crate::domain::usage::settle(usage);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl LinkStore for MemoryStore {
    async fn resolve(&self, source: LinkSource, external_id: &str) -> Result<Option<String>, StoreError> {
        let links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        Ok(links.get(&(source, external_id.to_owned())).cloned())
    }

    async fn link(&self, source: LinkSource, external_id: &str, account_id: &str) -> Result<(), StoreError> {
        let mut links = self.links.lock().unwrap_or_else(|e| e.into_inner());
        links.insert((source, external_id.to_owned()), account_id.to_owned());
        Ok(())
    }

    async fn erased(&self, source: Option<LinkSource>, id: &str) -> Result<bool, StoreError> {
        Ok(self.privacy.lock().unwrap_or_else(|e| e.into_inner()).tombstone_stands(source, id))
    }

    async fn clear_erased(&self, source: Option<LinkSource>, id: &str) -> Result<(), StoreError> {
        self.privacy.lock().unwrap_or_else(|e| e.into_inner()).remove_tombstone(source, id);
        Ok(())
    }
}

#[async_trait]
impl MrrLedger for MemoryStore {
    async fn refresh(&self, account_id: &str) -> Result<usize, StoreError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let (desired, facts) = match accounts.get(account_id) {
            Some(stored) => kpi::account_ledger(&AccountRecord::from_stored(stored, 0)),
            None => (Vec::new(), Vec::new()),
        };
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        let mut cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        let before: Vec<LedgerMonth> =
            ledger.iter().filter(|((account, _), _)| account == account_id).map(|(_, m)| m.clone()).collect();
        let changed = before.iter().filter(|m| !desired.contains(m)).count()
            + desired.iter().filter(|m| !before.contains(m)).count();
        for delta in kpi::totals_delta(&before, &desired) {
            let entry = totals.entry((delta.month, delta.currency)).or_default();
            entry.0 += delta.mrr;
            entry.1 += delta.customers;
        }
        ledger.retain(|(account, _), _| account != account_id);
        for month in desired {
            ledger.insert((account_id.to_owned(), month.month.clone()), month);
        }
        let ledger_facts = [card_attr::CURRENCY, card_attr::MRR, card_attr::STARTED];
        if facts.is_empty() {
            if let Some(card) = cards.get_mut(account_id) {
                card.retain(|name, _| !ledger_facts.contains(&name.as_str()));
            }
            if let Some(account) = accounts.get_mut(account_id) {
                account.derived.retain(|name, _| !ledger_facts.contains(&name.as_str()));
            }
        } else {
            if let Some(account) = accounts.get_mut(account_id) {
                account.derived.extend(facts.iter().cloned());
            }
            cards.entry(account_id.to_owned()).or_default().extend(facts);
        }
        Ok(changed)
    }

    async fn month_totals(&self, through: &str) -> Result<Vec<MonthTotal>, StoreError> {
        let totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        Ok(totals
            .iter()
            .filter(|((month, _), _)| month.as_str() <= through)
            .map(|((month, currency), (mrr, customers))| MonthTotal {
                month: month.clone(),
                currency: currency.clone(),
                mrr: *mrr,
                customers: *customers,
            })
            .collect())
    }

    async fn ledger_between(&self, from: &str, through: &str) -> Result<Vec<LedgerMonth>, StoreError> {
        let ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        Ok(ledger.values().filter(|m| m.month.as_str() >= from && m.month.as_str() <= through).cloned().collect())
    }
}

#[async_trait]
impl PortfolioCards for MemoryStore {
    async fn cards(&self) -> Result<Vec<AccountCard>, StoreError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let renewals = self.renewals.lock().unwrap_or_else(|e| e.into_inner());
        let cards = self.cards.lock().unwrap_or_else(|e| e.into_inner());
        Ok(cards
            .iter()
            .filter(|(_, facts)| facts.contains_key(card_attr::KEY))
            .map(|(account_id, facts)| {
                let mut attributes = facts.clone();
                if let Some(customer) =
                    accounts.get(account_id).and_then(|a| a.attributes.get(crate::domain::account::attr::CUSTOMER))
                {
                    attributes.insert(crate::domain::account::attr::CUSTOMER.to_owned(), customer.clone());
                }
                if let Some(key) = renewals.get(account_id) {
                    attributes.insert(RENEWAL_KEY.to_owned(), Value::String(key.clone()));
                }
                kpi::card_from(account_id, &attributes)
            })
            .collect())
    }
}

#[async_trait]
impl CrmSyncQueue for MemoryStore {
    async fn pending_health(&self, limit: usize) -> Result<Vec<PendingHealth>, StoreError> {
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        Ok(accounts
            .values()
            .filter(|a| a.attributes.contains_key(crm::attr::PENDING))
            .filter_map(|a| {
                let text = |name: &str| a.attributes.get(name).and_then(Value::as_str).map(str::to_owned);
                Some(PendingHealth {
                    account_id: a.account_id.clone(),
                    hubspot_company_id: text(crate::domain::account::attr::HUBSPOT_COMPANY),
                    salesforce_account_id: text(crate::domain::account::attr::SALESFORCE_ACCOUNT),
                    health: serde_json::from_value(a.attributes.get(crm::attr::HEALTH)?.clone()).ok()?,
                })
            })
            .take(limit)
            .collect())
    }

    async fn health_synced(&self, account_id: &str, fp: &str) -> Result<(), StoreError> {
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(account) = accounts.get_mut(account_id) {
            account.attributes.insert(crm::attr::SYNCED.to_owned(), Value::String(fp.to_owned()));
            let marked = account.attributes.get(crm::attr::HEALTH).and_then(|h| h.get("fp")).and_then(Value::as_str);
            if marked == Some(fp) {
                account.attributes.remove(crm::attr::PENDING);
            }
        }
        Ok(())
    }
}

#[async_trait]
impl SourceRegistry for MemoryStore {
    async fn mark_connected(&self, source: Source, since: i64) -> Result<(), StoreError> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let earliest = sources.entry(source).or_insert(since);
        *earliest = (*earliest).min(since);
        Ok(())
    }

    async fn connected_sources(&self) -> Result<DeploymentSources, StoreError> {
        Ok(self.sources.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}
