//! Outbound delivery adapters: the HTTP calls that put an [`Alert`] in front of a CSM, in Slack
//! (`chat.postMessage` or an incoming webhook) and in the CRM (a HubSpot or Salesforce task).
//! Facts about each API: `../shared/integrations.md`, sections Slack, HubSpot and Salesforce.
//!
//! Every call answers [`Delivered`] or a [`DeliveryError`] that tells the dispatcher what to do
//! next: wait and retry ([`DeliveryError::RetryAfter`]), retry with backoff
//! ([`DeliveryError::Transient`]) or dead-letter ([`DeliveryError::Permanent`]). The adapters never
//! retry on their own (except Salesforce's one documented re-authentication), so the dispatcher
//! owns the retry policy.
//!
//! Exactly-once for CRM tasks: a task carries a reference token derived from the alert's dedupe key
//! ([`CrmTask::reference`]) at the end of its subject. A dispatcher that crashed between creating a
//! task and recording it calls `find_task` first and skips the create when the task exists.
//!
//! Build one [`http_client`] per process and hand it to every adapter: it keeps the connection
//! pool warm across invocations of a Lambda container.

pub mod hubspot;
pub mod salesforce;
pub mod slack;

use crate::domain::alert::{Alert, AlertKind, Severity};
use crate::domain::health::Band;
use sha2::{Digest, Sha256};
use std::time::Duration;

pub use hubspot::HubSpot;
pub use salesforce::{Salesforce, SalesforceConfig};
pub use slack::{SlackApi, SlackMessage, SlackWebhook};

/// Timeout of one HTTP request, connect included. Lambda's own timeout is longer, so a hung call
/// ends as [`DeliveryError::Transient`] instead of killing the invocation.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of the TCP + TLS connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Remote error bodies are cut to this many characters in error reasons and logs.
const MAX_REASON_CHARS: usize = 2_000;

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

/// The CRM task for an alert, due on `due`.
///
/// Subject: `<account>: <headline> — health <band>` (band left out when not scored). Body: the
/// summary, the reasons, the owner, the account and record links, and the dedupe key. Priority:
/// high for payment failures, cancellations and red accounts, medium for other risks and for
/// opportunities.
pub fn crm_task(alert: &Alert, due: chrono::NaiveDate) -> CrmTask {
    let account = alert.account_name.as_deref().filter(|n| !n.trim().is_empty()).unwrap_or(&alert.account_id);
    let band = alert.band.map(|b| format!(" — health {}", band_name(b))).unwrap_or_default();
    let subject = one_line(&format!("{account}: {}{band}", alert.headline));

    let mut body = String::new();
    body.push_str(&alert.summary);
    body.push('\n');
    if !alert.reasons.is_empty() {
        body.push_str("\nWhy:\n");
        for reason in &alert.reasons {
            body.push_str("- ");
            body.push_str(reason);
            body.push('\n');
        }
    }
    body.push('\n');
    body.push_str(&format!("Account: {account} ({})\n", alert.account_id));
    if let Some(owner) = &alert.owner {
        body.push_str(&format!("Owner: {owner}\n"));
    }
    body.push_str(&format!("MRR: {}\n", money(alert.mrr, alert.currency.as_deref())));
    if !alert.links.account.is_empty() {
        body.push_str(&format!("Open in Foresight: {}\n", alert.links.account));
    }
    if let Some(stripe) = &alert.links.stripe {
        body.push_str(&format!("Stripe: {stripe}\n"));
    }
    body.push_str(&format!("Raised by {} at {}\n", alert.raised_by, alert.raised_at));
    body.push_str(&format!("Foresight alert key: {} (ref {})\n", alert.dedupe_key, reference(&alert.dedupe_key)));

    let priority = match (alert.severity, alert.kind, alert.band) {
        (_, AlertKind::PaymentFailed | AlertKind::CancelAtPeriodEnd, _) => TaskPriority::High,
        (Severity::Risk, _, Some(Band::Red)) => TaskPriority::High,
        _ => TaskPriority::Medium,
    };
    CrmTask {
        dedupe_key: alert.dedupe_key.clone(),
        subject,
        body,
        due,
        priority,
        owner_id: alert.owner.clone().filter(|o| !o.trim().is_empty()),
        hubspot_company_id: alert.links.hubspot_company_id.clone().filter(|id| !id.trim().is_empty()),
        salesforce_account_id: alert.links.salesforce_account_id.clone().filter(|id| !id.trim().is_empty()),
    }
}

/// One reusable HTTP client (rustls, [`REQUEST_TIMEOUT`], [`CONNECT_TIMEOUT`]).
pub fn http_client() -> Result<reqwest::Client, DeliveryError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("foresight/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::Permanent(format!("cannot build the HTTP client: {e}")))
}

pub(crate) fn band_name(band: Band) -> &'static str {
    match band {
        Band::Red => "red",
        Band::Yellow => "yellow",
        Band::Green => "green",
    }
}

/// Minor units as `1,234.50 USD` (zero-decimal currencies without decimals).
pub(crate) fn money(minor: i64, currency: Option<&str>) -> String {
    const ZERO_DECIMAL: [&str; 16] = [
        "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
    ];
    let code = currency.map(|c| c.trim().to_ascii_lowercase()).filter(|c| !c.is_empty());
    let zero_decimal = code.as_deref().is_some_and(|c| ZERO_DECIMAL.contains(&c));
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let (major, cents) = if zero_decimal { (abs, None) } else { (abs / 100, Some(abs % 100)) };
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let amount = match cents {
        Some(c) => format!("{sign}{grouped}.{c:02}"),
        None => format!("{sign}{grouped}"),
    };
    match code {
        Some(c) => format!("{amount} {}", c.to_ascii_uppercase()),
        None => amount,
    }
}

/// At most `max` characters; a cut string ends with `…` (counted).
pub(crate) fn truncate(s: &str, max: usize) -> String {
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
pub(crate) fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A remote body, cut for an error reason.
pub(crate) fn snippet(body: &str) -> String {
    truncate(body.trim(), MAX_REASON_CHARS)
}

/// A network-level failure. A request that could not even be built (a malformed base URL) will
/// never succeed as configured; everything else (connect, timeout, reset) is worth a retry.
pub(crate) fn network_error(what: &str, e: reqwest::Error) -> DeliveryError {
    if e.is_builder() {
        DeliveryError::Permanent(format!("{what}: invalid request: {e}"))
    } else {
        DeliveryError::Transient(format!("{what}: {e}"))
    }
}

/// `Retry-After` as whole seconds (Slack and HubSpot send seconds; an HTTP date is not expected).
pub(crate) fn retry_after_seconds(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()
}

/// The classification shared by HTTP APIs: 429 is handled by each adapter; 408, 423, 425 and 5xx
/// are transient; other 4xx permanent; anything else unexpected (1xx, 3xx) transient.
pub(crate) fn status_error(what: &str, status: reqwest::StatusCode, body: &str) -> DeliveryError {
    let reason = format!("{what}: HTTP {} {}", status.as_u16(), snippet(body));
    let code = status.as_u16();
    if status.is_server_error() || matches!(code, 408 | 423 | 425) {
        DeliveryError::Transient(reason)
    } else if status.is_client_error() {
        DeliveryError::Permanent(reason)
    } else {
        DeliveryError::Transient(reason)
    }
}

/// `base` without a trailing slash, so `{base}/path` never doubles it.
pub(crate) fn trim_base(base: impl Into<String>) -> String {
    let mut base = base.into();
    while base.ends_with('/') {
        base.pop();
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_formats_minor_units() {
        assert_eq!(money(123_450, Some("usd")), "1,234.50 USD");
        assert_eq!(money(5, None), "0.05");
        assert_eq!(money(1_000_000, Some("JPY")), "1,000,000 JPY");
        assert_eq!(money(-99_900, Some("eur")), "-999.00 EUR");
    }

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
