//! The daily backfill: what Stripe's events API and Zendesk's incremental export hold since the
//! last checkpoint, through the webhooks' ingest. The wiring is
//! `runtime::data_lifecycle::ReconcilerFunction`.

use foresight_shared::runtime::data_lifecycle::ReconcilerFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = ReconcilerFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
