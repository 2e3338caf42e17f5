//! The deployment's environment variables: their names and how each is read. Nothing else in the
//! crate reads the environment except through here (secrets through [`super::secrets`]).

pub const TABLE_VAR: &str = "FORESIGHT_TABLE";
pub const OUTBOX_TABLE_VAR: &str = "FORESIGHT_OUTBOX_TABLE";
pub const NOTIFICATIONS_QUEUE_VAR: &str = "FORESIGHT_NOTIFICATIONS_QUEUE_URL";
/// The queue that holds analytics usage for the usage fold; unset or empty, the analytics
/// function writes usage at once.
pub const USAGE_BACKLOG_QUEUE_VAR: &str = "FORESIGHT_USAGE_BACKLOG_QUEUE_URL";
pub const NOTIFICATIONS_DLQ_VAR: &str = "FORESIGHT_NOTIFICATIONS_DLQ_URL";
pub const SWEEP_QUEUE_VAR: &str = "FORESIGHT_SWEEP_QUEUE_URL";
pub const SWEEP_SEGMENTS_VAR: &str = "FORESIGHT_SWEEP_SEGMENTS";
/// `foresight.toml`'s text (the template sets it from a parameter).
pub const CONFIG_VAR: &str = "FORESIGHT_CONFIG";
/// The metadata key on Stripe customers and subscriptions that names our account id.
pub const STRIPE_METADATA_KEY_VAR: &str = "FORESIGHT_STRIPE_ACCOUNT_KEY";
/// The base of links sent to people (an alert's link to the account page).
pub const PUBLIC_URL_VAR: &str = "FORESIGHT_PUBLIC_URL";
/// The dashboard's sign-in (the read-api function): the OIDC issuer and audience API Gateway's
/// JWT authorizer checks, and the OAuth client the page signs in as (default: the audience).
pub const DASHBOARD_ISSUER_VAR: &str = "FORESIGHT_DASHBOARD_ISSUER";
pub const DASHBOARD_AUDIENCE_VAR: &str = "FORESIGHT_DASHBOARD_AUDIENCE";
pub const DASHBOARD_CLIENT_ID_VAR: &str = "FORESIGHT_DASHBOARD_CLIENT_ID";

/// A variable's value; unset and blank are the same: not configured.
pub fn non_empty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A variable that must be set (a queue URL the template always gives), or an error naming it.
pub fn required(name: &str) -> Result<String, String> {
    non_empty(name).ok_or_else(|| format!("{name} is not set"))
}

/// The metadata key on Stripe customers and subscriptions that names our account id.
pub fn stripe_metadata_key() -> String {
    non_empty(STRIPE_METADATA_KEY_VAR).unwrap_or_else(|| "account_id".to_owned())
}

/// `FORESIGHT_PUBLIC_URL`, when set.
pub fn public_url() -> Option<String> {
    non_empty(PUBLIC_URL_VAR).map(|u| u.trim().trim_end_matches('/').to_owned())
}

pub fn table_name() -> String {
    non_empty(TABLE_VAR).unwrap_or_else(|| "foresight".to_owned())
}

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
