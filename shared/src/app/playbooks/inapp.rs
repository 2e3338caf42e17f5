//! In-app messages: a signed POST to the product (`Foresight-Signature: t=<unix>,v1=<hex>`,
//! HMAC-SHA256 over `"<t>.<body>"` — Stripe's scheme, so receivers reuse known code; vector in
//! `../shared/integrations.md`), delivered from the queue exactly once through the outbox:
//! recorded `attempting` before the POST, `sent` after; a 5xx, 408 or network error returns the
//! message to the queue with backoff, a 429 after its `Retry-After`; a 410 (the product removed
//! the endpoint) or another 4xx is dead-lettered with the reason and never retried. Crash window
//! as for Slack: after the product answered and before the `sent` write, the retry posts again —
//! the receiver dedupes on the `Foresight-Key` header.

use super::sweep::PlaybookError;
use crate::app::dispatch::{backoff_seconds, Dispatched};
use crate::app::ports::delivery::DeliveryError;
use crate::app::ports::email::{InAppMessage, InAppPort};
use crate::app::ports::outbox::{EffectState, EffectStatus, NotificationStatus};
use crate::app::ports::portfolio::ReportOutbox;
use crate::app::ports::queue::{QueueError, Redelivery};
use crate::domain::time;
use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The `Foresight-Signature` header of `body` signed at `t`.
pub fn signature_header(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Parks an in-app message that can never be delivered as it is, with the reason.
#[async_trait]
pub trait InAppDeadLetters: Send + Sync {
    async fn dead_letter_inapp(&self, message: &InAppMessage, reason: &str) -> Result<(), QueueError>;
}

/// Delivers one queued in-app message. `receipt_handle` and `receive_count` as for the
/// dispatcher.
#[allow(clippy::too_many_arguments)]
pub async fn deliver(
    message: &InAppMessage,
    receipt_handle: Option<&str>,
    receive_count: u32,
    port: &dyn InAppPort,
    outbox: &dyn ReportOutbox,
    dead_letters: &dyn InAppDeadLetters,
    redelivery: &dyn Redelivery,
    now: i64,
) -> Result<Dispatched, PlaybookError> {
    let view = serde_json::json!({"channel": "webhook", "url": message.url, "body": message.body});
    let record = outbox.record_report(&message.key, &view, now).await?;
    let before = record.effects.get("webhook");
    if record.status.is_done() || before.is_some_and(EffectState::is_sent) {
        return Ok(Dispatched::AlreadySent);
    }
    let attempts = before.map_or(0, |s| s.attempts) + 1;
    let state = |status, remote_id, reason| EffectState { status, remote_id, attempts, reason, at: time::at(now) };
    if !outbox.record_report_effect(&message.key, "webhook", &state(EffectStatus::Attempting, None, None)).await? {
        return Ok(Dispatched::AlreadySent);
    }
    match port.post(message, now).await {
        Ok(done) => {
            outbox
                .record_report_effect(&message.key, "webhook", &state(EffectStatus::Sent, Some(done.remote_id), None))
                .await?;
            outbox.finish_report(&message.key, NotificationStatus::Sent).await?;
            Ok(Dispatched::Delivered { sent_now: vec!["webhook".into()] })
        }
        Err(DeliveryError::Permanent(reason)) => {
            let reason = format!("webhook: {reason}");
            outbox
                .record_report_effect(&message.key, "webhook", &state(EffectStatus::Failed, None, Some(reason.clone())))
                .await?;
            dead_letters.dead_letter_inapp(message, &reason).await?;
            outbox.finish_report(&message.key, NotificationStatus::Failed).await?;
            Ok(Dispatched::DeadLettered { reason })
        }
        Err(error) => {
            let seconds = match &error {
                DeliveryError::RetryAfter { seconds, .. } => *seconds,
                _ => backoff_seconds(receive_count),
            };
            let reason = format!("webhook: {error}");
            outbox
                .record_report_effect(
                    &message.key,
                    "webhook",
                    &state(EffectStatus::Attempting, None, Some(reason.clone())),
                )
                .await?;
            if let Some(handle) = receipt_handle {
                redelivery.retry_after(handle, seconds).await?;
            }
            Ok(Dispatched::RetryLater { seconds, reason })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_signature_matches_the_documented_vector() {
        let header = super::signature_header(
            "fs_out_secret",
            1_800_000_000,
            r#"{"type":"playbook.action","account_id":"acct_1"}"#,
        );
        assert_eq!(header, "t=1800000000,v1=df4b55e21328e28d236c3f65dd64b6724c1f50cd1ba15fa4356c097a9a1d15e0");
    }
}
