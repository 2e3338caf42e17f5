//! Privacy and retention settings from the environment: the key of erasure hashes, what a
//! standing tombstone does, and how long usage days and outbox records are kept.

use super::secrets::Secrets;
use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::app::ingest::WebhookResponse;
use crate::app::ports::privacy::ErasureRequests;
use crate::app::privacy::{customer_deleted_request, ERASURE_KEY_VAR};
use crate::domain::privacy::{ErasureConfig, ErasureKey};

/// `block` (default): an event for an erased id is ignored until an admin links the id again;
/// `fresh`: it starts a new account.
pub const ERASED_IDS_VAR: &str = "FORESIGHT_ERASED_IDS";
/// `true`: a Stripe `customer.deleted` erases the customer's account (default `false`: it is
/// recorded like any other event). The runner erases at once; deployed, the Stripe webhook
/// records the request and the privacy function erases on its next hourly run.
pub const ERASE_ON_CUSTOMER_DELETED_VAR: &str = "FORESIGHT_ERASE_ON_CUSTOMER_DELETED";

/// [`ERASE_ON_CUSTOMER_DELETED_VAR`]: unset, empty or `false` is off; anything but `true` is an
/// error naming the variable.
pub fn erase_on_customer_deleted() -> Result<bool, String> {
    match std::env::var(ERASE_ON_CUSTOMER_DELETED_VAR).as_deref() {
        Err(_) | Ok("false") | Ok("") => Ok(false),
        Ok("true") => Ok(true),
        Ok(other) => Err(format!("{ERASE_ON_CUSTOMER_DELETED_VAR} must be true or false, not {other:?}")),
    }
}

/// After a Stripe delivery, in a deployment that erases on `customer.deleted`: records the
/// erasure request for the privacy function. A failed write answers 503, so Stripe delivers
/// the event again (the record itself is a duplicate then, the request is written).
pub async fn request_erasure_after(
    requests: &dyn ErasureRequests,
    answer: WebhookResponse,
    now: i64,
) -> WebhookResponse {
    let Some(request) = customer_deleted_request(&answer, now) else { return answer };
    match requests.request_erasure(&request).await {
        Ok(()) => {
            tracing::info!(actor = %request.actor, "erasure requested: the privacy function erases the account");
            answer
        }
        Err(e) => {
            tracing::error!(error = %e, "customer.deleted: the erasure request was not recorded");
            WebhookResponse::retry_later(answer.report)
        }
    }
}

/// Days a usage day is kept after it (DynamoDB TTL); default 35.
pub const USAGE_RETENTION_VAR: &str = "FORESIGHT_USAGE_RETENTION_DAYS";
use super::aws::retention_seconds as days;
pub use super::aws::OUTBOX_RETENTION_VAR;

/// The erasure key from the function's secrets (SSM deployed, the environment locally).
pub fn erasure_key(secrets: &Secrets) -> Option<ErasureKey> {
    secrets.get(ERASURE_KEY_VAR).and_then(|secret| ErasureKey::new(&secret))
}

/// The erasure configuration: `None` without a key (no tombstones can exist then).
pub fn erasure_config(key: Option<ErasureKey>) -> Result<Option<ErasureConfig>, String> {
    let block = match std::env::var(ERASED_IDS_VAR).as_deref() {
        Err(_) | Ok("block") => true,
        Ok("fresh") => false,
        Ok(other) => return Err(format!("{ERASED_IDS_VAR} must be block or fresh, not {other:?}")),
    };
    Ok(key.map(|key| ErasureConfig { key, block }))
}

/// The account table with its retention and erasure settings.
pub fn configure_store(mut store: DynamoStore, key: Option<ErasureKey>) -> Result<DynamoStore, String> {
    if let Some(seconds) = days(USAGE_RETENTION_VAR)? {
        store = store.with_usage_retention(seconds);
    }
    if let Some(erasure) = erasure_config(key)? {
        store = store.with_erasure(erasure);
    }
    Ok(store)
}

/// The outbox table with its retention.
pub fn configure_outbox(mut outbox: DynamoOutbox) -> Result<DynamoOutbox, String> {
    if let Some(seconds) = days(OUTBOX_RETENTION_VAR)? {
        outbox = outbox.with_retention(seconds);
    }
    Ok(outbox)
}

/// The account table as the webhooks use it: with the erasure key (`<SecretsPath>/
/// foresight-signing-secret`, one `GetParameters` at cold start), so that an event for an
/// erased id meets its tombstone; without the parameter no erasure can have happened (an
/// erasure refuses to run without the key) and nothing is checked.
pub async fn account_store() -> Result<DynamoStore, Box<dyn std::error::Error + Send + Sync>> {
    let secrets = super::secrets::load(&[ERASURE_KEY_VAR]).await?;
    Ok(configure_store(super::aws::dynamo_store().await, erasure_key(&secrets))?)
}
