//! The webhooks as a deployment configures them: each with its signing secrets (from
//! [`super::secrets`]: SSM in Lambda, the environment in the runner) and its settings, and the
//! Stripe webhook's real-time alerting (the outbox and the notifications queue).

use super::aws;
use super::env::{self, NOTIFICATIONS_QUEUE_VAR};
use super::secrets::{SecretBound, SecretSource, Secrets, SecretsError, RELOAD_MISSING_AFTER};
use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::adapters::sqs::SqsQueue;
use crate::app::ingest::analytics::{self, AnalyticsWebhook};
use crate::app::ingest::stripe::{self, EventAlerting, StripeStores, StripeWebhook};
use crate::app::ingest::tracking::{self, TrackingApi};
use crate::app::ingest::typeform::{self, TypeformWebhook};
use crate::app::ingest::zendesk::{self, ZendeskWebhook};
use crate::app::ingest::WebhookResponse;
use crate::app::ports::store::{AccountStore, LinkStore, SourceRegistry, UsageStore};
use crate::app::ports::usage_backlog::UsageBuffer;
use crate::app::settings::Settings;
use crate::domain::usage::AnalyticsConfig;
use crate::sources::segment::tracking::Endpoint;
use crate::sources::stripe::signature::StripeSecrets;
use http::HeaderMap;
use std::sync::Arc;

/// The Stripe endpoint's secret variables: the current signing secret, and the previous one
/// during a rotation.
pub const STRIPE_SECRET_VARS: [&str; 2] = [stripe::SECRET_VAR, stripe::PREVIOUS_SECRET_VAR];
pub const ZENDESK_SECRET_VARS: [&str; 1] = [zendesk::SECRET_VAR];
/// A Segment shared secret (signed webhooks) or a static bearer token (RudderStack).
pub const ANALYTICS_SECRET_VARS: [&str; 2] = [analytics::SECRET_VAR, analytics::TOKEN_VAR];
/// The write key Segment's server libraries send on the HTTP Tracking API.
pub const TRACKING_SECRET_VARS: [&str; 1] = [tracking::WRITE_KEY_VAR];
/// Everything the analytics function reads: one `GetParameters` call at cold start.
pub const ANALYTICS_FUNCTION_SECRET_VARS: [&str; 3] =
    [analytics::SECRET_VAR, analytics::TOKEN_VAR, tracking::WRITE_KEY_VAR];
pub const TYPEFORM_SECRET_VARS: [&str; 1] = [typeform::SECRET_VAR];

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

/// The HTTP Tracking API with the write key in these secrets, counting usage by `config`.
pub fn tracking(secrets: &Secrets, config: AnalyticsConfig) -> TrackingApi {
    TrackingApi::new(secrets.get(tracking::WRITE_KEY_VAR), config)
}

/// The analytics function's two doors onto the same usage: the Segment webhook
/// (`/webhooks/segment`) and the HTTP Tracking API (`/v1/batch`, `/v1/track`, ...).
pub struct AnalyticsEndpoints {
    pub webhook: AnalyticsWebhook,
    pub tracking: TrackingApi,
}

impl AnalyticsEndpoints {
    pub fn new(secrets: &Secrets, config: AnalyticsConfig) -> Self {
        AnalyticsEndpoints { webhook: analytics(secrets, config.clone()), tracking: tracking(secrets, config) }
    }

    /// Both doors hold usage in `buffer` for the usage fold instead of writing it.
    pub fn with_usage_buffer(self, buffer: Arc<dyn UsageBuffer>) -> Self {
        AnalyticsEndpoints {
            webhook: self.webhook.with_usage_buffer(buffer.clone()),
            tracking: self.tracking.with_usage_buffer(buffer),
        }
    }

    /// Both doors mark analytics (and surveys) connected in `registry`.
    pub fn with_registry(self, registry: Arc<dyn SourceRegistry>) -> Self {
        AnalyticsEndpoints {
            webhook: self.webhook.with_registry(registry.clone()),
            tracking: self.tracking.with_registry(registry),
        }
    }

    /// Configured once either door is (a deployment may use only one of them).
    pub fn is_configured(&self) -> bool {
        self.webhook.is_configured() || self.tracking.is_configured()
    }

    /// Answers a request by its path: a Tracking API endpoint, else the webhook.
    pub async fn respond<S: AccountStore + LinkStore + UsageStore>(
        &self,
        store: &S,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        match Endpoint::from_path(path) {
            Some(endpoint) => self.tracking.respond(store, store, store, endpoint, headers, body, now).await,
            None => self.webhook.respond(store, store, store, headers, body, now).await,
        }
    }
}

/// The Typeform webhook with this secret; `hidden_field` names the account (`[surveys]`).
pub fn typeform(secrets: &Secrets, hidden_field: &str) -> TypeformWebhook {
    TypeformWebhook::new(secrets.get(typeform::SECRET_VAR), hidden_field)
}

/// The Stripe webhook from the configured secret source, asked again while its secret is
/// missing (Stripe shows a signing secret only once the endpoint exists). `registry` learns that
/// this deployment receives Stripe (once per process).
pub async fn stripe_bound(registry: Arc<dyn SourceRegistry>) -> Result<SecretBound<StripeWebhook>, SecretsError> {
    let source = SecretSource::configured().await;
    let build = move |secrets: &Secrets| stripe(secrets).with_registry(registry.clone());
    SecretBound::load(source, &STRIPE_SECRET_VARS, build, StripeWebhook::is_configured, RELOAD_MISSING_AFTER).await
}

pub async fn zendesk_bound(registry: Arc<dyn SourceRegistry>) -> Result<SecretBound<ZendeskWebhook>, SecretsError> {
    let source = SecretSource::configured().await;
    let build = move |secrets: &Secrets| zendesk(secrets).with_registry(registry.clone());
    SecretBound::load(source, &ZENDESK_SECRET_VARS, build, ZendeskWebhook::is_configured, RELOAD_MISSING_AFTER).await
}

/// The analytics function's endpoints from the configured secret source, asked again while
/// neither the webhook's secrets nor the write key is set; both doors mark analytics connected
/// in `registry`.
pub async fn analytics_bound(
    config: AnalyticsConfig,
    registry: Arc<dyn SourceRegistry>,
) -> Result<SecretBound<AnalyticsEndpoints>, SecretsError> {
    let source = SecretSource::configured().await;
    // With the usage backlog queue set, usage is held for the usage fold.
    let buffer: Option<Arc<dyn UsageBuffer>> = match env::queue_url(env::USAGE_BACKLOG_QUEUE_VAR) {
        Some(url) => Some(Arc::new(aws::sqs_queue(url).await)),
        None => None,
    };
    let build = move |secrets: &Secrets| {
        let endpoints = AnalyticsEndpoints::new(secrets, config.clone()).with_registry(registry.clone());
        match &buffer {
            Some(buffer) => endpoints.with_usage_buffer(buffer.clone()),
            None => endpoints,
        }
    };
    SecretBound::load(
        source,
        &ANALYTICS_FUNCTION_SECRET_VARS,
        build,
        AnalyticsEndpoints::is_configured,
        RELOAD_MISSING_AFTER,
    )
    .await
}

/// The Typeform webhook from the configured secret source (asked again while it is missing).
pub async fn typeform_bound(
    hidden_field: String,
    registry: Arc<dyn SourceRegistry>,
) -> Result<SecretBound<TypeformWebhook>, SecretsError> {
    let source = SecretSource::configured().await;
    let build = move |secrets: &Secrets| typeform(secrets, &hidden_field).with_registry(registry.clone());
    SecretBound::load(source, &TYPEFORM_SECRET_VARS, build, TypeformWebhook::is_configured, RELOAD_MISSING_AFTER).await
}

/// What the Stripe and Typeform webhooks raise real-time alerts with, when the notifications
/// queue is set.
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

/// The Stripe function as deployed: the account table (with the erasure key), the webhook bound
/// to its secrets, real-time alerting when the notifications queue is set, and whether a
/// `customer.deleted` leaves an erasure request for the privacy function.
pub struct StripeFunction {
    store: DynamoStore,
    webhook: SecretBound<StripeWebhook>,
    alerting: Option<Alerting>,
    erase_on_customer_deleted: bool,
}

impl StripeFunction {
    /// Everything from the environment and the secret source, once per cold start.
    pub async fn from_env() -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        let store = super::privacy::account_store().await?;
        let webhook = stripe_bound(Arc::new(store.clone())).await?;
        let alerting = Alerting::from_env().await?;
        let erase_on_customer_deleted = super::privacy::erase_on_customer_deleted()?;
        Ok(StripeFunction { store, webhook, alerting, erase_on_customer_deleted })
    }

    /// One delivery: verified, applied, its alerts raised, and its erasure requested.
    pub async fn respond(&self, signature: Option<&str>, body: &[u8], now: i64) -> WebhookResponse {
        let store = &self.store;
        let stores = StripeStores { accounts: store, links: store, ledger: Some(store) };
        let alerting = self.alerting.as_ref().map(Alerting::ports);
        let answer = self.webhook.current().await.respond(&stores, alerting.as_ref(), signature, body, now).await;
        match self.erase_on_customer_deleted {
            true => super::privacy::request_erasure_after(store, answer, now).await,
            false => answer,
        }
    }
}
