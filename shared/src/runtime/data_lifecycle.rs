//! The data-lifecycle functions wired: `privacy` (erase or export one account; invoked with IAM
//! only, it has no HTTP route) and `reconciler` (the daily backfill from Stripe's and Zendesk's
//! APIs, with its checkpoints in the account table).

use super::lambda::{Error, LambdaEvent};
use super::{aws, clock, env, privacy, secrets};
use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::adapters::source_api::{StripeApi, ZendeskApi};
use crate::app::backfill::{self, ReconcilePorts};
use crate::app::ingest::stripe::StripeWebhook;
use crate::app::ingest::zendesk::ZendeskWebhook;
use crate::app::privacy::{self as privacy_app, PrivacyPorts, ERASURE_KEY_VAR};
use crate::domain::privacy::ErasureKey;
use serde_json::{json, Value};

/// `privacy`: `{"foresight": "erase", "account_id": "...", "actor": "who asked"}` or
/// `{"foresight": "export", "account_id": "..."}`.
pub struct PrivacyFunction {
    pub store: DynamoStore,
    pub outbox: DynamoOutbox,
    pub key: Option<ErasureKey>,
}

impl PrivacyFunction {
    pub async fn from_env() -> Result<Self, Error> {
        let secrets = secrets::load(&[ERASURE_KEY_VAR]).await?;
        let key = privacy::erasure_key(&secrets);
        let store = privacy::configure_store(aws::dynamo_store().await, key.clone())?;
        Ok(PrivacyFunction { store, outbox: privacy::configure_outbox(aws::outbox().await)?, key })
    }

    pub async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let payload = &event.payload;
        let text = |name: &str| payload.get(name).and_then(Value::as_str).filter(|s| !s.trim().is_empty());
        let ports = PrivacyPorts {
            tables: vec![&self.store, &self.outbox],
            ledger: &self.store,
            tombstones: &self.store,
            log: &self.store,
        };
        let now = clock::unix_now();
        // The hourly schedule: the erasures Stripe `customer.deleted` events asked for.
        if text("foresight") == Some("erase_requested") {
            let audits = privacy_app::erase_requested(&ports, &self.store, self.key.as_ref(), now).await?;
            return Ok(json!({ "erased_accounts": audits.len(), "audits": audits }));
        }
        let account_id = text("account_id").ok_or("the event must name the account: {\"account_id\": \"...\"}")?;
        match text("foresight") {
            Some("erase") => {
                let actor = text("actor").ok_or("an erasure must say who asked: {\"actor\": \"...\"}")?;
                let audit = privacy_app::erase(&ports, self.key.as_ref(), account_id, actor, now).await?;
                Ok(match audit {
                    Some(audit) => json!({ "erased": audit.erased, "tombstones": audit.tombstones, "audit": audit }),
                    None => json!({ "erased": {}, "error": "nothing is held for this account" }),
                })
            }
            Some("export") => Ok(serde_json::to_value(privacy_app::export(&ports, account_id, now).await?)?),
            other => Err(format!("unknown request {other:?}: use \"erase\", \"export\" or \"erase_requested\"").into()),
        }
    }
}

pub const STRIPE_API_KEY_VAR: &str = "STRIPE_API_KEY";
pub const ZENDESK_API_TOKEN_VAR: &str = "ZENDESK_API_TOKEN";

/// `reconciler`: the daily backfill (its schedule's event content is not read).
pub struct ReconcilerFunction {
    pub store: DynamoStore,
    pub stripe: Option<(StripeApi, StripeWebhook)>,
    pub zendesk: Option<(ZendeskApi, ZendeskWebhook)>,
}

impl ReconcilerFunction {
    pub async fn from_env() -> Result<Self, Error> {
        let vars = [STRIPE_API_KEY_VAR, ZENDESK_API_TOKEN_VAR, ERASURE_KEY_VAR];
        let secrets = secrets::load(&vars).await?;
        let store = privacy::configure_store(aws::dynamo_store().await, privacy::erasure_key(&secrets))?;
        let stripe = match secrets.get(STRIPE_API_KEY_VAR) {
            Some(key) => {
                let base = env::non_empty("STRIPE_API_URL").unwrap_or_else(|| "https://api.stripe.com".into());
                // Listed events are read with our key: no signature to check, the webhook's parser only.
                Some((StripeApi::new(base, key)?, StripeWebhook::new(None, env::stripe_metadata_key())))
            }
            None => None,
        };
        let zendesk = match (
            env::non_empty("ZENDESK_API_URL"),
            env::non_empty("ZENDESK_EMAIL"),
            secrets.get(ZENDESK_API_TOKEN_VAR),
        ) {
            // Exported tickets are read with our token: the webhook's apply only, no signature.
            (Some(base), Some(email), Some(token)) => {
                Some((ZendeskApi::new(base, &email, token)?, ZendeskWebhook::new(None)))
            }
            _ => None,
        };
        Ok(ReconcilerFunction { store, stripe, zendesk })
    }

    pub async fn handle(&self, _event: LambdaEvent<Value>) -> Result<Value, Error> {
        let ports = ReconcilePorts {
            stripe: self.stripe.as_ref().map(|(api, webhook)| (api as _, webhook)),
            zendesk: self.zendesk.as_ref().map(|(api, webhook)| (api as _, webhook)),
            accounts: &self.store,
            links: &self.store,
            ledger: Some(&self.store),
            checkpoints: &self.store,
        };
        let mut summaries = Vec::new();
        let mut failures = Vec::new();
        for run in backfill::reconcile(&ports, clock::unix_now()).await {
            match run {
                Ok(summary) => summaries.push(summary),
                Err(e) => failures.push(e.to_string()),
            }
        }
        if !failures.is_empty() {
            // Failing the invocation lets the schedule's retries (and then its DLQ) see it.
            return Err(failures.join("; ").into());
        }
        Ok(json!({ "summaries": summaries }))
    }
}
