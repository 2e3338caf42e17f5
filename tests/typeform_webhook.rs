//! The Typeform webhook over HTTP (`POST /webhooks/typeform`): the signature vector of
//! `integrations.md` verifies and wrong, missing and malformed signatures are refused with 400;
//! an answer is stored once on the account its hidden field names, or kept as unlinked; a
//! detractor's answer raises `nps_detractor` with the comment at once (high and low touch).

use foresight::server::{self, AppState};
use foresight_e2e::{now, start, SECRET};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::domain::time;
use serde_json::{json, Value};
use std::sync::Arc;

/// The vector of `../shared/integrations.md` (secret `tf_test_secret`).
const VECTOR_BODY: &str = r#"{"event_id":"01HTEST","event_type":"form_response","form_response":{"form_id":"abc123","hidden":{"account_id":"acct_1"},"answers":[{"type":"number","number":9,"field":{"id":"f1","type":"nps","ref":"nps"}}]}}"#;
const VECTOR_SIGNATURE: &str = "sha256=g8soc+nOCDqdLug8gqq0n6vVuAOM3REitpj5I9THRmQ=";

/// A runner whose Typeform webhook has the vector's secret.
async fn vector_runner() -> (String, tokio::task::JoinHandle<Result<(), String>>) {
    let state = AppState::new(Arc::new(MemoryStore::new()), StripeWebhook::new(None, "account_id"))
        .with_typeform(TypeformWebhook::new(Some("tf_test_secret".into()), "account_id"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, tokio::spawn(server::serve(listener, state)))
}

async fn post(url: &str, body: &str, signature: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{url}/webhooks/typeform")).body(body.to_owned());
    if let Some(s) = signature {
        request = request.header("typeform-signature", s);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_documented_vector_verifies_and_bad_signatures_are_400() {
    let (url, server) = vector_runner().await;
    let (status, answer) = post(&url, VECTOR_BODY, Some(VECTOR_SIGNATURE)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((answer["event_id"].as_str(), answer["account_id"].as_str()), (Some("01HTEST"), Some("acct_1")));
    let (status, record) = {
        let r = reqwest::get(format!("{url}/accounts/acct_1")).await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(record["surveys"]["nps_last"], 9, "{record}");
    assert!(record["connected"].as_array().unwrap().contains(&json!("surveys")), "{record}");

    let wrong = "sha256=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    for (case, signature) in [
        ("wrong", Some(wrong)),
        ("missing", None),
        ("malformed: no prefix", Some("g8soc+nOCDqdLug8gqq0n6vVuAOM3REitpj5I9THRmQ=")),
        ("malformed: not base64", Some("sha256=***")),
        ("malformed: another hash", Some("sha1=g8soc+nOCDqdLug8gqq0n6vVuAOM3REitpj5I9THRmQ=")),
    ] {
        let (status, answer) = post(&url, VECTOR_BODY, signature).await;
        assert_eq!(status, 400, "{case}: {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| e.contains("signature")), "{case}: {answer}");
    }
    // The vector's signature does not cover another body.
    let (status, _) = post(&url, &VECTOR_BODY.replace("\"number\":9", "\"number\":0"), Some(VECTOR_SIGNATURE)).await;
    assert_eq!(status, 400);
    server.abort();
}

fn form_response(event_id: &str, hidden: Value, score: u8, comment: Option<&str>) -> Vec<u8> {
    let mut answers =
        vec![json!({"type": "number", "number": score, "field": {"id": "q1", "type": "nps", "ref": "nps"}})];
    if let Some(c) = comment {
        answers.push(json!({"type": "text", "text": c, "field": {"id": "q2", "type": "long_text", "ref": "why"}}));
    }
    serde_json::to_vec(&json!({"event_id": event_id, "event_type": "form_response", "form_response": {
        "form_id": "nps", "token": format!("tok-{event_id}"), "submitted_at": time::rfc3339(now() - 3600),
        "hidden": hidden, "answers": answers}}))
    .unwrap()
}

#[tokio::test]
async fn answers_are_kept_once_linked_or_not_and_a_detractor_alerts_at_once() {
    let runner = start(Arc::new(MemoryStore::new()), Some(SECRET)).await;
    // A low-touch customer (1,000.00 a month).
    let sub = json!({"id": "evt_tf_sub", "object": "event", "type": "customer.subscription.created", "created": now() - 100,
        "data": {"object": {"id": "sub_tf", "customer": "cus_tf", "status": "active", "metadata": {"account_id": "acct_tf"},
            "items": {"data": [{"quantity": 1, "current_period_end": now() + 30 * 86_400,
                "price": {"unit_amount": 100_000, "currency": "usd", "recurring": {"interval": "month", "interval_count": 1}}}]}}}});
    assert_eq!(runner.post_stripe(&serde_json::to_vec(&sub).unwrap()).await.0, 200);

    let detractor =
        form_response("01HDETRACTOR", json!({"account_id": "acct_tf"}), 3, Some("Reports take minutes to load"));
    let (status, answer) = runner.post_typeform(&detractor).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["alerts"], json!(["acct_tf/nps_detractor/tf-01HDETRACTOR"]), "{answer}");
    // Redelivered: stored once, no second alert.
    let (status, again) = runner.post_typeform(&detractor).await;
    assert_eq!((status, again["alerts"].clone()), (200, json!([])), "{again}");
    let (_, outbox) = runner.get("/outbox").await;
    let alerts = outbox["notifications"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{outbox}");
    let alert = &alerts[0]["alert"];
    assert_eq!(alert["kind"], "nps_detractor");
    assert_eq!(alert["headline"], "NPS 3 from a survey response: \u{201c}Reports take minutes to load\u{201d}");
    assert_eq!(alert["raised_by"], "typeform-webhook");
    assert!(alert["score"].is_i64(), "scored at that moment, not \"not scored yet\": {alert}");
    assert!(alert["summary"].as_str().unwrap().starts_with("health "), "{alert}");

    // A promoter's answer: stored, no alert.
    let promoter = form_response("01HPROMOTER", json!({"account_id": "acct_tf"}), 10, None);
    assert_eq!(runner.post_typeform(&promoter).await.1["alerts"], json!([]));
    let (_, record) = runner.get("/accounts/acct_tf").await;
    let surveys = &record["surveys"];
    assert_eq!((surveys["nps_responses_90d"].as_i64(), surveys["nps_90d"].as_i64()), (Some(2), Some(0)), "{record}");
    assert_eq!((surveys["promoters_90d"].as_i64(), surveys["detractors_90d"].as_i64()), (Some(1), Some(1)));
    assert!(surveys.get("recent").is_none(), "comments stay out of the record's JSON: {surveys}");

    // Without the hidden field: kept as unlinked, never lost, never scored.
    let anonymous = form_response("01HANON", json!({"utm_source": "mail"}), 2, Some("who am I"));
    let (status, answer) = runner.post_typeform(&anonymous).await;
    assert_eq!(
        (status, answer["account_id"].as_str(), answer["alerts"].clone()),
        (200, Some("unlinked:surveys"), json!([]))
    );
    let (_, unlinked) = runner.get("/accounts/unlinked:surveys").await;
    assert_eq!(unlinked["surveys"]["nps_last"], 2, "{unlinked}");
    let (_, sweep) = {
        let r = runner.client.post(format!("{}/sweeps/health", runner.url)).send().await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(sweep["summary"]["scored"], 1, "the unlinked holder is not an account to score: {sweep}");

    // A form without an NPS question carries nothing to store; a broken body is a 400.
    let no_nps = serde_json::to_vec(&json!({"event_id": "01HNONPS", "event_type": "form_response",
        "form_response": {"hidden": {"account_id": "acct_tf"}, "answers": [{"type": "text", "text": "hi", "field": {"id": "q", "type": "short_text"}}]}}))
    .unwrap();
    let (status, answer) = runner.post_typeform(&no_nps).await;
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("ignored")), "{answer}");
    let (status, _) = runner.post_typeform(b"{\"event_id\":").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn without_its_secret_the_webhook_answers_503_naming_it() {
    let runner = start(Arc::new(MemoryStore::new()), None).await;
    let (status, answer) =
        runner.post_typeform_raw(VECTOR_BODY.as_bytes().to_vec(), Some(VECTOR_SIGNATURE.into())).await;
    assert_eq!(status, 503);
    assert!(answer["error"].as_str().unwrap().contains("TYPEFORM_WEBHOOK_SECRET"), "{answer}");
}
