//! SQS adapter (AWS, or the moto server locally through `AWS_ENDPOINT_URL_SQS`).

use super::{deduplication_id, message_group, NotificationQueue, QueueError, SweepTaskQueue};
use crate::domain::alert::Alert;
use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageAttributeValue;
use aws_sdk_sqs::Client;

/// The message attribute that carries an alert's dedupe key (the dispatcher reads it).
pub const DEDUPE_KEY_ATTRIBUTE: &str = "dedupe_key";

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

    fn is_fifo(&self) -> bool {
        self.url.ends_with(".fifo")
    }
}

fn sqs_error(operation: &'static str, err: impl std::error::Error + Send + Sync + 'static) -> QueueError {
    QueueError::Sqs { operation, source: DisplayErrorContext(err).to_string().into() }
}

#[async_trait]
impl NotificationQueue for SqsQueue {
    async fn enqueue(&self, alert: &Alert) -> Result<(), QueueError> {
        let key = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(&alert.dedupe_key)
            .build()
            .map_err(|e| sqs_error("SendMessage", e))?;
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(serde_json::to_string(alert)?)
            .message_attributes(DEDUPE_KEY_ATTRIBUTE, key);
        if self.is_fifo() {
            send = send
                .message_deduplication_id(deduplication_id(&alert.dedupe_key))
                .message_group_id(message_group(&alert.account_id));
        }
        send.send().await.map_err(|e| sqs_error("SendMessage", e))?;
        Ok(())
    }
}

#[async_trait]
impl SweepTaskQueue for SqsQueue {
    async fn send_task(&self, task: &crate::sweep::SegmentTask) -> Result<(), QueueError> {
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
