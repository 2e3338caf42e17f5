//! The HTTP surface of `foresight dev` (contract: the README's "Local runner" section).

use crate::StoreKind;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Json, Router};
use foresight_shared::adapters::memory::{MemoryOutbox, MemoryQueue};
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::health_sweep::{self, SweepPorts};
use foresight_shared::app::ingest::analytics::{AnalyticsWebhook, MAX_BATCH_BYTES};
use foresight_shared::app::ingest::identity;
use foresight_shared::app::ingest::stripe::{EventAlerting, StripeStores, StripeWebhook};
use foresight_shared::app::ingest::tracking::TrackingApi;
use foresight_shared::app::ingest::typeform::TypeformWebhook;
use foresight_shared::app::ingest::zendesk::ZendeskWebhook;
use foresight_shared::app::ingest::{IngestError, WebhookResponse, MAX_BODY_BYTES};
use foresight_shared::app::ports::outbox::{DeliveryLog, Outbox, SweepProgressStore};
use foresight_shared::app::ports::portfolio::{CrmSyncQueue, MrrLedger, PortfolioCards, ReportOutbox};
use foresight_shared::app::ports::queue::{DeadLetters, NotificationQueue};
use foresight_shared::app::ports::store::{
    AccountLister, AccountScanner, AccountStore, LinkSource, LinkStore, RenewalIndex, SourceRegistry, UsageStore,
};
use foresight_shared::app::renewal_sweep::{self, RenewalPorts};
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::time;
use foresight_shared::runtime::clock::unix_now;
use foresight_shared::runtime::delivery::{self, DeliveryChannels};
use foresight_shared::runtime::env::{self, NOTIFICATIONS_DLQ_VAR, NOTIFICATIONS_QUEUE_VAR};
use foresight_shared::runtime::secrets::Secrets;
use foresight_shared::runtime::{aws, settings, webhooks};
use foresight_shared::sources::segment::tracking::Endpoint;
use serde::Deserialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything the handlers use, shared by every request.
#[derive(Clone)]
pub struct AppState {
    pub(crate) accounts: Arc<dyn AccountStore>,
    pub(crate) lister: Arc<dyn AccountLister>,
    scanner: Arc<dyn AccountScanner>,
    renewals: Arc<dyn RenewalIndex>,
    pub(crate) links: Arc<dyn LinkStore>,
    pub(crate) outbox: Arc<dyn Outbox>,
    log: Arc<dyn DeliveryLog>,
    progress: Arc<dyn SweepProgressStore>,
    pub(crate) notifications: Arc<dyn NotificationQueue>,
    queue: NotificationsBackend,
    usage: Arc<dyn UsageStore>,
    pub(crate) sources: Arc<dyn SourceRegistry>,
    pub(crate) stripe: Arc<StripeWebhook>,
    pub(crate) zendesk: Arc<ZendeskWebhook>,
    analytics: Arc<AnalyticsWebhook>,
    tracking: Arc<TrackingApi>,
    typeform: Arc<TypeformWebhook>,
    pub(crate) settings: Arc<Settings>,
    /// The portfolio: KPIs, the weekly digest and the CRM health sync (`crate::portfolio`).
    pub(crate) portfolio: crate::portfolio::PortfolioState,
    /// Playbooks: SES, unsubscribe tokens, the in-app queue (`crate::playbooks`).
    pub(crate) playbooks: crate::playbooks::PlaybookState,
    /// Export and erasure (`crate::privacy`).
    pub(crate) privacy: Option<crate::privacy::PrivacyState>,
    /// The sources' APIs for `POST /backfill/*` (`crate::backfill`).
    pub(crate) backfill: crate::backfill::BackfillState,
    /// `--auth oidc`: the read routes need a valid token (`crate::auth`).
    pub(crate) auth: Option<Arc<crate::auth::OidcVerifier>>,
}

impl AppState {
    pub fn new<S>(store: Arc<S>, stripe: StripeWebhook) -> Self
    where
        S: AccountStore
            + AccountLister
            + AccountScanner
            + RenewalIndex
            + LinkStore
            + UsageStore
            + MrrLedger
            + PortfolioCards
            + CrmSyncQueue
            + SourceRegistry
            + 'static,
    {
        let outbox = Arc::new(MemoryOutbox::new());
        let memory_queue = Arc::new(MemoryQueue::new());
        AppState {
            portfolio: crate::portfolio::PortfolioState::new(store.clone(), store.clone(), outbox.clone()),
            accounts: store.clone(),
            lister: store.clone(),
            scanner: store.clone(),
            renewals: store.clone(),
            outbox: outbox.clone(),
            log: outbox.clone(),
            progress: outbox,
            notifications: memory_queue.clone(),
            queue: NotificationsBackend::Memory(memory_queue),
            usage: store.clone(),
            sources: store.clone(),
            stripe: Arc::new(stripe.with_registry(store.clone())),
            zendesk: Arc::new(ZendeskWebhook::new(None)),
            analytics: Arc::new(AnalyticsWebhook::new(None, None, Default::default())),
            tracking: Arc::new(TrackingApi::new(None, Default::default())),
            typeform: Arc::new(TypeformWebhook::new(None, "account_id")),
            links: store,
            settings: Arc::new(Settings::default()),
            playbooks: Default::default(),
            privacy: None,
            backfill: Default::default(),
            auth: None,
        }
    }

    /// Sets the sources' APIs the backfill reads.
    pub fn with_backfill(mut self, backfill: crate::backfill::BackfillState) -> Self {
        self.backfill = backfill;
        self
    }

    /// Enables export and erasure (`crate::privacy`).
    pub fn with_privacy(mut self, privacy: crate::privacy::PrivacyState) -> Self {
        self.privacy = Some(privacy);
        self
    }

    /// Sets the configuration (`foresight.toml`) the sweeps use.
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = Arc::new(settings);
        self
    }

    /// Sets where alerts are recorded (and sweep progress kept) and where they are enqueued.
    pub fn with_alerting<O>(mut self, outbox: Arc<O>, queue: NotificationsBackend) -> Self
    where
        O: Outbox + SweepProgressStore + DeliveryLog + ReportOutbox + 'static,
    {
        self.portfolio.reports = outbox.clone();
        self.outbox = outbox.clone();
        self.log = outbox.clone();
        self.progress = outbox;
        self.notifications = match &queue {
            NotificationsBackend::Sqs(q) => q.clone(),
            NotificationsBackend::Memory(q) => q.clone(),
        };
        self.queue = queue;
        self
    }

    /// Starts delivering notifications (Slack, CRM) in the background with the same dispatcher
    /// as the `dispatcher` function; without channels they stay in `GET /outbox`.
    pub async fn start_delivery(&self, channels: DeliveryChannels) {
        if channels.is_empty() {
            return;
        }
        let dead_letters: Arc<dyn DeadLetters> = match env::queue_url(NOTIFICATIONS_DLQ_VAR) {
            Some(url) => Arc::new(aws::sqs_queue(url).await),
            None => Arc::new(MemoryQueue::new()),
        };
        let delivery = crate::delivery::LocalDelivery {
            outbox: self.outbox.clone(),
            log: self.log.clone(),
            channels,
            routes: self.settings.delivery.clone(),
            dead_letters,
        };
        match &self.queue {
            NotificationsBackend::Sqs(q) => crate::delivery::consume_sqs(delivery, q.as_ref().clone()),
            NotificationsBackend::Memory(q) => crate::delivery::consume_memory(delivery, q.clone()),
        };
    }

    /// Configures the analytics webhook (unconfigured, it answers 503 naming its variable).
    pub fn with_analytics(mut self, analytics: AnalyticsWebhook) -> Self {
        self.analytics = Arc::new(analytics.with_registry(self.sources.clone()));
        self
    }

    /// Configures the Segment HTTP Tracking API (unconfigured, it answers 503 naming its variable).
    pub fn with_tracking(mut self, tracking: TrackingApi) -> Self {
        self.tracking = Arc::new(tracking.with_registry(self.sources.clone()));
        self
    }

    /// Configures the Zendesk webhook (unconfigured, it answers 503 naming its variable).
    pub fn with_zendesk(mut self, zendesk: ZendeskWebhook) -> Self {
        self.zendesk = Arc::new(zendesk.with_registry(self.sources.clone()));
        self
    }

    /// Configures the Typeform webhook (unconfigured, it answers 503 naming its variable).
    pub fn with_typeform(mut self, typeform: TypeformWebhook) -> Self {
        self.typeform = Arc::new(typeform.with_registry(self.sources.clone()));
        self
    }
}

/// Builds the state for a store kind; DynamoDB gets its table created if missing.
pub async fn state(kind: StoreKind, stripe: StripeWebhook) -> Result<AppState, String> {
    Ok(match kind {
        StoreKind::Memory => {
            let (store, outbox) = (Arc::new(crate::privacy::memory_store()?), Arc::new(MemoryOutbox::new()));
            AppState::new(store.clone(), stripe)
                .with_alerting(outbox.clone(), notifications_queue().await)
                .with_privacy(
                    crate::privacy::PrivacyState::new(store, outbox, crate::privacy::erasure_key())
                        .erase_on_customer_deleted_from_env()?,
                )
        }
        StoreKind::Dynamodb => {
            let store = aws::dynamo_store().await;
            store.ensure_table().await.map_err(|e| {
                format!(
                    "cannot use DynamoDB table {:?} (is DynamoDB Local running? see infra/README.md): {e}",
                    store.table()
                )
            })?;
            let outbox = aws::outbox().await;
            outbox.ensure_table().await.map_err(|e| format!("cannot use DynamoDB table {:?}: {e}", outbox.table()))?;
            let (store, outbox) = crate::privacy::with_retention(store, outbox)?;
            AppState::new(store.clone(), stripe)
                .with_alerting(outbox.clone(), notifications_queue().await)
                .with_privacy(
                    crate::privacy::PrivacyState::new(store, outbox, crate::privacy::erasure_key())
                        .erase_on_customer_deleted_from_env()?,
                )
        }
    })
}

/// Where the runner's notifications queue lives.
#[derive(Clone)]
pub enum NotificationsBackend {
    /// `FORESIGHT_NOTIFICATIONS_QUEUE_URL` (the moto server locally).
    Sqs(Arc<SqsQueue>),
    /// In process (and in `GET /outbox`).
    Memory(Arc<MemoryQueue>),
}

/// The notifications queue: SQS when `FORESIGHT_NOTIFICATIONS_QUEUE_URL` is set (the moto
/// server locally), else kept in memory (and in `GET /outbox`).
async fn notifications_queue() -> NotificationsBackend {
    match env::queue_url(NOTIFICATIONS_QUEUE_VAR) {
        Some(url) => NotificationsBackend::Sqs(Arc::new(aws::sqs_queue(url).await)),
        None => NotificationsBackend::Memory(Arc::new(MemoryQueue::new())),
    }
}

/// The routes the deployed HTTP API serves, as `(method, path)`: the runner serves each with the
/// same use case, and `template.yaml` must have exactly these routes (`tests/template_checks.rs`
/// compares them).
pub const DEPLOYED_ROUTES: [(&str, &str); 19] = [
    ("POST", "/webhooks/stripe"),
    ("POST", "/webhooks/zendesk"),
    ("POST", "/webhooks/segment"),
    ("POST", "/webhooks/typeform"),
    // Segment's HTTP Tracking API, served by the analytics function.
    ("POST", "/v1/batch"),
    ("POST", "/v1/track"),
    ("POST", "/v1/identify"),
    ("POST", "/v1/group"),
    ("POST", "/v1/page"),
    // A contact's unsubscribe page and RFC 8058 one-click, served by the playbooks function.
    ("GET", "/unsubscribe"),
    ("POST", "/unsubscribe"),
    // The dashboard, served by the read-api function when the deployment has sign-in (its
    // data routes behind the JWT authorizer; `crate::dashboard`).
    ("GET", "/"),
    ("GET", "/dashboard.css"),
    ("GET", "/dashboard.js"),
    ("GET", "/dashboard/config"),
    ("GET", "/kpis"),
    ("GET", "/accounts"),
    ("GET", "/accounts/{account_id}"),
    ("GET", "/accounts/{account_id}/history"),
];

/// The handler of a deployed route.
fn deployed_route(path: &str) -> MethodRouter<AppState> {
    match path {
        "/webhooks/stripe" => post(stripe_webhook),
        "/webhooks/zendesk" => post(zendesk_webhook),
        "/webhooks/segment" => post(segment_webhook),
        "/webhooks/typeform" => post(typeform_webhook),
        "/unsubscribe" => crate::playbooks::unsubscribe_route(),
        tracking if Endpoint::from_path(tracking).is_some() => post(tracking_api),
        other => crate::dashboard::route(other)
            .unwrap_or_else(|| unreachable!("DEPLOYED_ROUTES names {other}, which has no handler")),
    }
}

pub fn router(state: AppState) -> Router {
    // One method router per path (deployed_route() binds every method of its path).
    let paths: std::collections::BTreeSet<&str> = DEPLOYED_ROUTES.iter().map(|(_, path)| *path).collect();
    let deployed = paths.into_iter().fold(Router::new(), |router, path| router.route(path, deployed_route(path)));
    deployed
        .route("/links", post(create_link))
        .route("/sweeps/health", post(health_sweep))
        .route("/sweeps/renewal", post(renewal_sweep_route))
        .route("/outbox", get(list_outbox))
        .merge(crate::portfolio::routes())
        .merge(crate::playbooks::routes())
        .merge(crate::privacy::routes())
        .merge(crate::backfill::routes())
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route".into()) })
        // Webhook bodies are read with our own limit so that the answer is our JSON 413.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::require_token))
        .with_state(state)
}

/// Serves until Ctrl-C. Prints `listening on http://ADDR` once requests are accepted.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> Result<(), String> {
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{addr}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("server failed: {e}"))
}

pub async fn dev(addr: &str, store: StoreKind, config: Option<PathBuf>) -> Result<(), String> {
    dev_with_auth(addr, store, config, None).await
}

/// `dev` with the read routes behind sign-in when `auth` is set (`--auth oidc`).
pub async fn dev_with_auth(
    addr: &str,
    store: StoreKind,
    config: Option<PathBuf>,
    auth: Option<Arc<crate::auth::OidcVerifier>>,
) -> Result<(), String> {
    // A bad configuration stops the runner here, naming the field (never a silent default). The
    // FORESIGHT_* analytics variables override `[analytics]` for the sweep as for ingest.
    let settings = settings::from_file(config.as_deref()).map_err(|e| format!("invalid configuration: {e}"))?;
    let channels = delivery::channels(&Secrets::from_env(&delivery::SECRET_VARS), &settings.delivery)?;
    let secrets = Secrets::from_env(
        &[
            &webhooks::STRIPE_SECRET_VARS[..],
            &webhooks::ZENDESK_SECRET_VARS,
            &webhooks::ANALYTICS_SECRET_VARS,
            &webhooks::TRACKING_SECRET_VARS,
            &webhooks::TYPEFORM_SECRET_VARS,
        ]
        .concat(),
    );
    let billing_contacts =
        settings.playbooks.roles_emailed().contains(&foresight_shared::domain::playbook::Role::Billing);
    let state = state(store, webhooks::stripe(&secrets).with_billing_contacts(billing_contacts))
        .await?
        .with_zendesk(webhooks::zendesk(&secrets))
        .with_analytics(webhooks::analytics(&secrets, settings.analytics.clone()))
        .with_tracking(webhooks::tracking(&secrets, settings.analytics.clone()))
        .with_typeform(webhooks::typeform(&secrets, &settings.surveys.hidden_field))
        .with_settings(settings)
        .with_backfill(crate::backfill::BackfillState::from_env()?)
        .with_portfolio_delivery_from_env()?
        .with_playbooks_from_env()
        .await?
        .with_auth(auth);
    state.start_delivery(channels).await;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    serve(listener, state).await
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// A webhook's answer as the Lambda glue sends it: status, JSON body, `Retry-After` when set.
fn encode(answer: WebhookResponse) -> Response {
    answer.into_http().map(Body::from)
}

/// Reads a webhook body up to `limit`; over it, the 413 every webhook answers.
async fn read_body_limited(body: Body, limit: usize) -> Result<axum::body::Bytes, Response> {
    axum::body::to_bytes(body, limit + 1).await.map_err(|_| {
        let err = IngestError::TooLarge(limit + 1);
        encode(WebhookResponse::error("runner", &err))
    })
}

async fn read_body(body: Body) -> Result<axum::body::Bytes, Response> {
    read_body_limited(body, MAX_BODY_BYTES).await
}

async fn stripe_webhook(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    let alerting = EventAlerting {
        outbox: state.outbox.as_ref(),
        queue: state.notifications.as_ref(),
        settings: state.settings.as_ref(),
    };
    let answer = state
        .stripe
        .respond(
            &StripeStores {
                accounts: state.accounts.as_ref(),
                links: state.links.as_ref(),
                ledger: Some(state.portfolio.ledger.as_ref()),
            },
            Some(&alerting),
            signature,
            &body,
            unix_now(),
        )
        .await;
    encode(crate::privacy::after_stripe_event(&state, answer).await)
}

async fn zendesk_webhook(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let answer =
        state.zendesk.respond(state.accounts.as_ref(), state.links.as_ref(), &headers, &body, unix_now()).await;
    encode(answer)
}

async fn segment_webhook(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body_limited(body, MAX_BATCH_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (accounts, links, usage) = (state.accounts.as_ref(), state.links.as_ref(), state.usage.as_ref());
    encode(state.analytics.respond(accounts, links, usage, &headers, &body, unix_now()).await)
}

/// `POST /v1/batch|track|identify|group|page`: Segment's HTTP Tracking API.
async fn tracking_api(State(state): State<AppState>, uri: axum::http::Uri, headers: HeaderMap, body: Body) -> Response {
    let Some(endpoint) = Endpoint::from_path(uri.path()) else {
        return error(StatusCode::NOT_FOUND, "no such route".into());
    };
    let body = match read_body_limited(body, foresight_shared::sources::segment::tracking::MAX_REQUEST_BYTES).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let (accounts, links, usage) = (state.accounts.as_ref(), state.links.as_ref(), state.usage.as_ref());
    encode(state.tracking.respond(accounts, links, usage, endpoint, &headers, &body, unix_now()).await)
}

async fn typeform_webhook(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let signature = headers.get("typeform-signature").and_then(|v| v.to_str().ok());
    let alerting = EventAlerting {
        outbox: state.outbox.as_ref(),
        queue: state.notifications.as_ref(),
        settings: state.settings.as_ref(),
    };
    let typeform = &state.typeform;
    let (accounts, links) = (state.accounts.as_ref(), state.links.as_ref());
    encode(typeform.respond(accounts, links, Some(&alerting), signature, &body, unix_now()).await)
}

/// `?now=RFC3339` (default: the clock), or the message of the 400.
pub(crate) fn as_of(now: Option<&str>) -> Result<i64, String> {
    foresight_shared::app::read_api::as_of(now, unix_now())
}

#[derive(Deserialize)]
struct SweepQuery {
    now: Option<String>,
}

async fn health_sweep(State(state): State<AppState>, Query(query): Query<SweepQuery>) -> Response {
    let now = match as_of(query.now.as_deref()) {
        Ok(now) => now,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let ports = SweepPorts {
        scanner: state.scanner.as_ref(),
        accounts: state.accounts.as_ref(),
        usage: state.usage.as_ref(),
        outbox: state.outbox.as_ref(),
        notifications: state.notifications.as_ref(),
        progress: state.progress.as_ref(),
        sources: state.sources.as_ref(),
    };
    // Every request is a sweep of its own, so sweeping again at the same `now` really scores
    // again (and shows that it raises nothing twice).
    let sweep_id = format!("{}#local-{}", health_sweep::scheduled_sweep_id(now), unix_now_nanos());
    match health_sweep::run(&ports, &state.settings, &sweep_id, now, SWEEP_SEGMENTS).await {
        Ok(summary) => Json(json!({ "now": time::rfc3339(now), "summary": summary })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `POST /sweeps/renewal?now=`: the renewal sweep's own code as of `now` (default: the clock).
/// It reads the renewal index, which the health sweep keeps: run a health sweep first.
async fn renewal_sweep_route(State(state): State<AppState>, Query(query): Query<SweepQuery>) -> Response {
    let now = match as_of(query.now.as_deref()) {
        Ok(now) => now,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let ports = RenewalPorts {
        index: state.renewals.as_ref(),
        accounts: state.accounts.as_ref(),
        outbox: state.outbox.as_ref(),
        notifications: state.notifications.as_ref(),
    };
    match renewal_sweep::run(&ports, &state.settings, now).await {
        Ok(summary) => Json(json!({ "now": time::rfc3339(now), "summary": summary })).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The runner sweeps in as many segments as the deployed default, one after the other.
const SWEEP_SEGMENTS: u32 = 4;

fn unix_now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

async fn list_outbox(State(state): State<AppState>) -> Response {
    // Reports (the weekly digest) beside the notifications: kept here when not delivered.
    let listed = match state.outbox.entries().await {
        Ok(entries) => state.portfolio.reports.reports().await.map(|reports| (entries, reports)),
        Err(e) => Err(e),
    };
    match listed {
        Ok((entries, reports)) => {
            let playbooks = crate::playbooks::outbox_views(&reports);
            let reports: Vec<_> = reports
                .iter()
                .filter(|r| !r.key.starts_with(foresight_shared::app::playbooks::sweep::KEY_PREFIX))
                .collect();
            Json(
                json!({ "count": entries.len(), "notifications": entries, "reports": reports, "playbooks": playbooks }),
            )
            .into_response()
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

#[derive(Deserialize)]
struct LinkRequest {
    source: String,
    external_id: String,
    account_id: String,
}

async fn create_link(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let request: LinkRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(StatusCode::BAD_REQUEST, format!("expected JSON {{source, external_id, account_id}}: {e}"))
        }
    };
    let Some(source) = LinkSource::parse(&request.source) else {
        let known = "stripe, zendesk, analytics, hubspot, salesforce";
        return error(StatusCode::BAD_REQUEST, format!("unknown source {:?}: use one of {known}", request.source));
    };
    if request.external_id.trim().is_empty() || request.account_id.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "external_id and account_id must not be empty".into());
    }
    let linked = identity::link_and_merge(
        state.accounts.as_ref(),
        state.links.as_ref(),
        source,
        &request.external_id,
        &request.account_id,
    )
    .await;
    let merged = match linked {
        Ok(merged) => merged,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    Json(json!({
        "source": source.as_str(),
        "external_id": request.external_id,
        "account_id": request.account_id,
        "merged_provisional_record": merged,
    }))
    .into_response()
}
