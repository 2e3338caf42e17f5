//! Stripe ingest benchmark: CPU time per event (verify + parse + normalise) on a realistic
//! 5.5 KB `customer.subscription.updated`, against its floor (the HMAC-SHA256 of the signed
//! payload alone) and against the official stripe-node `constructEvent` (verify +
//! `JSON.parse`) timed in the same repetitions; then DynamoDB write requests and write capacity
//! units per event from `ReturnConsumedCapacity` against DynamoDB Local.
//!
//! Run: `bash infra/bench.sh` (installs stripe-node, starts the local stack, adds instruction
//! counts under callgrind), or `cargo bench -p foresight-shared --bench stripe_ingest` with the
//! local stack's environment and `tests/stripe-oracle` installed (`npm ci`). Timing method:
//! `benches/common/mod.rs`; `FORESIGHT_BENCH_REPS` sets the repetitions (7).
//!
//! `FORESIGHT_BENCH_CALLGRIND=<figure>` runs one figure `FORESIGHT_BENCH_CALLS` times (after
//! one warm-up call) and exits: `infra/bench-instructions.sh` runs it under callgrind with 1,000
//! calls and with none, and the difference is the figure's instructions (the binary is
//! stripped, so no function can be singled out by name).
//! Prints human lines and one JSON line per figure.

mod common;

use common::{line, max, median, min, print_machine, repetition, repetitions, Subject};
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::sources::skipping_json;
use foresight_shared::sources::stripe::{self, signature::compute_signature, signature::StripeSecrets};
use hmac::{Hmac, KeyInit, Mac};
use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const SECRET: &str = "whsec_bench_secret";
/// The sample's name without its sequence number (the samples are renumbered as events are added).
const SAMPLE: &str = "acme-004-customer-subscription-updated.json";

/// stripe-node's `constructEvent`, timed by `tests/stripe-oracle/bench.js --serve` in a warm
/// process that answers one repetition per request.
struct StripeNode {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl StripeNode {
    fn start(payload: &std::path::Path) -> StripeNode {
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/stripe-oracle/bench.js");
        let modules = script.with_file_name("node_modules/stripe");
        assert!(
            modules.is_dir(),
            "stripe-node is not installed in tests/stripe-oracle: run `bash infra/bench.sh` (or `npm ci` there)"
        );
        let mut child = Command::new("node")
            .arg(&script)
            .arg(payload)
            .arg(SECRET)
            .arg("--serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node (Node.js 18 or newer) runs the stripe-node baseline");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        StripeNode { child, input, output }
    }

    /// One repetition: stripe-node's median run, in ns per event, and its version.
    fn repetition(&mut self) -> (f64, String) {
        writeln!(self.input, "{{}}").expect("stripe-node baseline is running");
        let mut answer = String::new();
        self.output.read_line(&mut answer).expect("stripe-node answers");
        let answer: serde_json::Value = serde_json::from_str(&answer).expect("stripe-node answers JSON");
        (answer["median_ns"].as_f64().unwrap(), answer["version"].as_str().unwrap_or("?").to_owned())
    }
}

impl Drop for StripeNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn main() {
    let samples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe");
    let path = std::fs::read_dir(&samples)
        .expect("events/stripe")
        .map(|entry| entry.expect("a sample").path())
        .find(|path| path.file_name().is_some_and(|name| name.to_string_lossy().ends_with(SAMPLE)))
        .expect("the sample event");
    let body = std::fs::read(&path).expect("the sample event");
    let now = foresight_shared::runtime::clock::unix_now();
    let header = format!("t={now},v1={}", compute_signature(SECRET, now, &body));
    let webhook = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let secrets = StripeSecrets::new(SECRET, None);
    let signed: Vec<u8> = [format!("{now}.").as_bytes(), &body].concat();

    let (mut in_place, mut simd_buffers) = (body.clone(), simd_json::Buffers::new(body.len()));
    let mut subjects = vec![
        Subject::new("verify + parse + normalise", || {
            black_box(webhook.prepare(Some(black_box(&header)), black_box(&body), now).unwrap());
        }),
        Subject::new("HMAC-SHA256 of the signed payload (floor)", || {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
            mac.update(black_box(&signed));
            black_box(mac.finalize());
        }),
        Subject::new("verify", || {
            black_box(stripe::verify(Some(black_box(&header)), black_box(&body), &secrets, now, 300).unwrap());
        }),
        Subject::new("parse + normalise", || {
            black_box(stripe::parse_event(black_box(&body), "account_id").unwrap());
        }),
        Subject::new("typed parse alone (the Envelope, no normalising)", || {
            black_box(skipping_json::read::<stripe::event::Envelope>(black_box(&body)).unwrap());
        }),
        Subject::new("the same typed parse by serde_json", || {
            black_box(serde_json::from_slice::<stripe::event::Envelope>(black_box(&body)).unwrap());
        }),
        Subject::new("serde_json skim (IgnoredAny, no output)", || {
            black_box(serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body)).unwrap());
        }),
        // What the fastest parsers pay for these bytes: simdjson's two stages (a SIMD pass
        // finding every structural character, then a tape of every token), by its Rust port.
        // It parses in place, so each run copies the body first (~60 ns).
        Subject::new("simd-json tape (copy, SIMD index, every token)", || {
            in_place.copy_from_slice(black_box(&body));
            black_box(simd_json::to_tape_with_buffers(&mut in_place, &mut simd_buffers).unwrap());
        }),
    ];

    if let Ok(figure) = std::env::var("FORESIGHT_BENCH_CALLGRIND") {
        let index = subjects
            .iter()
            .position(|s| s.name == figure)
            .or_else(|| subjects.iter().position(|s| s.name.starts_with(&figure)));
        let subject = &mut subjects[index.expect("a figure name")];
        let calls: u32 = std::env::var("FORESIGHT_BENCH_CALLS").ok().and_then(|c| c.parse().ok()).unwrap_or(1000);
        for _ in 0..=calls {
            (subject.run)();
        }
        return;
    }

    print_machine();
    println!("payload: {SAMPLE} ({} bytes)", body.len());
    println!("simd-json implementation: {}", simd_json::Deserializer::algorithm());
    let mut node = StripeNode::start(&path);
    let reps = repetitions();
    let mut medians: Vec<Vec<f64>> = vec![Vec::new(); subjects.len()];
    let (mut node_medians, mut ratios, mut floor_ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut node_version = String::new();
    for rep in 1..=reps {
        let timings = repetition(&mut subjects);
        let (node_ns, version) = node.repetition();
        node_version = version;
        for (m, t) in medians.iter_mut().zip(&timings) {
            m.push(t.median);
        }
        let ours = timings[0].median;
        node_medians.push(node_ns);
        ratios.push(node_ns / ours);
        floor_ratios.push(ours / timings[1].median);
        println!(
            "repetition {rep}/{reps}: foresight {:.2} µs (min run {:.2}), stripe-node {:.2} µs: {:.2}x; {:.2}x the HMAC",
            ours / 1000.0,
            timings[0].min / 1000.0,
            node_ns / 1000.0,
            node_ns / ours,
            ours / timings[1].median
        );
    }
    println!("per event, over {reps} repetitions (each the median of {} short runs):", common::RUNS);
    for (s, m) in subjects.iter().zip(&medians) {
        println!("  {}", line(s.name, m, "ns"));
    }
    println!("  {}", line(&format!("stripe-node {node_version} constructEvent"), &node_medians, "ns"));
    println!(
        "ratio stripe-node / foresight, per repetition: median {:.2}x, min {:.2}x, max {:.2}x",
        median(&ratios),
        min(&ratios),
        max(&ratios)
    );
    println!(
        "foresight / HMAC alone, per repetition: median {:.2}x, min {:.2}x, max {:.2}x",
        median(&floor_ratios),
        min(&floor_ratios),
        max(&floor_ratios)
    );
    // What 4x stripe-node leaves for parse + normalise once the signature is verified, beside
    // what the fastest parser takes just to read the bytes.
    let budget = median(&node_medians) / 4.0 - median(&medians[2]);
    println!(
        "4x stripe-node leaves {budget:.0} ns for parse + normalise after verify; it takes {:.0} ns; \
         simd-json's tape of the same bytes alone {:.0} ns",
        median(&medians[3]),
        median(&medians[7])
    );
    println!(
        "{{\"impl\":\"foresight\",\"payload_bytes\":{},\"repetitions\":{reps},\"ns_per_event_median\":{:.0},\"ns_per_event_min\":{:.0},\"hmac_ns_median\":{:.0},\"verify_ns_median\":{:.0},\"parse_normalise_ns_median\":{:.0},\"stripe_node_ns_median\":{:.0},\"ratio_median\":{:.2},\"ratio_min\":{:.2},\"ratio_max\":{:.2}}}",
        body.len(),
        median(&medians[0]),
        min(&medians[0]),
        median(&medians[1]),
        median(&medians[2]),
        median(&medians[3]),
        median(&node_medians),
        median(&ratios),
        min(&ratios),
        max(&ratios)
    );
    drop(node);

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
