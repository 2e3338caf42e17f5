//! The runner's playbook routes: `POST /sweeps/playbooks?now=` (the playbook sweep as of `now`),
//! `GET /unsubscribe?token=` (a small page with a button that POSTs) and `POST
//! /unsubscribe?token=` (RFC 8058 one-click: 200, for good; a tampered or unknown token is 400).
//! Emails go through SES v2 when `AWS_ENDPOINT_URL_SESV2` is set (moto locally), else they stay
//! pending in `GET /outbox`; in-app webhooks are delivered by a background consumer with the
//! same use case as the deployed function, retried with backoff, dead-lettered on 410.

use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use foresight_shared::adapters::http::http_client;
use foresight_shared::adapters::inapp::InAppWebhook;
use foresight_shared::adapters::memory::MemoryInAppQueue;
use foresight_shared::app::dispatch::Dispatched;
use foresight_shared::app::playbooks::inapp;
use foresight_shared::app::playbooks::sweep::{self, PlaybookPorts, KEY_PREFIX};
use foresight_shared::app::playbooks::unsubscribe::UnsubscribeTokens;
use foresight_shared::app::ports::email::{EmailPort, InAppPort};
use foresight_shared::app::ports::queue::{QueueError, Redelivery};
use foresight_shared::domain::time;
use foresight_shared::runtime::clock::unix_now;
use foresight_shared::runtime::playbooks as env;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// What the playbook routes use.
#[derive(Clone)]
pub struct PlaybookState {
    pub email: Option<Arc<dyn EmailPort>>,
    pub tokens: UnsubscribeTokens,
    pub public_url: String,
    pub inapp: Arc<MemoryInAppQueue>,
}

impl Default for PlaybookState {
    fn default() -> Self {
        PlaybookState {
            email: None,
            tokens: UnsubscribeTokens::new(env::random_secret()),
            public_url: env::public_url(),
            inapp: Arc::new(MemoryInAppQueue::default()),
        }
    }
}

impl AppState {
    /// Playbooks as the environment configures them: the signing secret, the public URL, SES
    /// v2 when `AWS_ENDPOINT_URL_SESV2` is set; starts the in-app consumer.
    pub async fn with_playbooks_from_env(self) -> Result<Self, String> {
        let secret = match env::signing_secret() {
            Some(secret) => secret,
            None => {
                tracing::warn!(
                    "{} is not set: unsubscribe links and in-app signatures use a per-process secret",
                    env::SIGNING_SECRET_VAR
                );
                env::random_secret()
            }
        };
        let email: Option<Arc<dyn EmailPort>> = if env::local_ses_configured() {
            Some(Arc::new(env::ses_email(self.settings.playbooks.email.configuration_set.clone()).await))
        } else {
            None
        };
        let client = http_client().map_err(|e| e.to_string())?;
        let state = self.with_playbooks(PlaybookState {
            email,
            tokens: UnsubscribeTokens::new(secret.clone()),
            public_url: env::public_url(),
            inapp: Arc::new(MemoryInAppQueue::default()),
        });
        state.start_inapp(Arc::new(InAppWebhook::new(client, secret)));
        Ok(state)
    }

    pub fn with_playbooks(mut self, playbooks: PlaybookState) -> Self {
        self.playbooks = playbooks;
        self
    }

    /// Delivers queued in-app messages in the background (every 50 ms; a retry after its delay).
    pub fn start_inapp(&self, port: Arc<dyn InAppPort>) -> tokio::task::JoinHandle<()> {
        let queue = self.playbooks.inapp.clone();
        let outbox = self.portfolio.reports.clone();
        tokio::spawn(async move {
            let mut waiting: Vec<(std::time::Instant, u32, foresight_shared::app::ports::email::InAppMessage)> =
                Vec::new();
            loop {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let now = std::time::Instant::now();
                let mut due: Vec<_> = queue.drain().into_iter().map(|m| (1, m)).collect();
                let (ready, later): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|(at, _, _)| *at <= now);
                waiting = later;
                due.extend(ready.into_iter().map(|(_, count, m)| (count, m)));
                for (count, message) in due {
                    let outcome = inapp::deliver(
                        &message,
                        None,
                        count,
                        port.as_ref(),
                        outbox.as_ref(),
                        queue.as_ref(),
                        &NoRedelivery,
                        unix_now(),
                    )
                    .await;
                    match outcome {
                        Ok(Dispatched::RetryLater { seconds, reason }) => {
                            tracing::warn!(%reason, seconds, "in-app message will be retried");
                            waiting.push((now + Duration::from_secs(seconds), count + 1, message));
                        }
                        Ok(done) => tracing::info!(outcome = ?done, "in-app message"),
                        Err(e) => tracing::error!(error = %e, "in-app message not delivered"),
                    }
                }
            }
        })
    }
}

/// In-memory messages have no receipt handle: the consumer waits itself.
struct NoRedelivery;

#[async_trait::async_trait]
impl Redelivery for NoRedelivery {
    async fn retry_after(&self, _: &str, _: u64) -> Result<(), QueueError> {
        Ok(())
    }
}

/// `GET`/`POST /unsubscribe`: a deployed route (`server::DEPLOYED_ROUTES`).
pub fn unsubscribe_route() -> axum::routing::MethodRouter<AppState> {
    get(unsubscribe_page).post(unsubscribe)
}

/// The routes, merged into the runner's router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/sweeps/playbooks", post(playbook_sweep))
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
struct NowQuery {
    now: Option<String>,
}

async fn playbook_sweep(State(state): State<AppState>, Query(q): Query<NowQuery>) -> Response {
    let now = match q.now.as_deref() {
        None => unix_now(),
        Some(text) => match time::parse(text) {
            Some(now) => now,
            None => return error(StatusCode::BAD_REQUEST, format!("now must be an RFC 3339 time, not {text:?}")),
        },
    };
    let ports = PlaybookPorts {
        lister: state.lister.as_ref(),
        accounts: state.accounts.as_ref(),
        outbox: state.portfolio.reports.as_ref(),
        email: state.playbooks.email.as_deref(),
        inapp: state.playbooks.inapp.as_ref(),
        tokens: &state.playbooks.tokens,
        public_url: &state.playbooks.public_url,
    };
    match sweep::sweep(&ports, &state.settings, now).await {
        Ok(summary) => Json(json!({ "now": time::rfc3339(now), "summary": summary })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn unsubscribe_page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    if let Err(e) = state.playbooks.tokens.verify(&token) {
        return error(StatusCode::BAD_REQUEST, e.to_string());
    }
    Html(foresight_shared::app::playbooks::unsubscribe::page(&token)).into_response()
}

async fn unsubscribe(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let token = q.token.unwrap_or_default();
    let (account_id, contact_key) = match state.playbooks.tokens.verify(&token) {
        Ok(named) => named,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match sweep::unsubscribe(state.accounts.as_ref(), &account_id, &contact_key, unix_now()).await {
        Ok(true) => Json(json!({ "unsubscribed": true })).into_response(),
        Ok(false) => error(StatusCode::BAD_REQUEST, "the unsubscribe token names no known contact".into()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The playbook actions among the outbox's records, as `GET /outbox` shows them.
pub fn outbox_views(records: &[foresight_shared::app::ports::portfolio::ReportRecord]) -> Vec<Value> {
    records.iter().filter(|r| r.key.starts_with(KEY_PREFIX)).map(sweep::action_view).collect()
}
