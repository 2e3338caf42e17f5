//! Health sweep figures for the issue notes (`bash infra/bench.sh`, release build):
//! 1. pure scoring throughput on one core: accounts per second for the whole per-account work of
//!    a sweep without I/O (record from the stored item, score, history change, signals), and for
//!    the score alone;
//! 2. against DynamoDB Local, a sweep in steady state (the second day, health and history stored):
//!    read capacity per 1,000 accounts against the floor of an eventually consistent scan (total
//!    item KB / 8), and the average size of the account item and of all an account's items.

use foresight_shared::adapters::memory::MemoryOutbox;
use foresight_shared::adapters::memory::MemoryQueue;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::health_sweep::{self, SweepPorts};
use foresight_shared::app::ports::store::AccountLister;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::alert::{self, SweepContext};
use foresight_shared::domain::health;
use foresight_shared::testkit::{load_synthetic, CountingScanner};
use std::hint::black_box;
use std::time::Instant;

const NOW: i64 = 1_794_830_400; // 2026-11-16T12:00:00Z
const DAY: i64 = 86_400;
const SCORED_ACCOUNTS: usize = 10_000;
const SWEPT_ACCOUNTS: usize = 2_000;
const SEGMENTS: u32 = 4;

fn per_second(rounds: usize, n: usize, mut work: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let start = Instant::now();
        work();
        best = best.min(start.elapsed().as_secs_f64());
    }
    n as f64 / best
}

fn pure_scoring(runtime: &tokio::runtime::Runtime, settings: &Settings) {
    // Stored accounts as a sweep reads them on its second day: health and history on the item.
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let stored = runtime.block_on(async {
        load_synthetic(&store, 0..SCORED_ACCOUNTS, NOW).await;
        let ports = SweepPorts {
            scanner: &store,
            accounts: &store,
            usage: &store,
            outbox: &outbox,
            notifications: &queue,
            progress: &outbox,
            sources: &store,
        };
        health_sweep::run(&ports, settings, "bench-day-0", NOW - DAY, SEGMENTS).await.expect("swept");
        store.list().await.expect("listed")
    });
    let full = per_second(5, stored.len(), || {
        for s in &stored {
            let record = settings.record(s, NOW);
            let scored = health_sweep::score_account(&record, &health_sweep::history(s), settings, NOW);
            let ctx = SweepContext { scored: &scored.score, previous_band: None, change_7d: scored.change_7d };
            black_box(alert::sweep_signals(&record, &ctx, &settings.alerts, NOW));
            black_box(scored.change);
        }
    });
    let records: Vec<_> = stored.iter().map(|s| settings.record(s, NOW)).collect();
    let score_only = per_second(5, records.len(), || {
        for r in &records {
            black_box(health::score(r, &settings.health, NOW));
        }
    });
    println!(
        "pure scoring, one core, {} accounts: {full:.0} accounts/s for the whole per-account sweep work \
         (record, score, history, signals); {score_only:.0} accounts/s for the score alone",
        stored.len()
    );
    println!(
        "{{\"impl\":\"foresight-health-scoring\",\"accounts_per_second\":{full:.0},\"score_only_per_second\":{score_only:.0}}}"
    );
}

async fn dynamodb_sweep(settings: &Settings) {
    let store = foresight_shared::testkit::dynamodb_local_store("bench-sweep").await;
    load_synthetic(&store, 0..SWEPT_ACCOUNTS, NOW).await;
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let first = SweepPorts {
        scanner: &store,
        accounts: &store,
        usage: &store,
        outbox: &outbox,
        notifications: &queue,
        progress: &outbox,
        sources: &store,
    };
    health_sweep::run(&first, settings, "bench-day-0", NOW, SEGMENTS).await.expect("first sweep");

    let counting = CountingScanner::new(&store);
    let ports = SweepPorts { scanner: &counting, ..first };
    let meter = store.meter();
    let before = meter.reading();
    let summary = health_sweep::run(&ports, settings, "bench-day-1", NOW + DAY, SEGMENTS).await.expect("second sweep");
    let rcu = meter.reading().read_units - before.read_units;
    let (items, bytes) = counting.items_and_bytes();
    let floor = bytes as f64 / 1024.0 / 8.0;
    let per_1000 = rcu * 1000.0 / summary.scored as f64;

    // The account items alone, as stored after the sweep (health, breakdown and history on them).
    let client = foresight_shared::testkit::dynamodb_local_client().await;
    let (mut account_items, mut account_bytes, mut start) = (0u64, 0u64, None);
    loop {
        let out = client.scan().table_name(store.table()).set_exclusive_start_key(start).send().await.expect("scan");
        for item in out.items() {
            if item.get("sk").and_then(|v| v.as_s().ok()).is_some_and(|sk| sk == "ACCOUNT") {
                account_items += 1;
                account_bytes += foresight_shared::adapters::dynamodb::store::item_size(item);
            }
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let account_avg = account_bytes as f64 / account_items as f64;
    let all_avg = bytes as f64 / summary.scored as f64;
    println!(
        "DynamoDB Local, second-day sweep of {} accounts in {SEGMENTS} segments: {items} items, {:.0} KB read, \
         {rcu:.1} RCU (floor {floor:.1}, {:+.2}%), {per_1000:.2} RCU per 1000 accounts; average account item \
         {account_avg:.0} bytes, all items of an account {all_avg:.0} bytes",
        summary.scored,
        bytes as f64 / 1024.0,
        (rcu / floor - 1.0) * 100.0
    );
    println!(
        "{{\"impl\":\"foresight-health-sweep\",\"accounts\":{},\"rcu_per_1000_accounts\":{per_1000:.2},\"rcu_over_floor\":{:.4},\"account_item_bytes\":{account_avg:.0},\"account_all_items_bytes\":{all_avg:.0}}}",
        summary.scored,
        rcu / floor
    );
}

fn main() {
    let settings = Settings::default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    pure_scoring(&runtime, &settings);
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        eprintln!("the sweep figures need DynamoDB Local: run `bash infra/bench.sh`, which starts it.");
        std::process::exit(1);
    }
    runtime.block_on(dynamodb_sweep(&settings));
}
