//! The customer-success model: pure types and rules, no I/O.

pub mod account;
pub mod alert;
pub mod billing;
pub mod change;
pub mod health;
pub mod lifecycle;
pub mod renewal;
pub mod support;
pub mod usage;
pub mod version;

pub use account::{AccountRecord, Segment};
pub use change::{AccountChange, GuardedGroup};
pub use version::EventVersion;
