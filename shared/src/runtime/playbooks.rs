//! What playbooks need from the environment: `FORESIGHT_SIGNING_SECRET` (signs unsubscribe
//! tokens and in-app webhooks), `FORESIGHT_PUBLIC_URL` (the base of unsubscribe links), and SES
//! v2 (the SDK honours `AWS_ENDPOINT_URL_SESV2`, moto locally) with the configured configuration
//! set.

use super::env::non_empty;
use crate::adapters::ses::SesEmail;

pub const SIGNING_SECRET_VAR: &str = "FORESIGHT_SIGNING_SECRET";
pub const PUBLIC_URL_VAR: &str = "FORESIGHT_PUBLIC_URL";
/// Set locally to send playbook emails through this SES v2 endpoint (moto).
pub const SES_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SESV2";

/// The public base URL of unsubscribe links (default: the local runner's address).
pub fn public_url() -> String {
    non_empty(PUBLIC_URL_VAR).unwrap_or_else(|| "http://127.0.0.1:8787".to_owned())
}

/// The signing secret, if set.
pub fn signing_secret() -> Option<String> {
    non_empty(SIGNING_SECRET_VAR)
}

/// The SES v2 sender.
pub async fn ses_email(configuration_set: Option<String>) -> SesEmail {
    let config = super::aws::sdk_config().await;
    SesEmail::new(aws_sdk_sesv2::Client::new(&config), configuration_set)
}

/// Whether the local runner sends through SES: when `AWS_ENDPOINT_URL_SESV2` is set.
pub fn local_ses_configured() -> bool {
    non_empty(SES_ENDPOINT_VAR).is_some()
}
