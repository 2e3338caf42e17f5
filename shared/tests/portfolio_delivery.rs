//! The portfolio's deliveries against wiremock: the weekly digest (its exact `chat.postMessage`,
//! the three file-upload calls with a real PNG, nothing sent by a second run in the same ISO
//! week) and health on the CRM records (one `PATCH` per changed account, none for unchanged
//! ones, HubSpot properties created once; the Salesforce Account `PATCH`).

use foresight_shared::adapters::hubspot::{HubSpot, HubSpotHealth};
use foresight_shared::adapters::memory::{MemoryOutbox, MemoryQueue, MemoryStore};
use foresight_shared::adapters::salesforce::{Salesforce, SalesforceConfig, SalesforceHealth};
use foresight_shared::adapters::slack::digest::digest_message;
use foresight_shared::adapters::slack::{check_limits, SlackApi};
use foresight_shared::app::crm_sync;
use foresight_shared::app::digest::{self, DigestPorts};
use foresight_shared::app::health_sweep;
use foresight_shared::app::ports::outbox::NotificationStatus;
use foresight_shared::app::ports::portfolio::{CrmHealthPort, MrrLedger, ReportOutbox};
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::change::{AccountChange, GuardedGroup};
use foresight_shared::domain::time;
use foresight_shared::domain::version::EventVersion;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{body_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn t(text: &str) -> i64 {
    time::parse(text).unwrap()
}

/// An account with one monthly subscription at `mrr` since `since`, and a name.
async fn account(store: &MemoryStore, id: &str, name: &str, mrr: i64, since: &str) {
    let at = t(since);
    let version = EventVersion::new(at, &format!("evt_{id}"));
    let sub = json!({"id": format!("sub_{id}"), "status": "active", "mrr": mrr, "currency": "usd", "quantity": 1,
                     "interval": "month", "started_at": at, "renewal_at": at + 30 * 86_400});
    let change = AccountChange::new(id)
        .with_guarded(GuardedGroup::new(format!("sub#sub_{id}"), version.clone(), sub))
        .with_fact(format!("mrr#sub_{id}#{version}"), json!(mrr));
    store.apply(&change).await.unwrap();
    let customer = AccountChange::new(id).with_guarded(GuardedGroup::new(
        "customer",
        EventVersion::new(at, &format!("evt_c_{id}")),
        json!({"name": name}),
    ));
    store.apply(&customer).await.unwrap();
    store.refresh(id).await.unwrap();
}

async fn sweep(store: &MemoryStore, now: i64) {
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let ports = foresight_shared::testkit::sweep_ports(store, &outbox, &queue);
    health_sweep::run(&ports, &Settings::default(), &format!("sweep-{now}"), now, 2).await.unwrap();
}

#[tokio::test]
async fn the_weekly_digest_goes_to_slack_with_its_chart_once_a_week() {
    let store = MemoryStore::new();
    account(&store, "acct_a", "Acme", 50_000, "2026-09-01T00:00:00Z").await;
    account(&store, "acct_b", "Bramble", 20_000, "2026-10-20T00:00:00Z").await;
    account(&store, "acct_c", "Cobalt", 8_000, "2026-11-03T09:00:00Z").await;
    let now = t("2026-11-09T08:00:00Z");
    sweep(&store, now).await;

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/files.getUploadURLExternal"))
        .and(header("authorization", "Bearer xoxb-digest"))
        .and(body_string_contains("filename=foresight-2026-W46.png"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"ok": true, "upload_url": format!("{}/upload/F0CHART", server.uri()), "file_id": "F0CHART"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/F0CHART"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK - 12345"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/files.completeUploadExternal"))
        .and(header("authorization", "Bearer xoxb-digest"))
        .and(body_json(json!({
            "files": [{"id": "F0CHART", "title": "MRR movements and health, 2026-W46"}],
            "channel_id": "C0DIGEST",
            "initial_comment": "MRR movements per month for 12 months and health by MRR, 2026-W46",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "files": [{"id": "F0CHART"}]})))
        .expect(1)
        .mount(&server)
        .await;

    // The message is exactly the digest's layout.
    let settings = Settings::default();
    let outbox = MemoryOutbox::new();
    let no_slack = DigestPorts { ledger: &store, cards: &store, accounts: &store, reports: &outbox, slack: None };
    let built = digest::build(&no_slack, &settings, now).await.unwrap();
    let message = digest_message(&built);
    check_limits(&message).unwrap();
    Mock::given(method("POST"))
        .and(path("/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-digest"))
        .and(body_json(json!({"channel": "C0DIGEST", "text": message.text, "blocks": message.blocks})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "ts": "1794211200.000100"})))
        .expect(1)
        .mount(&server)
        .await;

    let slack = SlackApi::new(reqwest::Client::new(), "xoxb-digest").with_base_url(server.uri());
    let ports = DigestPorts {
        ledger: &store,
        cards: &store,
        accounts: &store,
        reports: &outbox,
        slack: Some((&slack, "C0DIGEST")),
    };
    let run = digest::weekly(&ports, &settings, now).await.unwrap();
    assert_eq!(run.key, "weekly-digest/2026-W46");
    assert_eq!(run.status, NotificationStatus::Sent);
    assert_eq!(run.delivered, ["slack_message", "slack_chart"]);

    // What the blocks say: the week, last month and this month, the week's movement, the accounts.
    let blocks = serde_json::to_string(&message.blocks).unwrap();
    assert!(message.blocks[0]["text"]["text"] == "Weekly portfolio digest · 2026-W46", "{blocks}");
    assert!(blocks.contains("Last month: October 2026") && blocks.contains("Month to date: November 2026"), "{blocks}");
    assert!(blocks.contains("Cobalt new +80.00 USD"), "the week's new business: {blocks}");
    assert!(blocks.contains("MRR 780.00 USD (from 700.00 USD)"), "{blocks}");
    for name in ["Acme", "Bramble", "Cobalt"] {
        assert!(blocks.contains(&format!("*{name}*")), "{name} listed: {blocks}");
    }
    assert!(built.accounts.iter().all(|a| !a.next_step.is_empty()));

    // The chart is a real PNG of some size.
    let requests = server.received_requests().await.unwrap();
    let upload = requests.iter().find(|r| r.url.path() == "/upload/F0CHART").unwrap();
    assert!(upload.body.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic bytes");
    assert!(upload.body.len() > 1024, "{} bytes", upload.body.len());
    // FORESIGHT_CHART_OUT=/tmp/chart.png keeps the chart to look at.
    if let Ok(out) = std::env::var("FORESIGHT_CHART_OUT") {
        std::fs::write(out, &upload.body).unwrap();
    }
    let get_url = requests.iter().find(|r| r.url.path() == "/files.getUploadURLExternal").unwrap();
    let form = String::from_utf8_lossy(&get_url.body).to_string();
    assert!(form.contains(&format!("length={}", upload.body.len())), "{form}");

    // Again in the same ISO week: nothing sent (the expectations above are exactly once).
    let again = digest::weekly(&ports, &settings, now + 2 * 86_400).await.unwrap();
    assert_eq!((again.status, again.delivered.len()), (NotificationStatus::Sent, 0));
    let reports = outbox.reports().await.unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].effects["slack_message"].remote_id.as_deref(), Some("1794211200.000100"));
    assert_eq!(reports[0].effects["slack_chart"].remote_id.as_deref(), Some("F0CHART"));
    server.verify().await;
}

#[tokio::test]
async fn without_slack_the_digest_stays_in_the_outbox() {
    let store = MemoryStore::new();
    account(&store, "acct_a", "Acme", 50_000, "2026-09-01T00:00:00Z").await;
    let outbox = MemoryOutbox::new();
    let ports = DigestPorts { ledger: &store, cards: &store, accounts: &store, reports: &outbox, slack: None };
    let run = digest::weekly(&ports, &Settings::default(), t("2026-11-09T08:00:00Z")).await.unwrap();
    assert_eq!(run.status, NotificationStatus::Pending);
    assert_eq!(outbox.reports().await.unwrap()[0].key, "weekly-digest/2026-W46");
}

async fn link(store: &MemoryStore, id: &str, hubspot: Option<&str>, salesforce: Option<&str>) {
    let mut change = AccountChange::new(id);
    if let Some(company) = hubspot {
        change = change.with_fact("link_hubspot", json!(company));
    }
    if let Some(account) = salesforce {
        change = change.with_fact("link_salesforce", json!(account));
    }
    store.apply(&change).await.unwrap();
}

async fn crm_health(store: &MemoryStore, id: &str) -> Value {
    store.get(id).await.unwrap().unwrap().attributes["crm_health"].clone()
}

#[tokio::test]
async fn health_is_patched_once_per_changed_account_and_properties_are_created_once() {
    let store = MemoryStore::new();
    for (id, company) in [("acct_1", "101"), ("acct_2", "102"), ("acct_3", "103")] {
        account(&store, id, id, 10_000, "2026-09-01T00:00:00Z").await;
        link(&store, id, Some(company), None).await;
    }
    account(&store, "acct_unlinked", "Unlinked", 10_000, "2026-09-01T00:00:00Z").await;
    let now = t("2026-11-09T08:00:00Z");
    sweep(&store, now).await;

    let server = MockServer::start().await;
    for name in ["foresight_health_score", "foresight_health_band", "foresight_health_reasons"] {
        Mock::given(method("GET"))
            .and(path(format!("/crm/v3/properties/companies/{name}")))
            .respond_with(
                ResponseTemplate::new(404).set_body_json(json!({"status": "error", "category": "OBJECT_NOT_FOUND"})),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/crm/v3/properties/companies"))
        .and(header("authorization", "Bearer pat-health"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "x"})))
        .expect(3)
        .mount(&server)
        .await;
    let health = crm_health(&store, "acct_1").await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/companies/101"))
        .and(body_json(json!({"properties": {
            "foresight_health_score": health["score"].to_string(),
            "foresight_health_band": health["band"],
            "foresight_health_reasons": health["reasons"],
        }})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "101"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/companies/103"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "103"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/crm/v3/objects/companies/102"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "102"})))
        .expect(2)
        .mount(&server)
        .await;

    let hubspot = HubSpotHealth::new(
        HubSpot::new(reqwest::Client::new(), "pat-health").with_base_url(server.uri()),
        Settings::default().portfolio.hubspot,
    );
    let crms: [&dyn CrmHealthPort; 1] = [&hubspot];
    let first = crm_sync::run(&store, &crms, 100, Duration::ZERO).await.unwrap();
    assert_eq!((first.pending, first.written["hubspot"]), (3, 3), "{first:?}");

    // Nothing changed: the same sweep again marks nothing, the sync writes nothing.
    sweep(&store, now).await;
    let quiet = crm_sync::run(&store, &crms, 100, Duration::ZERO).await.unwrap();
    assert_eq!((quiet.pending, quiet.written.len()), (0, 0), "{quiet:?}");

    // acct_2's payment fails: its health changes, and only its company is written.
    let failed = AccountChange::new("acct_2").with_fact("pf#in_2#1", json!({"at": now - 3600, "amount": 10_000}));
    store.apply(&failed).await.unwrap();
    sweep(&store, now).await;
    let second = crm_sync::run(&store, &crms, 100, Duration::ZERO).await.unwrap();
    assert_eq!((second.pending, second.written["hubspot"]), (1, 1), "{second:?}");
    server.verify().await;
}

#[tokio::test]
async fn health_on_the_salesforce_account() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "00Dtoken", "instance_url": server.uri()})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/services/data/v67.0/sobjects/Account/001000000000042AAA"))
        .and(header("authorization", "Bearer 00Dtoken"))
        .and(body_json(json!({
            "Foresight_Health_Score__c": 35,
            "Foresight_Health_Band__c": "red",
            "Foresight_Health_Reasons__c": "billing: past due; usage: no activity in 7 days",
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let store = MemoryStore::new();
    let health = foresight_shared::domain::crm::CrmHealth::new(
        35,
        foresight_shared::domain::health::Band::Red,
        &["billing: past due".into(), "usage: no activity in 7 days".into()],
    );
    let marked = AccountChange::new("acct_sf")
        .with_fact("link_salesforce", json!("001000000000042AAA"))
        .with_fact("crm_health", serde_json::to_value(&health).unwrap())
        .with_fact("crm_sync", json!("pending"));
    store.apply(&marked).await.unwrap();
    let salesforce = SalesforceHealth::new(
        std::sync::Arc::new(Salesforce::new(
            reqwest::Client::new(),
            SalesforceConfig::new(server.uri(), "id", "secret"),
        )),
        Settings::default().portfolio.salesforce,
    );
    let crms: [&dyn CrmHealthPort; 1] = [&salesforce];
    let run = crm_sync::run(&store, &crms, 100, Duration::ZERO).await.unwrap();
    assert_eq!(run.written["salesforce"], 1);
    assert!(!store.get("acct_sf").await.unwrap().unwrap().attributes.contains_key("crm_sync"), "mark cleared");
    server.verify().await;
}
