//! Lifecycle stage, time-to-value and seat utilisation: pure rules over the account record
//! (`../shared/domain.md`, "Touch model and lifecycle").

use super::account::{AccountRecord, Lifecycle};
use super::billing::SubscriptionStatus;
use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;

/// The thresholds the stage depends on (from `foresight.toml`; defaults per the domain notes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LifecycleRules {
    /// Inside this many days before the renewal date an account is in its renewal stage.
    pub renewal_window_days: i64,
    /// Seat utilisation (active users in 7 days / seats) from which an account is expanding.
    pub expansion_seat_utilisation: f64,
    /// Whether a first-value event is configured: without one, onboarding ends with the trial.
    pub first_value_configured: bool,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules { renewal_window_days: 90, expansion_seat_utilisation: 0.9, first_value_configured: false }
    }
}

fn parse_time(value: Option<&str>) -> Option<i64> {
    Some(chrono::DateTime::parse_from_rfc3339(value?).ok()?.timestamp())
}

/// When the customer started: the earliest subscription start (trial or paid).
pub fn started_at(record: &AccountRecord) -> Option<i64> {
    record.billing.subscriptions.iter().filter_map(|s| parse_time(s.started_at.as_deref())).min()
}

/// Days from the start to the first value event, once reached.
pub fn time_to_value_days(record: &AccountRecord) -> Option<f64> {
    let start = started_at(record)?;
    let value = parse_time(record.usage.first_value_at.as_deref())?;
    Some(((value - start).max(0) as f64 / DAY as f64 * 10.0).round() / 10.0)
}

/// Active users in 7 days per paid seat, where the plan counts seats (quantity > 1).
pub fn seat_utilisation(record: &AccountRecord) -> Option<f64> {
    let seats = record.billing.quantity;
    (seats > 1).then(|| f64::from(record.usage.active_users_7d) / seats as f64)
}

/// Days until the renewal date (negative once passed).
pub fn days_to_renewal(record: &AccountRecord, now: i64) -> Option<i64> {
    Some((parse_time(record.billing.renewal_at.as_deref())? - now).div_euclid(DAY))
}

/// The stage: churned (no live subscription left), onboarding (trialing, or started and no first
/// value yet), renewal (inside the window), expansion (seats nearly all used), else adoption.
pub fn stage(record: &AccountRecord, rules: &LifecycleRules, now: i64) -> Lifecycle {
    let subs = &record.billing.subscriptions;
    if !subs.is_empty() && !subs.iter().any(|s| s.status.is_live()) {
        return Lifecycle::Churned;
    }
    let trialing = subs.iter().any(|s| s.status == SubscriptionStatus::Trialing);
    let value_pending =
        rules.first_value_configured && record.usage.first_value_at.is_none() && started_at(record).is_some();
    if trialing || value_pending {
        return Lifecycle::Onboarding;
    }
    if days_to_renewal(record, now).is_some_and(|d| (0..=rules.renewal_window_days).contains(&d)) {
        return Lifecycle::Renewal;
    }
    if seat_utilisation(record).is_some_and(|u| u >= rules.expansion_seat_utilisation) {
        return Lifecycle::Expansion;
    }
    Lifecycle::Adoption
}
