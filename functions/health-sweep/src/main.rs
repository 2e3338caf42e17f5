//! Health sweep. Invoked by its schedule it plans the sweep (one SQS task per scan segment);
//! invoked by SQS it works segments and answers with the failed message ids only. The wiring
//! is `runtime::functions::HealthSweepFunction`.

use foresight_shared::runtime::functions::HealthSweepFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = HealthSweepFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
