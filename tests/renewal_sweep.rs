//! The renewal sweep against DynamoDB Local: 10,000 accounts written as the webhooks write
//! them, indexed by the health sweep (the production path that keeps the `renewals` index), then
//! a renewal sweep that reads only the accounts inside its windows' days (index entries and one
//! `GetItem` each, counted by the store's meter), raises one alert per account, window and
//! renewal date, and at the same `now` a second time raises, enqueues and writes nothing.

use foresight_shared::adapters::dynamodb::DynamoStore;
use foresight_shared::adapters::memory::MemoryOutbox;
use foresight_shared::adapters::memory::MemoryQueue;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::health_sweep::{self, SweepPorts};
use foresight_shared::app::ports::outbox::Outbox;
use foresight_shared::app::ports::store::{AccountStore, RenewalIndex};
use foresight_shared::app::renewal_sweep::{self, RenewalPorts};
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::alert::Severity;
use foresight_shared::domain::renewal::index_ranges;
use foresight_shared::domain::AccountChange;
use foresight_shared::testkit::{dynamodb_local_outbox, dynamodb_local_store, load_synthetic, synthetic_account};
use serde_json::json;
use std::collections::BTreeSet;

const ACCOUNTS: usize = 10_000;
/// 2026-11-09T12:00:00Z
const NOW: i64 = 1_794_225_600;
const DAY: i64 = 86_400;

/// `synthetic_account(i, now)` renews at `now + ((i % 300) + 5)` days.
fn renewal_of(i: usize) -> i64 {
    NOW + ((i as i64 % 300) + 5) * DAY
}

async fn load(store: &DynamoStore) {
    load_synthetic(store, 0..ACCOUNTS, NOW).await;
}

#[tokio::test]
async fn ten_thousand_accounts_read_only_inside_the_windows_and_alerted_once() {
    let store = dynamodb_local_store("renewal-sweep").await;
    let outbox = dynamodb_local_outbox("renewal-sweep-outbox").await;
    let queue = MemoryQueue::new();
    let settings = Settings::default();
    load(&store).await;
    assert!(store.renewing_between(NOW, NOW + 400 * DAY).await.unwrap().is_empty(), "ingest writes no index");

    // The health sweep (daily, every account) writes each account's renewal index keys in the
    // one write it makes anyway.
    let health = SweepPorts {
        scanner: &store,
        accounts: &store,
        usage: &store,
        outbox: &outbox,
        notifications: &queue,
        progress: &outbox,
        sources: &store,
    };
    let swept = health_sweep::run(&health, &settings, "health", NOW, 4).await.unwrap();
    assert_eq!(swept.scored, ACCOUNTS);
    let indexed = store.renewing_between(NOW, NOW + 400 * DAY).await.unwrap();
    assert_eq!(indexed.len(), ACCOUNTS, "every account with a renewal date is indexed");

    let ranges = index_ranges(&settings.renewal, NOW);
    let in_windows: BTreeSet<String> = (0..ACCOUNTS)
        .filter(|i| ranges.iter().any(|r| (r.from..r.to).contains(&renewal_of(*i))))
        .map(|i| format!("acct_{i:05}"))
        .collect();
    let expected = in_windows.len();
    let outbox_before = outbox.entries().await.unwrap().len();
    let queued_before = queue.messages().len();

    let ports = RenewalPorts { index: &store, accounts: &store, outbox: &outbox, notifications: &queue };
    let meter = store.meter();
    let before = meter.reading();
    let summary = renewal_sweep::run(&ports, &settings, NOW).await.unwrap();
    let after = meter.reading();
    let items_read = after.read_items - before.read_items;
    let indexed_in_windows: usize = summary.windows.iter().map(|w| w.accounts).sum();
    println!(
        "renewal sweep of {ACCOUNTS} accounts: {indexed_in_windows} index entries + {} account items = {items_read} \
         items read in {} requests, {:.1} RCU; {} alerts ({} at risk)",
        summary.read,
        after.read_requests - before.read_requests,
        after.read_units - before.read_units,
        summary.alerts.len(),
        summary.at_risk
    );
    assert_eq!(indexed_in_windows, expected, "the index named exactly the accounts of the window days");
    assert_eq!(summary.read, expected, "one GetItem per account found");
    assert_eq!(items_read as usize, 2 * expected, "index entries plus account items, nothing else");
    assert!(expected > 0 && expected * 20 < ACCOUNTS, "{expected} accounts in the windows");

    // One alert per account, window and renewal date, each recorded and enqueued once.
    let keys: BTreeSet<String> = in_windows
        .iter()
        .map(|id| {
            let i: usize = id["acct_".len()..].parse().unwrap();
            let days = (renewal_of(i) - NOW) / DAY;
            let window = settings.renewal.windows.iter().copied().filter(|w| days <= *w).min().unwrap();
            let date = foresight_shared::domain::time::rfc3339(renewal_of(i))[..10].to_owned();
            format!("{id}/renewal/{window}d/{date}")
        })
        .collect();
    assert_eq!(summary.alerts.iter().cloned().collect::<BTreeSet<_>>(), keys);
    let entries = outbox.entries().await.unwrap();
    assert_eq!(entries.len() - outbox_before, expected);
    let renewals: Vec<_> = entries.iter().filter(|e| e.alert.kind.as_str() == "renewal").collect();
    assert_eq!(renewals.len(), expected);
    assert_eq!(queue.messages().len() - queued_before, expected);
    // Past-due accounts (every 50th) renew at risk: escalated, and the headline says so.
    for e in &renewals {
        let i: usize = e.alert.account_id["acct_".len()..].parse().unwrap();
        if i.is_multiple_of(50) {
            assert_eq!(e.alert.severity, Severity::Risk, "{}", e.alert.headline);
            assert!(e.alert.headline.contains("payment failed") && e.alert.headline.contains("at risk"));
        }
        assert_eq!(e.alert.raised_by, "renewal-sweep");
    }

    // The same `now` again (a retried scheduled run): reads again, raises and writes nothing.
    let writes = meter.reading().write_requests;
    let again = renewal_sweep::run(&ports, &settings, NOW).await.unwrap();
    assert!(again.alerts.is_empty(), "{:?}", again.alerts);
    assert_eq!(meter.reading().write_requests, writes, "no write");
    assert_eq!(outbox.entries().await.unwrap().len(), entries.len(), "no new notification");
    assert_eq!(queue.messages().len() - queued_before, expected, "no new message");

    // And the health sweep keeps the renewal marks (the date is ahead), so the next day's
    // renewal sweep, whose catch-up re-reads some of these accounts, raises none of them again.
    health_sweep::run(&health, &settings, "health-2", NOW + DAY, 4).await.unwrap();
    let next = renewal_sweep::run(&ports, &settings, NOW + DAY).await.unwrap();
    assert!(next.alerts.iter().all(|k| !keys.contains(k)), "an alert was raised twice");
    assert!(!next.alerts.is_empty(), "the next day's accounts cross their windows");
}

#[tokio::test]
async fn a_stale_index_entry_costs_a_read_and_never_a_wrong_alert() {
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let settings = Settings::default();
    let (change, _) = synthetic_account(55, NOW); // renews in 60 days
    store.apply(&change).await.unwrap();
    let health = SweepPorts {
        scanner: &store,
        accounts: &store,
        usage: &store,
        outbox: &outbox,
        notifications: &queue,
        progress: &outbox,
        sources: &store,
    };
    health_sweep::run(&health, &settings, "health", NOW, 1).await.unwrap();
    assert_eq!(store.renewing_between(NOW + 60 * DAY, NOW + 61 * DAY).await.unwrap(), ["acct_00055"]);

    // The renewal moves to 200 days away (a blind ingest write); the index still says 60.
    let moved = AccountChange::new("acct_00055").with_guarded(foresight_shared::domain::GuardedGroup::new(
        "sub#sub_00055",
        foresight_shared::domain::EventVersion::new(NOW - DAY, "evt_moved"),
        json!({"id": "sub_00055", "status": "active", "mrr": 10_000, "quantity": 10, "currency": "usd",
               "interval": "year", "renewal_at": NOW + 200 * DAY, "started_at": NOW - 200 * DAY}),
    ));
    store.apply(&moved).await.unwrap();
    let ports = RenewalPorts { index: &store, accounts: &store, outbox: &outbox, notifications: &queue };
    let summary = renewal_sweep::run(&ports, &settings, NOW).await.unwrap();
    assert_eq!(summary.read, 1, "the stale entry is read");
    assert!(summary.alerts.is_empty(), "and the current date decides: no alert");
    // The next health sweep moves the entry; canceled, it leaves the index.
    health_sweep::run(&health, &settings, "health-2", NOW + DAY, 1).await.unwrap();
    assert!(store.renewing_between(NOW, NOW + 100 * DAY).await.unwrap().is_empty());
    assert_eq!(store.renewing_between(NOW + 199 * DAY, NOW + 201 * DAY).await.unwrap(), ["acct_00055"]);
    let canceled = AccountChange::new("acct_00055").with_guarded(foresight_shared::domain::GuardedGroup::new(
        "sub#sub_00055",
        foresight_shared::domain::EventVersion::new(NOW, "evt_canceled"),
        json!({"id": "sub_00055", "status": "canceled", "mrr": 0, "quantity": 10, "currency": "usd"}),
    ));
    store.apply(&canceled).await.unwrap();
    health_sweep::run(&health, &settings, "health-3", NOW + 2 * DAY, 1).await.unwrap();
    assert!(store.renewing_between(NOW, NOW + 400 * DAY).await.unwrap().is_empty(), "no live subscription: no entry");
}

/// `POST /sweeps/renewal?now=` in the runner runs the same sweep: after a health sweep has
/// written the index, it raises the renewal alerts once, keeps them in `GET /outbox`, and a
/// bad `now` is a 400 naming it.
#[tokio::test]
async fn the_runner_route_runs_the_renewal_sweep_once() {
    let store = std::sync::Arc::new(MemoryStore::new());
    load_synthetic(store.as_ref(), 0..300, NOW).await;
    let runner = foresight_e2e::start(store, Some(foresight_e2e::SECRET)).await;
    let at = "2026-11-09T12:00:00Z";
    let post = |route: &str, now: &str| runner.client.post(format!("{}/sweeps/{route}?now={now}", runner.url)).send();
    assert_eq!(post("health", at).await.unwrap().status(), 200);
    let first: serde_json::Value = post("renewal", at).await.unwrap().json().await.unwrap();
    let alerts: Vec<&str> = first["summary"]["alerts"].as_array().unwrap().iter().filter_map(|k| k.as_str()).collect();
    let sixty = format!("acct_00055/renewal/60d/{}", foresight_shared::domain::time::day_key(renewal_of(55)));
    assert!(alerts.contains(&sixty.as_str()), "{first}");
    assert!(alerts.iter().all(|k| k.contains("/renewal/")), "{first}");
    let again: serde_json::Value = post("renewal", at).await.unwrap().json().await.unwrap();
    assert_eq!(again["summary"]["alerts"], json!([]), "{again}");
    let outbox: serde_json::Value =
        runner.client.get(format!("{}/outbox", runner.url)).send().await.unwrap().json().await.unwrap();
    let keys: Vec<&str> =
        outbox["notifications"].as_array().unwrap().iter().filter_map(|n| n["dedupe_key"].as_str()).collect();
    assert!(keys.contains(&sixty.as_str()));
    assert_eq!(keys.iter().filter(|k| k.contains("/renewal/")).count(), alerts.len());
    let bad = post("renewal", "yesterday").await.unwrap();
    assert_eq!(bad.status(), 400);
}
