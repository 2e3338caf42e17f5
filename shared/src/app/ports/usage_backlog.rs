//! Usage held for the usage fold: the analytics webhook hands a batch's usage to a buffer instead
//! of writing it, and the fold (`app::ingest::usage_fold`) takes what was held, merges it per
//! (account, day) and writes each pair once. DynamoDB bills a write by the whole item, which
//! grows through the day, so a batch that touches most accounts once each (what a product's
//! backend sends) costs far more written at once than held and folded (README, "What it costs").
//! SQS adapter in `adapters::sqs_usage`, an in-memory one for the local runner and unit tests.

use crate::app::ports::queue::QueueError;
use crate::sources::segment::UsageDelta;
use async_trait::async_trait;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A batch's usage before any account is resolved: by group for the messages that named one, by
/// user for those that named only their user (resolved through the user's group at fold time).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldUsage {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grouped: Vec<(String, NaiveDate, UsageDelta)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ungrouped: Vec<(String, NaiveDate, UsageDelta)>,
    /// Usage already resolved to its account: what a fold could not write, held again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<(String, NaiveDate, UsageDelta)>,
}

impl HeldUsage {
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The (group, user or account, day) pairs held.
    pub fn len(&self) -> usize {
        self.grouped.len() + self.ungrouped.len() + self.resolved.len()
    }
}

/// A held batch taken for folding; `receipt` releases it once folded.
#[derive(Clone, Debug, PartialEq)]
pub struct Taken {
    pub receipt: String,
    pub usage: HeldUsage,
}

/// Where the analytics webhook puts a batch's usage instead of writing it.
#[async_trait]
pub trait UsageBuffer: Send + Sync {
    /// Keeps `usage` until a fold takes it (durably: the webhook answers 2xx after this).
    async fn hold(&self, usage: &HeldUsage) -> Result<(), QueueError>;
}

/// What the usage fold reads the held usage from.
#[async_trait]
pub trait UsageBacklog: Send + Sync {
    /// Takes up to `max` held batches (fewer when fewer are held). What is taken stays held,
    /// hidden from other takers, until released; unreleased, it is taken again later.
    async fn take(&self, max: usize) -> Result<Vec<Taken>, QueueError>;

    /// Drops batches that were folded.
    async fn release(&self, receipts: &[String]) -> Result<(), QueueError>;
}
