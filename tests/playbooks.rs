//! Tech-touch playbooks through the runner, against moto's SES v2 (`AWS_ENDPOINT_URL_SESV2`;
//! `. infra/local-stack.sh env`): a stalled tech-touch account's admin gets exactly one email
//! with both unsubscribe headers, whose one-click link unsubscribes for good; a high-touch
//! account in the same state gets the alert's Slack note and CRM task and no email; quiet hours
//! in the account's zone defer an email to its morning; the cap holds across sweeps. The
//! emails are read back from moto (`/moto-api/data.json`, its sent raw messages).

use foresight::server::{self, AppState};
use foresight_e2e::{now, Runner, SECRET, SEGMENT_SECRET};
use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::hubspot::HubSpot;
use foresight_shared::adapters::memory::{MemoryInAppQueue, MemoryStore};
use foresight_shared::adapters::slack::SlackApi;
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::playbooks::unsubscribe::UnsubscribeTokens;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::time;
use foresight_shared::runtime::delivery::DeliveryChannels;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use foresight_shared::testkit::{sesv2_endpoint, sesv2_local_client};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CONFIG: &str = r#"
[analytics]
first_value_event = "Report Exported"

[email]
from = "Acme Success <success-pb@acme.example>"
quiet_hours = { start = "20:00", end = "08:00" }
cap = { per_contact = { max = 1, days = 3 } }
product_name = "Acme Analytics"

[[playbooks]]
name = "stalled-onboarding-tech"
trigger = { alert = "onboarding_stalled" }
audience = { tiers = ["tech_touch"], lifecycle = ["onboarding"] }
actions = [{ type = "email", to = "admin", template = "stalled_onboarding" }]

[[playbooks]]
name = "day16-nudge-tech"
trigger = { days_since_start = 16 }
audience = { tiers = ["tech_touch"] }
actions = [{ type = "email", to = "admin", template = "usage_drop" }]

[[playbooks]]
name = "stalled-onboarding-high"
trigger = { alert = "onboarding_stalled" }
audience = { tiers = ["high_touch"] }
actions = [{ type = "slack" }, { type = "crm_task" }]
"#;

/// Subscriptions start here; onboarding stalls 14 days later.
const START: &str = "2026-10-01T09:00:00Z";

fn customer(account: &str, name: &str, at: i64) -> Vec<u8> {
    json!({"id": format!("evt_{account}_c"), "object": "event", "type": "customer.created", "created": at, "livemode": false,
        "data": {"object": {"id": format!("cus_{account}"), "object": "customer", "name": name, "email": null,
            "created": at, "metadata": {"account_id": account}}}})
    .to_string()
    .into_bytes()
}

fn subscription(account: &str, monthly_cents: i64, at: i64) -> Vec<u8> {
    json!({"id": format!("evt_{account}_s"), "object": "event", "type": "customer.subscription.created", "created": at, "livemode": false,
        "data": {"object": {"id": format!("sub_{account}"), "object": "subscription", "customer": format!("cus_{account}"),
            "status": "active", "created": at, "start_date": at, "currency": "usd", "cancel_at_period_end": false,
            "metadata": {"account_id": account},
            "items": {"data": [{"id": format!("si_{account}"), "quantity": 1, "current_period_start": at,
                "current_period_end": at + 365 * 86_400,
                "price": {"id": "price_1", "unit_amount": monthly_cents, "currency": "usd",
                    "recurring": {"interval": "month", "interval_count": 1}}}]}}}})
    .to_string()
    .into_bytes()
}

/// The raw messages moto's SES holds for `address`.
async fn sent_to(address: &str) -> Vec<String> {
    let data: Value =
        reqwest::get(format!("{}/moto-api/data.json", sesv2_endpoint())).await.unwrap().json().await.unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["destinations"]
                .as_array()
                .is_some_and(|d| d.iter().any(|x| x.as_str().is_some_and(|x| x.contains(address))))
        })
        .filter_map(|m| m["raw_data"].as_str().map(str::to_owned))
        .collect()
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.split("\r\n\r\n").next()?.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

async fn sweep(runner: &Runner, at: &str) -> Value {
    let response =
        runner.client.post(format!("{}/sweeps/playbooks?now={at}", runner.url)).send().await.expect("runner answers");
    assert_eq!(response.status().as_u16(), 200);
    response.json().await.unwrap()
}

async fn outbox_emails(runner: &Runner) -> Vec<Value> {
    let (_, outbox) = runner.get("/outbox").await;
    outbox["playbooks"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p["channel"] == "email")
        .collect()
}

#[tokio::test]
async fn tech_touch_playbooks_email_once_within_consent_quiet_hours_and_cap() {
    let nonce = format!("{}{}", now(), std::process::id());
    let ses = sesv2_local_client("success-pb@acme.example").await;

    // Slack and HubSpot as wiremock servers in their shapes: the high-touch account's alert.
    let slack = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1.5"})))
        .mount(&slack)
        .await;
    let hubspot = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "9001", "properties": {}})))
        .mount(&hubspot)
        .await;

    let settings = Settings::parse(CONFIG, "playbooks.toml").unwrap();
    let store = Arc::new(MemoryStore::new());
    let stripe = StripeWebhook::new(Some(StripeSecrets::new(SECRET, None)), "account_id");
    let analytics = AnalyticsWebhook::new(Some(SEGMENT_SECRET.into()), None, settings.analytics.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let tokens = UnsubscribeTokens::new("fs_playbook_e2e");
    let email = foresight_shared::adapters::ses::SesEmail::new(ses.clone(), None);
    let state = AppState::new(store, stripe).with_analytics(analytics).with_settings(settings).with_playbooks(
        foresight::playbooks::PlaybookState {
            email: Some(Arc::new(email)),
            tokens: tokens.clone(),
            public_url: url.clone(),
            inapp: Arc::new(MemoryInAppQueue::default()),
        },
    );
    let client = http_client().unwrap();
    state
        .start_delivery(DeliveryChannels {
            slack: Some(Box::new(
                SlackApi::new(client.clone(), "xoxb-pb").with_base_url(format!("{}/api", slack.uri())),
            )),
            crm: Some(Box::new(HubSpot::new(client, "pat-pb").with_base_url(hubspot.uri()))),
        })
        .await;
    let runner = Runner::attach(url.clone(), tokio::spawn(server::serve(listener, state)));

    // Four accounts started on the same day: three tech touch ($49/month), one high touch.
    let start = time::parse(START).unwrap();
    let accounts = [
        ("acct_tech", 4_900, "UTC"),
        ("acct_cap", 4_900, "UTC"),
        ("acct_tokyo", 4_900, "Asia/Tokyo"),
        ("acct_high", 600_000, "UTC"),
    ];
    let admin = |account: &str| format!("admin-{nonce}@{}.example", account.replace('_', "-"));
    for (account, cents, tz) in accounts {
        assert_eq!(runner.post_stripe(&customer(account, &format!("{account} Inc"), start)).await.0, 200);
        assert_eq!(runner.post_stripe(&subscription(account, cents, start)).await.0, 200);
        // identify before group: the contact waits on the user until the group call joins it.
        let batch = json!([
            {"type": "identify", "userId": format!("u_{account}"), "messageId": format!("i_{account}_{nonce}"),
             "timestamp": START, "traits": {"email": admin(account), "role": "admin", "name": "Not Stored"}},
            {"type": "identify", "userId": format!("m_{account}"), "messageId": format!("m_{account}_{nonce}"),
             "timestamp": START, "traits": {"email": format!("member-{nonce}@x.example"), "role": "viewer"}},
            {"type": "group", "userId": format!("u_{account}"), "groupId": account, "messageId": format!("g_{account}_{nonce}"),
             "timestamp": START, "traits": {"timezone": tz}},
        ]);
        let (status, body) = runner.post_segment(batch.to_string().as_bytes()).await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, record) = runner.get("/accounts/acct_tech").await;
    assert_eq!(record["segment"], "tech_touch");
    let (_, high) = runner.get("/accounts/acct_high").await;
    assert_eq!(high["segment"], "high_touch");

    // Day 15, 12:00 UTC (21:00 in Tokyo): the health sweep raises onboarding_stalled for all four.
    let (day15_noon, day15_late, day16, day18) =
        ("2026-10-16T12:00:00Z", "2026-10-16T23:30:00Z", "2026-10-17T12:00:00Z", "2026-10-19T12:30:00Z");
    let response = runner.client.post(format!("{url}/sweeps/health?now={day15_noon}")).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let first = sweep(&runner, day15_noon).await;
    assert_eq!(first["summary"]["emails_sent"], 2, "{first}");
    assert_eq!(first["summary"]["deferred_quiet_hours"], 1, "Tokyo is in its quiet hours: {first}");

    // Exactly one email to the stalled tech account's admin, none to its member, with both
    // unsubscribe headers; the outbox shows it sent with SES's message id.
    let tech_mail = sent_to(&admin("acct_tech")).await;
    assert_eq!(tech_mail.len(), 1);
    assert!(sent_to(&format!("member-{nonce}@x.example")).await.is_empty(), "members are not kept or mailed");
    let raw = &tech_mail[0];
    let list_unsubscribe = header(raw, "List-Unsubscribe").expect("List-Unsubscribe");
    assert_eq!(header(raw, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    assert!(list_unsubscribe.starts_with(&format!("<{url}/unsubscribe?token=")), "{list_unsubscribe}");
    let emails = outbox_emails(&runner).await;
    let tech: Vec<_> = emails.iter().filter(|e| e["account_id"] == "acct_tech").collect();
    assert_eq!(tech.len(), 1, "{emails:?}");
    assert_eq!((tech[0]["status"].as_str(), tech[0]["template"].as_str()), (Some("sent"), Some("stalled_onboarding")));
    assert!(tech[0]["remote_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(tech[0]["to"], admin("acct_tech"));

    // High touch: the alert's Slack note and CRM task, no email.
    assert!(sent_to(&admin("acct_high")).await.is_empty());
    let (_, outbox) = runner.get("/outbox").await;
    let high_actions: Vec<_> =
        outbox["playbooks"].as_array().unwrap().iter().filter(|p| p["account_id"] == "acct_high").collect();
    assert_eq!(high_actions.iter().map(|p| p["channel"].as_str().unwrap()).collect::<Vec<_>>(), ["slack", "crm_task"]);
    let mut delivered = Value::Null;
    for _ in 0..100 {
        let (_, outbox) = runner.get("/outbox").await;
        delivered = outbox["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["dedupe_key"].as_str().is_some_and(|k| k.starts_with("acct_high/onboarding_stalled/")))
            .cloned()
            .unwrap_or(Value::Null);
        if delivered["status"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered["effects"]["slack"]["status"], "sent", "{delivered}");
    assert_eq!(delivered["effects"]["hubspot"]["remote_id"], "9001", "{delivered}");

    // The same sweep again sends nothing twice.
    let again = sweep(&runner, day15_noon).await;
    assert_eq!(again["summary"]["emails_sent"], 0, "{again}");
    assert_eq!(sent_to(&admin("acct_tech")).await.len(), 1);

    // One-click unsubscribe (RFC 8058): POST the header's URL; a tampered token is 400.
    let link = list_unsubscribe.trim_start_matches('<').trim_end_matches('>');
    let page = runner.client.get(link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("method=\"post\""));
    let tampered = format!("{}0", &link[..link.len() - 1]);
    let tampered = if tampered == link { format!("{}1", &link[..link.len() - 1]) } else { tampered };
    assert_eq!(runner.client.post(&tampered).send().await.unwrap().status().as_u16(), 400);
    let one_click = runner
        .client
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status().as_u16(), 200);

    // 23:30 UTC is 08:30 in Tokyo: its deferred email goes out now.
    let late = sweep(&runner, day15_late).await;
    assert_eq!(late["summary"]["emails_sent"], 1, "{late}");
    let tokyo_mail = sent_to(&admin("acct_tokyo")).await;
    assert_eq!(tokyo_mail.len(), 1);
    assert_eq!(header(&tokyo_mail[0], "Content-Language"), Some("en"));

    // Day 16: the nudge is due for all three; the cap (1 in 3 days) holds it back for acct_cap and
    // acct_tokyo, and acct_tech unsubscribed: skipped for good.
    let d16 = sweep(&runner, day16).await;
    assert_eq!(d16["summary"]["emails_sent"], 0, "{d16}");
    assert_eq!(d16["summary"]["deferred_cap"], 2, "{d16}");
    assert_eq!(d16["summary"]["skipped"], 1, "{d16}");
    let d16b = sweep(&runner, "2026-10-18T12:00:00Z").await;
    assert_eq!(d16b["summary"]["emails_sent"], 0, "the cap holds across sweeps: {d16b}");

    // Day 18, 12:30: three days after acct_cap's email, its nudge goes; Tokyo's is still capped
    // (its first went out at 23:30 on day 15); acct_tech gets nothing ever again.
    let d18 = sweep(&runner, day18).await;
    assert_eq!(d18["summary"]["emails_sent"], 1, "{d18}");
    assert_eq!(sent_to(&admin("acct_cap")).await.len(), 2);
    assert_eq!(sent_to(&admin("acct_tokyo")).await.len(), 1);
    assert_eq!(sent_to(&admin("acct_tech")).await.len(), 1, "unsubscribed: no email again");
    let emails = outbox_emails(&runner).await;
    let skipped: Vec<_> =
        emails.iter().filter(|e| e["account_id"] == "acct_tech" && e["status"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{emails:?}");
    assert_eq!(skipped[0]["reason"], "unsubscribed");
    let (_, record) = runner.get("/accounts/acct_tech").await;
    assert_eq!(record["contacts"], json!({"count": 1, "roles": {"admin": 1}, "unsubscribed": 1}), "{record}");
}

#[tokio::test]
async fn a_bad_playbook_configuration_stops_the_runner_naming_the_field() {
    let dir = std::env::temp_dir().join(format!("fs-pb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("foresight.toml");
    std::fs::write(
        &file,
        "[email]\nfrom = \"a@b.example\"\n[[playbooks]]\nname = \"x\"\ntrigger = { alert = \"onboarding_stalled\" }\nactions = [{ type = \"email\", to = \"ceo\", template = \"welcome\" }]\n",
    )
    .unwrap();
    let err = server::dev("127.0.0.1:0", foresight::StoreKind::Memory, Some(file)).await.unwrap_err();
    assert!(err.contains("playbooks[0].actions[0].to") && err.contains("ceo"), "{err}");
}
