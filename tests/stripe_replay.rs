//! Exactly-once effect on at-least-once, unordered delivery, against DynamoDB Local: the sample
//! week of Stripe events gives the same records in order, in reverse, delivered three times in
//! a shuffled order, and in the in-memory store. Also the write cost per event.

use foresight_e2e::{sample_stripe_events, start};
use foresight_shared::adapters::dynamodb::DynamoStore;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::testkit::dynamodb_local_store;
use futures::future::join_all;
use serde_json::Value;
use std::sync::Arc;

async fn replay<S: foresight_e2e::RunnerStore>(store: Arc<S>, bodies: &[&[u8]]) -> Value {
    let runner = start(store, Some(foresight_e2e::SECRET)).await;
    for body in bodies {
        let (status, answer) = runner.post_stripe(body).await;
        assert_eq!(status, 200, "{answer}");
    }
    runner.accounts().await
}

/// A fixed permutation (a small linear congruential shuffle), so failures reproduce.
fn shuffled<T: Clone>(items: &[T]) -> Vec<T> {
    let mut out = items.to_vec();
    let mut state: u64 = 0x5eed;
    for i in (1..out.len()).rev() {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        out.swap(i, (state >> 33) as usize % (i + 1));
    }
    out
}

fn account<'a>(accounts: &'a Value, id: &str) -> &'a Value {
    accounts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account_id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {accounts}"))
}

#[tokio::test]
async fn a_week_in_any_order_and_redelivered_gives_the_same_records() {
    let events = sample_stripe_events();
    let in_order: Vec<&[u8]> = events.iter().map(|(_, b)| b.as_slice()).collect();
    let reversed: Vec<&[u8]> = in_order.iter().rev().copied().collect();
    let thrice: Vec<&[u8]> = shuffled(&[in_order.clone(), in_order.clone(), in_order.clone()].concat());

    let expected = replay(Arc::new(dynamodb_local_store("replay-in-order").await), &in_order).await;
    let from_reverse = replay(Arc::new(dynamodb_local_store("replay-reverse").await), &reversed).await;
    let from_thrice = replay(Arc::new(dynamodb_local_store("replay-thrice").await), &thrice).await;
    let from_memory = replay(Arc::new(MemoryStore::new()), &reversed).await;
    assert_eq!(from_reverse, expected, "reverse order");
    assert_eq!(from_thrice, expected, "every event three times, shuffled");
    assert_eq!(from_memory, expected, "in-memory store");

    // And the records say what the week's story says.
    let ids: Vec<&str> = expected.as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["acct_acme", "acct_globex", "acct_hooli", "acct_initech", "acct_umbrella"],
        "no provisional records left"
    );
    let acme = &account(&expected, "acct_acme")["billing"];
    assert_eq!(
        (acme["status"].as_str(), acme["mrr"].as_i64(), acme["quantity"].as_i64()),
        (Some("active"), Some(48_000), Some(12))
    );
    assert_eq!(acme["renewal_at"], "2026-12-02T09:00:00Z");
    let kinds: Vec<&str> =
        acme["mrr_movements"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["new", "expansion"]);
    let globex = &account(&expected, "acct_globex")["billing"];
    assert_eq!(
        (globex["status"].as_str(), globex["mrr"].as_i64()),
        (Some("past_due"), Some(240_000)),
        "yearly x3, 20% off"
    );
    assert_eq!(globex["failed_payments"], 2);
    let initech = account(&expected, "acct_initech");
    assert_eq!(initech["name"], "Initech", "customer event that arrived before the link was merged");
    assert_eq!(initech["billing"]["cancel_at_period_end"], true);
    assert_eq!(initech["billing"]["mrr"], 9_900);
    let umbrella = &account(&expected, "acct_umbrella")["billing"];
    assert_eq!((umbrella["mrr"].as_i64(), umbrella["refunds"]["total"].as_i64()), (Some(0), Some(5_000)), "100% off");
    assert_eq!(umbrella["disputes"]["count"], 1);
    let hooli = account(&expected, "acct_hooli");
    assert_eq!((hooli["lifecycle"].as_str(), hooli["billing"]["mrr"].as_i64()), (Some("churned"), Some(0)));
    let hooli_kinds: Vec<&str> =
        hooli["billing"]["mrr_movements"].as_array().unwrap().iter().map(|m| m["kind"].as_str().unwrap()).collect();
    assert_eq!(hooli_kinds, ["new", "churn"]);
}

#[tokio::test]
async fn concurrent_deliveries_for_one_account_both_land() {
    let store = Arc::new(dynamodb_local_store("concurrent").await);
    let events = sample_stripe_events();
    let acme: Vec<&[u8]> = events.iter().filter(|(n, _)| n.contains("-acme-")).map(|(_, b)| b.as_slice()).collect();
    let runner = start(store, Some(foresight_e2e::SECRET)).await;
    // Link first, then the rest of Acme's events all at once.
    assert_eq!(runner.post_stripe(acme[0]).await.0, 200);
    let answers = join_all(acme[1..].iter().map(|b| runner.post_stripe(b))).await;
    assert!(answers.iter().all(|(status, _)| *status == 200), "{answers:?}");
    let (_, record) = runner.get("/accounts/acct_acme").await;
    assert_eq!(record["billing"]["mrr"], 48_000);
    assert!(record["billing"]["last_paid_at"].is_string(), "invoice.paid landed beside the subscription: {record}");
    assert_eq!(record["billing"]["upcoming_invoice"]["amount"], 48_000);
}

/// DynamoDB cost per billing event, from `ReturnConsumedCapacity`: one write request and at
/// most 2 WCU on the common path (invoice and charge events of linked customers), one more
/// write when the event raises an alert, and for a subscription event that moves MRR the
/// ledger's transaction and card update.
#[tokio::test]
async fn one_write_and_at_most_two_wcu_per_billing_event() {
    let store: Arc<DynamoStore> = Arc::new(dynamodb_local_store("write-cost").await);
    let meter = store.meter();
    let runner = start(store.clone(), Some(foresight_e2e::SECRET)).await;
    for (name, body) in sample_stripe_events() {
        let before = meter.reading();
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 200);
        let after = meter.reading();
        let (writes, wcu) = (after.write_requests - before.write_requests, after.write_units - before.write_units);
        // Off the common path: the first event naming a customer's account also writes the link
        // (and merges what arrived before it); ignored types write nothing.
        let first_sight = ["customer-created", "initech-002", "hooli-001", "payment_intent"];
        if first_sight.iter().any(|s| name.contains(s)) {
            continue;
        }
        // An event that raises a real-time alert (payment failed) also marks the account with
        // the alert's key, so that the sweep does not raise it again: one more write, rare.
        let raised = answer["alerts"].as_array().map_or(0, Vec::len) as u64;
        // A subscription event that moves MRR also refreshes the account's MRR ledger: one
        // transaction (the changed month and its total, 2 WCU each in a transaction) and the
        // card's MRR (README, "Portfolio KPIs").
        let (ledger_writes, ledger_wcu) = if name.contains("subscription") { (2, 10.0) } else { (0, 0.0) };
        let expected = 1 + u64::from(raised > 0);
        assert!(
            writes >= expected && writes <= expected + ledger_writes,
            "{name}: {writes} write requests, alerts {raised}"
        );
        assert!(wcu > 0.0 && wcu <= 2.0 + ledger_wcu, "{name}: {wcu} WCU");
    }
}
