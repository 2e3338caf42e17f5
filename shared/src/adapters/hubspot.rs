//! HubSpot: a CRM task per alert (`POST /crm/v3/objects/tasks`), associated with the account's
//! company, and the search that finds it again after a crash.
//!
//! Spec: `../shared/integrations.md`, section HubSpot. Both `properties` and `associations` are
//! sent (`[]` when there is no company); every property value is a string.

use super::http::{network_error, retry_after_seconds, snippet, status_error, trim_base};
use crate::app::ports::delivery::{CrmPort, CrmTask, Delivered, DeliveryError, TaskPriority};
use async_trait::async_trait;
use serde_json::{json, Value};

pub const HUBSPOT_BASE_URL: &str = "https://api.hubapi.com";
/// HubSpot-defined association type of task → company.
pub const TASK_TO_COMPANY: u32 = 192;
/// Wait after a 429 that names no wait: HubSpot's burst window is 10 seconds.
pub const DEFAULT_RETRY_AFTER: u64 = 10;
/// Wait after a 429 of the daily limit (policy `DAILY`), which a short wait will not lift.
pub const DAILY_LIMIT_RETRY_AFTER: u64 = 3_600;

/// A HubSpot account reached with a private app token.
#[derive(Clone)]
pub struct HubSpot {
    /// `https://api.hubapi.com` unless a test or the local runner points elsewhere.
    pub base_url: String,
    token: String,
    client: reqwest::Client,
}

impl std::fmt::Debug for HubSpot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSpot").field("base_url", &self.base_url).field("token", &"<redacted>").finish()
    }
}

impl HubSpot {
    pub fn new(client: reqwest::Client, token: impl Into<String>) -> Self {
        HubSpot { base_url: HUBSPOT_BASE_URL.to_owned(), token: token.into(), client }
    }

    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = trim_base(base_url);
        self
    }

    /// The JSON body of the create request (public so the local runner can show what it would send).
    pub fn task_body(t: &CrmTask) -> Value {
        let mut properties = serde_json::Map::new();
        properties.insert("hs_timestamp".into(), json!(due_timestamp(t)));
        // HubSpot does not limit the subject, but the token must stay in it: no cut.
        properties.insert("hs_task_subject".into(), json!(t.subject_line(usize::MAX)));
        properties.insert("hs_task_body".into(), json!(t.body));
        properties.insert("hs_task_status".into(), json!("NOT_STARTED"));
        properties.insert("hs_task_priority".into(), json!(priority(t.priority)));
        properties.insert("hs_task_type".into(), json!("TODO"));
        match t.owner_id.as_deref().map(str::trim) {
            Some(owner) if !owner.is_empty() && owner.bytes().all(|b| b.is_ascii_digit()) => {
                properties.insert("hubspot_owner_id".into(), json!(owner));
            }
            Some(owner) if !owner.is_empty() => {
                tracing::warn!(dedupe_key = %t.dedupe_key, owner, "owner is not a HubSpot owner id: task left unassigned");
            }
            _ => {}
        }
        let associations: Vec<Value> = t
            .hubspot_company_id
            .iter()
            .map(|company| {
                json!({
                    "to": {"id": company},
                    "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": TASK_TO_COMPANY}],
                })
            })
            .collect();
        json!({"properties": properties, "associations": associations})
    }

    /// Creates the task: 201 → the task id.
    pub async fn create_task(&self, t: &CrmTask) -> Result<Delivered, DeliveryError> {
        let (status, headers, body) =
            self.post("hubspot create task", "/crm/v3/objects/tasks", &Self::task_body(t)).await?;
        if !status.is_success() {
            return Err(error("hubspot create task", status, &headers, &body));
        }
        let id = serde_json::from_str::<Value>(&body).ok().and_then(|v| id_of(&v));
        match id {
            Some(id) => Ok(Delivered::new(id)),
            // Created (2xx) but no id: do not create again; the search finds it later.
            None => Err(DeliveryError::Transient(format!(
                "hubspot create task: HTTP {status} without an id: {}",
                snippet(&body)
            ))),
        }
    }

    /// Finds a task created earlier for the same dedupe key (before a crash, or a timeout whose
    /// create went through): `Some` with its id, `None` when there is none.
    ///
    /// HubSpot's CRM search (`POST /crm/v3/objects/tasks/search`) filters on any task property;
    /// the token of [`CrmTask::reference`] sits at the end of `hs_task_subject`, whole-word, so the
    /// filter is `hs_task_subject CONTAINS_TOKEN <token>` (the operator matches a whole token, and
    /// the reference is letters and digits only). A custom property would be exact but needs a
    /// schema change in every customer's portal; the subject needs nothing.
    ///
    /// Caveat: the search index trails writes by a few seconds (HubSpot and its integrators say to
    /// allow about 10 s after a create). A task created moments ago may not be found yet, so call
    /// this on a redelivery that comes after the queue's visibility timeout, not right after a
    /// failed create. Search requests have their own, lower rate limit (429 → `RetryAfter`).
    pub async fn find_task(&self, t: &CrmTask) -> Result<Option<Delivered>, DeliveryError> {
        let token = t.reference();
        let search = json!({
            "filterGroups": [{"filters": [
                {"propertyName": "hs_task_subject", "operator": "CONTAINS_TOKEN", "value": token}
            ]}],
            "properties": ["hs_task_subject"],
            "limit": 10,
        });
        let (status, headers, body) =
            self.post("hubspot search tasks", "/crm/v3/objects/tasks/search", &search).await?;
        if !status.is_success() {
            return Err(error("hubspot search tasks", status, &headers, &body));
        }
        let answer: Value = serde_json::from_str(&body).map_err(|_| {
            DeliveryError::Transient(format!("hubspot search tasks: body is not JSON: {}", snippet(&body)))
        })?;
        let results = answer.get("results").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        // Keep only a result whose subject really carries the token (the tokenizer is HubSpot's).
        let found = results.iter().find(|r| {
            r.pointer("/properties/hs_task_subject").and_then(Value::as_str).is_some_and(|s| s.contains(&token))
        });
        Ok(found.and_then(id_of).map(Delivered::new))
    }

    async fn post(
        &self,
        what: &str,
        path: &str,
        body: &Value,
    ) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), DeliveryError> {
        let response = self
            .client
            .post(format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .map_err(|e| network_error(what, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| network_error(what, e))?;
        Ok((status, headers, text))
    }
}

fn priority(p: TaskPriority) -> &'static str {
    match p {
        TaskPriority::Low => "LOW",
        TaskPriority::Medium => "MEDIUM",
        TaskPriority::High => "HIGH",
    }
}

/// `hs_timestamp`: the due day at 12:00 UTC, so the day shown is the same in every time zone from
/// UTC−11 to UTC+11 (HubSpot shows the due date in the user's zone).
pub fn due_timestamp(t: &CrmTask) -> String {
    format!("{}T12:00:00.000Z", t.due.format("%Y-%m-%d"))
}

fn id_of(v: &Value) -> Option<String> {
    match v.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A failed answer: 429 → wait (`Retry-After`, else the window of
/// `X-HubSpot-RateLimit-Interval-Milliseconds`, else 10 s; an hour for the daily limit); the
/// rest by status (5xx transient, 4xx permanent with HubSpot's body).
fn error(what: &str, status: reqwest::StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> DeliveryError {
    if status != reqwest::StatusCode::TOO_MANY_REQUESTS {
        return status_error(what, status, body);
    }
    let policy = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("policyName").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_default();
    let interval = headers
        .get("x-hubspot-ratelimit-interval-milliseconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|ms| ms.div_ceil(1000).max(1));
    let seconds = if policy.eq_ignore_ascii_case("DAILY") {
        retry_after_seconds(headers).unwrap_or(DAILY_LIMIT_RETRY_AFTER)
    } else {
        retry_after_seconds(headers).or(interval).unwrap_or(DEFAULT_RETRY_AFTER)
    };
    let reason = if policy.is_empty() { format!("{what}: HTTP 429") } else { format!("{what}: HTTP 429 ({policy})") };
    DeliveryError::RetryAfter { seconds, reason }
}

#[async_trait]
impl CrmPort for HubSpot {
    fn name(&self) -> &'static str {
        "hubspot"
    }
    async fn find_task(&self, task: &CrmTask) -> Result<Option<Delivered>, DeliveryError> {
        HubSpot::find_task(self, task).await
    }
    async fn create_task(&self, task: &CrmTask) -> Result<Delivered, DeliveryError> {
        HubSpot::create_task(self, task).await
    }
}

/// Health on the HubSpot company: three custom company properties (score, band, reasons),
/// created once (`POST /crm/v3/properties/companies`, each only when `GET` says it is missing),
/// then set with `PATCH /crm/v3/objects/companies/{id}`. Scope `crm.schemas.companies.write` for
/// the properties and `crm.objects.companies.write` for the values.
pub struct HubSpotHealth {
    api: HubSpot,
    names: crate::app::portfolio_settings::HealthFieldNames,
    /// Set once the properties are known to exist (one check per process).
    ensured: tokio::sync::Mutex<bool>,
}

/// The property group the health properties are created in (HubSpot's default company group).
pub const HEALTH_PROPERTY_GROUP: &str = "companyinformation";

impl HubSpotHealth {
    pub fn new(api: HubSpot, names: crate::app::portfolio_settings::HealthFieldNames) -> Self {
        HubSpotHealth { api, names, ensured: tokio::sync::Mutex::new(false) }
    }

    /// The create bodies of the three properties.
    pub fn property_definitions(&self) -> Vec<Value> {
        let bands = ["green", "yellow", "red"];
        vec![
            json!({"name": self.names.score, "label": "Foresight health score", "type": "number",
                   "fieldType": "number", "groupName": HEALTH_PROPERTY_GROUP,
                   "description": "Account health, 0-100, from Foresight's daily health sweep."}),
            json!({"name": self.names.band, "label": "Foresight health band", "type": "enumeration",
                   "fieldType": "select", "groupName": HEALTH_PROPERTY_GROUP,
                   "description": "red below 40, yellow 40-69, green from 70 (Foresight's bands).",
                   "options": bands.iter().enumerate().map(|(i, b)| json!({
                       "label": b[..1].to_uppercase() + &b[1..], "value": b, "displayOrder": i, "hidden": false,
                   })).collect::<Vec<_>>()}),
            json!({"name": self.names.reasons, "label": "Foresight health reasons", "type": "string",
                   "fieldType": "textarea", "groupName": HEALTH_PROPERTY_GROUP,
                   "description": "The components pulling the health score down most, each with its reason."}),
        ]
    }

    async fn send(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), DeliveryError> {
        let response = request.bearer_auth(&self.api.token).send().await.map_err(|e| network_error(what, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.map_err(|e| network_error(what, e))?;
        Ok((status, headers, text))
    }
}

#[async_trait]
impl crate::app::ports::portfolio::CrmHealthPort for HubSpotHealth {
    fn name(&self) -> &'static str {
        "hubspot"
    }

    fn record_id<'a>(&self, pending: &'a crate::app::ports::portfolio::PendingHealth) -> Option<&'a str> {
        pending.hubspot_company_id.as_deref().map(str::trim).filter(|id| !id.is_empty())
    }

    async fn ensure_fields(&self) -> Result<(), DeliveryError> {
        let mut ensured = self.ensured.lock().await;
        if *ensured {
            return Ok(());
        }
        for definition in self.property_definitions() {
            let name = definition["name"].as_str().unwrap_or_default().to_owned();
            let what = "hubspot read property";
            let url = format!("{}/crm/v3/properties/companies/{name}", self.api.base_url);
            let (status, headers, body) = self.send(what, self.api.client.get(url)).await?;
            if status.is_success() {
                continue;
            }
            if status != reqwest::StatusCode::NOT_FOUND {
                return Err(error(what, status, &headers, &body));
            }
            let what = "hubspot create property";
            let url = format!("{}/crm/v3/properties/companies", self.api.base_url);
            let (status, headers, body) = self.send(what, self.api.client.post(url).json(&definition)).await?;
            // 409: created meanwhile (another process): it exists, which is all that matters.
            if !status.is_success() && status != reqwest::StatusCode::CONFLICT {
                return Err(error(what, status, &headers, &body));
            }
        }
        *ensured = true;
        Ok(())
    }

    async fn set_health(&self, record_id: &str, health: &crate::domain::crm::CrmHealth) -> Result<(), DeliveryError> {
        let what = "hubspot update company";
        let id: String = record_id.chars().filter(char::is_ascii_digit).collect();
        if id.is_empty() || id.len() != record_id.trim().len() {
            return Err(DeliveryError::Permanent(format!("{what}: {record_id:?} is not a HubSpot company id")));
        }
        let body = json!({"properties": {
            self.names.score.as_str(): health.score.to_string(),
            self.names.band.as_str(): health.band.as_str(),
            self.names.reasons.as_str(): health.reasons,
        }});
        let url = format!("{}/crm/v3/objects/companies/{id}", self.api.base_url);
        let (status, headers, text) = self.send(what, self.api.client.patch(url).json(&body)).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(error(what, status, &headers, &text))
        }
    }
}
