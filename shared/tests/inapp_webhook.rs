//! The in-app webhook against a wiremock product: the exact request (JSON body, `Foresight-Key`,
//! a `Foresight-Signature` that verifies with the scheme of `../shared/integrations.md`), a 500
//! returned to the queue with backoff and then delivered once, a 410 dead-lettered with its
//! reason and never retried, a redelivery after success sending nothing.

use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::inapp::InAppWebhook;
use foresight_shared::adapters::memory::{MemoryInAppQueue, MemoryOutbox, MemoryQueue};
use foresight_shared::app::dispatch::Dispatched;
use foresight_shared::app::playbooks::inapp::{deliver, signature_header};
use foresight_shared::app::ports::email::InAppMessage;
use foresight_shared::app::ports::portfolio::ReportOutbox;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "fs_out_secret";
const NOW: i64 = 1_800_000_000;

fn message(server: &MockServer, route: &str, key: &str) -> InAppMessage {
    InAppMessage {
        key: key.into(),
        url: format!("{}{route}", server.uri()),
        body: r#"{"type":"playbook.action","account_id":"acct_1"}"#.into(),
    }
}

#[test]
fn the_signature_scheme_matches_the_vector() {
    assert_eq!(
        signature_header(SECRET, NOW, r#"{"type":"playbook.action","account_id":"acct_1"}"#),
        "t=1800000000,v1=df4b55e21328e28d236c3f65dd64b6724c1f50cd1ba15fa4356c097a9a1d15e0"
    );
}

#[tokio::test]
async fn delivered_once_with_the_exact_signed_request() {
    let product = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/foresight"))
        .and(header("content-type", "application/json"))
        .and(header("foresight-key", "playbook/acct_1/p/e/0"))
        // Compared whole: wiremock's `header` matcher splits values at commas.
        .and(|r: &wiremock::Request| {
            r.headers.get("foresight-signature").and_then(|v| v.to_str().ok())
                == Some("t=1800000000,v1=df4b55e21328e28d236c3f65dd64b6724c1f50cd1ba15fa4356c097a9a1d15e0")
        })
        .and(body_string(r#"{"type":"playbook.action","account_id":"acct_1"}"#))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&product)
        .await;
    let port = InAppWebhook::new(http_client().unwrap(), SECRET);
    let (outbox, dead, redelivery) = (MemoryOutbox::new(), MemoryInAppQueue::default(), MemoryQueue::new());
    let m = message(&product, "/hooks/foresight", "playbook/acct_1/p/e/0");
    let first = deliver(&m, Some("rh"), 1, &port, &outbox, &dead, &redelivery, NOW).await.unwrap();
    assert_eq!(first, Dispatched::Delivered { sent_now: vec!["webhook".into()] });
    let again = deliver(&m, Some("rh"), 2, &port, &outbox, &dead, &redelivery, NOW + 5).await.unwrap();
    assert_eq!(again, Dispatched::AlreadySent);
    let record = &outbox.reports().await.unwrap()[0];
    assert_eq!(record.effects["webhook"].remote_id.as_deref(), Some("http 204"));
}

#[tokio::test]
async fn a_500_is_retried_with_backoff_then_delivered() {
    let product = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .up_to_n_times(1)
        .mount(&product)
        .await;
    Mock::given(method("POST")).and(path("/flaky")).respond_with(ResponseTemplate::new(200)).mount(&product).await;
    let port = InAppWebhook::new(http_client().unwrap(), SECRET);
    let (outbox, dead, redelivery) = (MemoryOutbox::new(), MemoryInAppQueue::default(), MemoryQueue::new());
    let m = message(&product, "/flaky", "playbook/acct_1/p/e/1");
    let first = deliver(&m, Some("rh-1"), 1, &port, &outbox, &dead, &redelivery, NOW).await.unwrap();
    let Dispatched::RetryLater { seconds, reason } = first else { panic!("{first:?}") };
    assert_eq!(seconds, 10);
    assert!(reason.contains("HTTP 500") && reason.contains("boom"), "{reason}");
    assert_eq!(redelivery.delays(), [("rh-1".to_owned(), 10)]);
    let second = deliver(&m, Some("rh-2"), 2, &port, &outbox, &dead, &redelivery, NOW + 10).await.unwrap();
    assert!(matches!(second, Dispatched::Delivered { .. }), "{second:?}");
    assert!(dead.dead_letters().is_empty());
    assert_eq!(product.received_requests().await.unwrap().len(), 2);
    assert_eq!(outbox.reports().await.unwrap()[0].effects["webhook"].attempts, 2);
}

#[tokio::test]
async fn a_410_is_dead_lettered_with_its_reason_and_not_retried() {
    let product = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/gone"))
        .respond_with(ResponseTemplate::new(410).set_body_string("endpoint removed"))
        .mount(&product)
        .await;
    let port = InAppWebhook::new(http_client().unwrap(), SECRET);
    let (outbox, dead, redelivery) = (MemoryOutbox::new(), MemoryInAppQueue::default(), MemoryQueue::new());
    let m = message(&product, "/gone", "playbook/acct_1/p/e/2");
    let outcome = deliver(&m, Some("rh"), 1, &port, &outbox, &dead, &redelivery, NOW).await.unwrap();
    let Dispatched::DeadLettered { reason } = outcome else { panic!("{outcome:?}") };
    assert!(reason.contains("410") && reason.contains("endpoint removed"), "{reason}");
    assert_eq!(dead.dead_letters().len(), 1);
    assert_eq!(dead.dead_letters()[0].1, reason);
    assert!(redelivery.delays().is_empty(), "never retried");
    let again = deliver(&m, Some("rh"), 2, &port, &outbox, &dead, &redelivery, NOW + 60).await.unwrap();
    assert_eq!(again, Dispatched::AlreadySent);
    assert_eq!(product.received_requests().await.unwrap().len(), 1);
}
