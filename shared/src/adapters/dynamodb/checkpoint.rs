//! The backfill reconciler's checkpoints in the account table:
//!
//! | item       | `pk`                  | `sk`         | attributes             |
//! |------------|-----------------------|--------------|------------------------|
//! | checkpoint | `BACKFILL#<source>`   | `CHECKPOINT` | `type`, `at` (Unix s)  |

use super::store::{dynamo_error, s, DynamoStore, PK, SK, TYPE};
use crate::app::ports::backfill::BackfillCheckpoints;
use crate::app::ports::store::StoreError;
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

fn key(source: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([(PK.to_owned(), s(&format!("BACKFILL#{source}"))), (SK.to_owned(), s("CHECKPOINT"))])
}

#[async_trait]
impl BackfillCheckpoints for DynamoStore {
    async fn checkpoint(&self, source: &str) -> Result<Option<i64>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(source)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo_error("GetItem", e))?;
        Ok(out.item().and_then(|i| i.get("at")).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()))
    }

    async fn save_checkpoint(&self, source: &str, at: i64) -> Result<(), StoreError> {
        let mut item = key(source);
        item.insert(TYPE.into(), s("checkpoint"));
        item.insert("at".into(), AttributeValue::N(at.to_string()));
        self.put(item).await
    }
}
