//! Held usage in memory: the local runner's and unit tests' twin of the SQS backlog, taken in the
//! order held, hidden once taken until released or given back.

use crate::app::ports::queue::QueueError;
use crate::app::ports::usage_backlog::{HeldUsage, Taken, UsageBacklog, UsageBuffer};
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct MemoryUsageBacklog {
    /// receipt → (held usage, taken and not yet released)
    held: Mutex<BTreeMap<u64, (HeldUsage, bool)>>,
    next: Mutex<u64>,
}

impl MemoryUsageBacklog {
    /// Batches held, taken or not.
    pub fn len(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes every taken, unreleased batch takeable again (what SQS does when the visibility
    /// timeout ends: a fold that failed before releasing).
    pub fn give_back(&self) {
        for (_, taken) in self.held.lock().unwrap_or_else(|e| e.into_inner()).values_mut() {
            *taken = false;
        }
    }
}

#[async_trait]
impl UsageBuffer for MemoryUsageBacklog {
    async fn hold(&self, usage: &HeldUsage) -> Result<(), QueueError> {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        *next += 1;
        self.held.lock().unwrap_or_else(|e| e.into_inner()).insert(*next, (usage.clone(), false));
        Ok(())
    }
}

#[async_trait]
impl UsageBacklog for MemoryUsageBacklog {
    async fn take(&self, max: usize) -> Result<Vec<Taken>, QueueError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        Ok(held
            .iter_mut()
            .filter(|(_, (_, taken))| !*taken)
            .take(max)
            .map(|(receipt, (usage, taken))| {
                *taken = true;
                Taken { receipt: receipt.to_string(), usage: usage.clone() }
            })
            .collect())
    }

    async fn release(&self, receipts: &[String]) -> Result<(), QueueError> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        for receipt in receipts {
            if let Ok(receipt) = receipt.parse::<u64>() {
                held.remove(&receipt);
            }
        }
        Ok(())
    }
}
