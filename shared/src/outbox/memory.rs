//! In-memory outbox and sweep progress: the local runner's default and unit tests.

use super::{Outbox, OutboxEntry, Recorded, SegmentProgress, SweepProgressStore};
use crate::domain::alert::Alert;
use crate::store::StoreError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryOutbox {
    entries: Mutex<Vec<OutboxEntry>>,
    progress: Mutex<HashMap<(String, u32), SegmentProgress>>,
}

impl MemoryOutbox {
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn record(&self, alert: &Alert, now: i64) -> Result<Recorded, StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = entries.iter().find(|e| e.dedupe_key == alert.dedupe_key) {
            return Ok(if existing.status == "pending" { Recorded::Pending } else { Recorded::Delivered });
        }
        entries.push(OutboxEntry {
            dedupe_key: alert.dedupe_key.clone(),
            status: "pending".into(),
            created_at: crate::domain::account::rfc3339(now),
            alert: alert.clone(),
        });
        Ok(Recorded::New)
    }

    async fn entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

#[async_trait]
impl SweepProgressStore for MemoryOutbox {
    async fn load(&self, sweep_id: &str, segment: u32) -> Result<Option<SegmentProgress>, StoreError> {
        let progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        Ok(progress.get(&(sweep_id.to_owned(), segment)).cloned())
    }

    async fn save(
        &self,
        sweep_id: &str,
        segment: u32,
        progress: &SegmentProgress,
        _now: i64,
    ) -> Result<(), StoreError> {
        let mut all = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        all.insert((sweep_id.to_owned(), segment), progress.clone());
        Ok(())
    }
}
