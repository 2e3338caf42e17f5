//! The health sweep's use case over the in-memory adapters: what one account's sweep writes.

use foresight_shared::adapters::memory::{MemoryOutbox, MemoryQueue, MemoryStore};
use foresight_shared::app::health_sweep::{sweep_account, SweepPorts, HISTORY_DAYS};
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::attr;
use foresight_shared::domain::alert::RAISED;
use foresight_shared::domain::change::AccountChange;
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
    let ports = SweepPorts {
        scanner: &store,
        accounts: &store,
        outbox: &outbox,
        notifications: &queue,
        progress: &outbox,
        sources: &store,
    };
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
