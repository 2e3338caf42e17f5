//! Backfill after missed webhooks, against local fakes of Stripe's `/v1/events` and Zendesk's
//! incremental ticket export (wiremock serving real-shaped pages), on DynamoDB Local: events the
//! webhook never received arrive and give the same records as if delivered; what it did receive
//! changes nothing; a second backfill is a no-op; a 429 from Zendesk is waited out.

use foresight::backfill::BackfillState;
use foresight::server::{self, AppState};
use foresight_e2e::{
    analytics_config, sample_events, sample_stripe_events, start, Runner, SECRET, SEGMENT_SECRET, ZENDESK_SECRET,
};
use foresight_shared::adapters::dynamodb::CapacityMeter;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::adapters::source_api::{StripeApi, ZendeskApi};
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::testkit::{dynamodb_local_client, dynamodb_local_store, scan_table_json};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const STRIPE_KEY: &str = "rk_test_backfill";
const ZENDESK_EMAIL: &str = "ops@acme.example";
const ZENDESK_TOKEN: &str = "zd_backfill_token";

/// Stripe's events API as a fake: the sample events (those with an id: `invoice.upcoming` has
/// none and is never listed), newest first, in two pages.
async fn stripe_fake() -> MockServer {
    let server = MockServer::start().await;
    let mut events: Vec<Value> = sample_stripe_events()
        .iter()
        .map(|(_, body)| serde_json::from_slice::<Value>(body).unwrap())
        .filter(|e| e["type"] != "invoice.upcoming")
        .collect();
    events.reverse();
    let (first, second) = events.split_at(10);
    let page = |data: &[Value], has_more: bool| json!({"object": "list", "url": "/v1/events", "has_more": has_more, "data": data});
    let last_of_first = first.last().unwrap()["id"].as_str().unwrap().to_owned();
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(header("authorization", format!("Bearer {STRIPE_KEY}").as_str()))
        .and(query_param("created[gte]", "1790000000"))
        .and(query_param("limit", "100"))
        .and(query_param_is_missing("starting_after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(first, true)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/events"))
        .and(header("authorization", format!("Bearer {STRIPE_KEY}").as_str()))
        .and(query_param("starting_after", last_of_first.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(second, false)))
        .mount(&server)
        .await;
    server
}

/// Each sample ticket's latest state as the incremental export lists it (ids as numbers).
fn exported_tickets() -> Vec<Value> {
    let mut latest: BTreeMap<String, Value> = BTreeMap::new();
    for (_, body) in sample_events("zendesk") {
        let event: Value = serde_json::from_slice(&body).unwrap();
        let ticket = event.get("detail").cloned().unwrap_or(event.clone());
        let id = ticket.get("id").or(ticket.get("ticket_id")).and_then(Value::as_str).unwrap().to_owned();
        let number = |v: &Value| v.as_str().and_then(|s| s.parse::<u64>().ok()).map_or(Value::Null, Value::from);
        let exported = json!({
            "id": number(&json!(id)),
            "status": ticket["status"].as_str().unwrap().to_lowercase(),
            "priority": ticket["priority"].as_str().map(str::to_lowercase),
            "organization_id": number(&ticket["organization_id"]),
            "created_at": ticket["created_at"], "updated_at": ticket["updated_at"],
            "subject": null, "tags": [],
        });
        let newer = latest.get(&id).is_none_or(|t| t["updated_at"].as_str() < exported["updated_at"].as_str());
        if newer {
            latest.insert(id, exported);
        }
    }
    latest.into_values().collect()
}

/// Zendesk's export as a fake: a 429 first (Retry-After 1 s), then two cursor pages.
async fn zendesk_fake() -> MockServer {
    let server = MockServer::start().await;
    let tickets = exported_tickets();
    let (first, second) = tickets.split_at(2);
    let export = "/api/v2/incremental/tickets/cursor.json";
    let auth = "Basic b3BzQGFjbWUuZXhhbXBsZS90b2tlbjp6ZF9iYWNrZmlsbF90b2tlbg=="; // ops@acme.example/token:zd_backfill_token
    Mock::given(method("GET"))
        .and(path(export))
        .and(query_param("start_time", "1790000000"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(export))
        .and(header("authorization", auth))
        .and(query_param("start_time", "1790000000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tickets": first, "after_cursor": "cursor-2", "after_url": format!("{export}?cursor=cursor-2"),
            "before_cursor": null, "before_url": null, "end_of_stream": false})))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(export))
        .and(header("authorization", auth))
        .and(query_param("cursor", "cursor-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "tickets": second, "after_cursor": "cursor-3", "after_url": null,
            "before_cursor": "cursor-1", "before_url": null, "end_of_stream": true})))
        .mount(&server)
        .await;
    server
}

async fn runner_with_apis(
    table: &str,
    stripe_api: &MockServer,
    zendesk_api: &MockServer,
) -> (Runner, Arc<CapacityMeter>) {
    let store = Arc::new(foresight_shared::adapters::dynamodb::DynamoStore::new(dynamodb_local_client().await, table));
    let meter = store.meter();
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let backfill = BackfillState {
        stripe: Some(Arc::new(StripeApi::new(stripe_api.uri(), STRIPE_KEY).unwrap())),
        zendesk: Some(Arc::new(
            ZendeskApi::new(zendesk_api.uri(), ZENDESK_EMAIL, ZENDESK_TOKEN).unwrap().with_min_interval(Duration::ZERO),
        )),
    };
    let state = AppState::new(store, stripe)
        .with_zendesk(ZendeskWebhook::new(Some(ZENDESK_SECRET.to_owned())))
        .with_analytics(AnalyticsWebhook::new(Some(SEGMENT_SECRET.to_owned()), None, analytics_config()))
        .with_backfill(backfill);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (Runner::attach(url, tokio::spawn(server::serve(listener, state))), meter)
}

async fn backfill(runner: &Runner, source: &str) -> Value {
    // 2026-09-21T14:13:20Z = 1790000000.
    let url = format!("{}/backfill/{source}?since=2026-09-21T14:13:20Z", runner.url);
    let response = runner.client.post(url).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body
}

/// The records (billing and support) of a runner that received every webhook.
async fn reference_records() -> BTreeMap<String, Value> {
    let reference = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    for (_, body) in sample_stripe_events() {
        assert_eq!(reference.post_stripe(&body).await.0, 200);
    }
    for (i, (_, body)) in sample_events("zendesk").into_iter().enumerate() {
        assert_eq!(reference.post_zendesk(&body, &format!("inv-{i}")).await.0, 200);
    }
    records(&reference).await
}

async fn records(runner: &Runner) -> BTreeMap<String, Value> {
    let accounts = runner.accounts().await;
    accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let mut support = a["support"].clone();
            // CSAT comes from trigger webhooks only (the export carries the rating on the
            // ticket, which the sample tickets here leave out).
            if let Some(fields) = support.as_object_mut() {
                fields.retain(|k, _| k.contains("tickets"));
            }
            (a["account_id"].as_str().unwrap().to_owned(), json!({"billing": a["billing"], "support": support}))
        })
        .collect()
}

#[tokio::test]
async fn stripe_backfill_brings_missed_events_and_replays_the_rest_as_no_ops() {
    let store = dynamodb_local_store("backfill-stripe").await;
    let table = store.table().to_owned();
    let (stripe_api, zendesk_api) = (stripe_fake().await, zendesk_fake().await);
    let (runner, meter) = runner_with_apis(&table, &stripe_api, &zendesk_api).await;
    // The webhook received Acme's events only; the endpoint was down for the rest.
    for (name, body) in sample_stripe_events().into_iter().filter(|(name, _)| name.contains("acme")) {
        assert_eq!(runner.post_stripe(&body).await.0, 200, "{name}");
    }
    let acme = |items: &HashMap<(String, String), String>| -> BTreeMap<(String, String), String> {
        items.iter().filter(|((pk, _), _)| pk.contains("acme")).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let before = scan_table_json(&table).await;

    let listed = sample_stripe_events().iter().filter(|(name, _)| !name.contains("upcoming")).count() as u64;
    let first = backfill(&runner, "stripe").await;
    assert_eq!(first["pages"], 2, "{first}");
    assert_eq!(first["listed"], listed, "{first}");
    assert!(first["applied"].as_u64().unwrap() >= 10, "missed events arrive: {first}");
    assert_eq!(first["rejected"], 0, "{first}");
    assert_eq!(acme(&scan_table_json(&table).await), acme(&before), "events the webhook received change nothing");

    let expected = reference_records().await;
    let got = records(&runner).await;
    for (account, record) in &expected {
        if expected[account]["billing"]["mrr"].as_i64().unwrap_or(0) > 0 {
            assert_eq!(got.get(account).map(|r| &r["billing"]), Some(&record["billing"]), "{account}");
        }
    }

    let settled = scan_table_json(&table).await;
    let writes = meter.reading().write_requests;
    let second = backfill(&runner, "stripe").await;
    assert_eq!(scan_table_json(&table).await, settled, "a second backfill changes no item");
    assert_eq!(second["listed"], listed, "{second}");
    // A replay reads each record first: every event is already reflected, so none is written.
    assert_eq!(second["applied"], 0, "{second}");
    let unchanged = second["duplicates"].as_u64().unwrap() + second["ignored"].as_u64().unwrap();
    assert_eq!(unchanged, listed, "{second}");
    let second_writes = meter.reading().write_requests - writes;
    println!("second Stripe backfill: {second_writes} DynamoDB write requests, 0 items changed");
    assert_eq!(second_writes, 0, "a second backfill is a no-op: no write request at all");
}

#[tokio::test]
async fn zendesk_backfill_waits_out_a_429_and_brings_the_missed_ticket_only() {
    let store = dynamodb_local_store("backfill-zendesk").await;
    let table = store.table().to_owned();
    let (stripe_api, zendesk_api) = (stripe_fake().await, zendesk_fake().await);
    let (runner, meter) = runner_with_apis(&table, &stripe_api, &zendesk_api).await;
    for (name, body) in sample_stripe_events() {
        assert_eq!(runner.post_stripe(&body).await.0, 200, "{name}");
    }
    // Every Zendesk delivery but ticket 202's creation arrived.
    for (i, (name, body)) in sample_events("zendesk").into_iter().enumerate() {
        if !name.contains("202") {
            assert_eq!(runner.post_zendesk(&body, &format!("inv-{i}")).await.0, 200, "{name}");
        }
    }
    let before = scan_table_json(&table).await;
    let writes = meter.reading().write_requests;
    let started = Instant::now();
    let first = backfill(&runner, "zendesk").await;
    assert!(started.elapsed() >= Duration::from_secs(1), "the 429's Retry-After was waited out");
    assert_eq!((first["pages"].as_u64(), first["listed"].as_u64()), (Some(2), Some(4)), "{first}");
    assert_eq!((first["applied"].as_u64(), first["duplicates"].as_u64()), (Some(1), Some(3)), "{first}");
    let after = scan_table_json(&table).await;
    let changed: Vec<&(String, String)> = after.keys().filter(|k| before.get(*k) != after.get(*k)).collect();
    assert_eq!(changed.len(), 1, "only the missed ticket's account changed: {changed:?}");
    let first_writes = meter.reading().write_requests - writes;
    println!("first Zendesk backfill: {first_writes} DynamoDB write requests for 1 missed ticket and 3 received");
    assert!(first_writes <= 2, "the received tickets write nothing: {first_writes} write requests");

    let expected = reference_records().await;
    let got = records(&runner).await;
    for (account, record) in &expected {
        assert_eq!(got.get(account).map(|r| &r["support"]), Some(&record["support"]), "{account}");
    }

    let writes = meter.reading().write_requests;
    let second = backfill(&runner, "zendesk").await;
    assert_eq!(second["applied"], 0, "{second}");
    assert_eq!(scan_table_json(&table).await, after, "a second backfill writes nothing");
    assert_eq!(meter.reading().write_requests - writes, 0, "a second backfill sends no write request");
}

#[tokio::test]
async fn backfill_without_credentials_names_the_variable() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    let response = runner.client.post(format!("{}/backfill/stripe", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.text().await.unwrap().contains("STRIPE_API_KEY"));
    let response = runner.client.post(format!("{}/backfill/zendesk?since=yesterday", runner.url)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 400);
}
