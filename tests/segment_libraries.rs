//! Segment's own server libraries send straight to Foresight: `analytics-node` (npm) and
//! `analytics-python` (PyPI `segment-analytics-python`), unmodified and configured only with the
//! host and the write key, send identify, group and track calls to the runner's HTTP Tracking
//! API (against DynamoDB Local); the usage counts are right, and a wrong write key gets 401.

use foresight_e2e::{start, WRITE_KEY};
use foresight_shared::testkit::dynamodb_local_store;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn libraries() -> PathBuf {
    root().join("tests/segment-libraries")
}

/// Installs the pinned libraries into .tools/ (quick once installed).
fn install() {
    let status = Command::new("bash").arg(libraries().join("install.sh")).status().expect("bash runs");
    assert!(status.success(), "tests/segment-libraries/install.sh failed: the libraries are needed, see its message");
}

/// Runs a client script with `input` on stdin; returns what it printed.
fn run(client: &str, input: &Value) -> Value {
    let tools = root().join(".tools/segment-libraries");
    let mut command = match client {
        "node" => {
            let mut c = Command::new("node");
            c.arg(libraries().join("send.js")).env("NODE_PATH", tools.join("npm/node_modules"));
            c
        }
        _ => {
            let mut c = Command::new(tools.join("venv/bin/python"));
            c.arg(libraries().join("send.py"));
            c
        }
    };
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("the client starts");
    child.stdin.take().unwrap().write_all(input.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{client} client failed: {}", String::from_utf8_lossy(&out.stdout));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{client}: {e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn calls(host: &str, write_key: &str, user: &str, group: &str, customer: &str) -> Value {
    json!({
        "host": host, "writeKey": write_key, "userId": user, "groupId": group,
        "traits": {"name": format!("{group} Ltd"), "stripe_customer_id": customer},
        "events": [
            {"event": "Report Exported", "properties": {"format": "pdf"}},
            {"event": "Logged In", "properties": {}},
            {"event": "Dashboard Shared", "properties": {"to": 3}},
            {"event": "Logged In", "properties": {}},
            {"event": "Report Exported", "properties": {"format": "csv"}},
        ],
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_own_libraries_send_track_identify_and_group_to_the_runner() {
    install();
    let runner = start(Arc::new(dynamodb_local_store("segment-libraries").await), Some(foresight_e2e::SECRET)).await;
    let url = runner.url.clone();
    let clients =
        [("node", "acct_libs_node", "u_node", "cus_libs_node"), ("python", "acct_libs_py", "u_py", "cus_libs_py")];
    for (client, group, user, customer) in clients {
        let input = calls(&url, WRITE_KEY, user, group, customer);
        let reported = tokio::task::spawn_blocking(move || run(client, &input)).await.unwrap();
        assert_eq!(reported["errors"], json!([]), "{client}: {reported}");
    }
    for (client, group, user, customer) in clients {
        let (status, record) = runner.get(&format!("/accounts/{group}")).await;
        assert_eq!(status, 200, "{client}: {record}");
        let usage = &record["usage"];
        assert_eq!(usage["events_7d"], 5, "{client}: five track calls, counted once: {record}");
        assert_eq!(usage["active_users_7d"], 1, "{client}: {record}");
        assert_eq!(usage["features_used_30d"], json!(["Dashboard Shared", "Report Exported"]), "{client}: {record}");
        assert!(usage["first_value_at"].is_string(), "{client}: first value from Report Exported: {record}");
        assert_eq!(
            runner.get(&format!("/accounts/analytics_user:{user}")).await.0,
            404,
            "{client}: nothing left provisional"
        );
        // The group call's trait linked the Stripe customer: its events, which name only the
        // customer, reach the account.
        let customer_created = json!({"id": format!("evt_{customer}"), "object": "event", "type": "customer.created",
            "created": 1_800_000_000, "data": {"object": {"id": customer, "object": "customer", "name": group}}});
        let (status, answer) = runner.post_stripe(customer_created.to_string().as_bytes()).await;
        assert_eq!((status, answer["account_id"].as_str()), (200, Some(group)), "{client}: {answer}");
    }

    // The same calls again (new message ids): counted again, as Segment would.
    let input = calls(&url, WRITE_KEY, "u_node", "acct_libs_node", "cus_libs_node");
    tokio::task::spawn_blocking(move || run("node", &input)).await.unwrap();
    assert_eq!(runner.get("/accounts/acct_libs_node").await.1["usage"]["events_7d"], 10);

    // A wrong write key: each library reports the 401 (and gives up), nothing is stored.
    for (client, group) in [("node", "acct_wrong_node"), ("python", "acct_wrong_py")] {
        let input = calls(&url, "wk_not_the_key", "u_wrong", group, "cus_wrong");
        let reported = tokio::task::spawn_blocking(move || run(client, &input)).await.unwrap();
        let errors = reported["errors"].to_string();
        assert!(errors.contains("401"), "{client} reports the 401: {reported}");
        assert_eq!(runner.get(&format!("/accounts/{group}")).await.0, 404, "{client}: nothing stored");
    }
}

/// The Tracking API's answers over HTTP, as a hand-written client sees them (the spec sheet's
/// vector: write key `wk_test_key` → `Basic d2tfdGVzdF9rZXk6`).
#[tokio::test]
async fn tracking_api_answers_as_segment_does() {
    let runner = start(Arc::new(foresight_shared::adapters::memory::MemoryStore::new()), Some("whsec_unused")).await;
    let post = |path: &str, authorization: Option<String>, body: Vec<u8>| {
        let mut request = runner.client.post(format!("{}{path}", runner.url)).body(body);
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let key = foresight_shared::sources::segment::tracking::basic_authorization(WRITE_KEY);
    let track = json!({"userId": "u1", "event": "Logged In", "messageId": "m-1", "context": {"groupId": "acct_http"}});
    let (status, answer) = post("/v1/track", Some(key.clone()), track.to_string().into_bytes()).await;
    assert_eq!((status, answer["success"].as_bool()), (200, Some(true)), "{answer}");
    let batch = json!({"batch": [track, {"type": "page", "userId": "u2", "messageId": "m-2", "context": {"groupId": "acct_http"}}],
                       "writeKey": WRITE_KEY});
    assert_eq!(post("/v1/batch", Some(key.clone()), batch.to_string().into_bytes()).await.0, 200);
    assert_eq!(runner.get("/accounts/acct_http").await.1["usage"]["events_7d"], 2, "m-1 counted once");
    for path in ["/v1/identify", "/v1/group", "/v1/page"] {
        let body = json!({"userId": "u1", "groupId": "acct_http", "messageId": format!("m{path}")});
        assert_eq!(post(path, Some(key.clone()), body.to_string().into_bytes()).await.0, 200, "{path}");
    }

    let wrong = foresight_shared::sources::segment::tracking::basic_authorization("wk_other");
    let (status, answer) = post("/v1/batch", Some(wrong), batch.to_string().into_bytes()).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("write key rejected"), "{answer}");
    assert_eq!(post("/v1/batch", None, batch.to_string().into_bytes()).await.0, 401, "no Authorization");
    assert_eq!(post("/v1/batch", Some(key.clone()), b"{\"batch\": 1}".to_vec()).await.0, 400);
    let big = json!({"userId": "u1", "event": "x".repeat(33 * 1024), "messageId": "m-big"});
    assert_eq!(post("/v1/track", Some(key.clone()), big.to_string().into_bytes()).await.0, 400, "over 32 KB a message");
    let huge = json!({"batch": (0..20).map(|i| json!({"type": "track", "userId": "u", "messageId": format!("h{i}"),
                                                       "event": "y".repeat(30 * 1024)})).collect::<Vec<_>>()});
    assert_eq!(
        post("/v1/batch", Some(key.clone()), huge.to_string().into_bytes()).await.0,
        413,
        "over 500 KB a request"
    );

    let unconfigured = start(Arc::new(foresight_shared::adapters::memory::MemoryStore::new()), None).await;
    let response = unconfigured
        .client
        .post(format!("{}/v1/batch", unconfigured.url))
        .header("authorization", key)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "10");
    let answer: Value = response.json().await.unwrap();
    assert!(answer["error"].as_str().unwrap().contains("SEGMENT_WRITE_KEY"), "{answer}");
}
