//! Delivery ports: putting an alert in front of a person. One small trait per capability
//! ([`SlackPort`], [`CrmPort`]), the task a CRM receives ([`CrmTask`]), and the outcome every
//! adapter answers ([`Delivered`] or a [`DeliveryError`] that tells the dispatcher what to do
//! next: wait and retry, retry with backoff, or dead-letter). The adapters (`adapters::slack`,
//! `adapters::hubspot`, `adapters::salesforce`) never retry on their own, except Salesforce's one
//! documented re-authentication, so the dispatcher owns the retry policy.
//!
//! Exactly-once for CRM tasks: a task carries a reference token derived from the alert's dedupe
//! key ([`CrmTask::reference`]) at the end of its subject. A dispatcher that crashed between
//! creating a task and recording it calls [`CrmPort::find_task`] first and skips the create when
//! the task exists.

use crate::domain::alert::Alert;
use async_trait::async_trait;
use sha2::{Digest, Sha256};

/// Why a delivery did not happen, and what to do about it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Rate limited: try again after this many seconds (Slack 429 Retry-After, HubSpot 429).
    #[error("rate limited: retry after {seconds} s ({reason})")]
    RetryAfter { seconds: u64, reason: String },
    /// Worth retrying with backoff: 5xx, network errors, Slack transient ok:false errors.
    #[error("transient: {0}")]
    Transient(String),
    /// Will never succeed as sent: dead-letter it with this reason (e.g. Slack channel_not_found,
    /// HubSpot 4xx validation with the response body).
    #[error("permanent: {0}")]
    Permanent(String),
}

impl DeliveryError {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, DeliveryError::Permanent(_))
    }
}

/// A delivered notification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    /// Slack message `ts`, HubSpot task id, Salesforce task id; `"webhook"` for incoming webhooks
    /// (they return no id).
    pub remote_id: String,
}

impl Delivered {
    pub fn new(remote_id: impl Into<String>) -> Self {
        Delivered { remote_id: remote_id.into() }
    }
}

/// A CRM task's priority; each adapter maps it to its own values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskPriority {
    Low,
    Medium,
    High,
}

/// One CRM task, the same for HubSpot and Salesforce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrmTask {
    /// The alert's dedupe key: one task per key, ever.
    pub dedupe_key: String,
    /// The human subject. The adapters append ` · ref <token>` ([`CrmTask::subject_line`]).
    pub subject: String,
    /// Plain text: the summary, the reasons, the account link and the dedupe key.
    pub body: String,
    /// The day the task is due.
    pub due: chrono::NaiveDate,
    pub priority: TaskPriority,
    /// The CRM owner (HubSpot owner id, Salesforce User id). Each adapter sends it only when it has
    /// that CRM's id shape (HubSpot: digits; Salesforce: a `005…` User id), so an owner named in
    /// another system never turns a good task into a rejected one.
    pub owner_id: Option<String>,
    pub hubspot_company_id: Option<String>,
    pub salesforce_account_id: Option<String>,
}

impl CrmTask {
    /// The token that finds this task again: `fs` and 20 hex digits of SHA-256(dedupe key). Letters
    /// and digits only, so HubSpot's search tokenizer keeps it whole (`CONTAINS_TOKEN`) and a
    /// Salesforce `LIKE` pattern needs no escaping.
    pub fn reference(&self) -> String {
        reference(&self.dedupe_key)
    }

    /// The subject as sent: the human subject, then ` · ref <token>`, at most `max_chars`
    /// characters. The human part is cut (with `…`) so the token always survives whole.
    pub fn subject_line(&self, max_chars: usize) -> String {
        let suffix = format!(" · ref {}", self.reference());
        let room = max_chars.saturating_sub(suffix.chars().count());
        format!("{}{suffix}", truncate(self.subject.trim(), room))
    }
}

/// The reference token of a dedupe key (see [`CrmTask::reference`]).
pub fn reference(dedupe_key: &str) -> String {
    let digest = Sha256::digest(dedupe_key.as_bytes());
    format!("fs{}", &hex::encode(digest)[..20])
}

/// Posts an alert to Slack: `chat.postMessage` to a channel, or an incoming webhook (whose
/// channel is fixed when the webhook is created, so `channel` is ignored). The adapter lays the
/// message out (Block Kit within Slack's limits).
#[async_trait]
pub trait SlackPort: Send + Sync {
    async fn post_alert(&self, channel: &str, alert: &Alert) -> Result<Delivered, DeliveryError>;
}

/// Creates CRM tasks, and finds one created before a crash.
#[async_trait]
pub trait CrmPort: Send + Sync {
    /// The effect's name in the outbox (`hubspot`, `salesforce`).
    fn name(&self) -> &'static str;
    async fn find_task(&self, task: &CrmTask) -> Result<Option<Delivered>, DeliveryError>;
    async fn create_task(&self, task: &CrmTask) -> Result<Delivered, DeliveryError>;
}

/// At most `max` characters; a cut string ends with `…` (counted).
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Line breaks and tabs folded to spaces (subjects and headers are one line).
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_line_keeps_the_reference_whole() {
        let task = CrmTask {
            dedupe_key: "acct/payment_failed/in_1".into(),
            subject: "x".repeat(400),
            body: String::new(),
            due: chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap_or_default(),
            priority: TaskPriority::High,
            owner_id: None,
            hubspot_company_id: None,
            salesforce_account_id: None,
        };
        let line = task.subject_line(255);
        assert_eq!(line.chars().count(), 255);
        assert!(line.ends_with(&format!(" · ref {}", task.reference())));
        assert_eq!(task.reference().len(), 22);
        assert!(task.reference().chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("héllo", 5), "héllo");
        assert_eq!(truncate("héllo", 4), "hél…");
        assert_eq!(truncate("héllo", 0), "");
    }
}
