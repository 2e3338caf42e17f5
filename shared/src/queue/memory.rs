//! An in-memory queue: keeps what was sent, in order, with SQS's FIFO deduplication.

use super::{deduplication_id, NotificationQueue, QueueError, SweepTaskQueue};
use crate::domain::alert::Alert;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<Value>>,
    seen: Mutex<std::collections::HashSet<String>>,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// Everything sent so far (message bodies).
    pub fn messages(&self) -> Vec<Value> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes the messages sent so far, leaving the queue empty.
    pub fn drain(&self) -> Vec<Value> {
        std::mem::take(&mut *self.messages.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl NotificationQueue for MemoryQueue {
    async fn enqueue(&self, alert: &Alert) -> Result<(), QueueError> {
        if self.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(deduplication_id(&alert.dedupe_key)) {
            self.messages.lock().unwrap_or_else(|e| e.into_inner()).push(serde_json::to_value(alert)?);
        }
        Ok(())
    }
}

#[async_trait]
impl SweepTaskQueue for MemoryQueue {
    async fn send_task(&self, task: &crate::sweep::SegmentTask) -> Result<(), QueueError> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).push(serde_json::to_value(task)?);
        Ok(())
    }
}
