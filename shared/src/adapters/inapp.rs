//! The product's in-app webhook: `POST` the message body as JSON with `Foresight-Signature`
//! (see [`crate::app::playbooks::inapp`]) and `Foresight-Key` (the outbox key, for the
//! receiver's dedupe). 2xx is delivered; 429 waits `Retry-After`; 5xx, 408 and network errors
//! are transient; 410 and other 4xx are permanent.

use super::http::{network_error, retry_after_seconds, snippet, status_error};
use crate::app::playbooks::inapp::signature_header;
use crate::app::ports::delivery::{Delivered, DeliveryError};
use crate::app::ports::email::{InAppMessage, InAppPort};
use async_trait::async_trait;

/// Posts in-app messages, signed with `FORESIGHT_SIGNING_SECRET`.
#[derive(Clone)]
pub struct InAppWebhook {
    client: reqwest::Client,
    secret: String,
}

impl InAppWebhook {
    pub fn new(client: reqwest::Client, secret: impl Into<String>) -> Self {
        InAppWebhook { client, secret: secret.into() }
    }
}

#[async_trait]
impl InAppPort for InAppWebhook {
    async fn post(&self, message: &InAppMessage, now: i64) -> Result<Delivered, DeliveryError> {
        let response = self
            .client
            .post(&message.url)
            .header("content-type", "application/json")
            .header("foresight-signature", signature_header(&self.secret, now, &message.body))
            .header("foresight-key", &message.key)
            .body(message.body.clone())
            .send()
            .await
            .map_err(|e| network_error("in-app webhook", e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(Delivered::new(format!("http {}", status.as_u16())));
        }
        let retry_after = retry_after_seconds(response.headers());
        let body = response.text().await.unwrap_or_default();
        if status.as_u16() == 429 {
            return Err(DeliveryError::RetryAfter { seconds: retry_after.unwrap_or(60), reason: snippet(&body) });
        }
        Err(status_error("in-app webhook", status, &body))
    }
}
