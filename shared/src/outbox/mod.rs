//! The outbox: one record per alert dedupe key, written before the alert is enqueued, so an
//! alert is never lost (a failed enqueue is retried from the pending record) and never doubled
//! (a second record with the same key is refused). Issue 5's dispatcher moves records from
//! `pending` to `sent`. The same table keeps the health sweep's per-segment progress, so a
//! worker that stops mid-segment resumes where it was.

pub mod dynamodb;
pub mod memory;

use crate::domain::alert::Alert;
use crate::store::{ScanCursor, StoreError};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use dynamodb::DynamoOutbox;
pub use memory::MemoryOutbox;

/// Outbox records and sweep progress expire (DynamoDB TTL) after this long.
pub const RETENTION_SECONDS: i64 = 90 * 86_400;

/// What recording an alert found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A new record: enqueue the alert.
    New,
    /// Recorded earlier and not yet delivered: enqueue again (the queue drops a duplicate
    /// within its deduplication window; the dispatcher's pending → sent write drops the rest).
    Pending,
    /// Already delivered: nothing to do.
    Delivered,
}

/// One notification as `GET /outbox` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub dedupe_key: String,
    pub status: String,
    pub created_at: String,
    pub alert: Alert,
}

/// Records alerts, once per dedupe key.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn record(&self, alert: &Alert, now: i64) -> Result<Recorded, StoreError>;
    /// Every record (the local runner's `GET /outbox`), oldest first.
    async fn entries(&self) -> Result<Vec<OutboxEntry>, StoreError>;
}

/// How far a worker got in one segment of one sweep.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentProgress {
    /// Where to resume; `None` with `done == false` means from the start.
    pub cursor: Option<ScanCursor>,
    pub done: bool,
    pub accounts: u64,
    pub alerts: u64,
    pub pages: u64,
}

/// Keeps each segment's progress (one small item per segment and sweep).
#[async_trait]
pub trait SweepProgressStore: Send + Sync {
    async fn load(&self, sweep_id: &str, segment: u32) -> Result<Option<SegmentProgress>, StoreError>;
    async fn save(&self, sweep_id: &str, segment: u32, progress: &SegmentProgress, now: i64) -> Result<(), StoreError>;
}
