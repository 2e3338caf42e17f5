//! The Stripe webhook over HTTP: what a sender gets for good and bad input.

use foresight::signing::stripe_header;
use foresight_e2e::{now, sample_stripe_events, start, SECRET};
use foresight_shared::adapters::memory::MemoryStore;
use serde_json::json;
use std::sync::Arc;

fn event(kind: &str, object: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"id": "evt_t", "object": "event", "type": kind, "created": 1_800_000_000,
        "livemode": false, "api_version": "2025-09-30.clover", "data": {"object": object}}))
    .unwrap()
}

#[tokio::test]
async fn signature_problems_are_400_with_a_reason() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    let body = event("customer.created", json!({"id": "cus_1", "object": "customer"}));
    let (status, answer) = runner.post_stripe_raw(body.clone(), None).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("Stripe-Signature"), "{answer}");
    for bad in ["", "garbage", "t=,v1=", "v1=abc", "t=notanumber,v1=00"] {
        let (status, answer) = runner.post_stripe_raw(body.clone(), Some(bad.into())).await;
        assert_eq!(status, 400, "header {bad:?}: {answer}");
        assert!(answer["error"].is_string());
    }
    let wrong_secret = stripe_header("whsec_other", now(), &body);
    assert_eq!(runner.post_stripe_raw(body.clone(), Some(wrong_secret)).await.0, 400);
    let stale = stripe_header(SECRET, now() - 301, &body);
    let (status, answer) = runner.post_stripe_raw(body.clone(), Some(stale)).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("tolerance"), "{answer}");
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let header = stripe_header(SECRET, now(), &body);
    assert_eq!(runner.post_stripe_raw(tampered, Some(header)).await.0, 400);
}

#[tokio::test]
async fn payload_problems_are_400_413_or_503() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    let (status, answer) = runner.post_stripe(b"{\"id\": \"evt_1\", oops").await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("invalid payload"), "{answer}");
    let wrong_shape = event("customer.subscription.updated", json!({"id": "sub_1", "status": 42}));
    let (status, answer) = runner.post_stripe(&wrong_shape).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("customer.subscription.updated"), "{answer}");

    let huge = vec![b' '; 2 * 1024 * 1024];
    let (status, answer) = runner.post_stripe_raw(huge, Some("t=1,v1=00".into())).await;
    assert_eq!(status, 413, "{answer}");
    let just_over = vec![b' '; 1024 * 1024 + 1];
    assert_eq!(runner.post_stripe(&just_over).await.0, 413);

    let unconfigured = start(Arc::new(MemoryStore::new()), None).await;
    let body = event("customer.created", json!({"id": "cus_1"}));
    let (status, answer) = unconfigured.post_stripe(&body).await;
    assert_eq!(status, 503);
    assert!(answer["error"].as_str().unwrap().contains("STRIPE_WEBHOOK_SECRET"), "{answer}");
}

#[tokio::test]
async fn unknown_types_are_acknowledged_and_ignored() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    let (status, answer) = runner.post_stripe(&event("balance.available", json!({"object": "balance"}))).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")));
    assert_eq!(runner.accounts().await, json!([]));
}

#[tokio::test]
async fn arbitrary_signed_bodies_never_cause_a_server_error() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    let (_, sample) = &sample_stripe_events()[1];
    let mut bodies: Vec<Vec<u8>> = vec![
        b"".to_vec(), b"null".to_vec(), b"[]".to_vec(), b"\xff\xfe".to_vec(), b"{}".to_vec(),
        br#"{"id":1,"type":"customer.created","created":"x","data":{}}"#.to_vec(),
        br#"{"id":"e","type":"invoice.paid","created":1,"data":{"object":null}}"#.to_vec(),
        br#"{"id":"e","type":"customer.subscription.updated","created":-5,"data":{"object":{"id":"s","status":"active","items":{"data":[{"quantity":-1}]}}}}"#.to_vec(),
    ];
    // Every truncation of a real event, at a few hundred cut points.
    bodies.extend((0..sample.len()).step_by(17).map(|n| sample[..n].to_vec()));
    for body in bodies {
        let (status, answer) = runner.post_stripe(&body).await;
        assert!(status == 200 || status == 400, "{status} for {:?}: {answer}", String::from_utf8_lossy(&body));
    }
}

#[tokio::test]
async fn account_api_answers_json_errors() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    let (status, answer) = runner.get("/accounts/acct_missing").await;
    assert_eq!(status, 404);
    assert!(answer["error"].is_string());
    assert_eq!(runner.get("/no/such/route").await.0, 404);
    let post = |body: &'static str| runner.client.post(format!("{}/links", runner.url)).body(body).send();
    assert_eq!(post("not json").await.unwrap().status(), 400);
    assert_eq!(post(r#"{"source":"nope","external_id":"x","account_id":"a"}"#).await.unwrap().status(), 400);
}

#[tokio::test]
async fn a_late_link_merges_the_provisional_record() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    // A subscription event for a customer nobody has linked yet lands under the customer id.
    let sub = event(
        "customer.subscription.created",
        json!({"id": "sub_9", "customer": "cus_9", "status": "active",
        "items": {"data": [{"quantity": 2, "current_period_end": 1_802_592_000,
            "price": {"unit_amount": 1500, "currency": "usd", "recurring": {"interval": "month", "interval_count": 1}}}]}}),
    );
    let (_, answer) = runner.post_stripe(&sub).await;
    assert_eq!(answer["account_id"], "cus_9");
    // Then the customer event names the account: the record moves there.
    let mut customer = serde_json::from_slice::<serde_json::Value>(&event(
        "customer.updated",
        json!({"id": "cus_9", "name": "Nine Ltd", "metadata": {"account_id": "acct_9"}}),
    ))
    .unwrap();
    customer["id"] = json!("evt_c9");
    let (status, answer) = runner.post_stripe(&serde_json::to_vec(&customer).unwrap()).await;
    assert_eq!((status, answer["account_id"].as_str()), (200, Some("acct_9")));
    assert_eq!(runner.get("/accounts/cus_9").await.0, 404);
    let (_, record) = runner.get("/accounts/acct_9").await;
    assert_eq!(record["billing"]["mrr"], 3000);
    assert_eq!(record["name"], "Nine Ltd");
    assert_eq!(record["links"]["stripe_customer_id"], "cus_9");
    // And invoices, which carry only the customer id, reach it through the remembered link.
    let paid = event("invoice.paid", json!({"id": "in_9", "customer": "cus_9", "amount_paid": 3000}));
    assert_eq!(runner.post_stripe(&paid).await.1["account_id"], "acct_9");
}

/// Found by fuzzing: an id over DynamoDB's 2,048-byte key limit answered 500 (Stripe retries it
/// for three days) and a subscription with `customer: ""` was applied to an account "". Against
/// DynamoDB Local, where the key limit is real.
#[tokio::test]
async fn ids_that_cannot_be_keys_are_400_and_an_empty_customer_is_no_customer() {
    let store = Arc::new(foresight_shared::testkit::dynamodb_local_store("stripe-ids").await);
    let runner = start(store, Some(SECRET)).await;
    let long = "c".repeat(3_000);
    let subscription = |customer: &str| {
        json!({"id": "sub_ids", "object": "subscription", "customer": customer, "status": "active",
               "items": {"data": [{"quantity": 1, "price": {"unit_amount": 1000, "currency": "usd", "recurring": {"interval": "month"}}}]}})
    };
    for body in [
        event("customer.subscription.created", subscription(&long)),
        event("customer.created", json!({"id": long, "object": "customer"})),
        event("customer.created", json!({"id": "cus_ok", "object": "customer", "metadata": {"account_id": long}})),
        event("charge.dispute.created", json!({"id": "dp_1", "object": "dispute", "charge": long, "amount": 5})),
        event("invoice.paid", json!({"id": long, "object": "invoice", "customer": "cus_ok", "amount_paid": 5})),
    ] {
        let (status, answer) = runner.post_stripe(&body).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains("bytes"), "{answer}");
    }
    let (status, answer) = runner.post_stripe(&event("customer.subscription.updated", subscription(""))).await;
    assert_eq!(
        (status, answer["outcome"].as_str(), &answer["account_id"]),
        (200, Some("ignored"), &json!(null)),
        "{answer}"
    );
    assert_eq!(runner.accounts().await, json!([]), "nothing stored for a customer \"\"");
    let (status, answer) =
        runner.post_stripe(&event("customer.created", json!({"id": "", "object": "customer"}))).await;
    assert_eq!(status, 400, "a customer event without an id: {answer}");
}
