//! The SES v2 adapter's exact requests against a wiremock SES (the moto round trip is in
//! `tests/playbooks.rs` and `playbooks_function.rs`): `SendEmail` as `POST
//! /v2/email/outbound-emails` with the raw MIME message, the sender, the recipient and the
//! configuration set; the classification of SES's errors; `GetSuppressedDestination` (moto has
//! none) telling a suppressed address from an unknown one.

use base64::Engine;
use foresight_shared::adapters::ses::SesEmail;
use foresight_shared::app::ports::delivery::DeliveryError;
use foresight_shared::app::ports::email::{EmailPort, OutgoingEmail};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn ses(server: &MockServer, configuration_set: Option<&str>) -> SesEmail {
    let config = foresight_shared::runtime::aws::config_loader()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("local", "local", None, None, "tests"))
        .endpoint_url(server.uri())
        .load()
        .await;
    SesEmail::new(aws_sdk_sesv2::Client::new(&config), configuration_set.map(Into::into))
}

fn email() -> OutgoingEmail {
    OutgoingEmail {
        from: "Acme Success <success@acme.example>".into(),
        to: "ana@customer.example".into(),
        subject: "Welcome".into(),
        text: "Hi".into(),
        html: "<p>Hi</p>".into(),
        locale: "en".into(),
        unsubscribe_url: "https://fs.example/unsubscribe?token=a.b".into(),
        reference: "playbook/acct/p/e/0/k".into(),
    }
}

fn error(status: u16, kind: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-amzn-ErrorType", kind)
        .set_body_json(json!({"message": format!("{kind} from the test")}))
}

#[tokio::test]
async fn send_email_posts_the_raw_message_as_the_sender_with_the_configuration_set() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"MessageId": "0100-ses-1"})))
        .expect(1)
        .mount(&server)
        .await;
    let sent = ses(&server, Some("foresight")).await.send(&email()).await.unwrap();
    assert_eq!(sent.remote_id, "0100-ses-1");
    let request = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(body["FromEmailAddress"], "Acme Success <success@acme.example>");
    assert_eq!(body["Destination"], json!({"ToAddresses": ["ana@customer.example"]}));
    assert_eq!(body["ConfigurationSetName"], "foresight");
    let raw =
        base64::engine::general_purpose::STANDARD.decode(body["Content"]["Raw"]["Data"].as_str().unwrap()).unwrap();
    let raw = String::from_utf8(raw).unwrap();
    assert!(raw.contains("\r\nList-Unsubscribe: <https://fs.example/unsubscribe?token=a.b>\r\n"), "{raw}");
    assert!(raw.contains("\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"), "{raw}");
    assert!(request.headers.get("authorization").is_some_and(|a| a.to_str().unwrap().contains("/ses/aws4_request")));
}

#[tokio::test]
async fn ses_errors_are_classified() {
    let cases = [
        (400, "MessageRejected", "permanent"),
        (400, "MailFromDomainNotVerifiedException", "permanent"),
        (429, "TooManyRequestsException", "retry_after"),
        (500, "InternalFailure", "transient"),
    ];
    for (status, kind, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST")).respond_with(error(status, kind)).mount(&server).await;
        let err = ses(&server, None).await.send(&email()).await.unwrap_err();
        let got = match &err {
            DeliveryError::Permanent(_) => "permanent",
            DeliveryError::RetryAfter { .. } => "retry_after",
            DeliveryError::Transient(_) => "transient",
        };
        assert_eq!(got, expected, "{kind}: {err}");
        assert!(err.to_string().contains(kind), "{err}");
    }
}

#[tokio::test]
async fn the_suppression_list_tells_suppressed_from_unknown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v2/email/suppression/addresses/bounced(@|%40)customer\.example$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"SuppressedDestination": {
            "EmailAddress": "bounced@customer.example", "Reason": "BOUNCE", "LastUpdateTime": 1800000000}})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v2/email/suppression/addresses/ana(@|%40)customer\.example$"))
        .respond_with(error(404, "NotFoundException"))
        .mount(&server)
        .await;
    let port = ses(&server, None).await;
    assert!(port.is_suppressed("bounced@customer.example").await.unwrap());
    assert!(!port.is_suppressed("ana@customer.example").await.unwrap());
}

/// A contact SES suppresses (bounced, complained) is recorded `skipped` with the reason and
/// never sent to: the playbook sweep with the adapter on a wiremock SES.
#[tokio::test]
async fn the_sweep_skips_a_suppressed_contact_for_good() {
    use foresight_shared::adapters::memory::{MemoryInAppQueue, MemoryOutbox, MemoryStore};
    use foresight_shared::app::playbooks::sweep::{self, action_view, PlaybookPorts};
    use foresight_shared::app::playbooks::unsubscribe::UnsubscribeTokens;
    use foresight_shared::app::ports::portfolio::ReportOutbox;
    use foresight_shared::app::ports::store::AccountStore;
    use foresight_shared::app::settings::Settings;
    use foresight_shared::domain::change::AccountChange;
    use foresight_shared::domain::playbook::{contact_fact, Contact, ContactSource, Role};

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/v2/email/suppression/addresses/"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"SuppressedDestination": {
            "EmailAddress": "bounced@customer.example", "Reason": "COMPLAINT", "LastUpdateTime": 1800000000}})))
        .mount(&server)
        .await;
    let store = MemoryStore::new();
    let events = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe");
    for file in ["01-acme-001-customer-created.json", "02-acme-002-customer-subscription-created.json"] {
        let update =
            foresight_shared::sources::stripe::parse_event(&std::fs::read(events.join(file)).unwrap(), "account_id");
        let mut change = update.unwrap().change.unwrap();
        change.account_id = "acct_acme".into();
        store.apply(&change).await.unwrap();
    }
    let contact = Contact {
        email: "bounced@customer.example".into(),
        role: Role::Admin,
        locale: None,
        source: ContactSource::Analytics,
    };
    let (name, value) = contact_fact(&contact).unwrap();
    store.apply(&AccountChange::new("acct_acme").with_fact(name, value)).await.unwrap();
    let settings = Settings::parse(
        "[email]\nfrom = \"s@acme.example\"\n[[playbooks]]\nname = \"d1\"\ntrigger = { days_since_start = 1 }\nactions = [{ type = \"email\", to = \"admin\", template = \"welcome\" }]\n",
        "t.toml",
    )
    .unwrap();
    let (outbox, inapp, email) = (MemoryOutbox::new(), MemoryInAppQueue::default(), ses(&server, None).await);
    let tokens = UnsubscribeTokens::new("t");
    let ports = PlaybookPorts {
        lister: &store,
        accounts: &store,
        outbox: &outbox,
        email: Some(&email),
        inapp: &inapp,
        tokens: &tokens,
        public_url: "https://fs.example",
    };
    let now = foresight_shared::domain::time::parse("2026-11-03T12:00:00Z").unwrap();
    for _ in 0..2 {
        let summary = sweep::sweep(&ports, &settings, now).await.unwrap();
        assert_eq!(summary.emails_sent, 0, "{summary:?}");
    }
    let records = outbox.reports().await.unwrap();
    assert_eq!(records.len(), 1);
    let view = action_view(&records[0]);
    assert_eq!(view["status"], "skipped");
    assert!(view["reason"].as_str().unwrap().contains("suppression list"), "{view}");
    let sends = server.received_requests().await.unwrap().iter().filter(|r| r.method.as_str() == "POST").count();
    assert_eq!(sends, 0, "no SendEmail for a suppressed address");
}
