//! The dispatcher: one notification from the queue → its effects, each exactly once: a Slack
//! message (channel routed by touch tier and alert kind) and, for high- and low-touch accounts
//! on the kinds that call for work, a CRM task (HubSpot or Salesforce).
//!
//! Exactly-once effect on at-least-once delivery. Before a remote call the effect is recorded
//! as `attempting` in the outbox; after it, as `sent` with the remote id (a conditional write:
//! never over a `sent`). A redelivered message whose effects are sent is acknowledged without a
//! call. A crash between the remote call and the `sent` write leaves `attempting`: for a CRM
//! task the retry looks the task up (by the reference token in its subject) before creating it
//! again. Slack has no such lookup: a crash in that window (after Slack answered, before the
//! write) posts the message a second time — the residual risk, a window of one DynamoDB write.
//!
//! Failures: a rate limit returns the message to the queue after `Retry-After` (a visibility
//! change, not a sleeping function); a transient error is retried with backoff by the same
//! means; a permanent one (Slack `channel_not_found`, a CRM validation error) is dead-lettered
//! with its reason and acknowledged. SQS's redrive policy moves what keeps failing to the DLQ.

pub mod picklists;
pub mod routes;
pub mod task;

use crate::app::ports::delivery::{CrmPort, DeliveryError, SlackPort};
use crate::app::ports::outbox::{DeliveryLog, EffectState, EffectStatus, NotificationStatus, Outbox};
use crate::app::ports::queue::{DeadLetters, QueueError, Redelivery};
use crate::app::ports::store::StoreError;
use crate::domain::alert::Alert;
use crate::domain::time::{self, DAY};
use routes::DeliveryRoutes;

/// What the dispatcher has to deliver with.
pub struct DispatchPorts<'a> {
    pub outbox: &'a dyn Outbox,
    pub log: &'a dyn DeliveryLog,
    pub slack: Option<&'a dyn SlackPort>,
    pub crm: Option<&'a dyn CrmPort>,
    pub dead_letters: &'a dyn DeadLetters,
    pub redelivery: &'a dyn Redelivery,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("the message is not an alert: {0}")]
    Malformed(String),
}

/// What became of one message.
#[derive(Clone, Debug, PartialEq)]
pub enum Dispatched {
    /// Every effect is sent now or was before.
    Delivered { sent_now: Vec<String> },
    /// Nothing to do: every effect was sent earlier (a redelivery).
    AlreadySent,
    /// An effect failed for good: parked in the dead-letter queue with the reason.
    DeadLettered { reason: String },
    /// Try the message again later (it was returned to the queue after `seconds`).
    RetryLater { seconds: u64, reason: String },
}

impl Dispatched {
    /// Whether SQS should deliver the message again (a batch item failure).
    pub fn is_failure(&self) -> bool {
        matches!(self, Dispatched::RetryLater { .. })
    }
}

/// Backoff for transient errors: 10 s doubled per receive, at most 15 minutes.
pub fn backoff_seconds(receive_count: u32) -> u64 {
    (10u64 << receive_count.saturating_sub(1).min(10)).min(900)
}

/// One effect to produce.
enum Effect {
    Slack,
    Task,
}

/// Delivers one notification. `receipt_handle` is the SQS message's (for the visibility change
/// of a retry); `receive_count` its `ApproximateReceiveCount`.
pub async fn dispatch(
    alert: &Alert,
    receipt_handle: Option<&str>,
    receive_count: u32,
    ports: &DispatchPorts<'_>,
    routes: &DeliveryRoutes,
    now: i64,
) -> Result<Dispatched, DispatchError> {
    let key = &alert.dedupe_key;
    let entry = match ports.log.notification(key).await? {
        Some(entry) => entry,
        None => {
            // Expired from the outbox or written by another deployment: record it first, so
            // the effects below have somewhere to be recorded.
            ports.outbox.record(alert, now).await?;
            ports.log.notification(key).await?.ok_or_else(|| DispatchError::Malformed(format!("{key} not recorded")))?
        }
    };
    if entry.status == NotificationStatus::Sent {
        return Ok(Dispatched::AlreadySent);
    }
    let mut effects = Vec::new();
    if ports.slack.is_some() {
        effects.push(Effect::Slack);
    }
    if ports.crm.is_some() && routes.wants_task(alert) {
        effects.push(Effect::Task);
    }
    let mut sent_now = Vec::new();
    let mut failed = None;
    for effect in effects {
        let name = match effect {
            Effect::Slack => "slack",
            Effect::Task => ports.crm.map(|c| c.name()).unwrap_or("crm"),
        };
        let before = entry.effects.get(name);
        if before.is_some_and(EffectState::is_sent) {
            continue;
        }
        let attempts = before.map_or(0, |s| s.attempts) + 1;
        let task = match effect {
            Effect::Task => Some(task::crm_task(alert, time::date(now + routes.task_due_days * DAY))),
            Effect::Slack => None,
        };
        // A CRM task attempted before may exist already: find it before creating another.
        if let (Some(task), Some(crm), Some(EffectStatus::Attempting)) = (&task, ports.crm, before.map(|s| s.status)) {
            match crm.find_task(task).await {
                Ok(Some(found)) => {
                    record(ports.log, key, name, EffectStatus::Sent, attempts, Some(found.remote_id), None, now)
                        .await?;
                    sent_now.push(name.to_owned());
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    return retry_or_park(alert, name, attempts, e, receipt_handle, receive_count, ports, now).await
                }
            }
        }
        if !record(ports.log, key, name, EffectStatus::Attempting, attempts, None, None, now).await? {
            continue; // sent by a concurrent delivery of the same message
        }
        let result = match (&task, ports.slack, ports.crm) {
            (None, Some(slack), _) => slack.post_alert(routes.channel(alert), alert).await,
            (Some(task), _, Some(crm)) => crm.create_task(task).await,
            _ => continue,
        };
        match result {
            Ok(done) => {
                record(ports.log, key, name, EffectStatus::Sent, attempts, Some(done.remote_id), None, now).await?;
                sent_now.push(name.to_owned());
            }
            Err(DeliveryError::Permanent(reason)) => {
                record(ports.log, key, name, EffectStatus::Failed, attempts, None, Some(reason.clone()), now).await?;
                failed = Some(format!("{name}: {reason}"));
            }
            Err(e) => return retry_or_park(alert, name, attempts, e, receipt_handle, receive_count, ports, now).await,
        }
    }
    if let Some(reason) = failed {
        ports.dead_letters.dead_letter(alert, &reason).await?;
        ports.log.finish(key, NotificationStatus::Failed).await?;
        return Ok(Dispatched::DeadLettered { reason });
    }
    ports.log.finish(key, NotificationStatus::Sent).await?;
    Ok(if sent_now.is_empty() && !entry.effects.is_empty() {
        Dispatched::AlreadySent
    } else {
        Dispatched::Delivered { sent_now }
    })
}

#[allow(clippy::too_many_arguments)]
async fn record(
    log: &dyn DeliveryLog,
    key: &str,
    effect: &str,
    status: EffectStatus,
    attempts: u32,
    remote_id: Option<String>,
    reason: Option<String>,
    now: i64,
) -> Result<bool, StoreError> {
    let state = EffectState { status, remote_id, attempts, reason, at: time::at(now) };
    log.record_effect(key, effect, &state).await
}

/// A retryable failure: note it on the effect and return the message to the queue later.
#[allow(clippy::too_many_arguments)]
async fn retry_or_park(
    alert: &Alert,
    effect: &str,
    attempts: u32,
    error: DeliveryError,
    receipt_handle: Option<&str>,
    receive_count: u32,
    ports: &DispatchPorts<'_>,
    now: i64,
) -> Result<Dispatched, DispatchError> {
    let (seconds, reason) = match &error {
        DeliveryError::RetryAfter { seconds, .. } => (*seconds, error.to_string()),
        other => (backoff_seconds(receive_count), other.to_string()),
    };
    let reason = format!("{effect}: {reason}");
    record(ports.log, &alert.dedupe_key, effect, EffectStatus::Attempting, attempts, None, Some(reason.clone()), now)
        .await?;
    if let Some(handle) = receipt_handle {
        ports.redelivery.retry_after(handle, seconds).await?;
    }
    Ok(Dispatched::RetryLater { seconds, reason })
}

/// The alert a queue message carries.
pub fn alert_of(body: &str) -> Result<Alert, DispatchError> {
    serde_json::from_str(body).map_err(|e| DispatchError::Malformed(e.to_string()))
}

/// One received SQS message, as the dispatcher needs it.
pub struct QueueMessage<'a> {
    pub id: &'a str,
    pub body: &'a str,
    pub receipt_handle: Option<&'a str>,
    /// `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
}

/// What a batch did: the ids of the messages SQS should deliver again (the function's
/// `batchItemFailures`) and the outcome of each message that was dispatched.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchDispatched {
    pub failed: Vec<String>,
    pub outcomes: Vec<Dispatched>,
}

/// Dispatches a batch in order; see [`BatchDispatched`]. The notifications queue is FIFO: after the first
/// failure the rest of the batch is returned unprocessed, so one account's alerts keep their
/// order. A message that is not an alert fails, and the redrive policy parks it in the DLQ.
///
/// `keep_going` is asked before each message: a function near its deadline returns the rest
/// unprocessed rather than being killed in the middle of one.
pub async fn dispatch_batch(
    messages: &[QueueMessage<'_>],
    ports: &DispatchPorts<'_>,
    routes: &DeliveryRoutes,
    now: i64,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
) -> BatchDispatched {
    tracing::info!(messages = messages.len(), "notification batch");
    let mut failed = Vec::new();
    let mut outcomes = Vec::new();
    for message in messages {
        if !failed.is_empty() || !keep_going() {
            failed.push(message.id.to_owned());
            continue;
        }
        let outcome = match alert_of(message.body) {
            Ok(alert) => dispatch(&alert, message.receipt_handle, message.receive_count, ports, routes, now).await,
            Err(e) => Err(e),
        };
        if let Ok(done) = &outcome {
            outcomes.push(done.clone());
        }
        match outcome {
            Ok(done) if !done.is_failure() => {
                tracing::info!(message_id = message.id, outcome = ?done, "notification dispatched");
            }
            Ok(retry) => {
                tracing::warn!(message_id = message.id, outcome = ?retry, "notification returned to the queue");
                failed.push(message.id.to_owned());
            }
            Err(e) => {
                tracing::error!(message_id = message.id, error = %e, "notification not dispatched");
                failed.push(message.id.to_owned());
            }
        }
    }
    BatchDispatched { failed, outcomes }
}
