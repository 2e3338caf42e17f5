//! The analytics webhook over HTTP: signature over the batch's first element, write cost of a
//! large batch against DynamoDB Local, exact counts under redelivery, a late group call, and the
//! three sources in any order giving the same records.

use foresight_e2e::{now, sample_events, sample_stripe_events, start, RunnerStore};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::sources::segment::signature::compute_signature;
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::{json, Value};
use std::sync::Arc;

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn signature_covers_the_first_element_as_sent() {
    let runner = start(Arc::new(MemoryStore::new()), Some("whsec_unused")).await;
    let vector = r#"{"type":"track","event":"Trial Started","userId":"u_123","context":{"groupId":"acct_123"},"messageId":"m1"}"#;
    let post = |body: String, signature: String| {
        runner
            .client
            .post(format!("{}/webhooks/segment", runner.url))
            .header("x-signature", signature)
            .body(body)
            .send()
    };
    let sig = compute_signature(foresight_e2e::SEGMENT_SECRET, vector.as_bytes());
    assert_eq!(post(vector.into(), sig.clone()).await.unwrap().status(), 200);
    assert_eq!(
        post(format!("[{vector},{{\"type\":\"page\",\"messageId\":\"m2\"}}]"), sig.clone()).await.unwrap().status(),
        200
    );
    let reserialised: Value = serde_json::from_str(vector).unwrap();
    let pretty = format!("[{}]", serde_json::to_string_pretty(&reserialised).unwrap());
    assert_eq!(post(pretty, sig.clone()).await.unwrap().status(), 400, "re-serialised first element");
    assert_eq!(post(vector.into(), "00".repeat(20)).await.unwrap().status(), 400);
    let unconfigured = start(Arc::new(MemoryStore::new()), None).await;
    let (status, answer) = unconfigured.post_segment(vector.as_bytes()).await;
    assert_eq!(status, 503);
    assert!(answer["error"].as_str().unwrap().contains("SEGMENT_SHARED_SECRET"), "{answer}");
    let (status, answer) = runner.post_segment(br#"[{"type":"track","event":"x"}]"#).await;
    assert_eq!(status, 400, "{answer}");
}

/// 1000 messages for 5 accounts on one day: 5 usage writes, counted by DynamoDB Local; the
/// same batch again changes no count.
#[tokio::test]
async fn a_thousand_message_batch_for_five_accounts_costs_five_writes() {
    let store = Arc::new(dynamodb_local_store("segment-batch").await);
    let meter = store.meter();
    let runner = start(store.clone(), Some("whsec_unused")).await;
    // All inside today (UTC), whatever the time of day: one day per account.
    let t = now().div_euclid(86_400) * 86_400 + 60;
    let batch: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"type": "track", "event": if i % 10 == 0 { "Report Exported" } else { "Logged In" },
                   "userId": format!("u{}", i % 37), "messageId": format!("m{i:04}"),
                   "timestamp": rfc3339(t + i), "context": {"groupId": format!("acct_{}", i % 5)}})
        })
        .collect();
    let body = serde_json::to_vec(&batch).unwrap();
    let before = meter.reading();
    let (status, answer) = runner.post_segment(&body).await;
    assert_eq!(status, 200, "{answer}");
    let after = meter.reading();
    let writes = after.write_requests - before.write_requests;
    assert!(writes <= 10, "{writes} write requests for 1000 messages");
    // One usage item per account and day, and the deployment's mark that analytics delivers
    // (once per process: the next batches do without it).
    assert_eq!(writes, 5 + 1);
    assert_eq!(runner.post_segment(&body).await.0, 200);
    // Every tenth message (all of them for acct_0) is a key feature.
    let (_, record) = runner.get("/accounts/acct_0").await;
    assert_eq!(record["usage"]["events_7d"], 200, "exact after a redelivered batch");
    assert_eq!(record["usage"]["features_used_30d"], json!(["Report Exported"]));
    let users = (0..1000).filter(|i| i % 5 == 0).map(|i| i % 37).collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(record["usage"]["active_users_7d"], users);
}

async fn deliver<S: RunnerStore>(store: Arc<S>, order: &[(&str, &[u8])], link_early: bool) -> Value {
    let runner = start(store, Some(foresight_e2e::SECRET)).await;
    if link_early {
        runner.link("zendesk", "8201", "acct_globex").await;
    }
    for (source, body) in order {
        let (status, answer) = match *source {
            "stripe" => runner.post_stripe(body).await,
            "zendesk" => runner.post_zendesk(body, &format!("inv-{}", body.len())).await,
            _ => runner.post_segment(body).await,
        };
        assert_eq!(status, 200, "{source}: {answer}");
    }
    if !link_early {
        runner.link("zendesk", "8201", "acct_globex").await;
    }
    // As of a fixed time after the sample week, so windows do not move with the calendar.
    let (status, body) = runner.get("/accounts?now=2026-11-09T12:00:00Z").await;
    assert_eq!(status, 200);
    body["accounts"].clone()
}

/// Billing, support and usage events delivered in order, in reverse, and each twice give
/// identical records against DynamoDB Local, with no provisional record left.
#[tokio::test]
async fn three_sources_in_any_order_give_the_same_records() {
    let stripe = sample_stripe_events();
    let zendesk = sample_events("zendesk");
    let segment = sample_events("segment");
    let mut all: Vec<(&str, &[u8])> = Vec::new();
    all.extend(stripe.iter().map(|(_, b)| ("stripe", b.as_slice())));
    all.extend(zendesk.iter().map(|(_, b)| ("zendesk", b.as_slice())));
    all.extend(segment.iter().map(|(_, b)| ("segment", b.as_slice())));
    let reversed: Vec<(&str, &[u8])> = all.iter().rev().copied().collect();
    let twice: Vec<(&str, &[u8])> = all.iter().chain(reversed.iter()).copied().collect();

    let expected = deliver(Arc::new(dynamodb_local_store("three-in-order").await), &all, false).await;
    let from_reverse = deliver(Arc::new(dynamodb_local_store("three-reverse").await), &reversed, true).await;
    let from_twice = deliver(Arc::new(dynamodb_local_store("three-twice").await), &twice, false).await;
    assert_eq!(from_reverse, expected);
    assert_eq!(from_twice, expected);

    let ids: Vec<&str> = expected.as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acct_acme", "acct_globex", "acct_hooli", "acct_initech", "acct_umbrella"]);
    let acme = &expected[0];
    assert_eq!(acme["billing"]["mrr"], 48_000);
    assert_eq!(acme["support"]["open_tickets"], 1);
    assert_eq!(acme["usage"]["features_used_30d"].as_array().unwrap().len(), 3);
    let initech = &expected[3];
    assert_eq!(initech["usage"]["first_value_at"], "2026-11-05T16:00:00Z", "usage seen before the group call joined");
}

/// Billing under a bare Stripe customer, tickets under a bare Zendesk organization and usage
/// under the product's group id: linking the customer and the organization afterwards leaves
/// one record with all three, and no provisional record.
#[tokio::test]
async fn links_made_after_the_events_join_all_three_sources() {
    let runner = start(Arc::new(dynamodb_local_store("late-links").await), Some(foresight_e2e::SECRET)).await;
    let sub = json!({"id": "evt_late_sub", "object": "event", "type": "customer.subscription.created", "created": 1_793_700_000,
        "data": {"object": {"id": "sub_late", "customer": "cus_late", "status": "active", "metadata": {},
            "items": {"data": [{"quantity": 4, "current_period_end": 1_796_300_000,
                "price": {"unit_amount": 2500, "currency": "eur", "recurring": {"interval": "month", "interval_count": 1}}}]}}}});
    assert_eq!(runner.post_stripe(&serde_json::to_vec(&sub).unwrap()).await.1["account_id"], "cus_late");
    let ticket = br#"{"type": "zen:event-type:ticket.created", "id": "evt-late-t", "detail": {"id": "501", "status": "OPEN",
        "priority": "URGENT", "organization_id": "777", "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:00:00Z"}}"#;
    assert_eq!(runner.post_zendesk(ticket, "inv-late").await.1["account_id"], "zendesk:777");
    let usage = json!([{"type": "track", "event": "Report Exported", "userId": "late-u1", "messageId": "late-m1",
        "timestamp": rfc3339(now() - 60), "context": {"groupId": "acct_late"}}]);
    assert_eq!(runner.post_segment(&serde_json::to_vec(&usage).unwrap()).await.0, 200);
    assert_eq!(runner.accounts().await.as_array().unwrap().len(), 3, "three provisional pieces before the links");

    runner.link("stripe", "cus_late", "acct_late").await;
    runner.link("zendesk", "777", "acct_late").await;
    let accounts = runner.accounts().await;
    let ids: Vec<&str> = accounts.as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acct_late"], "provisional records are gone");
    let record = &accounts[0];
    assert_eq!(
        (record["billing"]["mrr"].as_i64(), record["billing"]["currency"].as_str()),
        (Some(10_000), Some("eur"))
    );
    assert_eq!(record["support"]["urgent_open_tickets"], 1);
    assert_eq!(record["usage"]["events_7d"], 1);
    assert_eq!(
        (record["links"]["stripe_customer_id"].as_str(), record["links"]["zendesk_organization_id"].as_str()),
        (Some("cus_late"), Some("777"))
    );
    // Later events carrying only the external ids reach the account through the links.
    let paid = json!({"id": "evt_late_paid", "type": "invoice.paid", "created": 1_793_800_000,
        "data": {"object": {"id": "in_late", "customer": "cus_late", "amount_paid": 10_000}}});
    assert_eq!(runner.post_stripe(&serde_json::to_vec(&paid).unwrap()).await.1["account_id"], "acct_late");
}

#[tokio::test]
async fn bearer_token_for_senders_that_cannot_sign_and_no_panic_on_bad_bodies() {
    use foresight::server::AppState;
    use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
    use foresight_shared::app::ingest::stripe::StripeWebhook;
    let store = Arc::new(MemoryStore::new());
    let analytics = AnalyticsWebhook::new(None, Some("rudder-token".into()), Default::default());
    let state = AppState::new(store, StripeWebhook::new(None, "account_id")).with_analytics(analytics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/segment", listener.local_addr().unwrap());
    let server = tokio::spawn(foresight::server::serve(listener, state));
    let client = reqwest::Client::new();
    let message =
        r#"{"type":"track","event":"Logged In","userId":"u1","messageId":"r1","context":{"groupId":"acct_r"}}"#;
    let send = |auth: Option<&'static str>, body: Vec<u8>| {
        let mut request = client.post(&url).body(body);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        request.send()
    };
    assert_eq!(send(Some("Bearer rudder-token"), message.into()).await.unwrap().status(), 200);
    assert_eq!(send(Some("Bearer wrong"), message.into()).await.unwrap().status(), 401);
    let missing = send(None, message.into()).await.unwrap();
    assert_eq!(missing.status(), 401, "bearer-only: no Authorization is the sender's mistake, not a 503");
    let answer: serde_json::Value = missing.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("missing Authorization: Bearer"), "{answer}");
    let bodies: Vec<Vec<u8>> = (0..message.len())
        .step_by(7)
        .map(|n| message.as_bytes()[..n].to_vec())
        .chain([
            b"null".to_vec(),
            b"[]".to_vec(),
            b"[null]".to_vec(),
            b"\xff".to_vec(),
            br#"{"type":7,"messageId":"x"}"#.to_vec(),
        ])
        .collect();
    for body in bodies {
        let status = send(Some("Bearer rudder-token"), body.clone()).await.unwrap().status();
        assert!(status == 200 || status == 400, "{status} for {:?}", String::from_utf8_lossy(&body));
    }
    server.abort();
}

/// A `groupId` (or user id, or a group trait naming another source's id) over DynamoDB's key
/// limit is a 400 before anything is written, against DynamoDB Local where the limit is real.
#[tokio::test]
async fn ids_that_cannot_be_keys_are_400() {
    let runner = start(Arc::new(dynamodb_local_store("segment-ids").await), Some("whsec_unused")).await;
    let long = "g".repeat(3_000);
    for body in [
        json!({"type": "group", "userId": "u1", "groupId": long, "messageId": "m1"}),
        json!({"type": "track", "userId": "u1", "event": "x", "messageId": "m2", "context": {"groupId": long}}),
        json!({"type": "track", "userId": long, "event": "x", "messageId": "m3"}),
        json!({"type": "group", "userId": "u1", "groupId": "acct_1", "messageId": "m4", "traits": {"stripe_customer_id": long}}),
    ] {
        let (status, answer) = runner.post_segment(body.to_string().as_bytes()).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains("bytes"), "{answer}");
    }
    assert_eq!(runner.accounts().await, json!([]), "nothing written");
}
