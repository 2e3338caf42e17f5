//! The dashboard's read API: the page (`GET /`, its styles and script), how it signs in
//! (`GET /dashboard/config`) and the routes it reads (`GET /kpis`, `GET /accounts`,
//! `GET /accounts/{account_id}`, `GET /accounts/{account_id}/history`). One code for both doors:
//! the runner's axum routes (`infra/foresight/src/dashboard.rs`) and the read-api Lambda
//! function (`crate::runtime::read_api`) call these use cases and send the [`ReadResponse`]
//! they return as it is. The JSON shapes are the contract of `foresight dev` (README, "Local
//! runner").
//!
//! Who may read is decided before these run: the runner's `--auth oidc` check, or API Gateway's
//! JWT authorizer in front of the function. [`carries_customer_data`] names the routes that
//! need it.

use super::kpis::{self, KpiPorts};
use super::ports::portfolio::{MrrLedger, PortfolioCards};
use super::ports::store::{AccountLister, AccountStore, SourceRegistry};
use super::settings::Settings;
use crate::domain::account::AccountRecord;
use crate::domain::alert;
use crate::domain::kpi::Month;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::tier::Segment;
use crate::domain::time;
use http::header::{self, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{json, Value};

/// The page shell.
pub const INDEX_HTML: &str = include_str!("../../assets/dashboard/index.html");
/// Its styles.
pub const DASHBOARD_CSS: &str = include_str!("../../assets/dashboard/dashboard.css");
/// Its script: reads the JSON routes and draws the page.
pub const DASHBOARD_JS: &str = include_str!("../../assets/dashboard/dashboard.js");

/// A static file of the page: it holds no customer data, so it is public.
#[derive(Debug, PartialEq, Eq)]
pub struct PageAsset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
}

/// The page's files, by path.
pub const PAGE: [PageAsset; 3] = [
    PageAsset { path: "/", content_type: "text/html; charset=utf-8", body: INDEX_HTML },
    PageAsset { path: "/dashboard.css", content_type: "text/css; charset=utf-8", body: DASHBOARD_CSS },
    PageAsset { path: "/dashboard.js", content_type: "text/javascript; charset=utf-8", body: DASHBOARD_JS },
];

/// The headers of every page file. The policy keeps the page to its own script and styles; it
/// may call any HTTPS origin (the identity provider, for sign-in) and nothing may frame it.
pub const PAGE_HEADERS: [(HeaderName, &str); 3] = [
    (header::CACHE_CONTROL, "no-cache"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; connect-src 'self' https: http://127.0.0.1:* http://localhost:*; \
         img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
];

/// Whether a path serves customer data (and so needs a signed-in reader): the KPIs and every
/// account route. The page files and `/dashboard/config` do not.
pub fn carries_customer_data(path: &str) -> bool {
    path == "/kpis" || path == "/accounts" || path.starts_with("/accounts/")
}

/// A route of the read API, from a request path (percent-decoded account ids, as axum's `Path`).
#[derive(Debug, PartialEq, Eq)]
pub enum ReadRoute {
    Page(&'static PageAsset),
    Config,
    Kpis,
    Accounts,
    Account(String),
    History(String),
}

impl ReadRoute {
    pub fn parse(path: &str) -> Option<ReadRoute> {
        if let Some(asset) = PAGE.iter().find(|a| a.path == path) {
            return Some(ReadRoute::Page(asset));
        }
        match path {
            "/dashboard/config" => return Some(ReadRoute::Config),
            "/kpis" => return Some(ReadRoute::Kpis),
            "/accounts" => return Some(ReadRoute::Accounts),
            _ => {}
        }
        let rest = path.strip_prefix("/accounts/")?;
        let (id, history) = match rest.split_once('/') {
            None => (rest, false),
            Some((id, "history")) => (id, true),
            Some(_) => return None,
        };
        let id = percent_encoding::percent_decode_str(id).decode_utf8().ok()?.into_owned();
        if id.is_empty() {
            return None;
        }
        Some(if history { ReadRoute::History(id) } else { ReadRoute::Account(id) })
    }
}

/// What the read use cases need from storage.
pub struct ReadPorts<'a> {
    pub accounts: &'a dyn AccountStore,
    pub lister: &'a dyn AccountLister,
    pub sources: &'a dyn SourceRegistry,
    pub ledger: &'a dyn MrrLedger,
    pub cards: &'a dyn PortfolioCards,
}

/// How the page signs in (authorization code + PKCE with this client at this issuer), as
/// `GET /dashboard/config` tells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignIn {
    pub issuer: String,
    pub audience: String,
    pub client_id: String,
}

/// An answer of the read API: status, headers and body, sent as they are by both doors.
#[derive(Debug)]
pub struct ReadResponse {
    pub status: u16,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: String,
}

impl ReadResponse {
    /// 200 with `value` as JSON.
    pub fn json<T: Serialize>(value: &T) -> Self {
        match serde_json::to_string(value) {
            Ok(body) => ReadResponse { status: 200, headers: vec![json_type()], body },
            Err(e) => ReadResponse::error(500, format!("cannot encode the answer: {e}")),
        }
    }

    /// `status` with `{"error": message}`.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        let body = json!({ "error": message.into() }).to_string();
        ReadResponse { status, headers: vec![json_type()], body }
    }

    /// 401 with the reason, and the `WWW-Authenticate` challenge a bearer-token API sends.
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        let mut response = ReadResponse::error(401, reason);
        response.headers.push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer error=\"invalid_token\"")));
        response
    }

    /// A page file with its type and the page's headers.
    pub fn page(asset: &PageAsset) -> Self {
        let mut headers = vec![(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type))];
        headers.extend(PAGE_HEADERS.iter().map(|(name, value)| (name.clone(), HeaderValue::from_static(value))));
        ReadResponse { status: 200, headers, body: asset.body.to_owned() }
    }

    pub fn into_http(self) -> http::Response<String> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() =
            http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        response.headers_mut().extend(self.headers);
        response
    }
}

fn json_type() -> (HeaderName, HeaderValue) {
    (header::CONTENT_TYPE, HeaderValue::from_static("application/json"))
}

/// `?now=RFC3339`: the record as of that time (windows such as "in 30 days" end there).
#[derive(Debug, Default, Deserialize)]
pub struct AsOf {
    pub now: Option<String>,
}

/// `GET /kpis?month=YYYY-MM[&now=][&detail=accounts]`.
#[derive(Debug, Default, Deserialize)]
pub struct KpiQuery {
    pub month: Option<String>,
    pub now: Option<String>,
    pub detail: Option<String>,
}

/// `GET /accounts?band=&segment=&lifecycle=[&now=][&view=summary][&limit=][&after=]`.
#[derive(Debug, Default, Deserialize)]
pub struct ListFilter {
    pub now: Option<String>,
    pub band: Option<String>,
    pub segment: Option<String>,
    pub lifecycle: Option<String>,
    /// `records` (the default): each account's whole record; `summary`: one [`AccountSummary`]
    /// each.
    pub view: Option<String>,
    /// The most accounts in one answer, up to the view's [`ListView::max_page`] (also the
    /// default, as is a blank value). Text, so that a bad value gets this API's 400 rather
    /// than the decoder's.
    pub limit: Option<String>,
    /// The `next` of the previous page: the answer starts after this account id (blank: from
    /// the first).
    pub after: Option<String>,
}

/// What `GET /accounts` lists per account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListView {
    Records,
    Summary,
}

impl ListView {
    /// The most accounts a page holds: a typical whole record is ~2.4 KB and a summary ~230
    /// bytes, so a full page is ~2.4 MB; a caller follows `next` for the rest.
    pub const fn max_page(self) -> usize {
        match self {
            ListView::Records => 1_000,
            ListView::Summary => 10_000,
        }
    }
}

/// The most JSON bytes of accounts a page holds, whatever their count: records have lists that
/// grow with an account's history (subscriptions, MRR movements), and a Lambda function's answer
/// may not pass 6 MB once API Gateway's envelope has escaped every quote of the body (~1.2×).
pub const PAGE_BYTES: usize = 4_000_000;

impl ListFilter {
    /// The view and page size asked for, or the message of the 400.
    pub fn page(&self) -> Result<(ListView, usize), String> {
        let view = match self.view.as_deref() {
            None | Some("records") => ListView::Records,
            Some("summary") => ListView::Summary,
            Some(other) => return Err(format!("view can be records or summary, not {other:?}")),
        };
        let max = view.max_page();
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => max,
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => return Err(format!("limit must be a whole number from 1 to {max} for this view, not {text:?}")),
            },
        };
        Ok((view, limit))
    }
}

/// One account as a list on the page shows it: ~300 bytes instead of a whole record (~2.4 KB),
/// so the page of a large portfolio loads in a fraction of the time and stays far inside
/// Lambda's 6 MB answer. `top_reason` is the rule of [`alert::list_reasons`], so the page
/// and the alerts explain an account the same way.
#[derive(Debug, PartialEq, Serialize)]
pub struct AccountSummary {
    pub account_id: String,
    pub name: Option<String>,
    pub segment: Segment,
    pub lifecycle: Lifecycle,
    /// In the smallest unit of `currency`.
    pub mrr: i64,
    pub currency: Option<String>,
    pub score: Option<i64>,
    pub band: Option<String>,
    pub change_7d: Option<i64>,
    /// What costs the account the most; `None` before its first sweep or when nothing does.
    pub top_reason: Option<String>,
}

impl AccountSummary {
    pub fn of(record: &AccountRecord) -> Self {
        let health = |key: &str| record.health.as_ref().and_then(|h| h.get(key));
        AccountSummary {
            account_id: record.account_id.clone(),
            name: record.name.clone(),
            segment: record.segment,
            lifecycle: record.lifecycle,
            mrr: record.billing.mrr,
            currency: record.billing.currency.clone(),
            score: health("score").and_then(Value::as_i64),
            band: health("band").and_then(Value::as_str).map(str::to_owned),
            change_7d: health("change_7d").and_then(Value::as_i64),
            top_reason: alert::stored_health(record)
                .and_then(|scored| alert::list_reasons(&scored, 1).into_iter().next()),
        }
    }
}

/// A route's query string, decoded as the read use cases take it, or the JSON 400 (the runner
/// and the function answer a malformed query alike).
pub fn parse_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<T, ReadResponse> {
    serde_urlencoded::from_str(query).map_err(|e| ReadResponse::error(400, format!("bad query string: {e}")))
}

/// The time `?now=` names, `clock` without one, or the message of the 400.
pub fn as_of(now: Option<&str>, clock: i64) -> Result<i64, String> {
    match now {
        None => Ok(clock),
        Some(text) => time::parse(text).ok_or_else(|| format!("now must be an RFC 3339 time, not {text:?}")),
    }
}

/// `GET /dashboard/config`: how the page signs in (`auth` null: no token is asked for).
pub fn config(sign_in: Option<&SignIn>) -> ReadResponse {
    ReadResponse::json(&json!({ "auth": sign_in }))
}

/// `GET /kpis`: the month's portfolio KPIs as of `now`.
pub async fn kpis(ports: &ReadPorts<'_>, settings: &Settings, query: &KpiQuery, clock: i64) -> ReadResponse {
    let now = match as_of(query.now.as_deref(), clock) {
        Ok(now) => now,
        Err(message) => return ReadResponse::error(400, message),
    };
    let month = match query.month.as_deref() {
        None => Month::of(now),
        Some(text) => match Month::parse(text) {
            Some(month) => month,
            None => return ReadResponse::error(400, format!("month must be YYYY-MM, not {text:?}")),
        },
    };
    let detail = match query.detail.as_deref() {
        None => false,
        Some("accounts") => true,
        Some(other) => return ReadResponse::error(400, format!("detail can only be accounts, not {other:?}")),
    };
    let kpi_ports = KpiPorts { ledger: ports.ledger, cards: ports.cards };
    match kpis::month_kpis(&kpi_ports, settings, month, now, detail).await {
        Ok(k) => ReadResponse::json(&k),
        Err(e) => ReadResponse::error(500, e.to_string()),
    }
}

/// `GET /accounts/{account_id}`: one account's record as of `now`.
pub async fn account(
    ports: &ReadPorts<'_>,
    settings: &Settings,
    account_id: &str,
    query: &AsOf,
    clock: i64,
) -> ReadResponse {
    let now = match as_of(query.now.as_deref(), clock) {
        Ok(now) => now,
        Err(message) => return ReadResponse::error(400, message),
    };
    let deployment = match ports.sources.connected_sources().await {
        Ok(d) => d,
        Err(e) => return ReadResponse::error(500, e.to_string()),
    };
    match ports.accounts.get(account_id).await {
        Ok(Some(stored)) => ReadResponse::json(&settings.record_in(&stored, now, Some(&deployment))),
        Ok(None) => ReadResponse::error(404, format!("no account {account_id:?}")),
        Err(e) => ReadResponse::error(500, e.to_string()),
    }
}

/// The answer of `GET /accounts`: one page, in account id order, each account's JSON made once.
#[derive(Serialize)]
struct Listing {
    accounts: Vec<Box<RawValue>>,
    /// Accounts on this page.
    count: usize,
    /// Present when more accounts pass the filters: the `after` of the next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
}

/// A page of `accounts` as `view` lists them: at most `limit` of them and [`PAGE_BYTES`] of
/// JSON (always at least one), with the `next` cursor when any is left.
fn page_of(
    accounts: impl Iterator<Item = AccountRecord>,
    view: ListView,
    limit: usize,
) -> Result<Listing, serde_json::Error> {
    let (mut page, mut bytes, mut last_id) = (Vec::new(), 0, None);
    for record in accounts {
        // One more account passes the filters: the page is full, and it starts the next one.
        if page.len() == limit {
            return Ok(Listing { count: page.len(), accounts: page, next: last_id });
        }
        let json = match view {
            ListView::Records => serde_json::value::to_raw_value(&record)?,
            ListView::Summary => serde_json::value::to_raw_value(&AccountSummary::of(&record))?,
        };
        if !page.is_empty() && bytes + json.get().len() > PAGE_BYTES {
            return Ok(Listing { count: page.len(), accounts: page, next: last_id });
        }
        bytes += json.get().len() + 1;
        last_id = Some(record.account_id);
        page.push(json);
    }
    Ok(Listing { count: page.len(), accounts: page, next: None })
}

/// Whether a record passes the list's filters (each compared with the record's JSON name, which
/// is the enums' strum name too: both snake_case).
fn passes(record: &AccountRecord, filter: &ListFilter) -> bool {
    let is = |wanted: &Option<String>, found: Option<&str>| wanted.as_deref().is_none_or(|w| found == Some(w));
    let band = record.health.as_ref().and_then(|h| h.get("band")).and_then(Value::as_str);
    is(&filter.band, band)
        && is(&filter.segment, Some(record.segment.into()))
        && is(&filter.lifecycle, Some(record.lifecycle.into()))
}

/// `GET /accounts`: the accounts' records (or summaries) as of `now`, filtered by band,
/// segment, lifecycle, in account id order, a page at a time (`limit`, `after`, `next`).
pub async fn accounts(ports: &ReadPorts<'_>, settings: &Settings, filter: &ListFilter, clock: i64) -> ReadResponse {
    // The query first: a bad one is answered before the table is read.
    let now = match as_of(filter.now.as_deref(), clock) {
        Ok(now) => now,
        Err(message) => return ReadResponse::error(400, message),
    };
    let (view, limit) = match filter.page() {
        Ok(page) => page,
        Err(message) => return ReadResponse::error(400, message),
    };
    let mut stored = match ports.lister.list().await {
        Ok(stored) => stored,
        Err(e) => return ReadResponse::error(500, e.to_string()),
    };
    let deployment = match ports.sources.connected_sources().await {
        Ok(d) => d,
        Err(e) => return ReadResponse::error(500, e.to_string()),
    };
    stored.sort_unstable_by(|a, b| a.account_id.cmp(&b.account_id));
    let after = filter.after.as_deref().map(str::trim).filter(|a| !a.is_empty());
    let records = stored
        .iter()
        .filter(|s| after.is_none_or(|after| s.account_id.as_str() > after))
        .map(|s| settings.record_in(s, now, Some(&deployment)))
        .filter(|r| passes(r, filter));
    match page_of(records, view, limit) {
        Ok(listing) => ReadResponse::json(&listing),
        Err(e) => ReadResponse::error(500, format!("an account did not serialize: {e}")),
    }
}

/// `GET /accounts/{account_id}/history`: the daily scores the health sweep kept, oldest first.
pub async fn history(ports: &ReadPorts<'_>, account_id: &str) -> ReadResponse {
    match ports.accounts.get(account_id).await {
        Ok(Some(stored)) => {
            let points: Vec<_> =
                stored.health_history().into_iter().map(|(day, score)| json!({"day": day, "score": score})).collect();
            ReadResponse::json(&json!({ "account_id": account_id, "history": points }))
        }
        Ok(None) => ReadResponse::error(404, format!("no account {account_id:?}")),
        Err(e) => ReadResponse::error(500, e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_parsed_from_paths() {
        assert_eq!(ReadRoute::parse("/"), Some(ReadRoute::Page(&PAGE[0])));
        assert_eq!(ReadRoute::parse("/dashboard.js"), Some(ReadRoute::Page(&PAGE[2])));
        assert_eq!(ReadRoute::parse("/dashboard/config"), Some(ReadRoute::Config));
        assert_eq!(ReadRoute::parse("/kpis"), Some(ReadRoute::Kpis));
        assert_eq!(ReadRoute::parse("/accounts"), Some(ReadRoute::Accounts));
        assert_eq!(ReadRoute::parse("/accounts/acct%201"), Some(ReadRoute::Account("acct 1".into())));
        assert_eq!(ReadRoute::parse("/accounts/acct_1/history"), Some(ReadRoute::History("acct_1".into())));
        for path in ["/accounts/", "/accounts/a/b", "/accountsx", "/outbox", "/webhooks/stripe", "/kpis/"] {
            assert_eq!(ReadRoute::parse(path), None, "{path}");
        }
    }

    #[test]
    fn only_the_kpis_and_accounts_carry_customer_data() {
        for path in ["/kpis", "/accounts", "/accounts/acct_1", "/accounts/acct_1/history"] {
            assert!(carries_customer_data(path), "{path}");
        }
        for path in ["/", "/dashboard.css", "/dashboard.js", "/dashboard/config", "/accountsx"] {
            assert!(!carries_customer_data(path), "{path}");
        }
    }

    fn record_with_lifecycle(lifecycle: Lifecycle) -> AccountRecord {
        AccountRecord { lifecycle, ..record_with_health(json!({"score": 35, "band": "red"})) }
    }

    fn record_with_health(health: Value) -> AccountRecord {
        let stored = crate::domain::account::StoredAccount { account_id: "acct_1".into(), ..Default::default() };
        AccountRecord { name: Some("Acme".into()), health: Some(health), ..AccountRecord::from_stored(&stored, 0) }
    }

    #[test]
    fn a_summary_carries_the_lists_fields_and_the_alerts_top_reason() {
        let health = json!({
            "score": 35, "band": "red", "change_7d": -18, "missing": [], "missing_reasons": [],
            "components": [
                {"name": "usage", "score": 20, "weight": 0.5, "points": 10, "reason": "logins -60%"},
                {"name": "support", "score": 50, "weight": 0.5, "points": 25, "reason": "2 urgent tickets"}
            ],
            "cap": {"band": "red", "at": 39, "reason": "card declined"}
        });
        let record = record_with_health(health.clone());
        let summary = AccountSummary::of(&record);
        assert_eq!(
            serde_json::to_value(&summary).unwrap(),
            json!({
                "account_id": "acct_1", "name": "Acme", "segment": "tech_touch", "lifecycle": record.lifecycle,
                "mrr": 0, "currency": null, "score": 35, "band": "red", "change_7d": -18,
                "top_reason": "billing: card declined"
            })
        );
        let mut uncapped = health;
        uncapped.as_object_mut().unwrap().remove("cap");
        assert_eq!(AccountSummary::of(&record_with_health(uncapped)).top_reason.as_deref(), Some("usage: logins -60%"));
        let unscored = AccountSummary::of(&AccountRecord { health: None, ..record });
        assert_eq!((unscored.score, unscored.band, unscored.top_reason), (None, None, None));
    }

    #[test]
    fn list_filters_compare_the_records_json_names() {
        let record = record_with_health(json!({"score": 35, "band": "red"}));
        let filter = |band: &str, segment: &str| ListFilter {
            band: Some(band.into()),
            segment: Some(segment.into()),
            ..Default::default()
        };
        assert!(passes(&record, &ListFilter::default()));
        assert!(passes(&record, &filter("red", "tech_touch")));
        assert!(!passes(&record, &filter("green", "tech_touch")));
        assert!(!passes(&record, &filter("red", "high_touch")));
        assert!(!passes(&AccountRecord { health: None, ..record }, &filter("red", "tech_touch")));
        // The filters compare strum names; the API shows serde names: they are the same.
        use strum::IntoEnumIterator;
        for segment in Segment::iter() {
            assert_eq!(json!(segment), <&str>::from(segment));
        }
        for lifecycle in Lifecycle::iter() {
            assert_eq!(json!(lifecycle), <&str>::from(lifecycle));
            let wanted = ListFilter { lifecycle: Some(<&str>::from(lifecycle).into()), ..Default::default() };
            assert!(passes(&record_with_lifecycle(lifecycle), &wanted), "{lifecycle}");
        }
    }

    #[test]
    fn a_page_is_at_most_what_a_lambda_answer_holds() {
        let page = |view: Option<&str>, limit: Option<&str>| {
            ListFilter { view: view.map(Into::into), limit: limit.map(Into::into), ..Default::default() }.page()
        };
        assert_eq!(page(None, None), Ok((ListView::Records, 1_000)));
        assert_eq!(page(Some("summary"), None), Ok((ListView::Summary, 10_000)));
        assert_eq!(page(Some("summary"), Some("10000")), Ok((ListView::Summary, 10_000)));
        assert_eq!(page(Some("records"), Some(" 25 ")), Ok((ListView::Records, 25)));
        assert_eq!(page(None, Some("")), Ok((ListView::Records, 1_000)), "limit= is the default");
        for (view, limit) in [(None, "0"), (None, "1001"), (Some("summary"), "10001"), (None, "-1"), (None, "all")] {
            let error = page(view, Some(limit)).unwrap_err();
            assert!(error.starts_with("limit must be a whole number from 1 to"), "{error}");
        }
        assert!(page(Some("cards"), None).unwrap_err().contains("records or summary"));
    }

    #[test]
    fn a_page_ends_at_its_limit_or_its_bytes_and_names_the_next() {
        let account = |id: &str, notes: usize| AccountRecord {
            account_id: id.into(),
            name: Some("n".repeat(notes)),
            ..record_with_health(json!({"score": 50, "band": "yellow"}))
        };
        let ids = |listing: &Listing| -> Vec<String> {
            listing
                .accounts
                .iter()
                .map(|a| serde_json::from_str::<Value>(a.get()).unwrap()["account_id"].to_string())
                .collect()
        };
        let three = || ["a", "b", "c"].into_iter().map(|id| account(id, 10));
        let full = page_of(three(), ListView::Summary, 3).unwrap();
        assert_eq!((full.count, full.next.as_deref()), (3, None), "exactly the limit left: no next page");
        let first = page_of(three(), ListView::Records, 2).unwrap();
        assert_eq!((ids(&first), first.next.as_deref()), (vec!["\"a\"".to_owned(), "\"b\"".to_owned()], Some("b")));
        // Large records end a page by bytes before its count; one alone is always answered.
        let big = || ["a", "b", "c"].into_iter().map(|id| account(id, PAGE_BYTES / 2));
        let by_bytes = page_of(big(), ListView::Records, 1_000).unwrap();
        assert_eq!((by_bytes.count, by_bytes.next.as_deref()), (1, Some("a")));
        let huge = page_of(std::iter::once(account("z", PAGE_BYTES * 2)), ListView::Records, 1_000).unwrap();
        assert_eq!((huge.count, huge.next), (1, None));
        let body = serde_json::to_string(&page_of(three(), ListView::Summary, 10).unwrap()).unwrap();
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((parsed["count"].as_u64(), parsed.get("next")), (Some(3), None));
        assert_eq!(parsed["accounts"][2]["account_id"], "c");
    }

    #[test]
    fn the_config_names_the_sign_in_or_null() {
        assert_eq!(config(None).body, r#"{"auth":null}"#);
        let sign_in = SignIn { issuer: "https://idp".into(), audience: "api".into(), client_id: "page".into() };
        let body: Value = serde_json::from_str(&config(Some(&sign_in)).body).unwrap();
        assert_eq!(body, json!({"auth": {"issuer": "https://idp", "audience": "api", "client_id": "page"}}));
    }
}
