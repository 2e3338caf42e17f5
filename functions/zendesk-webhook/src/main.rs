//! Zendesk support webhook: API Gateway HTTP API → ticket state on the account record.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, privacy, webhooks};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let store = privacy::account_store().await?;
    let webhook = webhooks::zendesk_bound(Arc::new(store.clone())).await?;
    let (store, webhook) = (&store, &webhook);
    lambda::serve_webhook(move |request| async move {
        webhook.current().await.respond(store, store, request.headers(), request.body().as_ref(), unix_now()).await
    })
    .await
}
