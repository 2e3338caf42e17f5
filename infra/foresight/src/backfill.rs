//! The runner's backfill routes: `POST /backfill/stripe?since=RFC3339` and
//! `POST /backfill/zendesk?since=RFC3339` replay what the source's API holds through the same
//! ingest as the webhooks (`app::backfill`); `since` defaults to 30 days ago (all Stripe keeps).

use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use foresight_shared::adapters::source_api::{StripeApi, ZendeskApi};
use foresight_shared::app::backfill::{self, BackfillError};
use foresight_shared::app::ingest::stripe::{EventAlerting, StripeStores};
use foresight_shared::app::ports::backfill::{SourceApiError, StripeEvents, ZendeskTickets};
use foresight_shared::domain::time::{self, DAY};
use foresight_shared::runtime::clock::unix_now;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

pub const STRIPE_API_URL_VAR: &str = "STRIPE_API_URL";
pub const STRIPE_API_KEY_VAR: &str = "STRIPE_API_KEY";
pub const ZENDESK_API_URL_VAR: &str = "ZENDESK_API_URL";
pub const ZENDESK_API_TOKEN_VAR: &str = "ZENDESK_API_TOKEN";
pub const ZENDESK_EMAIL_VAR: &str = "ZENDESK_EMAIL";
/// How far back a backfill without `since` reads: Stripe keeps events 30 days.
const DEFAULT_WINDOW: i64 = 30 * DAY;

/// The sources' APIs, when configured.
#[derive(Clone, Default)]
pub struct BackfillState {
    pub stripe: Option<Arc<dyn StripeEvents>>,
    pub zendesk: Option<Arc<dyn ZendeskTickets>>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl BackfillState {
    /// From `STRIPE_API_URL` (default `https://api.stripe.com`) + `STRIPE_API_KEY`, and
    /// `ZENDESK_API_URL` + `ZENDESK_EMAIL` + `ZENDESK_API_TOKEN`.
    pub fn from_env() -> Result<Self, String> {
        let mut state = BackfillState::default();
        if let Some(key) = var(STRIPE_API_KEY_VAR) {
            let base = var(STRIPE_API_URL_VAR).unwrap_or_else(|| "https://api.stripe.com".into());
            state.stripe = Some(Arc::new(StripeApi::new(base, key).map_err(|e| e.to_string())?));
        }
        if let (Some(base), Some(email), Some(token)) =
            (var(ZENDESK_API_URL_VAR), var(ZENDESK_EMAIL_VAR), var(ZENDESK_API_TOKEN_VAR))
        {
            state.zendesk = Some(Arc::new(ZendeskApi::new(base, &email, token).map_err(|e| e.to_string())?));
        }
        Ok(state)
    }
}

pub fn routes() -> Router<AppState> {
    Router::new().route("/backfill/stripe", post(backfill_stripe)).route("/backfill/zendesk", post(backfill_zendesk))
}

#[derive(Deserialize)]
struct Since {
    since: Option<String>,
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `since`, default 30 days before `now`; a message for the 400 otherwise.
fn since(query: &Since, now: i64) -> Result<i64, String> {
    match query.since.as_deref() {
        None => Ok(now - DEFAULT_WINDOW),
        Some(text) => time::parse(text).ok_or_else(|| format!("since must be an RFC 3339 time, not {text:?}")),
    }
}

fn answer(result: Result<backfill::BackfillSummary, BackfillError>) -> Response {
    match result {
        Ok(summary) => Json(summary).into_response(),
        Err(BackfillError::Api(e @ SourceApiError::Status { status: 401 | 403, .. })) => {
            error(StatusCode::BAD_GATEWAY, format!("the source refused our credentials: {e}"))
        }
        Err(BackfillError::Api(e)) => error(StatusCode::BAD_GATEWAY, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn backfill_stripe(State(state): State<AppState>, Query(query): Query<Since>) -> Response {
    let now = unix_now();
    let since = match since(&query, now) {
        Ok(since) => since,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(api) = state.backfill.stripe.clone() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("{STRIPE_API_KEY_VAR} is not set: a restricted key with read access to events"),
        );
    };
    let stores = StripeStores {
        accounts: state.accounts.as_ref(),
        links: state.links.as_ref(),
        ledger: Some(state.portfolio.ledger.as_ref()),
    };
    let alerting = EventAlerting {
        outbox: state.outbox.as_ref(),
        queue: state.notifications.as_ref(),
        settings: state.settings.as_ref(),
    };
    answer(backfill::stripe(api.as_ref(), &state.stripe, &stores, Some(&alerting), since, now).await)
}

async fn backfill_zendesk(State(state): State<AppState>, Query(query): Query<Since>) -> Response {
    let since = match since(&query, unix_now()) {
        Ok(since) => since,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let Some(api) = state.backfill.zendesk.clone() else {
        let vars = format!("{ZENDESK_API_URL_VAR}, {ZENDESK_EMAIL_VAR} and {ZENDESK_API_TOKEN_VAR}");
        return error(StatusCode::SERVICE_UNAVAILABLE, format!("{vars} must be set for the Zendesk backfill"));
    };
    let (accounts, links) = (state.accounts.as_ref(), state.links.as_ref());
    answer(backfill::zendesk(api.as_ref(), &state.zendesk, accounts, links, since, unix_now()).await)
}
