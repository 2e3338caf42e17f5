//! Stripe billing webhook: API Gateway HTTP API → account record in DynamoDB, and the alerts a
//! payment failure or a cancellation raises at once.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, webhooks::StripeFunction};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = &StripeFunction::from_env().await?;
    lambda::serve_webhook(move |request| async move {
        let signature = request.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
        function.respond(signature, request.body().as_ref(), unix_now()).await
    })
    .await
}
