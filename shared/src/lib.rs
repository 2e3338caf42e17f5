//! Foresight's library: everything the Lambda functions and the local runner have in common, in
//! layers whose paths name them. Dependencies point one way, toward the domain:
//!
//! ```text
//!   runtime ──► adapters ──► app ──► domain
//!      │            │         │        ▲
//!      └────────────┴─────────┴► sources
//! ```
//!
//! - [`domain`]: the customer-success model and its pure rules (no I/O).
//! - [`sources`]: one module per sender (Stripe, Zendesk, Segment): verify its signature, parse
//!   its payloads into domain changes (no I/O).
//! - [`app`]: the ports (every trait) and the use cases: ingest, health sweep, renewal sweep,
//!   alerts, dispatch.
//! - [`adapters`]: the ports implemented: DynamoDB, SQS, in memory, Slack, HubSpot, Salesforce.
//! - [`runtime`]: environment, secrets, settings, SDK set-up, telemetry, metrics, and the glue
//!   the Lambda functions share.
//! - `testkit` (feature `testkit`, tests and benchmarks only): helpers for tests against the
//!   local stack.
//!
//! `shared/tests/layers.rs` fails the test command on an import cycle or an import against
//! these arrows.

pub mod adapters;
pub mod app;
pub mod domain;
pub mod runtime;
pub mod sources;
#[cfg(feature = "testkit")]
pub mod testkit;
