//! Shared helpers of the end-to-end tests: start the local runner in-process on a free port
//! with a chosen store, sign and post events as Stripe does, read records back.

use foresight::server::{self, AppState};
use foresight::signing::stripe_header;
use foresight_shared::ingest::stripe::StripeWebhook;
use foresight_shared::sources::stripe::StripeSecrets;
use foresight_shared::store::{AccountLister, AccountStore, LinkStore};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub const SECRET: &str = "whsec_e2e_secret";

pub struct Runner {
    pub url: String,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Starts the runner on 127.0.0.1 with `store`; `secret` `None` leaves Stripe unconfigured.
pub async fn start<S>(store: Arc<S>, secret: Option<&str>) -> Runner
where
    S: AccountStore + AccountLister + LinkStore + 'static,
{
    let stripe = StripeWebhook::new(secret.map(|s| StripeSecrets::new(s, None)), "account_id");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(server::serve(listener, AppState::new(store, stripe)));
    Runner { url, client: reqwest::Client::new(), task }
}

pub fn now() -> i64 {
    foresight_shared::ingest::unix_now()
}

impl Runner {
    /// Posts a body with a given `Stripe-Signature` header (or none). Returns status and JSON.
    pub async fn post_stripe_raw(&self, body: Vec<u8>, header: Option<String>) -> (u16, Value) {
        let mut request = self.client.post(format!("{}/webhooks/stripe", self.url)).body(body);
        if let Some(h) = header {
            request = request.header("stripe-signature", h);
        }
        let response = request.send().await.expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs a body with [`SECRET`] at the current time and posts it.
    pub async fn post_stripe(&self, body: &[u8]) -> (u16, Value) {
        self.post_stripe_raw(body.to_vec(), Some(stripe_header(SECRET, now(), body))).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.url)).send().await.expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every account record, keyed by id.
    pub async fn accounts(&self) -> Value {
        let (status, body) = self.get("/accounts").await;
        assert_eq!(status, 200, "{body}");
        body["accounts"].clone()
    }
}

/// The sample Stripe events of `events/stripe`, in file (time) order.
pub fn sample_stripe_events() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/stripe");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "expected the sample week of events in {}", dir.display());
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}
