//! The customer-success model: the account record and the pure rules over it. No I/O, and no
//! dependency on any other layer of the crate: everything else depends on this.
//!
//! - Foundations: [`time`] (Unix seconds inside, `DateTime`/`NaiveDate` at the edges), [`money`]
//!   (minor units per currency), [`version`] (event order, provenance), [`change`] (what one event
//!   does to one record).
//! - The record: [`account`] (stored attributes → [`AccountRecord`]) from its parts [`billing`]
//!   (subscriptions, MRR and its movements, what is past due), [`support`] (tickets, CSAT),
//!   [`usage`] (product use per day, what counts as use, first value), [`survey`] (NPS), and
//!   [`connection`] (which sources know the account, and which the deployment has).
//! - Judgement: [`tier`] (touch tiers), [`lifecycle`] (stage, time-to-value), [`health`] (the
//!   explainable score), [`alert`] (signals, dedupe keys, cool-downs), [`renewal`] (renewal
//!   windows).
//! - Portfolio: [`digest`] (the weekly digest), [`crm`] (health on the CRM record, when it changed), [`kpi`] (MRR movements by month, the KPIs of a month, ChartMogul's definitions).

pub mod account;
pub mod alert;
pub mod billing;
pub mod change;
pub mod connection;
pub mod contact;
pub mod crm;
pub mod digest;
pub mod health;
pub mod kpi;
pub mod lifecycle;
pub mod money;
pub mod playbook;
pub mod privacy;
pub mod renewal;
pub mod retention;
pub mod support;
pub mod survey;
pub mod tier;
pub mod time;
pub mod usage;
pub mod version;

pub use account::{AccountRecord, StoredAccount};
pub use change::{AccountChange, GuardedGroup};
pub use lifecycle::Lifecycle;
pub use tier::Segment;
pub use version::EventVersion;
