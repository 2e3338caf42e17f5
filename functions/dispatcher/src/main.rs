//! Dispatcher: consumes the notifications queue (SQS FIFO, `ReportBatchItemFailures`) and
//! delivers each alert to Slack and the CRM exactly once. The wiring is
//! `runtime::functions::DispatcherFunction`.

use foresight_shared::runtime::functions::DispatcherFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = DispatcherFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
