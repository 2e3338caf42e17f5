//! Product-analytics webhook (Segment spec): API Gateway HTTP API → usage per account and day.
//! Decode, call the shared use case, encode; nothing else lives here.

use foresight_shared::ingest::analytics::{self, AnalyticsWebhook};
use foresight_shared::ingest::unix_now;
use foresight_shared::secrets::{self, SecretBound, SecretSource};
use foresight_shared::store::DynamoStore;
use foresight_shared::{aws, config, telemetry};
use lambda_http::{run, service_fn, Body, Error, Request, Response};

async fn handle(webhook: &AnalyticsWebhook, store: &DynamoStore, request: Request) -> Result<Response<Body>, Error> {
    let body = request.body().as_ref();
    let answer = webhook.respond(store, store, store, request.headers(), body, unix_now()).await;
    Ok(answer.into_http().map(Body::Text))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let store = aws::dynamo_store().await;
    let config = config::analytics_overrides(Default::default());
    let webhook = SecretBound::load(
        SecretSource::configured().await,
        &[analytics::SECRET_VAR, analytics::TOKEN_VAR],
        move |s| AnalyticsWebhook::new(s.get(analytics::SECRET_VAR), s.get(analytics::TOKEN_VAR), config.clone()),
        AnalyticsWebhook::is_configured,
        secrets::RELOAD_MISSING_AFTER,
    )
    .await?;
    run(service_fn(|request| async { handle(&*webhook.current().await, &store, request).await })).await
}
