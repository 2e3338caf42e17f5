//! The portfolio in the account table (README, "Portfolio KPIs"):
//!
//! | item          | `pk`                   | `sk`                             | attributes |
//! |---------------|------------------------|----------------------------------|------------|
//! | ledger month  | `ACCOUNT#<account id>` | `MRR#<YYYY-MM>`                  | `type` = `mrr_month`, `account_id`, `kpi` = `MRR#<YYYY-MM>`, `month`, `currency`, `mrr_start`, `mrr_end`, `moves`, `fp` |
//! | month total   | `KPI`                  | `MONTH#<YYYY-MM>#<currency>`     | `type` = `mrr_total`, `mrr_month`, `currency`, `mrr`, `customers` (net changes) |
//!
//! Ledger months sit in the account's own partition, so the account's `Query` (an export, an
//! erasure) finds them with its other items. One sparse index, `portfolio` (`kpi` + `pk`), reads
//! both what is per account and what is per month: `kpi` = `card` on account items (the card's
//! attributes, the record's `customer` and `renewal_key`, and the CRM health mark while it is
//! pending) and `kpi` = `MRR#<YYYY-MM>` on ledger months. One index, because CloudFormation adds
//! a single global secondary index per table update: an existing stack upgrades in one deploy.
//!
//! A refresh rewrites only the months that changed, each `Put`/`Delete` conditioned on the
//! fingerprint it read, and adds the same changes to the month totals, in one
//! `TransactWriteItems`: the totals always equal the sum of the ledger, and a concurrent refresh
//! of the same account fails its condition and reads again.

use super::store::{
    account_key, dynamo_error, from_item, s, string_attr, to_attribute, DynamoStore, ACCOUNT_ID, FINGERPRINT, PK,
    PORTFOLIO_INDEX, SK, TYPE,
};
use crate::app::ports::portfolio::{CrmSyncQueue, MrrLedger, PendingHealth, PortfolioCards};
use crate::app::ports::store::StoreError;
use crate::domain::account::{attr, AccountRecord};
use crate::domain::crm;
use crate::domain::kpi::{self, card_attr, AccountCard, LedgerMonth, Month, MonthTotal};
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const LEDGER_SK: &str = "MRR#";
const TOTALS_PK: &str = "KPI";
/// Months per transaction (two items each at most, within DynamoDB's 100).
const MONTHS_PER_TRANSACTION: usize = 40;
/// Reads and retries of a refresh whose write met a concurrent one.
const REFRESH_ATTEMPTS: usize = 5;

fn ledger_key(account_id: &str, month: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.into(), s(&format!("ACCOUNT#{account_id}"))), (SK.into(), s(&format!("{LEDGER_SK}{month}")))])
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { key: key.to_owned(), reason: e.to_string() }
}

fn month_item(m: &LedgerMonth) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(m).map_err(|e| corrupt(&m.month, e))?;
    item.extend(ledger_key(&m.account_id, &m.month));
    item.insert(TYPE.into(), s("mrr_month"));
    item.insert(card_attr::KEY.into(), s(&format!("{LEDGER_SK}{}", m.month)));
    item.insert(FINGERPRINT.into(), s(&m.fingerprint()));
    Ok(item)
}

fn month_from_item(item: &HashMap<String, AttributeValue>) -> Result<LedgerMonth, StoreError> {
    serde_dynamo::from_item(item.clone()).map_err(|e| corrupt(string_attr(item, PK), e))
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
}

fn json_attributes(item: &HashMap<String, AttributeValue>) -> BTreeMap<String, Value> {
    item.iter()
        .filter_map(|(k, v)| Some((k.clone(), serde_dynamo::from_attribute_value::<_, Value>(v.clone()).ok()?)))
        .collect()
}

/// Whether a transaction was refused because a condition failed (a concurrent refresh).
fn condition_failed(e: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>) -> bool {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed") || r.code() == Some("TransactionConflict")),
        _ => false,
    }
}

impl DynamoStore {
    /// The account's stored ledger months (strongly consistent), with their fingerprints.
    async fn stored_ledger(&self, account_id: &str) -> Result<Vec<(LedgerMonth, String)>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(&format!("ACCOUNT#{account_id}")))
            .expression_attribute_values(":sk", s(LEDGER_SK))
            .consistent_read(true);
        self.query_all(query)
            .await?
            .iter()
            .map(|item| Ok((month_from_item(item)?, string_attr(item, FINGERPRINT).to_owned())))
            .collect()
    }

    /// The account item as stored (strongly consistent), card attributes included.
    async fn raw_account(&self, account_id: &str) -> Result<Option<HashMap<String, AttributeValue>>, StoreError> {
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
        Ok(out.item().cloned())
    }

    /// One transaction: the months of `chunk` replaced, their totals adjusted. `Ok(false)` when a
    /// condition failed (someone else wrote first).
    async fn replace_months(
        &self,
        account_id: &str,
        before: &BTreeMap<String, (LedgerMonth, String)>,
        after: &BTreeMap<String, LedgerMonth>,
        chunk: &[String],
    ) -> Result<bool, StoreError> {
        let mut items = Vec::new();
        let (mut old, mut new) = (Vec::new(), Vec::new());
        for month in chunk {
            let stored = before.get(month);
            let condition_values = |b: Option<&(LedgerMonth, String)>| match b {
                Some((_, fp)) => ("#fp = :fp", Some(fp.clone())),
                None => ("attribute_not_exists(#pk)", None),
            };
            let (condition, fp) = condition_values(stored);
            let mut names = HashMap::from([("#pk".to_owned(), PK.to_owned())]);
            let mut values = HashMap::new();
            if let Some(fp) = fp {
                names.insert("#fp".into(), FINGERPRINT.into());
                values.insert(":fp".to_owned(), s(&fp));
            }
            let names =
                if condition.contains("#pk") { names } else { names.into_iter().filter(|(k, _)| k != "#pk").collect() };
            let values = (!values.is_empty()).then_some(values);
            match after.get(month) {
                Some(m) => {
                    let put = Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(month_item(m)?))
                        .condition_expression(condition)
                        .set_expression_attribute_names(Some(names))
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(|e| corrupt(month, e))?;
                    items.push(TransactWriteItem::builder().put(put).build());
                    new.push(m.clone());
                }
                None => {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(ledger_key(account_id, month)))
                        .condition_expression(condition)
                        .set_expression_attribute_names(Some(names))
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(|e| corrupt(month, e))?;
                    items.push(TransactWriteItem::builder().delete(delete).build());
                }
            }
            old.extend(stored.map(|(m, _)| m.clone()));
        }
        for delta in kpi::totals_delta(&old, &new) {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(HashMap::from([
                    (PK.to_owned(), s(TOTALS_PK)),
                    (SK.to_owned(), s(&format!("MONTH#{}#{}", delta.month, delta.currency))),
                ])))
                .update_expression("SET #t = :t, #m = :m, #c = :c ADD #mrr :mrr, #cu :cu")
                .expression_attribute_names("#t", TYPE)
                .expression_attribute_names("#m", "mrr_month")
                .expression_attribute_names("#c", "currency")
                .expression_attribute_names("#mrr", "mrr")
                .expression_attribute_names("#cu", "customers")
                .expression_attribute_values(":t", s("mrr_total"))
                .expression_attribute_values(":m", s(&delta.month))
                .expression_attribute_values(":c", s(&delta.currency))
                .expression_attribute_values(":mrr", AttributeValue::N(delta.mrr.to_string()))
                .expression_attribute_values(":cu", AttributeValue::N(delta.customers.to_string()))
                .build()
                .map_err(|e| corrupt(&delta.month, e))?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let units: f64 = out.consumed_capacity().iter().filter_map(ConsumedCapacity::capacity_units).sum();
                self.meter.record_write(Some(&ConsumedCapacity::builder().capacity_units(units).build()));
                Ok(true)
            }
            Err(e) if condition_failed(&e) => {
                self.meter.record_write(None);
                Ok(false)
            }
            Err(e) => Err(dynamo_error("TransactWriteItems", e)),
        }
    }

    /// Sets the card's ledger facts on the account item when they differ (never creates the
    /// item: an account merged away has none).
    async fn write_card(
        &self,
        account_id: &str,
        raw: &HashMap<String, AttributeValue>,
        facts: &[(String, Value)],
    ) -> Result<(), StoreError> {
        let stored = json_attributes(raw);
        let changed: Vec<&(String, Value)> = facts.iter().filter(|(n, v)| stored.get(n) != Some(v)).collect();
        if changed.is_empty() {
            return Ok(());
        }
        let mut clauses = Vec::new();
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(account_key(account_id)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", PK)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        for (i, (name, value)) in changed.iter().enumerate() {
            clauses.push(format!("#c{i} = :c{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), name.as_str())
                .expression_attribute_values(format!(":c{i}"), to_attribute(value)?);
        }
        match update.update_expression(format!("SET {}", clauses.join(", "))).send().await {
            Ok(out) => {
                self.meter.record_write(out.consumed_capacity());
                Ok(())
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(dynamo_error("UpdateItem", e)),
        }
    }
}

#[async_trait]
impl MrrLedger for DynamoStore {
    async fn refresh(&self, account_id: &str) -> Result<usize, StoreError> {
        for _ in 0..REFRESH_ATTEMPTS {
            // The ledger first, then the points: points only grow, so points read after the
            // ledger include whatever the refresh that wrote it had seen.
            let before: BTreeMap<String, (LedgerMonth, String)> =
                self.stored_ledger(account_id).await?.into_iter().map(|(m, fp)| (m.month.clone(), (m, fp))).collect();
            let raw = self.raw_account(account_id).await?;
            let (desired, facts) = match &raw {
                Some(item) => kpi::account_ledger(&AccountRecord::from_stored(&from_item(item)?, 0)),
                None => (Vec::new(), Vec::new()),
            };
            let after: BTreeMap<String, LedgerMonth> = desired.into_iter().map(|m| (m.month.clone(), m)).collect();
            let months: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
            let changed: Vec<String> =
                months.into_iter().filter(|m| before.get(*m).map(|(b, _)| b) != after.get(*m)).cloned().collect();
            let mut clean = true;
            for chunk in changed.chunks(MONTHS_PER_TRANSACTION) {
                if !self.replace_months(account_id, &before, &after, chunk).await? {
                    clean = false;
                    break;
                }
            }
            if !clean {
                continue;
            }
            if let Some(raw) = &raw {
                self.write_card(account_id, raw, &facts).await?;
            }
            return Ok(changed.len());
        }
        Err(StoreError::Dynamo {
            operation: "TransactWriteItems",
            source: format!("the MRR ledger of {account_id} kept changing under {REFRESH_ATTEMPTS} refreshes").into(),
        })
    }

    async fn month_totals(&self, through: &str) -> Result<Vec<MonthTotal>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :low AND :high")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", s(TOTALS_PK))
            .expression_attribute_values(":low", s("MONTH#"))
            // Currency codes are lower-case letters, all before `~`.
            .expression_attribute_values(":high", s(&format!("MONTH#{through}#~")));
        Ok(self
            .query_all(query)
            .await?
            .iter()
            .map(|item| MonthTotal {
                month: string_attr(item, "mrr_month").to_owned(),
                currency: string_attr(item, "currency").to_owned(),
                mrr: number(item, "mrr"),
                customers: number(item, "customers"),
            })
            .collect())
    }

    async fn ledger_between(&self, from: &str, through: &str) -> Result<Vec<LedgerMonth>, StoreError> {
        let (Some(first), Some(last)) = (Month::parse(from), Month::parse(through)) else {
            return Err(corrupt(from, format!("months {from:?} to {through:?} are not YYYY-MM")));
        };
        let mut months = Vec::new();
        let mut month = first;
        while month <= last {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(PORTFOLIO_INDEX)
                .key_condition_expression("#k = :k")
                .expression_attribute_names("#k", card_attr::KEY)
                .expression_attribute_values(":k", s(&format!("{LEDGER_SK}{}", month.key())));
            for item in self.query_all(query).await? {
                months.push(month_from_item(&item)?);
            }
            month = month.plus(1);
        }
        Ok(months)
    }
}

#[async_trait]
impl PortfolioCards for DynamoStore {
    async fn cards(&self) -> Result<Vec<AccountCard>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(PORTFOLIO_INDEX)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", card_attr::KEY)
            .expression_attribute_values(":k", s(card_attr::CARD));
        Ok(self
            .query_all(query)
            .await?
            .iter()
            .map(|item| kpi::card_from(string_attr(item, ACCOUNT_ID), &json_attributes(item)))
            .collect())
    }
}

#[async_trait]
impl CrmSyncQueue for DynamoStore {
    async fn pending_health(&self, limit: usize) -> Result<Vec<PendingHealth>, StoreError> {
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(PORTFOLIO_INDEX)
                .key_condition_expression("#k = :k")
                .filter_expression("#p = :p")
                .expression_attribute_names("#k", card_attr::KEY)
                .expression_attribute_values(":k", s(card_attr::CARD))
                .expression_attribute_names("#p", crm::attr::PENDING)
                .expression_attribute_values(":p", s(crm::attr::PENDING_VALUE))
                .limit(limit.clamp(1, 1000) as i32)
                .set_exclusive_start_key(start)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| dynamo_error("Query", e))?;
            self.meter.record_read(out.consumed_capacity(), out.items().len());
            for item in out.items() {
                let attributes = json_attributes(item);
                let text = |name: &str| attributes.get(name).and_then(Value::as_str).map(str::to_owned);
                let Some(health) =
                    attributes.get(crm::attr::HEALTH).and_then(|h| serde_json::from_value(h.clone()).ok())
                else {
                    continue;
                };
                found.push(PendingHealth {
                    account_id: string_attr(item, ACCOUNT_ID).to_owned(),
                    hubspot_company_id: text(attr::HUBSPOT_COMPANY),
                    salesforce_account_id: text(attr::SALESFORCE_ACCOUNT),
                    health,
                });
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() || found.len() >= limit {
                found.truncate(limit);
                return Ok(found);
            }
        }
    }

    async fn health_synced(&self, account_id: &str, fp: &str) -> Result<(), StoreError> {
        // The mark goes only if it still asks for this health; else the CRM shows `fp` and the
        // newer health waits for the next run.
        let cleared = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(account_key(account_id)))
            .update_expression("SET #synced = :fp REMOVE #pending")
            .condition_expression("#health.#fp = :fp")
            .expression_attribute_names("#synced", crm::attr::SYNCED)
            .expression_attribute_names("#pending", crm::attr::PENDING)
            .expression_attribute_names("#health", crm::attr::HEALTH)
            .expression_attribute_names("#fp", "fp")
            .expression_attribute_values(":fp", s(fp))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match cleared {
            Ok(out) => {
                self.meter.record_write(out.consumed_capacity());
                Ok(())
            }
            Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(account_key(account_id)))
                .update_expression("SET #synced = :fp")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#synced", crm::attr::SYNCED)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_values(":fp", s(fp))
                .send()
                .await
                .map(|_| ())
                .or_else(|e| {
                    if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) {
                        Ok(())
                    } else {
                        Err(dynamo_error("UpdateItem", e))
                    }
                }),
            Err(e) => Err(dynamo_error("UpdateItem", e)),
        }
    }
}
