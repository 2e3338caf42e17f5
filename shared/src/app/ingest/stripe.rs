//! Stripe webhook: verify, parse, resolve the account, apply — shared by
//! `functions/stripe-webhook` and `foresight dev`.

use super::{
    check_change, check_id, identity, Accepted, Arrival, IngestError, SourceMark, WebhookResponse, MAX_BODY_BYTES,
    WEBHOOK_DEADLINE,
};
use crate::app::alerts;
use crate::app::ports::outbox::Outbox;
use crate::app::ports::portfolio::MrrLedger;
use crate::app::ports::queue::NotificationQueue;
use crate::app::ports::store::{AccountStore, LinkSource, LinkStore, SourceRegistry, StoreError};
use crate::app::settings::Settings;
use crate::domain::account::attr;
use crate::domain::connection::Source;
use crate::sources::stripe::signature::{self, StripeSecrets, DEFAULT_TOLERANCE_SECS};
use crate::sources::stripe::{self, StripeUpdate};

/// The variables that hold the Stripe endpoint's signing secrets (current, and the previous one
/// during a rotation).
pub const SECRET_VAR: &str = "STRIPE_WEBHOOK_SECRET";
pub const PREVIOUS_SECRET_VAR: &str = "STRIPE_WEBHOOK_SECRET_PREVIOUS";

/// The Stripe webhook endpoint's configuration, loaded once per cold start.
#[derive(Clone, Debug)]
pub struct StripeWebhook {
    secrets: Option<StripeSecrets>,
    metadata_key: String,
    tolerance: i64,
    connected: SourceMark,
    /// Keep the customer's email as a billing contact (a playbook emails the billing role).
    billing_contacts: bool,
}

impl StripeWebhook {
    pub fn new(secrets: Option<StripeSecrets>, metadata_key: impl Into<String>) -> Self {
        StripeWebhook {
            secrets,
            metadata_key: metadata_key.into(),
            tolerance: DEFAULT_TOLERANCE_SECS,
            connected: SourceMark::default(),
            billing_contacts: false,
        }
    }

    /// Keeps the Stripe customer's email as the account's billing contact: only when a playbook
    /// emails the billing role (data minimisation).
    pub fn with_billing_contacts(mut self, keep: bool) -> Self {
        self.billing_contacts = keep;
        self
    }

    /// Marks Stripe connected in this deployment's registry on the first event of the process.
    pub fn with_registry(mut self, registry: std::sync::Arc<dyn SourceRegistry>) -> Self {
        self.connected = SourceMark::new(registry);
        self
    }

    /// Whether the signing secret is set (without it every delivery is answered 503).
    pub fn is_configured(&self) -> bool {
        self.secrets.is_some()
    }

    /// All the CPU work of an event, no I/O: size limit, signature, parsing, normalisation.
    pub fn prepare(&self, signature: Option<&str>, body: &[u8], now: i64) -> Result<StripeUpdate, IngestError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(IngestError::TooLarge(body.len()));
        }
        let secrets = self.secrets.as_ref().ok_or(IngestError::MissingSecret(SECRET_VAR))?;
        signature::verify(signature, body, secrets, now, self.tolerance)?;
        let update = stripe::parse_event(body, &self.metadata_key).map_err(|e| IngestError::Payload(e.to_string()))?;
        let identity = &update.identity;
        check_id("id", Some(&update.event_id))?;
        check_id("customer", identity.customer_id.as_deref())?;
        check_id(&format!("metadata.{}", self.metadata_key), identity.account_id.as_deref())?;
        check_id("charge", identity.fallback_id.as_deref())?;
        update.change.as_ref().map_or(Ok(()), check_change)?;
        Ok(update)
    }

    /// Handles one delivery end to end. With `alerting`, an event that is itself a signal
    /// (payment failed, cancel at period end) raises its alert before the answer: a failure
    /// answers 503, Stripe retries, and the retry (a duplicate for the record) raises it then.
    pub async fn handle(
        &self,
        stores: &StripeStores<'_>,
        alerting: Option<&EventAlerting<'_>>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> Result<Accepted, IngestError> {
        let update = self.prepare(signature, body, now)?;
        self.apply(stores, alerting, update, Arrival::Delivery, now).await
    }

    /// Parses an event read from Stripe's API (backfill: authenticated by our API key, so no
    /// signature) with the webhook's own parser.
    pub fn parse_listed(&self, event: &[u8]) -> Result<StripeUpdate, IngestError> {
        stripe::parse_event(event, &self.metadata_key).map_err(|e| IngestError::Payload(e.to_string()))
    }

    /// Applies a parsed event: a delivery's, or one listed by the API (backfill, a replay),
    /// which so goes through the same identity, dedupe, ledger and alerts as a delivery.
    pub async fn apply(
        &self,
        stores: &StripeStores<'_>,
        alerting: Option<&EventAlerting<'_>>,
        update: StripeUpdate,
        arrival: Arrival,
        now: i64,
    ) -> Result<Accepted, IngestError> {
        let StripeStores { accounts, links, ledger } = *stores;
        let accepted = Accepted::new(&update.event_id, &update.event_type);
        let Some(mut change) = update.change.clone() else {
            return Ok(accepted);
        };
        let Some(account_id) = resolve_account(accounts, links, &update).await? else {
            return Ok(accepted);
        };
        if let Some(contact) = update
            .billing_email
            .as_deref()
            .filter(|_| self.billing_contacts)
            .and_then(crate::domain::playbook::billing_contact)
        {
            change = change.with_fact(contact.0, contact.1);
        }
        let moves_mrr = change.facts.iter().any(|(name, _)| name.starts_with(attr::MRR_POINT));
        let mut accepted = accepted.apply_as(arrival, accounts, change, account_id).await?;
        // The MRR ledger follows the points (a redelivery too: a refresh whose write failed
        // before is done by the retry; an unchanged ledger costs two reads and no write).
        if let (Some(ledger), Some(account_id), true) = (ledger, accepted.account_id.as_deref(), moves_mrr) {
            ledger.refresh(account_id).await?;
        }
        if let Some(stored_under) = accepted.account_id.clone() {
            let external = stripe_external_id(&update);
            let settled =
                identity::settle_provisional(accounts, links, LinkSource::Stripe, external, &stored_under).await?;
            accepted.account_id = settled.or(accepted.account_id);
        }
        self.connected.mark(Source::Stripe, update.created).await;
        if let (Some(alerting), Some(account_id)) = (alerting, accepted.account_id.as_deref()) {
            if SIGNAL_EVENTS.contains(&update.event_type.as_str()) {
                accepted.alerts = alerts::raise_event_alerts(
                    accounts,
                    alerting.outbox,
                    alerting.queue,
                    alerting.settings,
                    account_id,
                    "stripe-webhook",
                    now,
                )
                .await?;
            }
        }
        Ok(accepted)
    }

    /// [`Self::handle`], logged and encoded as a response.
    pub async fn respond(
        &self,
        stores: &StripeStores<'_>,
        alerting: Option<&EventAlerting<'_>>,
        signature: Option<&str>,
        body: &[u8],
        now: i64,
    ) -> WebhookResponse {
        let work = async { super::respond("stripe", self.handle(stores, alerting, signature, body, now).await) };
        super::within_deadline("stripe", WEBHOOK_DEADLINE, work).await
    }
}

/// Where a Stripe event is stored: the record, the identity links, and the MRR ledger the KPIs
/// read (`None`: not kept, as in tests of the record alone).
#[derive(Clone, Copy)]
pub struct StripeStores<'a> {
    pub accounts: &'a dyn AccountStore,
    pub links: &'a dyn LinkStore,
    pub ledger: Option<&'a dyn MrrLedger>,
}

/// Event types that can make a real-time signal known (the rest wait for the sweep).
const SIGNAL_EVENTS: [&str; 4] = [
    "invoice.payment_failed",
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.pending_update_applied",
];

/// Where real-time alerts go, and the rules that decide them.
pub struct EventAlerting<'a> {
    pub outbox: &'a dyn Outbox,
    pub queue: &'a dyn NotificationQueue,
    pub settings: &'a Settings,
}

/// The id an event is linked by: its customer, or for a dispute, which names only its charge,
/// the charge id — only a fallback: when metadata names the account, no link.
fn stripe_external_id(update: &StripeUpdate) -> Option<&str> {
    let identity = &update.identity;
    let fallback = identity.fallback_id.as_deref().filter(|_| identity.account_id.is_none());
    identity.customer_id.as_deref().or(fallback)
}

/// Finds the account an event belongs to: by customer (metadata naming our account wins and is
/// remembered), or for a dispute, which names only its charge, by the charge id.
async fn resolve_account(
    accounts: &dyn AccountStore,
    links: &dyn LinkStore,
    update: &StripeUpdate,
) -> Result<Option<String>, StoreError> {
    let identity = &update.identity;
    let external = stripe_external_id(update);
    // Customer events are rare: re-checking for a provisional record on each one makes a merge
    // complete even if an earlier attempt stopped half-way.
    let customer_event =
        update.event_type.starts_with("customer.") && !update.event_type.starts_with("customer.subscription.");
    identity::resolve_account(
        accounts,
        links,
        LinkSource::Stripe,
        external,
        identity.account_id.as_deref(),
        customer_event,
    )
    .await
}
