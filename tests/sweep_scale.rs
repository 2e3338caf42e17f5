//! The health sweep at scale, against DynamoDB Local and the SQS emulator (moto): 10,000
//! accounts swept in 4 parallel-scan segments read each account exactly once, at the physical
//! floor of read capacity; a worker killed mid-segment and run again raises no alert twice; the
//! planner's tasks go through SQS, and a redelivered task is a no-op; enqueued alerts carry
//! their dedupe key; later sweeps write only the accounts whose health changed (none an hour
//! later, the touched 5% after events, each account once on the next day).

use async_trait::async_trait;
use foresight_shared::adapters::dynamodb::DynamoOutbox;
use foresight_shared::adapters::dynamodb::DynamoStore;
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::health_sweep::{self, SegmentOutcome, SweepPorts};
use foresight_shared::app::ports::outbox::Outbox;
use foresight_shared::app::ports::portfolio::PortfolioCards;
use foresight_shared::app::ports::store::{AccountStore, ApplyOutcome, StoreError};
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::kpi::AccountCard;
use foresight_shared::domain::AccountChange;
use foresight_shared::testkit::{
    dynamodb_local_outbox, dynamodb_local_store, load_synthetic, sqs_drain, sqs_local_client, sqs_local_queue,
    CountingScanner,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

const ACCOUNTS: usize = 10_000;
const SEGMENTS: u32 = 4;
/// 2026-11-09T12:00:00Z
const NOW: i64 = 1_794_225_600;
const DAY: i64 = 86_400;

/// An account store that fails every write after the first `writes_left`: a worker killed in
/// the middle of its segment (after raising an account's alert, before writing its score).
struct DyingStore<'a> {
    inner: &'a DynamoStore,
    writes_left: AtomicUsize,
}

#[async_trait]
impl AccountStore for DyingStore<'_> {
    async fn apply(&self, change: &AccountChange) -> Result<ApplyOutcome, StoreError> {
        if self.writes_left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_err() {
            return Err(StoreError::Corrupt { key: change.account_id.clone(), reason: "worker killed".into() });
        }
        self.inner.apply(change).await
    }
    async fn get(&self, id: &str) -> Result<Option<foresight_shared::domain::account::StoredAccount>, StoreError> {
        self.inner.get(id).await
    }
    async fn merge(&self, from: &str, into: &str) -> Result<bool, StoreError> {
        self.inner.merge(from, into).await
    }
}

async fn load_portfolio(store: &DynamoStore, accounts: usize) {
    load_synthetic(store, 0..accounts, NOW).await;
}

struct Stack {
    store: DynamoStore,
    outbox: DynamoOutbox,
    notifications: SqsQueue,
    notifications_url: String,
}

async fn stack(name: &str) -> Stack {
    let notifications_url = sqs_local_queue(&format!("{name}-notifications"), true).await;
    Stack {
        store: dynamodb_local_store(name).await,
        outbox: dynamodb_local_outbox(&format!("{name}-outbox")).await,
        notifications: SqsQueue::new(sqs_local_client().await, notifications_url.clone()),
        notifications_url,
    }
}

fn count_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for k in keys {
        *counts.entry(k.to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test]
async fn ten_thousand_accounts_in_four_segments_read_once_at_the_capacity_floor() {
    let s = stack("sweep-scale").await;
    load_portfolio(&s.store, ACCOUNTS).await;
    let settings = Settings::default();
    let scanner = CountingScanner::new(&s.store);
    let ports = SweepPorts {
        scanner: &scanner,
        accounts: &s.store,
        usage: &s.store,
        outbox: &s.outbox,
        notifications: &s.notifications,
        progress: &s.outbox,
        sources: &s.store,
    };
    let meter = s.store.meter();
    let before = meter.reading();
    let tasks = health_sweep::plan("scale", NOW, SEGMENTS);
    let outcomes = futures::future::join_all(
        tasks.iter().map(|task| health_sweep::run_segment(task, &ports, &settings, None, &|| true, None)),
    )
    .await;
    let read = meter.reading();
    let mut scored = 0;
    for outcome in outcomes {
        match outcome.expect("segment swept") {
            SegmentOutcome::Done(progress) => scored += progress.accounts,
            other => panic!("segment not finished: {other:?}"),
        }
    }
    assert_eq!(scored as usize, ACCOUNTS);
    let reads = scanner.reads();
    assert_eq!(reads.len(), ACCOUNTS, "every account read");
    assert!(reads.values().all(|n| *n == 1), "an account was read twice");

    // Read capacity against the physical floor: an eventually consistent scan costs 0.5 RCU per
    // 4 KB, so reading every item once costs at least total KB / 8.
    let (items, bytes) = scanner.items_and_bytes();
    let bytes = bytes as f64;
    let rcu = read.read_units - before.read_units;
    let floor = bytes / 1024.0 / 8.0;
    println!(
        "sweep of {ACCOUNTS} accounts in {SEGMENTS} segments: {items} items, {:.0} KB, {rcu:.1} RCU \
         (floor {floor:.1}), {:.2} RCU per 1000 accounts, {} read requests",
        bytes / 1024.0,
        rcu * 1000.0 / ACCOUNTS as f64,
        read.read_requests - before.read_requests
    );
    assert!(rcu >= floor * 0.95 && rcu <= floor * 1.05, "{rcu} RCU against a floor of {floor}");

    // Every 50th account is past due: one alert each, recorded once and enqueued with its key.
    let entries = s.outbox.entries().await.unwrap();
    let other: Vec<_> = entries
        .iter()
        .filter(|e| e.alert.kind.as_str() != "payment_failed")
        .map(|e| (&e.dedupe_key, &e.alert.headline))
        .collect();
    assert_eq!(entries.len(), ACCOUNTS / 50, "{:?}", other.iter().take(5).collect::<Vec<_>>());
    assert!(entries.iter().all(|e| e.alert.kind.as_str() == "payment_failed" && e.status.as_str() == "pending"));
    let messages = sqs_drain(&s.notifications_url).await;
    assert_eq!(messages.len(), ACCOUNTS / 50);
    for m in &messages {
        let key = m.message_attributes().and_then(|a| a.get("dedupe_key")).and_then(|v| v.string_value());
        let body: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
        assert_eq!(key, body["dedupe_key"].as_str(), "the message carries its dedupe key");
    }

    // Hourly sweeps write only what changed. An hour later nothing has: every account is read
    // (at the same floor) and none is written.
    let later = sweep_at(&s, "scale-h1", NOW + 3_600).await;
    println!("an hour later, nothing changed: {later:?}");
    assert_eq!(later.writes, 0, "an unchanged portfolio is only read");
    later.assert_at_floor();
    // 5% of the accounts get an event that moves their health (a failed payment): those only.
    let touched: Vec<usize> = (0..ACCOUNTS).filter(|i| i % 20 == 1).collect();
    for i in &touched {
        let fact = serde_json::json!({"at": NOW + 1_800, "amount": 5_000});
        s.store
            .apply(&AccountChange::new(format!("acct_{i:05}")).with_fact(format!("pf#in_t{i}#evt_t{i}"), fact))
            .await
            .unwrap();
    }
    let cards_before = cards(&s.store).await;
    let after_events = sweep_at(&s, "scale-h2", NOW + 2 * 3_600).await;
    println!("after events on {} accounts: {after_events:?}", touched.len());
    assert_eq!(after_events.writes as usize, touched.len(), "the accounts whose health changed, once each");
    // Each of those writes changed the account's card, so DynamoDB also rewrote the card in the
    // `portfolio` index: 1 WCU more (DynamoDB Local bills it too), 3 WCU such a write in all,
    // the figure `foresight cost` bills a later hour's write at.
    let cards_after_events = cards(&s.store).await;
    let changed_cards = changed(&cards_before, &cards_after_events);
    println!(
        "cards changed by that sweep: {changed_cards} of {} writes; WCU per account write: {:.2}",
        after_events.writes,
        after_events.write_units / after_events.writes as f64
    );
    assert_eq!(changed_cards, touched.len(), "a write that moves health moves the card");
    // The first sweep of the next day writes each account once: its history point.
    let next_day = sweep_at(&s, "scale-d2", NOW + DAY).await;
    println!("first sweep of the next day: {next_day:?}");
    assert_eq!(next_day.writes as usize, ACCOUNTS, "each account once: the day's history point");
    let changed_cards = changed(&cards_after_events, &cards(&s.store).await);
    println!("cards changed by the next day's first sweep: {changed_cards} of {} writes", next_day.writes);
    // The figure `foresight cost` bills a day's first write of an account at: 2 WCU for the
    // item (over 1 KB), 1 more for each card that changed.
    let per_write = next_day.write_units / next_day.writes as f64;
    println!("WCU per account write: {per_write:.2}");
    let expected = 2.0 + changed_cards as f64 / ACCOUNTS as f64;
    assert!((per_write - expected).abs() < 0.005, "{per_write} WCU a write, {expected} expected");
}

/// Each account's portfolio card, by account id (what the `portfolio` index holds of it).
async fn cards(store: &DynamoStore) -> BTreeMap<String, AccountCard> {
    let cards = store.cards().await.expect("cards read");
    assert_eq!(cards.len(), ACCOUNTS, "every scored account has a card");
    cards.into_iter().map(|c| (c.account_id.clone(), c)).collect()
}

/// How many cards differ between two readings.
fn changed(before: &BTreeMap<String, AccountCard>, after: &BTreeMap<String, AccountCard>) -> usize {
    after.iter().filter(|(id, card)| before.get(*id) != Some(*card)).count()
}

/// What one sweep of the whole table cost.
#[derive(Debug)]
struct SweepCost {
    writes: u64,
    write_units: f64,
    read_units: f64,
    /// The read floor: the bytes read at 0.5 RCU per 4 KB.
    floor: f64,
}

impl SweepCost {
    fn assert_at_floor(&self) {
        assert!(self.read_units <= self.floor * 1.05, "{} RCU against a floor of {}", self.read_units, self.floor);
    }
}

/// Sweeps every segment at `now` and meters the account table.
async fn sweep_at(s: &Stack, name: &str, now: i64) -> SweepCost {
    let scanner = CountingScanner::new(&s.store);
    let ports = SweepPorts {
        scanner: &scanner,
        accounts: &s.store,
        usage: &s.store,
        outbox: &s.outbox,
        notifications: &s.notifications,
        progress: &s.outbox,
        sources: &s.store,
    };
    let settings = Settings::default();
    let before = s.store.meter().reading();
    let tasks = health_sweep::plan(name, now, SEGMENTS);
    // Pages of 1,000 items (~400 KB): DynamoDB Local on a busy machine can take longer than the
    // SDK's 12 s operation timeout to return a full 1 MB page.
    let outcomes = futures::future::join_all(
        tasks.iter().map(|task| health_sweep::run_segment(task, &ports, &settings, Some(1_000), &|| true, None)),
    )
    .await;
    for outcome in outcomes {
        assert!(matches!(outcome.expect("segment swept"), SegmentOutcome::Done(_)));
    }
    let after = s.store.meter().reading();
    let (_, bytes) = scanner.items_and_bytes();
    SweepCost {
        writes: after.write_requests - before.write_requests,
        write_units: after.write_units - before.write_units,
        read_units: after.read_units - before.read_units,
        floor: bytes as f64 / 1024.0 / 8.0,
    }
}

#[tokio::test]
async fn a_worker_killed_mid_segment_resumes_without_raising_an_alert_twice() {
    let s = stack("sweep-kill").await;
    load_portfolio(&s.store, 600).await;
    let settings = Settings::default();
    let task = &health_sweep::plan("kill", NOW, 1)[0];
    let scanner = CountingScanner::new(&s.store);
    // Killed after 100 accounts: the 101st (acct_00100 sorts anywhere in hash order; at least
    // the alerting accounts before it have raised) dies between its alert and its score write.
    let dying = DyingStore { inner: &s.store, writes_left: AtomicUsize::new(100) };
    let killed = SweepPorts {
        scanner: &scanner,
        accounts: &dying,
        usage: &s.store,
        outbox: &s.outbox,
        notifications: &s.notifications,
        progress: &s.outbox,
        sources: &s.store,
    };
    let first = health_sweep::run_segment(task, &killed, &settings, Some(40), &|| true, None).await;
    assert!(first.is_err(), "the worker died");
    let resumed_ports = SweepPorts {
        scanner: &scanner,
        accounts: &s.store,
        usage: &s.store,
        outbox: &s.outbox,
        notifications: &s.notifications,
        progress: &s.outbox,
        sources: &s.store,
    };
    let outcome = health_sweep::run_segment(task, &resumed_ports, &settings, Some(40), &|| true, None).await.unwrap();
    let SegmentOutcome::Done(progress) = outcome else { panic!("not finished: {outcome:?}") };
    let reads = scanner.reads();
    assert_eq!(reads.len(), 600, "every account swept");
    // Only the page in flight when the worker died is read again.
    let twice = reads.values().filter(|n| **n > 1).count();
    assert!(twice <= 40 + 1, "{twice} accounts read twice");
    assert!(progress.accounts >= 600 - 100, "{progress:?}");

    let entries = s.outbox.entries().await.unwrap();
    assert_eq!(entries.len(), 600 / 50, "one outbox record per alerting account");
    let messages = sqs_drain(&s.notifications_url).await;
    let keys = count_keys(messages.iter().filter_map(|m| m.message_attributes()?.get("dedupe_key")?.string_value()));
    assert_eq!(keys.len(), 600 / 50);
    assert!(keys.values().all(|n| *n == 1), "an alert was enqueued twice: {keys:?}");
    for n in 0..12 {
        let account = s.store.get(&format!("acct_{:05}", n * 50)).await.unwrap().unwrap();
        assert!(account.attributes.keys().any(|k| k.starts_with("al#payment_failed/")), "the raised key is kept");
        assert!(account.attributes.contains_key("health"));
    }
}

#[tokio::test]
async fn planner_tasks_go_through_sqs_and_a_redelivered_task_is_a_no_op() {
    let s = stack("sweep-sqs").await;
    load_portfolio(&s.store, 200).await;
    let settings = Settings::default();
    let tasks_url = sqs_local_queue("sweep-tasks", false).await;
    let tasks = SqsQueue::new(sqs_local_client().await, tasks_url.clone());
    let scheduled = serde_json::json!({"foresight": "plan-health-sweep", "scheduled_time": "2026-11-09T12:00:00Z"});
    assert_eq!(health_sweep::plan_scheduled(&scheduled, &tasks, SEGMENTS, 0).await.unwrap(), SEGMENTS as usize);
    let messages = sqs_drain(&tasks_url).await;
    assert_eq!(messages.len(), SEGMENTS as usize);
    let scanner = CountingScanner::new(&s.store);
    let ports = SweepPorts {
        scanner: &scanner,
        accounts: &s.store,
        usage: &s.store,
        outbox: &s.outbox,
        notifications: &s.notifications,
        progress: &s.outbox,
        sources: &s.store,
    };
    for m in &messages {
        let worked =
            health_sweep::work_task(m.body().unwrap(), &ports, &tasks, &settings, None, &|| true).await.unwrap();
        assert!(matches!(worked.outcome, SegmentOutcome::Done(_)), "{worked:?}");
    }
    assert_eq!(scanner.reads().len(), 200);
    let alerts = sqs_drain(&s.notifications_url).await.len();
    assert_eq!(alerts, 200 / 50);

    // SQS delivers a task again: nothing is read, written or enqueued.
    let writes = s.store.meter().reading().write_requests;
    for m in &messages {
        let worked =
            health_sweep::work_task(m.body().unwrap(), &ports, &tasks, &settings, None, &|| true).await.unwrap();
        assert!(matches!(worked.outcome, SegmentOutcome::AlreadyDone(_)), "{worked:?}");
        assert_eq!(worked.swept.scored, 0);
    }
    assert_eq!(scanner.reads().values().sum::<usize>(), 200, "a redelivered task reads nothing");
    assert_eq!(s.store.meter().reading().write_requests, writes);
    assert!(sqs_drain(&s.notifications_url).await.is_empty());
    assert_eq!(s.outbox.entries().await.unwrap().len(), 200 / 50);

    // A worker out of time hands the rest of its segment on as a new task through the queue, and
    // the invocation that receives it finishes from the saved cursor.
    let later = health_sweep::plan("paused", NOW + DAY, 1).remove(0);
    let body = serde_json::to_string(&later).unwrap();
    let stop_at_once = || false;
    let first = health_sweep::work_task(&body, &ports, &tasks, &settings, Some(50), &stop_at_once).await.unwrap();
    let SegmentOutcome::Paused(progress) = &first.outcome else { panic!("{first:?}") };
    assert!(progress.cursor.is_some() && progress.accounts < 200, "{progress:?}");
    assert_eq!(first.swept.scored as u64, progress.accounts, "this invocation's share is counted");
    let handed_on = sqs_drain(&tasks_url).await;
    assert_eq!(handed_on.len(), 1, "the rest of the segment is one new task");
    assert_eq!(handed_on[0].body(), Some(body.as_str()), "the same task, to go on from its cursor");
    let second = health_sweep::work_task(handed_on[0].body().unwrap(), &ports, &tasks, &settings, Some(50), &|| true)
        .await
        .unwrap();
    let SegmentOutcome::Done(progress) = &second.outcome else { panic!("{second:?}") };
    assert!(sqs_drain(&tasks_url).await.is_empty(), "a finished segment hands nothing on");
    assert_eq!(first.swept.scored + second.swept.scored, 200, "each account once over the two invocations");
    assert_eq!(progress.accounts, 200, "the resumed worker went on from the cursor");
}
