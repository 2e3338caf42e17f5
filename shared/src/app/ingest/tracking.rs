//! Segment's HTTP Tracking API (`/v1/batch`, `/v1/track`, `/v1/identify`, `/v1/group`,
//! `/v1/page`), so Segment's own server libraries send straight to Foresight: authenticate the
//! write key, parse, then the same aggregation and dedupe as the analytics webhook
//! ([`super::analytics::ingest`]). Shared by `functions/analytics-webhook` and `foresight dev`.

use super::analytics::{self, BatchOutcome};
use super::{IngestError, WebhookResponse, WEBHOOK_DEADLINE};
use crate::app::ports::store::{AccountStore, LinkStore, UsageStore};
use crate::app::ports::usage_backlog::UsageBuffer;
use crate::domain::usage::AnalyticsConfig;
use crate::sources::segment::tracking::{self, Endpoint};
use crate::sources::segment::Message;
use http::HeaderMap;
use serde_json::json;

pub const WRITE_KEY_VAR: &str = "SEGMENT_WRITE_KEY";
/// The name the Tracking API is logged and counted under.
const SOURCE: &str = "segment-tracking";

/// The Tracking API's configuration, loaded once per cold start.
#[derive(Clone)]
pub struct TrackingApi {
    write_key: Option<String>,
    config: AnalyticsConfig,
    marks: analytics::ConnectionMarks,
    /// Set: usage is held for the usage fold instead of written now.
    usage_buffer: Option<std::sync::Arc<dyn UsageBuffer>>,
}

impl std::fmt::Debug for TrackingApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackingApi").field("configured", &self.write_key.is_some()).finish_non_exhaustive()
    }
}

impl TrackingApi {
    pub fn new(write_key: Option<String>, config: AnalyticsConfig) -> Self {
        TrackingApi {
            write_key: write_key.filter(|k| !k.trim().is_empty()),
            config,
            marks: Default::default(),
            usage_buffer: None,
        }
    }

    /// Holds each request's usage in `buffer` for the usage fold instead of writing it.
    pub fn with_usage_buffer(mut self, buffer: std::sync::Arc<dyn UsageBuffer>) -> Self {
        self.usage_buffer = Some(buffer);
        self
    }

    /// Marks product analytics (and surveys) connected in this deployment's registry, as the
    /// webhook does.
    pub fn with_registry(mut self, registry: std::sync::Arc<dyn crate::app::ports::store::SourceRegistry>) -> Self {
        self.marks = analytics::ConnectionMarks::new(registry);
        self
    }

    /// Whether the write key is set (without it every request is answered 503 naming it).
    pub fn is_configured(&self) -> bool {
        self.write_key.is_some()
    }

    /// Size, write key, parsing: no I/O.
    pub fn prepare<'b>(
        &self,
        endpoint: Endpoint,
        headers: &HeaderMap,
        body: &'b [u8],
    ) -> Result<Vec<Message<'b>>, IngestError> {
        if body.len() > tracking::MAX_REQUEST_BYTES {
            return Err(IngestError::TooLarge(body.len()));
        }
        let write_key = self.write_key.as_deref().ok_or(IngestError::MissingSecret(WRITE_KEY_VAR))?;
        let authorization = headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        tracking::verify_write_key(authorization, write_key).map_err(|e| IngestError::Unauthorized(e.to_string()))?;
        tracking::parse(endpoint, body).map_err(|e| IngestError::Payload(e.to_string()))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn handle(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        usage: &dyn UsageStore,
        endpoint: Endpoint,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<BatchOutcome, IngestError> {
        let messages = self.prepare(endpoint, headers, body)?;
        let usage = analytics::usage_writes(usage, self.usage_buffer.as_deref());
        analytics::ingest(accounts, links, usage, &messages, &self.config, &self.marks, now).await
    }

    /// [`Self::handle`], logged and encoded as Segment answers: 200 `{"success": true}`.
    #[allow(clippy::too_many_arguments)]
    pub async fn respond(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        usage: &dyn UsageStore,
        endpoint: Endpoint,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        let work = async {
            let handled = self.handle(accounts, links, usage, endpoint, headers, body, now).await;
            analytics::respond_batch(
                SOURCE,
                handled,
                |o| json!({"success": true, "messages": o.messages, "ignored": o.ignored, "accounts": o.accounts}),
            )
        };
        super::within_deadline(SOURCE, WEBHOOK_DEADLINE, work).await
    }
}
