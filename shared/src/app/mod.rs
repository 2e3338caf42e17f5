//! The application: the ports (every trait the use cases need from the outside world) and the use
//! cases themselves. Depends on [`crate::domain`] and [`crate::sources`] only; adapters implement
//! the ports, the runtime wires them.
//!
//! - [`ports`]: one small trait per capability — storage, outbox, queues, delivery.
//! - [`settings`]: `foresight.toml`, validated: the rules every use case reads.
//! - [`ingest`]: the webhooks (Stripe, Zendesk, product analytics) and identity links.
//! - [`health_sweep`], [`renewal_sweep`]: the scheduled judgements; [`schedule`]: their clock.
//! - [`alerts`]: raising an alert (outbox, then queue); [`dispatch`]: delivering it.
//! - [`read_api`]: the dashboard's page and the routes it reads (KPIs, accounts).

pub mod alerts;
pub mod backfill;
pub mod crm_sync;
pub mod digest;
pub mod dispatch;
pub mod health_sweep;
pub mod ingest;
pub mod kpis;
pub mod playbooks;
pub mod portfolio_settings;
pub mod ports;
pub mod privacy;
pub mod read_api;
pub mod renewal_sweep;
pub mod schedule;
pub mod settings;
