//! An in-memory queue: keeps what was sent, in order, with SQS's FIFO deduplication.

use crate::app::ports::queue::{
    deduplication_id, DeadLetters, NotificationQueue, QueueError, Redelivery, SegmentTask, SweepTaskQueue,
};
use crate::domain::alert::Alert;
use async_trait::async_trait;
use serde_json::Value;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryQueue {
    messages: Mutex<Vec<Value>>,
    seen: Mutex<std::collections::HashSet<String>>,
    dead: Mutex<Vec<(Value, String)>>,
    delays: Mutex<Vec<(String, u64)>>,
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

impl MemoryQueue {
    /// Dead-lettered alerts with their reasons.
    pub fn dead_letters(&self) -> Vec<(Value, String)> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Messages returned for later: (receipt handle, seconds).
    pub fn delays(&self) -> Vec<(String, u64)> {
        self.delays.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl DeadLetters for MemoryQueue {
    async fn dead_letter(&self, alert: &Alert, reason: &str) -> Result<(), QueueError> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).push((serde_json::to_value(alert)?, reason.to_owned()));
        Ok(())
    }
}

#[async_trait]
impl Redelivery for MemoryQueue {
    async fn retry_after(&self, receipt_handle: &str, seconds: u64) -> Result<(), QueueError> {
        self.delays.lock().unwrap_or_else(|e| e.into_inner()).push((receipt_handle.to_owned(), seconds));
        Ok(())
    }
}

#[async_trait]
impl SweepTaskQueue for MemoryQueue {
    async fn send_task(&self, task: &SegmentTask) -> Result<(), QueueError> {
        self.messages.lock().unwrap_or_else(|e| e.into_inner()).push(serde_json::to_value(task)?);
        Ok(())
    }
}
