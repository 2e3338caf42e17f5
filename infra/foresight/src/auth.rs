//! `foresight dev --auth oidc --issuer URL --audience AUD`: every read route (`/kpis`,
//! `/accounts*`, `/outbox`) needs `Authorization: Bearer <JWT>` signed by a key of the issuer's
//! JWKS (found through its OIDC discovery document), with `iss` equal to URL, `aud` (a string
//! or a list) containing AUD, and not expired (60 s leeway); else 401. The same check the
//! deployed HTTP API's JWT authorizer makes. Webhooks keep their own signatures; the page shell
//! is public and carries no customer data.

use crate::server::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use foresight_shared::app::read_api::ReadResponse;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;

/// Clock skew tolerated on `exp` (and `nbf`), as the contract says.
pub const LEEWAY_SECONDS: u64 = 60;
/// A token naming a key the cached JWKS lacks refetches it (the issuer rotated its keys), at
/// most this often so that forged key ids cannot make the runner hammer the issuer.
const JWKS_REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Whether a path is a read route, which needs a token when sign-in is on.
pub fn is_read_route(path: &str) -> bool {
    path == "/outbox" || foresight_shared::app::read_api::carries_customer_data(path)
}

/// Checks bearer tokens against one OIDC issuer and audience.
pub struct OidcVerifier {
    issuer: String,
    audience: String,
    client_id: String,
    jwks_uri: String,
    http: reqwest::Client,
    keys: RwLock<(JwkSet, Instant)>,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

impl OidcVerifier {
    /// Reads the issuer's discovery document and JWKS; an unreachable issuer or a document that
    /// names another issuer is an error (the runner refuses to start rather than refuse everyone).
    pub async fn discover(issuer: &str, audience: &str, client_id: Option<&str>) -> Result<Self, String> {
        if audience.trim().is_empty() {
            return Err("--audience must not be empty with --auth oidc".into());
        }
        let http = foresight_shared::adapters::http::http_client().map_err(|e| e.to_string())?;
        let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
        let discovery: Discovery = fetch_json(&http, &url).await?;
        if discovery.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
            return Err(format!("{url} names issuer {:?}, not {issuer:?}", discovery.issuer));
        }
        let keys: JwkSet = fetch_json(&http, &discovery.jwks_uri).await?;
        Ok(OidcVerifier {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            client_id: client_id.unwrap_or(audience).to_owned(),
            jwks_uri: discovery.jwks_uri,
            http,
            keys: RwLock::new((keys, Instant::now())),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The OAuth client the page signs in as (authorization code + PKCE).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The token's claims, or why it is refused.
    pub async fn verify(&self, token: &str) -> Result<Value, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        // Only public-key algorithms: an HMAC "signature" keyed with a public key is forgeable.
        if !ASYMMETRIC.contains(&header.alg) {
            return Err(format!("algorithm {:?} is not accepted", header.alg));
        }
        let key = self.key_for(header.kid.as_deref()).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = LEEWAY_SECONDS;
        validation.validate_nbf = true;
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| format!("token refused: {e}"))
    }

    /// The JWKS key the token names (or the only key when it names none).
    async fn key_for(&self, kid: Option<&str>) -> Result<DecodingKey, String> {
        if let Some(key) = find(&self.keys.read().await.0, kid) {
            return key;
        }
        let mut cached = self.keys.write().await;
        if let Some(key) = find(&cached.0, kid) {
            return key;
        }
        if cached.1.elapsed() >= JWKS_REFRESH_EVERY {
            cached.0 = fetch_json(&self.http, &self.jwks_uri).await?;
            cached.1 = Instant::now();
        }
        find(&cached.0, kid).unwrap_or_else(|| Err(format!("no key {kid:?} in the issuer's JWKS")))
    }
}

const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

fn find(keys: &JwkSet, kid: Option<&str>) -> Option<Result<DecodingKey, String>> {
    let jwk = match kid {
        Some(kid) => keys.find(kid)?,
        None if keys.keys.len() == 1 => &keys.keys[0],
        None => return None,
    };
    Some(DecodingKey::from_jwk(jwk).map_err(|e| format!("unusable JWKS key: {e}")))
}

async fn fetch_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> Result<T, String> {
    let response = http.get(url).send().await.map_err(|e| format!("cannot read {url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response.json().await.map_err(|e| format!("{url} is not the expected JSON: {e}"))
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// The middleware: read routes pass only with a valid token when sign-in is on.
pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(verifier) = state.auth.clone() else { return next.run(request).await };
    if !is_read_route(request.uri().path()) {
        return next.run(request).await;
    }
    let refused = match bearer(request.headers()) {
        None => "a bearer token is required".to_owned(),
        Some(token) => match verifier.verify(token).await {
            Ok(_) => return next.run(request).await,
            Err(reason) => reason,
        },
    };
    tracing::info!(path = request.uri().path(), reason = %refused, "read refused");
    ReadResponse::unauthorized(refused).into_http().map(axum::body::Body::from)
}

impl AppState {
    /// Requires a valid token on every read route (`--auth oidc`).
    pub fn with_auth(mut self, verifier: Option<Arc<OidcVerifier>>) -> Self {
        self.auth = verifier;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_routes_are_the_kpis_accounts_and_outbox() {
        for path in ["/kpis", "/outbox", "/accounts", "/accounts/acct_1", "/accounts/acct_1/history"] {
            assert!(is_read_route(path), "{path}");
        }
        for path in ["/", "/dashboard.js", "/dashboard/config", "/webhooks/stripe", "/unsubscribe", "/accountsx"] {
            assert!(!is_read_route(path), "{path}");
        }
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer abc.def.ghi".parse().unwrap());
        assert_eq!(bearer(&headers), Some("abc.def.ghi"));
        headers.insert(header::AUTHORIZATION, "Basic dXNlcjo=".parse().unwrap());
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&headers), None);
    }
}
