//! Lifecycle stage, time-to-value and seat utilisation: pure rules over the billing and usage
//! parts of the record (`../shared/domain.md`, "Touch model and lifecycle").

use super::billing::{BillingView, SubscriptionStatus};
use super::time::{self, DAY};
use super::usage::UsageView;
use serde::{Deserialize, Serialize};

/// Where an account is in its life with the product. Names come from the enum itself.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumIter,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Lifecycle {
    Onboarding,
    Adoption,
    Expansion,
    Renewal,
    Churned,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The thresholds the stage depends on (from `foresight.toml`; defaults per the domain notes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LifecycleRules {
    /// Inside this many days before the renewal date an account is in its renewal stage.
    pub renewal_window_days: i64,
    /// Seat utilisation (active users in 7 days / seats) from which an account is expanding.
    pub expansion_seat_utilisation: f64,
}

impl Default for LifecycleRules {
    fn default() -> Self {
        LifecycleRules { renewal_window_days: 90, expansion_seat_utilisation: 0.9 }
    }
}

/// When the customer started: the earliest subscription start (trial or paid).
pub fn started_at(billing: &BillingView) -> Option<i64> {
    billing.subscriptions.iter().filter_map(|s| s.started_at).map(|t| t.timestamp()).min()
}

/// Days from the start to first value (the configured event, or the first day of real use),
/// once reached.
pub fn time_to_value_days(billing: &BillingView, usage: &UsageView) -> Option<f64> {
    let start = started_at(billing)?;
    let value = usage.first_value_at?.timestamp();
    Some(((value - start).max(0) as f64 / DAY as f64 * 10.0).round() / 10.0)
}

/// Active users in 7 days per paid seat, where the plan counts seats (quantity > 1).
pub fn seat_utilisation(billing: &BillingView, usage: &UsageView) -> Option<f64> {
    let seats = billing.quantity;
    (seats > 1).then(|| f64::from(usage.active_users_7d) / seats as f64)
}

/// Days until the yearly contract's renewal (negative once passed); `None` on monthly plans,
/// whose period end every month is not a renewal.
pub fn days_to_renewal(billing: &BillingView, now: i64) -> Option<i64> {
    Some(time::calendar_days_between(now, billing.contract_renewal_at?.timestamp()))
}

/// The stage: churned (no live subscription left), onboarding (trialing, or started and no first
/// value yet where first value is measurable: see `AccountRecord::first_value_measurable`),
/// renewal (inside the window of the yearly contract's renewal), expansion (seats nearly all
/// used by a paying, current account), else adoption.
pub fn stage(
    billing: &BillingView,
    usage: &UsageView,
    rules: &LifecycleRules,
    first_value_measurable: bool,
    now: i64,
) -> Lifecycle {
    let subs = &billing.subscriptions;
    if !subs.is_empty() && !subs.iter().any(|s| s.status.is_live()) {
        return Lifecycle::Churned;
    }
    let trialing = subs.iter().any(|s| s.status == SubscriptionStatus::Trialing);
    let value_pending = first_value_measurable && usage.first_value_at.is_none() && started_at(billing).is_some();
    if trialing || value_pending {
        return Lifecycle::Onboarding;
    }
    if days_to_renewal(billing, now).is_some_and(|d| (0..=rules.renewal_window_days).contains(&d)) {
        return Lifecycle::Renewal;
    }
    if billing.is_current() && seat_utilisation(billing, usage).is_some_and(|u| u >= rules.expansion_seat_utilisation) {
        return Lifecycle::Expansion;
    }
    Lifecycle::Adoption
}
