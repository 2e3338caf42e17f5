//! Zendesk webhook: verify, parse, resolve the organization's account, apply — shared by
//! `functions/zendesk-webhook` and `foresight dev`.

use super::{
    check_change, check_id, identity, Accepted, Arrival, IngestError, SourceMark, WebhookResponse, MAX_BODY_BYTES,
    WEBHOOK_DEADLINE,
};
use crate::app::ports::store::{AccountStore, LinkSource, LinkStore, SourceRegistry};
use crate::domain::account::attr;
use crate::domain::connection::Source;
use crate::sources::zendesk::{self, signature, ZendeskUpdate};
use http::HeaderMap;
use serde_json::json;

pub const SECRET_VAR: &str = "ZENDESK_WEBHOOK_SECRET";

/// The Zendesk webhook's configuration, loaded once per cold start.
#[derive(Clone)]
pub struct ZendeskWebhook {
    secret: Option<String>,
    connected: SourceMark,
}

impl std::fmt::Debug for ZendeskWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZendeskWebhook").field("configured", &self.secret.is_some()).finish()
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl ZendeskWebhook {
    pub fn new(secret: Option<String>) -> Self {
        ZendeskWebhook { secret: secret.filter(|s| !s.trim().is_empty()), connected: SourceMark::default() }
    }

    /// Marks Zendesk connected in this deployment's registry on the first ticket of the process.
    pub fn with_registry(mut self, registry: std::sync::Arc<dyn SourceRegistry>) -> Self {
        self.connected = SourceMark::new(registry);
        self
    }

    /// Whether the signing secret is set (without it every delivery is answered 503).
    pub fn is_configured(&self) -> bool {
        self.secret.is_some()
    }

    /// Size limit, signature and replay window, parsing: no I/O.
    pub fn prepare(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<ZendeskUpdate, IngestError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(IngestError::TooLarge(body.len()));
        }
        let secret = self.secret.as_deref().ok_or(IngestError::MissingSecret(SECRET_VAR))?;
        let signed_at = signature::verify(
            header(headers, "x-zendesk-webhook-signature"),
            header(headers, "x-zendesk-webhook-signature-timestamp"),
            body,
            secret,
            now,
        )?;
        let update = zendesk::parse(body, header(headers, "x-zendesk-webhook-invocation-id"), signed_at)
            .map_err(|e| IngestError::Payload(e.to_string()))?;
        check_id("delivery id", Some(&update.delivery_id))?;
        check_id("organization_id", update.organization_id.as_deref())?;
        check_id("organization_external_id", update.organization_external_id.as_deref())?;
        update.change.as_ref().map_or(Ok(()), check_change)?;
        Ok(update)
    }

    /// Handles one delivery. A redelivery (same invocation or event id) writes the same ticket
    /// version again, which the store recognises as a duplicate.
    pub async fn handle(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> Result<Accepted, IngestError> {
        let update = self.prepare(headers, body, now)?;
        self.apply(accounts, links, update, Arrival::Delivery, now).await
    }

    /// Applies a parsed update: a webhook's, or a ticket of the incremental export (backfill, a
    /// replay), which so goes through the same identity and dedupe as a delivery.
    pub async fn apply(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        update: ZendeskUpdate,
        arrival: Arrival,
        now: i64,
    ) -> Result<Accepted, IngestError> {
        let accepted = Accepted::new(&update.delivery_id, &update.kind);
        let Some(mut change) = update.change else {
            return Ok(accepted);
        };
        let organization = update.organization_id.as_deref();
        let explicit = update.organization_external_id.as_deref();
        let resolved =
            identity::resolve_account(accounts, links, LinkSource::Zendesk, organization, explicit, false).await?;
        // A ticket with no organization cannot be attributed to an account.
        let Some(account_id) = resolved else {
            return Ok(accepted);
        };
        if let Some(org) = organization {
            change = change.with_fact(attr::ZENDESK_ORGANIZATION, json!(org));
        }
        let stored_under = account_id.clone();
        let mut accepted = accepted.apply_as(arrival, accounts, change, account_id).await?;
        let source = LinkSource::Zendesk;
        if let Some(account) =
            identity::settle_provisional(accounts, links, source, organization, &stored_under).await?
        {
            accepted.account_id = Some(account);
        }
        self.connected.mark(Source::Zendesk, now).await;
        Ok(accepted)
    }

    pub async fn respond(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        let work = async { super::respond("zendesk", self.handle(accounts, links, headers, body, now).await) };
        super::within_deadline("zendesk", WEBHOOK_DEADLINE, work).await
    }
}
