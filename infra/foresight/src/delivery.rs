//! The runner's delivery: when Slack or a CRM is configured (`SLACK_BOT_TOKEN`,
//! `SLACK_WEBHOOK_URL`, `HUBSPOT_TOKEN`, `SALESFORCE_*`, base URLs overridable per the local-API
//! contract), a background task consumes the notifications queue and runs the same dispatcher as
//! the `dispatcher` Lambda function. With the SQS emulator (`FORESIGHT_NOTIFICATIONS_QUEUE_URL`)
//! it long-polls the queue and deletes what was handled, as Lambda's event source mapping does;
//! with the in-memory queue it takes what was enqueued. Nothing configured: notifications stay
//! in `GET /outbox`.

use foresight_shared::adapters::memory::MemoryQueue;
use foresight_shared::adapters::sqs::SqsQueue;
use foresight_shared::app::dispatch::{self, routes::DeliveryRoutes, DispatchPorts, QueueMessage};
use foresight_shared::app::ports::outbox::{DeliveryLog, Outbox};
use foresight_shared::app::ports::queue::{DeadLetters, QueueError, Redelivery};
use foresight_shared::runtime::clock::unix_now;
use foresight_shared::runtime::delivery::DeliveryChannels;
use std::sync::Arc;
use std::time::Duration;

/// What the consumer delivers with.
pub struct LocalDelivery {
    pub outbox: Arc<dyn Outbox>,
    pub log: Arc<dyn DeliveryLog>,
    pub channels: DeliveryChannels,
    pub routes: DeliveryRoutes,
    pub dead_letters: Arc<dyn DeadLetters>,
}

impl LocalDelivery {
    fn ports<'a>(&'a self, redelivery: &'a dyn Redelivery) -> DispatchPorts<'a> {
        DispatchPorts {
            outbox: self.outbox.as_ref(),
            log: self.log.as_ref(),
            slack: self.channels.slack.as_deref(),
            crm: self.channels.crm.as_deref(),
            dead_letters: self.dead_letters.as_ref(),
            redelivery,
        }
    }
}

/// Consumes an SQS queue until the process ends: long polls of 1 s, the batch dispatched in
/// order, handled messages deleted, failed ones left to reappear (after their visibility delay).
pub fn consume_sqs(delivery: LocalDelivery, queue: SqsQueue) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let received = match queue.receive(1).await {
                Ok(received) => received,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot receive notifications; retrying in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if received.is_empty() {
                continue;
            }
            let messages: Vec<QueueMessage> = received
                .iter()
                .map(|m| QueueMessage {
                    id: &m.id,
                    body: &m.body,
                    receipt_handle: Some(&m.receipt_handle),
                    receive_count: m.receive_count,
                })
                .collect();
            let failed =
                dispatch::dispatch_batch(&messages, &delivery.ports(&queue), &delivery.routes, unix_now(), &|| true)
                    .await
                    .failed;
            for m in received.iter().filter(|m| !failed.contains(&m.id)) {
                if let Err(e) = queue.delete(&m.receipt_handle).await {
                    tracing::warn!(message_id = %m.id, error = %e, "cannot delete a handled notification");
                }
            }
        }
    })
}

/// Delays noted by the dispatcher for in-memory messages (no receipt handles to hide).
struct NoRedelivery;

#[async_trait::async_trait]
impl Redelivery for NoRedelivery {
    async fn retry_after(&self, _: &str, _: u64) -> Result<(), QueueError> {
        Ok(())
    }
}

/// Consumes the in-memory queue: every 50 ms, what was enqueued is dispatched; a message to
/// retry is tried again after its delay.
pub fn consume_memory(delivery: LocalDelivery, queue: Arc<MemoryQueue>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut waiting: Vec<(std::time::Instant, String)> = Vec::new();
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let now = std::time::Instant::now();
            let mut due: Vec<String> = queue.drain().into_iter().map(|v| v.to_string()).collect();
            let (ready, later): (Vec<_>, Vec<_>) = waiting.drain(..).partition(|(at, _)| *at <= now);
            waiting = later;
            due.extend(ready.into_iter().map(|(_, body)| body));
            for body in due {
                let outcome = match dispatch::alert_of(&body) {
                    Ok(alert) => {
                        dispatch::dispatch(
                            &alert,
                            None,
                            1,
                            &delivery.ports(&NoRedelivery),
                            &delivery.routes,
                            unix_now(),
                        )
                        .await
                    }
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(dispatch::Dispatched::RetryLater { seconds, reason }) => {
                        tracing::warn!(%reason, seconds, "notification will be retried");
                        waiting.push((now + Duration::from_secs(seconds), body));
                    }
                    Ok(done) => tracing::info!(outcome = ?done, "notification dispatched"),
                    Err(e) => tracing::error!(error = %e, "notification not dispatched"),
                }
            }
        }
    })
}
