//! Use cases run by the webhook functions and the local runner alike. Framework-neutral: they
//! take the raw body and the headers they need and return a [`WebhookResponse`], which the
//! Lambda binary and the runner encode as HTTP.

pub mod analytics;
pub mod identity;
pub mod stripe;
pub mod tracking;
pub mod typeform;
pub mod usage_fold;
pub mod zendesk;

use crate::app::alerts::AlertError;
use crate::app::ports::store::{AccountStore, ApplyOutcome, SourceRegistry, StoreError};
use crate::domain::change::AccountChange;
use crate::domain::connection::Source;
use serde_json::{json, Value};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Webhook bodies larger than this are refused with 413 (Stripe events are a few KB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The longest external or account id Foresight keeps, in bytes. DynamoDB keys hold at most
/// 2,048 bytes and an id ends up in several: `ACCOUNT#<account>`, `LINK#<source>#<external id>`,
/// an alert's `NOTIFICATION#<account>/<kind>/<subscription or invoice id>/<day>`. Real ids are far
/// shorter (Stripe's at most 255 characters, its metadata values 500); a longer one is refused
/// with 400 before anything is written (a 500 would have the sender retry it for days).
pub const MAX_ID_BYTES: usize = 512;
/// The longest attribute name of a change: names embed an object id (`sub#<subscription>`,
/// `pf#<invoice>#<attempt>`, `mrr#<subscription>#<version>`) that alert keys repeat.
pub const MAX_ATTRIBUTE_BYTES: usize = 2 * MAX_ID_BYTES + 64;

/// Every webhook answers within this, whatever a dependency does (a hung or paused DynamoDB, an
/// unreachable queue): past it the work is abandoned and the sender is told to retry. Below the
/// Lambda functions' 10-second timeout, so the answer is ours, not a killed invocation's.
pub const WEBHOOK_DEADLINE: Duration = Duration::from_secs(8);

/// Our own failures (storage, queue, the deadline) are answered so that every sender retries
/// them, each by its own rules:
/// - Zendesk retries only a 409, a 429 or 503 *with* `Retry-After`, and timeouts: never a
///   plain 500, which would lose the ticket update;
/// - Stripe retries any non-2xx with backoff for up to three days;
/// - Segment (the Webhooks destination, and the server libraries on the HTTP Tracking API)
///   retries 5xx and 429 with backoff.
///
/// 503 with a short `Retry-After` is retried by all three, so it is the one answer.
pub const RETRY_STATUS: u16 = 503;
/// `Retry-After`, in seconds, on a [`RETRY_STATUS`] answer.
pub const RETRY_AFTER_SECS: u64 = 10;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0} is not configured: set it to the endpoint's webhook signing secret")]
    MissingSecret(&'static str),
    #[error("payload of {0} bytes is over the {MAX_BODY_BYTES}-byte limit")]
    TooLarge(usize),
    #[error("signature rejected: {0}")]
    Signature(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A missing or wrong credential where the sender authenticates with one (a bearer token, a
    /// write key): 401, which no sender retries as is.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("invalid payload: {0}")]
    Payload(String),
    #[error("storage failed, retry later: {0}")]
    Store(#[from] StoreError),
    #[error("alert not raised, retry later: {0}")]
    Alerting(#[from] AlertError),
    /// The batch's usage could not be held for the usage fold.
    #[error("usage not held, retry later: {0}")]
    Held(#[from] crate::app::ports::queue::QueueError),
    #[error("not done within {0:?}, retry later")]
    Deadline(Duration),
}

impl IngestError {
    /// The HTTP status the sender understands: 4xx means "do not retry as is"; our own failures
    /// (and a secret not configured yet) are [`RETRY_STATUS`], which every sender retries.
    pub fn status(&self) -> u16 {
        match self {
            IngestError::TooLarge(_) => 413,
            IngestError::Signature(_) | IngestError::Payload(_) => 400,
            IngestError::Unauthorized(_) => 401,
            IngestError::MissingSecret(_)
            | IngestError::Store(_)
            | IngestError::Alerting(_)
            | IngestError::Held(_)
            | IngestError::Deadline(_) => RETRY_STATUS,
        }
    }

    /// `Retry-After` (seconds) for an answer the sender should retry later.
    pub fn retry_after(&self) -> Option<u64> {
        (self.status() == RETRY_STATUS).then_some(RETRY_AFTER_SECS)
    }

    /// Whether this is our own failure (not the sender's mistake): logged as an error, and
    /// answered with a generic message.
    pub fn is_ours(&self) -> bool {
        matches!(self, IngestError::Store(_) | IngestError::Alerting(_) | IngestError::Deadline(_))
    }
}

/// What the sender gets back, and what happened (for the runtime's metrics).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub body: Value,
    /// `Retry-After` in seconds, on an answer the sender should retry later.
    pub retry_after: Option<u64>,
    pub report: IngestReport,
}

/// What one delivery did, as the runtime counts it (never sent to the sender).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IngestReport {
    pub source: &'static str,
    /// The event's type (Stripe, Zendesk) or `batch` (analytics); empty when rejected.
    pub event_type: String,
    /// Events (or analytics messages) accepted.
    pub events: u64,
    pub duplicates: u64,
    pub alerts: u64,
    pub rejected_signature: bool,
}

impl WebhookResponse {
    /// The answer to a failed delivery. Our own failures (storage, queue) answer a generic
    /// message: the cause is logged with the request id, never sent to the sender.
    pub fn error(source: &'static str, err: &IngestError) -> Self {
        let message = if err.is_ours() { "temporarily unavailable: please retry".to_owned() } else { err.to_string() };
        let report =
            IngestReport { source, rejected_signature: matches!(err, IngestError::Signature(_)), ..Default::default() };
        WebhookResponse {
            status: err.status(),
            body: json!({ "error": message }),
            retry_after: err.retry_after(),
            report,
        }
    }

    /// The answer to a delivery whose own work was done but a step after it failed (an
    /// erasure the event asks for): [`RETRY_STATUS`] with `Retry-After`, so the sender delivers
    /// again, and the delivery's report kept (its events were ingested).
    pub fn retry_later(report: IngestReport) -> Self {
        WebhookResponse {
            status: RETRY_STATUS,
            body: json!({ "error": "temporarily unavailable: please retry" }),
            retry_after: Some(RETRY_AFTER_SECS),
            report,
        }
    }

    /// A 200 answer with `body`.
    pub fn ok(body: Value, report: IngestReport) -> Self {
        WebhookResponse { status: 200, body, retry_after: None, report }
    }

    /// The HTTP response: the status, the JSON body and `Retry-After` when set.
    pub fn into_http(self) -> http::Response<String> {
        let mut response = http::Response::new(self.body.to_string());
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}

/// Runs a webhook's work with [`WEBHOOK_DEADLINE`]: an answer past it is abandoned (every write
/// is idempotent, and the sender retries) and the sender gets the retryable answer in time.
pub async fn within_deadline(
    source: &'static str,
    deadline: Duration,
    work: impl Future<Output = WebhookResponse>,
) -> WebhookResponse {
    match tokio::time::timeout(deadline, work).await {
        Ok(answer) => answer,
        Err(_) => {
            let err = IngestError::Deadline(deadline);
            log_rejection(source, &err);
            WebhookResponse::error(source, &err)
        }
    }
}

/// Refuses an id over [`MAX_ID_BYTES`], naming the field.
pub fn check_id(field: &str, id: Option<&str>) -> Result<(), IngestError> {
    match id {
        Some(id) if id.len() > MAX_ID_BYTES => Err(IngestError::Payload(format!(
            "{field} is {} bytes long, more than the {MAX_ID_BYTES} allowed",
            id.len()
        ))),
        _ => Ok(()),
    }
}

/// Refuses a change whose attribute names (which embed object ids) are over
/// [`MAX_ATTRIBUTE_BYTES`], naming the object.
pub fn check_change(change: &AccountChange) -> Result<(), IngestError> {
    let names = change.guarded.iter().map(|g| g.attribute.as_str()).chain(change.facts.iter().map(|(n, _)| n.as_str()));
    match names.into_iter().find(|n| n.len() > MAX_ATTRIBUTE_BYTES) {
        Some(name) => Err(IngestError::Payload(format!(
            "an object id of {} bytes ({}…) is longer than the {MAX_ID_BYTES} allowed",
            name.len(),
            name.chars().take(24).collect::<String>()
        ))),
        None => Ok(()),
    }
}

impl From<crate::sources::stripe::signature::SignatureError> for IngestError {
    fn from(e: crate::sources::stripe::SignatureError) -> Self {
        IngestError::Signature(Box::new(e))
    }
}

impl From<crate::sources::zendesk::signature::SignatureError> for IngestError {
    fn from(e: crate::sources::zendesk::signature::SignatureError) -> Self {
        IngestError::Signature(Box::new(e))
    }
}

/// An accepted delivery.
#[derive(Clone, Debug, PartialEq)]
pub struct Accepted {
    pub event_id: String,
    pub event_type: String,
    pub account_id: Option<String>,
    pub outcome: Outcome,
    /// Dedupe keys of the alerts the event raised at once.
    pub alerts: Vec<String>,
}

impl Accepted {
    /// An event nothing was done with yet (ignored unless [`Accepted::apply`] follows).
    pub fn new(event_id: &str, event_type: &str) -> Self {
        Accepted {
            event_id: event_id.into(),
            event_type: event_type.into(),
            account_id: None,
            outcome: Outcome::Ignored,
            alerts: Vec::new(),
        }
    }

    /// Applies `change` to `account_id` the way `arrival` calls for: a delivery writes at once
    /// (the store's conditional write refuses a duplicate); a replay reads the record first and
    /// writes nothing when the change would not alter it.
    pub async fn apply_as(
        self,
        arrival: Arrival,
        accounts: &dyn AccountStore,
        change: AccountChange,
        account_id: String,
    ) -> Result<Self, IngestError> {
        if arrival == Arrival::Replay {
            let stored = accounts.get(&account_id).await?;
            if stored.is_some_and(|stored| !stored.is_altered_by(&change)) {
                return Ok(Accepted { account_id: Some(account_id), outcome: Outcome::Duplicate, ..self });
            }
        }
        self.apply(accounts, change, account_id).await
    }

    /// Applies `change` to `account_id` and records what it did.
    pub async fn apply(
        mut self,
        accounts: &dyn AccountStore,
        mut change: AccountChange,
        account_id: String,
    ) -> Result<Self, IngestError> {
        change.account_id = account_id.clone();
        self.outcome = match accounts.apply(&change).await? {
            ApplyOutcome::Applied => Outcome::Applied,
            ApplyOutcome::Stale => Outcome::Duplicate,
        };
        self.account_id = Some(account_id);
        Ok(self)
    }
}

/// Logs a delivery's result and encodes the answer every webhook gives.
pub fn respond(source: &'static str, result: Result<Accepted, IngestError>) -> WebhookResponse {
    match result {
        Ok(a) => {
            tracing::info!(
                source,
                event_id = %a.event_id,
                event_type = %a.event_type,
                account_id = a.account_id.as_deref().unwrap_or(""),
                outcome = ?a.outcome,
                "event accepted"
            );
            let report = IngestReport {
                source,
                event_type: a.event_type.clone(),
                events: 1,
                duplicates: u64::from(a.outcome == Outcome::Duplicate),
                alerts: a.alerts.len() as u64,
                rejected_signature: false,
            };
            let body = json!({
                "received": true,
                "event_id": a.event_id,
                "type": a.event_type,
                "account_id": a.account_id,
                "outcome": a.outcome,
                "alerts": a.alerts,
            });
            WebhookResponse::ok(body, report)
        }
        Err(err) => {
            log_rejection(source, &err);
            WebhookResponse::error(source, &err)
        }
    }
}

/// Logs why a delivery was not accepted: our own failures as errors (with their cause), the
/// sender's as warnings.
pub fn log_rejection(source: &'static str, err: &IngestError) {
    match err {
        IngestError::Store(e) => tracing::error!(source, error = %e, "event not stored"),
        IngestError::Alerting(e) => tracing::error!(source, error = %e, "event stored, alert not raised"),
        IngestError::Held(e) => tracing::error!(source, error = %e, "usage not held for the fold"),
        IngestError::Deadline(d) => tracing::error!(source, deadline = ?d, "not done in time; the sender will retry"),
        e => tracing::warn!(source, status = e.status(), error = %e, "event rejected"),
    }
}

/// How an event reaches ingest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arrival {
    /// Delivered by the sender's webhook: written at once, one conditional write per event.
    Delivery,
    /// Read back from the sender's API (backfill), where most events were delivered before:
    /// the record is read first, and an event it already reflects writes nothing.
    Replay,
}

/// What happened to an accepted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It changed the record.
    Applied,
    /// A redelivery or an older event: the record already held this or newer state.
    Duplicate,
    /// A type Foresight does not use, or an object with no customer to attribute it to.
    Ignored,
}

/// Tells the deployment's [`SourceRegistry`] that a source delivers, and since when: once per
/// process, and again only when a delivery carries data older than what this process marked (a
/// failed mark is tried again on the next one). About one write per cold start, so the sweep can
/// tell a source never connected here from one that does not know an account, and the date is
/// the earliest seen whatever order deliveries arrive in. Without a registry (tests of one
/// webhook alone) it does nothing.
#[derive(Clone)]
pub struct SourceMark {
    registry: Option<Arc<dyn SourceRegistry>>,
    /// The earliest `since` this process has stored (`i64::MAX`: none yet).
    marked_since: Arc<AtomicI64>,
}

impl Default for SourceMark {
    fn default() -> Self {
        SourceMark { registry: None, marked_since: Arc::new(AtomicI64::new(i64::MAX)) }
    }
}

impl std::fmt::Debug for SourceMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceMark").field("registry", &self.registry.is_some()).finish_non_exhaustive()
    }
}

impl SourceMark {
    pub fn new(registry: Arc<dyn SourceRegistry>) -> Self {
        SourceMark { registry: Some(registry), ..Default::default() }
    }

    /// Marks `source` as delivering data as old as `since`, unless this process already marked
    /// it as old or older. Best effort: a failure is logged, never fails the delivery (the data
    /// itself is stored).
    pub async fn mark(&self, source: Source, since: i64) {
        let Some(registry) = &self.registry else { return };
        if self.marked_since.load(Ordering::Relaxed) <= since {
            return;
        }
        match registry.mark_connected(source, since).await {
            Ok(()) => {
                self.marked_since.fetch_min(since, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!(source = source.as_str(), error = %e, "source not marked connected, next delivery retries")
            }
        }
    }
}

/// The current time in Unix seconds (the webhooks' notion of "now").
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
