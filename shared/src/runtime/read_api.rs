//! The read-api function: the dashboard's page and read routes ([`crate::app::read_api`]) behind
//! the HTTP API, on the account table. API Gateway's JWT authorizer lets only a valid token of
//! the deployment's identity provider reach a data route; the function refuses (401) a data
//! request that carries no JWT claims anyway, so a route wired without the authorizer never
//! serves customer data (defence in depth).

use super::{aws, env, settings};
use crate::adapters::dynamodb::DynamoStore;
use crate::app::read_api::{self, ReadPorts, ReadResponse, ReadRoute, SignIn};
use crate::app::settings::Settings;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

/// The sign-in the deployment configured (`FORESIGHT_DASHBOARD_ISSUER`, `_AUDIENCE`, and
/// `_CLIENT_ID`, which defaults to the audience), or none when the issuer or audience is unset.
pub fn sign_in_from_env() -> Option<SignIn> {
    let issuer = env::non_empty(env::DASHBOARD_ISSUER_VAR)?;
    let audience = env::non_empty(env::DASHBOARD_AUDIENCE_VAR)?;
    let client_id = env::non_empty(env::DASHBOARD_CLIENT_ID_VAR).unwrap_or_else(|| audience.clone());
    Some(SignIn { issuer: issuer.trim().to_owned(), audience, client_id })
}

/// The function: the account table, the configuration and the page's sign-in.
pub struct ReadApiFunction {
    store: DynamoStore,
    settings: Settings,
    sign_in: Option<SignIn>,
}

impl ReadApiFunction {
    pub fn new(store: DynamoStore, settings: Settings, sign_in: Option<SignIn>) -> Self {
        ReadApiFunction { store, settings, sign_in }
    }

    /// The table from `FORESIGHT_TABLE`, `foresight.toml` from `FORESIGHT_CONFIG` (a bad one
    /// stops the cold start, naming the field), the sign-in from [`sign_in_from_env`].
    pub async fn from_env() -> Result<Self, String> {
        let settings = settings::from_env().map_err(|e| format!("invalid configuration: {e}"))?;
        Ok(ReadApiFunction::new(aws::dynamo_store().await, settings, sign_in_from_env()))
    }

    /// One request: a page file or the config to anyone; a data route only with JWT claims in
    /// the request context (put there by API Gateway's authorizer), else 401.
    pub async fn respond(&self, request: &Request, clock: i64) -> Response<Body> {
        let answer = self.answer(request, clock).await;
        answer.into_http().map(Body::Text)
    }

    async fn answer(&self, request: &Request, clock: i64) -> ReadResponse {
        let path = request.uri().path();
        let Some(route) = ReadRoute::parse(path) else {
            return ReadResponse::error(404, "no such route");
        };
        if request.method() != http::Method::GET {
            return ReadResponse::error(405, format!("{path} is read with GET"));
        }
        if read_api::carries_customer_data(path) && !has_jwt_claims(request) {
            tracing::warn!(path, "data request without JWT claims refused (is the route's authorizer missing?)");
            return ReadResponse::unauthorized("a signed-in bearer token is required");
        }
        let store = &self.store;
        let ports = ReadPorts { accounts: store, lister: store, sources: store, ledger: store, cards: store };
        let query = request.uri().query().unwrap_or("");
        let settings = &self.settings;
        match route {
            ReadRoute::Page(asset) => ReadResponse::page(asset),
            ReadRoute::Config => read_api::config(self.sign_in.as_ref()),
            ReadRoute::Kpis => match read_api::parse_query(query) {
                Ok(q) => read_api::kpis(&ports, settings, &q, clock).await,
                Err(refused) => refused,
            },
            ReadRoute::Accounts => match read_api::parse_query(query) {
                Ok(filter) => read_api::accounts(&ports, settings, &filter, clock).await,
                Err(refused) => refused,
            },
            ReadRoute::Account(id) => match read_api::parse_query(query) {
                Ok(q) => read_api::account(&ports, settings, &id, &q, clock).await,
                Err(refused) => refused,
            },
            ReadRoute::History(id) => read_api::history(&ports, &id).await,
        }
    }
}

/// Whether API Gateway's JWT authorizer passed the request: it puts the token's claims in the
/// request context (`requestContext.authorizer.jwt.claims`).
pub fn has_jwt_claims(request: &Request) -> bool {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .and_then(|authorizer| authorizer.jwt.as_ref())
            .is_some_and(|jwt| !jwt.claims.is_empty()),
        _ => false,
    }
}
