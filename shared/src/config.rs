//! Configuration read from the environment, once per cold start.

use crate::sources::segment::AnalyticsConfig;
use crate::sources::stripe::StripeSecrets;

pub const STRIPE_SECRET_VAR: &str = "STRIPE_WEBHOOK_SECRET";
pub const STRIPE_PREVIOUS_SECRET_VAR: &str = "STRIPE_WEBHOOK_SECRET_PREVIOUS";
pub const STRIPE_METADATA_KEY_VAR: &str = "FORESIGHT_STRIPE_ACCOUNT_KEY";
pub const TABLE_VAR: &str = "FORESIGHT_TABLE";

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The Stripe signing secrets, or `None` when `STRIPE_WEBHOOK_SECRET` is not set (the webhook
/// then answers 503 naming the variable, so a misconfigured deploy is obvious in Stripe's
/// dashboard and nothing is lost: Stripe retries for three days).
pub fn stripe_secrets() -> Option<StripeSecrets> {
    let current = non_empty(STRIPE_SECRET_VAR)?;
    Some(StripeSecrets::new(current, non_empty(STRIPE_PREVIOUS_SECRET_VAR)))
}

/// The metadata key on Stripe customers and subscriptions that names our account id.
pub fn stripe_metadata_key() -> String {
    non_empty(STRIPE_METADATA_KEY_VAR).unwrap_or_else(|| "account_id".to_owned())
}

pub fn table_name() -> String {
    non_empty(TABLE_VAR).unwrap_or_else(|| "foresight".to_owned())
}

pub const OUTBOX_TABLE_VAR: &str = "FORESIGHT_OUTBOX_TABLE";
pub const NOTIFICATIONS_QUEUE_VAR: &str = "FORESIGHT_NOTIFICATIONS_QUEUE_URL";
pub const SWEEP_QUEUE_VAR: &str = "FORESIGHT_SWEEP_QUEUE_URL";
pub const SWEEP_SEGMENTS_VAR: &str = "FORESIGHT_SWEEP_SEGMENTS";
pub const CONFIG_VAR: &str = "FORESIGHT_CONFIG";

pub fn outbox_table_name() -> String {
    non_empty(OUTBOX_TABLE_VAR).unwrap_or_else(|| "foresight-outbox".to_owned())
}

/// An optional queue URL.
pub fn queue_url(var: &str) -> Option<String> {
    non_empty(var)
}

/// How many parallel-scan segments a sweep uses (default 4).
pub fn sweep_segments() -> Result<u32, String> {
    match non_empty(SWEEP_SEGMENTS_VAR) {
        None => Ok(4),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| format!("{SWEEP_SEGMENTS_VAR} is {v:?}: expected a whole number from 1")),
    }
}

/// The configuration (`foresight.toml` text) from `FORESIGHT_CONFIG`, defaults when unset,
/// with the `[analytics]` overrides below applied: every function then agrees on the key
/// features and the first-value event the template sets once.
pub fn settings() -> Result<crate::settings::Settings, crate::settings::SettingsError> {
    let settings = match non_empty(CONFIG_VAR) {
        Some(text) => crate::settings::Settings::parse(&text, CONFIG_VAR)?,
        None => crate::settings::Settings::default(),
    };
    let analytics = analytics_overrides(settings.analytics.clone());
    Ok(delivery_overrides(settings.with_analytics(analytics)))
}

/// `SLACK_DEFAULT_CHANNEL` overrides `[delivery] default_channel`.
pub fn delivery_overrides(mut settings: crate::settings::Settings) -> crate::settings::Settings {
    if let Some(channel) = non_empty("SLACK_DEFAULT_CHANNEL") {
        settings.delivery.default_channel = channel;
    }
    settings
}

/// `[analytics]` overridden by `FORESIGHT_KEY_FEATURES` (comma-separated event names),
/// `FORESIGHT_FIRST_VALUE_EVENT`, `FORESIGHT_STRIPE_TRAIT`, `FORESIGHT_ZENDESK_TRAIT`.
pub fn analytics_overrides(mut config: AnalyticsConfig) -> AnalyticsConfig {
    if let Some(features) = non_empty("FORESIGHT_KEY_FEATURES") {
        config.key_features = features.split(',').map(str::trim).filter(|f| !f.is_empty()).map(Into::into).collect();
    }
    if let Some(event) = non_empty("FORESIGHT_FIRST_VALUE_EVENT") {
        config.first_value_event = Some(event);
    }
    if let Some(t) = non_empty("FORESIGHT_STRIPE_TRAIT") {
        config.stripe_trait = t;
    }
    if let Some(t) = non_empty("FORESIGHT_ZENDESK_TRAIT") {
        config.zendesk_trait = t;
    }
    config
}

pub const NOTIFICATIONS_DLQ_VAR: &str = "FORESIGHT_NOTIFICATIONS_DLQ_URL";

/// Where notifications are delivered, from the environment (names per the local-API contract):
/// Slack by `SLACK_BOT_TOKEN` (`chat.postMessage` at `SLACK_API_URL`, default
/// `https://slack.com/api`) or else `SLACK_WEBHOOK_URL`; the CRM by `HUBSPOT_TOKEN` (at
/// `HUBSPOT_API_URL`) or else `SALESFORCE_LOGIN_URL` + `SALESFORCE_CLIENT_ID` +
/// `SALESFORCE_CLIENT_SECRET`. Neither configured: notifications stay in the outbox.
pub struct DeliveryChannels {
    pub slack: Option<Box<dyn crate::dispatch::SlackPort>>,
    pub crm: Option<Box<dyn crate::dispatch::CrmPort>>,
}

impl DeliveryChannels {
    pub fn is_empty(&self) -> bool {
        self.slack.is_none() && self.crm.is_none()
    }
}

/// The secrets among the delivery settings (loaded with [`crate::secrets::load`]); the rest
/// (base URLs, the Salesforce login URL and client id) are plain environment variables.
pub const DELIVERY_SECRET_VARS: [&str; 4] =
    ["SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "HUBSPOT_TOKEN", "SALESFORCE_CLIENT_SECRET"];

pub fn delivery_channels(secrets: &crate::secrets::Secrets) -> Result<DeliveryChannels, String> {
    use crate::delivery::{http_client, HubSpot, Salesforce, SalesforceConfig, SlackApi, SlackWebhook};
    let client = http_client().map_err(|e| e.to_string())?;
    let slack: Option<Box<dyn crate::dispatch::SlackPort>> =
        match (secrets.get("SLACK_BOT_TOKEN"), secrets.get("SLACK_WEBHOOK_URL")) {
            (Some(token), _) => {
                let api = SlackApi::new(client.clone(), token);
                Some(Box::new(match non_empty("SLACK_API_URL") {
                    Some(url) => api.with_base_url(url),
                    None => api,
                }))
            }
            (None, Some(url)) => Some(Box::new(SlackWebhook::new(client.clone(), url))),
            (None, None) => None,
        };
    let salesforce =
        (non_empty("SALESFORCE_LOGIN_URL"), non_empty("SALESFORCE_CLIENT_ID"), secrets.get("SALESFORCE_CLIENT_SECRET"));
    let crm: Option<Box<dyn crate::dispatch::CrmPort>> = match (secrets.get("HUBSPOT_TOKEN"), salesforce) {
        (Some(token), _) => {
            let hubspot = HubSpot::new(client.clone(), token);
            Some(Box::new(match non_empty("HUBSPOT_API_URL") {
                Some(url) => hubspot.with_base_url(url),
                None => hubspot,
            }))
        }
        (None, (Some(login), Some(id), Some(secret))) => {
            Some(Box::new(Salesforce::new(client, SalesforceConfig::new(login, id, secret))))
        }
        (None, (None, None, None)) => None,
        (None, _) => {
            return Err(
                "Salesforce needs SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET together"
                    .into(),
            )
        }
    };
    Ok(DeliveryChannels { slack, crm })
}
