//! Raising alerts: record in the outbox first, then enqueue. A crash between the two leaves a
//! pending record that the next attempt enqueues again; a second attempt after delivery does
//! nothing. Callers then remember the raised key on the account (`al#` facts), so later sweeps
//! skip it without touching the outbox.

use crate::app::ports::outbox::{Outbox, Recorded};
use crate::app::ports::queue::{NotificationQueue, QueueError};
use crate::app::ports::store::{AccountStore, StoreError};
use crate::app::settings::Settings;
use crate::domain::alert::{self, Alert, HealthFacts, RAISED};
use crate::domain::change::AccountChange;
use crate::domain::health;

/// A pending alert no dispatcher has seen this long after it was recorded lost its enqueue
/// (the queue was down, or the process stopped between the two writes): the next sweep
/// enqueues it again. Longer than a queued alert normally waits for the dispatcher.
pub const RESEND_UNSENT_AFTER: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
}

/// Records and enqueues one alert. Returns whether the outbox had not seen its key before.
pub async fn raise(
    outbox: &dyn Outbox,
    queue: &dyn NotificationQueue,
    alert: &Alert,
    now: i64,
) -> Result<bool, AlertError> {
    let recorded = outbox.record(alert, now).await?;
    if recorded != Recorded::Delivered {
        queue.enqueue(alert).await?;
    }
    if recorded == Recorded::New {
        tracing::info!(dedupe_key = %alert.dedupe_key, kind = alert.kind.as_str(), account_id = %alert.account_id, "alert raised");
    }
    Ok(recorded == Recorded::New)
}

/// The ingest side: after an event is stored, raises what it makes known at once (payment
/// failed, cancel at period end, a detractor's survey answer) without waiting for the sweep, and marks the account so the
/// sweep does not raise them again. Returns the dedupe keys raised.
pub async fn raise_event_alerts(
    accounts: &dyn AccountStore,
    outbox: &dyn Outbox,
    queue: &dyn NotificationQueue,
    settings: &Settings,
    account_id: &str,
    raised_by: &str,
    now: i64,
) -> Result<Vec<String>, AlertError> {
    let Some(stored) = accounts.get(account_id).await? else { return Ok(Vec::new()) };
    let record = settings.record(&stored, now);
    let raised = alert::raised_alerts(&stored.attributes);
    let due = alert::due(alert::event_signals(&record, now), &raised, &settings.alerts, now);
    if due.is_empty() {
        return Ok(Vec::new());
    }
    // The score at this moment (the event just changed it), with its trend against the day's
    // score a week ago: never "not scored yet", never yesterday's number.
    let scored = health::score(&record, &settings.model_for(record.segment), now);
    let change_7d = stored.score_days_before(now, 7).map(|before| scored.score - before);
    let health = HealthFacts::scored(&scored, change_7d);
    let mut mark = AccountChange::new(account_id);
    let mut keys = Vec::new();
    for signal in &due {
        let alert = alert::alert(&record, signal, &health, &settings.alerts, raised_by, now);
        raise(outbox, queue, &alert, now).await?;
        mark = mark.with_fact(format!("{RAISED}{}", signal.local_key()), serde_json::json!(now));
        keys.push(alert.dedupe_key);
    }
    accounts.apply(&mark).await?;
    Ok(keys)
}

/// Enqueues again every alert the outbox holds as pending and unseen by any dispatcher since
/// [`RESEND_UNSENT_AFTER`] before `now`: an alert whose event or sweep will not come back to it
/// (its signal cleared, its sender gave up) is still delivered. A duplicate enqueue is harmless
/// (the FIFO queue drops it within five minutes; the dispatcher's pending → sent write after).
/// Returns the dedupe keys enqueued.
pub async fn resend_unsent(
    outbox: &dyn Outbox,
    queue: &dyn NotificationQueue,
    now: i64,
) -> Result<Vec<String>, AlertError> {
    let unsent = outbox.unsent(now - RESEND_UNSENT_AFTER).await?;
    let mut keys = Vec::with_capacity(unsent.len());
    for entry in &unsent {
        queue.enqueue(&entry.alert).await?;
        tracing::warn!(dedupe_key = %entry.dedupe_key, created_at = %entry.created_at, "unsent alert enqueued again");
        keys.push(entry.dedupe_key.clone());
    }
    Ok(keys)
}
