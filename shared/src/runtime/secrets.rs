//! Secrets (webhook signing secrets, Slack/HubSpot/Salesforce credentials), loaded once per cold
//! start. Deployed, they live in SSM Parameter Store as SecureString parameters under
//! `FORESIGHT_SECRETS_PATH` (the template sets the path, never a value): the variable
//! `STRIPE_WEBHOOK_SECRET` is the parameter `<path>/stripe-webhook-secret`, read with decryption
//! in one `GetParameters` call for all of a function's secrets; a parameter that does not exist
//! is an unconfigured secret (the webhook then answers 503 naming it). Locally, with no path
//! set, each secret is its environment variable, as the local-API contract says.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const SECRETS_PATH_VAR: &str = "FORESIGHT_SECRETS_PATH";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("SSM GetParameters under {path} failed: {source}")]
    Ssm {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A function's secrets by variable name. `Debug` shows the names only.
#[derive(Clone, Default)]
pub struct Secrets {
    values: HashMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Secrets {
    /// The secret of a variable, if configured (blank counts as not configured).
    pub fn get(&self, var: &str) -> Option<String> {
        self.values.get(var).filter(|v| !v.trim().is_empty()).cloned()
    }

    /// From the environment variables themselves (the local runner).
    pub fn from_env(vars: &[&str]) -> Self {
        let values = vars.iter().filter_map(|v| Some(((*v).to_owned(), std::env::var(v).ok()?))).collect();
        Secrets { values }
    }
}

/// The parameter name of a secret variable under `path`: `STRIPE_WEBHOOK_SECRET` →
/// `<path>/stripe-webhook-secret`.
pub fn parameter_name(path: &str, var: &str) -> String {
    format!("{}/{}", path.trim_end_matches('/'), var.to_ascii_lowercase().replace('_', "-"))
}

/// Where a function's secrets come from: SSM Parameter Store under a path, or the environment.
pub enum SecretSource {
    Ssm { client: aws_sdk_ssm::Client, path: String },
    Env,
}

impl SecretSource {
    /// SSM under `FORESIGHT_SECRETS_PATH` when it is set (deployed), else the environment.
    pub async fn configured() -> Self {
        match std::env::var(SECRETS_PATH_VAR).ok().filter(|p| !p.trim().is_empty()) {
            Some(path) => SecretSource::Ssm { client: aws_sdk_ssm::Client::new(&super::aws::sdk_config().await), path },
            None => SecretSource::Env,
        }
    }

    pub async fn load(&self, vars: &[&str]) -> Result<Secrets, SecretsError> {
        match self {
            SecretSource::Ssm { client, path } => from_ssm(client, path, vars).await,
            SecretSource::Env => Ok(Secrets::from_env(vars)),
        }
    }
}

/// Loads `vars`: from SSM when `FORESIGHT_SECRETS_PATH` is set, else from the environment.
pub async fn load(vars: &[&str]) -> Result<Secrets, SecretsError> {
    SecretSource::configured().await.load(vars).await
}

/// How long a webhook without its secret waits before asking SSM again.
pub const RELOAD_MISSING_AFTER: Duration = Duration::from_secs(60);

/// A value built from secrets (a webhook and its signing secret), loaded at cold start. While
/// it lacks what it needs (`complete` is false) it reloads its secrets at most once per
/// `retry_after`: Stripe and Zendesk show a signing secret only once an endpoint points at the
/// deployed URL, so the secret is stored after the deploy and must take effect without one
/// (meanwhile the sender gets 503 and retries). A complete value is never re-read: a rotated
/// secret takes effect in new execution environments, as the README's rotation steps say.
pub struct SecretBound<T> {
    source: SecretSource,
    vars: &'static [&'static str],
    build: Box<dyn Fn(&Secrets) -> T + Send + Sync>,
    complete: fn(&T) -> bool,
    retry_after: Duration,
    state: tokio::sync::RwLock<(Arc<T>, Instant)>,
}

impl<T> SecretBound<T> {
    /// Loads `vars` from `source` and builds the first value.
    pub async fn load(
        source: SecretSource,
        vars: &'static [&'static str],
        build: impl Fn(&Secrets) -> T + Send + Sync + 'static,
        complete: fn(&T) -> bool,
        retry_after: Duration,
    ) -> Result<Self, SecretsError> {
        let value = build(&source.load(vars).await?);
        let state = tokio::sync::RwLock::new((Arc::new(value), Instant::now()));
        Ok(SecretBound { source, vars, build: Box::new(build), complete, retry_after, state })
    }

    /// The value, reloaded first when it is incomplete and `retry_after` has passed. A failed
    /// reload keeps the value it has (logged), to try again after the next `retry_after`.
    pub async fn current(&self) -> Arc<T> {
        let due = |state: &(Arc<T>, Instant)| !(self.complete)(&state.0) && state.1.elapsed() >= self.retry_after;
        {
            let state = self.state.read().await;
            if !due(&state) {
                return state.0.clone();
            }
        }
        let mut state = self.state.write().await;
        if due(&state) {
            state.1 = Instant::now();
            match self.source.load(self.vars).await {
                Ok(secrets) => state.0 = Arc::new((self.build)(&secrets)),
                Err(error) => tracing::warn!(%error, "reloading missing secrets failed; trying again later"),
            }
        }
        state.0.clone()
    }
}

/// Reads `vars` under `path` with decryption (`GetParameters` takes up to 10 names a call).
pub async fn from_ssm(client: &aws_sdk_ssm::Client, path: &str, vars: &[&str]) -> Result<Secrets, SecretsError> {
    let by_name: HashMap<String, &str> = vars.iter().map(|v| (parameter_name(path, v), *v)).collect();
    let names: Vec<String> = by_name.keys().cloned().collect();
    let mut values = HashMap::new();
    for chunk in names.chunks(10) {
        let out = client.get_parameters().set_names(Some(chunk.to_vec())).with_decryption(true).send().await.map_err(
            |e| SecretsError::Ssm {
                path: path.to_owned(),
                source: aws_sdk_ssm::error::DisplayErrorContext(e).to_string().into(),
            },
        )?;
        for p in out.parameters() {
            if let (Some(name), Some(value)) = (p.name(), p.value()) {
                if let Some(var) = by_name.get(name) {
                    values.insert((*var).to_owned(), value.to_owned());
                }
            }
        }
        // `invalid_parameters` lists the ones that do not exist: unconfigured secrets.
    }
    Ok(Secrets { values })
}
