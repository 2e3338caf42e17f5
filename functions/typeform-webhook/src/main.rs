//! Typeform survey webhook: API Gateway HTTP API → NPS answers on the account record, and the
//! alert a detractor raises at once.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, privacy, settings, webhooks};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let store = privacy::account_store().await?;
    let webhook = webhooks::typeform_bound(settings::from_env()?.surveys.hidden_field, Arc::new(store.clone())).await?;
    let alerting = webhooks::Alerting::from_env().await?;
    let (store, webhook, alerting) = (&store, &webhook, &alerting);
    lambda::serve_webhook(move |request| async move {
        let signature = request.headers().get("typeform-signature").and_then(|v| v.to_str().ok());
        let alerting = alerting.as_ref().map(webhooks::Alerting::ports);
        let body = request.body().as_ref();
        webhook.current().await.respond(store, store, alerting.as_ref(), signature, body, unix_now()).await
    })
    .await
}
