//! The dashboard a CS leader opens: `GET /` (the page shell), `GET /dashboard.css`,
//! `GET /dashboard.js` and `GET /dashboard/config` (whether and where to sign in) carry no
//! customer data and are public; the page then reads `GET /kpis`, `GET /accounts…` and
//! `GET /accounts/{account_id}/history` (the daily scores, added here) with a bearer token when
//! the runner is started with `--auth oidc` (`crate::auth`).
//!
//! The page is plain HTML, CSS and one script with no build step, embedded in the binary; its
//! charts are small SVGs the script draws.

use crate::server::AppState;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// The page shell.
pub const INDEX_HTML: &str = include_str!("../assets/dashboard/index.html");
/// Its styles.
pub const DASHBOARD_CSS: &str = include_str!("../assets/dashboard/dashboard.css");
/// Its script: reads the JSON routes and draws the page.
pub const DASHBOARD_JS: &str = include_str!("../assets/dashboard/dashboard.js");

/// The dashboard's routes, merged into the runner's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { asset("text/html; charset=utf-8", INDEX_HTML) }))
        .route("/dashboard.css", get(|| async { asset("text/css; charset=utf-8", DASHBOARD_CSS) }))
        .route("/dashboard.js", get(|| async { asset("text/javascript; charset=utf-8", DASHBOARD_JS) }))
        .route("/dashboard/config", get(config))
        .route("/accounts/{account_id}/history", get(history))
}

/// A static file of the page. The policy keeps the page to its own script and styles; it may
/// call any HTTPS origin (the identity provider, for sign-in) and nothing may frame it.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; connect-src 'self' https: http://127.0.0.1:* http://localhost:*; \
                 img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            ),
        ],
        body,
    )
        .into_response()
}

/// `GET /dashboard/config`: how the page signs in (`auth` null: the runner asks for no token).
async fn config(State(state): State<AppState>) -> Response {
    let auth = state.auth.as_ref().map(|verifier| {
        json!({"issuer": verifier.issuer(), "audience": verifier.audience(), "client_id": verifier.client_id()})
    });
    Json(json!({ "auth": auth })).into_response()
}

/// `GET /accounts/{account_id}/history`: the daily scores the health sweep kept, oldest first.
async fn history(State(state): State<AppState>, Path(account_id): Path<String>) -> Response {
    match state.accounts.get(&account_id).await {
        Ok(Some(stored)) => {
            let points: Vec<_> =
                stored.health_history().into_iter().map(|(day, score)| json!({"day": day, "score": score})).collect();
            Json(json!({ "account_id": account_id, "history": points })).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no account {account_id:?}")),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
