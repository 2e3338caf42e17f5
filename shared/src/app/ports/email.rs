//! Playbook delivery ports: an email to one contact ([`EmailPort`], SES v2 in production, moto
//! locally) and a signed in-app webhook to the product ([`InAppPort`], queued like Slack through
//! [`InAppQueue`]). The outcome vocabulary is the dispatcher's ([`Delivered`], [`DeliveryError`]).

use super::delivery::{Delivered, DeliveryError};
use super::queue::QueueError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One email, as the adapter turns it into a MIME message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutgoingEmail {
    /// `Name <address>` or an address: a verified identity.
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub locale: String,
    /// The one-click unsubscribe URL (`List-Unsubscribe`, with `List-Unsubscribe-Post`).
    pub unsubscribe_url: String,
    /// Names the email for the outbox (the adapter may put it in a header for tracing).
    pub reference: String,
}

/// Sends emails and answers whether the provider suppresses an address.
#[async_trait]
pub trait EmailPort: Send + Sync {
    /// Sends; the remote id is the provider's message id.
    async fn send(&self, email: &OutgoingEmail) -> Result<Delivered, DeliveryError>;
    /// Whether the address is on the provider's suppression list (bounced or complained).
    async fn is_suppressed(&self, address: &str) -> Result<bool, DeliveryError>;
}

/// One in-app message: the JSON body POSTed (signed) to the product.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InAppMessage {
    /// The outbox key: one delivery per key.
    pub key: String,
    pub url: String,
    pub body: String,
}

/// POSTs in-app messages (signed with `Foresight-Signature`).
#[async_trait]
pub trait InAppPort: Send + Sync {
    async fn post(&self, message: &InAppMessage, now: i64) -> Result<Delivered, DeliveryError>;
}

/// Queues in-app messages for delivery with retries.
#[async_trait]
pub trait InAppQueue: Send + Sync {
    async fn enqueue_inapp(&self, message: &InAppMessage) -> Result<(), QueueError>;
}
