//! DynamoDB adapters: the account table ([`store::DynamoStore`]: records, usage days, links, the
//! segment scan, the renewal index) and the outbox table ([`outbox::DynamoOutbox`]).

pub mod checkpoint;
pub mod erase;
pub mod outbox;
pub mod portfolio;
pub mod store;

pub use outbox::DynamoOutbox;
pub use store::{CapacityMeter, CapacityReading, DynamoStore};
