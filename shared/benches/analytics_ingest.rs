//! Analytics ingest cost: DynamoDB write requests and write capacity units per message at
//! batch sizes 1, 100 and 1000, measured with `ReturnConsumedCapacity` against DynamoDB Local.
//! Each run sends 1000 messages for 5 accounts on one day. Then the demo portfolio's 23 batches
//! of 1000 messages (group calls, identify, track and page calls of 53 accounts over weeks), one
//! after the other: DynamoDB requests and wall time per batch, against DynamoDB Local on this
//! machine (the webhook answers within 8 s; this is where a batch spends it).
//! Run: `bash infra/bench.sh`.

use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::domain::usage::AnalyticsConfig;
use foresight_shared::sources::segment::signature;
use http::{HeaderMap, HeaderValue};
use serde_json::json;

const SECRET: &str = "segment_bench_secret";
const MESSAGES: usize = 1000;

async fn run(batch_size: usize) -> (f64, f64, usize) {
    let store = foresight_shared::testkit::dynamodb_local_store(&format!("bench-analytics-{batch_size}")).await;
    let meter = store.meter();
    let webhook = AnalyticsWebhook::new(Some(SECRET.into()), None, AnalyticsConfig::default());
    let now = foresight_shared::runtime::clock::unix_now();
    // All inside one UTC day, whatever the time of day.
    let today = now.div_euclid(86_400) * 86_400 + 60;
    let messages: Vec<serde_json::Value> = (0..MESSAGES)
        .map(|i| {
            json!({"type": "track", "event": "Logged In", "userId": format!("user-{}", i % 40),
                   "messageId": format!("{:08x}-{i:04}-4000-8000-000000000000", i * 7919),
                   "timestamp": chrono::DateTime::from_timestamp(today + i as i64, 0).unwrap().to_rfc3339(),
                   "context": {"groupId": format!("acct_{}", i % 5)}})
        })
        .collect();
    let mut body_bytes = 0;
    for chunk in messages.chunks(batch_size) {
        let body = if batch_size == 1 { serde_json::to_vec(&chunk[0]) } else { serde_json::to_vec(chunk) }.unwrap();
        body_bytes = body.len();
        let signed = signature::signed_bytes(&body).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", HeaderValue::from_str(&signature::compute_signature(SECRET, signed)).unwrap());
        webhook.handle(&store, &store, &store, &headers, &body, now).await.expect("accepted");
    }
    let r = meter.reading();
    (r.write_requests as f64 / MESSAGES as f64, r.write_units / MESSAGES as f64, body_bytes)
}

/// A day of messages spread over `accounts` accounts, `per_account` each, sent in batches that
/// hold `per_batch` messages of every account (a batch of `accounts × per_batch` messages): the
/// shape of a product whose traffic comes from many accounts at once, where each batch writes
/// most accounts' day items, which grow through the day. Per message: write requests, WCU, and
/// the WCU of the day's last write of an account (its item at its largest).
async fn spread_day(accounts: usize, per_account: usize, per_batch: usize) -> (f64, f64, f64) {
    let store = foresight_shared::testkit::dynamodb_local_store(&format!("bench-analytics-spread-{per_batch}")).await;
    let meter = store.meter();
    let webhook = AnalyticsWebhook::new(Some(SECRET.into()), None, AnalyticsConfig::default());
    let now = foresight_shared::runtime::clock::unix_now();
    let today = now.div_euclid(86_400) * 86_400 + 60;
    let message = |j: usize, a: usize| {
        json!({"type": "track", "event": "Logged In", "userId": format!("user-{a}-{}", j % 10),
               "messageId": format!("{:08x}-{j:04}-4000-8000-{a:012}", j * 7919),
               "timestamp": chrono::DateTime::from_timestamp(today + j as i64, 0).unwrap().to_rfc3339(),
               "context": {"groupId": format!("acct_{a}")}})
    };
    let mut last_write_units = 0.0;
    for first in (0..per_account).step_by(per_batch) {
        let batch: Vec<serde_json::Value> = (first..(first + per_batch).min(per_account))
            .flat_map(|j| (0..accounts).map(move |a| (j, a)))
            .map(|(j, a)| message(j, a))
            .collect();
        let body = serde_json::to_vec(&batch).unwrap();
        let signed = signature::signed_bytes(&body).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", HeaderValue::from_str(&signature::compute_signature(SECRET, signed)).unwrap());
        let before = meter.reading().write_units;
        webhook.handle(&store, &store, &store, &headers, &body, now).await.expect("accepted");
        last_write_units = (meter.reading().write_units - before) / accounts as f64;
    }
    let r = meter.reading();
    let messages = (accounts * per_account) as f64;
    (r.write_requests as f64 / messages, r.write_units / messages, last_write_units)
}

/// The portfolio's batches in order: (requests per batch: reads, writes), wall time per batch.
async fn portfolio_batches() -> (usize, f64, f64, std::time::Duration, std::time::Duration) {
    let store = foresight_shared::testkit::dynamodb_local_store("bench-analytics-portfolio").await;
    let meter = store.meter();
    let webhook = AnalyticsWebhook::new(Some(SECRET.into()), None, AnalyticsConfig::default());
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/portfolio/segment");
    let mut files: Vec<_> =
        std::fs::read_dir(&folder).expect("the portfolio's batches").flatten().map(|e| e.path()).collect();
    files.sort();
    let now = foresight_shared::runtime::clock::unix_now();
    let (mut total, mut slowest) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for file in &files {
        let body = std::fs::read(file).unwrap();
        let signed = signature::signed_bytes(&body).unwrap_or(&body);
        let mut headers = HeaderMap::new();
        headers.insert("x-signature", HeaderValue::from_str(&signature::compute_signature(SECRET, signed)).unwrap());
        let started = std::time::Instant::now();
        webhook.handle(&store, &store, &store, &headers, &body, now).await.expect("accepted");
        let took = started.elapsed();
        total += took;
        slowest = slowest.max(took);
    }
    let r = meter.reading();
    let n = files.len() as f64;
    (files.len(), r.read_requests as f64 / n, r.write_requests as f64 / n, total / files.len() as u32, slowest)
}

fn main() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("needs DynamoDB Local: run `bash infra/bench.sh`, which starts it.");
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    println!("analytics: {MESSAGES} messages for 5 accounts on one day, per message:");
    for batch in [1, 100, 1000] {
        let (writes, wcu, bytes) = runtime.block_on(run(batch));
        println!("  batch {batch:>4} ({bytes:>6} bytes): {writes:.3} write requests, {wcu:.3} WCU");
        println!("{{\"impl\":\"foresight-analytics\",\"batch\":{batch},\"write_requests_per_message\":{writes:.4},\"wcu_per_message\":{wcu:.4}}}");
    }
    // The cost model's scenario: 333 messages an account-day (100 M a month over 10,000
    // accounts), sent in batches that each hold 1 (traffic spread over most accounts) or 10
    // messages of an account; 20 accounts stand for all of them (each write touches one).
    println!("analytics, a day of 333 messages an account, batches spread over the accounts, per message:");
    for per_batch in [1, 10, 333] {
        let (writes, wcu, last) = runtime.block_on(spread_day(20, 333, per_batch));
        println!(
            "  {per_batch:>3} messages of an account a batch: {writes:.3} write requests, {wcu:.3} WCU \
             (the day's last write of an account: {last:.0} WCU)"
        );
        println!(
            "{{\"impl\":\"foresight-analytics-spread\",\"per_account_day\":333,\"per_account_batch\":{per_batch},\"write_requests_per_message\":{writes:.4},\"wcu_per_message\":{wcu:.4},\"last_write_wcu\":{last:.1}}}"
        );
    }
    let (batches, reads, writes, mean, slowest) = runtime.block_on(portfolio_batches());
    println!(
        "  the demo portfolio's {batches} batches of 1000 messages, one at a time: {reads:.0} read and {writes:.0} write \
         requests per batch, {mean:.2?} per batch (slowest {slowest:.2?}) against DynamoDB Local"
    );
}
