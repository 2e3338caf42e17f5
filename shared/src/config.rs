//! Configuration read from the environment, once per cold start.

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

/// The configuration (`foresight.toml` text) from `FORESIGHT_CONFIG`, defaults when unset.
pub fn settings() -> Result<crate::settings::Settings, crate::settings::SettingsError> {
    match non_empty(CONFIG_VAR) {
        Some(text) => crate::settings::Settings::parse(&text, CONFIG_VAR),
        None => Ok(crate::settings::Settings::default()),
    }
}
