//! Renewal sweep. Invoked by its schedule once a day: queries the renewal index for the accounts
//! crossing a renewal window and raises their alerts, as of the run's `scheduled_time`. The
//! wiring is `runtime::functions::RenewalSweepFunction`.

use foresight_shared::runtime::functions::RenewalSweepFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = RenewalSweepFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
