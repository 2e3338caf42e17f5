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
    /// The `track` event that marks first value (time-to-value). Without one, first value is
    /// the first day of real use by [`FirstValueRule`].
    pub first_value_event: Option<String>,
    /// What counts as first value when no event is configured.
    pub first_value: FirstValueRule,
    /// Group traits naming a Stripe customer and a Zendesk organization.
    pub stripe_trait: String,
    pub zendesk_trait: String,
    /// Contact roles some playbook emails: `identify` calls of these roles (traits `email`,
    /// `role`) are kept as contacts; none by default (nothing personal is stored).
    pub contact_roles: BTreeSet<super::contact::Role>,
    /// The `track` event that carries an NPS answer (`[surveys] nps_event`; properties `score`,
    /// `comment`).
    pub nps_event: Option<String>,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            key_features: BTreeSet::new(),
            first_value_event: None,
            first_value: FirstValueRule::default(),
            stripe_trait: "stripe_customer_id".into(),
            zendesk_trait: "zendesk_organization_id".into(),
            contact_roles: BTreeSet::new(),
            nps_event: Some(DEFAULT_NPS_EVENT.into()),
        }
    }
}

/// The Segment `track` event name of an NPS answer unless `[surveys] nps_event` says otherwise.
pub const DEFAULT_NPS_EVENT: &str = "NPS Survey Responded";

impl AnalyticsConfig {
    /// The rule that decides first value from daily use: none when a first-value event is
    /// configured (then only that event counts).
    pub fn first_value_rule(&self) -> Option<FirstValueRule> {
        self.first_value_event.is_none().then_some(self.first_value)
    }
}

/// First value by default (`../shared/domain.md`, time-to-value): the first day an account shows
/// real use. `[analytics] first_value_active_users` and `first_value_key_feature`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstValueRule {
    /// A day with at least this many distinct active users counts (0: this rule is off).
    pub active_users: u32,
    /// A day on which any key feature was used counts.
    pub key_feature: bool,
}

impl Default for FirstValueRule {
    fn default() -> Self {
        FirstValueRule { active_users: 2, key_feature: true }
    }
}

impl FirstValueRule {
    /// Whether a day's use is real use by this rule.
    pub fn reached_on(&self, day: &UsageDay) -> bool {
        (self.active_users > 0 && day.users.len() >= self.active_users as usize)
            || (self.key_feature && !day.features.is_empty())
    }
}

/// One account's usage on one UTC day. Sets, so adding a batch twice changes nothing and counts
/// stay exact: events = message ids (plus those already settled), daily active users = users.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageDay {
    /// Fingerprints of the day's messages, kept while a redelivery of one can still come
    /// ([`FINGERPRINT_DAYS`]); then [`settle`]d into `settled_events`.
    #[serde(default)]
    pub message_ids: BTreeSet<String>,
    /// Events counted when their fingerprints were dropped.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub settled_events: u64,
    #[serde(default)]
    pub users: BTreeSet<String>,
    #[serde(default)]
    pub features: BTreeSet<String>,
    #[serde(default)]
    pub first_value_at: BTreeSet<i64>,
    /// The latest message time of each batch; last seen is the largest.
    #[serde(default)]
    pub seen_at: BTreeSet<i64>,
    /// When usage was last added to the day (the writer's clock, not the messages' own times):
    /// a message can arrive long after its day, from an offline client, and its second
    /// delivery can follow it by as long as any other's. `None` on days written before it was
    /// kept; those count from their day's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_added_at: Option<i64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl UsageDay {
    /// The day's events: those settled and those still fingerprinted.
    pub fn events(&self) -> u64 {
        self.settled_events.saturating_add(self.message_ids.len() as u64)
    }

    /// Adds another day's usage (a batch's, or a merged account's). Settled counts add up: they
    /// come from different accounts, whose messages were different.
    pub fn absorb(&mut self, other: &UsageDay) {
        self.message_ids.extend(other.message_ids.iter().cloned());
        self.settled_events = self.settled_events.saturating_add(other.settled_events);
        self.users.extend(other.users.iter().cloned());
        self.features.extend(other.features.iter().cloned());
        self.first_value_at.extend(other.first_value_at.iter().copied());
        self.seen_at.extend(other.seen_at.iter().copied());
        self.last_added_at = self.last_added_at.max(other.last_added_at);
    }

    /// When the day's fingerprints may go: [`FINGERPRINT_DAYS`] after the day ends, or after
    /// usage was last added to it if that was later.
    pub fn settles_at(&self, day: NaiveDate) -> i64 {
        let day_end = time::day_start(day) + DAY;
        // Saturating: a stored time far in the future (written by hand) keeps the fingerprints.
        day_end.max(self.last_added_at.unwrap_or(day_end)).saturating_add(FINGERPRINT_DAYS * DAY)
    }
}

/// How long a day keeps its message fingerprints after it ends, or after usage was last added
/// to it if that was later ([`UsageDay::settles_at`]). They exist to drop a message delivered
/// twice, and they are most of a usage day's bytes, which every sweep reads (a day of 333
/// messages is 4,202 bytes with them, 206 without: `cargo bench --bench analytics_ingest`). A second delivery comes within hours from
/// Segment's retries; from the usage fold, which runs daily by default (`UsageFoldSchedule`), a
/// held batch it could not finish is received again at the next run, at most 5 times in all
/// (the backlog's `maxReceiveCount`): up to 5 days after the first of them was folded. Counted
/// from the last addition, a late message (an offline client's, its own time days old) keeps
/// its day's fingerprints for as long as any other.
pub const FINGERPRINT_DAYS: i64 = 6;

/// At most this many days are settled per account and sweep: one a day is the steady state; an
/// account's backlog (the first sweep after an upgrade) goes over the next sweeps.
pub const MAX_SETTLED_PER_SWEEP: usize = 2;

/// A day due to be settled, as the sweep read it. A store settles it only if it is still so:
/// it holds as many fingerprints (a message added since is not dropped uncounted) and usage was
/// last added to it at the same time (a second delivery of a message it holds adds no
/// fingerprint, but starts the window again).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DueDay {
    pub day: NaiveDate,
    pub fingerprints: u64,
    pub last_added_at: Option<i64>,
}

/// The days whose fingerprints are due to be dropped at `now`, oldest first.
pub fn days_to_settle(days: &BTreeMap<NaiveDate, UsageDay>, now: i64) -> Vec<DueDay> {
    days.iter()
        .filter(|(day, usage)| !usage.message_ids.is_empty() && usage.settles_at(**day) <= now)
        .map(|(day, usage)| DueDay {
            day: *day,
            fingerprints: usage.message_ids.len() as u64,
            last_added_at: usage.last_added_at,
        })
        .take(MAX_SETTLED_PER_SWEEP)
        .collect()
}

impl DueDay {
    /// Whether `usage` is still the day as it was read.
    pub fn still_holds(&self, usage: &UsageDay) -> bool {
        self.fingerprints > 0
            && usage.message_ids.len() as u64 == self.fingerprints
            && usage.last_added_at == self.last_added_at
    }
}

/// Drops a day's message fingerprints and adds their number to its settled events: what a
/// store's `settle_day` does to the day it holds.
pub fn settle(usage: &mut UsageDay) {
    usage.settled_events = usage.settled_events.saturating_add(usage.message_ids.len() as u64);
    usage.message_ids.clear();
}

/// The usage part of the record at `now`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageView {
    pub last_seen_at: Option<Timestamp>,
    pub active_users_7d: u32,
    pub events_7d: u64,
    pub events_30d: u64,
    pub features_used_30d: Vec<String>,
    /// First value: the configured event's first time, else the first day of real use by the
    /// [`FirstValueRule`] (the earliest time recorded that day).
    pub first_value_at: Option<Timestamp>,
    /// The first day product analytics saw any use of the account.
    pub first_seen_at: Option<Timestamp>,
    /// Events and distinct active users per day, the last 30 days that had any.
    pub daily: Vec<DailyUsage>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DailyUsage {
    pub day: NaiveDate,
    pub events: u64,
    pub active_users: u32,
}

/// The usage part of the record at `now`; `rule` decides first value when no first-value event is
/// configured (`None`: only the event's times count).
pub fn usage_view(days: &BTreeMap<NaiveDate, UsageDay>, now: i64, rule: Option<FirstValueRule>) -> UsageView {
    let mut view = UsageView::default();
    let mut users_7d = BTreeSet::new();
    let mut features = BTreeSet::new();
    for (day, usage) in days {
        let age = now - time::day_start(*day);
        let events = usage.events();
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
    view.first_value_at = first_value_at(days, rule).map(time::at);
    view.first_seen_at = days.iter().find(|(_, d)| d.events() > 0).map(|(day, d)| time::at(day_time(*day, d)));
    view
}

/// The earliest time recorded on a day (its first batch's latest message), else its start.
fn day_time(day: NaiveDate, usage: &UsageDay) -> i64 {
    let start = time::day_start(day);
    usage.seen_at.iter().copied().filter(|t| (start..start + DAY).contains(t)).min().unwrap_or(start)
}

/// When first value was reached: the configured event's first time (its times are recorded
/// whatever the rule), else the first day of real use by `rule`.
pub fn first_value_at(days: &BTreeMap<NaiveDate, UsageDay>, rule: Option<FirstValueRule>) -> Option<i64> {
    let by_event = days.values().flat_map(|d| d.first_value_at.iter()).min().copied();
    match rule {
        None => by_event,
        Some(rule) => by_event.or_else(|| {
            days.iter().find(|(_, d)| rule.reached_on(d)).map(|(day, d)| {
                let t = day_time(*day, d);
                // The key feature's own time is known when it was also the first-value event.
                d.first_value_at.iter().copied().min().map_or(t, |fv| fv.min(t))
            })
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(ids: &[&str], users: &[&str], seen: i64) -> UsageDay {
        UsageDay {
            message_ids: ids.iter().map(|s| s.to_string()).collect(),
            settled_events: 0,
            users: users.iter().map(|s| s.to_string()).collect(),
            features: ["Export".to_string()].into(),
            first_value_at: [seen].into(),
            seen_at: [seen].into(),
            last_added_at: None,
        }
    }

    fn day(key: &str) -> NaiveDate {
        time::parse_day(key).unwrap()
    }

    fn counts(due: Vec<DueDay>) -> Vec<(NaiveDate, u64)> {
        due.into_iter().map(|due| (due.day, due.fingerprints)).collect()
    }

    #[test]
    fn windows_and_exact_counts() {
        let now = time::day_start(day("2026-11-10")) + 3600;
        let days = BTreeMap::from([
            (day("2026-10-01"), usage(&["a"], &["u1"], 10)),
            (day("2026-11-02"), usage(&["b", "c"], &["u1", "u2"], time::day_start(day("2026-11-02")) + 5)),
            (day("2026-11-09"), usage(&["d", "e", "f"], &["u2", "u3"], time::day_start(day("2026-11-09")) + 7)),
        ]);
        let v = usage_view(&days, now, None);
        assert_eq!((v.events_7d, v.events_30d, v.active_users_7d), (3, 5, 2));
        assert_eq!(v.features_used_30d, ["Export"]);
        assert_eq!(v.last_seen_at, Some(time::at(time::day_start(day("2026-11-09")) + 7)));
        assert_eq!(v.first_value_at, Some(time::at(10)));
        assert_eq!(v.daily.len(), 2);
        assert_eq!(v.first_seen_at, Some(time::at(time::day_start(day("2026-10-01")))), "10 is not on that day");
        let mut twice = days[&day("2026-11-09")].clone();
        twice.absorb(&days[&day("2026-11-09")]);
        assert_eq!(twice, days[&day("2026-11-09")], "absorbing the same day again changes nothing");
    }

    #[test]
    fn first_value_by_default_is_the_first_day_of_real_use() {
        let at = |d: &str, h: i64| time::day_start(day(d)) + h * 3600;
        let plain = |users: &[&str], seen: i64| UsageDay {
            message_ids: ["m".to_string()].into(),
            users: users.iter().map(|u| u.to_string()).collect(),
            seen_at: [seen].into(),
            ..Default::default()
        };
        let mut days = BTreeMap::from([
            (day("2026-11-01"), plain(&["u1"], at("2026-11-01", 9))),
            (day("2026-11-03"), plain(&["u1", "u2"], at("2026-11-03", 15))),
        ]);
        let rule = FirstValueRule::default();
        assert_eq!(first_value_at(&days, Some(rule)), Some(at("2026-11-03", 15)), "two active users");
        assert_eq!(first_value_at(&days, None), None, "a configured event that never happened");
        assert_eq!(first_value_at(&days, Some(FirstValueRule { active_users: 3, key_feature: true })), None);
        assert_eq!(
            first_value_at(&days, Some(FirstValueRule { active_users: 1, key_feature: false })),
            Some(at("2026-11-01", 9))
        );
        let mut feature = plain(&["u1"], at("2026-11-02", 11));
        feature.features.insert("Report Exported".into());
        days.insert(day("2026-11-02"), feature);
        assert_eq!(first_value_at(&days, Some(rule)), Some(at("2026-11-02", 11)), "a key feature");
        assert_eq!(
            first_value_at(&days, Some(FirstValueRule { active_users: 2, key_feature: false })),
            Some(at("2026-11-03", 15))
        );
        let view = usage_view(&days, at("2026-11-05", 12), Some(rule));
        assert_eq!(view.first_value_at, Some(time::at(at("2026-11-02", 11))));
        assert_eq!(view.first_seen_at, Some(time::at(at("2026-11-01", 9))));
    }

    #[test]
    fn a_day_keeps_its_fingerprints_for_its_window_then_counts_them() {
        let d = day("2026-11-02");
        let days = BTreeMap::from([
            (day("2026-10-20"), usage(&[], &["u1"], 0)),
            (day("2026-10-22"), usage(&["w"], &["u1"], 0)),
            (day("2026-10-25"), usage(&["x"], &["u1"], 0)),
            (day("2026-10-30"), usage(&["y", "z"], &["u1"], 0)),
            (d, usage(&["a", "b", "c"], &["u1"], 0)),
        ]);
        let end_of_grace = time::day_start(d) + (1 + FINGERPRINT_DAYS) * DAY;
        let due = |now| days_to_settle(&days, now).into_iter().map(|due| due.day.to_string()).collect::<Vec<_>>();
        assert_eq!(due(end_of_grace - 1), ["2026-10-22", "2026-10-25"], "oldest first, two a sweep");
        let mut only_recent = days.clone();
        only_recent.retain(|day, _| *day == d);
        assert!(days_to_settle(&only_recent, end_of_grace - 1).is_empty(), "a second delivery can still come");
        assert_eq!(counts(days_to_settle(&only_recent, end_of_grace)), [(d, 3)]);

        let now = end_of_grace + 3600;
        let before = usage_view(&days, now, None);
        let mut settled = days.clone();
        for usage in settled.values_mut() {
            settle(usage);
        }
        assert!(settled.values().all(|u| u.message_ids.is_empty()));
        assert!(days_to_settle(&settled, now).is_empty(), "nothing left to drop");
        let after = usage_view(&settled, now, None);
        assert_eq!(after, before, "the view counts settled events as it counted fingerprints");
        assert_eq!(after.events_30d, 7);
        assert_eq!(
            after.first_seen_at,
            Some(time::at(time::day_start(day("2026-10-22")))),
            "a settled day is a day of use"
        );

        // A late message for a settled day is counted with it, and settles in its turn.
        let mut late = settled[&d].clone();
        late.absorb(&usage(&["d"], &[], 0));
        assert_eq!((late.events(), late.settled_events), (4, 3));
        settled.insert(d, late);
        assert_eq!(counts(days_to_settle(&settled, now)), [(d, 1)]);
    }

    /// The window counts from when usage was last added, when that is after the day: a message
    /// of an old day (an offline client's) keeps its fingerprint as long as any message does,
    /// so its second delivery is still dropped.
    #[test]
    fn a_late_message_keeps_its_days_fingerprints_for_the_whole_window() {
        let d = day("2026-10-01");
        let added = time::day_start(day("2026-11-20")) + 5 * 3600;
        let mut late = usage(&["old-offline-message"], &["u1"], 0);
        late.last_added_at = Some(added);
        let days = BTreeMap::from([(d, late.clone())]);
        assert!(days_to_settle(&days, added + FINGERPRINT_DAYS * DAY - 1).is_empty());
        let due = days_to_settle(&days, added + FINGERPRINT_DAYS * DAY);
        assert_eq!(due, [DueDay { day: d, fingerprints: 1, last_added_at: Some(added) }]);
        // A second delivery since the read: no new fingerprint, but a later addition.
        let mut redelivered = late.clone();
        redelivered.absorb(&UsageDay { last_added_at: Some(added + 7 * DAY), ..late.clone() });
        assert!(!due[0].still_holds(&redelivered), "the window starts again");
        assert!(due[0].still_holds(&late));

        // Added inside its own day (an hourly fold): the window still counts from the day's end.
        let mut same_day = usage(&["m"], &["u1"], 0);
        same_day.last_added_at = Some(time::day_start(d) + 3600);
        assert_eq!(same_day.settles_at(d), time::day_start(d) + (1 + FINGERPRINT_DAYS) * DAY);

        // Absorbing keeps the later addition, whichever side holds it.
        let mut earlier = usage(&["n"], &["u1"], 0);
        earlier.last_added_at = Some(added - DAY);
        earlier.absorb(&late);
        assert_eq!(earlier.last_added_at, Some(added));
        late.absorb(&usage(&["p"], &["u1"], 0));
        assert_eq!(late.last_added_at, Some(added));
    }
}
