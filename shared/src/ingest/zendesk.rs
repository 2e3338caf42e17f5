//! Zendesk webhook: verify, parse, resolve the organization's account, apply — shared by
//! `functions/zendesk-webhook` and `foresight dev`.

use super::{identity, Accepted, IngestError, Outcome, WebhookResponse, MAX_BODY_BYTES};
use crate::domain::account::attr;
use crate::sources::zendesk::{self, signature, ZendeskUpdate};
use crate::store::{AccountStore, ApplyOutcome, LinkSource, LinkStore};
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

    pub fn from_env() -> Self {
        Self::new(std::env::var(SECRET_VAR).ok())
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
        let mut accepted = Accepted {
            event_id: update.delivery_id.clone(),
            event_type: update.kind.clone(),
            account_id: None,
            outcome: Outcome::Ignored,
        };
        let Some(mut change) = update.change else {
            return Ok(accepted);
        };
        let organization = update.organization_id.as_deref();
        let explicit = update.organization_external_id.as_deref();
        let Some(account_id) =
            identity::resolve_account(accounts, links, LinkSource::Zendesk, organization, explicit, false).await?
        else {
            // A ticket with no organization cannot be attributed to an account.
            return Ok(accepted);
        };
        if let Some(org) = organization {
            change = change.with_fact(attr::ZENDESK_ORGANIZATION, json!(org));
        }
        change.account_id = account_id.clone();
        accepted.outcome = match accounts.apply(&change).await? {
            ApplyOutcome::Applied => Outcome::Applied,
            ApplyOutcome::Stale => Outcome::Duplicate,
        };
        accepted.account_id = Some(account_id);
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
        super::respond("zendesk", self.handle(accounts, links, headers, body, now).await)
    }
}
