//! Salesforce: a Task per alert on the account (`WhatId`), through a connected app's OAuth 2.0
//! client-credentials flow, and the SOQL query that finds it again after a crash.
//!
//! Spec: `../shared/integrations.md`, section Salesforce. The flow issues no refresh token: the
//! access token is cached, and on 401 `INVALID_SESSION_ID` a new one is fetched once and the call
//! retried once. Priority and Status are picklists whose values vary per org: `[delivery.salesforce]`
//! in `foresight.toml` sets them.

use super::http::{network_error, retry_after_seconds, snippet, trim_base};
use crate::app::dispatch::picklists::SalesforcePicklists;
use crate::app::ports::delivery::{truncate, CrmPort, CrmTask, Delivered, DeliveryError, TaskPriority};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::Mutex;

pub const API_VERSION: &str = "v67.0";
/// `Subject` is a 255-character field.
pub const MAX_SUBJECT: usize = 255;
/// `Description` is a 32,000-character long text area.
pub const MAX_DESCRIPTION: usize = 32_000;
/// Wait after `REQUEST_LIMIT_EXCEEDED` (the org's rolling 24-hour API limit): a short backoff
/// will not lift it.
pub const REQUEST_LIMIT_RETRY_AFTER: u64 = 900;
/// How far back `find_task` looks (the outbox keeps a record 90 days).
const FIND_WINDOW_DAYS: u32 = 90;

/// How to reach one org, and its picklist values.
#[derive(Clone, PartialEq, Eq)]
pub struct SalesforceConfig {
    /// `https://<MyDomain>.my.salesforce.com` (the token endpoint's host).
    pub login_url: String,
    /// The connected app's consumer key and secret.
    pub client_id: String,
    pub client_secret: String,
    /// REST API version, `v67.0`.
    pub api_version: String,
    /// `Priority` values for high, medium and low (defaults `High`, `Normal`, `Low`).
    pub priority_high: String,
    pub priority_medium: String,
    pub priority_low: String,
    /// `Status` of a new task (default `Not Started`).
    pub status: String,
}

impl SalesforceConfig {
    pub fn new(login_url: impl Into<String>, client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        SalesforceConfig {
            login_url: trim_base(login_url),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            api_version: API_VERSION.to_owned(),
            priority_high: "High".to_owned(),
            priority_medium: "Normal".to_owned(),
            priority_low: "Low".to_owned(),
            status: "Not Started".to_owned(),
        }
    }

    /// These settings with the org's picklist values (`[delivery.salesforce]`).
    pub fn with_picklists(mut self, values: &SalesforcePicklists) -> Self {
        self.priority_high = values.priority_high.clone();
        self.priority_medium = values.priority_medium.clone();
        self.priority_low = values.priority_low.clone();
        self.status = values.status.clone();
        self
    }

    fn priority(&self, p: TaskPriority) -> &str {
        match p {
            TaskPriority::High => &self.priority_high,
            TaskPriority::Medium => &self.priority_medium,
            TaskPriority::Low => &self.priority_low,
        }
    }
}

impl std::fmt::Debug for SalesforceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceConfig")
            .field("login_url", &self.login_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("api_version", &self.api_version)
            .field("priority_high", &self.priority_high)
            .field("priority_medium", &self.priority_medium)
            .field("priority_low", &self.priority_low)
            .field("status", &self.status)
            .finish()
    }
}

/// An access token and the instance it is for.
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Token {
    pub access_token: String,
    pub instance_url: String,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token").field("access_token", &"<redacted>").field("instance_url", &self.instance_url).finish()
    }
}

/// One org. Share it (an `Arc`) across concurrent deliveries: the token is fetched once and cached.
pub struct Salesforce {
    pub config: SalesforceConfig,
    client: reqwest::Client,
    token: Mutex<Option<Token>>,
}

impl std::fmt::Debug for Salesforce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Salesforce").field("config", &self.config).finish_non_exhaustive()
    }
}

/// What one authenticated call answered, after at most one re-authentication.
struct Answer {
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Salesforce {
    pub fn new(client: reqwest::Client, config: SalesforceConfig) -> Self {
        Salesforce { config, client, token: Mutex::new(None) }
    }

    /// The JSON body of the Task create request.
    pub fn task_body(&self, t: &CrmTask) -> Value {
        let mut task = serde_json::Map::new();
        task.insert("Subject".into(), json!(t.subject_line(MAX_SUBJECT)));
        task.insert("Description".into(), json!(truncate(&t.body, MAX_DESCRIPTION)));
        task.insert("ActivityDate".into(), json!(t.due.format("%Y-%m-%d").to_string()));
        task.insert("Priority".into(), json!(self.config.priority(t.priority)));
        task.insert("Status".into(), json!(self.config.status));
        if let Some(account) = t.salesforce_account_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            task.insert("WhatId".into(), json!(account));
        }
        match t.owner_id.as_deref().map(str::trim) {
            Some(owner) if is_user_id(owner) => {
                task.insert("OwnerId".into(), json!(owner));
            }
            Some(owner) if !owner.is_empty() => {
                tracing::warn!(dedupe_key = %t.dedupe_key, owner, "owner is not a Salesforce User id: task left to the integration user");
            }
            _ => {}
        }
        Value::Object(task)
    }

    /// Creates the Task: 201 → its id (`00T…`).
    pub async fn create_task(&self, t: &CrmTask) -> Result<Delivered, DeliveryError> {
        const WHAT: &str = "salesforce create task";
        let body = self.task_body(t);
        let path = format!("/services/data/{}/sobjects/Task/", self.config.api_version);
        let answer =
            self.call(WHAT, |client, token| client.post(format!("{}{path}", token.instance_url)).json(&body)).await?;
        if !answer.status.is_success() {
            return Err(error(WHAT, &answer));
        }
        let id = serde_json::from_str::<Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()).map(str::to_owned));
        match id {
            Some(id) => Ok(Delivered::new(id)),
            // Created (2xx) without an id: do not create again; find_task sees it.
            None => Err(DeliveryError::Transient(format!(
                "{WHAT}: HTTP {} without an id: {}",
                answer.status,
                snippet(&answer.body)
            ))),
        }
    }

    /// Finds a Task created earlier for the same dedupe key: `Some` with its id, `None` when none.
    ///
    /// A SOQL query (`GET …/query?q=`) on `Subject`, which is filterable (`Description`, a long
    /// text area, is not): `Subject LIKE '%<token>%'` with the [`CrmTask::reference`] token that
    /// ends every subject this adapter writes. A leading wildcard cannot use an index, so the query
    /// is narrowed by `CreatedDate = LAST_N_DAYS:90` and, when known, `WhatId` (both indexed).
    /// SOQL reads the database, so a Task created a moment ago is found (no search-index lag as
    /// in HubSpot or SOSL). Archived Tasks (over a year old) are not returned by `query`; they are
    /// outside the window anyway.
    pub async fn find_task(&self, t: &CrmTask) -> Result<Option<Delivered>, DeliveryError> {
        const WHAT: &str = "salesforce find task";
        let soql = find_query(t);
        let path = format!("/services/data/{}/query", self.config.api_version);
        let answer = self
            .call(WHAT, |client, token| client.get(format!("{}{path}", token.instance_url)).query(&[("q", &soql)]))
            .await?;
        if !answer.status.is_success() {
            return Err(error(WHAT, &answer));
        }
        let result: Value = serde_json::from_str(&answer.body)
            .map_err(|_| DeliveryError::Transient(format!("{WHAT}: body is not JSON: {}", snippet(&answer.body))))?;
        let token = t.reference();
        let records = result.get("records").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let found =
            records.iter().find(|r| r.get("Subject").and_then(Value::as_str).is_some_and(|s| s.contains(&token)));
        Ok(found.and_then(|r| r.get("Id").and_then(Value::as_str)).map(Delivered::new))
    }

    /// Sends an authenticated request; on 401 fetches a new token once and sends it again once.
    async fn call<F>(&self, what: &str, build: F) -> Result<Answer, DeliveryError>
    where
        F: Fn(&reqwest::Client, &Token) -> reqwest::RequestBuilder,
    {
        let token = self.token().await?;
        let answer = self.send(what, build(&self.client, &token).bearer_auth(&token.access_token)).await?;
        if answer.status != reqwest::StatusCode::UNAUTHORIZED {
            return Ok(answer);
        }
        tracing::info!(what, body = %snippet(&answer.body), "salesforce session expired: fetching a new token");
        let token = self.renew(&token.access_token).await?;
        self.send(what, build(&self.client, &token).bearer_auth(&token.access_token)).await
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Result<Answer, DeliveryError> {
        let response = request.send().await.map_err(|e| network_error(what, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.map_err(|e| network_error(what, e))?;
        Ok(Answer { status, headers, body })
    }

    /// The cached token, fetched on first use. The lock is held while fetching, so concurrent
    /// deliveries wait for one token request instead of each making one.
    pub async fn token(&self) -> Result<Token, DeliveryError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            return Ok(token.clone());
        }
        let token = self.fetch_token().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    /// A new token in place of `stale`, unless another delivery already replaced it.
    async fn renew(&self, stale: &str) -> Result<Token, DeliveryError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.access_token != stale) {
            return Ok(token.clone());
        }
        *cached = None;
        let token = self.fetch_token().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<Token, DeliveryError> {
        const WHAT: &str = "salesforce token";
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.as_str()),
        ];
        let request = self.client.post(format!("{}/services/oauth2/token", self.config.login_url)).form(&form);
        let answer = self.send(WHAT, request).await?;
        if !answer.status.is_success() {
            // 400 invalid_client / invalid_grant: the connected app is misconfigured.
            return Err(error(WHAT, &answer));
        }
        let mut token: Token = serde_json::from_str(&answer.body)
            .map_err(|e| DeliveryError::Transient(format!("{WHAT}: unexpected answer ({e})")))?;
        token.instance_url = trim_base(token.instance_url);
        if token.access_token.is_empty() || !token.instance_url.starts_with("http") {
            return Err(DeliveryError::Permanent(format!(
                "{WHAT}: answer without an access token or instance URL ({:?})",
                token.instance_url
            )));
        }
        Ok(token)
    }
}

/// The SOQL of [`Salesforce::find_task`].
pub fn find_query(t: &CrmTask) -> String {
    let mut soql = format!(
        "SELECT Id, Subject FROM Task WHERE Subject LIKE '%{}%' AND CreatedDate = LAST_N_DAYS:{FIND_WINDOW_DAYS}",
        t.reference()
    );
    if let Some(account) = t.salesforce_account_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        soql.push_str(&format!(" AND WhatId = '{}'", soql_string(account)));
    }
    soql.push_str(" ORDER BY CreatedDate LIMIT 10");
    soql
}

/// A value inside a SOQL string literal: backslash and quote escaped.
fn soql_string(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// A User id: 15 or 18 letters and digits starting `005`.
fn is_user_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.starts_with("005") && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A failed answer. Salesforce's REST errors are `[{"message", "errorCode", "fields"}]`; the
/// token endpoint's `{"error", "error_description"}`. 5xx and `UNABLE_TO_LOCK_ROW` (a record
/// lock held by another transaction) are transient; `REQUEST_LIMIT_EXCEEDED` waits; other 4xx
/// (a second 401 included) are permanent with the body.
fn error(what: &str, answer: &Answer) -> DeliveryError {
    let status = answer.status;
    let codes: Vec<String> = serde_json::from_str::<Value>(&answer.body)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.get("errorCode").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let reason = format!("{what}: HTTP {} {}", status.as_u16(), snippet(&answer.body));
    if codes.iter().any(|c| c == "REQUEST_LIMIT_EXCEEDED") || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        let seconds = retry_after_seconds(&answer.headers).unwrap_or(REQUEST_LIMIT_RETRY_AFTER);
        return DeliveryError::RetryAfter { seconds, reason };
    }
    if codes.iter().any(|c| c == "UNABLE_TO_LOCK_ROW" || c == "SERVER_UNAVAILABLE") {
        return DeliveryError::Transient(reason);
    }
    super::http::status_error(what, status, &answer.body)
}

#[async_trait]
impl CrmPort for Salesforce {
    fn name(&self) -> &'static str {
        "salesforce"
    }
    async fn find_task(&self, task: &CrmTask) -> Result<Option<Delivered>, DeliveryError> {
        Salesforce::find_task(self, task).await
    }
    async fn create_task(&self, task: &CrmTask) -> Result<Delivered, DeliveryError> {
        Salesforce::create_task(self, task).await
    }
}

/// Health on the Salesforce Account: the admin's custom fields (names in `[portfolio]`, e.g.
/// `Foresight_Health_Score__c`, a Number; `Foresight_Health_Band__c`, a Text or Picklist of
/// red/yellow/green; `Foresight_Health_Reasons__c`, Text(255)) set with
/// `PATCH /services/data/v67.0/sobjects/Account/{id}` (204).
pub struct SalesforceHealth {
    api: std::sync::Arc<Salesforce>,
    names: crate::app::portfolio_settings::HealthFieldNames,
}

impl SalesforceHealth {
    pub fn new(api: std::sync::Arc<Salesforce>, names: crate::app::portfolio_settings::HealthFieldNames) -> Self {
        SalesforceHealth { api, names }
    }
}

/// An Account id: 15 or 18 letters and digits starting `001`.
fn is_account_id(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.starts_with("001") && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[async_trait]
impl crate::app::ports::portfolio::CrmHealthPort for SalesforceHealth {
    fn name(&self) -> &'static str {
        "salesforce"
    }

    fn record_id<'a>(&self, pending: &'a crate::app::ports::portfolio::PendingHealth) -> Option<&'a str> {
        pending.salesforce_account_id.as_deref().map(str::trim).filter(|id| !id.is_empty())
    }

    /// The fields are the admin's (Setup → Object Manager → Account → Fields): nothing to create.
    async fn ensure_fields(&self) -> Result<(), DeliveryError> {
        Ok(())
    }

    async fn set_health(&self, record_id: &str, health: &crate::domain::crm::CrmHealth) -> Result<(), DeliveryError> {
        const WHAT: &str = "salesforce update account";
        if !is_account_id(record_id) {
            return Err(DeliveryError::Permanent(format!("{WHAT}: {record_id:?} is not an Account id")));
        }
        let body = json!({
            self.names.score.as_str(): health.score,
            self.names.band.as_str(): health.band.as_str(),
            self.names.reasons.as_str(): health.reasons,
        });
        let path = format!("/services/data/{}/sobjects/Account/{record_id}", self.api.config.api_version);
        let answer = self
            .api
            .call(WHAT, |client, token| client.patch(format!("{}{path}", token.instance_url)).json(&body))
            .await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(error(WHAT, &answer))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_and_soql_escaping() {
        assert!(is_user_id("005000000000001"));
        assert!(is_user_id("005000000000001AAA"));
        assert!(!is_user_id("jane@example.com"));
        assert!(!is_user_id("001000000000001"));
        assert_eq!(soql_string(r"a'b\c"), r"a\'b\\c");
    }
}
