//! The outbox: one record per alert dedupe key, written before the alert is enqueued, so an
//! alert is never lost (a failed enqueue is retried from the pending record) and never doubled
//! (a second record with the same key is refused). The dispatcher records each effect of a
//! notification (a Slack message, a CRM task) as it goes: attempting, then sent with the remote
//! id, or failed with the reason; the record moves from `pending` to `sent` (or `failed`) when
//! every effect is done. The same table keeps the health sweep's per-segment progress, so a
//! worker that stops mid-segment resumes where it was.

use super::store::{ScanCursor, StoreError};
use crate::domain::alert::Alert;
use crate::domain::time::Timestamp;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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
    pub status: NotificationStatus,
    pub created_at: Timestamp,
    pub alert: Alert,
    /// Each effect (`slack`, `hubspot`, `salesforce`) by name, once attempted.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub effects: BTreeMap<String, EffectState>,
}

/// Where a notification is: `pending` until every effect is done, then `sent` or `failed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::EnumString)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum NotificationStatus {
    Pending,
    Sent,
    Failed,
}

impl NotificationStatus {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether there is nothing left to do.
    pub fn is_done(self) -> bool {
        self != NotificationStatus::Pending
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum EffectStatus {
    /// A call was (or is about to be) made; its outcome is not recorded. A retry that finds
    /// this looks the remote object up before creating it again, where the remote allows.
    Attempting,
    Sent,
    Failed,
}

/// What happened to one effect of a notification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EffectState {
    pub status: EffectStatus,
    /// Slack `ts`, HubSpot or Salesforce task id (`webhook` for an incoming webhook).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    pub attempts: u32,
    /// Why it failed, or the last transient error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: Timestamp,
}

impl EffectState {
    pub fn is_sent(&self) -> bool {
        self.status == EffectStatus::Sent
    }
}

/// The dispatcher's writes to the outbox. Each write of an effect is conditional on that effect
/// not being sent yet, so a redelivered message never records (or causes) a second send.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// The record (strongly consistent), `None` if unknown.
    async fn notification(&self, dedupe_key: &str) -> Result<Option<OutboxEntry>, StoreError>;
    /// Records `state` for `effect` unless the effect is already sent; false if it was.
    async fn record_effect(&self, dedupe_key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError>;
    /// Moves the record from `pending` to `status` (`sent` or `failed`).
    async fn finish(&self, dedupe_key: &str, status: NotificationStatus) -> Result<(), StoreError>;
}

/// Records alerts, once per dedupe key.
#[async_trait]
pub trait Outbox: Send + Sync {
    async fn record(&self, alert: &Alert, now: i64) -> Result<Recorded, StoreError>;
    /// Every record (the local runner's `GET /outbox`), oldest first.
    async fn entries(&self) -> Result<Vec<OutboxEntry>, StoreError>;

    /// Records still `pending` that no dispatcher has worked on (no effect recorded), created at
    /// or before `created_before` (Unix seconds): alerts whose enqueue failed after the record
    /// was written (the queue was down), for the next sweep to enqueue again.
    async fn unsent(&self, created_before: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let entries = self.entries().await?;
        Ok(entries.into_iter().filter(|e| e.is_unsent() && e.created_at.timestamp() <= created_before).collect())
    }
}

impl OutboxEntry {
    /// Pending, and no dispatcher has recorded an effect of it.
    pub fn is_unsent(&self) -> bool {
        self.status == NotificationStatus::Pending && self.effects.is_empty()
    }
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
