//! In-memory adapters: the local runner's default (`--store memory`) and the unit tests. Same
//! semantics as DynamoDB and SQS, a mutex standing in for per-item atomicity.

pub mod inapp_queue;
pub mod outbox;
pub mod privacy;
pub mod queue;
pub mod store;
pub mod usage_backlog;

pub use inapp_queue::MemoryInAppQueue;
pub use outbox::MemoryOutbox;
pub use queue::MemoryQueue;
pub use store::MemoryStore;
pub use usage_backlog::MemoryUsageBacklog;
