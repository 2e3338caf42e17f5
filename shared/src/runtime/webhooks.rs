//! The webhooks as a deployment configures them: each with its signing secrets (from
//! [`super::secrets`]: SSM in Lambda, the environment in the runner) and its settings, and the
//! Stripe webhook's real-time alerting (the outbox and the notifications queue).

use super::aws;
use super::env::{self, NOTIFICATIONS_QUEUE_VAR};
use super::secrets::{SecretBound, SecretSource, Secrets, SecretsError, RELOAD_MISSING_AFTER};
use crate::adapters::dynamodb::DynamoOutbox;
use crate::adapters::sqs::SqsQueue;
use crate::app::ingest::analytics::{self, AnalyticsWebhook};
use crate::app::ingest::stripe::{self, EventAlerting, StripeWebhook};
use crate::app::ingest::zendesk::{self, ZendeskWebhook};
use crate::app::settings::Settings;
use crate::domain::usage::AnalyticsConfig;
use crate::sources::stripe::signature::StripeSecrets;

/// The Stripe endpoint's secret variables: the current signing secret, and the previous one
/// during a rotation.
pub const STRIPE_SECRET_VARS: [&str; 2] = [stripe::SECRET_VAR, stripe::PREVIOUS_SECRET_VAR];
pub const ZENDESK_SECRET_VARS: [&str; 1] = [zendesk::SECRET_VAR];
/// A Segment shared secret (signed webhooks) or a static bearer token (RudderStack).
pub const ANALYTICS_SECRET_VARS: [&str; 2] = [analytics::SECRET_VAR, analytics::TOKEN_VAR];

/// The Stripe webhook with these secrets; the account metadata key from the environment.
pub fn stripe(secrets: &Secrets) -> StripeWebhook {
    let signing = secrets
        .get(stripe::SECRET_VAR)
        .map(|current| StripeSecrets::new(current, secrets.get(stripe::PREVIOUS_SECRET_VAR)));
    StripeWebhook::new(signing, env::stripe_metadata_key())
}

pub fn zendesk(secrets: &Secrets) -> ZendeskWebhook {
    ZendeskWebhook::new(secrets.get(zendesk::SECRET_VAR))
}

/// The analytics webhook with these secrets, counting usage by `config` (the settings'
/// `[analytics]` with the environment's overrides).
pub fn analytics(secrets: &Secrets, config: AnalyticsConfig) -> AnalyticsWebhook {
    AnalyticsWebhook::new(secrets.get(analytics::SECRET_VAR), secrets.get(analytics::TOKEN_VAR), config)
}

/// The Stripe webhook from the configured secret source, asked again while its secret is
/// missing (Stripe shows a signing secret only once the endpoint exists).
pub async fn stripe_bound() -> Result<SecretBound<StripeWebhook>, SecretsError> {
    let source = SecretSource::configured().await;
    SecretBound::load(source, &STRIPE_SECRET_VARS, stripe, StripeWebhook::is_configured, RELOAD_MISSING_AFTER).await
}

pub async fn zendesk_bound() -> Result<SecretBound<ZendeskWebhook>, SecretsError> {
    let source = SecretSource::configured().await;
    SecretBound::load(source, &ZENDESK_SECRET_VARS, zendesk, ZendeskWebhook::is_configured, RELOAD_MISSING_AFTER).await
}

pub async fn analytics_bound(config: AnalyticsConfig) -> Result<SecretBound<AnalyticsWebhook>, SecretsError> {
    let source = SecretSource::configured().await;
    let build = move |secrets: &Secrets| analytics(secrets, config.clone());
    SecretBound::load(source, &ANALYTICS_SECRET_VARS, build, AnalyticsWebhook::is_configured, RELOAD_MISSING_AFTER)
        .await
}

/// What the Stripe webhook raises real-time alerts with, when the notifications queue is set.
pub struct Alerting {
    pub outbox: DynamoOutbox,
    pub queue: SqsQueue,
    pub settings: Settings,
}

impl Alerting {
    /// From the environment: `None` without `FORESIGHT_NOTIFICATIONS_QUEUE_URL` (events are then
    /// stored and the sweep raises their alerts).
    pub async fn from_env() -> Result<Option<Self>, String> {
        let Some(url) = env::queue_url(NOTIFICATIONS_QUEUE_VAR) else { return Ok(None) };
        let settings = super::settings::from_env().map_err(|e| e.to_string())?;
        Ok(Some(Alerting { outbox: aws::outbox().await, queue: aws::sqs_queue(url).await, settings }))
    }

    pub fn ports(&self) -> EventAlerting<'_> {
        EventAlerting { outbox: &self.outbox, queue: &self.queue, settings: &self.settings }
    }
}
