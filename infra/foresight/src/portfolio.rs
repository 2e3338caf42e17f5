//! The runner's portfolio routes (`GET /kpis` is the read API's, `crate::dashboard`):
//! `POST /reports/weekly?now=` (the weekly digest, delivered to `SLACK_DIGEST_CHANNEL` with a bot
//! token, else kept in the outbox) and `POST /sweeps/crm` (health on the CRM records), with the
//! same use cases the Lambda functions run.

use crate::server::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use foresight_shared::adapters::memory::MemoryOutbox;
use foresight_shared::adapters::slack::SlackApi;
use foresight_shared::app::crm_sync;
use foresight_shared::app::digest::{self, DigestError, DigestPorts};
use foresight_shared::app::ports::portfolio::{
    CrmHealthPort, CrmSyncQueue, DigestSlack, MrrLedger, PortfolioCards, ReportOutbox,
};
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

/// The variable naming the digest's Slack channel (a channel id such as `C0123ABCD`).
pub const DIGEST_CHANNEL_VAR: &str = "SLACK_DIGEST_CHANNEL";

/// What the portfolio routes use.
#[derive(Clone)]
pub struct PortfolioState {
    pub ledger: Arc<dyn MrrLedger>,
    pub cards: Arc<dyn PortfolioCards>,
    pub crm_queue: Arc<dyn CrmSyncQueue>,
    pub reports: Arc<dyn ReportOutbox>,
    /// Slack with a bot token and the digest channel.
    pub digest_slack: Option<(Arc<dyn DigestSlack>, String)>,
    pub crm_health: Arc<Vec<Box<dyn CrmHealthPort>>>,
}

impl PortfolioState {
    pub fn new<S>(store: Arc<S>, cards: Arc<dyn PortfolioCards>, reports: Arc<MemoryOutbox>) -> Self
    where
        S: MrrLedger + CrmSyncQueue + 'static,
    {
        PortfolioState {
            ledger: store.clone(),
            cards,
            crm_queue: store,
            reports,
            digest_slack: None,
            crm_health: Arc::new(Vec::new()),
        }
    }

    /// Delivers the digest with this Slack client to `channel`.
    pub fn with_digest_slack(mut self, slack: SlackApi, channel: String) -> Self {
        self.digest_slack = Some((Arc::new(slack), channel));
        self
    }

    /// Writes health on CRM records with these adapters.
    pub fn with_crm_health(mut self, ports: Vec<Box<dyn CrmHealthPort>>) -> Self {
        self.crm_health = Arc::new(ports);
        self
    }
}

/// The routes, merged into the runner's router.
pub fn routes() -> Router<AppState> {
    Router::new().route("/reports/weekly", post(weekly_report)).route("/sweeps/crm", post(crm_sweep))
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

#[derive(Deserialize)]
struct NowQuery {
    now: Option<String>,
}

async fn weekly_report(State(state): State<AppState>, Query(q): Query<NowQuery>) -> Response {
    let now = match crate::server::as_of(q.now.as_deref()) {
        Ok(now) => now,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let p = &state.portfolio;
    let ports = DigestPorts {
        ledger: p.ledger.as_ref(),
        cards: p.cards.as_ref(),
        accounts: state.accounts.as_ref(),
        reports: p.reports.as_ref(),
        slack: p.digest_slack.as_ref().map(|(slack, channel)| (slack.as_ref(), channel.as_str())),
    };
    match digest::weekly(&ports, &state.settings, now).await {
        Ok(run) => Json(run).into_response(),
        Err(DigestError::Delivery(e)) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn crm_sweep(State(state): State<AppState>) -> Response {
    let p = &state.portfolio;
    let crms: Vec<&dyn CrmHealthPort> = p.crm_health.iter().map(|c| c.as_ref()).collect();
    match crm_sync::run(p.crm_queue.as_ref(), &crms, crm_sync::BATCH, crm_sync::PACE).await {
        Ok(summary) => Json(json!({ "summary": summary })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

impl AppState {
    /// The digest's Slack (`SLACK_BOT_TOKEN` at `SLACK_API_URL`, to `SLACK_DIGEST_CHANNEL`) and
    /// the CRM health writers (`HUBSPOT_TOKEN`, `SALESFORCE_*`) from the environment.
    pub fn with_portfolio_delivery_from_env(mut self) -> Result<Self, String> {
        use foresight_shared::runtime::delivery;
        use foresight_shared::runtime::env::non_empty;
        use foresight_shared::runtime::secrets::Secrets;
        let secrets = Secrets::from_env(&delivery::SECRET_VARS);
        if let (Some(token), Some(channel)) = (secrets.get("SLACK_BOT_TOKEN"), non_empty(DIGEST_CHANNEL_VAR)) {
            let client = foresight_shared::adapters::http::http_client().map_err(|e| e.to_string())?;
            let slack = SlackApi::new(client, token);
            let slack = match non_empty("SLACK_API_URL") {
                Some(url) => slack.with_base_url(url),
                None => slack,
            };
            self.portfolio = self.portfolio.with_digest_slack(slack, channel);
        }
        let crm = delivery::crm_health(&secrets, &self.settings.portfolio)?;
        self.portfolio = self.portfolio.with_crm_health(crm);
        Ok(self)
    }
}
