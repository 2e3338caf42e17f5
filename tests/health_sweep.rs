//! The health sweep through the runner, against DynamoDB Local: every account scored with its
//! breakdown, a second sweep at the same `now` changes nothing, the trend comes from the daily
//! history, and a bad `now` is a 400.

use foresight_e2e::{sample_events, sample_stripe_events, start};
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::{json, Value};
use std::sync::Arc;

async fn sweep(runner: &foresight_e2e::Runner, now: &str) -> (u16, Value) {
    let response = runner.client.post(format!("{}/sweeps/health?now={now}", runner.url)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn sweeps_score_every_account_once_per_now_with_a_trend() {
    let runner = start(Arc::new(dynamodb_local_store("health-sweep").await), Some(foresight_e2e::SECRET)).await;
    for (_, body) in sample_stripe_events() {
        assert_eq!(runner.post_stripe(&body).await.0, 200);
    }
    for (name, body) in sample_events("zendesk") {
        assert_eq!(runner.post_zendesk(&body, &name).await.0, 200);
    }
    runner.link("zendesk", "8201", "acct_globex").await;
    let (status, first) = sweep(&runner, "2026-11-02T12:00:00Z").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["summary"]["scored"], 5);
    let (_, later) = sweep(&runner, "2026-11-09T12:00:00Z").await;
    assert_eq!(later["summary"]["scored"], 5);
    let before = runner.accounts().await;
    let (_, again) = sweep(&runner, "2026-11-09T12:00:00Z").await;
    assert_eq!(again["summary"], later["summary"]);
    assert_eq!(runner.accounts().await, before, "a second sweep at the same now changes nothing");
    let (_, older) = sweep(&runner, "2026-11-05T12:00:00Z").await;
    assert_eq!(older["summary"]["scored"], 5);
    assert_eq!(
        runner.accounts().await.as_array().unwrap().iter().map(|a| &a["health"]).collect::<Vec<_>>(),
        before.as_array().unwrap().iter().map(|a| &a["health"]).collect::<Vec<_>>(),
        "an older now never overwrites a newer score"
    );

    let (_, globex) = runner.get("/accounts/acct_globex").await;
    let health = &globex["health"];
    assert_eq!(health["scored_at"], "2026-11-09T12:00:00Z");
    let points: i64 = health["components"].as_array().unwrap().iter().map(|c| c["points"].as_i64().unwrap()).sum();
    assert_eq!(points, health["score"].as_i64().unwrap(), "the breakdown adds up: {health}");
    let billing = health["components"].as_array().unwrap().iter().find(|c| c["name"] == "billing").unwrap();
    assert_eq!(billing["reason"], "past due: 28,800.00 USD owed since 2026-11-04, payment failed 2×");
    assert_ne!(health["band"], "green", "a past-due account is not green: {health}");
    assert!(health["change_7d"].is_i64(), "trend from the score a week earlier: {health}");
    let (_, hooli) = runner.get("/accounts/acct_hooli").await;
    assert_eq!(hooli["health"]["band"], "red");

    assert_eq!(sweep(&runner, "yesterday").await.0, 400);
}

/// The demo's sample week (issue 13's finding): its only alert used to be an expansion
/// opportunity for Globex, past due after two declined payments with a bad CSAT. Now no
/// opportunity goes to an account that is not green, Globex's billing says what it owes, since
/// when and why, and its payment alert names no invoice id.
#[tokio::test]
async fn the_demo_week_raises_no_opportunity_for_an_account_at_risk() {
    use foresight::demo::{self, DEMO_NOW};
    use foresight::server::{self, AppState};
    use foresight_shared::adapters::memory::MemoryStore;
    use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
    use foresight_shared::app::ingest::stripe::StripeWebhook;
    use foresight_shared::app::ingest::typeform::TypeformWebhook;
    use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
    use foresight_shared::app::settings::Settings;
    use foresight_shared::sources::stripe::signature::StripeSecrets;

    let settings = Settings::default().with_analytics(demo::demo_analytics_config());
    let state = AppState::new(
        Arc::new(MemoryStore::new()),
        StripeWebhook::new(Some(StripeSecrets::new(demo::DEMO_STRIPE_SECRET, None)), "account_id"),
    )
    .with_zendesk(ZendeskWebhook::new(Some(demo::DEMO_ZENDESK_SECRET.into())))
    .with_analytics(AnalyticsWebhook::new(Some(demo::DEMO_SEGMENT_SECRET.into()), None, settings.analytics.clone()))
    .with_typeform(TypeformWebhook::new(Some(demo::DEMO_TYPEFORM_SECRET.into()), "account_id"))
    .with_settings(settings);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(server::serve(listener, state));
    let events = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events");
    let folders: Vec<_> = ["stripe", "zendesk", "segment", "typeform"].iter().map(|f| events.join(f)).collect();
    let sent = demo::send(&url, &folders, &demo::SigningSecrets::demo()).await.unwrap();
    assert_eq!(sent, 22 + 7 + 4 + 3, "every sample event accepted");
    demo::link(&url, "zendesk", "8201", "acct_globex").await.unwrap();
    let client = reqwest::Client::new();
    let sweep: Value =
        client.post(format!("{url}/sweeps/health?now={DEMO_NOW}")).send().await.unwrap().json().await.unwrap();
    let accounts: Value =
        client.get(format!("{url}/accounts?now={DEMO_NOW}")).send().await.unwrap().json().await.unwrap();
    let band = |id: &str| {
        accounts["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["account_id"] == id)
            .map(|a| a["health"]["band"].clone())
    };
    let outbox: Value = client.get(format!("{url}/outbox")).send().await.unwrap().json().await.unwrap();
    for entry in outbox["notifications"].as_array().unwrap() {
        let alert = &entry["alert"];
        if alert["severity"] == "opportunity" {
            let id = alert["account_id"].as_str().unwrap();
            assert_eq!(band(id), Some(json!("green")), "an opportunity for {id}, which is not green: {alert}");
        }
        if alert["kind"] == "payment_failed" {
            let headline = alert["headline"].as_str().unwrap();
            assert!(!headline.contains("in_globex"), "{headline}");
            assert!(headline.contains("USD owed since"), "{headline}");
        }
    }
    let keys: Vec<&str> = sweep["summary"]["alerts"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert!(!keys.iter().any(|k| k.contains("/expansion/")), "{keys:?}");
    let globex =
        accounts["accounts"].as_array().unwrap().iter().find(|a| a["account_id"] == "acct_globex").unwrap().clone();
    assert_ne!(globex["health"]["band"], "green", "past due is not green: {}", globex["health"]);
    let past_due = &globex["billing"]["past_due"];
    assert_eq!(past_due["amount"], 2_880_000, "{past_due}");
    assert_eq!(past_due["reason"], "card declined: insufficient funds", "{past_due}");
    assert_eq!(globex["lifecycle"], "adoption", "not `expansion` while past due");
    server.abort();
}
