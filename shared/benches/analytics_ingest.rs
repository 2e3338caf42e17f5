//! Analytics ingest cost: DynamoDB write requests and write capacity units per message at
//! batch sizes 1, 100 and 1000, measured with `ReturnConsumedCapacity` against DynamoDB Local.
//! Each run sends 1000 messages for 5 accounts on one day. Then the demo portfolio's 23 batches
//! of 1000 messages (group calls, identify, track and page calls of 53 accounts over weeks), one
//! after the other: DynamoDB requests and wall time per batch, against DynamoDB Local on this
//! machine (the webhook answers within 8 s; this is where a batch spends it).
//! Run: `bash infra/bench.sh`.

use foresight_shared::adapters::memory::MemoryUsageBacklog;
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::usage_fold::{fold, FoldPorts, BATCHES_PER_ROUND};
use foresight_shared::app::ports::store::{AccountLister, UsageStore};
use foresight_shared::domain::usage::{AnalyticsConfig, DueDay};
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

/// The `j`th message of the day of account `a` (`today`: the day's first second plus a minute).
fn spread_message(j: usize, a: usize, today: i64) -> serde_json::Value {
    json!({"type": "track", "event": "Logged In", "userId": format!("user-{a}-{}", j % 10),
           "messageId": format!("{:08x}-{j:04}-4000-8000-{a:012}", j * 7919),
           "timestamp": chrono::DateTime::from_timestamp(today + j as i64, 0).unwrap().to_rfc3339(),
           "context": {"groupId": format!("acct_{a}")}})
}

/// A day of messages spread over `accounts` accounts, `per_account` each, sent in batches that
/// hold `per_batch` messages of every account (a batch of `accounts × per_batch` messages): the
/// shape of a product whose traffic comes from many accounts at once, where each batch writes
/// most accounts' day items, which grow through the day. Per message: write requests, WCU, and
/// the WCU of the day's last write of an account (its item at its largest).
///
/// With `folds` > 0 the webhook holds each batch's usage (`UsageFoldSchedule`) and the usage fold
/// runs `folds` times over the day, evenly spaced (1: once a day, 24: hourly); the figures are
/// then the fold's writes, and the last is its largest write of an account.
async fn spread_day(
    accounts: usize,
    per_account: usize,
    per_batch: usize,
    folds: usize,
) -> (f64, f64, f64, f64, f64, f64) {
    let store =
        foresight_shared::testkit::dynamodb_local_store(&format!("bench-analytics-spread-{per_batch}-{folds}")).await;
    let meter = store.meter();
    let backlog = std::sync::Arc::new(MemoryUsageBacklog::default());
    let mut webhook = AnalyticsWebhook::new(Some(SECRET.into()), None, AnalyticsConfig::default());
    if folds > 0 {
        webhook = webhook.with_usage_buffer(backlog.clone());
    }
    let batches = per_account.div_ceil(per_batch);
    let fold_every = batches.div_ceil(folds.max(1));
    let ports = FoldPorts {
        backlog: backlog.as_ref(),
        buffer: backlog.as_ref(),
        accounts: &store,
        links: &store,
        usage: &store,
    };
    let now = foresight_shared::runtime::clock::unix_now();
    let today = now.div_euclid(86_400) * 86_400 + 60;
    let message = |j: usize, a: usize| spread_message(j, a, today);
    let mut last_write_units = 0.0f64;
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
        let batch = first / per_batch + 1;
        if folds > 0 && (batch.is_multiple_of(fold_every) || batch == batches) {
            fold(&ports, BATCHES_PER_ROUND, now, || true).await.expect("folded");
        }
        if folds == 0 || batch.is_multiple_of(fold_every) || batch == batches {
            last_write_units = last_write_units.max((meter.reading().write_units - before) / accounts as f64);
        }
    }
    let r = meter.reading();
    let messages = (accounts * per_account) as f64;
    let day_bytes = usage_item_bytes(&store).await;
    // Then the health sweep's settling of each day two days later: its write, and what a day
    // weighs after it (what the sweeps read from then on).
    let before = meter.reading();
    let mut settled = 0;
    for account in store.list().await.expect("accounts") {
        for (day, usage) in &account.usage {
            let due =
                DueDay { day: *day, fingerprints: usage.message_ids.len() as u64, last_added_at: usage.last_added_at };
            settled += usize::from(store.settle_day(&account.account_id, &due).await.expect("settled"));
        }
    }
    let settle_wcu = (meter.reading().write_units - before.write_units) / settled.max(1) as f64;
    let settled_bytes = usage_item_bytes(&store).await;
    (
        r.write_requests as f64 / messages,
        r.write_units / messages,
        last_write_units,
        day_bytes,
        settled_bytes,
        settle_wcu,
    )
}

/// The mean size of the table's usage-day items by DynamoDB's rules: what every sweep's scan
/// reads again for each day an account keeps.
async fn usage_item_bytes(store: &foresight_shared::adapters::dynamodb::DynamoStore) -> f64 {
    let client = foresight_shared::testkit::dynamodb_local_client().await;
    let out = client.scan().table_name(store.table()).send().await.expect("DynamoDB Local scans");
    let sizes: Vec<u64> = out
        .items()
        .iter()
        .filter(|item| item.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk.starts_with("USAGE#")))
        .map(foresight_shared::adapters::dynamodb::store::item_size)
        .collect();
    sizes.iter().sum::<u64>() as f64 / sizes.len().max(1) as f64
}

/// The SQS message body of one held batch of `accounts` messages, one of each account (the
/// message shape of [`spread_day`]): (pairs held, body bytes).
async fn held_batch_bytes(accounts: usize) -> (usize, usize) {
    use foresight_shared::app::ports::usage_backlog::UsageBacklog;
    let store = foresight_shared::adapters::memory::MemoryStore::default();
    let backlog = std::sync::Arc::new(MemoryUsageBacklog::default());
    let webhook =
        AnalyticsWebhook::new(Some(SECRET.into()), None, AnalyticsConfig::default()).with_usage_buffer(backlog.clone());
    let now = foresight_shared::runtime::clock::unix_now();
    let today = now.div_euclid(86_400) * 86_400 + 60;
    let batch: Vec<serde_json::Value> = (0..accounts).map(|a| spread_message(a, a, today)).collect();
    let body = serde_json::to_vec(&batch).unwrap();
    let signed = signature::signed_bytes(&body).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-signature", HeaderValue::from_str(&signature::compute_signature(SECRET, signed)).unwrap());
    webhook.handle(&store, &store, &store, &headers, &body, now).await.expect("accepted");
    let taken = backlog.take(1).await.unwrap();
    let usage = &taken[0].usage;
    let bodies = foresight_shared::adapters::sqs_usage::bodies(usage).unwrap();
    (usage.len(), bodies.iter().map(String::len).sum())
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
        let (writes, wcu, last, ..) = runtime.block_on(spread_day(20, 333, per_batch, 0));
        println!(
            "  {per_batch:>3} messages of an account a batch: {writes:.3} write requests, {wcu:.3} WCU \
             (the day's last write of an account: {last:.0} WCU)"
        );
        println!(
            "{{\"impl\":\"foresight-analytics-spread\",\"per_account_day\":333,\"per_account_batch\":{per_batch},\"write_requests_per_message\":{writes:.4},\"wcu_per_message\":{wcu:.4},\"last_write_wcu\":{last:.1}}}"
        );
    }
    // The same day held and folded (`UsageFoldSchedule`): once a day, every 6 hours, hourly.
    println!("analytics held for the usage fold, the same day (1 message of an account a batch), per message:");
    for folds in [1, 4, 24] {
        let (writes, wcu, last, day_bytes, settled_bytes, settle_wcu) = runtime.block_on(spread_day(20, 333, 1, folds));
        println!(
            "  folded {folds:>2} times a day: {writes:.4} write requests, {wcu:.4} WCU \
             (the fold's largest write of an account: {last:.0} WCU; a usage day's item: {day_bytes:.0} bytes, \
             {settled_bytes:.0} once the sweep settled it, by a write of {settle_wcu:.0} WCU)"
        );
        println!(
            "{{\"impl\":\"foresight-analytics-folded\",\"per_account_day\":333,\"folds_per_day\":{folds},\"write_requests_per_message\":{writes:.5},\"wcu_per_message\":{wcu:.5},\"last_write_wcu\":{last:.1}}}"
        );
    }
    let (pairs, bytes) = runtime.block_on(held_batch_bytes(1000));
    println!(
        "  held usage of a batch of 1,000 messages of {pairs} accounts: {bytes} bytes as an SQS message body, \
         {:.1} bytes a pair",
        bytes as f64 / pairs as f64
    );
    println!("{{\"impl\":\"foresight-analytics-held-bytes\",\"pairs\":{pairs},\"body_bytes\":{bytes}}}");
    let (batches, reads, writes, mean, slowest) = runtime.block_on(portfolio_batches());
    println!(
        "  the demo portfolio's {batches} batches of 1000 messages, one at a time: {reads:.0} read and {writes:.0} write \
         requests per batch, {mean:.2?} per batch (slowest {slowest:.2?}) against DynamoDB Local"
    );
}
