//! The Zendesk webhook over HTTP: signature scheme, replay window, bad bodies, per-ticket state
//! under redelivery and reordering, and a late organization link — against DynamoDB Local.

use foresight_e2e::{now, sample_events, start, ZENDESK_SECRET};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::sources::zendesk::signature::compute_signature;
use foresight_shared::testkit::dynamodb_local_store;
use std::sync::Arc;

fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn signed(body: &[u8], timestamp: &str, signature: String) -> Vec<(&'static str, String)> {
    vec![
        ("x-zendesk-webhook-signature", signature),
        ("x-zendesk-webhook-signature-timestamp", timestamp.to_owned()),
        ("x-zendesk-webhook-invocation-id", format!("inv-{}", body.len())),
    ]
}

#[tokio::test]
async fn signature_order_window_and_tampering() {
    let runner = start(Arc::new(MemoryStore::new()), Some("whsec_unused")).await;
    let body = br#"{"ticket_id": "1", "status": "open", "organization_external_id": "acct_1"}"#.to_vec();
    let ts = rfc3339(now());
    let good = compute_signature(ZENDESK_SECRET, &ts, &body);
    assert_eq!(runner.post_zendesk_raw(body.clone(), &signed(&body, &ts, good.clone())).await.0, 200);

    let mut reversed = body.clone();
    reversed.extend_from_slice(ts.as_bytes());
    let body_then_timestamp = compute_signature(ZENDESK_SECRET, "", &reversed);
    let (status, answer) = runner.post_zendesk_raw(body.clone(), &signed(&body, &ts, body_then_timestamp)).await;
    assert_eq!(status, 400, "body + timestamp order must fail: {answer}");

    let stale_ts = rfc3339(now() - 301);
    let stale = compute_signature(ZENDESK_SECRET, &stale_ts, &body);
    let (status, answer) = runner.post_zendesk_raw(body.clone(), &signed(&body, &stale_ts, stale)).await;
    assert_eq!(status, 400);
    assert!(answer["error"].as_str().unwrap().contains("replay window"), "{answer}");

    let mut tampered = body.clone();
    tampered[20] ^= 1;
    assert_eq!(runner.post_zendesk_raw(tampered.clone(), &signed(&tampered, &ts, good)).await.0, 400);
    assert_eq!(runner.post_zendesk_raw(body.clone(), &[]).await.0, 400);

    let unconfigured = start(Arc::new(MemoryStore::new()), None).await;
    let (status, answer) = unconfigured.post_zendesk(&body, "inv").await;
    assert_eq!(status, 503);
    assert!(answer["error"].as_str().unwrap().contains("ZENDESK_WEBHOOK_SECRET"), "{answer}");
}

#[tokio::test]
async fn bad_bodies_are_400_and_other_types_ignored() {
    let runner = start(Arc::new(MemoryStore::new()), Some("whsec_unused")).await;
    let broken = br#"{"ticket_id": "9", "status": "open", "organization_external_id": "Acme "West""}"#;
    let (status, answer) = runner.post_zendesk(broken, "inv-broken").await;
    assert_eq!(status, 400);
    let error = answer["error"].as_str().unwrap();
    // The first byte that breaks the JSON: the W after the placeholder's unescaped quote.
    let west = broken.windows(4).position(|w| w == b"West").unwrap();
    assert!(error.contains(&format!("malformed JSON at byte {west} ")), "{error}");
    assert_eq!(runner.post_zendesk(br#"{"hello": "world"}"#, "inv-x").await.0, 400);
    let user_event = br#"{"type": "zen:event-type:user.created", "id": "e1", "detail": {"id": "5"}}"#;
    let (status, answer) = runner.post_zendesk(user_event, "inv-u").await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")));
    for cut in [0, 1, 10, 40] {
        let (status, _) = runner.post_zendesk(&broken[..cut], "inv-cut").await;
        assert_eq!(status, 400);
    }
}

/// The sample Zendesk events in order, reversed, and each delivered twice, with the late link
/// made before or after them: the same records, and the provisional record gone.
#[tokio::test]
async fn tickets_in_any_order_with_a_late_link_give_the_same_records() {
    let events = sample_events("zendesk");
    let forward: Vec<&(String, Vec<u8>)> = events.iter().collect();
    let backward: Vec<&(String, Vec<u8>)> = events.iter().rev().collect();
    let twice: Vec<&(String, Vec<u8>)> = events.iter().chain(events.iter().rev()).collect();
    let mut results = Vec::new();
    for (label, order, link_first) in
        [("forward", &forward, false), ("backward", &backward, true), ("twice", &twice, false)]
    {
        let runner =
            start(Arc::new(dynamodb_local_store(&format!("zendesk-{label}")).await), Some("whsec_unused")).await;
        if link_first {
            runner.link("zendesk", "8201", "acct_globex").await;
        }
        for (name, body) in order.iter() {
            let (status, answer) = runner.post_zendesk(body, name).await;
            assert_eq!(status, 200, "{label} {name}: {answer}");
        }
        if !link_first {
            let linked = runner.link("zendesk", "8201", "acct_globex").await;
            assert_eq!(linked["merged_provisional_record"], label == "forward" || label == "twice", "{linked}");
        }
        results.push((label, runner.accounts().await));
    }
    let (_, expected) = &results[0];
    for (label, accounts) in &results[1..] {
        assert_eq!(accounts, expected, "{label}");
    }
    let ids: Vec<&str> = expected.as_array().unwrap().iter().map(|a| a["account_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acct_acme", "acct_globex"], "no provisional zendesk:8201 left");
    let acme = &expected[0];
    assert_eq!(acme["links"]["zendesk_organization_id"], "8193");
    assert_eq!(
        (acme["support"]["open_tickets"].as_u64(), acme["support"]["urgent_open_tickets"].as_u64()),
        (Some(1), Some(1))
    );
    let globex = &expected[1];
    assert_eq!(globex["support"]["open_tickets"], 1, "201 solved (late rating trigger), 202 open");
}

/// Trigger placeholders such as `{{ticket.created_at_with_timestamp}}` can render without
/// seconds (`2013-12-12T05:35Z`): such a ticket is parsed and counts in the 30-day window.
#[tokio::test]
async fn a_minute_precision_trigger_timestamp_counts_in_the_30_day_window() {
    let runner = start(Arc::new(MemoryStore::new()), Some("whsec_unused")).await;
    let minute = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap().format("%Y-%m-%dT%H:%MZ").to_string();
    let (created, updated) = (minute(now() - 3 * 86_400), minute(now() - 60));
    assert_eq!(created.len(), "2013-12-12T05:35Z".len(), "{created}");
    let body = format!(
        r#"{{"ticket_id": "4242", "status": "open", "priority": "normal", "organization_id": "7001",
            "organization_external_id": "acct_minutes", "requester_id": "5",
            "created_at": "{created}", "updated_at": "{updated}", "satisfaction": "Good"}}"#
    );
    let (status, answer) = runner.post_zendesk(body.as_bytes(), "inv-minutes").await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("applied")), "{answer}");
    let (_, record) = runner.get("/accounts/acct_minutes").await;
    let support = &record["support"];
    assert_eq!(support["open_tickets"], 1, "{record}");
    assert_eq!(support["tickets_30d"], 1, "created 3 days ago, at minute precision: {record}");
    assert_eq!(support["csat_good_30d"], 1, "rated at the minute-precision updated_at: {record}");
    // Created 31 days ago at minute precision: outside the window.
    let old = body.replace(&created, &minute(now() - 31 * 86_400)).replace("4242", "4243");
    assert_eq!(runner.post_zendesk(old.as_bytes(), "inv-minutes-old").await.0, 200);
    let (_, record) = runner.get("/accounts/acct_minutes").await;
    assert_eq!(
        (record["support"]["open_tickets"].as_u64(), record["support"]["tickets_30d"].as_u64()),
        (Some(2), Some(1))
    );
}

/// An organization external id over DynamoDB's key limit is a 400 naming it (a 5xx would be
/// retried), against DynamoDB Local where the limit is real.
#[tokio::test]
async fn an_external_id_that_cannot_be_a_key_is_400() {
    let runner = start(Arc::new(dynamodb_local_store("zendesk-ids").await), Some("whsec_unused")).await;
    for field in ["organization_external_id", "organization_id"] {
        let body = serde_json::json!({"ticket_id": "1", "status": "open", field: "o".repeat(3_000)}).to_string();
        let (status, answer) = runner.post_zendesk(body.as_bytes(), &format!("inv-long-{field}")).await;
        assert_eq!(status, 400, "{answer}");
        assert!(answer["error"].as_str().unwrap().contains(field), "{answer}");
    }
    let long_ticket =
        serde_json::json!({"ticket_id": "9".repeat(3_000), "status": "open", "organization_external_id": "acct_1"});
    assert_eq!(runner.post_zendesk(long_ticket.to_string().as_bytes(), "inv-long-ticket").await.0, 400);
    assert_eq!(runner.accounts().await, serde_json::json!([]));
}
