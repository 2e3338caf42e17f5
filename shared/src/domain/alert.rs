//! Signals → alerts, as pure rules (`../shared/domain.md`, "Signals and alerts").
//!
//! Every alert has a dedupe key `<account>/<kind>/<episode>`: the episode names the condition
//! (the failed invoice, the subscription set to cancel, the day a band dropped), so the same
//! condition never alerts twice while it lasts. The account record remembers each raised key as
//! a fact `al#<kind>/<episode>` = raised-at; a cool-down then holds back a new episode of the same
//! kind (same band for band drops) for the configured days.

use super::account::AccountRecord;
use super::billing::SubscriptionStatus;
use super::health::{self, Band, ComponentScore, HealthScore};
use super::lifecycle::{self, Lifecycle};
use super::survey::{self, NpsCategory};
use super::tier::Segment;
use super::time::{self, DAY};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The account attribute prefix of raised alerts.
pub const RAISED: &str = "al#";

/// What an alert is about. The names (`band_drop`, ...), the parse of a configured name, the
/// usual severity and the default cool-down all come from here: adding a kind is one edit.
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
pub enum AlertKind {
    BandDrop,
    ScoreFall,
    PaymentFailed,
    CancelAtPeriodEnd,
    UrgentTickets,
    UsageDrop,
    OnboardingStalled,
    Expansion,
    /// The renewal sweep: an account crossed a renewal window (90, 60, 30 days by default).
    Renewal,
    /// A survey answer of 0–6 (a detractor), with the respondent's comment; high and low touch.
    NpsDetractor,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = AlertKind> {
        <AlertKind as strum::IntoEnumIterator>::iter()
    }

    /// The kind's usual severity. A renewal alert is an opportunity (renew, expand) unless the
    /// renewal sweep finds it at risk and escalates it to [`Severity::Risk`].
    pub fn severity(self) -> Severity {
        match self {
            AlertKind::Renewal | AlertKind::Expansion => Severity::Opportunity,
            _ => Severity::Risk,
        }
    }

    /// Days after an episode during which a new episode of the same kind stays quiet (0: every
    /// new episode alerts). Renewal: each window of each date alerts once (its episode names
    /// both), so no cool-down.
    pub fn default_cooldown_days(self) -> i64 {
        match self {
            AlertKind::BandDrop | AlertKind::ScoreFall | AlertKind::UsageDrop => 7,
            AlertKind::UrgentTickets => 3,
            AlertKind::Expansion => 30,
            AlertKind::PaymentFailed
            | AlertKind::CancelAtPeriodEnd
            | AlertKind::OnboardingStalled
            | AlertKind::Renewal
            | AlertKind::NpsDetractor => 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Severity {
    Risk,
    Opportunity,
}

/// Cool-down per kind, in days: `[alerts.cooldown_days]`, each kind's default unless set. An
/// unknown kind in the configuration is an error that names it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct CooldownDays(BTreeMap<AlertKind, i64>);

impl Default for CooldownDays {
    fn default() -> Self {
        CooldownDays(AlertKind::all().map(|k| (k, k.default_cooldown_days())).collect())
    }
}

impl<'de> Deserialize<'de> for CooldownDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let overrides = BTreeMap::<AlertKind, i64>::deserialize(deserializer)?;
        let mut days = CooldownDays::default();
        days.0.extend(overrides);
        Ok(days)
    }
}

impl CooldownDays {
    pub fn of(&self, kind: AlertKind) -> i64 {
        self.0.get(&kind).copied().unwrap_or_else(|| kind.default_cooldown_days())
    }

    /// Sets one kind's cool-down.
    pub fn set(&mut self, kind: AlertKind, days: i64) {
        self.0.insert(kind, days);
    }

    /// Every kind with its cool-down.
    pub fn iter(&self) -> impl Iterator<Item = (AlertKind, i64)> + '_ {
        self.0.iter().map(|(k, d)| (*k, *d))
    }
}

/// Alert thresholds (`[alerts]` in `foresight.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertRules {
    /// A fall of at least this many points in 7 days alerts.
    pub score_fall_points: i64,
    /// Events this week down at least this many percent on the week before.
    pub usage_drop_percent: i64,
    /// A slow decline: events lower two weeks running (each at least 10% below the week before),
    /// still falling, and this many percent below three weeks earlier (0 turns it off).
    pub usage_decline_percent: i64,
    /// Open urgent/high tickets from which support load is a spike.
    pub urgent_open_tickets: u32,
    /// No first value this many days after the start: onboarding stalled (0 turns it off).
    /// First value is the configured event, else the first day of real use.
    #[serde(alias = "onboarding_stalled_days")]
    pub onboarding_days: i64,
    /// Seat utilisation (active users in 7 days / seats) that signals expansion.
    pub expansion_seat_utilisation: f64,
    /// Where a CSM opens the account: `{account_id}` is replaced. Empty: the account's page under
    /// `FORESIGHT_PUBLIC_URL` when that is set, else no link (a bare path is not a link).
    pub account_url: String,
    pub cooldown_days: CooldownDays,
    /// `FORESIGHT_PUBLIC_URL`, the base of links sent to people: set by the runtime from the
    /// environment, not written in `[alerts]`.
    #[serde(skip)]
    pub public_url: String,
}

impl Default for AlertRules {
    fn default() -> Self {
        AlertRules {
            score_fall_points: 15,
            usage_drop_percent: 50,
            usage_decline_percent: 30,
            urgent_open_tickets: 2,
            onboarding_days: 14,
            expansion_seat_utilisation: 0.9,
            account_url: String::new(),
            cooldown_days: CooldownDays::default(),
            public_url: String::new(),
        }
    }
}

impl AlertRules {
    /// The link to an account a CSM can open: the configured template, else the account's page
    /// under the public URL, else none (empty).
    pub fn account_link(&self, account_id: &str) -> String {
        if !self.account_url.trim().is_empty() {
            return self.account_url.replace("{account_id}", account_id);
        }
        let base = self.public_url.trim().trim_end_matches('/');
        if base.is_empty() {
            return String::new();
        }
        format!("{base}/accounts/{account_id}")
    }
}

/// A condition found on an account, before its alert is built.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    pub kind: AlertKind,
    /// Names the condition: the same episode never alerts twice.
    pub episode: String,
    /// One line that says what happened ("payment failed 2× on invoice in_123").
    pub headline: String,
}

impl Signal {
    fn new(kind: AlertKind, episode: impl Into<String>, headline: impl Into<String>) -> Self {
        Signal { kind, episode: episode.into(), headline: headline.into() }
    }

    /// `<kind>/<episode>`: the account-local part of the dedupe key.
    pub fn local_key(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.episode)
    }

    /// What the cool-down compares: the kind, and for band drops the band dropped to.
    fn cooldown_scope(&self) -> String {
        match self.kind {
            AlertKind::BandDrop => format!("{}/{}/", self.kind.as_str(), self.episode.split('/').next().unwrap_or("")),
            kind => format!("{}/", kind.as_str()),
        }
    }
}

/// The alerts an account has raised: `<kind>/<episode>` → raised at (from its `al#` facts).
pub fn raised_alerts(attributes: &BTreeMap<String, serde_json::Value>) -> BTreeMap<String, i64> {
    attributes
        .iter()
        .filter_map(|(name, value)| Some((name.strip_prefix(RAISED)?.to_owned(), value.as_i64()?)))
        .collect()
}

/// The kinds of risk alerts raised in the 30 days before `now` (from the `al#` marks).
pub fn recent_risks(raised: &BTreeMap<String, i64>, now: i64) -> Vec<AlertKind> {
    let mut kinds: Vec<AlertKind> = raised
        .iter()
        .filter(|(_, at)| **at <= now && now - **at <= 30 * DAY)
        .filter_map(|(key, _)| key.split('/').next()?.parse::<AlertKind>().ok())
        .filter(|k| k.severity() == Severity::Risk)
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn day(ts: i64) -> String {
    time::day_key(ts)
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The payment part of a headline: "payment failed 2×: 288.00 USD owed since 2026-11-03 (card
/// declined: insufficient funds)" — the amount and the decline reason, never an invoice id.
fn payment_headline(record: &AccountRecord) -> String {
    let b = &record.billing;
    let mut text = format!("payment failed {}×", b.failed_payments.max(1));
    if let Some(owed) = health::owed(b) {
        text.push_str(&format!(": {owed}"));
    }
    if let Some(reason) = b.past_due.as_ref().and_then(|p| p.reason.as_deref()) {
        text.push_str(&format!(" ({reason})"));
    }
    if b.status == Some(SubscriptionStatus::Unpaid) {
        text.push_str(", subscription unpaid");
    }
    text
}

/// Signals that an event makes known at once (payment failed, cancel at period end, a
/// detractor's survey answer): raised by the ingest functions in near real time, and found again
/// (with the same episode) by the sweep.
pub fn event_signals(record: &AccountRecord, now: i64) -> Vec<Signal> {
    let b = &record.billing;
    let mut signals = Vec::new();
    let overdue = |s: SubscriptionStatus| matches!(s, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid);
    if let Some(invoice) = &b.failed_invoice {
        signals.push(Signal::new(AlertKind::PaymentFailed, invoice.clone(), payment_headline(record)));
    } else {
        // Past due without a failed invoice on record (its `invoice.payment_failed` was missed or
        // came before the customer was linked): still a payment risk, named by the subscription.
        for s in b.subscriptions.iter().filter(|s| overdue(s.status)) {
            let status = s.status.as_str();
            signals.push(Signal::new(
                AlertKind::PaymentFailed,
                format!("{}/{status}", s.id),
                format!("subscription {}, no failed invoice on record", status.replace('_', " ")),
            ));
        }
    }
    for s in b.subscriptions.iter().filter(|s| s.status.is_live() && s.cancel_at_period_end) {
        let ends_day = s.renewal_at.or(s.cancel_at).map_or("unknown".to_owned(), |t| day(t.timestamp()));
        signals.push(Signal::new(
            AlertKind::CancelAtPeriodEnd,
            format!("{}/{ends_day}", s.id),
            format!("set to cancel at period end ({ends_day})"),
        ));
    }
    // A detractor is a person to call: high and low touch only (tech touch has no CSM).
    if record.segment != Segment::TechTouch {
        let recent = |at: i64| at <= now + DAY && now - at < survey::DETRACTOR_ALERT_DAYS * DAY;
        for r in record.surveys.recent.iter().filter(|r| survey::category(r.score) == NpsCategory::Detractor) {
            if recent(r.at) {
                let comment = r.comment.as_deref().map(|c| format!(": \u{201c}{c}\u{201d}")).unwrap_or_default();
                signals.push(Signal::new(
                    AlertKind::NpsDetractor,
                    r.id.clone(),
                    format!("NPS {} from a survey response{comment}", r.score),
                ));
            }
        }
    }
    signals
}

/// What the sweep knows about an account besides its record.
pub struct SweepContext<'a> {
    pub scored: &'a HealthScore,
    /// The band before this sweep, if the account was scored before.
    pub previous_band: Option<Band>,
    pub change_7d: Option<i64>,
}

/// Every signal present on an account at `now`, the event signals included.
pub fn sweep_signals(record: &AccountRecord, ctx: &SweepContext, rules: &AlertRules, now: i64) -> Vec<Signal> {
    let today = day(now);
    let scored = ctx.scored;
    let mut signals = Vec::new();
    // While an account onboards its health is still forming (a source connects, a trial
    // converts): onboarding_stalled is the signal that matters then, not swings of the score.
    let onboarding = record.lifecycle == Lifecycle::Onboarding;
    // A churned account has left: its band drop says so once; its usage fading and its score
    // falling afterwards are no news.
    let churned = record.lifecycle == Lifecycle::Churned;
    if let Some(before) = ctx.previous_band.filter(|b| !onboarding && scored.band.rank() < b.rank()) {
        signals.push(Signal::new(
            AlertKind::BandDrop,
            format!("{}/{today}", scored.band),
            format!("health dropped from {before} to {} ({})", scored.band, scored.score),
        ));
    }
    if let Some(change) = ctx.change_7d.filter(|c| !onboarding && !churned && -c >= rules.score_fall_points) {
        signals.push(Signal::new(
            AlertKind::ScoreFall,
            today.clone(),
            format!("health {}, down {} in 7 days", scored.score, -change),
        ));
    }
    signals.extend(event_signals(record, now));
    let urgent = record.support.urgent_open_tickets;
    if rules.urgent_open_tickets > 0 && urgent >= rules.urgent_open_tickets {
        // The spike is one episode while any urgent ticket of it stays open: named by the day the
        // oldest open one was created, so a lasting spike alerts once.
        let since = record.support.urgent_since.map_or_else(|| today.clone(), |t| day(t.timestamp()));
        signals.push(Signal::new(
            AlertKind::UrgentTickets,
            since,
            format!("{} open", plural(urgent, "urgent ticket", "urgent tickets")),
        ));
    }
    let drop = usage_drop_percent(record, now)
        .filter(|d| !churned && *d >= rules.usage_drop_percent)
        .map(|drop| format!("usage -{drop}% week over week"));
    let decline = || {
        usage_decline_percent(record, now)
            .filter(|d| !churned && rules.usage_decline_percent > 0 && *d >= rules.usage_decline_percent)
            .map(|decline| format!("usage -{decline}% in 3 weeks, down two weeks running"))
    };
    if let Some(headline) = drop.or_else(decline) {
        signals.push(Signal::new(AlertKind::UsageDrop, today.clone(), headline));
    }
    // First value by default: no configured event needed, only a source that could have seen it.
    let live = record.billing.status.is_some_and(|s| s.is_live());
    if let Some(start) = lifecycle::started_at(&record.billing).filter(|_| live) {
        let days = (now - start).div_euclid(DAY);
        if record.first_value_measurable()
            && record.usage.first_value_at.is_none()
            && rules.onboarding_days > 0
            && days >= rules.onboarding_days
        {
            let silent = if record.usage.first_seen_at.is_none() { ", no product activity at all" } else { "" };
            signals.push(Signal::new(
                AlertKind::OnboardingStalled,
                day(start),
                format!("no first value {days} days after the start{silent}"),
            ));
        }
    }
    // An opportunity only for a green, paying, current account: never for one at risk.
    let healthy = scored.band == Band::Green && record.billing.is_current();
    if let Some(u) = lifecycle::seat_utilisation(&record.billing, &record.usage)
        .filter(|u| healthy && *u >= rules.expansion_seat_utilisation)
    {
        signals.push(Signal::new(
            AlertKind::Expansion,
            today,
            format!(
                "{} of {} seats active this week ({}%)",
                record.usage.active_users_7d,
                record.billing.quantity,
                (u * 100.0).round()
            ),
        ));
    }
    signals
}

/// Events in the last 7 days against the 7 before, as a percentage drop (needs a busy week
/// before: at least 10 events, so a quiet account's noise does not alert).
pub fn usage_drop_percent(record: &AccountRecord, now: i64) -> Option<i64> {
    let this_week_from = time::date(now - 6 * DAY);
    let last_week_from = time::date(now - 13 * DAY);
    let (mut this, mut last) = (0_u64, 0_u64);
    for d in &record.usage.daily {
        if d.day >= this_week_from {
            this += d.events;
        } else if d.day >= last_week_from {
            last += d.events;
        }
    }
    if last < 10 {
        return None;
    }
    Some(((last.saturating_sub(this)) as f64 * 100.0 / last as f64).round() as i64)
}

/// Events per day of the last 28 days, newest first (day 0 is `now`'s day).
fn daily_events(record: &AccountRecord, now: i64) -> [u64; 28] {
    let mut days = [0_u64; 28];
    let today = time::date(now);
    for d in &record.usage.daily {
        if let Ok(age) = usize::try_from((today - d.day).num_days()) {
            if age < 28 {
                days[age] += d.events;
            }
        }
    }
    days
}

/// A slow decline: events lower two weeks running (each week at least 10% below the one
/// before), after a week no busier than the one before it, still falling (the last three days no
/// busier than the latest week's average), and down from three weeks earlier by the returned
/// percentage. Needs a busy starting week (at least 10 events). A week's dip (a holiday) is not
/// a decline: it does not fall two weeks running, or use is back up by the time it seems to.
pub fn usage_decline_percent(record: &AccountRecord, now: i64) -> Option<i64> {
    let days = daily_events(record, now);
    let week = |n: usize| days[n * 7..n * 7 + 7].iter().sum::<u64>();
    let [w0, w1, w2, w3] = [week(0), week(1), week(2), week(3)];
    if w3 < 10 {
        return None;
    }
    let falls = |newer: u64, older: u64| (newer as f64) <= older as f64 * 0.9;
    let still_falling = days[..3].iter().sum::<u64>() as f64 <= w0 as f64 * 3.0 / 7.0;
    (falls(w0, w1) && falls(w1, w2) && w2 <= w3 && still_falling)
        .then(|| ((w3 - w0) as f64 * 100.0 / w3 as f64).round() as i64)
}

/// The signals that should alert now: not raised before, and not inside their cool-down.
pub fn due(signals: Vec<Signal>, raised: &BTreeMap<String, i64>, rules: &AlertRules, now: i64) -> Vec<Signal> {
    signals
        .into_iter()
        .filter(|s| !raised.contains_key(&s.local_key()))
        .filter(|s| {
            let cooldown = rules.cooldown_days.of(s.kind) * DAY;
            let scope = s.cooldown_scope();
            cooldown == 0 || !raised.iter().any(|(key, at)| key.starts_with(&scope) && now - at < cooldown)
        })
        .collect()
}

/// Kinds that say what went wrong (as opposed to band drops and score falls, which say that
/// health moved).
fn names_a_cause(kind: AlertKind) -> bool {
    kind.severity() == Severity::Risk
        && !matches!(kind, AlertKind::BandDrop | AlertKind::ScoreFall | AlertKind::Renewal)
}

/// One alert per cause: of the due signals, a score fall is dropped when a band drop says the
/// same (now or in the 7 days before); a band drop to yellow and a score fall are dropped when their cause alerts now or did
/// in the 7 days before (the payment failure, the cancellation, the usage drop already carries
/// the score and band). A drop to red is news unless its cause alerts in the same sweep.
pub fn consolidate(due: Vec<Signal>, raised: &BTreeMap<String, i64>, now: i64) -> Vec<Signal> {
    let cause_now = due.iter().any(|s| names_a_cause(s.kind));
    let cause_lately = raised.iter().any(|(key, at)| {
        now - at <= 7 * DAY && key.split('/').next().and_then(|k| k.parse().ok()).is_some_and(names_a_cause)
    });
    let band_drop_now = due.iter().any(|s| s.kind == AlertKind::BandDrop);
    let band_drop_lately =
        raised.iter().any(|(key, at)| now - at <= 7 * DAY && key.starts_with(AlertKind::BandDrop.as_str()));
    due.into_iter()
        .filter(|s| match s.kind {
            AlertKind::ScoreFall => !band_drop_now && !band_drop_lately && !cause_now && !cause_lately,
            AlertKind::BandDrop if s.episode.starts_with("red/") => !cause_now,
            AlertKind::BandDrop => !cause_now && !cause_lately,
            _ => true,
        })
        .collect()
}

/// Raised-alert marks (local keys) that no longer guard anything: their condition is gone from
/// `present` and their kind's cool-down has passed. A mark whose condition lasts is kept, or
/// the condition would alert again.
///
/// Renewal marks (`renewal/<window>d/<date>`) are raised by the renewal sweep, whose signals the
/// health sweep does not see: they are kept until their renewal date has passed (then the
/// cool-down applies), so a renewal window never alerts twice for one date.
pub fn expired_marks(raised: &BTreeMap<String, i64>, present: &[Signal], rules: &AlertRules, now: i64) -> Vec<String> {
    let today = day(now);
    raised
        .iter()
        .filter(|(key, _)| !present.iter().any(|s| s.local_key() == **key))
        .filter(|(key, _)| match key.strip_prefix("renewal/") {
            Some(episode) => episode.rsplit('/').next().is_some_and(|date| date < today.as_str()),
            None => true,
        })
        .filter(|(key, at)| {
            let kind = key.split('/').next().and_then(|k| k.parse::<AlertKind>().ok());
            kind.is_some_and(|kind| now - **at >= rules.cooldown_days.of(kind) * DAY)
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// An alert: everything a Slack message or a CRM task needs, with no further lookup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `<account>/<kind>/<episode>`: one notification per key, ever.
    pub dedupe_key: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    pub tier: Segment,
    pub lifecycle: Lifecycle,
    /// The CSM who owns the account, when a source names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_7d: Option<i64>,
    pub mrr: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// The yearly contract's renewal, else the current period's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_at: Option<time::Timestamp>,
    pub headline: String,
    /// The health components pulling the score down most, each with its reason.
    pub reasons: Vec<String>,
    /// One line a CSM reads in five seconds: "health 42, down 18 this week: logins -60%, ...".
    pub summary: String,
    pub links: AlertLinks,
    pub raised_at: time::Timestamp,
    /// Which function raised it (`health-sweep`, `stripe-webhook`).
    pub raised_by: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertLinks {
    /// An absolute link to the account (empty when none is configured: a bare path is no link).
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stripe: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hubspot_company_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salesforce_account_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zendesk_organization_id: Option<String>,
}

/// The reasons of the components that cost the most points (score below 70), worst first.
pub fn top_reasons(scored: &HealthScore, n: usize) -> Vec<String> {
    let mut weak: Vec<_> = scored.components.iter().filter(|c| c.score < 70).collect();
    weak.sort_by(|a, b| ((100 - b.score) as f64 * b.weight).total_cmp(&((100 - a.score) as f64 * a.weight)));
    weak.into_iter().take(n).map(|c| format!("{}: {}", c.name, c.reason)).collect()
}

/// The reasons a list shows for an account, most costly first: the billing cap that lowered the
/// score (it overrides the points), then [`top_reasons`]; when nothing scored low, the components
/// left out for lack of data. The dashboard's "top reason" is the first; the demo's summary
/// shows two.
pub fn list_reasons(scored: &HealthScore, n: usize) -> Vec<String> {
    let mut reasons: Vec<String> = scored.cap.iter().map(|c| format!("billing: {}", c.reason)).collect();
    reasons.extend(top_reasons(scored, n));
    if reasons.is_empty() && !scored.missing.is_empty() {
        reasons.push(format!("missing: {}", scored.missing.join(", ")));
    }
    reasons.truncate(n);
    reasons
}

/// The health group a sweep stored on a record, as the score it was (`None` before the first
/// sweep, or when the group does not read as one).
pub fn stored_health(record: &AccountRecord) -> Option<HealthScore> {
    record.health.as_ref().and_then(|h| HealthScore::deserialize(h).ok())
}

/// The health the alert reports: this sweep's score, or the last stored one (ingest).
pub struct HealthFacts {
    pub score: Option<i64>,
    pub band: Option<Band>,
    pub change_7d: Option<i64>,
    pub reasons: Vec<String>,
}

impl HealthFacts {
    /// From a score computed now (the sweep's, or a webhook's at the moment of the event).
    pub fn scored(scored: &HealthScore, change_7d: Option<i64>) -> Self {
        HealthFacts { score: Some(scored.score), band: Some(scored.band), change_7d, reasons: top_reasons(scored, 3) }
    }

    /// From the `health` group a sweep stored on the record.
    pub fn stored(record: &AccountRecord) -> Self {
        let h = record.health.as_ref();
        let get = |k: &str| h.and_then(|h| h.get(k));
        let reasons = get("components")
            .and_then(|c| serde_json::from_value::<Vec<ComponentScore>>(c.clone()).ok())
            .map(|components| {
                let scored = HealthScore {
                    score: 0,
                    band: Band::Red,
                    components,
                    missing: Vec::new(),
                    missing_reasons: Vec::new(),
                    cap: None,
                };
                top_reasons(&scored, 3)
            })
            .unwrap_or_default();
        HealthFacts {
            score: get("score").and_then(|v| v.as_i64()),
            band: get("band").and_then(|v| serde_json::from_value(v.clone()).ok()),
            change_7d: get("change_7d").and_then(|v| v.as_i64()),
            reasons,
        }
    }
}

/// Builds the alert for a due signal.
pub fn alert(
    record: &AccountRecord,
    signal: &Signal,
    health: &HealthFacts,
    rules: &AlertRules,
    raised_by: &str,
    now: i64,
) -> Alert {
    let trend = match (health.score, health.band, health.change_7d) {
        (Some(s), Some(b), Some(c)) if c < 0 => format!("health {s} ({b}), down {} this week", -c),
        (Some(s), Some(b), Some(c)) if c > 0 => format!("health {s} ({b}), up {c} this week"),
        (Some(s), Some(b), _) => format!("health {s} ({b})"),
        (Some(s), None, _) => format!("health {s}"),
        (None, _, _) => "not scored yet".to_owned(),
    };
    let mut why = vec![signal.headline.clone()];
    why.extend(health.reasons.iter().filter(|r| !r.ends_with(&signal.headline)).take(2).cloned());
    let contract = record.billing.contract_renewal_at.map(|t| t.timestamp());
    let renewal_at = contract.or(record.billing.renewal_at.map(|t| t.timestamp()));
    let renewal = match (contract, record.billing.renewal_at) {
        (Some(at), _) => format!("; renewal {}", day(at)),
        (None, Some(period_end)) if record.billing.status.is_some_and(|s| s.is_live()) => {
            format!("; no yearly contract, period ends {}", day(period_end.timestamp()))
        }
        _ => String::new(),
    };
    Alert {
        dedupe_key: format!("{}/{}", record.account_id, signal.local_key()),
        kind: signal.kind,
        severity: signal.kind.severity(),
        account_id: record.account_id.clone(),
        account_name: record.name.clone(),
        tier: record.segment,
        lifecycle: record.lifecycle,
        owner: None,
        score: health.score,
        band: health.band,
        change_7d: health.change_7d,
        mrr: record.billing.mrr,
        currency: record.billing.currency.clone(),
        renewal_at: renewal_at.map(time::at),
        headline: signal.headline.clone(),
        reasons: health.reasons.clone(),
        summary: format!("{trend}: {}{renewal}", why.join("; ")),
        links: AlertLinks {
            account: rules.account_link(&record.account_id),
            stripe: record
                .links
                .stripe_customer_id
                .as_ref()
                .map(|c| format!("https://dashboard.stripe.com/customers/{c}")),
            hubspot_company_id: record.links.hubspot_company_id.clone(),
            salesforce_account_id: record.links.salesforce_account_id.clone(),
            zendesk_organization_id: record.links.zendesk_organization_id.clone(),
        },
        raised_at: time::at(now),
        raised_by: raised_by.to_owned(),
    }
}
