//! The health sweep's use case over the in-memory adapters: what one account's sweep writes.

use foresight_shared::adapters::memory::{MemoryOutbox, MemoryQueue, MemoryStore};
use foresight_shared::app::health_sweep::{sweep_account, SweepPorts, HISTORY_DAYS};
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::attr;
use foresight_shared::domain::alert::RAISED;
use foresight_shared::domain::change::AccountChange;
use foresight_shared::domain::kpi;
use foresight_shared::domain::time::{self, DAY};
use serde_json::json;

const NOW: i64 = 1_795_176_000;

#[tokio::test]
async fn a_sweep_drops_old_history_and_spent_alert_marks() {
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let day = |ago: i64| time::day_key(NOW - ago * DAY);
    let seed = AccountChange::new("acct_1")
        .with_fact(format!("{}{}", attr::HEALTH_HISTORY, day(HISTORY_DAYS + 1)), json!(80))
        .with_fact(format!("{}{}", attr::HEALTH_HISTORY, day(7)), json!(75))
        .with_fact(format!("{RAISED}score_fall/{}", day(20)), json!(NOW - 20 * DAY))
        .with_fact(format!("{RAISED}score_fall/{}", day(2)), json!(NOW - 2 * DAY));
    store.apply(&seed).await.unwrap();
    let ports = memory_ports(&store, &outbox, &queue);
    let stored = store.get("acct_1").await.unwrap().unwrap();
    sweep_account(&stored, &ports, &Settings::default(), None, NOW).await.unwrap();

    let after = store.get("acct_1").await.unwrap().unwrap();
    let kept: Vec<String> = after
        .attributes
        .keys()
        .filter(|k| k.starts_with(attr::HEALTH_HISTORY) || k.starts_with(RAISED))
        .cloned()
        .collect();
    assert_eq!(
        kept,
        [
            format!("{RAISED}score_fall/{}", day(2)),
            format!("{}{}", attr::HEALTH_HISTORY, day(7)),
            format!("{}{}", attr::HEALTH_HISTORY, day(0)),
        ],
        "the history point past {HISTORY_DAYS} days and the mark past its 7-day cool-down are gone"
    );
}

#[tokio::test]
async fn a_trend_gone_leaves_the_portfolio_card() {
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ports = memory_ports(&store, &outbox, &queue);
    let trend = |stored: &foresight_shared::domain::account::StoredAccount| {
        let name = kpi::card_attr::CHANGE;
        stored.attributes.get(name).or_else(|| stored.derived.get(name)).cloned()
    };
    // Scored a week ago: the card shows the 7-day change.
    let week_ago = format!("{}{}", attr::HEALTH_HISTORY, time::day_key(NOW - 7 * DAY));
    store.apply(&AccountChange::new("acct_1").with_fact(week_ago, json!(75))).await.unwrap();
    sweep_account(&store.get("acct_1").await.unwrap().unwrap(), &ports, &Settings::default(), None, NOW).await.unwrap();
    assert!(trend(&store.get("acct_1").await.unwrap().unwrap()).is_some());
    // Eight days later, with no score in between, there is no 7-day change: the old one goes.
    let later = NOW + 8 * DAY;
    sweep_account(&store.get("acct_1").await.unwrap().unwrap(), &ports, &Settings::default(), None, later)
        .await
        .unwrap();
    assert_eq!(trend(&store.get("acct_1").await.unwrap().unwrap()), None);
}

/// The sweep's ports, all in memory.
fn memory_ports<'a>(store: &'a MemoryStore, outbox: &'a MemoryOutbox, queue: &'a MemoryQueue) -> SweepPorts<'a> {
    foresight_shared::testkit::sweep_ports(store, outbox, queue)
}

/// Counts the writes that reach the store.
struct CountingStore<'a> {
    inner: &'a MemoryStore,
    writes: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl AccountStore for CountingStore<'_> {
    async fn apply(
        &self,
        change: &AccountChange,
    ) -> Result<foresight_shared::app::ports::store::ApplyOutcome, foresight_shared::app::ports::store::StoreError>
    {
        self.writes.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.apply(change).await
    }
    async fn get(
        &self,
        id: &str,
    ) -> Result<Option<foresight_shared::domain::account::StoredAccount>, foresight_shared::app::ports::store::StoreError>
    {
        self.inner.get(id).await
    }
    async fn merge(&self, from: &str, into: &str) -> Result<bool, foresight_shared::app::ports::store::StoreError> {
        self.inner.merge(from, into).await
    }
}

/// An hourly schedule: a second sweep the same day writes only the accounts whose health,
/// card, renewal index, history point or alert marks changed; none here. The next day's first
/// sweep writes each account once (its history point).
#[tokio::test]
async fn later_sweeps_of_the_day_write_only_what_changed() {
    let store = MemoryStore::new();
    foresight_shared::testkit::load_synthetic(&store, 0..60, NOW).await;
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let counting = CountingStore { inner: &store, writes: Default::default() };
    let ports = SweepPorts {
        scanner: &store,
        accounts: &counting,
        usage: &store,
        outbox: &outbox,
        notifications: &queue,
        progress: &outbox,
        sources: &store,
    };
    let settings = Settings::default();
    let writes_at = |now: i64| {
        let ports = &ports;
        let settings = &settings;
        let counting = &counting;
        let store = &store;
        async move {
            let before = counting.writes.load(std::sync::atomic::Ordering::SeqCst);
            for i in 0..60 {
                let stored = store.get(&format!("acct_{i:05}")).await.unwrap().unwrap();
                sweep_account(&stored, ports, settings, None, now).await.unwrap();
            }
            counting.writes.load(std::sync::atomic::Ordering::SeqCst) - before
        }
    };
    assert_eq!(writes_at(NOW).await, 60, "the first sweep writes every account");
    let before = store.get("acct_00001").await.unwrap().unwrap();
    assert_eq!(writes_at(NOW + 3_600).await, 0, "an hour later nothing changed: {before:?}");
    assert_eq!(writes_at(NOW + DAY).await, 60, "the next day: each account's history point");
}

/// Facts past every window that reads them leave the item with the sweep's write; what a window
/// still reads stays.
#[tokio::test]
async fn a_sweep_drops_the_facts_no_window_reads() {
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ago = |days: i64| NOW - days * DAY;
    let ticket = |status: &str, days: i64| {
        let version = foresight_shared::domain::version::EventVersion::new(ago(days), "zd");
        json!({"status": status, "created_at": ago(days + 2), "v": version.as_str()})
    };
    let seed = AccountChange::new("acct_1")
        .with_fact("tk#1", ticket("closed", 40))
        .with_fact("tk#2", ticket("open", 60))
        .with_fact("tk#3", ticket("solved", 3))
        .with_fact("cs#1#a", json!({"rating": "good", "at": ago(40)}))
        .with_fact("cs#3#b", json!({"rating": "bad", "at": ago(3)}))
        .with_fact("pp#in_old", json!({"at": ago(120), "amount": 100}))
        .with_fact("pp#in_new", json!({"at": ago(10), "amount": 100}));
    store.apply(&seed).await.unwrap();
    let ports = memory_ports(&store, &outbox, &queue);
    sweep_account(&store.get("acct_1").await.unwrap().unwrap(), &ports, &Settings::default(), None, NOW).await.unwrap();

    let after = store.get("acct_1").await.unwrap().unwrap();
    let kept: Vec<&str> = ["tk#1", "tk#2", "tk#3", "cs#1#a", "cs#3#b", "pp#in_old", "pp#in_new"]
        .into_iter()
        .filter(|name| after.attributes.contains_key(*name))
        .collect();
    assert_eq!(kept, ["tk#2", "tk#3", "cs#3#b", "pp#in_new"]);
}

/// What the sweep drops is judged at the day's start: a ticket whose 30 days end between two
/// sweeps of the same day does not make the later one write; the next day's first sweep drops
/// it with its history point.
#[tokio::test]
async fn a_fact_expiring_during_the_day_waits_for_the_next_days_write() {
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ticket = |status: &str, updated: i64| {
        let version = foresight_shared::domain::version::EventVersion::new(updated, "zd");
        json!({"status": status, "created_at": updated - DAY, "v": version.as_str()})
    };
    // NOW is noon: the closed ticket's 30 days end an hour after it.
    let seed = AccountChange::new("acct_1")
        .with_fact("tk#old", ticket("closed", NOW - 30 * DAY + 3_600))
        .with_fact("tk#new", ticket("open", NOW - DAY));
    store.apply(&seed).await.unwrap();
    let counting = CountingStore { inner: &store, writes: Default::default() };
    let ports = SweepPorts { accounts: &counting, ..memory_ports(&store, &outbox, &queue) };
    let writes = || counting.writes.load(std::sync::atomic::Ordering::SeqCst);
    for (now, expected_writes) in [(NOW, 1), (NOW + 2 * 3_600, 1), (NOW + DAY, 2)] {
        sweep_account(&store.get("acct_1").await.unwrap().unwrap(), &ports, &Settings::default(), None, now)
            .await
            .unwrap();
        assert_eq!(writes(), expected_writes, "after the sweep at NOW + {} s", now - NOW);
    }
    let after = store.get("acct_1").await.unwrap().unwrap();
    assert!(!after.attributes.contains_key("tk#old") && after.attributes.contains_key("tk#new"));
}

/// Usage days past their fingerprint window are settled by the sweep, two an account a sweep:
/// the record reads the same, the fingerprints are gone, and a settled account makes no more
/// usage writes.
#[tokio::test]
async fn a_sweep_settles_usage_days_past_their_redelivery_window() {
    use foresight_shared::app::ports::store::UsageStore;
    use foresight_shared::domain::usage::{self, UsageDay};
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ids = |day: i64, n: usize| (0..n).map(|m| format!("{day}-{m}")).collect();
    let window = usage::FINGERPRINT_DAYS;
    for ago in 0..window + 4 {
        let usage = UsageDay {
            message_ids: ids(ago, 10 + ago as usize),
            users: ["u1".to_owned()].into(),
            ..Default::default()
        };
        store.add_usage("acct_1", time::parse_day(&time::day_key(NOW - ago * DAY)).unwrap(), &usage).await.unwrap();
    }
    store.apply(&AccountChange::new("acct_1").with_fact("sc", json!(1))).await.unwrap();
    let settings = Settings::default();
    let ports = memory_ports(&store, &outbox, &queue);
    let record = |stored| settings.record_in(&stored, NOW, None).usage;
    let before = record(store.get("acct_1").await.unwrap().unwrap());
    let fingerprinted = |stored: &foresight_shared::domain::account::StoredAccount| {
        stored.usage.iter().filter(|(_, u)| !u.message_ids.is_empty()).map(|(d, _)| d.to_string()).collect::<Vec<_>>()
    };
    // NOW is noon: the 3 oldest days ended more than the window before; two go per sweep.
    sweep_account(&store.get("acct_1").await.unwrap().unwrap(), &ports, &settings, None, NOW).await.unwrap();
    let after = store.get("acct_1").await.unwrap().unwrap();
    assert_eq!(fingerprinted(&after).len(), window as usize + 2, "the two oldest settled");
    sweep_account(&after, &ports, &settings, None, NOW + 3_600).await.unwrap();
    let after = store.get("acct_1").await.unwrap().unwrap();
    let recent: Vec<String> = (0..=window).rev().map(|ago| time::day_key(NOW - ago * DAY)).collect();
    assert_eq!(fingerprinted(&after), recent, "today and the window's days before keep theirs");
    assert_eq!(after.usage.values().map(UsageDay::events).sum::<u64>(), (10..10 + window as u64 + 4).sum::<u64>());
    assert_eq!(record(after), before, "the usage the record reads is unchanged");
}

/// Survey answers that named no account are kept under `unlinked:surveys`, never scored; the
/// sweep drops those past the NPS window, the newest too (no record reads the holder's last
/// NPS), so the holder neither keeps respondents' comments for ever nor grows to DynamoDB's
/// item limit.
#[tokio::test]
async fn the_unlinked_survey_holder_keeps_answers_for_the_nps_window_only() {
    use foresight_shared::domain::account::UNLINKED_SURVEYS;
    let store = MemoryStore::new();
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let answer = |days_ago: i64| json!({"at": NOW - days_ago * DAY, "score": 3, "comment": "slow", "via": "typeform"});
    let seed = AccountChange::new(UNLINKED_SURVEYS)
        .with_fact("sv#tf-old", answer(200))
        .with_fact("sv#tf-older", answer(300))
        .with_fact("sv#tf-recent", answer(10));
    store.apply(&seed).await.unwrap();
    let ports = memory_ports(&store, &outbox, &queue);
    let summary =
        foresight_shared::app::health_sweep::run(&ports, &Settings::default(), "sweep-1", NOW, 1).await.unwrap();

    assert_eq!(summary.scored, 0, "the holder is no account to score");
    let after = store.get(UNLINKED_SURVEYS).await.unwrap().unwrap();
    let answers: Vec<&str> =
        after.attributes.keys().filter(|k| k.starts_with(attr::SURVEY_RESPONSE)).map(String::as_str).collect();
    assert_eq!(answers, ["sv#tf-recent"], "answers past the 90-day window are gone");
    assert!(!after.attributes.contains_key(attr::HEALTH), "never scored");

    // Once past the window, the newest answer goes too.
    let sweep_at = |id: &'static str, now: i64| {
        let ports = &ports;
        async move { foresight_shared::app::health_sweep::run(ports, &Settings::default(), id, now, 1).await.unwrap() }
    };
    sweep_at("sweep-2", NOW + 79 * DAY).await;
    assert!(store.get(UNLINKED_SURVEYS).await.unwrap().unwrap().attributes.contains_key("sv#tf-recent"));
    sweep_at("sweep-3", NOW + 81 * DAY).await;
    let later = store.get(UNLINKED_SURVEYS).await.unwrap().unwrap();
    assert!(!later.attributes.keys().any(|k| k.starts_with(attr::SURVEY_RESPONSE)), "{:?}", later.attributes);
}
