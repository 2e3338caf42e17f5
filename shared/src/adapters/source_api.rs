//! The sources' read APIs for the backfill: Stripe's `GET /v1/events` and Zendesk's incremental
//! ticket export. Both wait out a 429 (`Retry-After`, seconds) and pace their requests
//! (Zendesk allows about 10 export requests a minute).

use crate::adapters::http::{retry_after_seconds, snippet, trim_base, CONNECT_TIMEOUT};
use crate::app::ports::backfill::{SourceApiError, StripeEventPage, StripeEvents, TicketPage, ZendeskTickets};
use async_trait::async_trait;
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Requests per backfill page before a persistent 429 is an error.
const ATTEMPTS: u32 = 5;
/// The wait after a 429 without `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(10);
/// A page can be large (1000 tickets): a longer timeout than the delivery calls'.
const PAGE_TIMEOUT: Duration = Duration::from_secs(30);
/// Zendesk's incremental export allows 10 requests a minute.
pub const ZENDESK_MIN_INTERVAL: Duration = Duration::from_secs(6);

fn client() -> Result<reqwest::Client, SourceApiError> {
    reqwest::Client::builder()
        .timeout(PAGE_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("foresight/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SourceApiError::Http { api: "HTTP client", source: Box::new(e) })
}

/// Spaces requests at least `interval` apart.
struct Pacer {
    interval: Duration,
    last: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(interval: Duration) -> Self {
        Pacer { interval, last: Mutex::new(None) }
    }

    async fn wait(&self) {
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            let ready = at + self.interval;
            if ready > Instant::now() {
                tokio::time::sleep_until(ready.into()).await;
            }
        }
        *last = Some(Instant::now());
    }
}

/// Sends the request `build` makes, paced, waiting out 429s; the JSON body of a 2xx.
async fn get_json(
    api: &'static str,
    pacer: &Pacer,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Value, SourceApiError> {
    for attempt in 1..=ATTEMPTS {
        pacer.wait().await;
        let response = build().send().await.map_err(|e| SourceApiError::Http { api, source: Box::new(e) })?;
        let status = response.status();
        if status.as_u16() == 429 && attempt < ATTEMPTS {
            let wait = retry_after_seconds(response.headers()).map_or(DEFAULT_RETRY_AFTER, Duration::from_secs);
            tracing::warn!(api, seconds = wait.as_secs(), attempt, "rate limited: waiting as Retry-After says");
            tokio::time::sleep(wait).await;
            continue;
        }
        let body = response.text().await.map_err(|e| SourceApiError::Http { api, source: Box::new(e) })?;
        if !status.is_success() {
            return Err(SourceApiError::Status { api, status: status.as_u16(), body: snippet(&body) });
        }
        return serde_json::from_str(&body).map_err(|e| SourceApiError::Shape { api, reason: e.to_string() });
    }
    unreachable!("the last attempt returns")
}

/// Stripe's events API with a restricted key (read access to events only).
pub struct StripeApi {
    client: reqwest::Client,
    base: String,
    key: String,
    pacer: Pacer,
}

impl StripeApi {
    /// `base` is `https://api.stripe.com` (or a local fake in tests).
    pub fn new(base: impl Into<String>, key: impl Into<String>) -> Result<Self, SourceApiError> {
        Ok(StripeApi { client: client()?, base: trim_base(base), key: key.into(), pacer: Pacer::new(Duration::ZERO) })
    }
}

#[async_trait]
impl StripeEvents for StripeApi {
    async fn events_page(&self, since: i64, starting_after: Option<&str>) -> Result<StripeEventPage, SourceApiError> {
        const API: &str = "Stripe GET /v1/events";
        let url = format!("{}/v1/events", self.base);
        let mut query = vec![("created[gte]", since.to_string()), ("limit", "100".to_owned())];
        if let Some(after) = starting_after {
            query.push(("starting_after", after.to_owned()));
        }
        let body = get_json(API, &self.pacer, || self.client.get(&url).bearer_auth(&self.key).query(&query)).await?;
        let shape = |reason: &str| SourceApiError::Shape { api: API, reason: reason.to_owned() };
        let data = body.get("data").and_then(Value::as_array).ok_or_else(|| shape("no data list"))?;
        let last_id = data.last().and_then(|e| e.get("id")).and_then(Value::as_str).map(str::to_owned);
        let events = data.iter().map(|e| serde_json::to_vec(e).expect("a JSON value serializes")).collect();
        let has_more = body.get("has_more").and_then(Value::as_bool).ok_or_else(|| shape("no has_more"))?;
        Ok(StripeEventPage { events, last_id, has_more })
    }
}

/// Zendesk's incremental ticket export, with an API token (`{email}/token:{token}`).
pub struct ZendeskApi {
    client: reqwest::Client,
    base: String,
    user: String,
    token: String,
    pacer: Pacer,
}

impl ZendeskApi {
    /// `base` is `https://<subdomain>.zendesk.com`; requests are spaced [`ZENDESK_MIN_INTERVAL`].
    pub fn new(base: impl Into<String>, email: &str, token: impl Into<String>) -> Result<Self, SourceApiError> {
        Ok(ZendeskApi {
            client: client()?,
            base: trim_base(base),
            user: format!("{email}/token"),
            token: token.into(),
            pacer: Pacer::new(ZENDESK_MIN_INTERVAL),
        })
    }

    /// Spaces requests `interval` apart instead (tests).
    pub fn with_min_interval(mut self, interval: Duration) -> Self {
        self.pacer = Pacer::new(interval);
        self
    }
}

#[async_trait]
impl ZendeskTickets for ZendeskApi {
    async fn tickets_page(&self, since: i64, cursor: Option<&str>) -> Result<TicketPage, SourceApiError> {
        const API: &str = "Zendesk incremental ticket export";
        let url = format!("{}/api/v2/incremental/tickets/cursor.json", self.base);
        let query = match cursor {
            Some(cursor) => vec![("cursor", cursor.to_owned())],
            None => vec![("start_time", since.to_string())],
        };
        let body = get_json(API, &self.pacer, || {
            self.client.get(&url).basic_auth(&self.user, Some(&self.token)).query(&query)
        })
        .await?;
        let shape = |reason: &str| SourceApiError::Shape { api: API, reason: reason.to_owned() };
        let tickets = body.get("tickets").and_then(Value::as_array).ok_or_else(|| shape("no tickets list"))?.clone();
        let end_of_stream =
            body.get("end_of_stream").and_then(Value::as_bool).ok_or_else(|| shape("no end_of_stream"))?;
        let after_cursor = body.get("after_cursor").and_then(Value::as_str).map(str::to_owned);
        Ok(TicketPage { tickets, after_cursor, end_of_stream })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    #[tokio::test]
    async fn stripe_lists_events_with_the_restricted_key_and_pages() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/v1/events"))
            .and(query_param("created[gte]", "1700000000"))
            .and(query_param("limit", "100"))
            .and(query_param("starting_after", "evt_2"))
            .and(header("authorization", "Bearer rk_test_events"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "object": "list", "url": "/v1/events", "has_more": false,
                "data": [{"id": "evt_1", "object": "event"}]})))
            .expect(1)
            .mount(&server)
            .await;
        let api = StripeApi::new(format!("{}/", server.uri()), "rk_test_events").unwrap();
        let page = api.events_page(1_700_000_000, Some("evt_2")).await.unwrap();
        assert_eq!(page.last_id.as_deref(), Some("evt_1"));
        assert!(!page.has_more);
        assert_eq!(serde_json::from_slice::<Value>(&page.events[0]).unwrap()["id"], "evt_1");
    }

    #[tokio::test]
    async fn zendesk_waits_out_a_429_then_reads_the_page() {
        let server = MockServer::start().await;
        let auth = format!("Basic {}", base64_encode("ops@acme.example/token:zd_token"));
        Mock::given(method("GET"))
            .and(path("/api/v2/incremental/tickets/cursor.json"))
            .and(query_param("start_time", "1700000000"))
            .and(header("authorization", auth.as_str()))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/api/v2/incremental/tickets/cursor.json"))
            .and(query_param("start_time", "1700000000"))
            .and(header("authorization", auth.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "tickets": [{"id": 1}], "after_cursor": "c2", "end_of_stream": false})))
            .mount(&server)
            .await;
        let api =
            ZendeskApi::new(server.uri(), "ops@acme.example", "zd_token").unwrap().with_min_interval(Duration::ZERO);
        let started = Instant::now();
        let page = api.tickets_page(1_700_000_000, None).await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(1), "the 429's Retry-After was waited out");
        assert_eq!(page.after_cursor.as_deref(), Some("c2"));
        assert_eq!(page.tickets.len(), 1);
        assert!(!page.end_of_stream);
    }

    fn base64_encode(text: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    }
}
