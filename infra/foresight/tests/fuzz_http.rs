//! The `foresight dev` process under fuzzed input, against DynamoDB Local: validly signed bodies
//! of every webhook and the HTTP Tracking API, each a sample event with mutations (types swapped,
//! fields removed, huge numbers, long ids, deep nesting, duplicate keys, invalid UTF-8, cut
//! bodies). Never a 5xx for bad input, never a panic, the process alive at the end, and every
//! stored record still readable. Figures are printed (`--nocapture`).

use foresight::signing::{stripe_header, zendesk_headers};
use foresight_shared::sources::segment::{signature, tracking};
use foresight_shared::testkit::mutate::{apply_all, mutations};
use foresight_shared::testkit::{dynamodb_endpoint, unique};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Mutated bodies per endpoint.
const CASES: usize = 250;
const STRIPE_SECRET: &str = "whsec_fuzz";
const ZENDESK_SECRET: &str = "zendesk_fuzz";
const SEGMENT_SECRET: &str = "segment_fuzz";
const WRITE_KEY: &str = "wk_fuzz";

fn samples(folder: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events").join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Endpoint {
    Stripe,
    Zendesk,
    Segment,
    Tracking,
}

/// A request as the sender would sign it, for a (mutated) body.
fn request(
    client: &reqwest::Client,
    url: &str,
    endpoint: Endpoint,
    body: Vec<u8>,
    case: usize,
) -> reqwest::RequestBuilder {
    let now = chrono::Utc::now().timestamp();
    let (path, headers): (&str, Vec<(&str, String)>) = match endpoint {
        Endpoint::Stripe => ("/webhooks/stripe", vec![("stripe-signature", stripe_header(STRIPE_SECRET, now, &body))]),
        Endpoint::Zendesk => {
            ("/webhooks/zendesk", zendesk_headers(ZENDESK_SECRET, now, &format!("inv-fuzz-{case}"), &body).to_vec())
        }
        Endpoint::Segment => {
            let signed = signature::signed_bytes(&body).unwrap_or(&body);
            ("/webhooks/segment", vec![("x-signature", signature::compute_signature(SEGMENT_SECRET, signed))])
        }
        Endpoint::Tracking => ("/v1/batch", vec![("authorization", tracking::basic_authorization(WRITE_KEY))]),
    };
    let mut request = client.post(format!("{url}{path}")).timeout(Duration::from_secs(30)).body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_requests_never_get_a_5xx_nor_crash_the_runner() {
    let log = std::env::temp_dir().join(format!("{}.log", unique("foresight-fuzz")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_foresight"))
        .args(["dev", "--addr", "127.0.0.1:0", "--store", "dynamodb"])
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_endpoint())
        .env("FORESIGHT_TABLE", unique("fuzz"))
        .env("FORESIGHT_OUTBOX_TABLE", unique("fuzz-outbox"))
        .env_remove("FORESIGHT_NOTIFICATIONS_QUEUE_URL")
        .env("STRIPE_WEBHOOK_SECRET", STRIPE_SECRET)
        .env("ZENDESK_WEBHOOK_SECRET", ZENDESK_SECRET)
        .env("SEGMENT_SHARED_SECRET", SEGMENT_SECRET)
        .env("SEGMENT_WRITE_KEY", WRITE_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("the foresight binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line: {line:?} (log: {})", log.display()))
        .to_owned();
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));

    let stripe = [samples("stripe"), samples("portfolio/stripe")].concat();
    let zendesk = [samples("zendesk"), samples("portfolio/zendesk")].concat();
    let segment = [samples("segment"), samples("portfolio/segment")].concat();
    // The Tracking API's body: a batch envelope around the webhook samples' messages.
    let tracking: Vec<Vec<u8>> = segment
        .iter()
        .map(|body| {
            let value: Value = serde_json::from_slice(body).unwrap();
            let batch = if value.is_array() { value } else { Value::Array(vec![value]) };
            serde_json::to_vec(&serde_json::json!({"batch": batch, "sentAt": "2026-11-09T12:00:00.000Z"})).unwrap()
        })
        .collect();
    let mut rng = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[14; 32]));
    let mut cases = Vec::new();
    for (endpoint, bodies) in [
        (Endpoint::Stripe, &stripe),
        (Endpoint::Zendesk, &zendesk),
        (Endpoint::Segment, &segment),
        (Endpoint::Tracking, &tracking),
    ] {
        for i in 0..CASES {
            let m = mutations().new_tree(&mut rng).unwrap().current();
            cases.push((endpoint, i, apply_all(&bodies[i % bodies.len()], &m)));
        }
    }

    let client = reqwest::Client::new();
    let mut statuses: BTreeMap<(Endpoint, u16), usize> = BTreeMap::new();
    let mut server_errors = Vec::new();
    let mut no_answer = Vec::new();
    for chunk in cases.chunks(4) {
        let answers = futures::future::join_all(chunk.iter().map(|(endpoint, i, body)| {
            let request = request(&client, &url, *endpoint, body.clone(), *i);
            async move { (endpoint, i, body, request.send().await) }
        }))
        .await;
        for (endpoint, i, body, answer) in answers {
            match answer {
                Ok(response) => {
                    let status = response.status().as_u16();
                    *statuses.entry((*endpoint, status)).or_default() += 1;
                    if status >= 500 {
                        let text = response.text().await.unwrap_or_default();
                        server_errors.push(format!(
                            "{endpoint:?} case {i}: {status} {text} for {}",
                            String::from_utf8_lossy(&body[..body.len().min(600)])
                        ));
                    }
                }
                Err(e) => no_answer.push(format!("{endpoint:?} case {i}: {e}")),
            }
        }
    }

    let alive = child.try_wait().unwrap().is_none();
    let (status, all) = {
        let response = client.get(format!("{url}/accounts")).send().await.unwrap();
        (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
    };
    let accounts: Vec<String> = all["accounts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["account_id"].as_str().map(str::to_owned))
        .collect();
    let mut unreadable = Vec::new();
    for id in &accounts {
        let encoded: String = id.bytes().map(|b| format!("%{b:02X}")).collect();
        let response = client.get(format!("{url}/accounts/{encoded}")).send().await.unwrap();
        if response.status() != 200 {
            unreadable.push(format!("{id}: {}", response.status()));
        }
    }
    let outbox = client.get(format!("{url}/outbox")).send().await.unwrap().status();
    let _ = child.kill();
    let _ = child.wait();
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    let panics = logged.matches("panicked").count();

    println!(
        "fuzz (HTTP): {} signed mutated requests to {url} ({CASES} per endpoint), answers {statuses:?}; \
         5xx: {}, no answer: {}, panics: {panics}, process alive: {alive}, {} stored records read back ({} unreadable)",
        cases.len(),
        server_errors.len(),
        no_answer.len(),
        accounts.len(),
        unreadable.len()
    );
    assert!(server_errors.is_empty(), "5xx for bad input:\n{}", server_errors.join("\n"));
    assert!(no_answer.is_empty(), "requests without an answer:\n{}", no_answer.join("\n"));
    assert_eq!(panics, 0, "the runner panicked (log {}):\n{logged}", log.display());
    assert!(alive, "the runner exited (log {})", log.display());
    assert_eq!(status, 200, "GET /accounts after the fuzz: {all}");
    assert!(unreadable.is_empty(), "records that no longer read: {unreadable:?}");
    assert_eq!(outbox, 200);
    let _ = std::fs::remove_file(&log);
}
