//! Zendesk support webhook: API Gateway HTTP API → ticket state on the account record.
//! Decode, call the shared use case, encode; nothing else lives here.

use foresight_shared::ingest::unix_now;
use foresight_shared::ingest::zendesk::{self, ZendeskWebhook};
use foresight_shared::secrets::{self, SecretBound, SecretSource};
use foresight_shared::store::{AccountStore, LinkStore};
use foresight_shared::{aws, telemetry};
use lambda_http::{run, service_fn, Body, Error, Request, Response};

async fn handle<S: AccountStore + LinkStore>(
    webhook: &ZendeskWebhook,
    store: &S,
    request: Request,
) -> Result<Response<Body>, Error> {
    let answer = webhook.respond(store, store, request.headers(), request.body().as_ref(), unix_now()).await;
    Ok(answer.into_http().map(Body::Text))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let store = aws::dynamo_store().await;
    let webhook = SecretBound::load(
        SecretSource::configured().await,
        &[zendesk::SECRET_VAR],
        |secrets| ZendeskWebhook::new(secrets.get(zendesk::SECRET_VAR)),
        ZendeskWebhook::is_configured,
        secrets::RELOAD_MISSING_AFTER,
    )
    .await?;
    run(service_fn(|request| async { handle(&*webhook.current().await, &store, request).await })).await
}
