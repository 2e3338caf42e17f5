//! What playbooks need from the environment: `FORESIGHT_SIGNING_SECRET` (signs unsubscribe
//! tokens and in-app webhooks), `FORESIGHT_PUBLIC_URL` (the base of unsubscribe links), and SES
//! v2 (the SDK honours `AWS_ENDPOINT_URL_SESV2`, moto locally) with the configured configuration
//! set.

use super::env::non_empty;
use crate::adapters::ses::SesEmail;

pub const SIGNING_SECRET_VAR: &str = "FORESIGHT_SIGNING_SECRET";
pub const PUBLIC_URL_VAR: &str = "FORESIGHT_PUBLIC_URL";
/// Set locally to send playbook emails through this SES v2 endpoint (moto).
pub const SES_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_SESV2";

/// The public base URL of unsubscribe links (default: the local runner's address).
pub fn public_url() -> String {
    non_empty(PUBLIC_URL_VAR).unwrap_or_else(|| "http://127.0.0.1:8787".to_owned())
}

/// The signing secret, if set.
pub fn signing_secret() -> Option<String> {
    non_empty(SIGNING_SECRET_VAR)
}

/// The SES v2 sender.
pub async fn ses_email(configuration_set: Option<String>) -> SesEmail {
    let config = super::aws::sdk_config().await;
    SesEmail::new(aws_sdk_sesv2::Client::new(&config), configuration_set)
}

/// A secret nobody knows, for a process without `FORESIGHT_SIGNING_SECRET`: what it signs stops
/// working when the process ends.
pub fn random_secret() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    h.write_u128(nanos);
    let mut second = std::collections::hash_map::RandomState::new().build_hasher();
    second.write_u64(h.finish());
    format!("ephemeral-{:016x}{:016x}-{}", h.finish(), second.finish(), std::process::id())
}

/// Whether the local runner sends through SES: when `AWS_ENDPOINT_URL_SESV2` is set.
pub fn local_ses_configured() -> bool {
    non_empty(SES_ENDPOINT_VAR).is_some()
}

/// `FORESIGHT_INAPP_QUEUE_URL` and its dead-letter queue `FORESIGHT_INAPP_DLQ_URL`.
pub const INAPP_QUEUE_VAR: &str = "FORESIGHT_INAPP_QUEUE_URL";
pub const INAPP_DLQ_VAR: &str = "FORESIGHT_INAPP_DLQ_URL";

/// The `playbooks` function: one binary for three kinds of invocation, told apart by shape —
/// the hourly schedule (the playbook sweep as of the scheduled time), an SQS batch of in-app
/// messages (delivered with retries; `batchItemFailures` lists only the failed ones), and the
/// HTTP API's `GET`/`POST /unsubscribe` (the page, and RFC 8058 one-click).
pub struct PlaybooksFunction {
    pub store: crate::adapters::dynamodb::DynamoStore,
    pub outbox: crate::adapters::dynamodb::DynamoOutbox,
    pub settings: crate::app::settings::Settings,
    pub email: SesEmail,
    pub tokens: crate::app::playbooks::unsubscribe::UnsubscribeTokens,
    pub public_url: String,
    pub inapp: crate::adapters::sqs::SqsQueue,
    pub inapp_dead_letters: crate::adapters::sqs::SqsQueue,
    pub webhook: crate::adapters::inapp::InAppWebhook,
}

impl PlaybooksFunction {
    pub async fn from_env() -> Result<Self, lambda_runtime::Error> {
        let secrets = super::secrets::load(&[SIGNING_SECRET_VAR]).await?;
        let settings = super::settings::from_env()?;
        settings.check_templates(super::env::CONFIG_VAR)?;
        // Without playbooks the secret is not needed yet: a deployment that has none keeps a
        // quiet function (a random secret: no token can be forged, and none was ever sent).
        let secret = match secrets.get(SIGNING_SECRET_VAR) {
            Some(secret) => secret.to_owned(),
            None if settings.playbooks.playbooks.is_empty() => random_secret(),
            None => {
                return Err(format!("{SIGNING_SECRET_VAR} is not set: playbooks sign unsubscribe links with it").into())
            }
        };
        let client = crate::adapters::http::http_client().map_err(|e| e.to_string())?;
        Ok(PlaybooksFunction {
            store: super::aws::dynamo_store().await,
            outbox: super::aws::outbox().await,
            email: ses_email(settings.playbooks.email.configuration_set.clone()).await,
            settings,
            tokens: crate::app::playbooks::unsubscribe::UnsubscribeTokens::new(secret.clone()),
            public_url: super::env::required(PUBLIC_URL_VAR)?,
            inapp: super::aws::required_queue(INAPP_QUEUE_VAR).await?,
            inapp_dead_letters: super::aws::required_queue(INAPP_DLQ_VAR).await?,
            webhook: crate::adapters::inapp::InAppWebhook::new(client, secret),
        })
    }

    pub async fn handle(
        &self,
        event: lambda_runtime::LambdaEvent<serde_json::Value>,
    ) -> Result<serde_json::Value, lambda_runtime::Error> {
        let payload = event.payload;
        let now = super::clock::unix_now();
        if payload.get("Records").is_some() {
            let batch: aws_lambda_events::sqs::SqsEvent = serde_json::from_value(payload)?;
            let (response, _) = super::lambda::each_message(&batch, |message| async move {
                let body = message.body.as_deref().unwrap_or("");
                let inapp: crate::app::ports::email::InAppMessage =
                    serde_json::from_str(body).map_err(|e| format!("not an in-app message: {e}"))?;
                let outcome = crate::app::playbooks::inapp::deliver(
                    &inapp,
                    message.receipt_handle.as_deref(),
                    super::lambda::receive_count(message),
                    &self.webhook,
                    &self.outbox,
                    &self.inapp_dead_letters,
                    &self.inapp,
                    now,
                )
                .await
                .map_err(|e| e.to_string())?;
                // A retry is a failure to SQS (it delivers again after the visibility change).
                if outcome.is_failure() {
                    return Err(format!("{outcome:?}"));
                }
                Ok(outcome)
            })
            .await;
            return Ok(serde_json::to_value(response)?);
        }
        if let Some(method) = payload.pointer("/requestContext/http/method").and_then(serde_json::Value::as_str) {
            let token =
                payload.pointer("/queryStringParameters/token").and_then(serde_json::Value::as_str).unwrap_or("");
            return Ok(self.unsubscribe(method, token, now).await);
        }
        let now = crate::app::schedule::scheduled_now(&payload, now)?;
        let ports = crate::app::playbooks::sweep::PlaybookPorts {
            lister: &self.store,
            accounts: &self.store,
            outbox: &self.outbox,
            email: Some(&self.email),
            inapp: &self.inapp,
            tokens: &self.tokens,
            public_url: &self.public_url,
        };
        let summary = crate::app::playbooks::sweep::sweep(&ports, &self.settings, now).await?;
        Ok(serde_json::json!({ "summary": summary }))
    }

    /// The HTTP API's answer (payload format 2.0) to `GET`/`POST /unsubscribe?token=`.
    async fn unsubscribe(&self, method: &str, token: &str, now: i64) -> serde_json::Value {
        let answer = |status: u16, content_type: &str, body: String| serde_json::json!({"statusCode": status, "headers": {"content-type": content_type}, "body": body});
        let json_error = |status: u16, message: String| {
            answer(status, "application/json", serde_json::json!({"error": message}).to_string())
        };
        let (account_id, contact_key) = match self.tokens.verify(token) {
            Ok(named) => named,
            Err(e) => return json_error(400, e.to_string()),
        };
        if method.eq_ignore_ascii_case("GET") {
            return answer(200, "text/html; charset=utf-8", crate::app::playbooks::unsubscribe::page(token));
        }
        match crate::app::playbooks::sweep::unsubscribe(&self.store, &account_id, &contact_key, now).await {
            Ok(true) => answer(200, "application/json", serde_json::json!({"unsubscribed": true}).to_string()),
            Ok(false) => json_error(400, "the unsubscribe token names no known contact".into()),
            Err(e) => {
                tracing::error!(error = %e, "unsubscribe not recorded");
                json_error(500, "internal error".into())
            }
        }
    }
}
