//! The glue every Lambda function's `main` shares: logging set-up, the invocation span (request
//! id and cold start on every log line), HTTP webhooks (an API Gateway request in, the use case's
//! [`WebhookResponse`] out, counted), SQS partial batches (an [`SqsBatchResponse`] listing only
//! the failed message ids), and the deadline guard that stops work before Lambda kills it.

use super::metrics;
use super::telemetry::{self, ColdStart};
use crate::app::ingest::{within_deadline, WebhookResponse, WEBHOOK_DEADLINE};
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, SystemTime};
use tracing::Instrument;

pub use lambda_runtime::{Context, Error, LambdaEvent};

/// One per execution environment: its first invocation is the cold start.
static COLD_START: ColdStart = ColdStart::new();

/// Logging as CloudWatch wants it (JSON lines, `AWS_LAMBDA_LOG_LEVEL`).
pub fn init() {
    telemetry::init_json();
}

/// The span an invocation runs in: every log line inside carries the Lambda request id and
/// whether this is the environment's first invocation.
pub fn invocation_span(context: &Context, cold_start: &ColdStart) -> tracing::Span {
    tracing::info_span!("invocation", request_id = %context.request_id, cold_start = cold_start.take())
}

/// The whole of an HTTP invocation (a secret reloaded from SSM, then the use case, which keeps
/// its own [`WEBHOOK_DEADLINE`]) answers within this, under the functions' 10 s timeout.
pub const HTTP_DEADLINE: Duration = Duration::from_secs(WEBHOOK_DEADLINE.as_secs() + 1);

/// One HTTP invocation: the handler's answer as the API Gateway response (with `Retry-After`
/// when the sender should retry), its report counted (CloudWatch metrics). Past
/// [`HTTP_DEADLINE`] the sender gets the retryable answer rather than a killed invocation.
pub async fn answer<F, Fut>(handler: &F, request: Request) -> Response<Body>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = WebhookResponse>,
{
    let answer = within_deadline("webhook", HTTP_DEADLINE, handler(request)).await;
    metrics::ingested(&answer.report);
    answer.into_http().map(Body::Text)
}

/// Serves a webhook behind the HTTP API until the environment ends.
pub async fn serve_webhook<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = WebhookResponse> + Send,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        let span = invocation_span(&request.lambda_context(), &COLD_START);
        async move { Ok::<_, Error>(answer(handler, request).await) }.instrument(span)
    }))
    .await
}

/// Serves an HTTP function whose handler answers the whole response itself (the read API:
/// its page and JSON, no webhook report to count) until the environment ends.
pub async fn serve_http<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(Request) -> Fut + Sync,
    Fut: Future<Output = Response<Body>> + Send,
{
    let handler = &handler;
    lambda_http::run(lambda_http::service_fn(move |request: Request| {
        let span = invocation_span(&request.lambda_context(), &COLD_START);
        async move { Ok::<_, Error>(handler(request).await) }.instrument(span)
    }))
    .await
}

/// Serves an event-driven function (a schedule, an SQS batch) until the environment ends; the
/// handler answers JSON (an [`SqsBatchResponse`] for a queue, a summary for a schedule).
pub async fn serve<E, F, Fut>(handler: F) -> Result<(), Error>
where
    E: DeserializeOwned + Send + 'static,
    F: Fn(LambdaEvent<E>) -> Fut,
    Fut: Future<Output = Result<Value, Error>> + Send,
{
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(move |event: LambdaEvent<E>| {
        let span = invocation_span(&event.context, &COLD_START);
        handler(event).instrument(span)
    }))
    .await
}

/// A guard that says whether there is still more than `budget` before the invocation's deadline:
/// asked before each unit of work (a page, a message), so the rest is handed back instead of the
/// function being killed in the middle of one.
pub fn time_left_over(context: &Context, budget: Duration) -> impl Fn() -> bool + Send + Sync {
    let deadline = context.deadline();
    move || deadline.duration_since(SystemTime::now()).is_ok_and(|left| left > budget)
}

/// The answer to an SQS batch (`ReportBatchItemFailures`): SQS deletes every message but these.
pub fn batch_response(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failure
        })
        .collect();
    response
}

/// Works each message of a batch on its own, in order; a message whose work fails (logged with
/// its id) is listed in the answer, so SQS delivers it again and the others are done.
pub async fn each_message<'a, F, Fut, T, E>(batch: &'a SqsEvent, work: F) -> (SqsBatchResponse, Vec<T>)
where
    F: Fn(&'a SqsMessage) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let mut failed = Vec::new();
    let mut done = Vec::new();
    for message in &batch.records {
        let id = message.message_id.clone().unwrap_or_default();
        match work(message).await {
            Ok(result) => done.push(result),
            Err(error) => {
                tracing::error!(message_id = %id, %error, "message failed; SQS will deliver it again");
                failed.push(id);
            }
        }
    }
    (batch_response(failed), done)
}

/// `ApproximateReceiveCount` of a message (1 on the first delivery).
pub fn receive_count(message: &SqsMessage) -> u32 {
    message.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1)
}
