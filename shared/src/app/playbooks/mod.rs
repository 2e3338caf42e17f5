//! Tech-touch playbooks (`../shared/domain.md`, "Touch model in practice: playbooks"): emails to
//! the account's contacts through SES and signed in-app webhooks, each exactly once through the
//! outbox, within the frequency caps and outside quiet hours, unsubscribable for good.
//!
//! - [`settings`]: `[email]` and `[[playbooks]]` in `foresight.toml`, validated at start.
//! - [`templates`]: the email templates (en, ja) and what they see of an account.
//! - [`sweep`]: the playbook sweep (episodes → actions, safeguards, outbox) and unsubscribing.
//! - [`unsubscribe`]: signed unsubscribe tokens.
//! - [`inapp`]: the signed in-app webhook, delivered from the queue with retries.

pub mod inapp;
pub mod settings;
pub mod sweep;
pub mod templates;
pub mod unsubscribe;
