//! Portfolio reports. Invoked by its two schedules: the weekly digest to Slack (Monday morning
//! by default) and the CRM health sync (hourly by default). The wiring is
//! `runtime::functions::ReportsFunction`.

use foresight_shared::runtime::functions::ReportsFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = ReportsFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
