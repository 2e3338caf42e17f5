//! The local runner delivers for real when Slack is configured: a signed `invoice.payment_failed`
//! raises its alert at the webhook, the runner's consumer dispatches it to Slack (here a
//! wiremock server in Slack's shape), and `GET /outbox` shows the effect sent with its `ts`.

use foresight::server::{self, AppState};
use foresight::signing::stripe_header;
use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::adapters::slack::SlackApi;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::runtime::delivery::DeliveryChannels;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_delivery_e2e";

#[tokio::test]
async fn a_failed_payment_reaches_slack_once_and_the_outbox_says_so() {
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-e2e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.0001"})))
        .mount(&slack)
        .await;
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let state = AppState::new(Arc::new(MemoryStore::new()), stripe);
    let api = SlackApi::new(http_client().unwrap(), "xoxb-e2e").with_base_url(format!("{}/api", slack.uri()));
    state.start_delivery(DeliveryChannels { slack: Some(Box::new(api)), crm: None }).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runner = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, state));

    let client = reqwest::Client::new();
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe");
    let mut files: Vec<_> = std::fs::read_dir(&events).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut raised = Vec::new();
    for file in &files {
        let body = std::fs::read(file).unwrap();
        let t = foresight_shared::runtime::clock::unix_now();
        let answer: Value = client
            .post(format!("{runner}/webhooks/stripe"))
            .header("stripe-signature", stripe_header(SECRET, t, &body))
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        raised.extend(answer["alerts"].as_array().into_iter().flatten().filter_map(|k| k.as_str().map(String::from)));
    }
    assert!(raised.iter().any(|k| k.contains("/payment_failed/")), "the sample week fails a payment: {raised:?}");

    // Delivered in the background: wait until every raised alert is sent.
    let mut outbox = Value::Null;
    for _ in 0..100 {
        outbox = client.get(format!("{runner}/outbox")).send().await.unwrap().json().await.unwrap();
        let entries = outbox["notifications"].as_array().cloned().unwrap_or_default();
        if entries.len() == raised.len() && entries.iter().all(|e| e["status"] == "sent") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let entries = outbox["notifications"].as_array().expect("notifications");
    assert_eq!(entries.len(), raised.len(), "{outbox}");
    for entry in entries {
        assert_eq!(entry["status"], "sent", "{entry}");
        assert_eq!(entry["effects"]["slack"]["status"], "sent");
        assert_eq!(entry["effects"]["slack"]["remote_id"], "1.0001");
    }
    // One Slack message per alert, none twice, each with its fallback text and blocks.
    let requests = slack.received_requests().await.unwrap();
    assert_eq!(requests.len(), raised.len());
    for r in &requests {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["channel"], "#customer-success");
        assert!(body["text"].as_str().is_some_and(|t| !t.is_empty()) && body["blocks"].is_array(), "{body}");
    }
}
