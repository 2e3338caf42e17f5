//! Typeform webhook (surveys): verify, parse the NPS answer, store it on the account the hidden
//! field names (or, without one, under [`UNLINKED_SURVEYS`] for the NPS window), and raise a
//! detractor's alert at once — shared by `functions/typeform-webhook` and `foresight dev`.

use super::analytics::response_key;
use super::stripe::EventAlerting;
use super::{Accepted, IngestError, SourceMark, WebhookResponse, MAX_BODY_BYTES};
use crate::app::alerts;
use crate::app::ports::store::{AccountStore, LinkStore, SourceRegistry};
use crate::domain::account::{attr, UNLINKED_SURVEYS};
use crate::domain::change::AccountChange;
use crate::domain::connection::Source;
use crate::domain::survey::SurveyResponse;
use crate::sources::typeform::{self, signature, TypeformUpdate};
use std::sync::Arc;

pub const SECRET_VAR: &str = "TYPEFORM_WEBHOOK_SECRET";

/// The Typeform webhook's configuration, loaded once per cold start.
#[derive(Clone)]
pub struct TypeformWebhook {
    secret: Option<String>,
    /// The hidden field that names the account (`[surveys] hidden_field`).
    hidden_field: String,
    connected: SourceMark,
}

impl std::fmt::Debug for TypeformWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TypeformWebhook")
            .field("configured", &self.secret.is_some())
            .field("hidden_field", &self.hidden_field)
            .finish_non_exhaustive()
    }
}

impl From<signature::SignatureError> for IngestError {
    fn from(e: signature::SignatureError) -> Self {
        IngestError::Signature(Box::new(e))
    }
}

impl TypeformWebhook {
    pub fn new(secret: Option<String>, hidden_field: impl Into<String>) -> Self {
        TypeformWebhook {
            secret: secret.filter(|s| !s.trim().is_empty()),
            hidden_field: hidden_field.into(),
            connected: SourceMark::default(),
        }
    }

    /// Marks surveys connected in this deployment's registry on the first response.
    pub fn with_registry(mut self, registry: Arc<dyn SourceRegistry>) -> Self {
        self.connected = SourceMark::new(registry);
        self
    }

    /// Whether the signing secret is set (without it every delivery is answered 503).
    pub fn is_configured(&self) -> bool {
        self.secret.is_some()
    }

    /// Size limit, signature, parse: no I/O.
    pub fn prepare(&self, signature: Option<&str>, body: &[u8]) -> Result<TypeformUpdate, IngestError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(IngestError::TooLarge(body.len()));
        }
        let secret = self.secret.as_deref().ok_or(IngestError::MissingSecret(SECRET_VAR))?;
        signature::verify(signature, body, secret)?;
        typeform::parse(body, &self.hidden_field).map_err(|e| IngestError::Payload(e.to_string()))
    }

    /// Handles one delivery. The response is a fact named by its event id, so a redelivery
    /// writes nothing new; a detractor (0–6) of a linked account raises `nps_detractor` before
    /// the answer (with `alerting`), as the Stripe webhook does for payment failures. A response
    /// naming an erased account (its tombstone stands in `links`) is ignored, never re-creating it.
    pub async fn handle(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        alerting: Option<&EventAlerting<'_>>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Accepted, IngestError> {
        let update = self.prepare(signature, body)?;
        let accepted = Accepted::new(&update.event_id, &update.event_type);
        // A form without an NPS question (or another event type) carries nothing to score.
        let Some(score) = update.score else { return Ok(accepted) };
        if let Some(id) = update.account_id.as_deref() {
            if links.erased(None, id).await? {
                tracing::warn!(
                    "survey response for an erased account ignored: POST /links to link it again on purpose"
                );
                return Ok(accepted);
            }
        }
        let response = SurveyResponse {
            at: update.submitted_at.unwrap_or(now),
            score,
            comment: update.comment.clone(),
            via: "typeform".into(),
            form: update.form_id.clone(),
        };
        let account = update.account_id.clone().unwrap_or_else(|| UNLINKED_SURVEYS.to_owned());
        let fact = format!("{}tf-{}", attr::SURVEY_RESPONSE, response_key(&update.event_id));
        let change = AccountChange::new("").with_fact(fact, serde_json::to_value(&response).unwrap_or_default());
        let mut accepted = accepted.apply(accounts, change, account.clone()).await?;
        self.connected.mark(Source::Surveys, response.at).await;
        if let (Some(alerting), Some(_)) = (alerting, update.account_id.as_deref()) {
            accepted.alerts = alerts::raise_event_alerts(
                accounts,
                alerting.outbox,
                alerting.queue,
                alerting.settings,
                &account,
                "typeform-webhook",
                now,
            )
            .await?;
        }
        Ok(accepted)
    }

    /// [`Self::handle`], logged and encoded as a response.
    pub async fn respond(
        &self,
        accounts: &dyn AccountStore,
        links: &dyn LinkStore,
        alerting: Option<&EventAlerting<'_>>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        super::respond("typeform", self.handle(accounts, links, alerting, signature, body, now).await)
    }
}
