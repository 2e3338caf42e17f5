//! Billing rules: subscription state, MRR normalisation and MRR movements. Source-neutral: the
//! Stripe adapter translates Stripe objects into these types.

use super::time::{self, Timestamp};
use super::version::{EventVersion, Provenance};
use serde::{Deserialize, Serialize};

/// Subscription statuses (Stripe's set, which is also what every billing system models).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
    #[serde(other)]
    Unknown,
}

impl SubscriptionStatus {
    /// From the billing system's status name; unknown (future) names map to `Unknown`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "incomplete" => Self::Incomplete,
            "incomplete_expired" => Self::IncompleteExpired,
            "trialing" => Self::Trialing,
            "active" => Self::Active,
            "past_due" => Self::PastDue,
            "canceled" => Self::Canceled,
            "unpaid" => Self::Unpaid,
            "paused" => Self::Paused,
            _ => Self::Unknown,
        }
    }

    /// Whether the subscription contributes recurring revenue. Trials, pauses, unpaid and ended
    /// subscriptions count 0, as in ChartMogul and Baremetrics; past_due still counts because
    /// the customer has not churned yet (dunning is in progress).
    pub fn counts_for_mrr(self) -> bool {
        matches!(self, Self::Active | Self::PastDue)
    }

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the subscription is paying or owes money (active, past due, unpaid): what has a
    /// contract to renew.
    pub fn is_paying(self) -> bool {
        matches!(self, Self::Active | Self::PastDue | Self::Unpaid)
    }

    /// Whether the subscription is still alive (not ended).
    pub fn is_live(self) -> bool {
        !matches!(self, Self::Canceled | Self::IncompleteExpired)
    }

    /// Which status speaks for an account with several subscriptions: payment trouble first,
    /// then paying, then the rest. Higher wins.
    fn precedence(self) -> u8 {
        match self {
            Self::Unpaid => 9,
            Self::PastDue => 8,
            Self::Active => 7,
            Self::Trialing => 6,
            Self::Paused => 5,
            Self::Incomplete => 4,
            Self::Unknown => 3,
            Self::IncompleteExpired => 2,
            Self::Canceled => 1,
        }
    }
}

/// A billing period unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingInterval {
    Day,
    Week,
    Month,
    Year,
}

impl BillingInterval {
    /// How many of this interval make one month, on average over a year.
    fn per_month(self) -> f64 {
        match self {
            Self::Day => 365.0 / 12.0,
            Self::Week => 52.0 / 12.0,
            Self::Month => 1.0,
            Self::Year => 1.0 / 12.0,
        }
    }
}

/// One priced line of a subscription (a subscription item), in minor units per billing period.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceLine {
    /// Amount per unit per `interval_count` intervals; `None` when the price has no flat unit
    /// amount (tiered without tiers in the payload).
    pub unit_amount: Option<f64>,
    pub quantity: u64,
    pub interval: BillingInterval,
    pub interval_count: u32,
    /// Usage-based (metered) lines are billed in arrears from usage: not recurring revenue.
    pub metered: bool,
    /// Package pricing: bill `ceil|floor(quantity / divide_by)` units.
    pub transform_quantity: Option<QuantityTransform>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantityTransform {
    pub divide_by: u64,
    pub round_up: bool,
}

/// A discount applied to the whole subscription or to one line.
#[derive(Clone, Debug, PartialEq)]
pub struct Discount {
    pub percent_off: Option<f64>,
    /// Fixed amount off each invoice, in minor units.
    pub amount_off: Option<i64>,
    /// One-off discounts (`duration: once`) do not lower recurring revenue.
    pub once: bool,
}

/// The MRR of a subscription, in minor units per month. Lines are normalised to a month
/// (yearly / 12, weekly * 52 / 12, multi-interval / count), quantity and discounts applied,
/// rounded to the nearest minor unit at the end. Also returns notes for anything that could not
/// be priced, so the record can say why a figure may be low.
pub fn monthly_recurring_revenue(
    status: SubscriptionStatus,
    lines: &[(PriceLine, Vec<Discount>)],
    discounts: &[Discount],
) -> (i64, Vec<String>) {
    let mut notes = Vec::new();
    if !status.counts_for_mrr() {
        return (0, notes);
    }
    let mut total = 0.0_f64;
    // Subscription-level amount_off discounts are per invoice: normalise them with the
    // interval of the subscription (all lines of a Stripe subscription share one interval).
    let mut per_month_of_invoice = None;
    for (line, line_discounts) in lines {
        if line.metered {
            continue;
        }
        let Some(unit_amount) = line.unit_amount else {
            notes.push("a price without a flat unit amount (tiered) is counted as 0".into());
            continue;
        };
        let units = match line.transform_quantity {
            Some(t) if t.divide_by > 1 => {
                let whole = line.quantity / t.divide_by;
                let rest = line.quantity % t.divide_by;
                if t.round_up && rest > 0 {
                    whole + 1
                } else {
                    whole
                }
            }
            _ => line.quantity,
        };
        let per_month = line.interval.per_month() / f64::from(line.interval_count.max(1));
        per_month_of_invoice.get_or_insert(per_month);
        let line_total = apply_discounts(unit_amount * units as f64, line_discounts);
        total += line_total * per_month;
    }
    let total = match per_month_of_invoice {
        Some(per_month) => apply_discounts(total / per_month, discounts) * per_month,
        None => 0.0,
    };
    (total.round().max(0.0) as i64, notes)
}

/// Applies discounts in order to an amount for one billing period.
fn apply_discounts(mut amount: f64, discounts: &[Discount]) -> f64 {
    for d in discounts.iter().filter(|d| !d.once) {
        if let Some(p) = d.percent_off {
            amount *= 1.0 - (p.clamp(0.0, 100.0) / 100.0);
        }
        if let Some(off) = d.amount_off {
            amount -= off as f64;
        }
        amount = amount.max(0.0);
    }
    amount
}

/// The stored state of one subscription: the guarded group `sub#<id>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionState {
    pub id: String,
    pub status: SubscriptionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    #[serde(default)]
    pub quantity: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    pub mrr: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_at: Option<i64>,
    #[serde(default)]
    pub cancel_at_period_end: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_end: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Fact: one failed attempt to pay an invoice (`pf#<invoice>#<attempt>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PaymentFailure {
    pub at: i64,
    #[serde(default)]
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
    /// Why the payment failed, as the billing system says it ("card declined: insufficient
    /// funds"), when the event carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How an invoice that failed was settled without being paid (`is#<invoice>`): voided, or
/// written off as uncollectible. Either way nothing is owed on it any more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Settlement {
    Voided,
    Uncollectible,
}

/// Fact: an invoice was settled without payment (`is#<invoice>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceSettlement {
    pub at: i64,
    pub how: Settlement,
}

/// Fact: a charge failed (`cf#<charge>`), with the decline reason. Charges of the current API
/// do not name their invoice, so the reason is read as the account's latest decline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChargeFailure {
    pub at: i64,
    #[serde(default)]
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Money owed on invoices whose payment failed and that are neither paid, voided nor written
/// off (`billing.past_due` of the record). Out-of-order safe: it is derived from facts, so an
/// `invoice.paid` that arrives before the failure it settles still settles it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PastDue {
    /// Minor units owed (the amount due of each unsettled failed invoice, at its last attempt).
    pub amount: i64,
    /// When the oldest of those invoices first failed.
    pub since: Timestamp,
    pub invoices: u32,
    /// The billing system's reason for the latest decline, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Fact: an invoice was paid (`pp#<invoice>`), or needs customer action (`pa#<invoice>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InvoiceMark {
    pub at: i64,
    #[serde(default)]
    pub amount: i64,
}

/// Fact: a charge's refunded total reached `amount` (`rf#<charge>#<amount>`). Refunded totals
/// only grow, so the largest fact per charge is the charge's refunded amount.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefundMark {
    pub at: i64,
    pub amount: i64,
}

/// Fact: a dispute was opened (`dp#<dispute>`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DisputeMark {
    pub at: i64,
    #[serde(default)]
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Guarded group `upcoming`: the next invoice Stripe announced (`invoice.upcoming`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpcomingInvoice {
    pub amount: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

/// Fact: the MRR of one subscription right after an event (`mrr#<subscription>#<version>`).
#[derive(Clone, Debug, PartialEq)]
pub struct MrrPoint {
    pub subscription_id: String,
    pub version: EventVersion,
    pub mrr: i64,
    /// When the change takes effect, when that is not the event's time: a subscription set to
    /// cancel at period end ends (and churns) at the period end, which is what `ended_at` says
    /// even when the event is sent a little later. Stored as `{"mrr", "at"}` then, else as the
    /// bare MRR.
    pub effective_at: Option<i64>,
}

impl MrrPoint {
    /// The stored value of the fact.
    pub fn stored_value(mrr: i64, effective_at: Option<i64>) -> serde_json::Value {
        match effective_at {
            Some(at) => serde_json::json!({"mrr": mrr, "at": at}),
            None => serde_json::json!(mrr),
        }
    }

    /// Reads a stored value back: the bare MRR, or `{"mrr", "at"}`.
    pub fn parse_value(value: &serde_json::Value) -> Option<(i64, Option<i64>)> {
        match value {
            serde_json::Value::Object(map) => Some((map.get("mrr")?.as_i64()?, map.get("at").and_then(|a| a.as_i64()))),
            other => Some((other.as_i64()?, None)),
        }
    }

    /// When the change takes effect.
    pub fn at(&self) -> i64 {
        self.effective_at.unwrap_or_else(|| self.version.created())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MovementKind {
    New,
    Expansion,
    Contraction,
    Churn,
    Reactivation,
}

/// A change of the account's total MRR, classified as the subscription-analytics tools do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MrrMovement {
    pub at: i64,
    pub kind: MovementKind,
    /// Signed change in minor units per month.
    pub amount: i64,
    pub mrr_after: i64,
    pub event_id: String,
}

/// Derives the account's MRR movements from the MRR points of all its subscriptions. Points
/// are facts, so this history is the same whatever order the events arrived in.
pub fn mrr_movements(points: &[MrrPoint]) -> Vec<MrrMovement> {
    let mut ordered: Vec<&MrrPoint> = points.iter().collect();
    ordered.sort_by(|a, b| a.version.cmp(&b.version).then(a.subscription_id.cmp(&b.subscription_id)));
    let mut current: std::collections::BTreeMap<&str, i64> = Default::default();
    let mut total = 0_i64;
    let mut ever_paid = false;
    let mut movements = Vec::new();
    for point in ordered {
        let before = total;
        let previous = current.insert(&point.subscription_id, point.mrr).unwrap_or(0);
        total += point.mrr - previous;
        let kind = match (before, total) {
            (b, a) if a == b => None,
            (0, _) if ever_paid => Some(MovementKind::Reactivation),
            (0, _) => Some(MovementKind::New),
            (_, 0) => Some(MovementKind::Churn),
            (b, a) if a > b => Some(MovementKind::Expansion),
            _ => Some(MovementKind::Contraction),
        };
        if total > 0 {
            ever_paid = true;
        }
        if let Some(kind) = kind {
            movements.push(MrrMovement {
                at: point.at(),
                kind,
                amount: total - before,
                mrr_after: total,
                event_id: point.version.event_id().to_owned(),
            });
        }
    }
    movements
}

/// One subscription as the record shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionView {
    pub id: String,
    pub status: SubscriptionStatus,
    pub plan: Option<String>,
    pub quantity: u64,
    pub currency: Option<String>,
    pub interval: Option<String>,
    pub mrr: i64,
    pub renewal_at: Option<Timestamp>,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<Timestamp>,
    pub canceled_at: Option<Timestamp>,
    pub trial_end: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub source: Provenance,
}

impl SubscriptionView {
    pub fn new(s: &SubscriptionState, version: &EventVersion) -> Self {
        SubscriptionView {
            id: s.id.clone(),
            status: s.status,
            plan: s.plan.clone(),
            quantity: s.quantity,
            currency: s.currency.clone(),
            interval: s.interval.clone(),
            mrr: s.mrr,
            renewal_at: s.renewal_at.map(time::at),
            cancel_at_period_end: s.cancel_at_period_end,
            cancel_at: s.cancel_at.map(time::at),
            canceled_at: s.canceled_at.map(time::at),
            trial_end: s.trial_end.map(time::at),
            started_at: s.started_at.map(time::at),
            notes: s.notes.clone(),
            source: version.into(),
        }
    }
}

/// The next invoice the billing system announced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UpcomingView {
    pub amount: i64,
    pub at: Option<Timestamp>,
}

/// A movement of the account's MRR (see [`mrr_movements`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MovementView {
    pub at: Timestamp,
    pub kind: MovementKind,
    pub amount: i64,
    pub mrr_after: i64,
    pub event_id: String,
}

impl From<MrrMovement> for MovementView {
    fn from(m: MrrMovement) -> Self {
        MovementView {
            at: time::at(m.at),
            kind: m.kind,
            amount: m.amount,
            mrr_after: m.mrr_after,
            event_id: m.event_id,
        }
    }
}

/// A count and a sum (refunds, disputes), with the latest time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    pub count: u32,
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_at: Option<Timestamp>,
}

/// The billing part of the record, derived from the stored groups and facts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BillingView {
    pub status: Option<SubscriptionStatus>,
    pub mrr: i64,
    pub arr: i64,
    pub currency: Option<String>,
    pub plan: Option<String>,
    pub quantity: u64,
    /// The next period end of a live subscription (a monthly plan's is next month).
    pub renewal_at: Option<Timestamp>,
    /// The yearly contract's renewal (see [`contract_renewal_at`]); `null` on monthly plans.
    /// Set when the record is built; the score and the lifecycle stage read it.
    pub contract_renewal_at: Option<Timestamp>,
    pub cancel_at_period_end: bool,
    pub trial_end: Option<Timestamp>,
    /// Failed attempts on invoices that are still unpaid (the current dunning episode).
    pub failed_payments: u32,
    pub last_payment_failed_at: Option<Timestamp>,
    /// The unpaid invoice whose payment failed most recently: the dunning episode alerts name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_invoice: Option<String>,
    /// Failed attempts on that invoice alone.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failed_invoice_attempts: u32,
    pub payment_action_required: bool,
    /// `null`, or what is owed on failed invoices not yet paid, voided or written off.
    pub past_due: Option<PastDue>,
    pub last_paid_at: Option<Timestamp>,
    pub upcoming_invoice: Option<UpcomingView>,
    pub refunds: Tally,
    pub disputes: Tally,
    pub customer_deleted: bool,
    pub delinquent: bool,
    pub subscriptions: Vec<SubscriptionView>,
    pub mrr_movements: Vec<MovementView>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The renewal a renewal conversation is about: the earliest period end of the live, paying
/// subscriptions billed yearly. A monthly plan renews every month, so it would be "near renewal"
/// at every month end; and a monthly add-on must not hide the annual contract behind it.
/// Accounts on monthly plans alone have no contract renewal (their risk shows as cancel at
/// period end, payment failures and health). Health, the lifecycle stage and the renewal sweep
/// all read this one date.
pub fn contract_renewal_at(subscriptions: &[SubscriptionView]) -> Option<i64> {
    subscriptions
        .iter()
        .filter(|s| s.status.is_paying())
        .filter(|s| s.interval.as_deref() == Some("year"))
        .filter_map(|s| s.renewal_at.map(|t| t.timestamp()))
        .min()
}

impl BillingView {
    /// Paying and current: an active subscription, nothing owed on a failed invoice, not set
    /// to cancel. What an opportunity (expansion) needs.
    pub fn is_current(&self) -> bool {
        self.status == Some(SubscriptionStatus::Active)
            && self.past_due.is_none()
            && self.failed_payments == 0
            && !self.cancel_at_period_end
    }
}

/// The subscription whose status speaks for the account.
pub fn account_status(subs: &[SubscriptionState]) -> Option<SubscriptionStatus> {
    subs.iter().map(|s| s.status).max_by_key(|s| s.precedence())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::version::EventVersion;

    fn line(amount: f64, quantity: u64, interval: BillingInterval, count: u32) -> PriceLine {
        PriceLine {
            unit_amount: Some(amount),
            quantity,
            interval,
            interval_count: count,
            metered: false,
            transform_quantity: None,
        }
    }

    fn percent(p: f64) -> Discount {
        Discount { percent_off: Some(p), amount_off: None, once: false }
    }

    #[test]
    fn normalises_intervals_to_a_month() {
        let active = SubscriptionStatus::Active;
        let mrr = |l: PriceLine| monthly_recurring_revenue(active, &[(l, vec![])], &[]).0;
        assert_eq!(mrr(line(4000.0, 1, BillingInterval::Month, 1)), 4000);
        assert_eq!(mrr(line(120_000.0, 3, BillingInterval::Year, 1)), 30_000);
        assert_eq!(mrr(line(9000.0, 1, BillingInterval::Month, 3)), 3000);
        assert_eq!(mrr(line(1200.0, 1, BillingInterval::Week, 1)), 5200);
        assert_eq!(mrr(line(100.0, 1, BillingInterval::Day, 1)), 3042);
        assert_eq!(mrr(line(240_000.0, 1, BillingInterval::Year, 2)), 10_000);
    }

    #[test]
    fn applies_discounts_and_status() {
        let l = vec![(line(5000.0, 2, BillingInterval::Month, 1), vec![])];
        let active = SubscriptionStatus::Active;
        assert_eq!(monthly_recurring_revenue(active, &l, &[percent(20.0)]).0, 8000);
        assert_eq!(monthly_recurring_revenue(active, &l, &[percent(100.0)]).0, 0);
        let off = Discount { percent_off: None, amount_off: Some(1500), once: false };
        assert_eq!(monthly_recurring_revenue(active, &l, std::slice::from_ref(&off)).0, 8500);
        let once = Discount { once: true, ..off };
        assert_eq!(monthly_recurring_revenue(active, &l, &[once]).0, 10_000);
        for status in [
            SubscriptionStatus::Canceled,
            SubscriptionStatus::Trialing,
            SubscriptionStatus::IncompleteExpired,
            SubscriptionStatus::Paused,
        ] {
            assert_eq!(monthly_recurring_revenue(status, &l, &[]).0, 0, "{status:?}");
        }
        assert_eq!(monthly_recurring_revenue(SubscriptionStatus::PastDue, &l, &[]).0, 10_000);
    }

    #[test]
    fn yearly_amount_off_is_spread_over_twelve_months() {
        let l = vec![(line(120_000.0, 1, BillingInterval::Year, 1), vec![])];
        let off = Discount { percent_off: None, amount_off: Some(12_000), once: false };
        let (mrr, _) = monthly_recurring_revenue(SubscriptionStatus::Active, &l, &[off]);
        assert_eq!(mrr, 9000);
    }

    #[test]
    fn metered_tiered_and_package_lines() {
        let mut metered = line(100.0, 1, BillingInterval::Month, 1);
        metered.metered = true;
        let mut tiered = line(0.0, 1, BillingInterval::Month, 1);
        tiered.unit_amount = None;
        let mut package = line(1000.0, 250, BillingInterval::Month, 1);
        package.transform_quantity = Some(QuantityTransform { divide_by: 100, round_up: true });
        let (mrr, notes) = monthly_recurring_revenue(
            SubscriptionStatus::Active,
            &[(metered, vec![]), (tiered, vec![]), (package, vec![percent(50.0)])],
            &[],
        );
        assert_eq!(mrr, 1500);
        assert_eq!(notes.len(), 1);
    }

    fn point(sub: &str, t: i64, mrr: i64) -> MrrPoint {
        MrrPoint {
            subscription_id: sub.into(),
            version: EventVersion::new(t, &format!("evt_{t}")),
            mrr,
            effective_at: None,
        }
    }

    #[test]
    fn movements_classify_every_kind_in_any_input_order() {
        let mut points = vec![
            point("sub_a", 10, 0),    // trial: nothing
            point("sub_a", 20, 5000), // new
            point("sub_b", 30, 2000), // expansion (second subscription)
            point("sub_a", 40, 3000), // contraction
            point("sub_a", 50, 0),    // contraction (b still pays)
            point("sub_b", 60, 0),    // churn
            point("sub_b", 70, 2500), // reactivation
        ];
        let expected = [
            (MovementKind::New, 5000, 5000),
            (MovementKind::Expansion, 2000, 7000),
            (MovementKind::Contraction, -2000, 5000),
            (MovementKind::Contraction, -3000, 2000),
            (MovementKind::Churn, -2000, 0),
            (MovementKind::Reactivation, 2500, 2500),
        ];
        let forward = mrr_movements(&points);
        points.reverse();
        assert_eq!(mrr_movements(&points), forward);
        let got: Vec<_> = forward.iter().map(|m| (m.kind, m.amount, m.mrr_after)).collect();
        assert_eq!(got, expected);
        assert_eq!(forward[0].at, 20);
        assert_eq!(forward[0].event_id, "evt_20");
    }

    #[test]
    fn account_status_prefers_payment_trouble() {
        let sub = |status| SubscriptionState {
            id: "s".into(),
            status,
            plan: None,
            quantity: 1,
            currency: None,
            interval: None,
            mrr: 0,
            renewal_at: None,
            cancel_at_period_end: false,
            cancel_at: None,
            canceled_at: None,
            trial_end: None,
            started_at: None,
            notes: vec![],
        };
        let subs = [sub(SubscriptionStatus::Active), sub(SubscriptionStatus::PastDue)];
        assert_eq!(account_status(&subs), Some(SubscriptionStatus::PastDue));
        let subs = [sub(SubscriptionStatus::Canceled), sub(SubscriptionStatus::Active)];
        assert_eq!(account_status(&subs), Some(SubscriptionStatus::Active));
        assert_eq!(account_status(&[]), None);
    }
}
