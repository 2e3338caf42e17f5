//! Erase or export one account (GDPR art. 17 and 15). Invoked with IAM only (`aws lambda
//! invoke`), never from a public route. The wiring is `runtime::data_lifecycle::PrivacyFunction`.

use foresight_shared::runtime::data_lifecycle::PrivacyFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = PrivacyFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
