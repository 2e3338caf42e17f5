//! SQS adapter (AWS, or the moto server locally through `AWS_ENDPOINT_URL_SQS`).

use crate::app::ports::queue::{
    deduplication_id, message_group, DeadLetters, NotificationQueue, QueueError, Redelivery, SegmentTask,
    SweepTaskQueue,
};
use crate::domain::alert::Alert;
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;

/// The message attribute that carries an alert's dedupe key (the dispatcher reads it).
pub const DEDUPE_KEY_ATTRIBUTE: &str = "dedupe_key";

/// A message received by [`SqsQueue::receive`].
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    pub id: String,
    pub body: String,
    pub receipt_handle: String,
    pub receive_count: u32,
}
/// On a dead-lettered message: why it could not be delivered.
pub const REASON_ATTRIBUTE: &str = "reason";
/// SQS's longest visibility timeout.
const MAX_VISIBILITY_SECONDS: u64 = 12 * 3600;

#[derive(Clone)]
pub struct SqsQueue {
    client: Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: Client, url: impl Into<String>) -> Self {
        SqsQueue { client, url: url.into() }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    fn is_fifo(&self) -> bool {
        self.url.ends_with(".fifo")
    }
}

fn sqs_error(operation: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> QueueError {
    QueueError::Sqs { operation, source: DisplayErrorContext(err).to_string().into() }
}

fn text_attribute(value: &str) -> Result<MessageAttributeValue, QueueError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| sqs_error("SendMessage", e))
}

impl SqsQueue {
    async fn send_alert(&self, alert: &Alert, reason: Option<&str>, deduplication: String) -> Result<(), QueueError> {
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(alert)?)
            .message_attributes(DEDUPE_KEY_ATTRIBUTE, text_attribute(&alert.dedupe_key)?);
        if let Some(reason) = reason {
            send = send.message_attributes(REASON_ATTRIBUTE, text_attribute(reason)?);
        }
        if self.is_fifo() {
            send = send.message_deduplication_id(deduplication).message_group_id(message_group(&alert.account_id));
        }
        send.send().await.map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }

    /// Receives up to 10 messages, waiting up to `wait_seconds` for the first (long polling):
    /// the local runner's consumer loop; on AWS the Lambda event source mapping does this.
    pub async fn receive(&self, wait_seconds: i32) -> Result<Vec<ReceivedMessage>, QueueError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sqs_error("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| ReceivedMessage {
                id: m.message_id().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
            })
            .collect())
    }

    /// Deletes a handled message (what Lambda does for a batch's successful messages).
    pub async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .send()
            .await
            .map_err(|e| sqs_error("DeleteMessage", e))?;
        Ok(())
    }

    /// Moves every message of this queue (a dead-letter queue) to `target`, and returns how many:
    /// the redrive after a person fixed the cause. Each message is deleted only once sent on.
    pub async fn redrive_to(&self, target: &SqsQueue) -> Result<usize, QueueError> {
        let mut moved = 0;
        loop {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .send()
                .await
                .map_err(|e| sqs_error("ReceiveMessage", e))?;
            if out.messages().is_empty() {
                return Ok(moved);
            }
            for message in out.messages() {
                let alert: Alert = serde_json::from_str(message.body().unwrap_or_default())?;
                // A fresh deduplication id: the original one may still be inside SQS's window.
                let redrive = format!("{}#redrive#{}", alert.dedupe_key, message.message_id().unwrap_or_default());
                target.send_alert(&alert, None, deduplication_id(&redrive)).await?;
                if let Some(handle) = message.receipt_handle() {
                    self.client
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(|e| sqs_error("DeleteMessage", e))?;
                }
                moved += 1;
            }
        }
    }
}

#[async_trait]
impl Redelivery for SqsQueue {
    async fn retry_after(&self, receipt_handle: &str, seconds: u64) -> Result<(), QueueError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds.min(MAX_VISIBILITY_SECONDS) as i32)
            .send()
            .await
            .map_err(|e| sqs_error("ChangeMessageVisibility", e))?;
        Ok(())
    }
}

#[async_trait]
impl DeadLetters for SqsQueue {
    async fn dead_letter(&self, alert: &Alert, reason: &str) -> Result<(), QueueError> {
        // Kept readable and well inside SQS's 256 KB message limit.
        let reason: String = reason.chars().take(1000).collect();
        self.send_alert(alert, Some(&reason), deduplication_id(&alert.dedupe_key)).await
    }
}

#[async_trait]
impl NotificationQueue for SqsQueue {
    async fn enqueue(&self, alert: &Alert) -> Result<(), QueueError> {
        self.send_alert(alert, None, deduplication_id(&alert.dedupe_key)).await
    }
}

#[async_trait]
impl SweepTaskQueue for SqsQueue {
    async fn send_task(&self, task: &SegmentTask) -> Result<(), QueueError> {
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(task)?)
            .send()
            .await
            .map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }
}

impl SqsQueue {
    /// An in-app message as JSON; a dead letter carries its reason as an attribute.
    async fn send_inapp(
        &self,
        message: &crate::app::ports::email::InAppMessage,
        reason: Option<&str>,
    ) -> Result<(), QueueError> {
        let mut send = self.client.send_message().queue_url(&self.url).message_body(serde_json::to_string(message)?);
        if let Some(reason) = reason {
            // Kept readable and well inside SQS's 256 KB message limit.
            let reason: String = reason.chars().take(1000).collect();
            send = send.message_attributes(REASON_ATTRIBUTE, text_attribute(&reason)?);
        }
        send.send().await.map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }
}

/// The in-app message queue (a standard queue; the outbox keeps delivery exactly once).
#[async_trait]
impl crate::app::ports::email::InAppQueue for SqsQueue {
    async fn enqueue_inapp(&self, message: &crate::app::ports::email::InAppMessage) -> Result<(), QueueError> {
        self.send_inapp(message, None).await
    }
}

/// The in-app dead-letter queue: the message with its reason as an attribute.
#[async_trait]
impl crate::app::playbooks::inapp::InAppDeadLetters for SqsQueue {
    async fn dead_letter_inapp(
        &self,
        message: &crate::app::ports::email::InAppMessage,
        reason: &str,
    ) -> Result<(), QueueError> {
        self.send_inapp(message, Some(reason)).await
    }
}
