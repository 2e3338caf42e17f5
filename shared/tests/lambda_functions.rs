//! The event-driven functions as Lambda runs them (`runtime::functions`): each handler invoked
//! with the payload Lambda delivers (an EventBridge Scheduler invocation, an SQS batch) and a real
//! `lambda_runtime::Context`, against DynamoDB Local and the moto server.

use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::dispatch::routes::DeliveryRoutes;
use foresight_shared::app::ports::outbox::{NotificationStatus, Outbox};
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::alert::Alert;
use foresight_shared::runtime::delivery::DeliveryChannels;
use foresight_shared::runtime::functions::{DispatcherFunction, HealthSweepFunction};
use foresight_shared::runtime::lambda::{Context, LambdaEvent};
use foresight_shared::testkit::{
    dynamodb_local_outbox, dynamodb_local_store, load_synthetic, sqs_drain, sqs_local_client, sqs_local_queue,
};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// 2026-11-09T12:00:00Z.
const NOW: i64 = 1_794_225_600;

/// A context with `seconds` left before the deadline, as the Runtime API gives it.
fn context(seconds: u64) -> Context {
    let mut context = Context::default();
    let deadline = SystemTime::now() + Duration::from_secs(seconds);
    context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    context.request_id = "52fdfc07-2182-454f-963f-5f0f9a621d72".into();
    context.invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:foresight-HealthSweep".into();
    context
}

/// Messages received from a queue as Lambda's event source mapping hands them over.
fn sqs_event(messages: &[aws_sdk_sqs::types::Message], queue_arn: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1794225600000"},
                "messageAttributes": {}, "md5OfBody": m.md5_of_body(), "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn, "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn the_health_sweep_plans_on_its_schedule_and_works_segments_from_sqs() {
    let store = dynamodb_local_store("fn-sweep").await;
    load_synthetic(&store, 0..100, NOW).await;
    let (tasks_url, notifications_url) =
        (sqs_local_queue("fn-sweep-tasks", false).await, sqs_local_queue("fn-sweep-alerts", true).await);
    let function = HealthSweepFunction {
        store,
        outbox: dynamodb_local_outbox("fn-sweep-outbox").await,
        tasks: SqsQueue::new(sqs_local_client().await, tasks_url.clone()),
        notifications: SqsQueue::new(sqs_local_client().await, notifications_url.clone()),
        settings: Settings::default(),
        segments: 3,
    };

    // EventBridge Scheduler's invocation: the plan, one task per segment.
    let schedule = json!({"foresight": "plan-health-sweep", "scheduled_time": "2026-11-09T12:00:00Z"});
    let planned = function.handle(LambdaEvent::new(schedule, context(60))).await.unwrap();
    assert_eq!(planned, json!({"planned_segments": 3, "resent_alerts": 0}));
    let mut tasks = sqs_drain(&tasks_url).await;
    assert_eq!(tasks.len(), 3);

    // The worker's batch: every segment done, and a message that is no task is the only failure.
    let mut event = sqs_event(&tasks, "arn:aws:sqs:us-east-1:123456789012:foresight-sweep");
    event["Records"].as_array_mut().unwrap().push(json!({
        "messageId": "not-a-task", "receiptHandle": "h", "body": "{\"segment\": \"x\"}", "attributes": {},
        "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"
    }));
    let answer = function.handle(LambdaEvent::new(event, context(300))).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": "not-a-task"}]}));
    let alerts = sqs_drain(&notifications_url).await;
    assert_eq!(alerts.len(), 2, "accounts 0 and 50 are past due (the synthetic portfolio's only alerts)");

    // SQS delivers a task again: its segment is finished, so it is acknowledged and nothing is
    // raised twice.
    tasks.truncate(1);
    let again = function.handle(LambdaEvent::new(sqs_event(&tasks, "arn"), context(1))).await.unwrap();
    assert_eq!(again, json!({"batchItemFailures": []}));
    assert!(sqs_drain(&notifications_url).await.is_empty());
}

#[tokio::test]
async fn the_dispatcher_acknowledges_a_batch_it_delivered_and_lists_what_failed() {
    let outbox = dynamodb_local_outbox("fn-dispatch-outbox").await;
    let notifications_url = sqs_local_queue("fn-dispatch", true).await;
    let dead_url = sqs_local_queue("fn-dispatch-dlq", true).await;
    let function = DispatcherFunction {
        outbox,
        notifications: SqsQueue::new(sqs_local_client().await, notifications_url.clone()),
        dead_letters: SqsQueue::new(sqs_local_client().await, dead_url),
        channels: DeliveryChannels { slack: None, crm: None },
        routes: DeliveryRoutes::default(),
    };
    let alert: Alert = serde_json::from_value(json!({
        "dedupe_key": "acct_1/payment_failed/in_1", "kind": "payment_failed", "severity": "risk",
        "account_id": "acct_1", "tier": "tech_touch", "lifecycle": "adoption", "mrr": 4000,
        "headline": "payment failed 1×", "reasons": [], "summary": "health 40: payment failed 1×",
        "links": {"account": "/accounts/acct_1"}, "raised_at": "2026-11-09T12:00:00Z", "raised_by": "stripe-webhook"
    }))
    .unwrap();
    let event = json!({"Records": [
        {"messageId": "m1", "receiptHandle": "h1", "body": serde_json::to_string(&alert).unwrap(),
         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
         "awsRegion": "us-east-1"},
        {"messageId": "m2", "receiptHandle": "h2", "body": "not an alert", "attributes": {"ApproximateReceiveCount": "1"},
         "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"}
    ]});
    let answer = function.handle(LambdaEvent::new(serde_json::from_value(event).unwrap(), context(60))).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": "m2"}]}), "only the malformed message");
    let entries = function.outbox.entries().await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].status, NotificationStatus::Sent, "no channel configured: kept in the outbox, done");
    assert!(sqs_drain(&notifications_url).await.is_empty());
}
