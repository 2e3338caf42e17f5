//! Product analytics (Segment spec): the Segment webhook and the HTTP Tracking API that Segment's
//! server libraries speak, API Gateway HTTP API → usage per account and day.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, privacy, settings, webhooks};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let store = privacy::account_store().await?;
    let endpoints = webhooks::analytics_bound(settings::from_env()?.analytics, Arc::new(store.clone())).await?;
    let (store, endpoints) = (&store, &endpoints);
    lambda::serve_webhook(move |request| async move {
        let path = request.uri().path();
        endpoints.current().await.respond(store, path, request.headers(), request.body().as_ref(), unix_now()).await
    })
    .await
}
