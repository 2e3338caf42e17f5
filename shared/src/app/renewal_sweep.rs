//! The renewal sweep: once a day, alert the accounts that crossed a renewal window (90, 60, 30
//! days before their renewal date by default; `[renewal]` in `foresight.toml`).
//!
//! It never scans: for each window it queries the `renewals` index for the renewal times that
//! window's day covers (plus `catch_up_days` before it; see
//! [`crate::domain::renewal::index_ranges`]), re-reads each account found with one `GetItem`, and
//! decides on the record's current renewal date, so an index entry left stale by a date that
//! moved costs one read and never a wrong alert. The health sweep keeps the index (see
//! [`crate::app::ports::store::RENEWAL_KEY`]).
//!
//! Raising is the health sweep's: outbox first, then the queue ([`crate::app::alerts::raise`]), then
//! the `al#renewal/<window>d/<date>` mark on the account. A second run at the same `now` (a retry
//! of the scheduled run, or the runner's `POST /sweeps/renewal` twice) finds every mark and
//! raises and writes nothing; a crash between the raise and the mark is repaired by the retry
//! (the outbox refuses the key a second time).

use crate::app::alerts;
use crate::app::health_sweep::SweepError;
use crate::app::ports::outbox::Outbox;
use crate::app::ports::queue::NotificationQueue;
use crate::app::ports::store::{AccountStore, RenewalIndex};
use crate::app::settings::Settings;
use crate::domain::alert::{self, HealthFacts, RAISED};
use crate::domain::change::AccountChange;
use crate::domain::lifecycle::Lifecycle;
use crate::domain::renewal::{self, WindowRange};
use crate::domain::time::rfc3339;
use serde::Serialize;
use std::collections::BTreeSet;

/// Who raised a renewal alert.
pub const RAISED_BY: &str = "renewal-sweep";

/// What the renewal sweep needs.
pub struct RenewalPorts<'a> {
    pub index: &'a dyn RenewalIndex,
    /// Where the raised marks are written.
    pub accounts: &'a dyn AccountStore,
    pub outbox: &'a dyn Outbox,
    pub notifications: &'a dyn NotificationQueue,
}

/// One window's share of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowSummary {
    pub window_days: i64,
    /// The renewal times read from the index: `[from, to)`.
    pub from: String,
    pub to: String,
    /// Accounts the index named for that range.
    pub accounts: usize,
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RenewalSummary {
    pub windows: Vec<WindowSummary>,
    /// Account items read (`GetItem`), each account once.
    pub read: usize,
    /// Dedupe keys of the alerts raised by this run, sorted.
    pub alerts: Vec<String>,
    /// How many of them were escalated (health not green, set to cancel, payment failing).
    pub at_risk: usize,
}

/// The run's `now` for a scheduled invocation (see [`crate::app::schedule::scheduled_now`]).
pub fn scheduled_now(invocation: &serde_json::Value, now: i64) -> Result<i64, SweepError> {
    crate::app::schedule::scheduled_now(invocation, now).map_err(SweepError::Task)
}

/// Runs the renewal sweep as of `now`.
pub async fn run(ports: &RenewalPorts<'_>, settings: &Settings, now: i64) -> Result<RenewalSummary, SweepError> {
    tracing::info!(now = %rfc3339(now), "renewal sweep started");
    let mut summary = RenewalSummary::default();
    let mut seen = BTreeSet::new();
    for WindowRange { window, from, to } in renewal::index_ranges(&settings.renewal, now) {
        let found = ports.index.renewing_between(from, to).await?;
        summary.windows.push(WindowSummary {
            window_days: window,
            from: rfc3339(from),
            to: rfc3339(to),
            accounts: found.len(),
        });
        for account_id in found {
            if !seen.insert(account_id.clone()) {
                continue;
            }
            summary.read += 1;
            if let Some((key, at_risk)) = renew_account(ports, settings, &account_id, now).await? {
                summary.alerts.push(key);
                summary.at_risk += usize::from(at_risk);
            }
        }
    }
    summary.alerts.sort();
    Ok(summary)
}

/// Re-reads one account the index named and raises its renewal alert if one is due. Returns
/// the dedupe key raised and whether it was escalated.
async fn renew_account(
    ports: &RenewalPorts<'_>,
    settings: &Settings,
    account_id: &str,
    now: i64,
) -> Result<Option<(String, bool)>, SweepError> {
    let Some(stored) = ports.index.account_item(account_id).await? else { return Ok(None) };
    let mut record = settings.record(&stored, now);
    // The account item alone has no usage days: take the stage the health sweep found with
    // them, where it stored one.
    if let Some(stage) =
        record.health.as_ref().and_then(|h| serde_json::from_value::<Lifecycle>(h.get("lifecycle")?.clone()).ok())
    {
        record.lifecycle = stage;
    }
    let health = HealthFacts::stored(&record);
    let raised = alert::raised_alerts(&stored.attributes);
    let recent = alert::recent_risks(&raised, now);
    let Some(found) = renewal::renewal_signal_after(&record, &health, &recent, &settings.renewal, now) else {
        return Ok(None);
    };
    if alert::due(vec![found.signal.clone()], &raised, &settings.alerts, now).is_empty() {
        return Ok(None);
    }
    let mut built = alert::alert(&record, &found.signal, &health, &settings.alerts, RAISED_BY, now);
    built.severity = found.severity;
    alerts::raise(ports.outbox, ports.notifications, &built, now).await?;
    let mark = AccountChange::new(account_id).with_fact(format!("{RAISED}{}", found.signal.local_key()), now.into());
    ports.accounts.apply(&mark).await?;
    Ok(Some((built.dedupe_key, found.at_risk)))
}
