//! Stripe ingest benchmark: CPU time per event (verify + parse + normalise) on a realistic
//! ~5 KB `customer.subscription.updated`, and DynamoDB write requests and write capacity units
//! per event from `ReturnConsumedCapacity` against DynamoDB Local.
//!
//! Run: `bash infra/bench.sh` (starts the local stack and compares with stripe-node), or
//! `cargo bench -p foresight-shared --bench stripe_ingest` with the local stack's environment.
//! Prints human lines and one JSON line per figure.

use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::sources::stripe::{self, signature::compute_signature, signature::StripeSecrets};
use std::hint::black_box;
use std::time::Instant;

const SECRET: &str = "whsec_bench_secret";
const SAMPLE: &str = "15-acme-004-customer-subscription-updated.json";

fn time_per_iteration(iterations: u32, mut f: impl FnMut()) -> f64 {
    for _ in 0..iterations / 10 {
        f();
    }
    // Best of five runs: the least disturbed by the other core's work.
    (0..5)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed().as_nanos() as f64 / f64::from(iterations)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe").join(SAMPLE);
    let body = std::fs::read(&path).expect("the sample event");
    let now = foresight_shared::runtime::clock::unix_now();
    let header = format!("t={now},v1={}", compute_signature(SECRET, now, &body));
    let webhook = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let secrets = StripeSecrets::new(SECRET, None);
    let n = 100_000;

    let verify = time_per_iteration(n, || {
        black_box(stripe::verify(Some(black_box(&header)), black_box(&body), &secrets, now, 300).unwrap());
    });
    let parse = time_per_iteration(n, || {
        black_box(stripe::parse_event(black_box(&body), "account_id").unwrap());
    });
    // The floor: serde_json reading the body without keeping anything.
    let skim = time_per_iteration(n, || {
        black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body)).unwrap());
    });
    let envelope = time_per_iteration(n, || {
        black_box(serde_json::from_slice::<stripe::event::Envelope>(black_box(&body)).unwrap());
    });
    let total = time_per_iteration(n, || {
        black_box(webhook.prepare(Some(black_box(&header)), black_box(&body), now).unwrap());
    });
    println!("payload: {} ({} bytes)", SAMPLE, body.len());
    println!("JSON skim (floor):          {skim:>8.0} ns/event");
    println!("typed parse only:           {envelope:>8.0} ns/event");
    println!("verify:                     {verify:>8.0} ns/event");
    println!("parse + normalise:          {parse:>8.0} ns/event");
    println!("verify + parse + normalise: {total:>8.0} ns/event ({:.1} µs; target < 15 µs)", total / 1000.0);
    println!(
        "{{\"impl\":\"foresight\",\"payload_bytes\":{},\"iterations\":{n},\"ns_per_event\":{total:.0},\"verify_ns\":{verify:.0},\"parse_normalise_ns\":{parse:.0}}}",
        body.len()
    );

    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("DynamoDB figures need DynamoDB Local: run `bash infra/bench.sh`, which starts it.");
        std::process::exit(1);
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(dynamodb_cost(&body));
}

/// Writes `events` successive `customer.subscription.updated` deliveries (new event ids,
/// increasing `created`) for one linked account and reports the cost per event.
async fn dynamodb_cost(body: &[u8]) {
    let store = foresight_shared::testkit::dynamodb_local_store("bench").await;
    let meter = store.meter();
    let template: serde_json::Value = serde_json::from_slice(body).unwrap();
    let events = 500;
    let mut item_bytes = 0;
    for i in 0..events {
        let mut event = template.clone();
        event["id"] = format!("evt_bench_{i:05}").into();
        event["created"] = (template["created"].as_i64().unwrap() + i).into();
        // The common update (a renewal moves the period) adds no MRR point, so the item keeps
        // its size; price changes are rarer and add one small fact each.
        event["data"]["previous_attributes"] = serde_json::json!({"latest_invoice": "in_previous"});
        let body = serde_json::to_vec_pretty(&event).unwrap();
        let update = stripe::parse_event(&body, "account_id").unwrap();
        let mut change = update.change.unwrap();
        change.account_id = "acct_bench".into();
        store.apply(&change).await.unwrap();
        item_bytes = body.len();
    }
    let r = meter.reading();
    let stored = store.get("acct_bench").await.unwrap().unwrap();
    let item_size = serde_json::to_vec(&stored.attributes).map(|v| v.len()).unwrap_or(0);
    println!(
        "DynamoDB Local, {events} events of {item_bytes} bytes: {:.2} write requests/event, {:.2} WCU/event (account item ~{item_size} bytes as JSON)",
        r.write_requests as f64 / events as f64,
        r.write_units / events as f64
    );
    println!(
        "{{\"impl\":\"foresight-dynamodb\",\"events\":{events},\"write_requests_per_event\":{:.3},\"wcu_per_event\":{:.3},\"account_item_json_bytes\":{item_size}}}",
        r.write_requests as f64 / events as f64,
        r.write_units / events as f64
    );
}
