//! Tech-touch playbooks. Invoked by its hourly schedule (the playbook sweep), by the in-app
//! queue (signed webhooks to the product, retried) and by the HTTP API's `GET`/`POST
//! /unsubscribe`. The wiring is `runtime::playbooks::PlaybooksFunction`.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::playbooks::PlaybooksFunction;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = PlaybooksFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
