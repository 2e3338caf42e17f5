//! Explainable health score. Each component turns part of
//! the account record into a value from 0 to 100 with a one-line reason. Silence is data: a
//! source that knows the account and reports nothing scores 0 ("no product activity in 21 days
//! since signup"); only a component whose source never connected (to this deployment, or for this
//! account) is left out, its weight spread over the others, and the breakdown says which and why.
//! Billing risk caps the score (past due: yellow at best; unpaid, disputed or ended: red). The
//! points of the breakdown add up to the score exactly.

use super::account::AccountRecord;
use super::billing::{BillingView, SubscriptionStatus};
use super::connection::{Connection, Source};
use super::lifecycle;
use super::money;
use super::time::{self, DAY};
use serde::{Deserialize, Serialize};

/// Health bands: red below `red_below`, green from `green_from`, yellow between.
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
pub enum Band {
    Red,
    Yellow,
    Green,
}

/// The weight of each component (0 to 1; they need not sum to 1, the score normalises them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    pub usage: f64,
    pub adoption: f64,
    pub support: f64,
    pub sentiment: f64,
    pub billing: f64,
    pub renewal: f64,
}

impl Band {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Worst first: red 0, yellow 1, green 2.
    pub fn rank(self) -> u8 {
        match self {
            Band::Red => 0,
            Band::Yellow => 1,
            Band::Green => 2,
        }
    }
}

impl Default for Weights {
    fn default() -> Self {
        Weights { usage: 0.30, adoption: 0.20, support: 0.15, sentiment: 0.10, billing: 0.15, renewal: 0.10 }
    }
}

impl Weights {
    /// Each weight with its component's name.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("usage", self.usage),
            ("adoption", self.adoption),
            ("support", self.support),
            ("sentiment", self.sentiment),
            ("billing", self.billing),
            ("renewal", self.renewal),
        ]
    }
}

/// The model: component weights and band edges (defaults from the team's domain notes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthModel {
    pub weights: Weights,
    pub red_below: i64,
    pub green_from: i64,
    /// How many key features the product defines (adoption breadth is used / this).
    pub key_features: usize,
    /// Renewal proximity starts to weigh inside this many days.
    pub renewal_window_days: i64,
}

impl Default for HealthModel {
    fn default() -> Self {
        HealthModel {
            weights: Weights::default(),
            red_below: 40,
            green_from: 70,
            key_features: 0,
            renewal_window_days: 90,
        }
    }
}

impl HealthModel {
    pub fn band(&self, score: i64) -> Band {
        if score < self.red_below {
            Band::Red
        } else if score < self.green_from {
            Band::Yellow
        } else {
            Band::Green
        }
    }
}

/// One line of the breakdown.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentScore {
    pub name: String,
    /// 0–100.
    pub score: i64,
    /// The weight after spreading the weights of missing components (sums to 1).
    pub weight: f64,
    /// This component's share of the total score.
    pub points: i64,
    pub reason: String,
}

/// A component left out, and why: the source was never connected to this deployment, or never
/// knew this account, or there is nothing to measure (no key features configured, a monthly
/// plan has no contract renewal).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MissingInput {
    pub component: String,
    pub reason: String,
}

/// A ceiling on the score that billing risk imposes whatever the other components say
/// (`../shared/domain.md`: a past-due account is not green): past due caps at yellow; unpaid, a
/// recent dispute or an ended subscription at red.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cap {
    pub band: Band,
    /// The highest score allowed (the band's top).
    pub at: i64,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthScore {
    pub score: i64,
    pub band: Band,
    pub components: Vec<ComponentScore>,
    /// Components left out for lack of data, named so the breakdown says so.
    pub missing: Vec<String>,
    /// Why each missing component is missing, in the same order.
    #[serde(default)]
    pub missing_reasons: Vec<MissingInput>,
    /// The billing cap that lowered the score, if any (the points are scaled down with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<Cap>,
}

/// A component's value and reason, or why it has no data.
type Measured = Result<(f64, String), String>;

fn clamp(v: f64) -> f64 {
    v.clamp(0.0, 100.0)
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn missing_source(r: &AccountRecord, source: Source) -> String {
    Connection::of(source, r.knows(source), r.deployment.as_ref()).why_missing(source)
}

fn usage(r: &AccountRecord, now: i64) -> Measured {
    if !r.knows(Source::Analytics) {
        return Err(missing_source(r, Source::Analytics));
    }
    let u = &r.usage;
    if u.events_7d == 0 || u.active_users_7d == 0 {
        // Silence is data: analytics knows the account and it did nothing.
        let reason = match (u.last_seen_at.filter(|t| t.timestamp() <= now), lifecycle::started_at(&r.billing)) {
            (Some(last), _) => {
                format!("no activity for {}", plural(time::days_between(last.timestamp(), now).max(7), "day", "days"))
            }
            (None, Some(start)) => format!(
                "no product activity in {} since signup",
                plural(time::days_between(start, now).max(0), "day", "days")
            ),
            (None, None) => "no product activity yet".to_owned(),
        };
        return Ok((0.0, reason));
    }
    // The account against its own 30-day rhythm: a steady week scores 70, +43% or more 100.
    // A younger account's rhythm is spread over the days it has existed (at least a week), not
    // over 30 days it was not there for.
    let baseline = u.events_30d as f64 * 7.0 / usage_window_days(r, now);
    let ratio = if baseline > 0.0 { u.events_7d as f64 / baseline } else { 1.0 };
    let change = ((ratio - 1.0) * 100.0).round() as i64;
    let users = u.active_users_7d;
    let reason =
        format!("events {change:+}% vs 30-day rhythm, {users} active user{}", if users == 1 { "" } else { "s" });
    Ok((clamp(ratio.min(1.43) * 70.0), reason))
}

/// Days the 30-day usage window covers: since the subscription started or the first usage
/// day, whichever is earlier, but not before this deployment connected product analytics (an
/// account that is older than the connection has no rhythm before it), between 7 and 30.
fn usage_window_days(r: &AccountRecord, now: i64) -> f64 {
    let first_day = r.usage.daily.iter().map(|d| d.day).min().map(time::day_start);
    let first_seen = r.usage.first_seen_at.map(|t| time::day_start(time::date(t.timestamp())));
    let start = [lifecycle::started_at(&r.billing), first_day, first_seen].into_iter().flatten().min();
    let connected = r.deployment.as_ref().and_then(|d| d.get(&Source::Analytics)).copied();
    let start = match (start, connected) {
        (Some(start), Some(connected)) => Some(start.max(time::day_start(time::date(connected)))),
        (start, _) => start,
    };
    start.map_or(30.0, |start| ((now - start) as f64 / DAY as f64).clamp(7.0, 30.0))
}

fn adoption(r: &AccountRecord, key_features: usize) -> Measured {
    if key_features == 0 {
        return Err("no key features configured ([analytics] key_features)".into());
    }
    if !r.knows(Source::Analytics) {
        return Err(missing_source(r, Source::Analytics));
    }
    let used = r.usage.features_used_30d.len().min(key_features);
    Ok((
        clamp(100.0 * used as f64 / key_features as f64),
        format!("{used} of {key_features} key features used in 30 days"),
    ))
}

fn support(r: &AccountRecord) -> Measured {
    if !r.knows(Source::Zendesk) {
        return Err(missing_source(r, Source::Zendesk));
    }
    let s = &r.support;
    let value = 100.0
        - 10.0 * f64::from(s.open_tickets)
        - 25.0 * f64::from(s.urgent_open_tickets)
        - 2.0 * f64::from(s.tickets_30d);
    let reason = match (s.urgent_open_tickets, s.open_tickets) {
        (0, 0) => format!("no open tickets ({} in 30 days)", s.tickets_30d),
        (0, open) => format!("{open} open ticket{}", if open == 1 { "" } else { "s" }),
        (urgent, _) => format!("{urgent} urgent ticket{} open", if urgent == 1 { "" } else { "s" }),
    };
    Ok((clamp(value), reason))
}

/// CSAT of 30 days and NPS of 90 days, each on 0–100 (NPS −100..100 maps to 0..100), averaged
/// over those present.
fn sentiment(r: &AccountRecord) -> Measured {
    let (good, bad) = (r.support.csat_good_30d, r.support.csat_bad_30d);
    let mut parts = Vec::new();
    if good + bad > 0 {
        parts.push((
            100.0 * f64::from(good) / f64::from(good + bad),
            format!("CSAT {good} good / {bad} bad in 30 days"),
        ));
    }
    if let Some(nps) = r.surveys.nps_90d {
        let n = i64::from(r.surveys.nps_responses_90d);
        parts.push((
            (nps + 100) as f64 / 2.0,
            format!("NPS {nps:+} ({} in 90 days)", plural(n, "response", "responses")),
        ));
    }
    if parts.is_empty() {
        if !r.knows(Source::Zendesk) && !r.knows(Source::Surveys) {
            return Err(format!("{}; {}", missing_source(r, Source::Zendesk), missing_source(r, Source::Surveys)));
        }
        return Err("no CSAT rating in 30 days and no NPS response in 90 days".into());
    }
    let value = parts.iter().map(|(v, _)| v).sum::<f64>() / parts.len() as f64;
    Ok((clamp(value), parts.into_iter().map(|(_, reason)| reason).collect::<Vec<_>>().join("; ")))
}

/// "288.00 USD owed since 2026-11-03": what a CSM needs to call the customer.
pub fn owed(b: &BillingView) -> Option<String> {
    let pd = b.past_due.as_ref()?;
    Some(format!(
        "{} owed since {}",
        money::format(pd.amount, b.currency.as_deref()),
        time::day_key(pd.since.timestamp())
    ))
}

fn billing(r: &AccountRecord) -> Measured {
    let b = &r.billing;
    let Some(status) = b.status.or(b.past_due.as_ref().map(|_| SubscriptionStatus::PastDue)) else {
        return Err(missing_source(r, Source::Stripe));
    };
    let mut value: f64 = 100.0;
    let mut risks = Vec::new();
    match status {
        SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired => {
            return Ok((0.0, "subscription ended".into()));
        }
        _ if status == SubscriptionStatus::Unpaid || status == SubscriptionStatus::PastDue || b.past_due.is_some() => {
            value = value.min(20.0);
            let state = if status == SubscriptionStatus::Unpaid { "unpaid" } else { "past due" };
            risks.push(match owed(b) {
                Some(owed) => format!("{state}: {owed}"),
                None => state.to_owned(),
            });
        }
        _ => {}
    }
    if b.failed_payments > 0 {
        value -= 20.0 * f64::from(b.failed_payments);
        risks.push(format!("payment failed {}×", b.failed_payments));
    }
    if b.cancel_at_period_end {
        value = value.min(10.0);
        risks.push("set to cancel at period end".into());
    }
    if b.disputes.count > 0 {
        value -= 30.0;
        risks.push(format!("{} dispute{}", b.disputes.count, if b.disputes.count == 1 { "" } else { "s" }));
    }
    let reason = if risks.is_empty() { "payments in good standing".into() } else { risks.join(", ") };
    Ok((clamp(value), reason))
}

fn renewal(r: &AccountRecord, window_days: i64, now: i64) -> Measured {
    // The yearly contract, never a monthly period end: a monthly plan is not "near renewal" at
    // every month end.
    let Some(renewal) = r.billing.contract_renewal_at.map(|t| t.timestamp()) else {
        if !r.knows(Source::Stripe) {
            return Err(missing_source(r, Source::Stripe));
        }
        return Err(if r.billing.status.is_some_and(|s| s.is_paying()) {
            "no yearly contract to renew (monthly plans renew every month)".into()
        } else {
            "no paying subscription to renew".into()
        });
    };
    let days = time::calendar_days_between(now, renewal);
    if days > window_days {
        return Ok((100.0, format!("renewal in {days} days")));
    }
    // Inside the window the renewal itself is a risk to manage: 40 on the day, 100 at the edge.
    let value = 40.0 + 60.0 * days.max(0) as f64 / window_days.max(1) as f64;
    Ok((clamp(value), format!("renewal in {} days", days.max(0))))
}

/// Disputes opened this recently keep the account red.
pub const DISPUTE_RED_DAYS: i64 = 90;

/// The billing cap on an account at `now`, if any.
pub fn cap(r: &AccountRecord, model: &HealthModel, now: i64) -> Option<Cap> {
    let b = &r.billing;
    let red = |reason: String| Some(Cap { band: Band::Red, at: (model.red_below - 1).max(0), reason });
    let subs = &b.subscriptions;
    if !subs.is_empty() && !subs.iter().any(|s| s.status.is_live()) {
        return red("subscription ended".into());
    }
    if b.status == Some(SubscriptionStatus::Unpaid) {
        return red(match owed(b) {
            Some(owed) => format!("unpaid: {owed}"),
            None => "unpaid".into(),
        });
    }
    if let Some(at) = b.disputes.last_at.filter(|t| now - t.timestamp() < DISPUTE_RED_DAYS * DAY) {
        let amount = money::format(b.disputes.total, b.currency.as_deref());
        return red(format!("payment disputed on {} ({amount})", time::day_key(at.timestamp())));
    }
    if b.past_due.is_some() || b.status == Some(SubscriptionStatus::PastDue) {
        let reason = match owed(b) {
            Some(owed) => format!("past due: {owed}"),
            None => "past due".into(),
        };
        return Some(Cap { band: Band::Yellow, at: (model.green_from - 1).max(0), reason });
    }
    None
}

/// Scores an account at `now`.
pub fn score(record: &AccountRecord, model: &HealthModel, now: i64) -> HealthScore {
    let w = &model.weights;
    let candidates = [
        ("usage", w.usage, usage(record, now)),
        ("adoption", w.adoption, adoption(record, model.key_features)),
        ("support", w.support, support(record)),
        ("sentiment", w.sentiment, sentiment(record)),
        ("billing", w.billing, billing(record)),
        ("renewal", w.renewal, renewal(record, model.renewal_window_days, now)),
    ];
    let missing_reasons: Vec<MissingInput> = candidates
        .iter()
        .filter(|(_, w, _)| *w > 0.0)
        .filter_map(|(n, _, c)| {
            c.as_ref().err().map(|reason| MissingInput { component: (*n).into(), reason: reason.clone() })
        })
        .collect();
    let missing: Vec<String> = missing_reasons.iter().map(|m| m.component.clone()).collect();
    let present: Vec<(&str, f64, f64, String)> = candidates
        .into_iter()
        .filter(|(_, w, _)| *w > 0.0)
        .filter_map(|(n, w, c)| c.ok().map(|(v, reason)| (n, w, v, reason)))
        .collect();
    let total_weight: f64 = present.iter().map(|(_, w, _, _)| w).sum();
    if present.is_empty() || total_weight <= 0.0 {
        return HealthScore {
            score: 0,
            band: model.band(0),
            components: Vec::new(),
            missing,
            missing_reasons,
            cap: None,
        };
    }
    let mut raw: Vec<f64> = present.iter().map(|(_, w, v, _)| w / total_weight * v).collect();
    let mut score = raw.iter().sum::<f64>().round() as i64;
    let cap = cap(record, model, now).filter(|c| score > c.at);
    if let Some(c) = &cap {
        // The ceiling lowers every component's share alike, so the points still add up.
        let factor = c.at as f64 / raw.iter().sum::<f64>();
        raw.iter_mut().for_each(|p| *p *= factor);
        score = c.at;
    }
    // Integer points that add up to the score: floors, then the largest remainders get +1.
    let mut points: Vec<i64> = raw.iter().map(|p| p.floor() as i64).collect();
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| (raw[b] - raw[b].floor()).total_cmp(&(raw[a] - raw[a].floor())));
    let short = score - points.iter().sum::<i64>();
    for &i in order.iter().take(short.max(0) as usize) {
        points[i] += 1;
    }
    let components = present
        .into_iter()
        .zip(points)
        .map(|((name, w, v, reason), points)| ComponentScore {
            name: name.to_owned(),
            score: v.round() as i64,
            weight: (w / total_weight * 1000.0).round() / 1000.0,
            points,
            reason,
        })
        .collect();
    HealthScore { score, band: model.band(score), components, missing, missing_reasons, cap }
}

// Tested in `shared/tests/health_scoring.rs`: each component, missing inputs, bands, weights,
// points that add up over random mixes.
