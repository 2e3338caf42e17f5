//! Queue ports: alerts to the notifications queue (a FIFO queue: the message deduplication id is
//! the alert's dedupe key, so an alert enqueued twice within five minutes is delivered once),
//! and health-sweep segment tasks to the sweep queue. SQS adapters for AWS and the moto server,
//! an in-memory one for the local runner's default and unit tests.

use crate::domain::alert::Alert;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("SQS {operation} failed: {source}")]
    Sqs {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot encode the message: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Enqueues alerts for delivery (Slack, CRM: issue 5's dispatcher).
#[async_trait]
pub trait NotificationQueue: Send + Sync {
    async fn enqueue(&self, alert: &Alert) -> Result<(), QueueError>;
}

/// Returns a received message to its queue later: a rate-limited delivery (Slack 429
/// `Retry-After`) waits in SQS, not in a sleeping function.
#[async_trait]
pub trait Redelivery: Send + Sync {
    /// Makes the message visible again in `seconds` (SQS allows up to 12 hours).
    async fn retry_after(&self, receipt_handle: &str, seconds: u64) -> Result<(), QueueError>;
}

/// Parks a notification that can never be delivered as it is (a Slack channel that does not
/// exist, a CRM validation error), with the reason, for a person to fix and redrive.
#[async_trait]
pub trait DeadLetters: Send + Sync {
    async fn dead_letter(&self, alert: &Alert, reason: &str) -> Result<(), QueueError>;
}

/// One segment of one health sweep: the message a planner sends a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentTask {
    /// Names the sweep (its `now`), so a redelivered or repeated task finds its progress.
    pub sweep_id: String,
    /// The time the sweep scores as of (Unix seconds).
    pub now: i64,
    pub segment: u32,
    pub total_segments: u32,
}

/// Hands health-sweep segment tasks to workers.
#[async_trait]
pub trait SweepTaskQueue: Send + Sync {
    async fn send_task(&self, task: &SegmentTask) -> Result<(), QueueError>;
}

/// The FIFO deduplication id of an alert: SQS allows 128 characters, a dedupe key may be longer.
pub fn deduplication_id(dedupe_key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(dedupe_key.as_bytes()))
}

/// The FIFO message group of an account: alerts of one account keep their order, accounts
/// do not wait for each other. Hashed because an account id may hold characters SQS refuses.
pub fn message_group(account_id: &str) -> String {
    format!("account-{}", &deduplication_id(account_id)[..32])
}
