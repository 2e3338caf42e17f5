//! Shared helpers of the end-to-end tests: start the local runner in-process on a free port
//! with a chosen store, sign and post events as Stripe does, read records back.

pub mod browser;

use foresight::server::{self, AppState};
use foresight::signing::stripe_header;
use foresight::signing::zendesk_headers;
use foresight_shared::app::ingest::analytics::AnalyticsWebhook;
use foresight_shared::app::ingest::stripe::StripeWebhook;
use foresight_shared::app::ingest::tracking::TrackingApi;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::app::ports::portfolio::{CrmSyncQueue, MrrLedger, PortfolioCards};
use foresight_shared::app::ports::store::{
    AccountLister, AccountScanner, AccountStore, LinkStore, RenewalIndex, SourceRegistry, UsageStore,
};
use foresight_shared::domain::usage::AnalyticsConfig;
use foresight_shared::sources::segment::signature;
use foresight_shared::sources::stripe::signature::StripeSecrets;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

pub const SECRET: &str = "whsec_e2e_secret";
pub const ZENDESK_SECRET: &str = "zendesk_e2e_secret";
pub const SEGMENT_SECRET: &str = "segment_e2e_secret";
/// The write key Segment's server libraries authenticate with on the HTTP Tracking API.
pub const WRITE_KEY: &str = "wk_e2e_write_key";
pub const TYPEFORM_SECRET: &str = "typeform_e2e_secret";

/// The configuration the labelled portfolio (`events/portfolio/`) is written for: three key
/// features and a first-value event (without one, adoption is not scored and onboarding never
/// stalls). Everything else default.
pub const PORTFOLIO_SETTINGS: &str = r#"
[analytics]
key_features = ["Report Exported", "Dashboard Shared", "Integration Connected"]
first_value_event = "Report Exported"
"#;

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

/// Everything a runner's store provides.
pub trait RunnerStore:
    AccountStore
    + AccountLister
    + AccountScanner
    + RenewalIndex
    + LinkStore
    + UsageStore
    + MrrLedger
    + PortfolioCards
    + CrmSyncQueue
    + SourceRegistry
    + 'static
{
}
impl<T> RunnerStore for T where
    T: AccountStore
        + AccountLister
        + AccountScanner
        + RenewalIndex
        + LinkStore
        + UsageStore
        + MrrLedger
        + PortfolioCards
        + CrmSyncQueue
        + SourceRegistry
        + 'static
{
}

/// Starts the runner on 127.0.0.1 with `store`; `secret` `None` leaves Stripe unconfigured.
pub async fn start<S>(store: Arc<S>, secret: Option<&str>) -> Runner
where
    S: RunnerStore,
{
    serve(state(store, secret)).await
}

/// The runner's state on `store`, every webhook configured with the test secrets (Stripe's
/// being `secret`); `None` leaves them all unconfigured.
pub fn state<S: RunnerStore>(store: Arc<S>, secret: Option<&str>) -> AppState {
    let stripe = StripeWebhook::new(secret.map(|s| StripeSecrets::new(s, None)), "account_id");
    // The Zendesk webhook is configured whenever Stripe is: tests of a missing secret use None.
    let zendesk = ZendeskWebhook::new(secret.map(|_| ZENDESK_SECRET.to_owned()));
    let analytics = AnalyticsWebhook::new(secret.map(|_| SEGMENT_SECRET.to_owned()), None, analytics_config());
    let tracking = TrackingApi::new(secret.map(|_| WRITE_KEY.to_owned()), analytics_config());
    let typeform = TypeformWebhook::new(secret.map(|_| TYPEFORM_SECRET.to_owned()), "account_id");
    AppState::new(store, stripe)
        .with_zendesk(zendesk)
        .with_analytics(analytics)
        .with_tracking(tracking)
        .with_typeform(typeform)
}

/// Serves `state` on a free loopback port.
pub async fn serve(state: AppState) -> Runner {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(server::serve(listener, state));
    Runner { url, client: reqwest::Client::new(), task }
}

/// The analytics configuration the sample events are written for.
pub fn analytics_config() -> AnalyticsConfig {
    AnalyticsConfig {
        key_features: ["Report Exported", "Dashboard Shared", "Integration Connected"].map(String::from).into(),
        first_value_event: Some("Report Exported".into()),
        ..Default::default()
    }
}

pub fn now() -> i64 {
    foresight_shared::runtime::clock::unix_now()
}

impl Runner {
    /// A runner already serving at `url` from `task` (a test that builds its own state).
    pub fn attach(url: String, task: tokio::task::JoinHandle<Result<(), String>>) -> Runner {
        Runner { url, client: reqwest::Client::new(), task }
    }

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

    /// Posts a Zendesk body with the given headers.
    pub async fn post_zendesk_raw(&self, body: Vec<u8>, headers: &[(&str, String)]) -> (u16, Value) {
        let mut request = self.client.post(format!("{}/webhooks/zendesk", self.url)).body(body);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.send().await.expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs a Zendesk body with [`ZENDESK_SECRET`] now, under an invocation id, and posts it.
    pub async fn post_zendesk(&self, body: &[u8], invocation_id: &str) -> (u16, Value) {
        let headers = zendesk_headers(ZENDESK_SECRET, now(), invocation_id, body);
        self.post_zendesk_raw(body.to_vec(), &headers).await
    }

    /// Signs a Segment body (over its first element when a batch) and posts it.
    pub async fn post_segment(&self, body: &[u8]) -> (u16, Value) {
        let signed = signature::signed_bytes(body).unwrap_or(body);
        let response = self
            .client
            .post(format!("{}/webhooks/segment", self.url))
            .header("x-signature", signature::compute_signature(SEGMENT_SECRET, signed))
            .body(body.to_vec())
            .send()
            .await
            .expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Posts a Typeform body with a given `Typeform-Signature` header (or none).
    pub async fn post_typeform_raw(&self, body: Vec<u8>, signature: Option<String>) -> (u16, Value) {
        let mut request = self.client.post(format!("{}/webhooks/typeform", self.url)).body(body);
        if let Some(signature) = signature {
            request = request.header("typeform-signature", signature);
        }
        let response = request.send().await.expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs a Typeform body with [`TYPEFORM_SECRET`] and posts it.
    pub async fn post_typeform(&self, body: &[u8]) -> (u16, Value) {
        let signature = foresight_shared::sources::typeform::signature::compute_signature(TYPEFORM_SECRET, body);
        self.post_typeform_raw(body.to_vec(), Some(signature)).await
    }

    /// Links an external id to an account through `POST /links`.
    pub async fn link(&self, source: &str, external_id: &str, account_id: &str) -> Value {
        let body = serde_json::json!({"source": source, "external_id": external_id, "account_id": account_id});
        let response =
            self.client.post(format!("{}/links", self.url)).json(&body).send().await.expect("runner answers");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.client.get(format!("{}{path}", self.url)).send().await.expect("runner answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every account record, keyed by id (the tests' portfolios fit one page).
    pub async fn accounts(&self) -> Value {
        let (status, body) = self.get("/accounts").await;
        assert_eq!(status, 200, "{body}");
        assert!(body.get("next").is_none(), "more than one page of accounts: {}", body["count"]);
        body["accounts"].clone()
    }
}

/// The sample Stripe events of `events/stripe`, in file (time) order.
pub fn sample_stripe_events() -> Vec<(String, Vec<u8>)> {
    let events = sample_events("stripe");
    assert!(events.len() >= 20, "expected the sample week of Stripe events");
    events
}

/// The sample events of `events/<source>`, in file order.
pub fn sample_events(source: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events").join(source);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no sample events in {}", dir.display());
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}
