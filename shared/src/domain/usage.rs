//! Usage rules: what counts as product use (the analytics configuration), per-day usage sets, and
//! the usage part of the record.

use super::time::{self, Timestamp, DAY};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What counts as product use: `[analytics]` in `foresight.toml` (or the `FORESIGHT_*` analytics
/// variables), read by the analytics source when it aggregates messages.
#[derive(Clone, Debug, PartialEq)]
pub struct AnalyticsConfig {
    /// `track` event names that count as key features (adoption breadth).
    pub key_features: BTreeSet<String>,
    /// The `track` event that marks first value (time-to-value).
    pub first_value_event: Option<String>,
    /// Group traits naming a Stripe customer and a Zendesk organization.
    pub stripe_trait: String,
    pub zendesk_trait: String,
    /// Contact roles some playbook emails: `identify` calls of these roles (traits `email`,
    /// `role`) are kept as contacts; none by default (nothing personal is stored).
    pub contact_roles: BTreeSet<super::contact::Role>,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            key_features: BTreeSet::new(),
            first_value_event: None,
            stripe_trait: "stripe_customer_id".into(),
            zendesk_trait: "zendesk_organization_id".into(),
            contact_roles: BTreeSet::new(),
        }
    }
}

/// One account's usage on one UTC day. Sets only, so adding a batch twice changes nothing and
/// counts stay exact: events = message ids, daily active users = users.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageDay {
    #[serde(default)]
    pub message_ids: BTreeSet<String>,
    #[serde(default)]
    pub users: BTreeSet<String>,
    #[serde(default)]
    pub features: BTreeSet<String>,
    #[serde(default)]
    pub first_value_at: BTreeSet<i64>,
    /// The latest message time of each batch; last seen is the largest.
    #[serde(default)]
    pub seen_at: BTreeSet<i64>,
}

impl UsageDay {
    pub fn absorb(&mut self, other: &UsageDay) {
        self.message_ids.extend(other.message_ids.iter().cloned());
        self.users.extend(other.users.iter().cloned());
        self.features.extend(other.features.iter().cloned());
        self.first_value_at.extend(other.first_value_at.iter().copied());
        self.seen_at.extend(other.seen_at.iter().copied());
    }
}

/// The usage part of the record at `now`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageView {
    pub last_seen_at: Option<Timestamp>,
    pub active_users_7d: u32,
    pub events_7d: u64,
    pub events_30d: u64,
    pub features_used_30d: Vec<String>,
    pub first_value_at: Option<Timestamp>,
    /// Events and distinct active users per day, the last 30 days that had any.
    pub daily: Vec<DailyUsage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub day: NaiveDate,
    pub events: u64,
    pub active_users: u32,
}

pub fn usage_view(days: &BTreeMap<NaiveDate, UsageDay>, now: i64) -> UsageView {
    let mut view = UsageView::default();
    let mut users_7d = BTreeSet::new();
    let mut features = BTreeSet::new();
    for (day, usage) in days {
        let age = now - time::day_start(*day);
        let events = usage.message_ids.len() as u64;
        if age < 7 * DAY && age > -DAY {
            view.events_7d += events;
            users_7d.extend(usage.users.iter());
        }
        if age < 30 * DAY && age > -DAY {
            view.events_30d += events;
            features.extend(usage.features.iter().cloned());
            view.daily.push(DailyUsage { day: *day, events, active_users: usage.users.len() as u32 });
        }
    }
    view.active_users_7d = users_7d.len() as u32;
    view.features_used_30d = features.into_iter().collect();
    view.last_seen_at = days.values().flat_map(|d| d.seen_at.iter()).max().copied().map(time::at);
    view.first_value_at = days.values().flat_map(|d| d.first_value_at.iter()).min().copied().map(time::at);
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(ids: &[&str], users: &[&str], seen: i64) -> UsageDay {
        UsageDay {
            message_ids: ids.iter().map(|s| s.to_string()).collect(),
            users: users.iter().map(|s| s.to_string()).collect(),
            features: ["Export".to_string()].into(),
            first_value_at: [seen].into(),
            seen_at: [seen].into(),
        }
    }

    fn day(key: &str) -> NaiveDate {
        time::parse_day(key).unwrap()
    }

    #[test]
    fn windows_and_exact_counts() {
        let now = time::day_start(day("2026-11-10")) + 3600;
        let days = BTreeMap::from([
            (day("2026-10-01"), usage(&["a"], &["u1"], 10)),
            (day("2026-11-02"), usage(&["b", "c"], &["u1", "u2"], time::day_start(day("2026-11-02")) + 5)),
            (day("2026-11-09"), usage(&["d", "e", "f"], &["u2", "u3"], time::day_start(day("2026-11-09")) + 7)),
        ]);
        let v = usage_view(&days, now);
        assert_eq!((v.events_7d, v.events_30d, v.active_users_7d), (3, 5, 2));
        assert_eq!(v.features_used_30d, ["Export"]);
        assert_eq!(v.last_seen_at, Some(time::at(time::day_start(day("2026-11-09")) + 7)));
        assert_eq!(v.first_value_at, Some(time::at(10)));
        assert_eq!(v.daily.len(), 2);
        let mut twice = days[&day("2026-11-09")].clone();
        twice.absorb(&days[&day("2026-11-09")]);
        assert_eq!(twice, days[&day("2026-11-09")], "absorbing the same day again changes nothing");
    }
}
