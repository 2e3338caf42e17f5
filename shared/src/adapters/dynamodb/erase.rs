//! Privacy in DynamoDB: finding every item that names an account (both tables), deleting them,
//! tombstones and the erasure audit log (account table).
//!
//! | item      | `pk`                        | `sk`        | attributes                                   |
//! |-----------|-----------------------------|-------------|----------------------------------------------|
//! | tombstone | `TOMBSTONE#<keyed hash>`    | `TOMBSTONE` | `type`, `erased_at`                          |
//! | erasure   | `ERASURE#<RFC 3339>#<hash>` | `ERASURE`   | `type`, `subject` (keyed hash), `erased_at`, `actor`, `erased` (counts by kind), `tombstones` |
//! | erasure request | `ERASURE_REQUEST`     | account id  | `type`, `actor`, `requested_at` (one partition: the privacy function reads it with one `Query`; the account's erasure deletes the item, which names it) |
//!
//! Finding is a full `Scan` of the table filtered in the adapter (an item names an account in
//! its key, its `account_id`, an alert inside it, a digest's list...): erasures and exports are
//! rare admin requests, and a scan is the only read that cannot miss an item whatever its
//! layout. Its cost is the table's size in read units (README, "Privacy").

use super::outbox::DynamoOutbox;
use super::store::{dynamo_error, s, string_attr, DynamoStore, PK, SK, TYPE};
use crate::app::ports::privacy::{ErasureLog, ErasureRequest, ErasureRequests, HeldData, HeldItem, Tombstones};
use crate::app::ports::store::{LinkSource, StoreError};
use crate::domain::privacy::{value_mentions, ErasureAudit, ErasureKey, ACCOUNT_KIND};
use crate::domain::time;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnConsumedCapacity, WriteRequest};
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use std::collections::HashMap;

const TOMBSTONE: &str = "TOMBSTONE";
/// Keys per `BatchWriteItem` (DynamoDB's limit).
const BATCH: usize = 25;
/// Rounds of retrying unprocessed deletes before giving up with an error (the erasure is safe
/// to repeat).
const DELETE_ROUNDS: usize = 8;

/// What kind of item this is: its `type`, else the key's prefix (`NOTIFICATION#…` →
/// `notification`).
fn kind(item: &HashMap<String, AttributeValue>) -> String {
    match string_attr(item, TYPE) {
        "" => string_attr(item, PK).split('#').next().unwrap_or_default().to_lowercase(),
        kind => kind.to_owned(),
    }
}

/// Reads the whole table and keeps the items that name one of `needles`.
async fn scan_mentions(
    client: &Client,
    table: &str,
    role: &'static str,
    needles: &[String],
    mut metered: impl FnMut(Option<&aws_sdk_dynamodb::types::ConsumedCapacity>, usize),
) -> Result<Vec<HeldItem>, StoreError> {
    let mut held = Vec::new();
    let mut start = None;
    loop {
        let out = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("Scan", e))?;
        metered(out.consumed_capacity(), out.items().len());
        for item in out.items() {
            let json: Value = serde_dynamo::from_item(item.clone())
                .map_err(|e| StoreError::Corrupt { key: string_attr(item, PK).to_owned(), reason: e.to_string() })?;
            if value_mentions(&json, needles) {
                held.push(HeldItem {
                    table: role,
                    kind: kind(item),
                    pk: string_attr(item, PK).to_owned(),
                    sk: string_attr(item, SK).to_owned(),
                    item: json,
                });
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(held);
        }
    }
}

/// Deletes the items by key, 25 to a `BatchWriteItem`, retrying what DynamoDB left unprocessed.
async fn delete_keys(client: &Client, table: &str, items: &[HeldItem]) -> Result<(), StoreError> {
    for chunk in items.chunks(BATCH) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|held| {
                let key = HashMap::from([(PK.to_owned(), s(&held.pk)), (SK.to_owned(), s(&held.sk))]);
                let delete = DeleteRequest::builder().set_key(Some(key)).build().expect("key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        for round in 0.. {
            let out = client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(|e| dynamo_error("BatchWriteItem", e))?;
            requests = out.unprocessed_items().and_then(|u| u.get(table)).cloned().unwrap_or_default();
            if requests.is_empty() {
                break;
            }
            if round + 1 >= DELETE_ROUNDS {
                return Err(StoreError::Dynamo {
                    operation: "BatchWriteItem",
                    source: format!("{} deletes still unprocessed after {DELETE_ROUNDS} rounds", requests.len()).into(),
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
        }
    }
    Ok(())
}

#[async_trait]
impl HeldData for DynamoStore {
    fn role(&self) -> &'static str {
        "accounts"
    }

    async fn find_mentions(&self, needles: &[String]) -> Result<Vec<HeldItem>, StoreError> {
        let meter = self.meter.clone();
        scan_mentions(&self.client, &self.table, self.role(), needles, |c, n| meter.record_read(c, n)).await
    }

    async fn delete_items(&self, items: &[HeldItem]) -> Result<(), StoreError> {
        delete_keys(&self.client, &self.table, items).await
    }

    async fn remove_attributes(&self, item: &HeldItem, names: &[String]) -> Result<(), StoreError> {
        remove_attributes(&self.client, &self.table, item, names).await
    }
}

#[async_trait]
impl HeldData for DynamoOutbox {
    fn role(&self) -> &'static str {
        "outbox"
    }

    async fn find_mentions(&self, needles: &[String]) -> Result<Vec<HeldItem>, StoreError> {
        scan_mentions(&self.client, &self.table, self.role(), needles, |_, _| {}).await
    }

    async fn delete_items(&self, items: &[HeldItem]) -> Result<(), StoreError> {
        delete_keys(&self.client, &self.table, items).await
    }

    async fn remove_attributes(&self, item: &HeldItem, names: &[String]) -> Result<(), StoreError> {
        remove_attributes(&self.client, &self.table, item, names).await
    }
}

/// One `UpdateItem` that `REMOVE`s the attributes, on the condition that the item still exists
/// (an update would otherwise create an item of bare keys).
async fn remove_attributes(client: &Client, table: &str, held: &HeldItem, names: &[String]) -> Result<(), StoreError> {
    if names.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (0..names.len()).map(|i| format!("#r{i}")).collect();
    let result = client
        .update_item()
        .table_name(table)
        .key(PK, s(&held.pk))
        .key(SK, s(&held.sk))
        .update_expression(format!("REMOVE {}", placeholders.join(", ")))
        .condition_expression("attribute_exists(#pk)")
        .set_expression_attribute_names(Some(
            placeholders
                .iter()
                .cloned()
                .zip(names.iter().cloned())
                .chain([("#pk".to_owned(), PK.to_owned())])
                .collect(),
        ))
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => Ok(()),
        Err(e) => Err(dynamo_error("UpdateItem", e)),
    }
}

fn tombstone_key(hash: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(&format!("{TOMBSTONE}#{hash}"))), (SK.to_owned(), s(TOMBSTONE))])
}

/// The keyed hash of an id as its tombstone names it.
pub(super) fn tombstone_hash(key: &ErasureKey, source: Option<LinkSource>, id: &str) -> String {
    key.hash(source.map_or(ACCOUNT_KIND, LinkSource::as_str), id)
}

#[async_trait]
impl Tombstones for DynamoStore {
    async fn bury(&self, hashes: &[String], at: i64) -> Result<(), StoreError> {
        for hash in hashes {
            let mut item = tombstone_key(hash);
            item.insert(TYPE.into(), s("tombstone"));
            item.insert("erased_at".into(), s(&time::rfc3339(at)));
            self.put(item).await?;
        }
        Ok(())
    }
}

impl DynamoStore {
    /// Whether the tombstone of `id` stands (one `GetItem`, only on a link miss or a new link).
    pub(super) async fn tombstone_stands(&self, source: Option<LinkSource>, id: &str) -> Result<bool, StoreError> {
        let Some(key) = self.erasure.as_ref().filter(|e| e.block).map(|e| &e.key) else {
            return Ok(false);
        };
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(tombstone_key(&tombstone_hash(key, source, id))))
            .consistent_read(true)
            .projection_expression("#pk")
            .expression_attribute_names("#pk", PK)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        self.meter.record_read(out.consumed_capacity(), usize::from(out.item().is_some()));
        Ok(out.item().is_some())
    }

    /// Removes the tombstone of `id` (an admin linked it again).
    pub(super) async fn remove_tombstone(&self, source: Option<LinkSource>, id: &str) -> Result<(), StoreError> {
        let Some(erasure) = &self.erasure else { return Ok(()) };
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(tombstone_key(&tombstone_hash(&erasure.key, source, id))))
            .send()
            .await
            .map_err(|e| dynamo_error("DeleteItem", e))?;
        Ok(())
    }
}

const ERASURE_REQUEST: &str = "ERASURE_REQUEST";

#[async_trait]
impl ErasureRequests for DynamoStore {
    async fn request_erasure(&self, request: &ErasureRequest) -> Result<(), StoreError> {
        let item = HashMap::from([
            (PK.to_owned(), s(ERASURE_REQUEST)),
            (SK.to_owned(), s(&request.account_id)),
            (TYPE.to_owned(), s("erasure_request")),
            ("actor".to_owned(), s(&request.actor)),
            ("requested_at".to_owned(), AttributeValue::N(request.requested_at.to_string())),
        ]);
        self.put(item).await
    }

    async fn pending_erasures(&self) -> Result<Vec<ErasureRequest>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(ERASURE_REQUEST))
            .consistent_read(true);
        let items = self.query_all(query).await?;
        let mut requests: Vec<ErasureRequest> = items
            .iter()
            .map(|item| ErasureRequest {
                account_id: string_attr(item, SK).to_owned(),
                actor: string_attr(item, "actor").to_owned(),
                requested_at: item
                    .get("requested_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_default(),
            })
            .collect();
        requests.sort_by_key(|r| r.requested_at);
        Ok(requests)
    }
}

#[async_trait]
impl ErasureLog for DynamoStore {
    async fn record_erasure(&self, audit: &ErasureAudit) -> Result<(), StoreError> {
        let mut item: HashMap<String, AttributeValue> = serde_dynamo::to_item(audit)
            .map_err(|e| StoreError::Corrupt { key: "erasure".into(), reason: e.to_string() })?;
        let short = &audit.subject[..audit.subject.len().min(16)];
        item.insert(PK.into(), s(&format!("ERASURE#{}#{short}", audit.erased_at)));
        item.insert(SK.into(), s("ERASURE"));
        item.insert(TYPE.into(), s("erasure"));
        self.put(item).await
    }
}
