//! Health sweep. Invoked by the schedule it plans (one SQS task per scan segment); invoked by
//! SQS it works one segment (score, write back, raise alerts) and answers with the ids of the
//! failed messages only. Decode, call the shared sweep, encode; nothing else lives here.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use foresight_shared::outbox::DynamoOutbox;
use foresight_shared::queue::SqsQueue;
use foresight_shared::settings::Settings;
use foresight_shared::store::DynamoStore;
use foresight_shared::sweep::{self, SweepPorts};
use foresight_shared::{aws, config, ingest::unix_now, telemetry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};

struct Sweep {
    store: DynamoStore,
    outbox: DynamoOutbox,
    tasks: SqsQueue,
    notifications: SqsQueue,
    settings: Settings,
    segments: u32,
}

/// Leave a page's worth of time (a 1 MB page and its writes) before the function's deadline.
const PAGE_BUDGET: Duration = Duration::from_secs(60);

async fn handle(app: &Sweep, event: LambdaEvent<Value>) -> Result<Value, Error> {
    if event.payload.get("Records").is_none() {
        let planned = sweep::plan_scheduled(&event.payload, &app.tasks, app.segments, unix_now()).await?;
        return Ok(json!({ "planned_segments": planned }));
    }
    let deadline = event.context.deadline();
    let keep_going = move || deadline.duration_since(SystemTime::now()).is_ok_and(|left| left > PAGE_BUDGET);
    let ports = SweepPorts {
        scanner: &app.store,
        accounts: &app.store,
        outbox: &app.outbox,
        notifications: &app.notifications,
        progress: &app.outbox,
    };
    let batch: SqsEvent = serde_json::from_value(event.payload)?;
    let mut failed = Vec::new();
    for message in batch.records {
        let body = message.body.as_deref().unwrap_or("");
        if let Err(e) = sweep::work_task(body, &ports, &app.tasks, &app.settings, &keep_going).await {
            tracing::error!(message_id = message.message_id.as_deref().unwrap_or(""), error = %e, "segment failed");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = message.message_id.unwrap_or_default();
            failed.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed;
    Ok(serde_json::to_value(response)?)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let queue = |var| config::queue_url(var).ok_or_else(|| format!("{var} is not set"));
    let app = Sweep {
        store: aws::dynamo_store().await,
        outbox: aws::outbox().await,
        tasks: aws::sqs_queue(queue(config::SWEEP_QUEUE_VAR)?).await,
        notifications: aws::sqs_queue(queue(config::NOTIFICATIONS_QUEUE_VAR)?).await,
        settings: config::settings()?,
        segments: config::sweep_segments()?,
    };
    run(service_fn(|event| handle(&app, event))).await
}
