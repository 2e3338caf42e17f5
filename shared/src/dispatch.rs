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

use crate::delivery::{self, CrmTask, Delivered, DeliveryError, SlackMessage};
use crate::domain::account::rfc3339;
use crate::domain::alert::{Alert, AlertKind};
use crate::domain::Segment;
use crate::outbox::{DeliveryLog, EffectState, EffectStatus, Outbox, OutboxEntry};
use crate::queue::{DeadLetters, QueueError, Redelivery};
use crate::store::StoreError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const DAY: i64 = 86_400;

/// Posts a Slack message: `chat.postMessage` to a channel, or an incoming webhook (whose
/// channel is fixed when the webhook is created, so `channel` is ignored).
#[async_trait]
pub trait SlackPort: Send + Sync {
    async fn post(&self, channel: &str, message: &SlackMessage) -> Result<Delivered, DeliveryError>;
}

#[async_trait]
impl SlackPort for delivery::SlackApi {
    async fn post(&self, channel: &str, message: &SlackMessage) -> Result<Delivered, DeliveryError> {
        self.post_message(channel, message).await
    }
}

#[async_trait]
impl SlackPort for delivery::SlackWebhook {
    async fn post(&self, _channel: &str, message: &SlackMessage) -> Result<Delivered, DeliveryError> {
        delivery::SlackWebhook::post(self, message).await
    }
}

/// Creates CRM tasks, and finds one created before a crash.
#[async_trait]
pub trait CrmPort: Send + Sync {
    /// The effect's name in the outbox (`hubspot`, `salesforce`).
    fn name(&self) -> &'static str;
    async fn find_task(&self, task: &CrmTask) -> Result<Option<Delivered>, DeliveryError>;
    async fn create_task(&self, task: &CrmTask) -> Result<Delivered, DeliveryError>;
}

#[async_trait]
impl CrmPort for delivery::HubSpot {
    fn name(&self) -> &'static str {
        "hubspot"
    }
    async fn find_task(&self, task: &CrmTask) -> Result<Option<Delivered>, DeliveryError> {
        delivery::HubSpot::find_task(self, task).await
    }
    async fn create_task(&self, task: &CrmTask) -> Result<Delivered, DeliveryError> {
        delivery::HubSpot::create_task(self, task).await
    }
}

#[async_trait]
impl CrmPort for delivery::Salesforce {
    fn name(&self) -> &'static str {
        "salesforce"
    }
    async fn find_task(&self, task: &CrmTask) -> Result<Option<Delivered>, DeliveryError> {
        delivery::Salesforce::find_task(self, task).await
    }
    async fn create_task(&self, task: &CrmTask) -> Result<Delivered, DeliveryError> {
        delivery::Salesforce::create_task(self, task).await
    }
}

/// Where notifications go (`[delivery]` in `foresight.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryRoutes {
    /// The Slack channel when no rule below names one.
    pub default_channel: String,
    /// Channel per touch tier (`high_touch`, `low_touch`, `tech_touch`).
    pub tier_channels: BTreeMap<String, String>,
    /// Channel per alert kind (e.g. `expansion = "#cs-expansion"`); wins over the tier.
    pub kind_channels: BTreeMap<String, String>,
    /// Alert kinds that also create a CRM task for high- and low-touch accounts.
    pub task_kinds: Vec<String>,
    /// Days from the alert to the task's due date.
    pub task_due_days: i64,
}

impl Default for DeliveryRoutes {
    fn default() -> Self {
        DeliveryRoutes {
            default_channel: "#customer-success".into(),
            tier_channels: BTreeMap::new(),
            kind_channels: BTreeMap::new(),
            task_kinds: [
                "renewal",
                "payment_failed",
                "cancel_at_period_end",
                "band_drop",
                "onboarding_stalled",
                "expansion",
            ]
            .map(String::from)
            .to_vec(),
            task_due_days: 2,
        }
    }
}

impl DeliveryRoutes {
    /// The Slack channel of an alert: by kind, else by tier, else the default.
    pub fn channel(&self, alert: &Alert) -> &str {
        self.kind_channels
            .get(alert.kind.as_str())
            .or_else(|| self.tier_channels.get(tier_name(alert.tier)))
            .unwrap_or(&self.default_channel)
    }

    /// Whether the alert also becomes a CRM task: high- and low-touch accounts, listed kinds.
    pub fn wants_task(&self, alert: &Alert) -> bool {
        matches!(alert.tier, Segment::HighTouch | Segment::LowTouch)
            && self.task_kinds.iter().any(|k| k == alert.kind.as_str())
    }
}

fn tier_name(tier: Segment) -> &'static str {
    match tier {
        Segment::HighTouch => "high_touch",
        Segment::LowTouch => "low_touch",
        _ => "tech_touch",
    }
}

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
    if entry.status == "sent" {
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
            Effect::Task => Some(delivery::crm_task(alert, due_day(now + routes.task_due_days * DAY))),
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
            (None, Some(slack), _) => slack.post(routes.channel(alert), &delivery::slack::message(alert)).await,
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
        ports.log.finish(key, "failed").await?;
        return Ok(Dispatched::DeadLettered { reason });
    }
    ports.log.finish(key, "sent").await?;
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
    let state = EffectState { status, remote_id, attempts, reason, at: rfc3339(now) };
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

fn due_day(at: i64) -> chrono::NaiveDate {
    chrono::DateTime::from_timestamp(at, 0).map(|t| t.date_naive()).unwrap_or_default()
}

/// The alert a queue message carries.
pub fn alert_of(body: &str) -> Result<Alert, DispatchError> {
    serde_json::from_str(body).map_err(|e| DispatchError::Malformed(e.to_string()))
}

/// Whether a notification has nothing left to do (used by `GET /outbox` readers and tests).
pub fn is_done(entry: &OutboxEntry) -> bool {
    entry.status != "pending"
}

/// A kind by name, for configuration checks.
pub fn known_kind(name: &str) -> bool {
    [
        AlertKind::BandDrop,
        AlertKind::ScoreFall,
        AlertKind::PaymentFailed,
        AlertKind::CancelAtPeriodEnd,
        AlertKind::UrgentTickets,
        AlertKind::UsageDrop,
        AlertKind::OnboardingStalled,
        AlertKind::Expansion,
        AlertKind::Renewal,
    ]
    .iter()
    .any(|k| k.as_str() == name)
}

/// One received SQS message, as the dispatcher needs it.
pub struct QueueMessage<'a> {
    pub id: &'a str,
    pub body: &'a str,
    pub receipt_handle: Option<&'a str>,
    /// `ApproximateReceiveCount` (1 on the first delivery).
    pub receive_count: u32,
}

/// Dispatches a batch in order and returns the ids of the messages SQS should deliver again
/// (the function's `batchItemFailures`). The notifications queue is FIFO: after the first
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
) -> Vec<String> {
    tracing::info!(messages = messages.len(), cold_start = crate::telemetry::cold_start(), "notification batch");
    let mut failed = Vec::new();
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
            count(done);
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
    failed
}

/// EMF counts of a dispatch outcome, by channel (`slack`, `hubspot`, `salesforce`).
fn count(outcome: &Dispatched) {
    let channel_of = |reason: &str| reason.split(':').next().unwrap_or("unknown").to_owned();
    let (channels, metric) = match outcome {
        Dispatched::Delivered { sent_now } => (sent_now.clone(), "NotificationsSent"),
        Dispatched::DeadLettered { reason } => (vec![channel_of(reason)], "NotificationsFailed"),
        Dispatched::RetryLater { reason, .. } => (vec![channel_of(reason)], "NotificationsRetried"),
        Dispatched::AlreadySent => (Vec::new(), ""),
    };
    for channel in channels {
        crate::metrics::emit(&[("Channel", &channel)], &[(metric, 1.0)], &[]);
    }
}
