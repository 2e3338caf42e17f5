//! The glue every Lambda function shares (`runtime::lambda`), driven with the events Lambda
//! really delivers: an API Gateway HTTP API (payload 2.0) request, an SQS batch, and a
//! `lambda_runtime::Context` with a deadline.

use async_trait::async_trait;
use base64::Engine;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ingest::stripe::{StripeStores, StripeWebhook};
use foresight_shared::app::ports::store::{AccountStore, ApplyOutcome, LinkSource, LinkStore, StoreError};
use foresight_shared::domain::account::StoredAccount;
use foresight_shared::domain::change::AccountChange;
use foresight_shared::runtime::clock::unix_now;
use foresight_shared::runtime::lambda::{self, Context};
use foresight_shared::sources::stripe::signature::{compute_signature, StripeSecrets};
use lambda_http::{Body, Request};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An API Gateway HTTP API (payload v2) event, as Lambda delivers it.
fn apigw_event(body: &str, signature: &str, base64_encoded: bool) -> Request {
    let body = if base64_encoded { base64::engine::general_purpose::STANDARD.encode(body) } else { body.to_owned() };
    let event = json!({
        "version": "2.0", "routeKey": "POST /webhooks/stripe", "rawPath": "/webhooks/stripe", "rawQueryString": "",
        "headers": {"content-type": "application/json; charset=utf-8", "stripe-signature": signature,
                    "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"},
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.eu-west-1.amazonaws.com",
            "domainPrefix": "abc123", "http": {"method": "POST", "path": "/webhooks/stripe", "protocol": "HTTP/1.1",
            "sourceIp": "3.18.12.63", "userAgent": "Stripe/1.0"}, "requestId": "id", "routeKey": "POST /webhooks/stripe",
            "stage": "$default", "time": "22/Nov/2026:23:00:00 +0000", "timeEpoch": 1_795_388_400_000_i64},
        "body": body, "isBase64Encoded": base64_encoded
    });
    lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event")
}

const BODY: &str = r#"{"id":"evt_fn","type":"customer.created","created":1800000000,"data":{"object":{"id":"cus_fn","name":"Fn Ltd","metadata":{"account_id":"acct_fn"}}}}"#;

fn signed() -> String {
    let t = unix_now();
    format!("t={t},v1={}", compute_signature("whsec_fn", t, BODY.as_bytes()))
}

fn text(body: &Body) -> &str {
    match body {
        Body::Text(text) => text,
        other => panic!("a JSON text body, not {other:?}"),
    }
}

async fn stripe_answer(
    webhook: &StripeWebhook,
    store: &(impl AccountStore + LinkStore),
    request: Request,
) -> lambda_http::Response<Body> {
    let handler = |request: Request| async move {
        let signature = request.headers().get("stripe-signature").and_then(|v| v.to_str().ok());
        webhook
            .respond(
                &StripeStores { accounts: store, links: store, ledger: None },
                None,
                signature,
                request.body().as_ref(),
                unix_now(),
            )
            .await
    };
    lambda::answer(&handler, request).await
}

#[tokio::test]
async fn an_api_gateway_event_reaches_the_webhook_and_gets_json() {
    let webhook = StripeWebhook::new(Some(StripeSecrets::new("whsec_fn", None)), "account_id");
    let store = MemoryStore::new();
    for base64_encoded in [false, true] {
        let response = stripe_answer(&webhook, &store, apigw_event(BODY, &signed(), base64_encoded)).await;
        assert_eq!(response.status(), 200, "base64 {base64_encoded}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let answer: Value = serde_json::from_str(text(response.body())).unwrap();
        assert_eq!(answer["account_id"], "acct_fn");
    }
    assert!(store.get("acct_fn").await.unwrap().is_some());
    let rejected = stripe_answer(&webhook, &store, apigw_event(BODY, "t=1,v1=00", false)).await;
    assert_eq!(rejected.status(), 400);
    assert!(text(rejected.body()).contains("\"error\""));
}

/// A store whose every call fails the way DynamoDB does, with details no sender should see.
struct Unavailable;

fn unavailable() -> StoreError {
    StoreError::Dynamo {
        operation: "UpdateItem",
        source: "ProvisionedThroughputExceededException: table foresight-prod-Accounts-1A2B".into(),
    }
}

#[async_trait]
impl AccountStore for Unavailable {
    async fn apply(&self, _: &AccountChange) -> Result<ApplyOutcome, StoreError> {
        Err(unavailable())
    }
    async fn get(&self, _: &str) -> Result<Option<StoredAccount>, StoreError> {
        Err(unavailable())
    }
    async fn merge(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Err(unavailable())
    }
}

#[async_trait]
impl LinkStore for Unavailable {
    async fn resolve(&self, _: LinkSource, _: &str) -> Result<Option<String>, StoreError> {
        Err(unavailable())
    }
    async fn link(&self, _: LinkSource, _: &str, _: &str) -> Result<(), StoreError> {
        Err(unavailable())
    }
}

#[tokio::test]
async fn our_own_failure_is_retryable_and_keeps_its_cause_to_the_log() {
    let webhook = StripeWebhook::new(Some(StripeSecrets::new("whsec_fn", None)), "account_id");
    let response = stripe_answer(&webhook, &Unavailable, apigw_event(BODY, &signed(), false)).await;
    assert_eq!(response.status(), 503, "Stripe retries any 5xx");
    assert_eq!(response.headers()["retry-after"], "10");
    let body = text(response.body());
    assert_eq!(serde_json::from_str::<Value>(body).unwrap(), json!({"error": "temporarily unavailable: please retry"}));
    assert!(!body.contains("Provisioned") && !body.contains("foresight-prod"), "{body}");
}

/// An SQS batch as Lambda's event source mapping delivers it.
fn sqs_event(bodies: &[&str]) -> aws_lambda_events::sqs::SqsEvent {
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            json!({
                "messageId": format!("059f36b4-87a3-44ab-83d2-66197512843{i}"),
                "receiptHandle": format!("AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a{i}"),
                "body": body,
                "attributes": {"ApproximateReceiveCount": (i + 1).to_string(), "SentTimestamp": "1545082649183",
                               "SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": "1545082649185"},
                "messageAttributes": {}, "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:foresight-sweep",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).expect("a valid SQS event")
}

#[tokio::test]
async fn an_sqs_batch_answers_only_its_failed_message_ids() {
    let batch = sqs_event(&["ok", "boom", "ok"]);
    let (response, done) = lambda::each_message(&batch, |message| async move {
        match message.body.as_deref() {
            Some("ok") => Ok(lambda::receive_count(message)),
            _ => Err("the segment failed"),
        }
    })
    .await;
    assert_eq!(done, [1, 3], "the others are done, each with its receive count");
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "059f36b4-87a3-44ab-83d2-661975128431"}]})
    );
    let none = lambda::batch_response(Vec::new());
    assert_eq!(serde_json::to_value(none).unwrap(), json!({"batchItemFailures": []}));
}

#[test]
fn the_deadline_guard_reads_the_invocation_context() {
    let mut context = Context::default();
    let in_ten_seconds = SystemTime::now() + Duration::from_secs(10);
    context.deadline = in_ten_seconds.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    context.request_id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd".into();
    assert!(lambda::time_left_over(&context, Duration::from_secs(5))(), "10 s left, 5 s needed");
    assert!(!lambda::time_left_over(&context, Duration::from_secs(20))(), "10 s left, 20 s needed");
    context.deadline = 0;
    assert!(!lambda::time_left_over(&context, Duration::ZERO)(), "a deadline passed leaves no time");
}

/// Zendesk retries only a 409, a 429 or 503 *with* `Retry-After`, and timeouts: a storage
/// failure must answer 503 with `Retry-After`, never a plain 500 (which Zendesk drops).
#[tokio::test]
async fn zendesk_gets_503_with_retry_after_when_storage_fails() {
    use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
    use foresight_shared::sources::zendesk::signature::compute_signature;
    let webhook = ZendeskWebhook::new(Some("zd_fn".into()));
    let body = br#"{"ticket_id": "1", "status": "open", "organization_external_id": "acct_zd"}"#;
    let timestamp = foresight_shared::domain::time::rfc3339(unix_now());
    let mut headers = http::HeaderMap::new();
    headers.insert("x-zendesk-webhook-signature", compute_signature("zd_fn", &timestamp, body).parse().unwrap());
    headers.insert("x-zendesk-webhook-signature-timestamp", timestamp.parse().unwrap());
    headers.insert("x-zendesk-webhook-invocation-id", "inv-1".parse().unwrap());
    let answer = webhook.respond(&Unavailable, &Unavailable, &headers, body, unix_now()).await;
    assert_eq!((answer.status, answer.retry_after), (503, Some(10)));
    let response = answer.into_http();
    assert_eq!(response.headers()["retry-after"], "10");
    assert_eq!(
        serde_json::from_str::<Value>(response.body()).unwrap(),
        json!({"error": "temporarily unavailable: please retry"})
    );
}

/// A dependency that never answers (a paused DynamoDB) still gets the sender a timely answer it
/// retries.
#[tokio::test]
async fn a_hung_dependency_gets_a_timely_retryable_answer() {
    use foresight_shared::app::ingest::{within_deadline, WebhookResponse};
    let started = std::time::Instant::now();
    let hung = std::future::pending::<WebhookResponse>();
    let answer = within_deadline("zendesk", Duration::from_millis(100), hung).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!((answer.status, answer.retry_after), (503, Some(10)));
    assert_eq!(answer.body, json!({"error": "temporarily unavailable: please retry"}));
    assert!(lambda::HTTP_DEADLINE < Duration::from_secs(10), "inside the functions' 10 s timeout");
}
