//! The usage fold against DynamoDB Local and the moto SQS server: usage held by the analytics
//! webhook and folded later ends up exactly as usage written at once, with one write per
//! (account, day) per fold; a fold that fails before releasing is folded again without counting
//! anything twice; held usage survives SQS (gzip, base64, split when large).

use async_trait::async_trait;
use chrono::NaiveDate;
use foresight_shared::adapters::memory::{MemoryStore, MemoryUsageBacklog};
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::adapters::sqs_usage;
use foresight_shared::app::ingest::analytics::{ingest, AnalyticsWebhook, ConnectionMarks, UsageWrites};
use foresight_shared::app::ingest::identity;
use foresight_shared::app::ingest::usage_fold::{fold, merge, FoldPorts, BATCHES_PER_ROUND};
use foresight_shared::app::ports::store::{AccountStore, StoreError, UsageStore};
use foresight_shared::app::ports::store::{LinkSource, LinkStore};
use foresight_shared::app::ports::usage_backlog::{HeldUsage, UsageBacklog, UsageBuffer};
use foresight_shared::domain::usage::{AnalyticsConfig, DueDay, UsageDay};
use foresight_shared::sources::segment::{self, signature, UsageDelta};
use http::{HeaderMap, HeaderValue};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

const NOW: i64 = 1_795_000_000;

fn config() -> AnalyticsConfig {
    AnalyticsConfig {
        key_features: ["Report Exported".to_owned()].into_iter().collect(),
        first_value_event: Some("Report Exported".into()),
        ..AnalyticsConfig::default()
    }
}

/// Batches as a product's backend sends them: each holds a message or two of most accounts, some
/// messages name only their user (whose group call comes in a later batch), one message is
/// redelivered in a second batch, and the batches cross midnight.
fn batches() -> Vec<Vec<Value>> {
    let day = NOW.div_euclid(86_400) * 86_400;
    let at = |s: i64| chrono::DateTime::from_timestamp(day + s, 0).unwrap().to_rfc3339();
    let mut out = Vec::new();
    for b in 0..12i64 {
        let mut batch = Vec::new();
        for a in 0..15i64 {
            let t = 86_400 - 3_000 + b * 500 + a;
            batch.push(json!({"type": "track", "event": if a % 4 == 0 { "Report Exported" } else { "Logged In" },
                "userId": format!("user-{a}-{}", b % 3), "messageId": format!("m-{b}-{a}"), "timestamp": at(t),
                "context": {"groupId": format!("acct_{a}")}}));
        }
        // A user known only by id until the group call of batch 7.
        batch.push(json!({"type": "page", "userId": "user-late", "messageId": format!("m-late-{b}"), "timestamp": at(86_400 - 2_000 + b)}));
        if b == 7 {
            batch.push(json!({"type": "group", "userId": "user-late", "groupId": "acct_3", "messageId": "m-group", "timestamp": at(86_400 - 1_000)}));
        }
        if b == 9 {
            batch.push(json!({"type": "track", "event": "Logged In", "userId": "user-0-0", "messageId": "m-0-0",
                "timestamp": at(86_400 - 3_000), "context": {"groupId": "acct_0"}}));
        }
        out.push(batch);
    }
    out
}

async fn ingest_all<S: AccountStore + LinkStore>(store: &S, usage: UsageWrites<'_>) {
    let marks = ConnectionMarks::default();
    for batch in batches() {
        let body = serde_json::to_vec(&batch).unwrap();
        let messages = segment::parse(&body).expect("a batch");
        ingest(store, store, usage, &messages, &config(), &marks, NOW).await.expect("ingested");
    }
}

/// Every account's usage days, `seen_at` reduced to its first and last (the values read of it:
/// a day's first use and last seen; a fold records those of its merged deltas, where each batch
/// recorded its own).
async fn usage_of(store: &dyn AccountStore) -> BTreeMap<String, BTreeMap<NaiveDate, UsageDay>> {
    let mut out = BTreeMap::new();
    let provisional = identity::provisional_account_id(LinkSource::AnalyticsUser, "user-late");
    for id in (0..15).map(|a| format!("acct_{a}")).chain([provisional]) {
        let Some(record) = store.get(&id).await.unwrap() else { continue };
        let days = record
            .usage
            .into_iter()
            .map(|(day, mut usage)| {
                usage.seen_at = [usage.seen_at.first(), usage.seen_at.last()].into_iter().flatten().copied().collect();
                (day, usage)
            })
            .collect();
        out.insert(id, days);
    }
    out
}

#[tokio::test]
async fn held_then_folded_usage_is_what_writing_at_once_stores_with_a_write_per_account_day() {
    let at_once = foresight_shared::testkit::dynamodb_local_store("fold-at-once").await;
    ingest_all(&at_once, UsageWrites::Now(&at_once)).await;
    let written_at_once = at_once.meter().reading();

    let folded = foresight_shared::testkit::dynamodb_local_store("fold-held").await;
    let queue = SqsQueue::new(
        foresight_shared::testkit::sqs_local_client().await,
        foresight_shared::testkit::sqs_local_queue("usage-backlog", false).await,
    );
    ingest_all(&folded, UsageWrites::Held(&queue)).await;
    let before_fold = folded.meter().reading();
    for a in 0..15 {
        let record = folded.get(&format!("acct_{a}")).await.unwrap();
        assert!(record.is_none_or(|r| r.usage.is_empty()), "held usage is not written before the fold: acct_{a}");
    }

    let ports = FoldPorts { backlog: &queue, buffer: &queue, accounts: &folded, links: &folded, usage: &folded };
    let report = fold(&ports, BATCHES_PER_ROUND, NOW, || true).await.expect("folded");
    let after_fold = folded.meter().reading();

    assert_eq!(usage_of(&folded).await, usage_of(&at_once).await, "the same usage either way");
    assert!(!usage_of(&folded).await.is_empty());
    // Each day folded is stamped with when it was added (its fingerprints' window counts from it).
    let folded_day = folded.get("acct_0").await.unwrap().unwrap().usage.into_values().next().unwrap();
    assert_eq!(folded_day.last_added_at, Some(NOW));
    // 15 accounts over two days (the batches cross midnight); user-late's page views before the
    // group call joined acct_3 either way.
    let pairs: usize = usage_of(&folded).await.values().map(BTreeMap::len).sum();
    assert_eq!(report.batches, 12, "{report:?}");
    assert_eq!(report.writes, pairs, "one write per (account, day): {report:?}");
    assert_eq!(after_fold.write_requests - before_fold.write_requests, pairs as u64, "{report:?}");
    // Both tables took the same writes besides usage (the group call's link and facts): what
    // the fold's table wrote before folding is what the other wrote besides usage.
    let at_once_usage_writes = written_at_once.write_requests - before_fold.write_requests;
    assert!(
        at_once_usage_writes > 4 * pairs as u64,
        "written at once: {at_once_usage_writes} usage writes for {pairs} (account, day) pairs"
    );
    assert!(
        after_fold.write_units - before_fold.write_units
            < (written_at_once.write_units - before_fold.write_units) / 4.0,
        "the fold's WCU {} against {} written at once",
        after_fold.write_units - before_fold.write_units,
        written_at_once.write_units - before_fold.write_units
    );
    assert!(queue.take(10).await.unwrap().is_empty(), "folded batches are released");
}

#[tokio::test]
async fn the_webhook_answers_that_it_held_the_usage() {
    let store = MemoryStore::default();
    let backlog = std::sync::Arc::new(MemoryUsageBacklog::default());
    let webhook = AnalyticsWebhook::new(Some("whsec".into()), None, config()).with_usage_buffer(backlog.clone());
    let body = serde_json::to_vec(&batches()[0]).unwrap();
    let mut headers = HeaderMap::new();
    let signed = signature::signed_bytes(&body).unwrap();
    headers.insert("x-signature", HeaderValue::from_str(&signature::compute_signature("whsec", signed)).unwrap());
    let answer = webhook.respond(&store, &store, &store, &headers, &body, NOW).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["usage"], "held for the usage fold", "{answer:?}");
    assert_eq!(answer.body["messages"], 16);
    assert_eq!(backlog.len(), 1, "one held batch");
    assert!(store.get("acct_0").await.unwrap().is_none_or(|r| r.usage.is_empty()));
}

/// Usage writes that fail after the first `succeed` while `failing` is set.
struct FailingUsage<'a> {
    store: &'a MemoryStore,
    failing: AtomicBool,
    succeed: usize,
    writes: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl UsageStore for FailingUsage<'_> {
    async fn add_usage(&self, account_id: &str, day: NaiveDate, usage: &UsageDay) -> Result<(), StoreError> {
        let n = self.writes.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) && n >= self.succeed {
            return Err(StoreError::Dynamo { operation: "UpdateItem", source: "throttled".into() });
        }
        self.store.add_usage(account_id, day, usage).await
    }

    async fn settle_day(&self, account_id: &str, due: &DueDay) -> Result<bool, StoreError> {
        self.store.settle_day(account_id, due).await
    }
}

#[tokio::test]
async fn what_a_fold_cannot_write_is_held_again_and_nothing_counts_twice() {
    let at_once = MemoryStore::default();
    ingest_all(&at_once, UsageWrites::Now(&at_once)).await;

    let store = MemoryStore::default();
    let backlog = MemoryUsageBacklog::default();
    ingest_all(&store, UsageWrites::Held(&backlog)).await;
    let usage = FailingUsage { store: &store, failing: AtomicBool::new(true), succeed: 5, writes: Default::default() };
    let ports = FoldPorts { backlog: &backlog, buffer: &backlog, accounts: &store, links: &store, usage: &usage };
    // The first fold writes 5 (account, day) pairs; the others fail: they are held again, alone,
    // and the 12 batches are released.
    let first = fold(&ports, BATCHES_PER_ROUND, NOW, || true).await.expect("folded");
    let pairs: usize = usage_of(&at_once).await.values().map(BTreeMap::len).sum();
    assert_eq!((first.writes, first.failed), (5, pairs - 5), "{first:?}");
    assert_eq!(backlog.len(), 1, "only what failed is held, as one batch");
    // The next fold writes them.
    usage.failing.store(false, Ordering::SeqCst);
    let second = fold(&ports, BATCHES_PER_ROUND, NOW, || true).await.expect("folded");
    assert_eq!((second.writes, second.failed), (pairs - 5, 0), "{second:?}");
    assert!(backlog.is_empty());
    assert_eq!(usage_of(&store).await, usage_of(&at_once).await);
    // Everything held and folded a second time (SQS redelivers): no count grows.
    ingest_all(&store, UsageWrites::Held(&backlog)).await;
    fold(&ports, 5, NOW, || true).await.expect("folded");
    assert_eq!(usage_of(&store).await, usage_of(&at_once).await);
}

#[tokio::test]
async fn a_fold_that_fails_before_releasing_is_folded_again() {
    /// Link reads that fail while `failing` is set: the round fails before writing anything.
    struct FailingLinks<'a> {
        store: &'a MemoryStore,
        failing: AtomicBool,
    }
    #[async_trait]
    impl LinkStore for FailingLinks<'_> {
        async fn resolve(&self, source: LinkSource, external_id: &str) -> Result<Option<String>, StoreError> {
            if self.failing.load(Ordering::SeqCst) {
                return Err(StoreError::Dynamo { operation: "GetItem", source: "unreachable".into() });
            }
            self.store.resolve(source, external_id).await
        }
        async fn link(&self, source: LinkSource, external_id: &str, account_id: &str) -> Result<(), StoreError> {
            self.store.link(source, external_id, account_id).await
        }
    }
    let at_once = MemoryStore::default();
    ingest_all(&at_once, UsageWrites::Now(&at_once)).await;
    let store = MemoryStore::default();
    let backlog = MemoryUsageBacklog::default();
    ingest_all(&store, UsageWrites::Held(&backlog)).await;
    let links = FailingLinks { store: &store, failing: AtomicBool::new(true) };
    let ports = FoldPorts { backlog: &backlog, buffer: &backlog, accounts: &store, links: &links, usage: &store };
    assert!(fold(&ports, BATCHES_PER_ROUND, NOW, || true).await.is_err());
    assert_eq!(backlog.len(), 12, "nothing released");
    // SQS shows the batches again after their visibility timeout; the next fold writes them.
    backlog.give_back();
    links.failing.store(false, Ordering::SeqCst);
    fold(&ports, BATCHES_PER_ROUND, NOW, || true).await.expect("folded");
    assert!(backlog.is_empty());
    assert_eq!(usage_of(&store).await, usage_of(&at_once).await);
}

#[tokio::test]
async fn a_fold_out_of_time_leaves_the_rest_held() {
    let store = MemoryStore::default();
    let backlog = MemoryUsageBacklog::default();
    ingest_all(&store, UsageWrites::Held(&backlog)).await;
    let ports = FoldPorts { backlog: &backlog, buffer: &backlog, accounts: &store, links: &store, usage: &store };
    // Time for the fold's first look and one take of 5 (a round asks before each take).
    let asked = std::sync::atomic::AtomicUsize::new(0);
    let report = fold(&ports, 5, NOW, || asked.fetch_add(1, Ordering::SeqCst) < 2).await.expect("folded");
    assert_eq!((report.batches, report.more_held), (5, true), "{report:?}");
    assert_eq!(backlog.len(), 7);
}

#[tokio::test]
async fn held_usage_survives_sqs_split_when_large() {
    let queue = SqsQueue::new(
        foresight_shared::testkit::sqs_local_client().await,
        foresight_shared::testkit::sqs_local_queue("usage-split", false).await,
    );
    let day = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    // 4,000 accounts of 40 messages: incompressible message fingerprints, ~2 MB of JSON.
    let usage = HeldUsage {
        grouped: (0..4_000)
            .map(|a| {
                let delta = UsageDelta {
                    message_ids: (0..40).map(|m| segment::fingerprint(&format!("m-{a}-{m}"))).collect(),
                    users: [format!("u-{a}")].into_iter().collect(),
                    last_seen_at: NOW + a,
                    ..UsageDelta::default()
                };
                (format!("acct_{a}"), day, delta)
            })
            .collect(),
        ungrouped: vec![("user-x".into(), day, UsageDelta { last_seen_at: NOW, ..UsageDelta::default() })],
        resolved: vec![("acct_r".into(), day, UsageDelta { first_seen_at: NOW, ..UsageDelta::default() })],
    };
    let bodies = sqs_usage::bodies(&usage).unwrap();
    assert!(bodies.len() > 1 && bodies.iter().all(|b| b.len() <= sqs_usage::MAX_BODY_BYTES), "{}", bodies.len());
    queue.hold(&usage).await.expect("held");
    let taken = queue.take(100).await.expect("taken");
    assert_eq!(taken.len(), bodies.len());
    let (receipts, merged) = merge(taken);
    let (_, whole) = merge(vec![foresight_shared::app::ports::usage_backlog::Taken { receipt: String::new(), usage }]);
    assert_eq!(merged, whole, "the parts hold the whole");
    assert!(queue.take(100).await.unwrap().is_empty(), "taken batches are hidden until released or timed out");
    queue.release(&receipts).await.expect("released");
    let attributes = queue
        .client()
        .get_queue_attributes()
        .queue_url(queue.url())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let hidden = attributes
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
        .cloned();
    assert_eq!(hidden.as_deref(), Some("0"), "released batches are deleted");
}

#[tokio::test]
async fn usage_held_for_an_account_erased_before_the_fold_is_dropped() {
    use foresight_shared::app::privacy::{erase, PrivacyPorts};
    use foresight_shared::domain::privacy::{ErasureConfig, ErasureKey};
    let key = ErasureKey::new("erasure-key").unwrap();
    let store = MemoryStore::default().with_erasure(ErasureConfig { key: key.clone(), block: true });
    let backlog = MemoryUsageBacklog::default();
    ingest_all(&store, UsageWrites::Held(&backlog)).await;
    // acct_3 has a record (user-late's group call named it) and its usage is held; erased now,
    // its tombstone stands when the fold comes. (An account whose only data is held usage has
    // nothing to erase yet: README, "Operating", says to fold first.)
    let ports = PrivacyPorts { tables: vec![&store], ledger: &store, tombstones: &store, log: &store };
    erase(&ports, Some(&key), "acct_3", "dpo@example.com", NOW).await.expect("erased").expect("acct_3 was held");
    let fold_ports = FoldPorts { backlog: &backlog, buffer: &backlog, accounts: &store, links: &store, usage: &store };
    fold(&fold_ports, BATCHES_PER_ROUND, NOW, || true).await.expect("folded");
    assert!(backlog.is_empty());
    assert_eq!(store.get("acct_3").await.unwrap(), None, "acct_3 stays erased");
    // user-late's page views before their group call: their link went with acct_3 and their
    // tombstone stands, so no provisional record takes them back.
    let provisional = identity::provisional_account_id(LinkSource::AnalyticsUser, "user-late");
    assert_eq!(store.get(&provisional).await.unwrap(), None, "user-late's held usage stays erased");
    let kept = usage_of(&store).await;
    assert!(kept.contains_key("acct_4") && !kept.contains_key("acct_3"), "{:?}", kept.keys());
}
