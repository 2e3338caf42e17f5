//! Against DynamoDB Local: an account item stops growing once the daily sweep drops what no
//! window reads (`domain/retention.rs`), and without the sweep the same events pile up. The
//! figures of a whole year are the benchmark's (`cargo bench --bench account_growth`).

use foresight_shared::testkit::account_life::{live, TICKETS_A_MONTH};

#[tokio::test]
async fn the_item_of_a_busy_account_stops_growing() {
    let swept =
        live(&foresight_shared::testkit::dynamodb_local_store("growth-swept").await, 5, TICKETS_A_MONTH, true).await;
    let piled =
        live(&foresight_shared::testkit::dynamodb_local_store("growth-piled").await, 5, TICKETS_A_MONTH, false).await;
    let bytes: Vec<u64> = swept.iter().map(|m| m.item_bytes).collect();
    // From the third month on (the support window and the settled invoices' 90 days are
    // full), the item stays within a ticket or two of its size.
    assert!(bytes[4] <= bytes[2] + 250, "the swept item keeps growing: {bytes:?}");
    assert!(bytes[4] < 5 * 1024, "{bytes:?}");
    assert!(swept[4].wcu_per_event <= 5.0, "{:?}", swept[4]);
    // The same events without the sweep: each month adds its tickets and ratings.
    let piled_bytes: Vec<u64> = piled.iter().map(|m| m.item_bytes).collect();
    assert!(
        piled_bytes[4] > 2 * bytes[4] && piled_bytes[4] > piled_bytes[2] + 4000,
        "{piled_bytes:?} against {bytes:?}"
    );
}

/// An account that reaches the sweep with hundreds of facts to drop (the first sweep after the
/// retention shipped) sheds them over several writes: one write naming them all would pass
/// DynamoDB's 4 KB limit on an update expression and fail, hour after hour.
#[tokio::test]
async fn a_backlog_of_old_facts_goes_over_several_sweeps() {
    use foresight_shared::app::health_sweep::sweep_account;
    use foresight_shared::app::ports::store::AccountStore;
    use foresight_shared::domain::change::AccountChange;
    use foresight_shared::domain::retention::MAX_DROPPED_PER_WRITE;
    use foresight_shared::domain::time::DAY;
    use foresight_shared::domain::version::EventVersion;
    use serde_json::json;

    const NOW: i64 = 1_795_176_000;
    let store = foresight_shared::testkit::dynamodb_local_store("growth-backlog").await;
    let ticket = |status: &str, updated: i64| json!({"status": status, "created_at": updated - DAY, "v": EventVersion::new(updated, "zd").as_str()});
    let old = 600;
    for i in 0..old {
        let change = AccountChange::new("acct_backlog")
            .with_fact(format!("tk#{i}"), ticket("closed", NOW - 60 * DAY + i))
            .with_fact(format!("cs#{i}#1"), json!({"rating": "good", "at": NOW - 60 * DAY + i}));
        store.apply(&change).await.unwrap();
    }
    store.apply(&AccountChange::new("acct_backlog").with_fact("tk#new", ticket("open", NOW - DAY))).await.unwrap();
    let (outbox, queue) = Default::default();
    let ports = foresight_shared::testkit::sweep_ports(&store, &outbox, &queue);
    let settings = foresight_shared::app::settings::Settings::default();
    let left = |stored: &foresight_shared::domain::account::StoredAccount| {
        stored.attributes.keys().filter(|k| k.starts_with("tk#") || k.starts_with("cs#")).count()
    };
    let mut counts = Vec::new();
    for hour in 0..8 {
        let stored = store.get("acct_backlog").await.unwrap().unwrap();
        counts.push(left(&stored));
        sweep_account(&stored, &ports, &settings, None, NOW + hour * 3_600).await.expect("each sweep writes");
    }
    counts.push(left(&store.get("acct_backlog").await.unwrap().unwrap()));
    let first_drop = counts[0] - counts[1];
    assert_eq!(first_drop, MAX_DROPPED_PER_WRITE, "{counts:?}");
    assert_eq!(*counts.last().unwrap(), 1, "only the open ticket is left: {counts:?}");
}
