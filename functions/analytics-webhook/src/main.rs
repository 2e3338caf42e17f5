//! Product-analytics webhook (Segment spec): API Gateway HTTP API → usage per account and day.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, privacy, settings, webhooks};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let store = privacy::account_store().await?;
    let webhook = webhooks::analytics_bound(settings::from_env()?.analytics).await?;
    let (store, webhook) = (&store, &webhook);
    lambda::serve_webhook(move |request| async move {
        webhook
            .current()
            .await
            .respond(store, store, store, request.headers(), request.body().as_ref(), unix_now())
            .await
    })
    .await
}
