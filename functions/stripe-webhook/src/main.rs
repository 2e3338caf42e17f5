//! Stripe billing webhook: API Gateway HTTP API (or function URL) → account record in DynamoDB.
//! Decode, call the shared use case, encode; nothing else lives here.

use foresight_shared::ingest::{stripe::StripeWebhook, unix_now};
use foresight_shared::store::DynamoStore;
use foresight_shared::{aws, telemetry};
use lambda_http::{run, service_fn, Body, Error, Request, Response};

async fn handle(webhook: &StripeWebhook, store: &DynamoStore, request: Request) -> Result<Response<Body>, Error> {
    let signature = request.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
    let answer = webhook.respond(store, store, signature, request.body().as_ref(), unix_now()).await;
    Ok(Response::builder()
        .status(answer.status)
        .header("content-type", "application/json")
        .body(Body::Text(answer.body.to_string()))?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let store = aws::dynamo_store().await;
    let webhook = StripeWebhook::from_env();
    run(service_fn(|request| handle(&webhook, &store, request))).await
}
