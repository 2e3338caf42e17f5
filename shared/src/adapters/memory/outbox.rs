//! In-memory outbox and sweep progress: the local runner's default and unit tests.

use crate::app::ports::outbox::{
    DeliveryLog, EffectState, NotificationStatus, Outbox, OutboxEntry, Recorded, SegmentProgress, SweepProgressStore,
};
use crate::app::ports::portfolio::{ReportOutbox, ReportRecord};
use crate::app::ports::store::StoreError;
use crate::domain::alert::Alert;
use crate::domain::time;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryOutbox {
    pub(super) entries: Mutex<Vec<OutboxEntry>>,
    progress: Mutex<HashMap<(String, u32), SegmentProgress>>,
    pub(super) reports: Mutex<Vec<ReportRecord>>,
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
            return Ok(if existing.status.is_done() { Recorded::Delivered } else { Recorded::Pending });
        }
        entries.push(OutboxEntry {
            dedupe_key: alert.dedupe_key.clone(),
            status: NotificationStatus::Pending,
            created_at: time::at(now),
            alert: alert.clone(),
            effects: Default::default(),
        });
        Ok(Recorded::New)
    }

    async fn entries(&self) -> Result<Vec<OutboxEntry>, StoreError> {
        Ok(self.entries.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}

#[async_trait]
impl DeliveryLog for MemoryOutbox {
    async fn notification(&self, dedupe_key: &str) -> Result<Option<OutboxEntry>, StoreError> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        Ok(entries.iter().find(|e| e.dedupe_key == dedupe_key).cloned())
    }

    async fn record_effect(&self, dedupe_key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.iter_mut().find(|e| e.dedupe_key == dedupe_key) else {
            return Err(StoreError::Corrupt { key: dedupe_key.to_owned(), reason: "no such notification".into() });
        };
        if entry.effects.get(effect).is_some_and(EffectState::is_sent) {
            return Ok(false);
        }
        entry.effects.insert(effect.to_owned(), state.clone());
        Ok(true)
    }

    async fn finish(&self, dedupe_key: &str, status: NotificationStatus) -> Result<(), StoreError> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.iter_mut().find(|e| e.dedupe_key == dedupe_key) {
            entry.status = status;
        }
        Ok(())
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

#[async_trait]
impl ReportOutbox for MemoryOutbox {
    async fn record_report(&self, key: &str, report: &serde_json::Value, now: i64) -> Result<ReportRecord, StoreError> {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(existing) = reports.iter().find(|r| r.key == key) {
            return Ok(existing.clone());
        }
        let record = ReportRecord {
            key: key.to_owned(),
            status: NotificationStatus::Pending,
            created_at: time::at(now),
            report: report.clone(),
            effects: Default::default(),
        };
        reports.push(record.clone());
        Ok(record)
    }

    async fn record_report_effect(&self, key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError> {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        let Some(record) = reports.iter_mut().find(|r| r.key == key) else {
            return Err(StoreError::Corrupt { key: key.to_owned(), reason: "no such report".into() });
        };
        if record.effects.get(effect).is_some_and(EffectState::is_sent) {
            return Ok(false);
        }
        record.effects.insert(effect.to_owned(), state.clone());
        Ok(true)
    }

    async fn finish_report(&self, key: &str, status: NotificationStatus) -> Result<(), StoreError> {
        let mut reports = self.reports.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(record) = reports.iter_mut().find(|r| r.key == key) {
            record.status = status;
        }
        Ok(())
    }

    async fn reports(&self) -> Result<Vec<ReportRecord>, StoreError> {
        Ok(self.reports.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }
}
