//! Backfill after missed webhooks (an outage, a misconfigured endpoint, a secret rotated wrong):
//! what the sources' APIs still hold since a time — Stripe's events (30 days), Zendesk's
//! incremental ticket export — applied through the same ingest code as the webhooks. Dedupe
//! (event versions) makes a replay of what did arrive a no-op, so a backfill is safe to repeat.

use crate::app::ingest::stripe::{EventAlerting, StripeStores, StripeWebhook};
use crate::app::ingest::zendesk::ZendeskWebhook;
use crate::app::ingest::{Accepted, Arrival, IngestError, Outcome};
use crate::app::ports::backfill::{SourceApiError, StripeEvents, ZendeskTickets};
use crate::app::ports::store::{AccountStore, LinkStore};
use crate::domain::time;
use crate::sources::zendesk::export;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error(transparent)]
    Api(#[from] SourceApiError),
    /// Storage failed: the backfill stops and is safe to run again.
    #[error("{0}")]
    Ingest(#[from] IngestError),
}

/// What a backfill did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct BackfillSummary {
    pub source: &'static str,
    pub since: String,
    pub pages: u64,
    /// Events (tickets) listed by the API.
    pub listed: u64,
    /// Changed a record: the webhook had not delivered them.
    pub applied: u64,
    /// Already held (the webhook delivered them, or an earlier backfill did).
    pub duplicates: u64,
    /// Types Foresight does not use, or objects with no account (or an erased one).
    pub ignored: u64,
    /// Could not be parsed: logged and skipped, so one odd object does not stop the rest.
    pub rejected: u64,
}

impl BackfillSummary {
    fn new(source: &'static str, since: i64) -> Self {
        BackfillSummary { source, since: time::rfc3339(since), ..Default::default() }
    }

    fn count(&mut self, result: Result<Accepted, IngestError>) -> Result<(), IngestError> {
        match result {
            Ok(accepted) => match accepted.outcome {
                Outcome::Applied => self.applied += 1,
                Outcome::Duplicate => self.duplicates += 1,
                Outcome::Ignored => self.ignored += 1,
            },
            Err(IngestError::Payload(reason)) => {
                tracing::warn!(source = self.source, reason, "listed object skipped");
                self.rejected += 1;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }
}

/// Replays Stripe's events created at or after `since`, oldest first.
pub async fn stripe(
    api: &dyn StripeEvents,
    webhook: &StripeWebhook,
    stores: &StripeStores<'_>,
    alerting: Option<&EventAlerting<'_>>,
    since: i64,
    now: i64,
) -> Result<BackfillSummary, BackfillError> {
    let mut summary = BackfillSummary::new("stripe", since);
    let mut events = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = api.events_page(since, after.as_deref()).await?;
        summary.pages += 1;
        events.extend(page.events);
        match (page.has_more, page.last_id) {
            (true, Some(last)) => after = Some(last),
            _ => break,
        }
    }
    summary.listed = events.len() as u64;
    // The API lists newest first; applying oldest first is what a live endpoint would have seen.
    for event in events.iter().rev() {
        let applied = match webhook.parse_listed(event) {
            Ok(update) => webhook.apply(stores, alerting, update, Arrival::Replay, now).await,
            Err(e) => Err(e),
        };
        summary.count(applied)?;
    }
    tracing::info!(?summary, "stripe backfill done");
    Ok(summary)
}

/// Replays Zendesk's tickets changed at or after `since`, page by page.
pub async fn zendesk(
    api: &dyn ZendeskTickets,
    webhook: &ZendeskWebhook,
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    since: i64,
    now: i64,
) -> Result<BackfillSummary, BackfillError> {
    let mut summary = BackfillSummary::new("zendesk", since);
    let mut cursor: Option<String> = None;
    loop {
        let page = api.tickets_page(since, cursor.as_deref()).await?;
        summary.pages += 1;
        summary.listed += page.tickets.len() as u64;
        for ticket in &page.tickets {
            let applied = match export::parse_ticket(ticket) {
                Ok(update) => webhook.apply(accounts, links, update, Arrival::Replay, now).await,
                Err(e) => Err(IngestError::Payload(e.to_string())),
            };
            summary.count(applied)?;
        }
        match (page.end_of_stream, page.after_cursor) {
            (false, Some(next)) => cursor = Some(next),
            _ => break,
        }
    }
    tracing::info!(?summary, "zendesk backfill done");
    Ok(summary)
}

/// How far before its last checkpoint the daily reconciler reads again: Zendesk leaves out the
/// last minute's changes, and a replay is a no-op anyway.
pub const RECONCILE_OVERLAP: i64 = 3600;
/// Where a reconciler with no checkpoint starts: a few days back (Stripe keeps 30).
pub const RECONCILE_FIRST_WINDOW: i64 = 3 * time::DAY;

/// What the scheduled reconciler reads.
pub struct ReconcilePorts<'a> {
    pub stripe: Option<(&'a dyn StripeEvents, &'a StripeWebhook)>,
    pub zendesk: Option<(&'a dyn ZendeskTickets, &'a ZendeskWebhook)>,
    pub accounts: &'a dyn AccountStore,
    pub links: &'a dyn LinkStore,
    pub ledger: Option<&'a dyn crate::app::ports::portfolio::MrrLedger>,
    pub checkpoints: &'a dyn crate::app::ports::backfill::BackfillCheckpoints,
}

/// The daily reconciler: each configured source from its checkpoint (less
/// [`RECONCILE_OVERLAP`]), then the checkpoint moves to this run's start. A failed source keeps
/// its checkpoint (the next run reads the same span again) and does not stop the other.
pub async fn reconcile(ports: &ReconcilePorts<'_>, now: i64) -> Vec<Result<BackfillSummary, BackfillError>> {
    let since = |checkpoint: Option<i64>| checkpoint.map_or(now - RECONCILE_FIRST_WINDOW, |c| c - RECONCILE_OVERLAP);
    let mut runs = Vec::new();
    if let Some((api, webhook)) = ports.stripe {
        let run = async {
            let from = since(ports.checkpoints.checkpoint("stripe").await.map_err(IngestError::from)?);
            let stores = StripeStores { accounts: ports.accounts, links: ports.links, ledger: ports.ledger };
            let summary = stripe(api, webhook, &stores, None, from, now).await?;
            ports.checkpoints.save_checkpoint("stripe", now).await.map_err(IngestError::from)?;
            Ok(summary)
        };
        runs.push(run.await);
    }
    if let Some((api, webhook)) = ports.zendesk {
        let run = async {
            let from = since(ports.checkpoints.checkpoint("zendesk").await.map_err(IngestError::from)?);
            let summary = zendesk(api, webhook, ports.accounts, ports.links, from, now).await?;
            ports.checkpoints.save_checkpoint("zendesk", now).await.map_err(IngestError::from)?;
            Ok(summary)
        };
        runs.push(run.await);
    }
    runs
}
