//! Zendesk webhook: verify, parse, resolve the organization's account, apply — shared by
//! `functions/zendesk-webhook` and `foresight dev`.

use super::{identity, Accepted, IngestError, WebhookResponse, MAX_BODY_BYTES};
use crate::app::ports::store::{AccountStore, LinkSource, LinkStore};
use crate::domain::account::attr;
use crate::sources::zendesk::{self, signature, ZendeskUpdate};
use http::HeaderMap;
use serde_json::json;

pub const SECRET_VAR: &str = "ZENDESK_WEBHOOK_SECRET";

/// The Zendesk webhook's configuration, loaded once per cold start.
#[derive(Clone)]
pub struct ZendeskWebhook {
    secret: Option<String>,
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
        ZendeskWebhook { secret: secret.filter(|s| !s.trim().is_empty()) }
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
        zendesk::parse(body, header(headers, "x-zendesk-webhook-invocation-id"), signed_at)
            .map_err(|e| IngestError::Payload(e.to_string()))
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
        Self::apply(accounts, links, update).await
    }

    /// Applies a parsed update: a webhook's, or a ticket of the incremental export (backfill),
    /// which so goes through the same identity and dedupe as a delivery.
    pub async fn apply(
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        update: ZendeskUpdate,
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
        accepted.apply(accounts, change, account_id).await
    }

    pub async fn respond(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        super::respond("zendesk", self.handle(accounts, links, headers, body, now).await)
    }
}
