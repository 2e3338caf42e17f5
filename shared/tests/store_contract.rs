//! One contract, two adapters: the in-memory store and DynamoDB (against DynamoDB Local).

use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ports::store::{
    AccountLister, AccountStore, ApplyOutcome, LinkSource, LinkStore, UsageStore,
};
use foresight_shared::domain::usage::{DueDay, UsageDay};
use foresight_shared::domain::{AccountChange, EventVersion, GuardedGroup};
use foresight_shared::testkit::dynamodb_local_store;

fn d(key: &str) -> chrono::NaiveDate {
    foresight_shared::domain::time::parse_day(key).expect("a day key")
}
use futures::future::join_all;
use serde_json::{json, Value};

trait Store: AccountStore + AccountLister + LinkStore + UsageStore {}
impl<T: AccountStore + AccountLister + LinkStore + UsageStore> Store for T {}

fn day_usage(ids: &[&str], users: &[&str], seen: i64) -> UsageDay {
    UsageDay {
        message_ids: ids.iter().map(|s| s.to_string()).collect(),
        settled_events: 0,
        users: users.iter().map(|s| s.to_string()).collect(),
        features: if ids.len() > 1 { ["Export".to_string()].into() } else { Default::default() },
        first_value_at: Default::default(),
        seen_at: [seen].into(),
        last_added_at: None,
    }
}

async fn usage_days_are_idempotent_sets_and_merge(store: &dyn Store) {
    let first = day_usage(&["m1", "m2"], &["u1"], 100);
    store.add_usage("acct_usage", d("2026-11-02"), &first).await.unwrap();
    store.add_usage("acct_usage", d("2026-11-02"), &first).await.unwrap();
    store.add_usage("acct_usage", d("2026-11-02"), &day_usage(&["m2", "m3"], &["u2"], 200)).await.unwrap();
    store.add_usage("acct_usage", d("2026-11-03"), &day_usage(&["m4"], &["u1"], 300)).await.unwrap();
    let stored = store.get("acct_usage").await.unwrap().expect("an account with only usage exists");
    let day = &stored.usage[&d("2026-11-02")];
    assert_eq!(day.message_ids.len(), 3);
    assert_eq!(day.users.len(), 2);
    assert_eq!(day.seen_at, [100, 200].into());
    assert_eq!(day.features.len(), 1);
    assert_eq!(stored.usage.len(), 2);
    assert_eq!(day.last_added_at, None, "written without the time it was added");
    // When usage was last added is kept (the window of its fingerprints counts from it).
    let stamped = |at| UsageDay { last_added_at: Some(at), ..day_usage(&["m5"], &["u1"], 300) };
    store.add_usage("acct_usage", d("2026-11-03"), &stamped(1_000)).await.unwrap();
    store.add_usage("acct_usage", d("2026-11-03"), &stamped(2_000)).await.unwrap();
    let stored = store.get("acct_usage").await.unwrap().unwrap();
    assert_eq!(stored.usage[&d("2026-11-03")].last_added_at, Some(2_000));
    assert_eq!(stored.usage[&d("2026-11-03")].message_ids.len(), 2);
    // It only moves forward: an older time (another writer's clock) adds its sets, not its time,
    // and so does a merge of a provisional day written before.
    let older = UsageDay { last_added_at: Some(1_500), ..day_usage(&["m6"], &["u1"], 300) };
    store.add_usage("acct_usage", d("2026-11-03"), &older).await.unwrap();
    store.add_usage("analytics-early", d("2026-11-03"), &stamped(500)).await.unwrap();
    assert!(store.merge("analytics-early", "acct_usage").await.unwrap());
    let stored = store.get("acct_usage").await.unwrap().unwrap();
    assert_eq!(stored.usage[&d("2026-11-03")].last_added_at, Some(2_000));
    assert_eq!(stored.usage[&d("2026-11-03")].message_ids.len(), 3, "m4, m5, m6");
    // A provisional group's usage joins the account when linked.
    store.add_usage("analytics-provisional", d("2026-11-02"), &day_usage(&["m3", "m9"], &["u3"], 400)).await.unwrap();
    assert!(store.merge("analytics-provisional", "acct_usage").await.unwrap());
    assert_eq!(store.get("analytics-provisional").await.unwrap(), None);
    let merged = store.get("acct_usage").await.unwrap().unwrap();
    assert_eq!(merged.usage[&d("2026-11-02")].message_ids.len(), 4, "m3 counted once");
    assert_eq!(merged.usage[&d("2026-11-02")].users.len(), 3);
}

async fn a_settled_day_keeps_its_count_not_its_fingerprints(store: &dyn Store) {
    let day = d("2026-11-05");
    store.add_usage("acct_settle", day, &day_usage(&["m1", "m2", "m3"], &["u1"], 100)).await.unwrap();
    assert!(!store.settle_day("acct_settle", &due(day, 2)).await.unwrap(), "a message came since it was read");
    assert_eq!(store.get("acct_settle").await.unwrap().unwrap().usage[&day].message_ids.len(), 3, "nothing dropped");
    assert!(store.settle_day("acct_settle", &due(day, 3)).await.unwrap());
    let settled = store.get("acct_settle").await.unwrap().unwrap().usage[&day].clone();
    assert_eq!((settled.message_ids.len(), settled.settled_events, settled.events()), (0, 3, 3));
    assert_eq!(settled.users.len(), 1, "only the fingerprints go");
    assert!(!store.settle_day("acct_settle", &due(day, 3)).await.unwrap(), "settled already: nothing to drop");
    assert!(!store.settle_day("acct_settle", &due(d("2026-11-06"), 1)).await.unwrap(), "no such day");
    assert!(!store.get("acct_settle").await.unwrap().unwrap().usage.contains_key(&d("2026-11-06")), "nor made");
    // A late message is counted on top; settling again adds it.
    store.add_usage("acct_settle", day, &day_usage(&["m4"], &[], 200)).await.unwrap();
    assert!(store.settle_day("acct_settle", &due(day, 1)).await.unwrap());
    assert_eq!(store.get("acct_settle").await.unwrap().unwrap().usage[&day].events(), 4);
    // A merge carries the count.
    store.add_usage("analytics-settled", day, &day_usage(&["m9"], &[], 300)).await.unwrap();
    assert!(store.settle_day("analytics-settled", &due(day, 1)).await.unwrap());
    assert!(store.merge("analytics-settled", "acct_settle").await.unwrap());
    let merged = store.get("acct_settle").await.unwrap().unwrap().usage[&day].clone();
    assert_eq!((merged.settled_events, merged.message_ids.len()), (5, 0));
    // Merging again (a retry, or the other side of a race) moves nothing twice.
    assert!(!store.merge("analytics-settled", "acct_settle").await.unwrap());
    assert_eq!(store.get("acct_settle").await.unwrap().unwrap().usage[&day].settled_events, 5);
    // Two merges of one provisional record at once (both may read it before either deletes it)
    // move its count once.
    store.add_usage("analytics-race", day, &day_usage(&["r1", "r2"], &[], 400)).await.unwrap();
    assert!(store.settle_day("analytics-race", &due(day, 2)).await.unwrap());
    let (a, b) =
        futures::join!(store.merge("analytics-race", "acct_settle"), store.merge("analytics-race", "acct_settle"));
    assert!(a.unwrap() || b.unwrap());
    assert_eq!(store.get("acct_settle").await.unwrap().unwrap().usage[&day].settled_events, 7);

    // A second delivery of a message the day holds, since the sweep read it, adds no
    // fingerprint but starts the window again: the day is not settled until it is due again.
    let day = d("2026-11-07");
    let added_at = |at| UsageDay { last_added_at: Some(at), ..day_usage(&["m1"], &["u1"], 100) };
    store.add_usage("acct_settle", day, &added_at(1_000)).await.unwrap();
    let read = DueDay { day, fingerprints: 1, last_added_at: Some(1_000) };
    store.add_usage("acct_settle", day, &added_at(9_000)).await.unwrap();
    assert!(!store.settle_day("acct_settle", &read).await.unwrap(), "added to since it was read");
    assert_eq!(store.get("acct_settle").await.unwrap().unwrap().usage[&day].message_ids.len(), 1);
    assert!(store.settle_day("acct_settle", &DueDay { last_added_at: Some(9_000), ..read }).await.unwrap());
}

/// A day as a sweep read it, written without the time it was added.
fn due(day: chrono::NaiveDate, fingerprints: u64) -> DueDay {
    DueDay { day, fingerprints, last_added_at: None }
}

fn group(attribute: &str, t: i64, id: &str, value: Value) -> GuardedGroup {
    GuardedGroup::new(attribute, EventVersion::new(t, id), value)
}

fn guarded(account: &str, attribute: &str, t: i64, id: &str, value: Value) -> AccountChange {
    AccountChange::new(account).with_guarded(group(attribute, t, id, value))
}

async fn attr(store: &dyn Store, account: &str, name: &str) -> Option<Value> {
    store.get(account).await.unwrap()?.attributes.get(name).cloned()
}

async fn newer_wins_and_redelivery_changes_nothing(store: &dyn Store) {
    let a = "acct_guard";
    let first = guarded(a, "sub#s1", 100, "evt_a", json!({"status": "active", "mrr": 10}));
    assert_eq!(store.apply(&first).await.unwrap(), ApplyOutcome::Applied);
    assert_eq!(store.apply(&first).await.unwrap(), ApplyOutcome::Stale, "redelivery");
    let newer = guarded(a, "sub#s1", 200, "evt_b", json!({"status": "past_due", "mrr": 10}));
    assert_eq!(store.apply(&newer).await.unwrap(), ApplyOutcome::Applied);
    let older = guarded(a, "sub#s1", 150, "evt_c", json!({"status": "canceled", "mrr": 0}));
    assert_eq!(store.apply(&older).await.unwrap(), ApplyOutcome::Stale, "late older event");
    let same_second = guarded(a, "sub#s1", 200, "evt_a", json!({"status": "trialing"}));
    assert_eq!(store.apply(&same_second).await.unwrap(), ApplyOutcome::Stale, "ties break on event id");
    let stored = attr(store, a, "sub#s1").await.unwrap();
    assert_eq!(stored["status"], "past_due");
    assert_eq!(stored["v"], "000000000200#evt_b");
}

async fn facts_land_even_when_the_group_is_stale(store: &dyn Store) {
    let a = "acct_facts";
    store.apply(&guarded(a, "sub#s1", 300, "evt_new", json!({"mrr": 5}))).await.unwrap();
    let late =
        guarded(a, "sub#s1", 100, "evt_old", json!({"mrr": 1})).with_fact("mrr#s1#000000000100#evt_old", json!(1));
    assert_eq!(store.apply(&late).await.unwrap(), ApplyOutcome::Stale);
    assert_eq!(attr(store, a, "mrr#s1#000000000100#evt_old").await, Some(json!(1)));
    assert_eq!(attr(store, a, "sub#s1").await.unwrap()["mrr"], 5);
    let facts_only = AccountChange::new(a).with_fact("dp#d1", json!({"at": 7, "amount": 100}));
    assert_eq!(store.apply(&facts_only).await.unwrap(), ApplyOutcome::Applied);
    assert_eq!(store.apply(&facts_only).await.unwrap(), ApplyOutcome::Applied, "facts are idempotent");
    assert_eq!(attr(store, a, "dp#d1").await, Some(json!({"at": 7, "amount": 100})));
}

async fn expired_facts_go_with_an_applied_write_only(store: &dyn Store) {
    let a = "acct_expired";
    let first = guarded(a, "health", 100, "sweep", json!({"score": 70}))
        .with_fact("hh#2026-01-01", json!(70))
        .with_fact("hh#2026-01-02", json!(71));
    store.apply(&first).await.unwrap();
    // A stale write (a redelivered sweep) removes nothing.
    let stale = guarded(a, "health", 100, "sweep", json!({"score": 70})).with_expired("hh#2026-01-01");
    assert_eq!(store.apply(&stale).await.unwrap(), ApplyOutcome::Stale);
    assert_eq!(attr(store, a, "hh#2026-01-01").await, Some(json!(70)));
    let next = guarded(a, "health", 200, "sweep", json!({"score": 72}))
        .with_fact("hh#2026-01-03", json!(72))
        .with_expired("hh#2026-01-01")
        .with_expired("hh#never-stored");
    assert_eq!(store.apply(&next).await.unwrap(), ApplyOutcome::Applied);
    let stored = store.get(a).await.unwrap().unwrap();
    let history: Vec<&str> = stored.attributes.keys().filter(|k| k.starts_with("hh#")).map(String::as_str).collect();
    assert_eq!(history, ["hh#2026-01-02", "hh#2026-01-03"]);
    assert_eq!(stored.attributes["health"]["score"], 72);
}

async fn concurrent_changes_to_one_account_all_land(store: &dyn Store) {
    let a = "acct_concurrent";
    let changes: Vec<AccountChange> = (0..16)
        .map(|i| match i % 2 {
            0 => guarded(a, &format!("sub#s{i}"), 100 + i, &format!("evt_{i}"), json!({"n": i})),
            _ => AccountChange::new(a).with_fact(format!("pp#in_{i}"), json!({"at": i})),
        })
        .collect();
    // Polled together, so the writes overlap in time.
    let results = join_all(changes.iter().map(|c| store.apply(c))).await;
    assert!(results.into_iter().all(|r| r.unwrap() == ApplyOutcome::Applied));
    let stored = store.get(a).await.unwrap().unwrap();
    for i in 0..16 {
        let name = if i % 2 == 0 { format!("sub#s{i}") } else { format!("pp#in_{i}") };
        assert!(stored.attributes.contains_key(&name), "{name} lost");
    }
}

async fn merge_moves_a_provisional_record(store: &dyn Store) {
    let (from, into) = ("cus_provisional", "acct_merged");
    store
        .apply(&guarded(from, "sub#s1", 500, "evt_p", json!({"mrr": 50})).with_fact("pf#in_1#1", json!({"at": 1})))
        .await
        .unwrap();
    store.apply(&guarded(from, "customer", 100, "evt_old", json!({"name": "Old"}))).await.unwrap();
    store.apply(&guarded(into, "customer", 200, "evt_new", json!({"name": "New"}))).await.unwrap();
    assert!(store.merge(from, into).await.unwrap());
    assert_eq!(store.get(from).await.unwrap(), None, "provisional record is gone");
    let merged = store.get(into).await.unwrap().unwrap();
    assert_eq!(merged.attributes["sub#s1"]["mrr"], 50);
    assert_eq!(merged.attributes["customer"]["name"], "New", "merge keeps the newer group");
    assert!(merged.attributes.contains_key("pf#in_1#1"));
    assert!(!store.merge(from, into).await.unwrap(), "nothing left to merge");
    assert!(!store.merge(into, into).await.unwrap());
}

async fn links_resolve_and_move(store: &dyn Store) {
    assert_eq!(store.resolve(LinkSource::Stripe, "cus_x").await.unwrap(), None);
    store.link(LinkSource::Stripe, "cus_x", "acct_1").await.unwrap();
    store.link(LinkSource::Zendesk, "cus_x", "acct_z").await.unwrap();
    assert_eq!(store.resolve(LinkSource::Stripe, "cus_x").await.unwrap().as_deref(), Some("acct_1"));
    store.link(LinkSource::Stripe, "cus_x", "acct_2").await.unwrap();
    assert_eq!(store.resolve(LinkSource::Stripe, "cus_x").await.unwrap().as_deref(), Some("acct_2"));
    assert_eq!(store.resolve(LinkSource::Zendesk, "cus_x").await.unwrap().as_deref(), Some("acct_z"));
}

async fn list_holds_accounts_only(store: &dyn Store) {
    let ids: Vec<String> = store.list().await.unwrap().into_iter().map(|a| a.account_id).collect();
    assert_eq!(
        ids,
        ["acct_concurrent", "acct_expired", "acct_facts", "acct_guard", "acct_merged", "acct_settle", "acct_usage"]
    );
    let usage = store.list().await.unwrap().into_iter().find(|a| a.account_id == "acct_usage").unwrap();
    assert_eq!(usage.usage.len(), 2, "list reads usage days with their account");
    assert_eq!(store.get("acct_missing").await.unwrap(), None);
}

async fn contract(store: &dyn Store) {
    newer_wins_and_redelivery_changes_nothing(store).await;
    facts_land_even_when_the_group_is_stale(store).await;
    expired_facts_go_with_an_applied_write_only(store).await;
    concurrent_changes_to_one_account_all_land(store).await;
    merge_moves_a_provisional_record(store).await;
    links_resolve_and_move(store).await;
    usage_days_are_idempotent_sets_and_merge(store).await;
    a_settled_day_keeps_its_count_not_its_fingerprints(store).await;
    list_holds_accounts_only(store).await;
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    contract(&MemoryStore::new()).await;
}

#[tokio::test]
async fn dynamodb_store_meets_the_contract() {
    contract(&dynamodb_local_store("contract").await).await;
}

/// The cost model: one write request per change on the common path; a duplicate costs only
/// the failed conditional write; a late event with a new fact costs a second write.
#[tokio::test]
async fn dynamodb_write_requests_per_change() {
    let store = dynamodb_local_store("writes").await;
    let meter = store.meter();
    let change =
        guarded("acct_w", "sub#s1", 100, "evt_1", json!({"mrr": 1})).with_fact("mrr#s1#000000000100#evt_1", json!(1));
    store.apply(&change).await.unwrap();
    assert_eq!(meter.reading().write_requests, 1);
    store.apply(&change).await.unwrap();
    assert_eq!(meter.reading().write_requests, 2, "redelivery: the failed conditional write only");
    let late =
        guarded("acct_w", "sub#s1", 50, "evt_0", json!({"mrr": 0})).with_fact("mrr#s1#000000000050#evt_0", json!(0));
    store.apply(&late).await.unwrap();
    assert_eq!(meter.reading().write_requests, 4, "late event: failed conditional write + its fact");
}
