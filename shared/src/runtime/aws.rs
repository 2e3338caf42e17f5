//! AWS SDK set-up shared by every function and the local runner, and the adapters built on it.

use super::env;
use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::adapters::sqs::SqsQueue;
use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

/// The SDK configuration loader every client starts from: latest behaviour version and an HTTPS
/// client on rustls with ring. The SDK's default client would link aws-lc, a second crypto
/// library next to reqwest's ring (megabytes per binary and a long C build).
pub fn config_loader() -> ConfigLoader {
    let http_client =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(http_client)
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
    super::privacy::configure_outbox(outbox.clone()).unwrap_or_else(|e| {
        tracing::error!(error = %e, "outbox retention left at its default");
        outbox
    })
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
