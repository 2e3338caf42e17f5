//! The health sweep through the runner, against DynamoDB Local: every account scored with its
//! breakdown, a second sweep at the same `now` changes nothing, the trend comes from the daily
//! history, and a bad `now` is a 400.

use foresight_e2e::{sample_events, sample_stripe_events, start};
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::Value;
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
    assert_eq!(billing["reason"], "past due, payment failed 2×");
    assert!(health["change_7d"].is_i64(), "trend from the score a week earlier: {health}");
    let (_, hooli) = runner.get("/accounts/acct_hooli").await;
    assert_eq!(hooli["health"]["band"], "red");

    assert_eq!(sweep(&runner, "yesterday").await.0, 400);
}
