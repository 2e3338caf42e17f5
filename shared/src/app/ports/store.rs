//! Storage ports, one small trait per capability. Their adapters: `adapters::dynamodb` (AWS and
//! the local runner's `--store dynamodb`) and `adapters::memory` (`--store memory`, the default,
//! and unit tests); one contract test suite (`shared/tests/store_contract.rs`) runs against both.

use crate::domain::account::StoredAccount;
use crate::domain::change::{AccountChange, GuardedGroup, VERSION_FIELD};
use crate::domain::connection::{DeploymentSources, Source};
use crate::domain::renewal;
use crate::domain::usage::{DueDay, UsageDay};
use crate::domain::version::EventVersion;
use async_trait::async_trait;
use chrono::NaiveDate;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} failed: {source}")]
    Dynamo {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("stored item {key} does not have the expected shape: {reason}")]
    Corrupt { key: String, reason: String },
}

/// What applying a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyOutcome {
    /// The guarded group (if any) was written, and the facts.
    Applied,
    /// The guarded group already held this event or a newer one: left as it was. Facts the
    /// record lacked were still recorded.
    Stale,
}

/// Where an external id comes from. Names from the enum (`analytics_user`, ...); `segment` is
/// also accepted for `analytics` where people type a source.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, strum::IntoStaticStr, strum::EnumString, strum::EnumIter,
)]
#[strum(serialize_all = "snake_case")]
pub enum LinkSource {
    Stripe,
    Zendesk,
    #[strum(to_string = "analytics", serialize = "segment")]
    Analytics,
    /// An analytics user's group (from their last `group` call).
    AnalyticsUser,
    Hubspot,
    Salesforce,
}

impl LinkSource {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// A source people name (`POST /links`, `foresight link`): not the internal user → group link.
    pub fn parse(name: &str) -> Option<Self> {
        name.parse().ok().filter(|s| *s != LinkSource::AnalyticsUser)
    }
}

/// Applies changes to account records and reads them back.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Applies a change atomically: the guarded group only if the change is newer, the facts
    /// always. Never a read-then-write: concurrent changes to one account all land.
    async fn apply(&self, change: &AccountChange) -> Result<ApplyOutcome, StoreError>;

    async fn get(&self, account_id: &str) -> Result<Option<StoredAccount>, StoreError>;

    /// Moves everything recorded under `from` (a provisional record kept under an external id),
    /// usage days included, into `into`, with the same guards as [`AccountStore::apply`], then
    /// deletes `from`.
    /// Returns whether there was anything to move. Safe to repeat.
    async fn merge(&self, from: &str, into: &str) -> Result<bool, StoreError>;
}

/// Lists account records (the local runner's `GET /accounts`; sweeps scan in segments).
#[async_trait]
pub trait AccountLister: Send + Sync {
    async fn list(&self) -> Result<Vec<StoredAccount>, StoreError>;
}

/// Where a segment scan stopped: the key of the last item read (an account partition is never
/// split across pages, so resuming after it reads nothing twice).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanCursor {
    pub pk: String,
    pub sk: String,
}

/// One page of a segment scan.
#[derive(Clone, Debug, Default)]
pub struct ScanPage {
    /// Whole accounts (account item with its usage days), each read once.
    pub accounts: Vec<StoredAccount>,
    /// `None` once the segment is finished.
    pub next: Option<ScanCursor>,
    /// Items read (account items, usage days, and anything else the segment holds).
    pub items_read: u64,
    /// Their size by DynamoDB's item-size rules (what read capacity is charged on).
    pub bytes_read: u64,
}

/// Reads the accounts of one parallel-scan segment, page by page (the health sweep's workers).
#[async_trait]
pub trait AccountScanner: Send + Sync {
    /// Reads the page after `after` (from the start when `None`) of `segment` of `total`, with
    /// at most about `page_items` items (`None`: the store's natural page, 1 MB in DynamoDB).
    async fn scan_segment(
        &self,
        segment: u32,
        total: u32,
        after: Option<&ScanCursor>,
        page_items: Option<i32>,
    ) -> Result<ScanPage, StoreError>;
}

/// Product usage per account and day (one item per day in DynamoDB).
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds a day's usage sets to an account in one write; adding the same sets again changes
    /// nothing. Read back with [`AccountStore::get`].
    async fn add_usage(&self, account_id: &str, day: NaiveDate, usage: &UsageDay) -> Result<(), StoreError>;

    /// Drops a day's message fingerprints and adds their number to its settled events
    /// ([`crate::domain::usage::settle`]), if the day is still as `due` read it
    /// ([`DueDay::still_holds`]); `false` (nothing written) if usage was added since.
    async fn settle_day(&self, account_id: &str, due: &DueDay) -> Result<bool, StoreError>;
}

/// Identity links: external id of a source → account id.
#[async_trait]
pub trait LinkStore: Send + Sync {
    async fn resolve(&self, source: LinkSource, external_id: &str) -> Result<Option<String>, StoreError>;
    async fn link(&self, source: LinkSource, external_id: &str, account_id: &str) -> Result<(), StoreError>;

    /// Whether `external_id` (or, with `source` `None`, an account id) was erased and its
    /// tombstone still stands: a later event for it must not re-create the account silently
    /// (`app::privacy`). Stores that keep no tombstones answer false.
    async fn erased(&self, _source: Option<LinkSource>, _id: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    /// Removes the tombstone of `id`, if any: an admin linked it again on purpose.
    async fn clear_erased(&self, _source: Option<LinkSource>, _id: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Which sources this deployment has received data from, and since when (one small item). The
/// webhooks mark their source once per process; the health sweep reads it once per segment, to
/// tell "never connected here" from "not for this account" and to know whether first value is
/// measurable for an account product analytics never saw.
#[async_trait]
pub trait SourceRegistry: Send + Sync {
    /// Records that `source` sent data as old as `since` (Unix seconds); the earliest time is
    /// kept, whatever order processes mark in.
    async fn mark_connected(&self, source: Source, since: i64) -> Result<(), StoreError>;

    async fn connected_sources(&self) -> Result<DeploymentSources, StoreError>;
}

/// Layout attributes of the renewal index (`renewals`, sparse): the partition `renewal_month`
/// (`YYYY-MM`) and the sort key `renewal_key` (`<renewal RFC 3339>#<account id>`).
///
/// How the index is kept (see also the README, "Renewal sweep"): an account's renewal date is
/// the earliest period end of its live subscriptions, which no single billing event knows (each
/// Stripe event is one blind `UpdateItem` of its own subscription). The health sweep, which
/// reads every account whole each day, sets both keys from the record in the one `UpdateItem`
/// it writes anyway (no extra request), and removes them when there is no renewal date (no live
/// subscription). So the index trails the record by at most a sweep: the renewal sweep reads a
/// few catch-up days before each window's day to cover that, and re-reads each account it finds
/// (`GetItem`) and acts on the record's current date, so a stale entry costs one read and never
/// a wrong alert.
pub const RENEWAL_MONTH: &str = "renewal_month";
pub const RENEWAL_KEY: &str = "renewal_key";

/// Adds the renewal index keys for `renewal` (Unix seconds) to a change, or their removal when
/// the account has no renewal date. The keys are written as facts (the same value every time
/// until the date moves); the removal applies with the change's guarded group, as expirations do.
pub fn with_renewal_index(change: AccountChange, renewal: Option<i64>) -> AccountChange {
    match renewal {
        Some(at) => {
            let (month, key) = renewal::index_keys(&change.account_id, at);
            change.with_fact(RENEWAL_MONTH, Value::String(month)).with_fact(RENEWAL_KEY, Value::String(key))
        }
        None => change.with_expired(RENEWAL_MONTH).with_expired(RENEWAL_KEY),
    }
}

/// The renewal sweep's reads: the index by renewal time, and the account item alone.
#[async_trait]
pub trait RenewalIndex: Send + Sync {
    /// Ids of the accounts whose indexed renewal time is in `[from, to)` (Unix seconds), in
    /// renewal order. In DynamoDB, one `Query` of the `renewals` index per month the range
    /// touches (keys only).
    async fn renewing_between(&self, from: i64, to: i64) -> Result<Vec<String>, StoreError>;

    /// The account item without its usage days (one `GetItem`, strongly consistent): what the
    /// renewal sweep needs, at the cost of the account item only.
    async fn account_item(&self, account_id: &str) -> Result<Option<StoredAccount>, StoreError>;
}

/// Splits a stored record into changes that re-apply it elsewhere: one per guarded group
/// (each keeps its own version guard) and one with all the facts. Used by `merge`.
pub fn changes_to_replay(stored: &StoredAccount, into: &str) -> Vec<AccountChange> {
    let mut facts = AccountChange::new(into);
    let mut changes = Vec::new();
    // The index keys name the account they were written for: the next sweep writes the
    // target's own.
    let layout = |name: &str| name == RENEWAL_MONTH || name == RENEWAL_KEY;
    for (name, value) in stored.attributes.iter().filter(|(name, _)| !layout(name)) {
        match AccountChange::stored_version(value).and_then(EventVersion::parse) {
            Some(version) => {
                let mut group = GuardedGroup::new(name.clone(), version, value.clone());
                if let Value::Object(map) = &mut group.value {
                    map.insert(VERSION_FIELD.into(), Value::String(group.version.to_string()));
                }
                changes.push(AccountChange::new(into).with_guarded(group));
            }
            None => facts.facts.push((name.clone(), value.clone())),
        }
    }
    if !facts.facts.is_empty() {
        changes.push(facts);
    }
    changes
}
