//! Explainable health score. Each component turns part of
//! the account record into a value from 0 to 100 with a one-line reason; a component without
//! data is left out and its weight spread over the others; the points of the breakdown add up
//! to the score exactly.

use super::account::AccountRecord;
use super::billing::SubscriptionStatus;
use super::lifecycle;
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthScore {
    pub score: i64,
    pub band: Band,
    pub components: Vec<ComponentScore>,
    /// Components left out for lack of data, named so the breakdown says so.
    pub missing: Vec<String>,
}

fn clamp(v: f64) -> f64 {
    v.clamp(0.0, 100.0)
}

fn usage(r: &AccountRecord, now: i64) -> Option<(f64, String)> {
    let u = &r.usage;
    if u.last_seen_at.is_none() && u.events_30d == 0 {
        return None;
    }
    if u.events_7d == 0 || u.active_users_7d == 0 {
        return Some((0.0, "no activity in 7 days".into()));
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
    Some((clamp(ratio.min(1.43) * 70.0), reason))
}

/// Days the 30-day usage window covers: since the subscription started or the first usage
/// day, whichever is earlier, between 7 and 30.
fn usage_window_days(r: &AccountRecord, now: i64) -> f64 {
    let first_day = r.usage.daily.iter().map(|d| d.day).min().map(time::day_start);
    let start = [lifecycle::started_at(&r.billing), first_day].into_iter().flatten().min();
    start.map_or(30.0, |start| ((now - start) as f64 / DAY as f64).clamp(7.0, 30.0))
}

fn adoption(r: &AccountRecord, key_features: usize) -> Option<(f64, String)> {
    if key_features == 0 || (r.usage.last_seen_at.is_none() && r.usage.events_30d == 0) {
        return None;
    }
    let used = r.usage.features_used_30d.len().min(key_features);
    Some((
        clamp(100.0 * used as f64 / key_features as f64),
        format!("{used} of {key_features} key features used in 30 days"),
    ))
}

fn support(r: &AccountRecord) -> Option<(f64, String)> {
    let s = &r.support;
    if r.links.zendesk_organization_id.is_none() && s.tickets_30d == 0 && s.open_tickets == 0 {
        return None;
    }
    let value = 100.0
        - 10.0 * f64::from(s.open_tickets)
        - 25.0 * f64::from(s.urgent_open_tickets)
        - 2.0 * f64::from(s.tickets_30d);
    let reason = match (s.urgent_open_tickets, s.open_tickets) {
        (0, 0) => format!("no open tickets ({} in 30 days)", s.tickets_30d),
        (0, open) => format!("{open} open ticket{}", if open == 1 { "" } else { "s" }),
        (urgent, _) => format!("{urgent} urgent ticket{} open", if urgent == 1 { "" } else { "s" }),
    };
    Some((clamp(value), reason))
}

fn sentiment(r: &AccountRecord) -> Option<(f64, String)> {
    let (good, bad) = (r.support.csat_good_30d, r.support.csat_bad_30d);
    if good + bad == 0 {
        return None;
    }
    Some((clamp(100.0 * f64::from(good) / f64::from(good + bad)), format!("CSAT {good} good / {bad} bad in 30 days")))
}

fn billing(r: &AccountRecord) -> Option<(f64, String)> {
    let b = &r.billing;
    let status = b.status?;
    let mut value: f64 = 100.0;
    let mut risks = Vec::new();
    match status {
        SubscriptionStatus::Canceled | SubscriptionStatus::IncompleteExpired => {
            return Some((0.0, "subscription ended".into()));
        }
        SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid => {
            value = value.min(20.0);
            risks.push(if status == SubscriptionStatus::Unpaid { "unpaid" } else { "past due" }.to_owned());
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
    Some((clamp(value), reason))
}

fn renewal(r: &AccountRecord, window_days: i64, now: i64) -> Option<(f64, String)> {
    let days = time::days_between(now, r.billing.renewal_at?.timestamp());
    if days > window_days {
        return Some((100.0, format!("renewal in {days} days")));
    }
    // Inside the window the renewal itself is a risk to manage: 40 on the day, 100 at the edge.
    let value = 40.0 + 60.0 * days.max(0) as f64 / window_days.max(1) as f64;
    Some((clamp(value), format!("renewal in {} days", days.max(0))))
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
    let missing: Vec<String> =
        candidates.iter().filter(|(_, w, c)| c.is_none() && *w > 0.0).map(|(n, _, _)| (*n).to_owned()).collect();
    let present: Vec<(&str, f64, f64, String)> = candidates
        .into_iter()
        .filter(|(_, w, _)| *w > 0.0)
        .filter_map(|(n, w, c)| c.map(|(v, reason)| (n, w, v, reason)))
        .collect();
    let total_weight: f64 = present.iter().map(|(_, w, _, _)| w).sum();
    if present.is_empty() || total_weight <= 0.0 {
        return HealthScore { score: 0, band: model.band(0), components: Vec::new(), missing };
    }
    let raw: Vec<f64> = present.iter().map(|(_, w, v, _)| w / total_weight * v).collect();
    let score = raw.iter().sum::<f64>().round() as i64;
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
    HealthScore { score, band: model.band(score), components, missing }
}

// Tested in `shared/tests/health_scoring.rs`: each component, missing inputs, bands, weights,
// points that add up over random mixes.
