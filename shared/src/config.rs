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
