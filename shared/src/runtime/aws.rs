//! AWS SDK set-up shared by every function and the local runner, and the adapters built on it.

use super::env;
use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::adapters::sqs::SqsQueue;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use std::time::Duration;

/// A connection to DynamoDB or SQS is made in milliseconds; one that takes longer is not coming.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// One attempt of one call (a 1 MB scan page included) gets this long before it is abandoned
/// and retried: without it a hung endpoint (a paused DynamoDB) held a webhook open for over
/// 35 seconds.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// A call with its retries gets this long. The webhooks answer within
/// [`crate::app::ingest::WEBHOOK_DEADLINE`] whatever their calls do; the sweeps and the
/// dispatcher report the failure and are retried by their queue.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(12);
/// Attempts per call (the SDK's standard mode: throttling and transient errors, with jittered
/// exponential backoff from [`INITIAL_BACKOFF`]).
pub const MAX_ATTEMPTS: u32 = 3;
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// The SDK configuration loader every client starts from: latest behaviour version, explicit
/// timeouts and retries (above), and an HTTPS client on rustls with ring. The SDK's default
/// client would link aws-lc, a second crypto library next to reqwest's ring (megabytes per
/// binary and a long C build).
pub fn config_loader() -> ConfigLoader {
    let http_client =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(ATTEMPT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let retries = RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS).with_initial_backoff(INITIAL_BACKOFF);
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(timeouts)
        .retry_config(retries)
}

/// Loads the SDK configuration with the region and the credentials provider set explicitly, so
/// nothing probes instance metadata (which takes seconds when it hangs). Lambda provides both
/// as environment variables; locally the scripts export them. Endpoint overrides such as
/// `AWS_ENDPOINT_URL_DYNAMODB` (DynamoDB Local) are honoured by the SDK itself.
///
/// Loaded once per process and shared: a function builds several clients (DynamoDB, SQS, SSM)
/// at cold start, and each would otherwise resolve the same configuration again.
pub async fn sdk_config() -> SdkConfig {
    static CONFIG: tokio::sync::OnceCell<SdkConfig> = tokio::sync::OnceCell::const_new();
    CONFIG
        .get_or_init(|| async {
            let region = std::env::var("AWS_REGION")
                .or_else(|_| std::env::var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|_| "us-east-1".to_owned());
            config_loader()
                .region(Region::new(region))
                .credentials_provider(EnvironmentVariableCredentialsProvider::new())
                .load()
                .await
        })
        .await
        .clone()
}

/// A DynamoDB store on the table named by `FORESIGHT_TABLE`.
pub async fn dynamo_store() -> DynamoStore {
    let config = sdk_config().await;
    DynamoStore::new(aws_sdk_dynamodb::Client::new(&config), env::table_name())
}

/// The outbox on the table named by `FORESIGHT_OUTBOX_TABLE`.
pub async fn outbox() -> DynamoOutbox {
    let config = sdk_config().await;
    let outbox = DynamoOutbox::new(aws_sdk_dynamodb::Client::new(&config), env::outbox_table_name());
    // Its retention (`FORESIGHT_OUTBOX_RETENTION_DAYS`): a bad value keeps the default, loudly.
    match retention_seconds(OUTBOX_RETENTION_VAR) {
        Ok(Some(seconds)) => outbox.with_retention(seconds),
        Ok(None) => outbox,
        Err(e) => {
            tracing::error!(error = %e, "outbox retention left at its default");
            outbox
        }
    }
}

/// Days an outbox record (notification, report, sweep progress) is kept; default 90.
pub const OUTBOX_RETENTION_VAR: &str = "FORESIGHT_OUTBOX_RETENTION_DAYS";

/// The longest retention a setting may ask for: 100 years (a TTL further out is no TTL).
pub const MAX_RETENTION_DAYS: i64 = 36_500;

/// A retention in days from `var`, as seconds; `None` when unset.
pub fn retention_seconds(var: &str) -> Result<Option<i64>, String> {
    match std::env::var(var) {
        Err(_) => Ok(None),
        Ok(text) => match text.trim().parse::<i64>() {
            Ok(days) if (1..=MAX_RETENTION_DAYS).contains(&days) => Ok(Some(days * 86_400)),
            _ => Err(format!("{var} must be a whole number of days from 1 to {MAX_RETENTION_DAYS}, not {text:?}")),
        },
    }
}

/// An SQS queue by URL (`AWS_ENDPOINT_URL_SQS` points the client at the moto server locally).
pub async fn sqs_queue(url: impl Into<String>) -> SqsQueue {
    let config = sdk_config().await;
    SqsQueue::new(aws_sdk_sqs::Client::new(&config), url)
}

/// The queue named by a variable the template always sets, or an error naming it.
pub async fn required_queue(var: &str) -> Result<SqsQueue, String> {
    Ok(sqs_queue(env::required(var)?).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case its own variable: tests run in parallel and share the environment.
    fn retention_of(var: &str, value: &str) -> Result<Option<i64>, String> {
        std::env::set_var(var, value);
        retention_seconds(var)
    }

    #[test]
    fn a_retention_is_whole_days_up_to_a_century() {
        assert_eq!(retention_seconds("FORESIGHT_TEST_RETENTION_UNSET"), Ok(None));
        assert_eq!(retention_of("FORESIGHT_TEST_RETENTION_35", "35"), Ok(Some(35 * 86_400)));
        assert_eq!(retention_of("FORESIGHT_TEST_RETENTION_MAX", "36500"), Ok(Some(36_500 * 86_400)));
        // "Keep for ever" written as a huge number would overflow the TTL arithmetic.
        let huge = retention_of("FORESIGHT_TEST_RETENTION_HUGE", "200000000000000").unwrap_err();
        assert!(huge.contains("FORESIGHT_TEST_RETENTION_HUGE") && huge.contains("36500"), "{huge}");
        assert!(retention_of("FORESIGHT_TEST_RETENTION_ZERO", "0").is_err());
    }
}
