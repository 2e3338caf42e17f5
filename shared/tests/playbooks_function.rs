//! The `playbooks` function as Lambda runs it (`runtime::playbooks::PlaybooksFunction`): its
//! schedule (the sweep: an email through moto's SES v2, an in-app message onto the SQS queue),
//! an SQS batch of that queue (the signed POST to a wiremock product; `batchItemFailures` lists
//! only the failed message) and the HTTP API's `GET`/`POST /unsubscribe` (payload format 2.0),
//! against DynamoDB Local and the moto server.

use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::inapp::InAppWebhook;
use foresight_shared::adapters::ses::SesEmail;
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::playbooks::unsubscribe::UnsubscribeTokens;
use foresight_shared::app::ports::store::AccountStore;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::change::AccountChange;
use foresight_shared::domain::playbook::{contact_fact, Contact, ContactSource, Role};
use foresight_shared::runtime::lambda::{Context, LambdaEvent};
use foresight_shared::runtime::playbooks::PlaybooksFunction;
use foresight_shared::sources::stripe::parse_event;
use foresight_shared::testkit::{
    dynamodb_local_outbox, dynamodb_local_store, sesv2_local_client, sqs_drain, sqs_local_client, sqs_local_queue,
};
use serde_json::{json, Value};
use std::path::Path;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "fs_fn_secret";

fn context() -> Context {
    let mut context = Context::default();
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    context.deadline = deadline.duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    context.request_id = "7f3c1e7a-0c5e-4f7e-9a53-1f0c4b0e7d11".into();
    context
}

fn http(method: &str, token: &str) -> Value {
    json!({"version": "2.0", "routeKey": format!("{method} /unsubscribe"), "rawPath": "/unsubscribe",
        "rawQueryString": format!("token={token}"), "queryStringParameters": {"token": token},
        "requestContext": {"http": {"method": method, "path": "/unsubscribe"}}, "isBase64Encoded": false})
}

#[tokio::test]
async fn the_schedule_sends_the_queue_posts_and_the_route_unsubscribes() {
    let product = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/foresight"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&product)
        .await;
    let config = format!(
        "[email]\nfrom = \"Success <success-fn@acme.example>\"\n[[playbooks]]\nname = \"welcome-day1\"\ntrigger = {{ days_since_start = 1 }}\naudience = {{ tiers = [\"tech_touch\"] }}\nactions = [{{ type = \"email\", to = \"admin\", template = \"welcome\" }}, {{ type = \"webhook\", url = \"{}/hooks/foresight\" }}]\n",
        product.uri()
    );
    let settings = Settings::parse(&config, "fn.toml").unwrap();

    // The sample week's Acme (tech touch, started 2026-11-02 09:00 UTC) with an admin contact.
    let store = dynamodb_local_store("fn-playbooks").await;
    let events = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/stripe");
    for file in ["01-acme-001-customer-created.json", "02-acme-002-customer-subscription-created.json"] {
        let mut change = parse_event(&std::fs::read(events.join(file)).unwrap(), "account_id").unwrap().change.unwrap();
        change.account_id = "acct_acme".into();
        store.apply(&change).await.unwrap();
    }
    let address = format!("admin-fn-{}@acme-customer.example", std::process::id());
    let admin = Contact {
        email: address.clone(),
        role: Role::Admin,
        locale: Some("ja".into()),
        source: ContactSource::Analytics,
    };
    let (name, value) = contact_fact(&admin).unwrap();
    store.apply(&AccountChange::new("acct_acme").with_fact(name, value)).await.unwrap();

    let ses = sesv2_local_client("success-fn@acme.example").await;
    let (queue_url, dlq_url) = (sqs_local_queue("fn-inapp", false).await, sqs_local_queue("fn-inapp-dlq", false).await);
    let function = PlaybooksFunction {
        store,
        outbox: dynamodb_local_outbox("fn-playbooks-outbox").await,
        settings,
        email: SesEmail::new(ses, None),
        tokens: UnsubscribeTokens::new(SECRET),
        public_url: "https://fs.example".into(),
        inapp: SqsQueue::new(sqs_local_client().await, queue_url.clone()),
        inapp_dead_letters: SqsQueue::new(sqs_local_client().await, dlq_url.clone()),
        webhook: InAppWebhook::new(http_client().unwrap(), SECRET),
    };

    // The schedule: day 1 of Acme, as of the scheduled time.
    let schedule = json!({"foresight": "playbook-sweep", "scheduled_time": "2026-11-03T12:00:00Z"});
    let answer = function.handle(LambdaEvent::new(schedule.clone(), context())).await.unwrap();
    assert_eq!(answer["summary"]["emails_sent"], 1, "{answer}");
    assert_eq!(answer["summary"]["webhooks_queued"], 1, "{answer}");
    let again = function.handle(LambdaEvent::new(schedule, context())).await.unwrap();
    // A retried run sends no email twice; the in-app message, still pending, is queued again
    // (as a pending alert is) and the outbox keeps its delivery to one.
    assert_eq!(again["summary"]["emails_sent"], 0, "{again}");
    assert_eq!(again["summary"]["already_done"], 1, "{again}");

    // The in-app queue as the event source mapping hands it over, plus one malformed message.
    let queued = sqs_drain(&queue_url).await;
    assert_eq!(queued.len(), 2);
    let mut records: Vec<Value> = queued
        .iter()
        .map(|m| json!({"messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"}))
        .collect();
    records.push(
        json!({"messageId": "bad", "receiptHandle": "h", "body": "{}", "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "eventSource": "aws:sqs", "awsRegion": "us-east-1"}),
    );
    let answer = function.handle(LambdaEvent::new(json!({"Records": records}), context())).await.unwrap();
    assert_eq!(answer, json!({"batchItemFailures": [{"itemIdentifier": "bad"}]}));
    let posted = product.received_requests().await.unwrap();
    assert_eq!(posted.len(), 1);
    let signature = posted[0].headers.get("foresight-signature").unwrap().to_str().unwrap();
    let t: i64 = signature.strip_prefix("t=").unwrap().split(',').next().unwrap().parse().unwrap();
    let body = String::from_utf8(posted[0].body.clone()).unwrap();
    assert_eq!(signature, foresight_shared::app::playbooks::inapp::signature_header(SECRET, t, &body));
    assert!(body.contains("\"account_id\":\"acct_acme\""), "{body}");

    // The unsubscribe route: the page, a tampered token, one-click, for good.
    let token = function.tokens.token("acct_acme", &admin.key());
    let page = function.handle(LambdaEvent::new(http("GET", &token), context())).await.unwrap();
    assert_eq!(page["statusCode"], 200);
    assert!(page["body"].as_str().unwrap().contains("method=\"post\""));
    let tampered = format!("{}x", &token[..token.len() - 1]);
    let bad = function.handle(LambdaEvent::new(http("POST", &tampered), context())).await.unwrap();
    assert_eq!(bad["statusCode"], 400, "{bad}");
    let done = function.handle(LambdaEvent::new(http("POST", &token), context())).await.unwrap();
    assert_eq!(done["statusCode"], 200, "{done}");
    let stored = function.store.get("acct_acme").await.unwrap().unwrap();
    assert!(foresight_shared::domain::playbook::unsubscribed_at(&stored.attributes, &admin.key()).is_some());
}
