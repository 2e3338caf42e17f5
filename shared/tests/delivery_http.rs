//! The delivery adapters against wiremock: the exact request each one sends (method, path,
//! headers, body), how each answer is classified, and that every message fits Block Kit's limits.

use chrono::NaiveDate;
use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::hubspot::HubSpot;
use foresight_shared::adapters::salesforce::{find_query, Salesforce, SalesforceConfig};
use foresight_shared::adapters::slack::{self, check_limits, RecordUrls, SlackApi, SlackMessage, SlackWebhook};
use foresight_shared::app::dispatch::task::crm_task;
use foresight_shared::app::ports::delivery::{reference, CrmTask, DeliveryError, TaskPriority};
use foresight_shared::domain::alert::{Alert, AlertKind, AlertLinks, Severity};
use foresight_shared::domain::health::Band;
use foresight_shared::domain::{Lifecycle, Segment};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "acct_1/payment_failed/in_123";

fn alert() -> Alert {
    Alert {
        dedupe_key: KEY.into(),
        kind: AlertKind::PaymentFailed,
        severity: Severity::Risk,
        account_id: "acct_1".into(),
        account_name: Some("Acme Corp".into()),
        tier: Segment::HighTouch,
        lifecycle: Lifecycle::Renewal,
        owner: Some("123456".into()),
        score: Some(42),
        band: Some(Band::Red),
        change_7d: Some(-18),
        mrr: 123_450,
        currency: Some("usd".into()),
        headline: "payment failed 2× on invoice in_123".into(),
        reasons: vec!["billing: 2 failed payments".into(), "usage: logins -60% this week".into()],
        summary: "health 42, down 18 this week: payment failed 2× on invoice in_123".into(),
        links: AlertLinks {
            account: "https://foresight.example.com/accounts/acct_1".into(),
            stripe: Some("https://dashboard.stripe.com/customers/cus_1".into()),
            hubspot_company_id: Some("9876".into()),
            salesforce_account_id: Some("001000000000001AAA".into()),
            zendesk_organization_id: Some("77".into()),
        },
        raised_at: "2025-06-01T08:00:00Z".parse().unwrap(),
        renewal_at: None,
        raised_by: "health-sweep".into(),
    }
}

fn due() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).expect("a valid date")
}

fn task() -> CrmTask {
    crm_task(&alert(), due())
}

fn client() -> reqwest::Client {
    http_client().expect("an HTTP client")
}

fn subject() -> String {
    format!("Acme Corp: payment failed 2× on invoice in_123 — health red · ref {}", reference(KEY))
}

// ---------------------------------------------------------------- Slack: chat.postMessage

#[tokio::test]
async fn chat_post_message_sends_the_exact_request_and_returns_the_ts() {
    let server = MockServer::start().await;
    let m = slack::message(&alert());
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .and(header("authorization", "Bearer xoxb-test"))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({"channel": "C123", "text": m.text, "blocks": m.blocks})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C123", "ts": "1700000000.000100"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = SlackApi::new(client(), "xoxb-test").with_base_url(format!("{}/api", server.uri()));
    let delivered = api.post_message("C123", &m).await.expect("delivered");
    assert_eq!(delivered.remote_id, "1700000000.000100");
    assert_eq!(m.text, "health 42, down 18 this week: payment failed 2× on invoice in_123");
    server.verify().await;
}

#[tokio::test]
async fn chat_post_message_429_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .expect(1)
        .mount(&server)
        .await;
    let api = SlackApi::new(client(), "xoxb-test").with_base_url(format!("{}/api", server.uri()));
    let err = api.post_message("C123", &slack::message(&alert())).await.expect_err("rate limited");
    assert!(matches!(err, DeliveryError::RetryAfter { seconds: 2, .. }), "{err:?}");
    server.verify().await;
}

#[tokio::test]
async fn chat_post_message_429_without_retry_after_waits_one_second() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(429))
        .expect(1)
        .mount(&server)
        .await;
    let api = SlackApi::new(client(), "xoxb-test").with_base_url(format!("{}/api", server.uri()));
    let err = api.post_message("C123", &slack::message(&alert())).await.expect_err("rate limited");
    assert!(matches!(err, DeliveryError::RetryAfter { seconds: 1, .. }), "{err:?}");
}

async fn chat_error(error: &str) -> DeliveryError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": error})))
        .expect(1)
        .mount(&server)
        .await;
    let api = SlackApi::new(client(), "xoxb-test").with_base_url(format!("{}/api", server.uri()));
    let err = api.post_message("C123", &slack::message(&alert())).await.expect_err("an ok:false answer");
    server.verify().await;
    err
}

#[tokio::test]
async fn chat_post_message_ok_false_is_classified() {
    for permanent in ["channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "invalid_blocks"] {
        match chat_error(permanent).await {
            DeliveryError::Permanent(reason) => assert!(reason.contains(permanent), "{reason}"),
            other => panic!("{permanent}: expected permanent, got {other:?}"),
        }
    }
    for transient in ["ratelimited", "internal_error", "fatal_error", "service_unavailable", "something_new"] {
        match chat_error(transient).await {
            DeliveryError::Transient(reason) => assert!(reason.contains(transient), "{reason}"),
            other => panic!("{transient}: expected transient, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn chat_post_message_5xx_is_transient() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/chat.postMessage"))
        .respond_with(ResponseTemplate::new(503).set_body_string("upstream down"))
        .expect(1)
        .mount(&server)
        .await;
    let api = SlackApi::new(client(), "xoxb-test").with_base_url(format!("{}/api", server.uri()));
    let err = api.post_message("C123", &slack::message(&alert())).await.expect_err("5xx");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn network_failure_is_transient() {
    // A port nothing listens on any more: connection refused. (A dropped MockServer goes back to
    // wiremock's pool and keeps listening, so a plain listener is used.)
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let api = SlackApi::new(client(), "xoxb-test").with_base_url(format!("http://127.0.0.1:{port}"));
    let err = api.post_message("C123", &slack::message(&alert())).await.expect_err("refused");
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");
}

// ---------------------------------------------------------------- Slack: incoming webhook

#[tokio::test]
async fn webhook_sends_the_exact_request() {
    let server = MockServer::start().await;
    let m = slack::message(&alert());
    Mock::given(method("POST"))
        .and(path("/services/T000/B000/XXXX"))
        .and(header("content-type", "application/json; charset=utf-8"))
        .and(body_json(json!({"text": m.text, "blocks": m.blocks})))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let hook = SlackWebhook::new(client(), format!("{}/services/T000/B000/XXXX", server.uri()));
    assert_eq!(hook.post(&m).await.expect("delivered").remote_id, "webhook");
    server.verify().await;
}

#[tokio::test]
async fn webhook_errors_are_classified() {
    let server = MockServer::start().await;
    for (status, text) in
        [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, "channel_is_archived")]
    {
        Mock::given(method("POST"))
            .and(path(format!("/hook/{status}")))
            .respond_with(ResponseTemplate::new(status).set_body_string(text))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/hook/429"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30").set_body_string("rate_limited"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook/500"))
        .respond_with(ResponseTemplate::new(500).set_body_string("oops"))
        .expect(1)
        .mount(&server)
        .await;
    let m = slack::message(&alert());
    let post = |status: u16| {
        let hook = SlackWebhook::new(client(), format!("{}/hook/{status}", server.uri()));
        let m = m.clone();
        async move { hook.post(&m).await.expect_err("an error") }
    };
    for (status, text) in
        [(400, "invalid_payload"), (403, "action_prohibited"), (404, "no_service"), (410, "channel_is_archived")]
    {
        match post(status).await {
            DeliveryError::Permanent(reason) => assert!(reason.contains(text), "{reason}"),
            other => panic!("{status}: expected permanent, got {other:?}"),
        }
    }
    assert!(matches!(post(429).await, DeliveryError::RetryAfter { seconds: 30, .. }));
    assert!(matches!(post(500).await, DeliveryError::Transient(_)));
    server.verify().await;
}

// ---------------------------------------------------------------- HubSpot

fn hubspot_task_body() -> Value {
    json!({
        "properties": {
            "hs_timestamp": "2025-07-01T12:00:00.000Z",
            "hs_task_subject": subject(),
            "hs_task_body": task().body,
            "hs_task_status": "NOT_STARTED",
            "hs_task_priority": "HIGH",
            "hs_task_type": "TODO",
            "hubspot_owner_id": "123456",
        },
        "associations": [{
            "to": {"id": "9876"},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}],
        }],
    })
}

#[tokio::test]
async fn hubspot_create_task_sends_the_exact_request_and_returns_the_id() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks"))
        .and(header("authorization", "Bearer pat-test"))
        .and(header("content-type", "application/json"))
        .and(body_json(hubspot_task_body()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "id": "512", "properties": {"hs_task_subject": subject()}, "createdAt": "2025-06-01T08:00:01Z"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let hubspot = HubSpot::new(client(), "pat-test").with_base_url(server.uri());
    assert_eq!(hubspot.create_task(&task()).await.expect("created").remote_id, "512");
    server.verify().await;
}

#[tokio::test]
async fn hubspot_task_without_company_or_hubspot_owner_sends_empty_associations() {
    let server = MockServer::start().await;
    let mut t = task();
    t.hubspot_company_id = None;
    t.owner_id = Some("jane@example.com".into());
    t.priority = TaskPriority::Medium;
    let mut expected = hubspot_task_body();
    expected["associations"] = json!([]);
    expected["properties"]["hs_task_priority"] = json!("MEDIUM");
    if let Some(p) = expected["properties"].as_object_mut() {
        p.remove("hubspot_owner_id");
    }
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks"))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "513"})))
        .expect(1)
        .mount(&server)
        .await;
    let hubspot = HubSpot::new(client(), "pat-test").with_base_url(server.uri());
    assert_eq!(hubspot.create_task(&t).await.expect("created").remote_id, "513");
    server.verify().await;
}

async fn hubspot_error(response: ResponseTemplate) -> DeliveryError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    let hubspot = HubSpot::new(client(), "pat-test").with_base_url(server.uri());
    let err = hubspot.create_task(&task()).await.expect_err("an error");
    server.verify().await;
    err
}

#[tokio::test]
async fn hubspot_errors_are_classified() {
    let err = hubspot_error(ResponseTemplate::new(500).set_body_string("internal")).await;
    assert!(matches!(err, DeliveryError::Transient(_)), "{err:?}");

    let validation = json!({
        "status": "error",
        "message": "Property values were not valid: hs_task_priority URGENT",
        "category": "VALIDATION_ERROR",
        "correlationId": "c0ffee",
    });
    match hubspot_error(ResponseTemplate::new(400).set_body_json(validation)).await {
        DeliveryError::Permanent(reason) => {
            assert!(
                reason.contains("VALIDATION_ERROR") && reason.contains("Property values were not valid"),
                "{reason}"
            );
            assert!(reason.contains("400"), "{reason}");
        }
        other => panic!("expected permanent, got {other:?}"),
    }

    let limited = ResponseTemplate::new(429)
        .insert_header("X-HubSpot-RateLimit-Interval-Milliseconds", "10000")
        .insert_header("X-HubSpot-RateLimit-Remaining", "0")
        .set_body_json(json!({"status": "error", "policyName": "TEN_SECONDLY_ROLLING", "category": "RATE_LIMITS"}));
    let err = hubspot_error(limited).await;
    assert!(matches!(err, DeliveryError::RetryAfter { seconds: 10, .. }), "{err:?}");

    let err = hubspot_error(ResponseTemplate::new(429).insert_header("Retry-After", "3")).await;
    assert!(matches!(err, DeliveryError::RetryAfter { seconds: 3, .. }), "{err:?}");

    let daily = ResponseTemplate::new(429).set_body_json(json!({"status": "error", "policyName": "DAILY"}));
    let err = hubspot_error(daily).await;
    assert!(matches!(err, DeliveryError::RetryAfter { seconds: 3600, .. }), "{err:?}");
}

#[tokio::test]
async fn hubspot_find_task_searches_the_subject_token() {
    let server = MockServer::start().await;
    let search = json!({
        "filterGroups": [{"filters": [
            {"propertyName": "hs_task_subject", "operator": "CONTAINS_TOKEN", "value": reference(KEY)}
        ]}],
        "properties": ["hs_task_subject"],
        "limit": 10,
    });
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks/search"))
        .and(header("authorization", "Bearer pat-test"))
        .and(header("content-type", "application/json"))
        .and(body_json(search))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 1,
            "results": [{"id": "512", "properties": {"hs_task_subject": subject(), "hs_object_id": "512"}}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    let hubspot = HubSpot::new(client(), "pat-test").with_base_url(server.uri());
    let found = hubspot.find_task(&task()).await.expect("searched");
    assert_eq!(found.map(|d| d.remote_id).as_deref(), Some("512"));
    server.verify().await;

    // No result, or one whose subject lacks the token: not found.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 1, "results": [{"id": "9", "properties": {"hs_task_subject": "something else"}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let hubspot = HubSpot::new(client(), "pat-test").with_base_url(server.uri());
    assert_eq!(hubspot.find_task(&task()).await.expect("searched"), None);
}

// ---------------------------------------------------------------- Salesforce

const TOKEN_FORM: &str = "grant_type=client_credentials&client_id=cid&client_secret=s%26cret";

fn salesforce(server: &MockServer) -> Salesforce {
    let mut config = SalesforceConfig::new(server.uri(), "cid", "s&cret");
    config.priority_medium = "Medium".into();
    Salesforce::new(client(), config)
}

fn salesforce_task_body() -> Value {
    json!({
        "Subject": subject(),
        "Description": task().body,
        "WhatId": "001000000000001AAA",
        "ActivityDate": "2025-07-01",
        "Priority": "High",
        "Status": "Not Started",
    })
}

async fn mount_token(server: &MockServer, access_token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(TOKEN_FORM))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": access_token,
            "instance_url": server.uri(),
            "id": "https://login.salesforce.com/id/00D/005",
            "token_type": "Bearer",
            "issued_at": "1717228800000",
            "signature": "sig",
        })))
        .up_to_n_times(times)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn salesforce_fetches_one_token_and_reuses_it() {
    let server = MockServer::start().await;
    mount_token(&server, "tok1", 1).await;
    Mock::given(method("POST"))
        .and(path("/services/data/v67.0/sobjects/Task/"))
        .and(header("authorization", "Bearer tok1"))
        .and(header("content-type", "application/json"))
        .and(body_json(salesforce_task_body()))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"id": "00T000000000001AAA", "success": true, "errors": []})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let sf = salesforce(&server);
    assert_eq!(sf.create_task(&task()).await.expect("created").remote_id, "00T000000000001AAA");
    assert_eq!(sf.create_task(&task()).await.expect("created").remote_id, "00T000000000001AAA");
    server.verify().await;
}

#[tokio::test]
async fn salesforce_uses_configured_picklists_owner_and_cuts_the_subject() {
    let server = MockServer::start().await;
    mount_token(&server, "tok1", 1).await;
    let mut t = task();
    t.priority = TaskPriority::Medium;
    t.owner_id = Some("005000000000001AAA".into());
    t.salesforce_account_id = None;
    t.subject = "y".repeat(600);
    let expected_subject = format!("{}… · ref {}", "y".repeat(255 - 30), reference(KEY));
    assert_eq!(expected_subject.chars().count(), 255);
    let expected = json!({
        "Subject": expected_subject,
        "Description": t.body,
        "OwnerId": "005000000000001AAA",
        "ActivityDate": "2025-07-01",
        "Priority": "Medium",
        "Status": "Not Started",
    });
    Mock::given(method("POST"))
        .and(path("/services/data/v67.0/sobjects/Task/"))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "00T2", "success": true, "errors": []})))
        .expect(1)
        .mount(&server)
        .await;
    assert_eq!(salesforce(&server).create_task(&t).await.expect("created").remote_id, "00T2");
    server.verify().await;
}

#[tokio::test]
async fn salesforce_renews_an_expired_session_once_and_retries_once() {
    let server = MockServer::start().await;
    mount_token(&server, "tok1", 1).await;
    mount_token(&server, "tok2", 1).await;
    Mock::given(method("POST"))
        .and(path("/services/data/v67.0/sobjects/Task/"))
        .and(header("authorization", "Bearer tok1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!([
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/data/v67.0/sobjects/Task/"))
        .and(header("authorization", "Bearer tok2"))
        .and(body_json(salesforce_task_body()))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "00T3", "success": true, "errors": []})))
        .expect(1)
        .mount(&server)
        .await;
    let sf = salesforce(&server);
    assert_eq!(sf.create_task(&task()).await.expect("created after renewal").remote_id, "00T3");
    server.verify().await;
}

#[tokio::test]
async fn salesforce_second_401_is_permanent() {
    let server = MockServer::start().await;
    mount_token(&server, "tok1", 2).await;
    Mock::given(method("POST"))
        .and(path("/services/data/v67.0/sobjects/Task/"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!([
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ])))
        .expect(2)
        .mount(&server)
        .await;
    let err = salesforce(&server).create_task(&task()).await.expect_err("still unauthorized");
    match err {
        DeliveryError::Permanent(reason) => assert!(reason.contains("INVALID_SESSION_ID"), "{reason}"),
        other => panic!("expected permanent, got {other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn salesforce_errors_are_classified() {
    let cases: Vec<(ResponseTemplate, &str)> = vec![
        (
            ResponseTemplate::new(400).set_body_json(json!([
                {"message": "Related To ID: id value of incorrect type", "errorCode": "FIELD_INTEGRITY_EXCEPTION", "fields": ["WhatId"]}
            ])),
            "permanent",
        ),
        (
            ResponseTemplate::new(400)
                .set_body_json(json!([{"message": "unable to obtain exclusive access", "errorCode": "UNABLE_TO_LOCK_ROW", "fields": []}])),
            "transient",
        ),
        (ResponseTemplate::new(503).set_body_string("maintenance"), "transient"),
        (
            ResponseTemplate::new(403)
                .set_body_json(json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}])),
            "retry",
        ),
    ];
    for (response, expected) in cases {
        let server = MockServer::start().await;
        mount_token(&server, "tok1", 1).await;
        Mock::given(method("POST"))
            .and(path("/services/data/v67.0/sobjects/Task/"))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let err = salesforce(&server).create_task(&task()).await.expect_err("an error");
        match (expected, &err) {
            ("permanent", DeliveryError::Permanent(reason)) => {
                assert!(reason.contains("FIELD_INTEGRITY_EXCEPTION") && reason.contains("WhatId"), "{reason}")
            }
            ("transient", DeliveryError::Transient(_)) => {}
            ("retry", DeliveryError::RetryAfter { seconds: 900, .. }) => {}
            _ => panic!("expected {expected}, got {err:?}"),
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn salesforce_bad_credentials_are_permanent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_client", "error_description": "invalid client credentials"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    match salesforce(&server).create_task(&task()).await {
        Err(DeliveryError::Permanent(reason)) => assert!(reason.contains("invalid_client"), "{reason}"),
        other => panic!("expected permanent, got {other:?}"),
    }
    server.verify().await;
}

#[tokio::test]
async fn salesforce_find_task_queries_the_subject_token() {
    let server = MockServer::start().await;
    mount_token(&server, "tok1", 1).await;
    let soql = format!(
        "SELECT Id, Subject FROM Task WHERE Subject LIKE '%{}%' AND CreatedDate = LAST_N_DAYS:90 \
         AND WhatId = '001000000000001AAA' ORDER BY CreatedDate LIMIT 10",
        reference(KEY)
    );
    assert_eq!(find_query(&task()), soql);
    Mock::given(method("GET"))
        .and(path("/services/data/v67.0/query"))
        .and(query_param("q", soql.as_str()))
        .and(header("authorization", "Bearer tok1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "totalSize": 1,
            "done": true,
            "records": [{"attributes": {"type": "Task", "url": "/services/data/v67.0/sobjects/Task/00T9"}, "Id": "00T9", "Subject": subject()}],
        })))
        .expect(1)
        .mount(&server)
        .await;
    let found = salesforce(&server).find_task(&task()).await.expect("queried");
    assert_eq!(found.map(|d| d.remote_id).as_deref(), Some("00T9"));
    server.verify().await;
}

// ---------------------------------------------------------------- The CRM task

#[test]
fn crm_task_carries_the_alert() {
    let t = task();
    assert_eq!(t.dedupe_key, KEY);
    assert_eq!(t.subject, "Acme Corp: payment failed 2× on invoice in_123 — health red");
    assert_eq!(t.subject_line(255), subject());
    assert_eq!(t.priority, TaskPriority::High);
    assert_eq!(t.due, due());
    assert_eq!(t.owner_id.as_deref(), Some("123456"));
    assert_eq!(t.hubspot_company_id.as_deref(), Some("9876"));
    assert_eq!(t.salesforce_account_id.as_deref(), Some("001000000000001AAA"));
    for part in [
        "health 42, down 18 this week: payment failed 2× on invoice in_123",
        "- billing: 2 failed payments",
        "- usage: logins -60% this week",
        "https://foresight.example.com/accounts/acct_1",
        "1,234.50 USD",
        KEY,
    ] {
        assert!(t.body.contains(part), "body lacks {part:?}:\n{}", t.body);
    }

    let mut opportunity = alert();
    opportunity.kind = AlertKind::Expansion;
    opportunity.severity = Severity::Opportunity;
    opportunity.band = Some(Band::Green);
    opportunity.account_name = None;
    let t = crm_task(&opportunity, due());
    assert_eq!(t.priority, TaskPriority::Medium);
    assert!(t.subject.starts_with("acct_1: "), "{}", t.subject);
}

// ---------------------------------------------------------------- Block Kit

fn huge_alert() -> Alert {
    let mut a = alert();
    a.account_name = Some(format!("Big & <Bold> {}", "N".repeat(1_000)));
    a.headline = format!("{} & more", "h".repeat(10_000));
    a.summary = "s&".repeat(10_000);
    a.reasons = (0..200).map(|i| format!("reason {i}: {}", "<r>".repeat(2_000))).collect();
    a.owner = Some("o".repeat(5_000));
    a.raised_by = "b".repeat(5_000);
    a.dedupe_key = format!("acct/{}", "k".repeat(5_000));
    a.links.account = format!("https://x.example/{}", "a".repeat(5_000));
    a.links.hubspot_company_id = Some("1".repeat(4_000));
    a
}

#[test]
fn messages_always_fit_block_kit_limits() {
    let mut bare = alert();
    bare.account_name = None;
    bare.score = None;
    bare.band = None;
    bare.change_7d = None;
    bare.reasons.clear();
    bare.summary.clear();
    bare.owner = None;
    bare.links = AlertLinks { account: "/accounts/acct_1".into(), ..AlertLinks::default() };
    let urls = RecordUrls {
        hubspot_portal_id: Some("4242".into()),
        salesforce_base_url: Some("https://acme.lightning.force.com/".into()),
    };
    for a in [alert(), huge_alert(), bare] {
        for m in [slack::message(&a), slack::message_with(&a, &urls)] {
            check_limits(&m).unwrap_or_else(|e| panic!("{e}: {m:#?}"));
            within_documented_limits(&m);
            assert_eq!(m.blocks[0]["type"], "header");
            let header = m.blocks[0]["text"]["text"].as_str().unwrap_or_default();
            assert!(!header.is_empty() && header.chars().count() <= 150);
        }
    }

    // The ordinary alert: every piece where a CSM expects it.
    let m = slack::message_with(&alert(), &urls);
    assert_eq!(m.blocks[0]["text"]["text"], ":warning: Acme Corp");
    let first = m.blocks[1]["text"]["text"].as_str().unwrap_or_default();
    assert_eq!(first, "*payment failed 2× on invoice in_123*\nhealth 42 (red), down 18 this week");
    let fields: Vec<&str> =
        m.blocks[1]["fields"].as_array().into_iter().flatten().filter_map(|f| f["text"].as_str()).collect();
    assert!(fields.contains(&"*MRR*\n1,234.50 USD") && fields.contains(&"*Tier*\nhigh touch"), "{fields:?}");
    let why = m.blocks[2]["text"]["text"].as_str().unwrap_or_default();
    assert_eq!(why, "*Why*\n• billing: 2 failed payments\n• usage: logins -60% this week");
    let urls_sent: Vec<&str> =
        m.blocks[3]["elements"].as_array().into_iter().flatten().filter_map(|b| b["url"].as_str()).collect();
    assert_eq!(
        urls_sent,
        [
            "https://foresight.example.com/accounts/acct_1",
            "https://dashboard.stripe.com/customers/cus_1",
            "https://app.hubspot.com/contacts/4242/record/0-2/9876",
            "https://acme.lightning.force.com/lightning/r/Account/001000000000001AAA/view",
        ]
    );
    let context = m.blocks[4]["elements"].to_string();
    assert!(
        context.contains("health-sweep") && context.contains(KEY) && context.contains("Zendesk organization"),
        "{context}"
    );

    // Without record URLs the ids are named as text, and a relative account link is no button.
    let mut relative = alert();
    relative.links.account = "/accounts/acct_1".into();
    relative.links.stripe = None;
    let m = slack::message(&relative);
    let all = serde_json::to_string(&m.blocks).unwrap_or_default();
    assert!(all.contains("HubSpot company `9876`") && all.contains("/accounts/acct_1"), "{all}");
    assert!(!m.blocks.iter().any(|b| b["type"] == "actions" && b.to_string().contains("/accounts/acct_1\"")));

    // Remote text is escaped for mrkdwn.
    let m = slack::message(&huge_alert());
    assert!(m.text.starts_with("s&amp;s&amp;"), "{}", m.text);
    assert!(!m.blocks[2]["text"]["text"].as_str().unwrap_or_default().contains("<r>"));
}

/// Slack's documented Block Kit limits (`integrations.md`, Slack), written out here rather than
/// taken from the builder's constants, so a wrong constant cannot pass both sides.
fn within_documented_limits(m: &SlackMessage) {
    let n = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    assert!(n(&json!(m.text)) <= 4_000 && !m.text.trim().is_empty(), "text");
    assert!(m.blocks.len() <= 50, "{} blocks", m.blocks.len());
    for b in &m.blocks {
        match b["type"].as_str() {
            Some("header") => assert!((1..=150).contains(&n(&b["text"]["text"])), "header {b}"),
            Some("section") => {
                assert!(b["text"].is_null() || (1..=3_000).contains(&n(&b["text"]["text"])), "section text");
                let fields = b["fields"].as_array().cloned().unwrap_or_default();
                assert!(fields.len() <= 10 && fields.iter().all(|f| (1..=2_000).contains(&n(&f["text"]))), "fields");
            }
            Some("context") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                assert!((1..=10).contains(&elements.len()), "context elements");
                assert!(elements.iter().all(|e| n(&e["text"]) <= 3_000), "context text");
            }
            Some("actions") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                assert!((1..=25).contains(&elements.len()), "actions");
                for e in elements {
                    assert!(n(&e["text"]["text"]) <= 75 && n(&e["url"]) <= 3_000, "button {e}");
                }
            }
            other => panic!("a block type the builder does not make: {other:?}"),
        }
    }
}

fn block(kind: &str, extra: Value) -> Value {
    let mut b = json!({"type": kind});
    if let (Some(b), Some(extra)) = (b.as_object_mut(), extra.as_object()) {
        b.extend(extra.clone());
    }
    b
}

#[test]
fn check_limits_rejects_what_slack_rejects() {
    let ok = |blocks: Vec<Value>| SlackMessage { text: "fallback".into(), blocks };
    let section = block("section", json!({"text": {"type": "mrkdwn", "text": "hi"}}));
    assert!(check_limits(&ok(vec![section.clone(); 50])).is_ok());
    assert!(check_limits(&ok(vec![section.clone(); 51])).unwrap_err().contains("51 blocks"));

    let header = |n: usize| block("header", json!({"text": {"type": "plain_text", "text": "h".repeat(n)}}));
    assert!(check_limits(&ok(vec![header(150)])).is_ok());
    assert!(check_limits(&ok(vec![header(151)])).unwrap_err().contains("151"));
    let mrkdwn_header = block("header", json!({"text": {"type": "mrkdwn", "text": "h"}}));
    assert!(check_limits(&ok(vec![mrkdwn_header])).is_err());

    let text = |n: usize| block("section", json!({"text": {"type": "mrkdwn", "text": "t".repeat(n)}}));
    assert!(check_limits(&ok(vec![text(3_000)])).is_ok());
    assert!(check_limits(&ok(vec![text(3_001)])).is_err());

    let field = json!({"type": "mrkdwn", "text": "f"});
    let fields = |n: usize| block("section", json!({"fields": vec![field.clone(); n]}));
    assert!(check_limits(&ok(vec![fields(10)])).is_ok());
    assert!(check_limits(&ok(vec![fields(11)])).is_err());
    let long_field = block("section", json!({"fields": [{"type": "mrkdwn", "text": "f".repeat(2_001)}]}));
    assert!(check_limits(&ok(vec![long_field])).is_err());

    let element = json!({"type": "mrkdwn", "text": "c"});
    let context = |n: usize| block("context", json!({"elements": vec![element.clone(); n]}));
    assert!(check_limits(&ok(vec![context(10)])).is_ok());
    assert!(check_limits(&ok(vec![context(11)])).is_err());

    let button = json!({"type": "button", "text": {"type": "plain_text", "text": "b"}, "url": "https://x.example"});
    let actions = |n: usize| block("actions", json!({"elements": vec![button.clone(); n]}));
    assert!(check_limits(&ok(vec![actions(25)])).is_ok());
    assert!(check_limits(&ok(vec![actions(26)])).is_err());

    assert!(check_limits(&SlackMessage { text: String::new(), blocks: vec![section] }).is_err());
}

/// Slack refuses a message whose blocks hold too much text in all (`msg_blocks_too_long`),
/// although every block is within its own limit: reported from 13,297 characters of markdown
/// blocks, 13,172 with a divider (slackapi/bolt-js#2509). `check_limits` refuses both, and the
/// builder never makes one, however long the alert's texts.
#[test]
fn blocks_holding_too_much_text_in_all_are_refused_and_never_built() {
    let section = |n: usize| block("section", json!({"text": {"type": "mrkdwn", "text": "t".repeat(n)}}));
    let message = |blocks: Vec<Value>| SlackMessage { text: "fallback".into(), blocks };
    // 4 × 3,000 + 1,297 = 13,297 characters: each section within its 3,000, the whole refused.
    let reported = message(vec![section(3_000), section(3_000), section(3_000), section(3_000), section(1_297)]);
    let err = check_limits(&reported).unwrap_err();
    assert!(err.contains("13297 characters") && err.contains("msg_blocks_too_long"), "{err}");
    let with_divider = message(vec![section(3_000), section(3_000), section(3_000), section(3_000), section(1_172)]);
    assert!(check_limits(&with_divider).unwrap_err().contains("13172"));
    // Fields, context elements and button labels count too.
    let fields = block("section", json!({"fields": vec![json!({"type": "mrkdwn", "text": "f".repeat(2_000)}); 7]}));
    assert!(check_limits(&message(vec![fields])).unwrap_err().contains("14000"));
    assert!(check_limits(&message(vec![section(3_000), section(3_000), section(3_000), section(3_000)])).is_ok());

    let mut long = huge_alert();
    long.reasons = (0..5).map(|i| format!("reason {i} {}", "r".repeat(3_000))).collect();
    long.links.zendesk_organization_id = Some("9".repeat(3_000));
    for m in [slack::message(&long), slack::message(&huge_alert())] {
        check_limits(&m).unwrap_or_else(|e| panic!("{e}"));
        let total: usize = m.blocks.iter().map(text_chars).sum();
        assert!(total <= 12_000, "{total} characters of block text");
    }
    // An ordinary alert loses nothing to the cut.
    let ordinary = slack::message(&alert());
    assert_eq!(
        ordinary.blocks[2]["text"]["text"],
        "*Why*\n• billing: 2 failed payments\n• usage: logins -60% this week"
    );
}

/// Characters of every `text` string in a block, written out independently of the builder.
fn text_chars(v: &Value) -> usize {
    match v {
        Value::Object(map) => map
            .iter()
            .map(
                |(k, v)| if k == "text" && v.is_string() { v.as_str().unwrap().chars().count() } else { text_chars(v) },
            )
            .sum(),
        Value::Array(items) => items.iter().map(text_chars).sum(),
        _ => 0,
    }
}
