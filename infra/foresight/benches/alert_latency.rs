//! End-to-end alert latency in the local runner: a signed `invoice.payment_failed` webhook in,
//! the Slack `chat.postMessage` request out at a local mock, through the real path — the
//! Stripe webhook raises the alert (outbox, then the SQS queue on the moto server), the
//! runner's consumer long-polls the queue and runs the dispatcher. Prints the median, p95 and
//! max of 30 runs. Run: `bash infra/bench.sh` (starts the local stack).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use foresight::server::{self, AppState, NotificationsBackend};
use foresight::signing::stripe_header;
use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::memory::MemoryOutbox;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::adapters::slack::SlackApi;
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::runtime::delivery::DeliveryChannels;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::testkit;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const SECRET: &str = "whsec_latency_bench";
const RUNS: usize = 30;

/// The Slack mock: answers like Slack and reports each message's text as it arrives.
async fn slack_mock(arrivals: mpsc::UnboundedSender<(Instant, String)>) -> String {
    async fn post_message(
        State(tx): State<mpsc::UnboundedSender<(Instant, String)>>,
        Json(body): Json<Value>,
    ) -> Json<Value> {
        let _ = tx.send((Instant::now(), body["text"].as_str().unwrap_or_default().to_owned()));
        Json(json!({"ok": true, "channel": "C1", "ts": "1794830400.000100"}))
    }
    let app = Router::new().route("/api/chat.postMessage", post(post_message)).with_state(arrivals);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

async fn post_event(client: &reqwest::Client, runner: &str, body: &[u8]) -> Value {
    let t = foresight_shared::runtime::clock::unix_now();
    let answer = client
        .post(format!("{runner}/webhooks/stripe"))
        .header("stripe-signature", stripe_header(SECRET, t, body))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .expect("runner reachable");
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}

#[tokio::main]
async fn main() {
    if std::env::var("AWS_ENDPOINT_URL_SQS").is_err() {
        eprintln!("needs the moto SQS server: run `bash infra/bench.sh`, which starts it.");
        std::process::exit(1);
    }
    let (tx, mut arrivals) = mpsc::unbounded_channel();
    let slack_url = slack_mock(tx).await;
    let queue_url = testkit::sqs_local_queue("latency-notifications", true).await;
    let queue = Arc::new(SqsQueue::new(testkit::sqs_local_client().await, queue_url));
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let state = AppState::new(Arc::new(MemoryStore::new()), stripe)
        .with_alerting(Arc::new(MemoryOutbox::new()), NotificationsBackend::Sqs(queue));
    let slack = SlackApi::new(http_client().unwrap(), "xoxb-bench").with_base_url(slack_url);
    state.start_delivery(DeliveryChannels { slack: Some(Box::new(slack)), crm: None }).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runner = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, state));
    let client = reqwest::Client::new();

    // The sample week links Globex's customer to its account (and fails its invoices twice).
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../events/stripe");
    let mut files: Vec<_> = std::fs::read_dir(&events).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in &files {
        post_event(&client, &runner, &std::fs::read(file).unwrap()).await;
    }
    // Let the sample week's own alerts arrive, then forget them.
    tokio::time::sleep(Duration::from_secs(3)).await;
    while arrivals.try_recv().is_ok() {}

    // By name without its sequence number (the samples are renumbered as events are added).
    let failed = files.iter().find(|f| f.to_string_lossy().ends_with("globex-003-invoice-payment_failed.json"));
    let template: Value = serde_json::from_slice(&std::fs::read(failed.expect("the sample")).unwrap()).unwrap();
    let mut latencies = Vec::new();
    for run in 0..RUNS {
        let invoice = format!("in_bench_{run:03}");
        let mut event = template.clone();
        event["id"] = json!(format!("evt_bench_{run:03}"));
        event["created"] = json!(foresight_shared::runtime::clock::unix_now() - 60 + run as i64);
        event["data"]["object"]["id"] = json!(invoice);
        let body = serde_json::to_vec(&event).unwrap();
        let sent = Instant::now();
        let answer = post_event(&client, &runner, &body).await;
        assert_eq!(answer["alerts"].as_array().map(Vec::len), Some(1), "the webhook raised one alert: {answer}");
        let arrived = loop {
            let (at, text) = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
                .await
                .expect("the Slack request arrives within 10 s")
                .unwrap();
            if text.contains(&invoice) {
                break at;
            }
        };
        latencies.push(arrived.duration_since(sent));
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (median, p95, max) = (latencies[RUNS / 2], latencies[RUNS * 95 / 100], latencies[RUNS - 1]);
    println!(
        "signed invoice.payment_failed → Slack chat.postMessage at the mock, local runner with moto SQS, {RUNS} runs: \
         median {:.0} ms, p95 {:.0} ms, max {:.0} ms",
        ms(median),
        ms(p95),
        ms(max)
    );
    println!(
        "{{\"impl\":\"foresight-alert-latency\",\"median_ms\":{:.1},\"p95_ms\":{:.1},\"max_ms\":{:.1}}}",
        ms(median),
        ms(p95),
        ms(max)
    );
    std::process::exit(0);
}
