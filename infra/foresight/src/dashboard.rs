//! The dashboard a CS leader opens, served by the runner: `GET /` (the page shell),
//! `GET /dashboard.css`, `GET /dashboard.js` and `GET /dashboard/config` (whether and where to
//! sign in) carry no customer data and are public; the page then reads `GET /kpis`,
//! `GET /accounts…` and `GET /accounts/{account_id}/history` with a bearer token when the runner
//! is started with `--auth oidc` (`crate::auth`).
//!
//! These are axum routes around the read API's use cases (`foresight_shared::app::read_api`),
//! the same code the deployed read-api function runs; the page (plain HTML, CSS and one script
//! with no build step) is embedded from `shared/assets/dashboard/`.

use crate::server::AppState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use foresight_shared::app::read_api::{self, AsOf, KpiQuery, ListFilter, ReadPorts, ReadResponse, SignIn};
use foresight_shared::runtime::clock::unix_now;

/// The handler of a read-API path of `DEPLOYED_ROUTES` (`crate::server`), or `None` for any
/// other path.
pub fn route(path: &str) -> Option<MethodRouter<AppState>> {
    if let Some(asset) = read_api::PAGE.iter().find(|asset| asset.path == path) {
        return Some(get(move || async move { send(ReadResponse::page(asset)) }));
    }
    Some(match path {
        "/dashboard/config" => get(config),
        "/kpis" => get(kpis),
        "/accounts" => get(accounts),
        "/accounts/{account_id}" => get(account),
        "/accounts/{account_id}/history" => get(history),
        _ => return None,
    })
}

fn send(answer: ReadResponse) -> Response {
    answer.into_http().map(Body::from)
}

impl AppState {
    fn read_ports(&self) -> ReadPorts<'_> {
        ReadPorts {
            accounts: self.accounts.as_ref(),
            lister: self.lister.as_ref(),
            sources: self.sources.as_ref(),
            ledger: self.portfolio.ledger.as_ref(),
            cards: self.portfolio.cards.as_ref(),
        }
    }
}

/// `GET /dashboard/config`: how the page signs in (`auth` null: the runner asks for no token).
async fn config(State(state): State<AppState>) -> Response {
    let sign_in = state.auth.as_ref().map(|verifier| SignIn {
        issuer: verifier.issuer().to_owned(),
        audience: verifier.audience().to_owned(),
        client_id: verifier.client_id().to_owned(),
    });
    send(read_api::config(sign_in.as_ref()))
}

async fn kpis(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match read_api::parse_query::<KpiQuery>(query.as_deref().unwrap_or("")) {
        Ok(q) => send(read_api::kpis(&state.read_ports(), &state.settings, &q, unix_now()).await),
        Err(refused) => send(refused),
    }
}

async fn accounts(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    match read_api::parse_query::<ListFilter>(query.as_deref().unwrap_or("")) {
        Ok(filter) => send(read_api::accounts(&state.read_ports(), &state.settings, &filter, unix_now()).await),
        Err(refused) => send(refused),
    }
}

async fn account(State(state): State<AppState>, Path(account_id): Path<String>, RawQuery(query): RawQuery) -> Response {
    match read_api::parse_query::<AsOf>(query.as_deref().unwrap_or("")) {
        Ok(q) => send(read_api::account(&state.read_ports(), &state.settings, &account_id, &q, unix_now()).await),
        Err(refused) => send(refused),
    }
}

async fn history(State(state): State<AppState>, Path(account_id): Path<String>) -> Response {
    send(read_api::history(&state.read_ports(), &account_id).await)
}
