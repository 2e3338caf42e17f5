//! Helpers for tests that run against the local stack (`infra/local-stack.sh`). They fail
//! loudly, naming the fix, when the stack is missing: a skipped test would hide a regression.

use crate::store::DynamoStore;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use std::time::{SystemTime, UNIX_EPOCH};

/// The DynamoDB Local endpoint, or a panic that says how to start it.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: this test needs DynamoDB Local. \
             Run `bash infra/local-stack.sh start && eval \"$(bash infra/local-stack.sh env)\"`, \
             or the README's test command, which does both."
        )
    })
}

/// A client for DynamoDB Local with explicit region and credentials (no metadata probing).
pub async fn dynamodb_local_client() -> aws_sdk_dynamodb::Client {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "foresight-tests"))
        .endpoint_url(dynamodb_endpoint())
        .load()
        .await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// A store on a new, uniquely named table in DynamoDB Local.
pub async fn dynamodb_local_store(name: &str) -> DynamoStore {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let table = format!("{name}-{}-{nanos}", std::process::id());
    let store = DynamoStore::new(dynamodb_local_client().await, table);
    if let Err(e) = store.ensure_table().await {
        panic!(
            "DynamoDB Local at {} is not reachable ({e}). Start it with `bash infra/local-stack.sh start`.",
            dynamodb_endpoint()
        );
    }
    store
}
