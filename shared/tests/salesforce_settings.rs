//! The Salesforce picklist values set in `foresight.toml` (`[delivery.salesforce]`) reach the Task
//! body: the settings parsed as a function parses them, the CRM channel built from them and the
//! environment as the dispatcher builds it, the request checked by wiremock. (Alone in its test
//! binary: it sets the Salesforce environment variables of the process.)

use chrono::NaiveDate;
use foresight_shared::app::dispatch::task::crm_task;
use foresight_shared::app::ports::delivery::TaskPriority;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::alert::{Alert, AlertKind, AlertLinks, Severity};
use foresight_shared::domain::{Lifecycle, Segment};
use foresight_shared::runtime::delivery;
use foresight_shared::runtime::secrets::Secrets;
use serde_json::json;
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOML: &str = r#"
[delivery.salesforce]
priority_high = "P1 - Critical"
priority_medium = "P2 - Medium"
priority_low = "P3 - Low"
status = "Open"
"#;

fn alert(kind: AlertKind, severity: Severity) -> Alert {
    Alert {
        dedupe_key: format!("acct_sf/{}/x", kind.as_str()),
        kind,
        severity,
        account_id: "acct_sf".into(),
        account_name: Some("Picklist Corp".into()),
        tier: Segment::HighTouch,
        lifecycle: Lifecycle::Adoption,
        owner: None,
        score: Some(80),
        band: None,
        change_7d: None,
        mrr: 100_000,
        currency: Some("usd".into()),
        headline: "something to do".into(),
        reasons: Vec::new(),
        summary: "something to do".into(),
        links: AlertLinks { account: "/accounts/acct_sf".into(), ..AlertLinks::default() },
        raised_at: "2026-11-09T12:00:00Z".parse().unwrap(),
        renewal_at: None,
        raised_by: "health-sweep".into(),
    }
}

#[tokio::test]
async fn picklist_values_from_foresight_toml_reach_the_task_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok", "instance_url": server.uri()})),
        )
        .mount(&server)
        .await;
    for (priority, id) in [("P1 - Critical", "00T1"), ("P2 - Medium", "00T2")] {
        Mock::given(method("POST"))
            .and(path("/services/data/v67.0/sobjects/Task/"))
            .and(body_partial_json(json!({"Priority": priority, "Status": "Open"})))
            .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": id, "success": true, "errors": []})))
            .expect(1)
            .mount(&server)
            .await;
    }
    // As the dispatcher function starts: settings from FORESIGHT_CONFIG's text, the client id and
    // login URL from the environment, the secret from the secret source.
    let settings = Settings::parse(TOML, "foresight.toml").expect("valid settings");
    std::env::set_var("SALESFORCE_LOGIN_URL", server.uri());
    std::env::set_var("SALESFORCE_CLIENT_ID", "cid");
    std::env::set_var("SALESFORCE_CLIENT_SECRET", "secret");
    std::env::remove_var("HUBSPOT_TOKEN");
    let channels = delivery::channels(&Secrets::from_env(&delivery::SECRET_VARS), &settings.delivery).unwrap();
    let crm = channels.crm.expect("Salesforce is configured");
    let due = NaiveDate::from_ymd_opt(2026, 11, 11).unwrap();
    let high = crm_task(&alert(AlertKind::PaymentFailed, Severity::Risk), due);
    let medium = crm_task(&alert(AlertKind::Expansion, Severity::Opportunity), due);
    assert_eq!((high.priority, medium.priority), (TaskPriority::High, TaskPriority::Medium));
    assert_eq!(crm.create_task(&high).await.unwrap().remote_id, "00T1");
    assert_eq!(crm.create_task(&medium).await.unwrap().remote_id, "00T2");
    server.verify().await;

    let defaults = Settings::default().delivery.salesforce;
    assert_eq!(
        (defaults.priority_high.as_str(), defaults.priority_medium.as_str(), defaults.status.as_str()),
        ("High", "Normal", "Not Started")
    );
}
