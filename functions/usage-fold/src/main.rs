//! Usage fold. Invoked by its schedule (daily by default): writes the analytics usage the
//! analytics function held in the backlog queue, one write per (account, day). The wiring is
//! `runtime::functions::UsageFoldFunction`.

use foresight_shared::runtime::functions::UsageFoldFunction;
use foresight_shared::runtime::lambda::{self, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda::init();
    let function = UsageFoldFunction::from_env().await?;
    lambda::serve(|event| function.handle(event)).await
}
