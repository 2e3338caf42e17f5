//! Backfill ports: the sources' APIs that hold what their webhooks may have missed (Stripe's
//! `/v1/events`, Zendesk's incremental ticket export), and the reconciler's checkpoints.

use super::store::StoreError;
use async_trait::async_trait;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum SourceApiError {
    #[error("{api} is not configured: set {var}")]
    NotConfigured { api: &'static str, var: &'static str },
    #[error("{api} request failed: {source}")]
    Http {
        api: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{api} answered {status}: {body}")]
    Status { api: &'static str, status: u16, body: String },
    #[error("{api} answered a body of an unexpected shape: {reason}")]
    Shape { api: &'static str, reason: String },
}

/// One page of Stripe events, newest first as the API lists them; each event as its JSON bytes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StripeEventPage {
    pub events: Vec<Vec<u8>>,
    /// The id of the last (oldest) event of the page: `starting_after` of the next.
    pub last_id: Option<String>,
    pub has_more: bool,
}

/// Stripe's `GET /v1/events` (a restricted key with read access to events).
#[async_trait]
pub trait StripeEvents: Send + Sync {
    /// Events created at or after `since` (Unix seconds), the page after `starting_after`.
    async fn events_page(&self, since: i64, starting_after: Option<&str>) -> Result<StripeEventPage, SourceApiError>;
}

/// One page of Zendesk's incremental ticket export.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TicketPage {
    pub tickets: Vec<Value>,
    /// The cursor of the next page.
    pub after_cursor: Option<String>,
    pub end_of_stream: bool,
}

/// Zendesk's incremental ticket export (cursor based), rate limits waited out.
#[async_trait]
pub trait ZendeskTickets: Send + Sync {
    /// The first page from `since` (Unix seconds) when `cursor` is `None`, else the page at it.
    async fn tickets_page(&self, since: i64, cursor: Option<&str>) -> Result<TicketPage, SourceApiError>;
}

/// The scheduled reconciler's checkpoint per source: where the last run got to.
#[async_trait]
pub trait BackfillCheckpoints: Send + Sync {
    async fn checkpoint(&self, source: &str) -> Result<Option<i64>, StoreError>;
    async fn save_checkpoint(&self, source: &str, at: i64) -> Result<(), StoreError>;
}
