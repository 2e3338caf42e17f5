//! DynamoDB adapter: one table, single-table design (documented in the README).
//!
//! | item     | `pk`                               | `sk`      | attributes                          |
//! |----------|------------------------------------|-----------|-------------------------------------|
//! | account  | `ACCOUNT#<account id>`             | `ACCOUNT` | `type`, `account_id`, groups, facts |
//! | usage    | `ACCOUNT#<account id>`             | `USAGE#<day>` | `type`, `account_id`, `day`, sets: `mids`, `users`, `feat`, `fv`, `seen`; `n` (the settled `mids`); `w` (when usage was last added) |
//! | link     | `LINK#<source>#<external id>`      | `LINK`    | `type`, `account_id`                |
//! | sources  | `DEPLOYMENT`                       | `SOURCES` | `type`, one number per source: since |
//!
//! An account's items share a partition, so one `Query` (or one `Scan` page) reads the account
//! with its usage days.
//!
//! Each event is one `UpdateItem`: `SET` the guarded group and the facts, on the condition
//! `attribute_not_exists(group) OR group.v < :version`. When the condition fails (a duplicate
//! or an older event), DynamoDB returns the stored item for free
//! (`ReturnValuesOnConditionCheckFailure`), and only facts it lacks are written in a second
//! request — which happens only on that rare path.

use crate::app::ports::portfolio::MrrLedger;
use crate::app::ports::store::{
    changes_to_replay, AccountLister, AccountScanner, AccountStore, ApplyOutcome, LinkSource, LinkStore, RenewalIndex,
    ScanCursor, ScanPage, SourceRegistry, StoreError, UsageStore, RENEWAL_KEY, RENEWAL_MONTH,
};
use crate::domain::account::attr;
use crate::domain::account::StoredAccount;
use crate::domain::change::{AccountChange, VERSION_FIELD};
use crate::domain::connection::{DeploymentSources, Source};
use crate::domain::crm;
use crate::domain::kpi::card_attr;
use crate::domain::time;
use crate::domain::usage::{DueDay, UsageDay};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConsumedCapacity, Delete, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ReturnConsumedCapacity, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType, TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub(super) const PK: &str = "pk";
pub(super) const SK: &str = "sk";
pub(super) const TYPE: &str = "type";
pub(super) const ACCOUNT_ID: &str = "account_id";
const ACCOUNT_SK: &str = "ACCOUNT";
const LINK_SK: &str = "LINK";
const USAGE_SK: &str = "USAGE#";
/// Usage days expire (DynamoDB TTL on `expires_at`) this long after their day: the longest
/// usage window read is 30 days (the usage drop compares two weeks, the trend 28 days); the
/// rest is margin for late batches. The cost model (`foresight cost`) assumes the same 35 days.
/// A day that holds a first-value time is kept (see `add_usage`).
pub const USAGE_RETENTION_SECONDS: i64 = 35 * 86_400;
/// The TTL attribute of both tables.
pub const EXPIRES_AT: &str = "expires_at";
/// The deployment's connected sources (one item; the scan skips it: not an account's).
const DEPLOYMENT_PK: &str = "DEPLOYMENT";
const SOURCES_SK: &str = "SOURCES";
/// The renewal sweep's sparse index by renewal month (`renewal_month`, `renewal_key` =
/// `<renewal RFC 3339>#<account id>`), keys only. Kept by the health sweep's write of each
/// account (see [`RENEWAL_KEY`] for why there), queried by the renewal sweep.
pub const RENEWAL_INDEX: &str = "renewals";
/// The sparse index of portfolio cards and ledger months (`adapters::dynamodb::portfolio`).
pub const PORTFOLIO_INDEX: &str = "portfolio";
/// A ledger month's fingerprint (its optimistic-concurrency token).
pub(super) const FINGERPRINT: &str = "fp";

/// The attributes the portfolio index carries besides its keys: the cards', the ledger
/// months', and the CRM health mark's.
pub const PROJECTION: [&str; 23] = [
    ACCOUNT_ID,
    TYPE,
    attr::CUSTOMER,
    RENEWAL_KEY,
    card_attr::CURRENCY,
    card_attr::MRR,
    card_attr::STARTED,
    card_attr::BAND,
    card_attr::SCORE,
    card_attr::CHANGE,
    card_attr::FIRST_VALUE,
    card_attr::STAGE,
    card_attr::NPS,
    crm::attr::HEALTH,
    crm::attr::PENDING,
    attr::HUBSPOT_COMPANY,
    attr::SALESFORCE_ACCOUNT,
    "month",
    "currency",
    "mrr_start",
    "mrr_end",
    "moves",
    FINGERPRINT,
];

/// The portfolio index, for `ensure_table` (the template declares the same).
fn portfolio_index() -> GlobalSecondaryIndex {
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
    };
    let mut include = Projection::builder().projection_type(ProjectionType::Include);
    for name in PROJECTION {
        include = include.non_key_attributes(name);
    }
    GlobalSecondaryIndex::builder()
        .index_name(PORTFOLIO_INDEX)
        .key_schema(key(card_attr::KEY, KeyType::Hash))
        .key_schema(key(PK, KeyType::Range))
        .projection(include.build())
        .build()
        .expect("index is complete")
}

/// Attributes that belong to the item layout, not to the account record.
const LAYOUT_ATTRIBUTES: [&str; 6] = [PK, SK, TYPE, ACCOUNT_ID, RENEWAL_MONTH, RENEWAL_KEY];

/// Read and write requests and capacity units consumed, as DynamoDB reports them
/// (`ReturnConsumedCapacity`). Units are kept in thousandths.
#[derive(Debug, Default)]
pub struct CapacityMeter {
    write_requests: AtomicU64,
    write_milli_units: AtomicU64,
    read_requests: AtomicU64,
    read_milli_units: AtomicU64,
    read_items: AtomicU64,
}

/// A snapshot of a [`CapacityMeter`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CapacityReading {
    pub write_requests: u64,
    pub write_units: f64,
    pub read_requests: u64,
    pub read_units: f64,
    /// Items returned by reads (queries, scans, index queries, gets).
    pub read_items: u64,
}

impl CapacityMeter {
    pub(super) fn record_write(&self, consumed: Option<&ConsumedCapacity>) {
        self.write_requests.fetch_add(1, Ordering::Relaxed);
        let units = consumed.and_then(|c| c.capacity_units()).unwrap_or(0.0);
        self.write_milli_units.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }

    pub(super) fn record_read(&self, consumed: Option<&ConsumedCapacity>, items: usize) {
        self.read_requests.fetch_add(1, Ordering::Relaxed);
        self.read_items.fetch_add(items as u64, Ordering::Relaxed);
        let units = consumed.and_then(|c| c.capacity_units()).unwrap_or(0.0);
        self.read_milli_units.fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
    }

    pub fn reading(&self) -> CapacityReading {
        CapacityReading {
            write_requests: self.write_requests.load(Ordering::Relaxed),
            write_units: self.write_milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
            read_requests: self.read_requests.load(Ordering::Relaxed),
            read_units: self.read_milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
            read_items: self.read_items.load(Ordering::Relaxed),
        }
    }
}

#[derive(Clone)]
pub struct DynamoStore {
    pub(super) client: Client,
    pub(super) table: String,
    pub(super) meter: Arc<CapacityMeter>,
    /// Tombstones of erased ids (`erase.rs`); `None`: none are checked (no key to hash with).
    pub(super) erasure: Option<crate::domain::privacy::ErasureConfig>,
    /// How long usage days are kept after their day (their `expires_at`, DynamoDB TTL).
    pub(super) usage_retention: i64,
}

pub(super) fn dynamo_error<E>(operation: &'static str, err: SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    let message = DisplayErrorContext(&err).to_string();
    StoreError::Dynamo { operation, source: message.into() }
}

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

pub(super) fn account_key(account_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.into(), s(&format!("ACCOUNT#{account_id}"))), (SK.into(), s(ACCOUNT_SK))])
}

fn usage_key(account_id: &str, day: NaiveDate) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.into(), s(&format!("ACCOUNT#{account_id}"))), (SK.into(), s(&format!("{USAGE_SK}{day}")))])
}

fn string_set(item: &HashMap<String, AttributeValue>, name: &str) -> std::collections::BTreeSet<String> {
    item.get(name).and_then(|v| v.as_ss().ok()).into_iter().flatten().cloned().collect()
}

fn number_set(item: &HashMap<String, AttributeValue>, name: &str) -> std::collections::BTreeSet<i64> {
    item.get(name).and_then(|v| v.as_ns().ok()).into_iter().flatten().filter_map(|n| n.parse().ok()).collect()
}

/// A number attribute, if the item holds one that parses as `T`.
fn number<T: std::str::FromStr>(item: &HashMap<String, AttributeValue>, name: &str) -> Option<T> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn usage_from_item(item: &HashMap<String, AttributeValue>) -> UsageDay {
    UsageDay {
        message_ids: string_set(item, "mids"),
        settled_events: number(item, "n").unwrap_or(0),
        users: string_set(item, "users"),
        features: string_set(item, "feat"),
        first_value_at: number_set(item, "fv"),
        seen_at: number_set(item, "seen"),
        last_added_at: number(item, "w"),
    }
}

/// Folds the items of one or more account partitions into accounts.
fn fold_items<'a>(
    items: impl IntoIterator<Item = &'a HashMap<String, AttributeValue>>,
) -> Result<Vec<StoredAccount>, StoreError> {
    let mut accounts: std::collections::BTreeMap<String, StoredAccount> = Default::default();
    for item in items {
        let sk = item.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or("");
        if sk == ACCOUNT_SK {
            let stored = from_item(item)?;
            let entry = accounts.entry(stored.account_id.clone()).or_default();
            entry.account_id = stored.account_id;
            entry.attributes = stored.attributes;
            entry.derived = stored.derived;
        } else if let Some(day) = sk.strip_prefix(USAGE_SK) {
            let Some(account_id) = item.get(ACCOUNT_ID).and_then(|v| v.as_s().ok()) else { continue };
            let entry = accounts.entry(account_id.clone()).or_default();
            entry.account_id = account_id.clone();
            if let Some(day) = time::parse_day(day) {
                entry.usage.insert(day, usage_from_item(item));
            }
        }
    }
    Ok(accounts.into_values().collect())
}

fn link_key(source: LinkSource, external_id: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.into(), s(&format!("LINK#{}#{external_id}", source.as_str()))), (SK.into(), s(LINK_SK))])
}

pub(super) fn to_attribute(value: &Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value)
        .map_err(|e| StoreError::Corrupt { key: "(change)".into(), reason: e.to_string() })
}

pub(super) fn from_item(item: &HashMap<String, AttributeValue>) -> Result<StoredAccount, StoreError> {
    let account_id = match item.get(ACCOUNT_ID) {
        Some(AttributeValue::S(id)) => id.clone(),
        _ => return Err(StoreError::Corrupt { key: format!("{:?}", item.get(PK)), reason: "no account_id".into() }),
    };
    let mut stored = StoredAccount { account_id, ..Default::default() };
    for (name, value) in item {
        let derived = [RENEWAL_MONTH, RENEWAL_KEY].contains(&name.as_str()) || card_attr::is_card(name);
        if !derived && LAYOUT_ATTRIBUTES.contains(&name.as_str()) {
            continue;
        }
        if let Ok(json) = serde_dynamo::from_attribute_value::<_, Value>(value.clone()) {
            let into = if derived { &mut stored.derived } else { &mut stored.attributes };
            into.insert(name.clone(), json);
        }
    }
    Ok(stored)
}

/// Builds `SET` clauses for a change's layout attributes and facts, `REMOVE` clauses for its
/// expired facts, and `ADD` clauses for a usage day's sets.
#[derive(Default)]
struct UpdateBuilder {
    clauses: Vec<String>,
    removals: Vec<String>,
    adds: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl UpdateBuilder {
    fn new(account_id: &str) -> Self {
        let mut b = UpdateBuilder::default();
        b.set("t", TYPE, s("account"));
        b.set("aid", ACCOUNT_ID, s(account_id));
        b
    }

    fn set(&mut self, placeholder: &str, name: &str, value: AttributeValue) {
        self.clauses.push(format!("#{placeholder} = :{placeholder}"));
        self.names.insert(format!("#{placeholder}"), name.to_owned());
        self.values.insert(format!(":{placeholder}"), value);
    }

    fn remove(&mut self, placeholder: &str, name: &str) {
        self.removals.push(format!("#{placeholder}"));
        self.names.insert(format!("#{placeholder}"), name.to_owned());
    }

    fn expression(&self) -> String {
        let mut expression = format!("SET {}", self.clauses.join(", "));
        if !self.removals.is_empty() {
            expression = format!("{expression} REMOVE {}", self.removals.join(", "));
        }
        if !self.adds.is_empty() {
            expression = format!("{expression} ADD {}", self.adds.join(", "));
        }
        expression
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            meter: Arc::new(CapacityMeter::default()),
            erasure: None,
            usage_retention: USAGE_RETENTION_SECONDS,
        }
    }

    /// Recognises erased ids by their keyed hashes (`FORESIGHT_SIGNING_SECRET`).
    pub fn with_erasure(mut self, erasure: crate::domain::privacy::ErasureConfig) -> Self {
        self.erasure = Some(erasure);
        self
    }

    /// Keeps usage days `seconds` after their day instead of [`USAGE_RETENTION_SECONDS`].
    pub fn with_usage_retention(mut self, seconds: i64) -> Self {
        self.usage_retention = seconds;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every item a Query matches, page after page, each page's read capacity metered.
    pub(super) async fn query_all(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = query
                .clone()
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| dynamo_error("Query", e))?;
            self.meter.record_read(out.consumed_capacity(), out.items().len());
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// Writes an item whole (`PutItem`), metered.
    pub(super) async fn put(&self, item: HashMap<String, AttributeValue>) -> Result<(), StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("PutItem", e))?;
        self.meter.record_write(out.consumed_capacity());
        Ok(())
    }

    pub fn meter(&self) -> Arc<CapacityMeter> {
        self.meter.clone()
    }

    /// Creates the table (on-demand, with the planned renewal index) if it does not exist.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(dynamo_error("DescribeTable", e)),
        }
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set")
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind).build().expect("name and type are set")
        };
        let renewals = GlobalSecondaryIndex::builder()
            .index_name(RENEWAL_INDEX)
            .key_schema(key(RENEWAL_MONTH, KeyType::Hash))
            .key_schema(key(RENEWAL_KEY, KeyType::Range))
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .expect("index is complete");
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK))
            .attribute_definitions(attr(SK))
            .attribute_definitions(attr(RENEWAL_MONTH))
            .attribute_definitions(attr(RENEWAL_KEY))
            .attribute_definitions(attr(card_attr::KEY))
            .key_schema(key(PK, KeyType::Hash))
            .key_schema(key(SK, KeyType::Range))
            .global_secondary_indexes(renewals)
            .global_secondary_indexes(portfolio_index())
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            // Another process created it first.
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
            Err(e) => Err(dynamo_error("CreateTable", e)),
        }
    }

    /// One `UpdateItem` of the item at `key` (an account's or a usage day's).
    async fn update(
        &self,
        key: HashMap<String, AttributeValue>,
        b: UpdateBuilder,
        condition: Option<String>,
    ) -> Result<(), SdkError<UpdateItemError>> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(b.expression())
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(b.names))
            .set_expression_attribute_values(Some(b.values))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match &result {
            Ok(out) => self.meter.record_write(out.consumed_capacity()),
            // A failed conditional write still consumes capacity; the error does not report
            // it, so count the request with the one unit it costs at least.
            Err(_) => self.meter.record_write(Some(&ConsumedCapacity::builder().capacity_units(1.0).build())),
        }
        result.map(|_| ())
    }

    /// The write that adds a day's sets, with its type, ids and expiry (not its time).
    fn usage_update(&self, account_id: &str, day: NaiveDate, usage: &UsageDay) -> UpdateBuilder {
        let mut b = UpdateBuilder::default();
        b.set("t", TYPE, s("usage"));
        b.set("aid", ACCOUNT_ID, s(account_id));
        b.set("day", "day", s(&day.to_string()));
        // Retention: the day expires once no window needs it — unless it holds a first-value
        // time, which the lifecycle needs for good. TTL only acts on a number, so such a day's
        // `expires_at` becomes a string; a later write of the same day keeps whatever is there.
        b.names.insert("#exp".into(), EXPIRES_AT.into());
        if usage.first_value_at.is_empty() {
            b.clauses.push("#exp = if_not_exists(#exp, :exp)".into());
            let expires = time::day_start(day) + self.usage_retention;
            b.values.insert(":exp".into(), AttributeValue::N(expires.to_string()));
        } else {
            b.clauses.push("#exp = :exp".into());
            b.values.insert(":exp".into(), s("kept: first value"));
        }
        // ADD on sets is idempotent; DynamoDB refuses empty sets, so those are left out.
        let strings = [("mids", &usage.message_ids), ("users", &usage.users), ("feat", &usage.features)];
        let numbers = [("fv", &usage.first_value_at), ("seen", &usage.seen_at)];
        for (name, set) in strings.into_iter().filter(|(_, set)| !set.is_empty()) {
            b.adds.push(format!("#{name} :{name}"));
            b.names.insert(format!("#{name}"), name.into());
            b.values.insert(format!(":{name}"), AttributeValue::Ss(set.iter().cloned().collect()));
        }
        for (name, set) in numbers.into_iter().filter(|(_, set)| !set.is_empty()) {
            b.adds.push(format!("#{name} :{name}"));
            b.names.insert(format!("#{name}"), name.into());
            b.values.insert(format!(":{name}"), AttributeValue::Ns(set.iter().map(i64::to_string).collect()));
        }
        // Settled events come only from a merged account's days (the fold adds fingerprints).
        if usage.settled_events > 0 {
            b.adds.push("#n :n".into());
            b.names.insert("#n".into(), "n".into());
            b.values.insert(":n".into(), AttributeValue::N(usage.settled_events.to_string()));
        }
        b
    }

    fn add_facts(b: &mut UpdateBuilder, facts: &[(String, Value)]) -> Result<(), StoreError> {
        for (i, (name, value)) in facts.iter().enumerate() {
            b.set(&format!("f{i}"), name, to_attribute(value)?);
        }
        Ok(())
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn apply(&self, change: &AccountChange) -> Result<ApplyOutcome, StoreError> {
        let mut b = UpdateBuilder::new(&change.account_id);
        Self::add_facts(&mut b, &change.facts)?;
        for (i, name) in change.expired.iter().enumerate() {
            b.remove(&format!("x{i}"), name);
        }
        let Some(group) = &change.guarded else {
            self.update(account_key(&change.account_id), b, None).await.map_err(|e| dynamo_error("UpdateItem", e))?;
            return Ok(ApplyOutcome::Applied);
        };
        b.set("g", &group.attribute, to_attribute(&group.value)?);
        b.names.insert("#v".into(), VERSION_FIELD.into());
        b.values.insert(":v".into(), s(group.version.as_str()));
        let condition = "attribute_not_exists(#g) OR #g.#v < :v".to_owned();
        let err = match self.update(account_key(&change.account_id), b, Some(condition)).await {
            Ok(()) => return Ok(ApplyOutcome::Applied),
            Err(e) => e,
        };
        let old = match err.as_service_error() {
            Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                failed.item().cloned().unwrap_or_default()
            }
            _ => return Err(dynamo_error("UpdateItem", err)),
        };
        // Stale: record only the facts the stored item lacks (usually none, so no write).
        let missing: Vec<(String, Value)> = change
            .facts
            .iter()
            .filter(|(name, value)| {
                let stored = old.get(name).and_then(|v| serde_dynamo::from_attribute_value::<_, Value>(v.clone()).ok());
                stored.as_ref() != Some(value)
            })
            .cloned()
            .collect();
        if !missing.is_empty() {
            let mut b = UpdateBuilder::new(&change.account_id);
            Self::add_facts(&mut b, &missing)?;
            self.update(account_key(&change.account_id), b, None).await.map_err(|e| dynamo_error("UpdateItem", e))?;
        }
        Ok(ApplyOutcome::Stale)
    }

    async fn get(&self, account_id: &str) -> Result<Option<StoredAccount>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(&format!("ACCOUNT#{account_id}")))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        Ok(fold_items(&items)?.into_iter().next())
    }

    async fn merge(&self, from: &str, into: &str) -> Result<bool, StoreError> {
        if from == into {
            return Ok(false);
        }
        let Some(provisional) = self.get(from).await? else {
            return Ok(false);
        };
        if !provisional.attributes.is_empty() {
            for change in changes_to_replay(&provisional, into) {
                self.apply(&change).await?;
            }
        }
        for (day, usage) in &provisional.usage {
            // The sets move idempotently (ADD of a set twice is the set); a settled count
            // would not, when two merges of one provisional record race or a merge is retried
            // after a failure: it moves in one transaction with the deletion of its day, which
            // only the first can make.
            let sets = UsageDay { settled_events: 0, ..usage.clone() };
            self.add_usage(into, *day, &sets).await?;
            if usage.settled_events > 0 {
                self.move_settled_count(from, into, *day, usage.settled_events).await?;
            }
        }
        let keys = std::iter::once(account_key(from)).chain(provisional.usage.keys().map(|day| usage_key(from, *day)));
        for key in keys {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .send()
                .await
                .map_err(|e| dynamo_error("DeleteItem", e))?;
        }
        // The MRR ledger follows the points: the provisional record's goes (with its month
        // totals), the account's is rebuilt with the points it received.
        self.refresh(from).await?;
        self.refresh(into).await?;
        Ok(true)
    }
}

impl DynamoStore {
    /// Adds a provisional day's settled count to the account's day and deletes the provisional
    /// day, in one transaction conditioned on the provisional day still holding that count: a
    /// second attempt finds it gone and changes nothing.
    async fn move_settled_count(&self, from: &str, into: &str, day: NaiveDate, count: u64) -> Result<(), StoreError> {
        let add = Update::builder()
            .table_name(&self.table)
            .set_key(Some(usage_key(into, day)))
            .update_expression("ADD #n :n")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
            .build()
            .map_err(|e| StoreError::Dynamo { operation: "TransactWriteItems", source: e.into() })?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(usage_key(from, day)))
            .condition_expression("#n = :n")
            .expression_attribute_names("#n", "n")
            .expression_attribute_values(":n", AttributeValue::N(count.to_string()))
            .build()
            .map_err(|e| StoreError::Dynamo { operation: "TransactWriteItems", source: e.into() })?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(add).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_transaction_canceled_exception()) => Ok(()),
            Err(e) => Err(dynamo_error("TransactWriteItems", e)),
        }
    }
}

#[async_trait]
impl RenewalIndex for DynamoStore {
    async fn renewing_between(&self, from: i64, to: i64) -> Result<Vec<String>, StoreError> {
        // `<from>` sorts before every `<from>#<account>`; `<to - 1 s>$` after every
        // `<to - 1 s>#<account>` ('$' follows '#'): BETWEEN them is exactly `[from, to)`.
        let low = time::rfc3339(from);
        let high = format!("{}$", time::rfc3339(to - 1));
        let mut accounts = Vec::new();
        for month in crate::domain::renewal::months_between(from, to) {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(RENEWAL_INDEX)
                .key_condition_expression("#m = :m AND #k BETWEEN :low AND :high")
                .expression_attribute_names("#m", RENEWAL_MONTH)
                .expression_attribute_names("#k", RENEWAL_KEY)
                .expression_attribute_values(":m", s(&month))
                .expression_attribute_values(":low", s(&low))
                .expression_attribute_values(":high", s(&high));
            for item in self.query_all(query).await? {
                if let Some(id) = string_attr(&item, PK).strip_prefix("ACCOUNT#") {
                    accounts.push(id.to_owned());
                }
            }
        }
        Ok(accounts)
    }

    async fn account_item(&self, account_id: &str) -> Result<Option<StoredAccount>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(account_key(account_id)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        self.meter.record_read(out.consumed_capacity(), usize::from(out.item().is_some()));
        out.item().map(from_item).transpose()
    }
}

#[async_trait]
impl AccountLister for DynamoStore {
    async fn list(&self) -> Result<Vec<StoredAccount>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#t IN (:account, :usage)")
                .expression_attribute_names("#t", TYPE)
                .expression_attribute_values(":account", s("account"))
                .expression_attribute_values(":usage", s("usage"))
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| dynamo_error("Scan", e))?;
            self.meter.record_read(out.consumed_capacity(), out.items().len());
            items.extend(out.items().iter().cloned());
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        fold_items(&items)
    }
}

/// An item's size by DynamoDB's rules: attribute names plus values (strings and binaries by
/// length, numbers about one byte per two digits plus one, maps and lists 3 bytes plus one
/// per element). Read and write capacity are charged on it.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> u64 {
    fn value_size(v: &AttributeValue) -> u64 {
        match v {
            AttributeValue::S(s) => s.len() as u64,
            AttributeValue::N(n) => (n.trim_start_matches('-').len() as u64).div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len() as u64,
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::Ss(v) => v.iter().map(|s| s.len() as u64).sum(),
            AttributeValue::Ns(v) => v.iter().map(|n| (n.len() as u64).div_ceil(2) + 1).sum(),
            AttributeValue::Bs(v) => v.iter().map(|b| b.as_ref().len() as u64).sum(),
            AttributeValue::M(m) => 3 + m.iter().map(|(k, v)| k.len() as u64 + value_size(v) + 1).sum::<u64>(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| value_size(v) + 1).sum::<u64>(),
            _ => 0,
        }
    }
    item.iter().map(|(k, v)| k.len() as u64 + value_size(v)).sum()
}

pub(super) fn string_attr<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> &'a str {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).unwrap_or("")
}

#[async_trait]
impl AccountScanner for DynamoStore {
    async fn scan_segment(
        &self,
        segment: u32,
        total: u32,
        after: Option<&ScanCursor>,
        page_items: Option<i32>,
    ) -> Result<ScanPage, StoreError> {
        let start = after.map(|c| HashMap::from([(PK.to_owned(), s(&c.pk)), (SK.to_owned(), s(&c.sk))]));
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .segment(segment as i32)
            .total_segments(total as i32)
            .set_exclusive_start_key(start)
            .set_limit(page_items)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("Scan", e))?;
        self.meter.record_read(out.consumed_capacity(), out.items().len());
        let mut items = out.items().to_vec();
        let mut next = out
            .last_evaluated_key()
            .map(|key| ScanCursor { pk: string_attr(key, PK).to_owned(), sk: string_attr(key, SK).to_owned() });
        // A page can end inside an account's partition (its usage days follow the account
        // item). Read the rest of that partition now and resume the scan after it, so that every
        // account is scored whole and no item is read twice.
        if let Some(cursor) = next.as_mut().filter(|c| c.pk.starts_with("ACCOUNT#")) {
            let rest = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#pk = :pk AND #sk > :sk")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(&cursor.pk))
                .expression_attribute_values(":sk", s(&cursor.sk));
            items.extend(self.query_all(rest).await?);
            if let Some(last) = items.last().filter(|i| string_attr(i, PK) == cursor.pk) {
                cursor.sk = string_attr(last, SK).to_owned();
            }
        }
        let bytes_read = items.iter().map(item_size).sum();
        Ok(ScanPage { accounts: fold_items(&items)?, next, items_read: items.len() as u64, bytes_read })
    }
}

#[async_trait]
impl UsageStore for DynamoStore {
    async fn add_usage(&self, account_id: &str, day: NaiveDate, usage: &UsageDay) -> Result<(), StoreError> {
        // When usage was last added, which the fingerprints' window counts from, only moves
        // forward: a merge carries the provisional day's older time, and two writers' clocks
        // differ. A write whose time is older than the stored one is refused whole (nothing of
        // it written) and sent again without its time.
        if let Some(added) = usage.last_added_at {
            let mut b = self.usage_update(account_id, day, usage);
            b.set("w", "w", AttributeValue::N(added.to_string()));
            let forward = "attribute_not_exists(#w) OR #w <= :w".to_owned();
            match self.update(usage_key(account_id, day), b, Some(forward)).await {
                Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {}
                out => return out.map_err(|e| dynamo_error("UpdateItem", e)),
            }
        }
        let b = self.usage_update(account_id, day, usage);
        self.update(usage_key(account_id, day), b, None).await.map_err(|e| dynamo_error("UpdateItem", e))
    }

    async fn settle_day(&self, account_id: &str, due: &DueDay) -> Result<bool, StoreError> {
        let mut b = UpdateBuilder::default();
        b.clauses.push("#n = if_not_exists(#n, :zero) + :count".into());
        b.removals.push("#mids".into());
        b.names.extend([("#n".into(), "n".into()), ("#mids".into(), "mids".into()), ("#w".into(), "w".into())]);
        b.values.insert(":zero".into(), AttributeValue::N("0".into()));
        b.values.insert(":count".into(), AttributeValue::N(due.fingerprints.to_string()));
        // The condition keeps a message added since the sweep read the day (its fingerprint
        // would otherwise go uncounted) and a second delivery since (which starts the window
        // again): the next sweep settles the day when it is due.
        let added_as_read = match due.last_added_at {
            Some(added) => {
                b.values.insert(":w".into(), AttributeValue::N(added.to_string()));
                "#w = :w"
            }
            None => "attribute_not_exists(#w)",
        };
        let condition = format!("size(#mids) = :count AND {added_as_read}");
        match self.update(usage_key(account_id, due.day), b, Some(condition)).await {
            Ok(()) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(dynamo_error("UpdateItem", e)),
        }
    }
}

#[async_trait]
impl LinkStore for DynamoStore {
    async fn resolve(&self, source: LinkSource, external_id: &str) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(link_key(source, external_id)))
            .consistent_read(true)
            .projection_expression("#a")
            .expression_attribute_names("#a", ACCOUNT_ID)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        self.meter.record_read(out.consumed_capacity(), usize::from(out.item().is_some()));
        Ok(out.item().and_then(|i| i.get(ACCOUNT_ID)).and_then(|v| v.as_s().ok()).cloned())
    }

    async fn erased(&self, source: Option<LinkSource>, id: &str) -> Result<bool, StoreError> {
        self.tombstone_stands(source, id).await
    }

    async fn clear_erased(&self, source: Option<LinkSource>, id: &str) -> Result<(), StoreError> {
        self.remove_tombstone(source, id).await
    }

    async fn link(&self, source: LinkSource, external_id: &str, account_id: &str) -> Result<(), StoreError> {
        let mut item = link_key(source, external_id);
        item.insert(TYPE.into(), s("link"));
        item.insert(ACCOUNT_ID.into(), s(account_id));
        self.put(item).await
    }
}

fn sources_key() -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.into(), s(DEPLOYMENT_PK)), (SK.into(), s(SOURCES_SK))])
}

#[async_trait]
impl SourceRegistry for DynamoStore {
    async fn mark_connected(&self, source: Source, since: i64) -> Result<(), StoreError> {
        // One conditional write keeps the earliest time: a later or equal one changes nothing.
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(sources_key()))
            .update_expression("SET #t = :t, #s = :s")
            .condition_expression("attribute_not_exists(#s) OR #s > :s")
            .expression_attribute_names("#t", TYPE)
            .expression_attribute_names("#s", source.as_str())
            .expression_attribute_values(":t", s("deployment"))
            .expression_attribute_values(":s", AttributeValue::N(since.to_string()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(o) => {
                self.meter.record_write(o.consumed_capacity());
                Ok(())
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                self.meter.record_write(Some(&ConsumedCapacity::builder().capacity_units(1.0).build()));
                Ok(())
            }
            Err(e) => Err(dynamo_error("UpdateItem", e)),
        }
    }

    async fn connected_sources(&self) -> Result<DeploymentSources, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(sources_key()))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        self.meter.record_read(out.consumed_capacity(), usize::from(out.item().is_some()));
        let item = out.item().cloned().unwrap_or_default();
        Ok(Source::all()
            .filter_map(|source| {
                let since = item.get(source.as_str())?.as_n().ok()?.parse().ok()?;
                Some((source, since))
            })
            .collect())
    }
}
