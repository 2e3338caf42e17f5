//! `GET /kpis` for a month over 10,000 accounts with a year of history, against DynamoDB Local:
//! the reads it costs (requests, items, RCU from `ReturnConsumedCapacity`) and the time, with
//! the same use case the runner's route calls. The portfolio is loaded through the real write
//! path (the account's MRR points, then the ledger refresh the Stripe webhook runs).
//!
//! `cargo bench -p foresight-shared --bench kpis` (in `infra/bench.sh`; needs the local stack).

use foresight_shared::app::kpis::{self, KpiPorts};
use foresight_shared::app::ports::portfolio::MrrLedger;
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::change::{AccountChange, GuardedGroup};
use foresight_shared::domain::kpi::{card_attr, Month};
use foresight_shared::domain::time;
use foresight_shared::domain::version::EventVersion;
use foresight_shared::testkit::dynamodb_local_store;
use futures::stream::{self, StreamExt};
use serde_json::json;
use std::time::Instant;

const ACCOUNTS: usize = 10_000;
const RUNS: usize = 5;

/// Account `i`: new in one of the 12 months before November 2026, then (by its number) an
/// expansion, a contraction, a churn, a reactivation; 90% USD, 8% EUR, 2% GBP (no rate).
fn account(i: usize) -> AccountChange {
    let id = format!("acct_{i:05}");
    let start = Month::parse("2025-11").unwrap().plus((i % 12) as i32).start() + (i % 27) as i64 * 86_400;
    let currency = match i % 50 {
        0 => "gbp",
        1..=4 => "eur",
        _ => "usd",
    };
    let base = 5_000 + (i % 40) as i64 * 1_000;
    let mut points = vec![(start, base)];
    let mut at = start + 40 * 86_400;
    let mut mrr = base;
    for (every, change) in [(3, 3_000), (10, -2_000), (12, -1), (40, base)] {
        if i.is_multiple_of(every) && at < time::parse("2026-11-01T00:00:00Z").unwrap() {
            mrr = if change == -1 { 0 } else { (mrr + change).max(0) };
            points.push((at, mrr));
            at += 45 * 86_400;
        }
    }
    let (last_at, last) = *points.last().unwrap();
    let version = EventVersion::new(last_at, &format!("evt_{i}_{last_at}"));
    let status = if last > 0 { "active" } else { "canceled" };
    let state = json!({"id": format!("sub_{i}"), "status": status, "mrr": last, "currency": currency, "quantity": 1,
                       "interval": "month", "started_at": start});
    let mut change =
        AccountChange::new(id.clone()).with_guarded(GuardedGroup::new(format!("sub#sub_{i}"), version, state));
    for (at, mrr) in points {
        change =
            change.with_fact(format!("mrr#sub_{i}#{}", EventVersion::new(at, &format!("evt_{i}_{at}"))), json!(mrr));
    }
    // The health sweep's part of the card.
    let band = ["green", "green", "yellow", "red"][i % 4];
    change
        .with_fact(card_attr::KEY, json!(card_attr::CARD))
        .with_fact(card_attr::BAND, json!(band))
        .with_fact(card_attr::SCORE, json!(30 + (i % 70) as i64))
        .with_fact("customer", json!({"name": format!("Account {i}"), "v": "000000000001#evt_c"}))
}

#[tokio::main]
async fn main() {
    let store = dynamodb_local_store("bench-kpis").await;
    let started = Instant::now();
    stream::iter(0..ACCOUNTS)
        .for_each_concurrent(16, |i| {
            let store = &store;
            async move {
                let change = account(i);
                store.apply(&change).await.expect("apply");
                store.refresh(&change.account_id).await.expect("refresh");
            }
        })
        .await;
    let loaded = started.elapsed();
    let settings = Settings::parse("[portfolio]\ncurrency = \"usd\"\nrates = { eur = 1.08 }\n", "bench").unwrap();
    let ports = KpiPorts { ledger: &store, cards: &store };
    let month = Month::parse("2026-10").unwrap();
    let now = time::parse("2026-11-05T00:00:00Z").unwrap();
    let meter = store.meter();
    let mut times = Vec::new();
    let mut per_run = None;
    let mut last = None;
    for _ in 0..RUNS {
        let before = meter.reading();
        let t = Instant::now();
        let k = kpis::month_kpis(&ports, &settings, month, now, false).await.expect("kpis");
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        let after = meter.reading();
        per_run = Some((
            after.read_requests - before.read_requests,
            after.read_items - before.read_items,
            after.read_units - before.read_units,
        ));
        last = Some(k);
    }
    times.sort_by(f64::total_cmp);
    let (requests, items, units) = per_run.unwrap();
    let k = last.unwrap();
    println!(
        "KPIs of 2026-10 over {ACCOUNTS} accounts with a year of history (loaded in {:.0} s), DynamoDB Local:",
        loaded.as_secs_f64()
    );
    println!(
        "  per GET /kpis: {requests} read requests, {items} items, {units:.1} RCU; median {:.0} ms (min {:.0}, max {:.0}) over {RUNS} runs",
        times[RUNS / 2],
        times[0],
        times[RUNS - 1]
    );
    println!(
        "  MRR {} -> {}, customers {} -> {}, excluded {}",
        k.mrr.start,
        k.mrr.end,
        k.customers.start,
        k.customers.end,
        k.excluded.len()
    );
    println!(
        "{}",
        json!({"bench": "kpis", "accounts": ACCOUNTS, "read_requests": requests, "items": items, "rcu": units,
               "median_ms": times[RUNS / 2]})
    );
}
