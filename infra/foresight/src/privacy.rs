//! The runner's privacy routes (GDPR): `GET /accounts/{id}/export` (art. 15) and
//! `DELETE /accounts/{id}` (art. 17), with the same use cases as the deployed erase function
//! (`app::privacy`), on either store.

use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use foresight_shared::adapters::dynamodb::{DynamoOutbox, DynamoStore};
use foresight_shared::adapters::memory::MemoryStore;
use foresight_shared::app::ingest::WebhookResponse;
use foresight_shared::app::ports::portfolio::MrrLedger;
use foresight_shared::app::ports::privacy::{ErasureLog, HeldData, Tombstones};
use foresight_shared::app::privacy::ERASURE_KEY_VAR;
use foresight_shared::app::privacy::{self, PrivacyError, PrivacyPorts};
use foresight_shared::domain::privacy::ErasureKey;
use foresight_shared::runtime::clock::unix_now;
use foresight_shared::runtime::privacy as runtime_privacy;
use foresight_shared::runtime::secrets::Secrets;
use serde_json::json;
use std::sync::Arc;

/// Who asked for an erasure, as the audit record names it (an operator, never the data
/// subject): the `X-Foresight-Actor` header, else the runner itself.
pub const ACTOR_HEADER: &str = "x-foresight-actor";

/// What the privacy routes use (either store: DynamoDB or memory).
#[derive(Clone)]
pub struct PrivacyState {
    accounts: Arc<dyn HeldData>,
    outbox: Arc<dyn HeldData>,
    tombstones: Arc<dyn Tombstones>,
    log: Arc<dyn ErasureLog>,
    key: Option<ErasureKey>,
    /// Whether a Stripe `customer.deleted` erases the account.
    erase_on_customer_deleted: bool,
}

pub use foresight_shared::runtime::privacy::ERASE_ON_CUSTOMER_DELETED_VAR;

impl PrivacyState {
    /// Both DynamoDB tables; `key` (`FORESIGHT_SIGNING_SECRET`) keys the hashes an erasure
    /// leaves, and without it erasure answers 503 naming the variable.
    pub fn new<S, O>(store: Arc<S>, outbox: Arc<O>, key: Option<ErasureKey>) -> Self
    where
        S: HeldData + Tombstones + ErasureLog + 'static,
        O: HeldData + 'static,
    {
        PrivacyState {
            accounts: store.clone(),
            outbox,
            tombstones: store.clone(),
            log: store,
            key,
            erase_on_customer_deleted: false,
        }
    }

    /// Erases the account of a Stripe `customer.deleted` event.
    pub fn erase_on_customer_deleted(mut self, erase: bool) -> Self {
        self.erase_on_customer_deleted = erase;
        self
    }

    /// [`Self::erase_on_customer_deleted`] from [`ERASE_ON_CUSTOMER_DELETED_VAR`].
    pub fn erase_on_customer_deleted_from_env(self) -> Result<Self, String> {
        Ok(self.erase_on_customer_deleted(foresight_shared::runtime::privacy::erase_on_customer_deleted()?))
    }

    fn ports<'a>(&'a self, ledger: &'a dyn MrrLedger) -> PrivacyPorts<'a> {
        PrivacyPorts {
            tables: vec![self.accounts.as_ref(), self.outbox.as_ref()],
            ledger,
            tombstones: self.tombstones.as_ref(),
            log: self.log.as_ref(),
        }
    }
}

/// The erasure key from `FORESIGHT_SIGNING_SECRET`.
pub fn erasure_key() -> Option<ErasureKey> {
    runtime_privacy::erasure_key(&Secrets::from_env(&[ERASURE_KEY_VAR]))
}

/// The memory store with the erasure settings of the environment.
pub fn memory_store() -> Result<MemoryStore, String> {
    let store = MemoryStore::new();
    Ok(match runtime_privacy::erasure_config(erasure_key())? {
        Some(erasure) => store.with_erasure(erasure),
        None => store,
    })
}

/// The tables with the retention and erasure settings of the environment.
pub fn with_retention(
    store: DynamoStore,
    outbox: DynamoOutbox,
) -> Result<(Arc<DynamoStore>, Arc<DynamoOutbox>), String> {
    let store = runtime_privacy::configure_store(store, erasure_key())?;
    Ok((Arc::new(store), Arc::new(runtime_privacy::configure_outbox(outbox)?)))
}

/// The routes, merged into the runner's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/accounts/{account_id}/export", get(export_account))
        .route("/accounts/{account_id}", delete(erase_account))
        .route("/contacts", delete(erase_contact))
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn unavailable() -> Response {
    error(StatusCode::NOT_IMPLEMENTED, "export and erasure are not configured on this runner".into())
}

async fn export_account(State(state): State<AppState>, Path(account_id): Path<String>) -> Response {
    let Some(privacy) = &state.privacy else { return unavailable() };
    let now = unix_now();
    let exported = match privacy::export(&privacy.ports(state.portfolio.ledger.as_ref()), &account_id, now).await {
        Ok(Some(exported)) => exported,
        Ok(None) => return error(StatusCode::NOT_FOUND, format!("nothing is held for account {account_id:?}")),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let record = match state.accounts.get(&account_id).await {
        Ok(stored) => stored.map(|stored| state.settings.record(&stored, now)),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut body = serde_json::to_value(&exported).unwrap_or_default();
    body["record"] = serde_json::to_value(record).unwrap_or_default();
    Json(body).into_response()
}

async fn erase_account(State(state): State<AppState>, Path(account_id): Path<String>, headers: HeaderMap) -> Response {
    let Some(privacy) = &state.privacy else { return unavailable() };
    let actor = headers.get(ACTOR_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("foresight dev");
    let ports = privacy.ports(state.portfolio.ledger.as_ref());
    match privacy::erase(&ports, privacy.key.as_ref(), &account_id, actor, unix_now()).await {
        Ok(Some(audit)) => Json(json!({
            "erased": audit.erased,
            "tombstones": audit.tombstones,
            "audit": audit,
        }))
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, format!("nothing is held for account {account_id:?}")),
        Err(e @ PrivacyError::MissingKey) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `foresight export ACCOUNT` and `foresight erase ACCOUNT`: call a running runner's routes and
/// print the answer (JSON).
pub async fn cli(url: &str, account_id: &str, erase: Option<&str>) -> Result<(), String> {
    let client = reqwest::Client::new();
    let target = format!("{}/accounts/{account_id}", url.trim_end_matches('/'));
    let request = match erase {
        Some(actor) => client.delete(&target).header(ACTOR_HEADER, actor),
        None => client.get(format!("{target}/export")),
    };
    let response = request.send().await.map_err(|e| format!("cannot reach the runner at {url}: {e}"))?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        return Err(format!("{status}: {}", body["error"].as_str().unwrap_or("")));
    }
    println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    Ok(())
}

/// After a Stripe delivery: when configured, a `customer.deleted` erases the customer's
/// account. A failed erasure turns the answer into a 503, so Stripe delivers the event again
/// (and the log says why; `DELETE /accounts/{id}` finishes it by hand).
pub async fn after_stripe_event(state: &AppState, answer: WebhookResponse) -> WebhookResponse {
    let Some(privacy) = state.privacy.as_ref().filter(|p| p.erase_on_customer_deleted) else { return answer };
    // The same request the deployed webhook records; the runner carries it out at once.
    let Some(request) = privacy::customer_deleted_request(&answer, unix_now()) else { return answer };
    let ports = privacy.ports(state.portfolio.ledger.as_ref());
    match privacy::erase(&ports, privacy.key.as_ref(), &request.account_id, &request.actor, unix_now()).await {
        Ok(_) => answer,
        Err(e) => {
            tracing::error!(error = %e, "customer.deleted: erasure failed");
            WebhookResponse::retry_later(answer.report)
        }
    }
}

#[derive(serde::Deserialize)]
struct ContactQuery {
    email: Option<String>,
}

/// `DELETE /contacts?email=`: one person erased wherever held; answers `{"erased": {...},
/// "audit", "still_named_in": [...]}` (items of accounts that name the address, left for the
/// operator to judge).
async fn erase_contact(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ContactQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(privacy) = &state.privacy else { return unavailable() };
    let Some(email) = query.email.filter(|e| e.contains('@')) else {
        return error(
            StatusCode::BAD_REQUEST,
            "email must be an address: DELETE /contacts?email=ann@example.com".into(),
        );
    };
    let actor = headers.get(ACTOR_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("foresight dev");
    let ports = privacy.ports(state.portfolio.ledger.as_ref());
    match privacy::erase_person(&ports, privacy.key.as_ref(), &email, actor, unix_now()).await {
        Ok(Some(done)) => Json(json!({
            "erased": done.audit.erased,
            "audit": done.audit,
            "still_named_in": done.still_named_in,
        }))
        .into_response(),
        Ok(None) => error(StatusCode::NOT_FOUND, "no item names this address".into()),
        Err(e @ PrivacyError::MissingKey) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
