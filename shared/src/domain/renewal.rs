//! Renewal windows, as pure rules (`../shared/domain.md`: "Renewal windows: 90, 60 and 30 days
//! before the renewal date"; "renewal within the window while not green" is a risk).
//!
//! An account alerts once per window crossing of one renewal date: at 90 days, at 60, at 30 (the
//! configured windows). The episode is `<window>d/<renewal day>`, so the dedupe key is
//! `<account>/renewal/<window>d/<YYYY-MM-DD>`: a renewal date that moves (the contract is renewed,
//! the date changes) is a new episode; the same window of the same date never alerts twice.
//!
//! The window an account is in is the smallest window that holds its days to renewal (58 days →
//! the 60-day window). An account found late (a missed run, a renewal date that appeared inside a
//! window) alerts for the window it is in now, never for the larger ones it skipped.

use super::account::AccountRecord;
use super::alert::{AlertKind, HealthFacts, Severity, Signal};
use super::billing;
use super::health::Band;
use super::money;
use super::time::{self, DAY};
use serde::{Deserialize, Serialize};

/// `[renewal]` in `foresight.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RenewalRules {
    /// Days before the renewal date at which an account alerts, largest first after validation.
    pub windows: Vec<i64>,
    /// How many days before a window's day the renewal sweep also looks, so that a run that did
    /// not happen (or a renewal date the index learned a day late) is caught up by the next run.
    pub catch_up_days: i64,
}

impl Default for RenewalRules {
    fn default() -> Self {
        RenewalRules { windows: vec![90, 60, 30], catch_up_days: 2 }
    }
}

/// Days until `renewal` at `now`, in whole days (0 on the day, negative once passed): the same
/// count as the lifecycle's `days_to_renewal`.
pub fn days_until(renewal: i64, now: i64) -> i64 {
    time::days_between(now, renewal)
}

/// The window an account `days` from its renewal is in: the smallest window holding it.
pub fn window_for(rules: &RenewalRules, days: i64) -> Option<i64> {
    if days < 0 {
        return None;
    }
    rules.windows.iter().copied().filter(|w| days <= *w).min()
}

/// One query of the renewal index: renewal times in `[from, to)` (Unix seconds) for `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowRange {
    pub window: i64,
    pub from: i64,
    pub to: i64,
}

/// What the sweep at `now` reads from the index, per window: the renewals that are `window` days
/// away now (`[now + window days, now + window + 1 days)`), and the `catch_up_days` before them,
/// never reaching into the next smaller window's range. Runs a day apart read adjacent ranges,
/// so daily runs miss nothing; the catch-up covers a missed run and a date indexed late.
pub fn index_ranges(rules: &RenewalRules, now: i64) -> Vec<WindowRange> {
    let mut windows = rules.windows.clone();
    windows.sort_unstable_by(|a, b| b.cmp(a));
    windows.dedup();
    windows
        .iter()
        .enumerate()
        .map(|(i, &window)| {
            let mut from_days = window - rules.catch_up_days.max(0);
            if let Some(&smaller) = windows.get(i + 1) {
                from_days = from_days.max(smaller + 1);
            }
            WindowRange { window, from: now + from_days.max(0) * DAY, to: now + (window + 1) * DAY }
        })
        .collect()
}

/// A renewal found on an account: the signal to raise and how urgent it is.
#[derive(Clone, Debug, PartialEq)]
pub struct RenewalSignal {
    pub signal: Signal,
    pub window: i64,
    pub days: i64,
    /// Health not green, set to cancel, or a payment failing: the alert is escalated.
    pub at_risk: bool,
    pub severity: Severity,
}

/// The account's yearly contract renewal ([`billing::contract_renewal_at`]): what the renewal
/// windows count down to. Accounts on monthly plans alone have none, so no renewal alerts.
pub fn contract_renewal_at(record: &AccountRecord) -> Option<i64> {
    billing::contract_renewal_at(&record.billing.subscriptions)
}

/// The renewal signal of an account at `now`, if it is inside a window: paying subscriptions
/// only (a trial's end is a conversion, not a renewal; a paused or ended account has nothing to
/// renew). `health` is the account's last score (the health sweep's), for the risk and context.
pub fn renewal_signal(
    record: &AccountRecord,
    health: &HealthFacts,
    rules: &RenewalRules,
    now: i64,
) -> Option<RenewalSignal> {
    renewal_signal_after(record, health, &[], rules, now)
}

/// [`renewal_signal`] for an account that raised the `recent` risk alerts in the last 30 days
/// (a usage decline, a detractor): such a renewal is at risk even while the band is still green.
pub fn renewal_signal_after(
    record: &AccountRecord,
    health: &HealthFacts,
    recent: &[AlertKind],
    rules: &RenewalRules,
    now: i64,
) -> Option<RenewalSignal> {
    let b = &record.billing;
    if !b.status.is_some_and(|s| s.is_paying()) {
        return None;
    }
    let renewal = contract_renewal_at(record)?;
    let days = days_until(renewal, now);
    let window = window_for(rules, days)?;
    let date = time::day_key(renewal);

    let mut risks = Vec::new();
    let band = health.band;
    if b.cancel_at_period_end {
        risks.push("set to cancel at period end".to_owned());
    }
    if b.failed_payments > 0 {
        risks.push(format!("payment failed {}×", b.failed_payments));
    }
    for kind in recent.iter().filter(|k| !matches!(k, AlertKind::PaymentFailed | AlertKind::CancelAtPeriodEnd)) {
        risks.push(format!("{} alerted in the last 30 days", kind.as_str().replace('_', " ")));
    }
    let at_risk = band.is_some_and(|b| b != Band::Green) || !risks.is_empty();
    if record.support.urgent_open_tickets > 0 {
        let n = record.support.urgent_open_tickets;
        risks.push(format!("{n} urgent ticket{} open", if n == 1 { "" } else { "s" }));
    }
    let health_part = match (band, health.score) {
        (Some(band), Some(score)) => {
            let trend = match health.change_7d {
                Some(c) if c < 0 => format!(", down {} in 7 days", -c),
                Some(c) if c > 0 => format!(", up {c} in 7 days"),
                _ => String::new(),
            };
            format!("health {band} {score}{trend}")
        }
        _ => "health not scored yet".to_owned(),
    };
    let mut context = vec![health_part];
    context.extend(risks);
    context.push(format!("MRR {}", money::format(b.mrr, b.currency.as_deref())));
    let action = if at_risk { "at risk: escalate and prepare a QBR" } else { "plan the renewal conversation" };
    let when = match days {
        0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        d => format!("in {d} days"),
    };
    let headline = format!("Renewal {when} ({date}) — {}: {action}", context.join(", "));
    Some(RenewalSignal {
        signal: Signal { kind: AlertKind::Renewal, episode: format!("{window}d/{date}"), headline },
        window,
        days,
        at_risk,
        severity: if at_risk { Severity::Risk } else { AlertKind::Renewal.severity() },
    })
}

/// The renewal index's keys for a renewal time: `renewal_month` (`YYYY-MM`, the partition) and
/// `renewal_key` (`<renewal RFC 3339>#<account id>`, sorted by time).
pub fn index_keys(account_id: &str, renewal: i64) -> (String, String) {
    (time::month_key(renewal), format!("{}#{account_id}", time::rfc3339(renewal)))
}

/// The months (`YYYY-MM`) a range of renewal times `[from, to)` touches, in order.
pub fn months_between(from: i64, to: i64) -> Vec<String> {
    let mut months = Vec::new();
    if to <= from {
        return months;
    }
    let last = time::month_key(to - 1);
    let mut at = from;
    loop {
        let month = time::month_key(at);
        if months.last() != Some(&month) {
            months.push(month.clone());
        }
        if month >= last {
            return months;
        }
        at += DAY;
    }
}
