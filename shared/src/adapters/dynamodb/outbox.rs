//! DynamoDB outbox table (`FORESIGHT_OUTBOX_TABLE`), kept apart from the account table so that
//! the health sweep's full scan reads account data only.
//!
//! | item          | `pk`                              | `sk`              | attributes                                  |
//! |---------------|-----------------------------------|-------------------|---------------------------------------------|
//! | notification  | `NOTIFICATION#<dedupe key>`       | `NOTIFICATION`    | `status`, `alert`, `created_at`, `expires_at`, `effect#<name>` (one map per effect) |
//! | sweep segment | `SWEEP#<sweep id>`                | `SEGMENT#<n>`     | `progress`, `expires_at`                      |
//! | report        | `REPORT#<key>`                    | `REPORT`          | `status`, `report`, `created_at`, `expires_at`, `effect#<name>` |

use crate::app::ports::outbox::{
    DeliveryLog, EffectState, NotificationStatus, Outbox, OutboxEntry, Recorded, SegmentProgress, SweepProgressStore,
    RETENTION_SECONDS,
};
use crate::app::ports::portfolio::{ReportOutbox, ReportRecord};
use crate::app::ports::store::StoreError;
use crate::domain::alert::Alert;
use crate::domain::time;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ReturnValuesOnConditionCheckFailure,
    ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use std::collections::{BTreeMap, HashMap};

const EFFECT: &str = "effect#";

#[derive(Clone)]
pub struct DynamoOutbox {
    pub(super) client: Client,
    pub(super) table: String,
    /// How long records are kept (their `expires_at`, DynamoDB TTL).
    retention: i64,
}

fn error<E>(operation: &'static str, err: SdkError<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Dynamo { operation, source: DisplayErrorContext(err).to_string().into() }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn corrupt(key: &str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { key: key.to_owned(), reason: reason.to_string() }
}

impl DynamoOutbox {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoOutbox { client, table: table.into(), retention: RETENTION_SECONDS }
    }

    /// Keeps records for `seconds` (their DynamoDB TTL) instead of [`RETENTION_SECONDS`].
    pub fn with_retention(mut self, seconds: i64) -> Self {
        self.retention = seconds;
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table (on-demand, `pk` + `sk`) if it does not exist: the local runner and tests.
    pub async fn ensure_table(&self) -> Result<(), StoreError> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(_) => return Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
            Err(e) => return Err(error("DescribeTable", e)),
        }
        let attr = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let key = |name: &str, kind| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk").expect("complete"))
            .attribute_definitions(attr("sk").expect("complete"))
            .key_schema(key("pk", KeyType::Hash).expect("complete"))
            .key_schema(key("sk", KeyType::Range).expect("complete"))
            .send()
            .await;
        match created {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => Ok(()),
            Err(e) => Err(error("CreateTable", e)),
        }
    }
}

impl DynamoOutbox {
    /// Records `state` for `effect` of the item at `key` unless that effect is already sent;
    /// false if it was (a notification's or a report's).
    async fn write_effect(
        &self,
        key: HashMap<String, AttributeValue>,
        name: &str,
        effect: &str,
        state: &EffectState,
    ) -> Result<bool, StoreError> {
        let value = serde_dynamo::to_attribute_value(state).map_err(|e| corrupt(name, e))?;
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET #e = :state")
            .condition_expression("attribute_exists(pk) AND (attribute_not_exists(#e) OR #e.#status <> :sent)")
            .expression_attribute_names("#e", format!("{EFFECT}{effect}"))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":state", value)
            .expression_attribute_values(":sent", s(NotificationStatus::Sent.as_str()))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) => {
                Ok(false)
            }
            Err(e) => Err(error("UpdateItem", e)),
        }
    }
}

fn notification_key(dedupe_key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(&format!("NOTIFICATION#{dedupe_key}"))), ("sk".into(), s("NOTIFICATION"))])
}

/// An outbox entry from its item.
fn entry(item: &HashMap<String, AttributeValue>) -> Result<OutboxEntry, StoreError> {
    let key = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let alert: Alert =
        serde_dynamo::from_attribute_value(item.get("alert").cloned().ok_or_else(|| corrupt(&key, "no alert"))?)
            .map_err(|e| corrupt(&key, e))?;
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let mut effects = BTreeMap::new();
    for (name, value) in item {
        if let Some(effect) = name.strip_prefix(EFFECT) {
            let state: EffectState = serde_dynamo::from_attribute_value(value.clone()).map_err(|e| corrupt(&key, e))?;
            effects.insert(effect.to_owned(), state);
        }
    }
    let status = text("status").parse().map_err(|e| corrupt(&key, format!("status: {e}")))?;
    let created_at = time::parse(&text("created_at")).map(time::at).ok_or_else(|| corrupt(&key, "created_at"))?;
    Ok(OutboxEntry { dedupe_key: alert.dedupe_key.clone(), status, created_at, alert, effects })
}

fn progress_key(sweep_id: &str, segment: u32) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(&format!("SWEEP#{sweep_id}"))), ("sk".into(), s(&format!("SEGMENT#{segment}")))])
}

#[async_trait]
impl Outbox for DynamoOutbox {
    async fn record(&self, alert: &Alert, now: i64) -> Result<Recorded, StoreError> {
        let body = serde_dynamo::to_attribute_value(alert).map_err(|e| corrupt(&alert.dedupe_key, e))?;
        let mut item = notification_key(&alert.dedupe_key);
        item.insert("status".into(), s(NotificationStatus::Pending.as_str()));
        item.insert("alert".into(), body);
        item.insert("created_at".into(), s(&time::rfc3339(now)));
        item.insert("expires_at".into(), AttributeValue::N((now + self.retention).to_string()));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => Ok(Recorded::New),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let status = failed.item().and_then(|i| i.get("status")).and_then(|v| v.as_s().ok());
                    Ok(if status.map(String::as_str) == Some(NotificationStatus::Pending.as_str()) {
                        Recorded::Pending
                    } else {
                        Recorded::Delivered
                    })
                }
                _ => Err(error("PutItem", e)),
            },
        }
    }

    async fn entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut entries = self.scan_notifications(None).await?;
        entries.sort_by(|a, b| (&a.created_at, &a.dedupe_key).cmp(&(&b.created_at, &b.dedupe_key)));
        Ok(entries)
    }

    /// One scan of the table (once per sweep), filtered to pending records created early
    /// enough; `created_at` is RFC 3339 in UTC with whole seconds, so text order is time order.
    async fn unsent(&self, created_before: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let entries = self.scan_notifications(Some(created_before)).await?;
        Ok(entries.into_iter().filter(OutboxEntry::is_unsent).collect())
    }
}

impl DynamoOutbox {
    /// Every notification record; with `pending_before`, only pending ones created by then.
    async fn scan_notifications(&self, pending_before: Option<i64>) -> Result<Vec<OutboxEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut start = None;
        loop {
            let mut scan = self
                .client
                .scan()
                .table_name(&self.table)
                .expression_attribute_values(":n", s("NOTIFICATION"))
                .set_exclusive_start_key(start);
            scan = match pending_before {
                None => scan.filter_expression("sk = :n"),
                Some(before) => scan
                    .filter_expression("sk = :n AND #status = :pending AND created_at <= :before")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":pending", s(NotificationStatus::Pending.as_str()))
                    .expression_attribute_values(":before", s(&time::rfc3339(before))),
            };
            let out = scan.send().await.map_err(|e| error("Scan", e))?;
            for item in out.items() {
                entries.push(entry(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(entries);
            }
        }
    }
}

#[async_trait]
impl DeliveryLog for DynamoOutbox {
    async fn notification(&self, dedupe_key: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(notification_key(dedupe_key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error("GetItem", e))?;
        out.item().map(entry).transpose()
    }

    async fn record_effect(&self, dedupe_key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError> {
        self.write_effect(notification_key(dedupe_key), dedupe_key, effect, state).await
    }

    async fn finish(&self, dedupe_key: &str, status: NotificationStatus) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(notification_key(dedupe_key)))
            .update_expression("SET #status = :status")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .send()
            .await
            .map_err(|e| error("UpdateItem", e))?;
        Ok(())
    }
}

#[async_trait]
impl SweepProgressStore for DynamoOutbox {
    async fn load(&self, sweep_id: &str, segment: u32) -> Result<Option<SegmentProgress>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(progress_key(sweep_id, segment)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| error("GetItem", e))?;
        let Some(value) = out.item().and_then(|i| i.get("progress")).cloned() else { return Ok(None) };
        serde_dynamo::from_attribute_value(value).map(Some).map_err(|e| corrupt(sweep_id, e))
    }

    async fn save(&self, sweep_id: &str, segment: u32, progress: &SegmentProgress, now: i64) -> Result<(), StoreError> {
        let mut item = progress_key(sweep_id, segment);
        item.insert("progress".into(), serde_dynamo::to_attribute_value(progress).map_err(|e| corrupt(sweep_id, e))?);
        item.insert("expires_at".into(), AttributeValue::N((now + self.retention).to_string()));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| error("PutItem", e))?;
        Ok(())
    }
}

fn report_key(key: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".into(), s(&format!("REPORT#{key}"))), ("sk".into(), s("REPORT"))])
}

fn report_record(item: &HashMap<String, AttributeValue>) -> Result<ReportRecord, StoreError> {
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    let report = match item.get("report") {
        Some(v) => serde_dynamo::from_attribute_value(v.clone()).map_err(|e| corrupt(&pk, e))?,
        None => serde_json::Value::Null,
    };
    let mut effects = BTreeMap::new();
    for (name, value) in item {
        if let Some(effect) = name.strip_prefix(EFFECT) {
            effects.insert(
                effect.to_owned(),
                serde_dynamo::from_attribute_value(value.clone()).map_err(|e| corrupt(&pk, e))?,
            );
        }
    }
    Ok(ReportRecord {
        key: pk.strip_prefix("REPORT#").unwrap_or(&pk).to_owned(),
        status: text("status").parse().map_err(|e| corrupt(&pk, format!("status: {e}")))?,
        created_at: time::parse(&text("created_at")).map(time::at).ok_or_else(|| corrupt(&pk, "created_at"))?,
        report,
        effects,
    })
}

#[async_trait]
impl ReportOutbox for DynamoOutbox {
    async fn record_report(&self, key: &str, report: &serde_json::Value, now: i64) -> Result<ReportRecord, StoreError> {
        let mut item = report_key(key);
        item.insert("status".into(), s(NotificationStatus::Pending.as_str()));
        item.insert("report".into(), serde_dynamo::to_attribute_value(report).map_err(|e| corrupt(key, e))?);
        item.insert("created_at".into(), s(&time::rfc3339(now)));
        item.insert("expires_at".into(), AttributeValue::N((now + self.retention).to_string()));
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match put {
            Ok(_) => report_record(&item),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    report_record(failed.item().ok_or_else(|| corrupt(key, "refused without the stored item"))?)
                }
                _ => Err(error("PutItem", e)),
            },
        }
    }

    async fn record_report_effect(&self, key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError> {
        self.write_effect(report_key(key), key, effect, state).await
    }

    async fn finish_report(&self, key: &str, status: NotificationStatus) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(report_key(key)))
            .update_expression("SET #status = :status")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", s(status.as_str()))
            .send()
            .await
            .map_err(|e| error("UpdateItem", e))?;
        Ok(())
    }

    async fn reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        let mut reports = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :r")
                .expression_attribute_values(":r", s("REPORT"))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| error("Scan", e))?;
            for item in out.items() {
                reports.push(report_record(item)?);
            }
            start = out.last_evaluated_key().cloned();
            if start.is_none() {
                break;
            }
        }
        reports.sort_by(|a, b| (&a.created_at, &a.key).cmp(&(&b.created_at, &b.key)));
        Ok(reports)
    }
}
