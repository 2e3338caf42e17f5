//! Ports: the traits the use cases call, one small trait per capability, grouped by what they
//! reach. Adapters in [`crate::adapters`] implement them.
//!
//! - [`store`]: account records, usage days, identity links, the segment scan, the renewal index.
//! - [`outbox`]: alerts recorded once per dedupe key, each effect's delivery state, sweep progress.
//! - [`queue`]: the notifications queue, dead letters, redelivery, sweep tasks.
//! - [`delivery`]: Slack and the CRM.
//! - [`portfolio`]: the MRR ledger, month totals and portfolio cards (KPIs).
//! - [`email`]: playbook emails (SES) and in-app webhooks.
//! - [`usage_backlog`]: analytics usage held for the usage fold.

pub mod backfill;
pub mod delivery;
pub mod email;
pub mod outbox;
pub mod portfolio;
pub mod privacy;
pub mod queue;
pub mod store;
pub mod usage_backlog;
