//! The portfolio's storage, for KPIs that cost a bounded number of reads: the MRR ledger (an
//! account's movements per month, with month totals kept in step) and the portfolio cards (one
//! small summary per account). Adapters: `adapters::dynamodb` (ledger items in the account's own
//! partition, so an export or erasure of the account finds them with its other items; month
//! totals under `KPI`; two sparse indexes) and `adapters::memory`.

use super::delivery::{Delivered, DeliveryError};
use super::outbox::{EffectState, NotificationStatus};
use super::store::StoreError;
use crate::domain::crm::CrmHealth;
use crate::domain::digest::Digest;
use crate::domain::kpi::{AccountCard, LedgerMonth, MonthTotal};
use async_trait::async_trait;

/// The MRR ledger: movements per account and month, and per-month totals.
#[async_trait]
pub trait MrrLedger: Send + Sync {
    /// Rebuilds the account's ledger from the MRR points its record holds now, writing only the
    /// months that changed, with the month totals adjusted by the same amounts in the same
    /// atomic write (a concurrent refresh of the same account makes one of them read again).
    /// An account that no longer exists (merged into another) loses its ledger. Also keeps the
    /// card's ledger facts (currency, MRR, start). Returns how many months changed; a refresh
    /// with nothing new writes nothing.
    async fn refresh(&self, account_id: &str) -> Result<usize, StoreError>;

    /// The month totals of every month up to `through` (`YYYY-MM`), all currencies.
    async fn month_totals(&self, through: &str) -> Result<Vec<MonthTotal>, StoreError>;

    /// Every account's ledger months from `from` to `through` (`YYYY-MM`, inclusive).
    async fn ledger_between(&self, from: &str, through: &str) -> Result<Vec<LedgerMonth>, StoreError>;
}

/// One small card per account (currency, MRR, band, renewal, start, first value).
#[async_trait]
pub trait PortfolioCards: Send + Sync {
    async fn cards(&self) -> Result<Vec<AccountCard>, StoreError>;
}

/// One report (the weekly digest) as recorded: once per key, with each delivery effect.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReportRecord {
    /// `weekly-digest/<ISO year>-W<week>`.
    pub key: String,
    pub status: NotificationStatus,
    pub created_at: crate::domain::time::Timestamp,
    /// The report as built the first time.
    pub report: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub effects: std::collections::BTreeMap<String, EffectState>,
}

/// Reports recorded exactly once per key (the outbox table): the first run records it pending,
/// each effect (the Slack message, the chart) is recorded as it is delivered, never twice.
#[async_trait]
pub trait ReportOutbox: Send + Sync {
    /// Records `report` under `key` unless a report is recorded there already; returns what is
    /// recorded (the earlier one, with its effects, when there was one).
    async fn record_report(&self, key: &str, report: &serde_json::Value, now: i64) -> Result<ReportRecord, StoreError>;
    /// Records an effect unless it is already sent; false if it was.
    async fn record_report_effect(&self, key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError>;
    async fn finish_report(&self, key: &str, status: NotificationStatus) -> Result<(), StoreError>;
    /// Every report recorded, oldest first (`GET /outbox`).
    async fn reports(&self) -> Result<Vec<ReportRecord>, StoreError>;
}

/// An account whose CRM record does not show its current health yet.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingHealth {
    pub account_id: String,
    pub hubspot_company_id: Option<String>,
    pub salesforce_account_id: Option<String>,
    pub health: CrmHealth,
}

/// The accounts the health sweep marked for the CRM (a sparse index), and the mark's removal.
#[async_trait]
pub trait CrmSyncQueue: Send + Sync {
    /// Up to `limit` marked accounts.
    async fn pending_health(&self, limit: usize) -> Result<Vec<PendingHealth>, StoreError>;
    /// Records that the CRM shows the health with fingerprint `fp`, and removes the mark unless
    /// a newer health was marked meanwhile (then it stays for the next run).
    async fn health_synced(&self, account_id: &str, fp: &str) -> Result<(), StoreError>;
}

/// Writes health on a CRM record: HubSpot company properties, Salesforce Account fields. Like
/// the task adapters it never retries on its own: the sync paces and stops on a rate limit.
#[async_trait]
pub trait CrmHealthPort: Send + Sync {
    /// `hubspot` or `salesforce`.
    fn name(&self) -> &'static str;
    /// The record this CRM writes for an account, if the account is linked to one.
    fn record_id<'a>(&self, pending: &'a PendingHealth) -> Option<&'a str>;
    /// Makes sure the fields exist (HubSpot: creates the custom properties once).
    async fn ensure_fields(&self) -> Result<(), DeliveryError>;
    async fn set_health(&self, record_id: &str, health: &CrmHealth) -> Result<(), DeliveryError>;
}

/// Delivers the weekly digest to Slack: the message (Block Kit) and the chart (a PNG through
/// the three-call external upload). A bot token is needed: an incoming webhook cannot upload.
#[async_trait]
pub trait DigestSlack: Send + Sync {
    /// `chat.postMessage` of the digest to `channel`: the message `ts`.
    async fn post_digest(&self, channel: &str, digest: &Digest) -> Result<Delivered, DeliveryError>;
    /// Draws the chart and shares it in `channel`: the file id.
    async fn upload_chart(&self, channel: &str, digest: &Digest) -> Result<Delivered, DeliveryError>;
}
