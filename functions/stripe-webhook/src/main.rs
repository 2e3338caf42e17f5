//! Stripe billing webhook: API Gateway HTTP API → account record in DynamoDB, and the alerts a
//! payment failure or a cancellation raises at once.

use foresight_shared::app::ingest::stripe::StripeStores;
use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, privacy, webhooks};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let store = privacy::account_store().await?;
    let webhook = webhooks::stripe_bound(Arc::new(store.clone())).await?;
    let alerting = webhooks::Alerting::from_env().await?;
    let erase_on_customer_deleted = privacy::erase_on_customer_deleted()?;
    let (store, webhook, alerting) = (&store, &webhook, &alerting);
    lambda::serve_webhook(move |request| async move {
        let signature = request.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
        let alerting = alerting.as_ref().map(webhooks::Alerting::ports);
        let answer = webhook
            .current()
            .await
            .respond(
                &StripeStores { accounts: store, links: store, ledger: Some(store) },
                alerting.as_ref(),
                signature,
                request.body().as_ref(),
                unix_now(),
            )
            .await;
        match erase_on_customer_deleted {
            true => privacy::request_erasure_after(store, answer, unix_now()).await,
            false => answer,
        }
    })
    .await
}
