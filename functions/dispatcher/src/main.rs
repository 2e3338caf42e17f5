//! Dispatcher: consumes the notifications queue (SQS, `ReportBatchItemFailures`) and delivers
//! each alert to Slack and the CRM exactly once, answering with the ids of the messages to
//! retry only. Decode, call the shared dispatcher, encode; nothing else lives here.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use foresight_shared::dispatch::{self, DeliveryRoutes, DispatchPorts, QueueMessage};
use foresight_shared::{aws, config, ingest::unix_now, secrets, telemetry};
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use std::time::{Duration, SystemTime};

/// The longest one message can take (three HTTP requests of at most 10 s each, and the writes).
const MESSAGE_BUDGET: Duration = Duration::from_secs(35);

struct Dispatcher {
    outbox: foresight_shared::outbox::DynamoOutbox,
    notifications: foresight_shared::queue::SqsQueue,
    dead_letters: foresight_shared::queue::SqsQueue,
    channels: config::DeliveryChannels,
    routes: DeliveryRoutes,
}

async fn handle(app: &Dispatcher, event: LambdaEvent<SqsEvent>) -> Result<SqsBatchResponse, Error> {
    let records = &event.payload.records;
    let messages: Vec<QueueMessage> = records
        .iter()
        .map(|m| QueueMessage {
            id: m.message_id.as_deref().unwrap_or(""),
            body: m.body.as_deref().unwrap_or(""),
            receipt_handle: m.receipt_handle.as_deref(),
            receive_count: m.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1),
        })
        .collect();
    let ports = DispatchPorts {
        outbox: &app.outbox,
        log: &app.outbox,
        slack: app.channels.slack.as_deref(),
        crm: app.channels.crm.as_deref(),
        dead_letters: &app.dead_letters,
        redelivery: &app.notifications,
    };
    let deadline = event.context.deadline();
    let keep_going = move || deadline.duration_since(SystemTime::now()).is_ok_and(|left| left > MESSAGE_BUDGET);
    let failed = dispatch::dispatch_batch(&messages, &ports, &app.routes, unix_now(), &keep_going).await;
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_json();
    let queue = |var| config::queue_url(var).ok_or_else(|| format!("{var} is not set"));
    let app = Dispatcher {
        outbox: aws::outbox().await,
        notifications: aws::sqs_queue(queue(config::NOTIFICATIONS_QUEUE_VAR)?).await,
        dead_letters: aws::sqs_queue(queue(config::NOTIFICATIONS_DLQ_VAR)?).await,
        channels: config::delivery_channels(&secrets::load(&config::DELIVERY_SECRET_VARS).await?)?,
        routes: config::settings()?.delivery,
    };
    run(service_fn(|event| handle(&app, event))).await
}
