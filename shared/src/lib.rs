//! Foresight's shared library: everything the Lambda functions and the local runner have in common.
//!
//! - [`domain`]: the account record and the pure rules that build it (billing normalisation, MRR).
//! - [`sources`]: one adapter per inbound source: signature checks and parsing into domain changes.
//! - [`store`]: the storage ports (small traits) and their DynamoDB and in-memory adapters.
//! - [`ingest`]: the use cases a webhook function runs, independent of the HTTP framework.
//!
//! Dependencies point one way: `ingest` and the adapters depend on `domain`, never the reverse.

pub mod alerts;
pub mod aws;
pub mod config;
pub mod delivery;
pub mod dispatch;
pub mod domain;
pub mod ingest;
pub mod metrics;
pub mod outbox;
pub mod queue;
pub mod renewal_sweep;
pub mod secrets;
pub mod settings;
pub mod sources;
pub mod store;
pub mod sweep;
pub mod telemetry;
pub mod testkit;
