//! Helpers for tests that run against the local stack (`infra/local-stack.sh`). They fail
//! loudly, naming the fix, when the stack is missing: a skipped test would hide a regression.
//! Behind the `testkit` feature: test and bench targets only, never a Lambda binary.

pub mod account_life;
pub mod mutate;

use crate::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use crate::app::ports::store::{AccountScanner, AccountStore, ScanCursor, ScanPage, StoreError, UsageStore};
use crate::domain::change::{AccountChange, GuardedGroup};
use crate::domain::time::{self, DAY};
use crate::domain::usage::UsageDay;
use crate::domain::version::EventVersion;
use aws_config::Region;
use aws_credential_types::Credentials;
use chrono::NaiveDate;
use std::time::{SystemTime, UNIX_EPOCH};

/// The health sweep's ports over one store (accounts, scan, usage, sources) with an in-memory outbox
/// and queue: what a test that sweeps a store it filled needs.
pub fn sweep_ports<'a, S>(
    store: &'a S,
    outbox: &'a crate::adapters::memory::MemoryOutbox,
    queue: &'a crate::adapters::memory::MemoryQueue,
) -> crate::app::health_sweep::SweepPorts<'a>
where
    S: AccountScanner + AccountStore + crate::app::ports::store::SourceRegistry + crate::app::ports::store::UsageStore,
{
    crate::app::health_sweep::SweepPorts {
        scanner: store,
        accounts: store,
        usage: store,
        outbox,
        notifications: queue,
        progress: outbox,
        sources: store,
    }
}

/// The DynamoDB Local endpoint, or a panic that says how to start it.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_DYNAMODB is not set: this test needs DynamoDB Local. \
             Run `bash infra/local-stack.sh start && eval \"$(bash infra/local-stack.sh env)\"`, \
             or the README's test command, which does both."
        )
    })
}

/// A client for DynamoDB Local with explicit region and credentials (no metadata probing).
pub async fn dynamodb_local_client() -> aws_sdk_dynamodb::Client {
    dynamodb_client_at(&dynamodb_endpoint()).await
}

/// The SDK configuration of the functions (timeouts, retries) for a local `endpoint`.
async fn local_config(endpoint: &str) -> aws_config::SdkConfig {
    crate::runtime::aws::config_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "foresight-tests"))
        .endpoint_url(endpoint)
        .load()
        .await
}

/// A DynamoDB client for a DynamoDB Local at `endpoint` (a test's private instance).
pub async fn dynamodb_client_at(endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&local_config(endpoint).await)
}

/// An SQS client for a moto server at `endpoint` (a test's private instance).
pub async fn sqs_client_at(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&local_config(endpoint).await)
}

/// A store on a new, uniquely named table in DynamoDB Local.
pub async fn dynamodb_local_store(name: &str) -> DynamoStore {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let table = format!("{name}-{}-{nanos}", std::process::id());
    let store = DynamoStore::new(dynamodb_local_client().await, table);
    if let Err(e) = store.ensure_table().await {
        panic!(
            "DynamoDB Local at {} is not reachable ({e}). Start it with `bash infra/local-stack.sh start`.",
            dynamodb_endpoint()
        );
    }
    store
}

/// `name` made unique to this process and moment (table and queue names).
pub fn unique(name: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{name}-{}-{nanos}", std::process::id())
}

/// An outbox on a new, uniquely named table in DynamoDB Local.
pub async fn dynamodb_local_outbox(name: &str) -> DynamoOutbox {
    let outbox = DynamoOutbox::new(dynamodb_local_client().await, unique(name));
    if let Err(e) = outbox.ensure_table().await {
        panic!(
            "DynamoDB Local at {} is not reachable ({e}). Start it with `bash infra/local-stack.sh start`.",
            dynamodb_endpoint()
        );
    }
    outbox
}

/// The SQS emulator (moto server) endpoint, or a panic that says how to start it.
pub fn sqs_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SQS").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_SQS is not set: this test needs the SQS emulator (moto server). \
             Run `bash infra/local-stack.sh start && eval \"$(bash infra/local-stack.sh env)\"`, \
             or the README's test command, which does both."
        )
    })
}

/// A client for the moto server with explicit region and credentials.
pub async fn sqs_local_client() -> aws_sdk_sqs::Client {
    sqs_client_at(&sqs_endpoint()).await
}

/// The moto server's SES v2 endpoint, or a panic that says how to start it.
pub fn sesv2_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_SESV2").unwrap_or_else(|_| {
        panic!(
            "AWS_ENDPOINT_URL_SESV2 is not set: this test needs moto's SES v2. \
             Run `bash infra/local-stack.sh start && eval \"$(bash infra/local-stack.sh env)\"`, \
             or the README's test command, which does both."
        )
    })
}

/// An SES v2 client for the moto server with `identity` created (moto refuses mail from an
/// unknown identity; creating one again is harmless).
pub async fn sesv2_local_client(identity: &str) -> aws_sdk_sesv2::Client {
    let config = crate::runtime::aws::config_loader()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("local", "local", None, None, "foresight-tests"))
        .endpoint_url(sesv2_endpoint())
        .load()
        .await;
    let client = aws_sdk_sesv2::Client::new(&config);
    if let Err(e) = client.create_email_identity().email_identity(identity).send().await {
        let already = e.as_service_error().is_some_and(|s| s.is_already_exists_exception());
        assert!(already, "moto's SES v2 at {}: {}", sesv2_endpoint(), aws_sdk_sesv2::error::DisplayErrorContext(e));
    }
    client
}

/// A new, uniquely named queue on the moto server (FIFO when `fifo`), returned as its URL.
pub async fn sqs_local_queue(name: &str, fifo: bool) -> String {
    let client = sqs_local_client().await;
    let mut queue = unique(name);
    let mut create = client.create_queue();
    if fifo {
        queue.push_str(".fifo");
        create = create.attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true");
    }
    match create.queue_name(&queue).send().await {
        Ok(out) => out.queue_url().unwrap_or_default().to_owned(),
        Err(e) => panic!(
            "the SQS emulator at {} is not reachable ({}). Start it with `bash infra/local-stack.sh start`.",
            sqs_endpoint(),
            aws_sdk_sqs::error::DisplayErrorContext(e)
        ),
    }
}

/// Receives every message now in a queue (with its attributes) and deletes them.
pub async fn sqs_drain(url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    sqs_drain_with(&sqs_local_client().await, url).await
}

/// [`sqs_drain`] with a given client (a test's private moto server).
pub async fn sqs_drain_with(client: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut all = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap_or_else(|e| panic!("ReceiveMessage on {url}: {}", aws_sdk_sqs::error::DisplayErrorContext(e)));
        let messages = out.messages().to_vec();
        if messages.is_empty() {
            return all;
        }
        for m in &messages {
            if let Some(handle) = m.receipt_handle() {
                let _ = client.delete_message().queue_url(url).receipt_handle(handle).send().await;
            }
        }
        all.extend(messages);
    }
}

/// A synthetic account for scale tests and benchmarks, shaped like what the webhooks write: a
/// subscription group with its customer link, a history point a week old, and two days of
/// usage (at most 6 users on 10 or more seats: no expansion). Every 50th account is past due with
/// a failed payment, its only alert (its score a week ago was close to today's).
pub fn synthetic_account(i: usize, now: i64) -> (AccountChange, Vec<(NaiveDate, UsageDay)>) {
    use serde_json::json;
    let account_id = format!("acct_{i:05}");
    let failing = i.is_multiple_of(50);
    let mrr = 10_000 + (i as i64 % 100) * 1_000;
    let subscription = json!({
        "id": format!("sub_{i:05}"), "status": if failing { "past_due" } else { "active" }, "plan": "Pro",
        "quantity": 10 + i % 20, "currency": "usd", "interval": "year", "mrr": mrr,
        "renewal_at": now + ((i as i64 % 300) + 5) * DAY, "started_at": now - 200 * DAY,
    });
    let mut change = AccountChange::new(account_id)
        .with_guarded(GuardedGroup::new(
            format!("sub#sub_{i:05}"),
            EventVersion::new(now - 3 * DAY, &format!("evt_s{i}")),
            subscription,
        ))
        .with_fact("link_stripe", json!(format!("cus_{i:05}")))
        .with_fact(
            format!("hh#{}", time::day_key(now - 7 * DAY)),
            json!(if failing { 65 } else { 75 + (i % 20) as i64 }),
        );
    if failing {
        change = change.with_fact(format!("pf#in_{i:05}#evt_f{i}"), json!({"at": now - 2 * DAY, "amount": mrr}));
    }
    let features = ["Report Exported", "Dashboard Shared", "Integration Connected"];
    let usage = (1..=2)
        .map(|d| {
            let day = now - d * DAY;
            let mut usage = UsageDay::default();
            for m in 0..(5 + i % 25) {
                usage.message_ids.insert(format!("{:018x}", (i * 1_000 + m) as u64 * 0x9e37_79b9 + d as u64));
            }
            for u in 0..(1 + i % 6) {
                usage.users.insert(format!("user_{i}_{u}"));
            }
            usage.features.extend(features.iter().take(1 + i % 3).map(|f| f.to_string()));
            usage.seen_at.insert(day);
            (time::date(day), usage)
        })
        .collect();
    (change, usage)
}

/// Writes `synthetic_account(i, now)` for every `i` in `accounts` the way the webhooks would
/// (the account change, then its usage days), 32 at a time.
pub async fn load_synthetic<S>(store: &S, accounts: std::ops::Range<usize>, now: i64)
where
    S: AccountStore + UsageStore,
{
    use futures::stream::{self, StreamExt};
    stream::iter(accounts)
        .for_each_concurrent(32, |i| async move {
            let (change, usage) = synthetic_account(i, now);
            store.apply(&change).await.expect("account written");
            for (day, u) in &usage {
                store.add_usage(&change.account_id, *day, u).await.expect("usage written");
            }
        })
        .await;
}

/// A scanner that counts what a sweep reads through it: each account id, items and bytes.
pub struct CountingScanner<'a, S> {
    inner: &'a S,
    reads: std::sync::Mutex<std::collections::HashMap<String, usize>>,
    items: std::sync::atomic::AtomicU64,
    bytes: std::sync::atomic::AtomicU64,
}

impl<'a, S> CountingScanner<'a, S> {
    pub fn new(inner: &'a S) -> Self {
        CountingScanner { inner, reads: Default::default(), items: Default::default(), bytes: Default::default() }
    }

    /// How many times each account was read.
    pub fn reads(&self) -> std::collections::HashMap<String, usize> {
        self.reads.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Items read and their size by DynamoDB's rules.
    pub fn items_and_bytes(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.items.load(Relaxed), self.bytes.load(Relaxed))
    }
}

#[async_trait::async_trait]
impl<S: AccountScanner> AccountScanner for CountingScanner<'_, S> {
    async fn scan_segment(
        &self,
        segment: u32,
        total: u32,
        after: Option<&ScanCursor>,
        page_items: Option<i32>,
    ) -> Result<ScanPage, StoreError> {
        use std::sync::atomic::Ordering::Relaxed;
        let page = self.inner.scan_segment(segment, total, after, page_items).await?;
        let mut reads = self.reads.lock().unwrap_or_else(|e| e.into_inner());
        for account in &page.accounts {
            *reads.entry(account.account_id.clone()).or_default() += 1;
        }
        self.items.fetch_add(page.items_read, Relaxed);
        self.bytes.fetch_add(page.bytes_read, Relaxed);
        Ok(page)
    }
}

/// Every item of a DynamoDB Local table by key (`pk`, `sk`), as JSON text: what a test that
/// must find (or not find) a value anywhere in a table reads.
pub async fn scan_table_json(table: &str) -> std::collections::HashMap<(String, String), String> {
    let client = dynamodb_local_client().await;
    let mut items = std::collections::HashMap::new();
    let mut start = None;
    loop {
        let out = client.scan().table_name(table).set_exclusive_start_key(start).send().await.expect("scan");
        for item in out.items() {
            let text = |name: &str| item.get(name).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let json: serde_json::Value = serde_dynamo::from_item(item.clone()).expect("an item is JSON");
            items.insert((text("pk"), text("sk")), json.to_string());
        }
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}
