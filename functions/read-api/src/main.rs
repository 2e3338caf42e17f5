//! The dashboard's read API: API Gateway HTTP API (behind its JWT authorizer) → the page, the
//! KPIs and the account records from DynamoDB.

use foresight_shared::runtime::lambda::{self, Error};
use foresight_shared::runtime::{clock::unix_now, read_api::ReadApiFunction};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = &ReadApiFunction::from_env().await?;
    lambda::serve_http(move |request| async move { function.respond(&request, unix_now()).await }).await
}
