//! The dispatcher's exactly-once effect and failure handling: real HTTP to wiremock (Slack,
//! HubSpot), the outbox in memory and in DynamoDB Local, the queue parts against the moto server.

use async_trait::async_trait;
use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::hubspot::HubSpot;
use foresight_shared::adapters::memory::MemoryOutbox;
use foresight_shared::adapters::memory::MemoryQueue;
use foresight_shared::adapters::slack::SlackApi;
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::dispatch::routes::DeliveryRoutes;
use foresight_shared::app::dispatch::{self, DispatchPorts, Dispatched, QueueMessage};
use foresight_shared::app::ports::outbox::{
    DeliveryLog, EffectState, EffectStatus, NotificationStatus, Outbox, OutboxEntry,
};
use foresight_shared::app::ports::queue::{DeadLetters, NotificationQueue, Redelivery};
use foresight_shared::app::ports::store::StoreError;
use foresight_shared::domain::alert::{Alert, AlertKind, AlertLinks, Severity};
use foresight_shared::domain::health::Band;
use foresight_shared::domain::{Lifecycle, Segment};
use foresight_shared::testkit;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOW: i64 = 1_794_830_400; // 2026-11-16T12:00:00Z

fn alert(account: &str, kind: AlertKind, tier: Segment) -> Alert {
    Alert {
        dedupe_key: format!("{account}/{}/in_1", kind.as_str()),
        kind,
        severity: Severity::Risk,
        account_id: account.into(),
        account_name: Some("Acme Corp".into()),
        tier,
        lifecycle: Lifecycle::Renewal,
        owner: None,
        score: Some(42),
        band: Some(Band::Red),
        change_7d: Some(-18),
        mrr: 50_000,
        currency: Some("usd".into()),
        headline: "payment failed 2× on invoice in_1".into(),
        reasons: vec!["billing: past due, payment failed 2×".into()],
        summary: "health 42, down 18 this week: payment failed 2× on invoice in_1".into(),
        links: AlertLinks {
            account: "https://cs.example.com/accounts/acct_1".into(),
            hubspot_company_id: Some("9876".into()),
            ..Default::default()
        },
        raised_at: "2026-11-09T12:00:00Z".parse().unwrap(),
        renewal_at: None,
        raised_by: "stripe-webhook".into(),
    }
}

async fn slack_on(server: &MockServer) -> SlackApi {
    SlackApi::new(http_client().unwrap(), "xoxb-test").with_base_url(format!("{}/api", server.uri()))
}

fn hubspot_on(server: &MockServer) -> HubSpot {
    HubSpot::new(http_client().unwrap(), "pat-test").with_base_url(server.uri())
}

fn slack_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true, "channel": "C1", "ts": "1794830400.000100"}))
}

fn post_message() -> wiremock::MockBuilder {
    Mock::given(method("POST")).and(path("/api/chat.postMessage")).and(header("authorization", "Bearer xoxb-test"))
}

async fn status_of(outbox: &dyn DeliveryLog, key: &str) -> OutboxEntry {
    outbox.notification(key).await.unwrap().expect("recorded")
}

/// Ports on the in-memory outbox and queue (dead letters and redelivery both on `queue`).
fn memory_ports<'a>(
    outbox: &'a MemoryOutbox,
    queue: &'a MemoryQueue,
    slack: Option<&'a SlackApi>,
    crm: Option<&'a HubSpot>,
) -> DispatchPorts<'a> {
    DispatchPorts {
        outbox,
        log: outbox,
        slack: slack.map(|s| s as _),
        crm: crm.map(|c| c as _),
        dead_letters: queue,
        redelivery: queue,
    }
}

#[tokio::test]
async fn slack_429_waits_in_the_queue_then_delivers_once() {
    let server = MockServer::start().await;
    post_message()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "2"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    post_message().respond_with(slack_ok()).expect(1).mount(&server).await;
    let (outbox, queue, slack) = (MemoryOutbox::new(), MemoryQueue::new(), slack_on(&server).await);
    let a = alert("acct_1", AlertKind::PaymentFailed, Segment::TechTouch);
    outbox.record(&a, NOW).await.unwrap();
    let ports = memory_ports(&outbox, &queue, Some(&slack), None);
    let routes = DeliveryRoutes::default();
    let first = dispatch::dispatch(&a, Some("handle-1"), 1, &ports, &routes, NOW).await.unwrap();
    assert!(matches!(first, Dispatched::RetryLater { seconds: 2, .. }), "{first:?}");
    assert_eq!(queue.delays(), [("handle-1".to_owned(), 2)], "returned to the queue for Retry-After, no sleep");
    assert_eq!(status_of(&outbox, &a.dedupe_key).await.status, NotificationStatus::Pending);
    let second = dispatch::dispatch(&a, Some("handle-2"), 2, &ports, &routes, NOW + 2).await.unwrap();
    assert_eq!(second, Dispatched::Delivered { sent_now: vec!["slack".into()] });
    let entry = status_of(&outbox, &a.dedupe_key).await;
    assert_eq!(entry.status, NotificationStatus::Sent);
    assert_eq!(entry.effects["slack"].remote_id.as_deref(), Some("1794830400.000100"));
    assert_eq!(entry.effects["slack"].attempts, 2);
    // The same message delivered again by SQS: acknowledged without a call.
    let third = dispatch::dispatch(&a, Some("handle-3"), 3, &ports, &routes, NOW + 5).await.unwrap();
    assert_eq!(third, Dispatched::AlreadySent);
    server.verify().await;
}

#[tokio::test]
async fn channel_not_found_is_dead_lettered_with_the_reason() {
    let server = MockServer::start().await;
    post_message()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": false, "error": "channel_not_found"})))
        .expect(1)
        .mount(&server)
        .await;
    let (outbox, queue, slack) = (MemoryOutbox::new(), MemoryQueue::new(), slack_on(&server).await);
    let a = alert("acct_1", AlertKind::PaymentFailed, Segment::TechTouch);
    outbox.record(&a, NOW).await.unwrap();
    let ports = memory_ports(&outbox, &queue, Some(&slack), None);
    let mut routes = DeliveryRoutes::default();
    routes.kind_channels.insert(AlertKind::PaymentFailed, "#gone".into());
    let outcome = dispatch::dispatch(&a, Some("h"), 1, &ports, &routes, NOW).await.unwrap();
    let Dispatched::DeadLettered { reason } = outcome else { panic!("{outcome:?}") };
    assert!(reason.starts_with("slack: ") && reason.contains("channel_not_found"), "{reason}");
    let dead = queue.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].0["dedupe_key"], a.dedupe_key.as_str());
    assert!(dead[0].1.contains("channel_not_found"));
    let entry = status_of(&outbox, &a.dedupe_key).await;
    assert_eq!(entry.status, NotificationStatus::Failed);
    assert_eq!(entry.effects["slack"].status, EffectStatus::Failed);
    // Not a batch failure: SQS must not retry what can never succeed.
    assert!(!Dispatched::DeadLettered { reason }.is_failure());
    server.verify().await;
}

fn hubspot_task_created() -> ResponseTemplate {
    ResponseTemplate::new(201)
        .set_body_json(json!({"id": "512", "properties": {}, "createdAt": "2026-11-09T12:00:00Z"}))
}

fn no_tasks_found() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"total": 0, "results": []}))
}

#[tokio::test]
async fn hubspot_500_500_201_creates_one_task() {
    let server = MockServer::start().await;
    let create = || Mock::given(method("POST")).and(path("/crm/v3/objects/tasks"));
    create().respond_with(ResponseTemplate::new(500)).up_to_n_times(2).expect(2).mount(&server).await;
    create().respond_with(hubspot_task_created()).expect(1).mount(&server).await;
    // After a failed attempt the dispatcher looks for a task the 500 may have created.
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks/search"))
        .respond_with(no_tasks_found())
        .expect(2)
        .mount(&server)
        .await;
    let (outbox, queue, hubspot) = (MemoryOutbox::new(), MemoryQueue::new(), hubspot_on(&server));
    let a = alert("acct_1", AlertKind::PaymentFailed, Segment::HighTouch);
    outbox.record(&a, NOW).await.unwrap();
    let ports = memory_ports(&outbox, &queue, None, Some(&hubspot));
    let routes = DeliveryRoutes::default();
    let mut outcomes = Vec::new();
    for receive in 1..=3 {
        outcomes.push(dispatch::dispatch(&a, Some("h"), receive, &ports, &routes, NOW).await.unwrap());
    }
    assert!(matches!(outcomes[0], Dispatched::RetryLater { seconds: 10, .. }), "{outcomes:?}");
    assert!(matches!(outcomes[1], Dispatched::RetryLater { seconds: 20, .. }), "backoff doubles: {outcomes:?}");
    assert_eq!(outcomes[2], Dispatched::Delivered { sent_now: vec!["hubspot".into()] });
    let entry = status_of(&outbox, &a.dedupe_key).await;
    assert_eq!((entry.status.as_str(), entry.effects["hubspot"].remote_id.as_deref()), ("sent", Some("512")));
    server.verify().await;
}

/// A delivery log whose first `sent` write fails: the process dies after HubSpot created the
/// task and before the outbox recorded it.
struct CrashAfterRemoteCall<'a> {
    inner: &'a MemoryOutbox,
    crashed: AtomicBool,
}

#[async_trait]
impl DeliveryLog for CrashAfterRemoteCall<'_> {
    async fn notification(&self, key: &str) -> Result<Option<OutboxEntry>, StoreError> {
        self.inner.notification(key).await
    }
    async fn record_effect(&self, key: &str, effect: &str, state: &EffectState) -> Result<bool, StoreError> {
        if state.status == EffectStatus::Sent && !self.crashed.swap(true, Ordering::SeqCst) {
            return Err(StoreError::Corrupt { key: key.into(), reason: "killed".into() });
        }
        self.inner.record_effect(key, effect, state).await
    }
    async fn finish(&self, key: &str, status: NotificationStatus) -> Result<(), StoreError> {
        self.inner.finish(key, status).await
    }
}

#[tokio::test]
async fn a_crash_between_the_task_and_its_record_finds_the_task_instead_of_creating_another() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks"))
        .respond_with(hubspot_task_created())
        .expect(1)
        .mount(&server)
        .await;
    let a = alert("acct_1", AlertKind::PaymentFailed, Segment::LowTouch);
    let subject_with_reference = format!(
        "Acme Corp: {} — health red · ref {}",
        a.headline,
        foresight_shared::app::ports::delivery::reference(&a.dedupe_key)
    );
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "total": 1, "results": [{"id": "512", "properties": {"hs_task_subject": subject_with_reference}}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (outbox, queue, hubspot) = (MemoryOutbox::new(), MemoryQueue::new(), hubspot_on(&server));
    outbox.record(&a, NOW).await.unwrap();
    let crashing = CrashAfterRemoteCall { inner: &outbox, crashed: AtomicBool::new(false) };
    let routes = DeliveryRoutes::default();
    let dying = DispatchPorts {
        outbox: &outbox,
        log: &crashing,
        slack: None,
        crm: Some(&hubspot),
        dead_letters: &queue,
        redelivery: &queue,
    };
    assert!(dispatch::dispatch(&a, Some("h"), 1, &dying, &routes, NOW).await.is_err(), "the worker died");
    let retried = dispatch::dispatch(&a, Some("h"), 2, &dying, &routes, NOW + 30).await.unwrap();
    assert_eq!(retried, Dispatched::Delivered { sent_now: vec!["hubspot".into()] });
    assert_eq!(status_of(&outbox, &a.dedupe_key).await.effects["hubspot"].remote_id.as_deref(), Some("512"));
    server.verify().await;
}

#[tokio::test]
async fn tech_touch_alerts_make_no_crm_task_and_routes_pick_the_channel() {
    let routes = DeliveryRoutes {
        tier_channels: [(Segment::HighTouch, "#cs-strategic".to_owned())].into(),
        kind_channels: [(AlertKind::Expansion, "#cs-growth".to_owned())].into(),
        ..DeliveryRoutes::default()
    };
    let high = alert("a", AlertKind::PaymentFailed, Segment::HighTouch);
    let tech = alert("b", AlertKind::PaymentFailed, Segment::TechTouch);
    let growth = alert("c", AlertKind::Expansion, Segment::HighTouch);
    assert_eq!(routes.channel(&high), "#cs-strategic");
    assert_eq!(routes.channel(&tech), "#customer-success");
    assert_eq!(routes.channel(&growth), "#cs-growth");
    assert!(routes.wants_task(&high) && !routes.wants_task(&tech));
    assert!(!routes.wants_task(&alert("d", AlertKind::UsageDrop, Segment::HighTouch)), "not a task kind");

    // Dispatched for real: each alert posts once to its channel; only the high-touch one becomes
    // a HubSpot task.
    let server = MockServer::start().await;
    for (channel, posts) in [("#cs-strategic", 1), ("#customer-success", 1), ("#cs-growth", 1)] {
        post_message()
            .and(wiremock::matchers::body_partial_json(json!({"channel": channel})))
            .respond_with(slack_ok())
            .expect(posts)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/crm/v3/objects/tasks"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"id": "task_1"})))
        .expect(2)
        .mount(&server)
        .await;
    let (outbox, queue) = (MemoryOutbox::new(), MemoryQueue::new());
    let (slack, hubspot) = (slack_on(&server).await, hubspot_on(&server));
    let ports = memory_ports(&outbox, &queue, Some(&slack), Some(&hubspot));
    for (a, effects) in [(&high, vec!["hubspot", "slack"]), (&tech, vec!["slack"]), (&growth, vec!["hubspot", "slack"])]
    {
        let done = dispatch::dispatch(a, None, 1, &ports, &routes, NOW).await.unwrap();
        let Dispatched::Delivered { mut sent_now } = done else { panic!("{done:?}") };
        sent_now.sort();
        assert_eq!(sent_now, effects, "{}", a.dedupe_key);
    }
    server.verify().await;
}

#[tokio::test]
async fn a_batch_stops_at_the_first_failure_and_returns_the_rest() {
    let server = MockServer::start().await;
    post_message()
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    // m1's retry and m2: one post each.
    post_message().respond_with(slack_ok()).expect(2).mount(&server).await;
    let (outbox, queue, slack) = (MemoryOutbox::new(), MemoryQueue::new(), slack_on(&server).await);
    let first = alert("acct_1", AlertKind::PaymentFailed, Segment::TechTouch);
    let second = Alert { dedupe_key: "acct_1/cancel_at_period_end/sub_1".into(), ..first.clone() };
    let bodies = [serde_json::to_string(&first).unwrap(), serde_json::to_string(&second).unwrap()];
    let messages = [
        QueueMessage { id: "m1", body: &bodies[0], receipt_handle: Some("h1"), receive_count: 1 },
        QueueMessage { id: "m2", body: &bodies[1], receipt_handle: Some("h2"), receive_count: 1 },
        QueueMessage { id: "m3", body: "not json", receipt_handle: Some("h3"), receive_count: 1 },
    ];
    let ports = memory_ports(&outbox, &queue, Some(&slack), None);
    let batch = dispatch::dispatch_batch(&messages, &ports, &DeliveryRoutes::default(), NOW, &|| true).await;
    assert_eq!(batch.failed, ["m1", "m2", "m3"], "m2 waits behind m1 (FIFO order), unprocessed");
    let batch = dispatch::dispatch_batch(&messages[..2], &ports, &DeliveryRoutes::default(), NOW + 1, &|| true).await;
    assert!(batch.failed.is_empty());
    assert_eq!(batch.outcomes.len(), 2, "each dispatched message reports its outcome (the metrics count them)");
    // m2 was not processed the first time: one attempt only.
    assert_eq!(status_of(&outbox, &second.dedupe_key).await.effects["slack"].attempts, 1);
    let malformed = dispatch::dispatch_batch(&messages[2..], &ports, &DeliveryRoutes::default(), NOW, &|| true).await;
    assert_eq!(malformed.failed, ["m3"], "a message that is not an alert fails, and the redrive policy parks it");
    let out_of_time =
        dispatch::dispatch_batch(&messages[..1], &ports, &DeliveryRoutes::default(), NOW, &|| false).await;
    assert_eq!(out_of_time.failed, ["m1"], "near the deadline nothing is started");
    server.verify().await;
}

// ------------------------------------------------------------------------ against real services

#[tokio::test]
async fn the_same_sqs_message_twice_makes_one_call_with_the_dynamodb_outbox() {
    let server = MockServer::start().await;
    post_message().respond_with(slack_ok()).expect(1).mount(&server).await;
    let outbox = testkit::dynamodb_local_outbox("dispatch-twice").await;
    let queue_url = testkit::sqs_local_queue("notifications", true).await;
    let dlq_url = testkit::sqs_local_queue("notifications-dlq", true).await;
    let queue = SqsQueue::new(testkit::sqs_local_client().await, queue_url.clone());
    let dlq = SqsQueue::new(testkit::sqs_local_client().await, dlq_url.clone());
    let slack = slack_on(&server).await;
    let a = alert("acct_1", AlertKind::PaymentFailed, Segment::TechTouch);
    outbox.record(&a, NOW).await.unwrap();
    queue.enqueue(&a).await.unwrap();
    let received = testkit::sqs_drain(&queue_url).await;
    assert_eq!(received.len(), 1);
    let m = &received[0];
    let message = QueueMessage {
        id: m.message_id().unwrap(),
        body: m.body().unwrap(),
        receipt_handle: m.receipt_handle(),
        receive_count: 1,
    };
    let ports = DispatchPorts {
        outbox: &outbox,
        log: &outbox,
        slack: Some(&slack),
        crm: None,
        dead_letters: &dlq,
        redelivery: &queue,
    };
    let routes = DeliveryRoutes::default();
    assert!(dispatch::dispatch_batch(std::slice::from_ref(&message), &ports, &routes, NOW, &|| true)
        .await
        .failed
        .is_empty());
    assert!(dispatch::dispatch_batch(&[message], &ports, &routes, NOW + 60, &|| true).await.failed.is_empty());
    let entry = outbox.notification(&a.dedupe_key).await.unwrap().unwrap();
    assert_eq!(entry.status, NotificationStatus::Sent);
    assert_eq!(entry.effects["slack"].remote_id.as_deref(), Some("1794830400.000100"));
    assert!(testkit::sqs_drain(&dlq_url).await.is_empty());
    server.verify().await;
}

#[tokio::test]
async fn dead_letters_carry_their_reason_and_redrive_sends_them_back_on_moto() {
    let queue_url = testkit::sqs_local_queue("redrive-notifications", true).await;
    let dlq_url = testkit::sqs_local_queue("redrive-dlq", true).await;
    let client = testkit::sqs_local_client().await;
    let (queue, dlq) = (SqsQueue::new(client.clone(), queue_url.clone()), SqsQueue::new(client, dlq_url.clone()));
    let a = alert("acct_1", AlertKind::PaymentFailed, Segment::TechTouch);
    dlq.dead_letter(&a, "slack: permanent: channel_not_found").await.unwrap();
    // Enqueue the original too: the redriven copy must not be dropped as its duplicate.
    queue.enqueue(&a).await.unwrap();
    assert_eq!(testkit::sqs_drain(&queue_url).await.len(), 1);
    let parked = {
        let out = testkit::sqs_local_client()
            .await
            .receive_message()
            .queue_url(&dlq_url)
            .message_attribute_names("All")
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
        out.messages().to_vec()
    };
    assert_eq!(parked.len(), 1);
    let attributes = parked[0].message_attributes().unwrap();
    assert_eq!(attributes["reason"].string_value(), Some("slack: permanent: channel_not_found"));
    assert_eq!(attributes["dedupe_key"].string_value(), Some(a.dedupe_key.as_str()));
    assert_eq!(dlq.redrive_to(&queue).await.unwrap(), 1);
    let back = testkit::sqs_drain(&queue_url).await;
    assert_eq!(back.len(), 1, "redriven within the deduplication window, still delivered");
    let body: Alert = serde_json::from_str(back[0].body().unwrap()).unwrap();
    assert_eq!(body, a);
    assert!(testkit::sqs_drain(&dlq_url).await.is_empty());
}

#[tokio::test]
async fn retry_after_changes_the_visibility_on_moto() {
    let queue_url = testkit::sqs_local_queue("visibility", true).await;
    let client = testkit::sqs_local_client().await;
    let queue = SqsQueue::new(client.clone(), queue_url.clone());
    queue.enqueue(&alert("acct_1", AlertKind::PaymentFailed, Segment::TechTouch)).await.unwrap();
    let out = client.receive_message().queue_url(&queue_url).send().await.unwrap();
    let handle = out.messages()[0].receipt_handle().unwrap().to_owned();
    queue.retry_after(&handle, 0).await.unwrap();
    let again = client.receive_message().queue_url(&queue_url).send().await.unwrap();
    assert_eq!(again.messages().len(), 1, "visible again at once with a 0 s delay");
    let handle = again.messages()[0].receipt_handle().unwrap().to_owned();
    queue.retry_after(&handle, 60).await.unwrap();
    let hidden = client.receive_message().queue_url(&queue_url).send().await.unwrap();
    assert!(hidden.messages().is_empty(), "hidden for 60 s");
}
