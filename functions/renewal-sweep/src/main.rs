//! Renewal sweep. Invoked by its EventBridge Scheduler schedule once a day: queries the renewal
//! index for the accounts crossing a renewal window and raises their alerts, as of the run's
//! `scheduled_time` (the same on every retry, so a retry raises nothing twice). Decode, call the
//! shared sweep, encode; nothing else lives here.

use foresight_shared::domain::account::rfc3339;
use foresight_shared::outbox::DynamoOutbox;
use foresight_shared::queue::SqsQueue;
use foresight_shared::renewal_sweep::{self, RenewalPorts};
use foresight_shared::settings::Settings;
use foresight_shared::store::DynamoStore;
use foresight_shared::{aws, config, ingest::unix_now, telemetry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

struct Renewals {
    store: DynamoStore,
    outbox: DynamoOutbox,
    notifications: SqsQueue,
    settings: Settings,
}

async fn handle(app: &Renewals, event: LambdaEvent<Value>) -> Result<Value, Error> {
    let now = renewal_sweep::scheduled_now(&event.payload, unix_now())?;
    let ports = RenewalPorts {
        index: &app.store,
        accounts: &app.store,
        outbox: &app.outbox,
        notifications: &app.notifications,
    };
    let summary = renewal_sweep::run(&ports, &app.settings, now).await?;
    Ok(json!({ "now": rfc3339(now), "summary": summary }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let queue = config::queue_url(config::NOTIFICATIONS_QUEUE_VAR)
        .ok_or_else(|| format!("{} is not set", config::NOTIFICATIONS_QUEUE_VAR))?;
    let app = Renewals {
        store: aws::dynamo_store().await,
        outbox: aws::outbox().await,
        notifications: aws::sqs_queue(queue).await,
        settings: config::settings()?,
    };
    run(service_fn(|event| handle(&app, event))).await
}
