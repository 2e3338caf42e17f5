//! Cold-start work of each function binary: the time from process start to the first request
//! for an event (`GET /2018-06-01/runtime/invocation/next`) at a local mock of the Lambda Runtime
//! API — configuration, secrets, SDK clients, the runtime client — with region and credentials
//! set explicitly so nothing probes the network. Also the size of each release binary.
//! Run: `bash infra/bench.sh` (it builds the release binaries first).

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const FUNCTIONS: [&str; 6] =
    ["stripe-webhook", "zendesk-webhook", "analytics-webhook", "health-sweep", "renewal-sweep", "dispatcher"];
const RUNS: usize = 15;

/// The Runtime API's "next invocation": reports its arrival and never answers (the process is
/// killed once measured).
async fn next(State(tx): State<mpsc::UnboundedSender<Instant>>) -> &'static str {
    let _ = tx.send(Instant::now());
    std::future::pending::<()>().await;
    ""
}

fn binary(name: &str) -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("release").join(name)
}

#[tokio::main]
async fn main() {
    let (tx, mut arrivals) = mpsc::unbounded_channel();
    let app = Router::new().route("/2018-06-01/runtime/invocation/next", get(next)).with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });

    println!("cold start to the first `next` request (release, x86_64 here; median of {RUNS}) and binary size:");
    for name in FUNCTIONS {
        let path = binary(name);
        let size = std::fs::metadata(&path)
            .unwrap_or_else(|_| panic!("{} is missing: `cargo build --release -p {name}` first", path.display()))
            .len();
        let mut times = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            let mut child = tokio::process::Command::new(&path)
                .env_clear()
                .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
                .env("AWS_LAMBDA_FUNCTION_NAME", name)
                .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
                .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
                .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
                .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
                .env("AWS_REGION", "us-east-1")
                .env("AWS_ACCESS_KEY_ID", "bench")
                .env("AWS_SECRET_ACCESS_KEY", "bench")
                .env("FORESIGHT_TABLE", "foresight")
                .env("FORESIGHT_OUTBOX_TABLE", "foresight-outbox")
                .env("FORESIGHT_SWEEP_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/sweep")
                .env("FORESIGHT_NOTIFICATIONS_QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/n.fifo")
                .env("FORESIGHT_NOTIFICATIONS_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/000000000000/d.fifo")
                .env("STRIPE_WEBHOOK_SECRET", "whsec_bench")
                .env("SLACK_BOT_TOKEN", "xoxb-bench")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .expect("the function starts");
            let arrived = tokio::time::timeout(Duration::from_secs(10), arrivals.recv())
                .await
                .unwrap_or_else(|_| panic!("{name} never asked for an event"))
                .unwrap();
            times.push(arrived.duration_since(start));
            let _ = child.kill().await;
        }
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "  {name:<18} median {:>5.1} ms, max {:>5.1} ms; binary {:.1} MB",
            ms(times[RUNS / 2]),
            ms(times[RUNS - 1]),
            size as f64 / 1_048_576.0
        );
        println!(
            "{{\"impl\":\"foresight-cold-start\",\"function\":\"{name}\",\"median_ms\":{:.2},\"binary_bytes\":{size}}}",
            ms(times[RUNS / 2])
        );
    }
}
