//! Renewal windows as pure rules (`shared/src/domain/renewal.rs`, `/work/shared/domain.md`
//! "Renewal windows"): which window an account is in, what the sweep reads from the index, the
//! episode and dedupe key, escalation of a renewal at risk, and how long the raised mark lasts.

use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::{AccountRecord, StoredAccount};
use foresight_shared::domain::alert::{self, AlertKind, AlertRules, HealthFacts, Severity};
use foresight_shared::domain::health::Band;
use foresight_shared::domain::renewal::{
    self, index_keys, index_ranges, months_between, renewal_signal, window_for, RenewalRules, WindowRange,
};
use foresight_shared::domain::time::{self, rfc3339};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// 2026-11-20T12:00:00Z: a fixed clock.
const NOW: i64 = 1_795_176_000;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

fn record(status: &str, renewal_at: i64, extra: &[(&str, Value)]) -> AccountRecord {
    let mut attributes: BTreeMap<String, Value> = BTreeMap::new();
    attributes.insert(
        "sub#sub_1".into(),
        json!({"id": "sub_1", "status": status, "mrr": 400_000, "quantity": 5, "currency": "usd",
               "interval": "year", "renewal_at": renewal_at, "v": format!("{:012}#evt_1", NOW - 300 * DAY)}),
    );
    attributes.insert("customer".into(), json!({"name": "Acme", "v": format!("{:012}#evt_c", NOW - 300 * DAY)}));
    for (name, value) in extra {
        attributes.insert((*name).into(), value.clone());
    }
    let stored = StoredAccount { account_id: "acct_1".into(), attributes, ..Default::default() };
    let mut r = AccountRecord::from_stored(&stored, NOW);
    r.segment = Settings::default().tier(r.billing.arr);
    r
}

fn health(band: Band, score: i64, change_7d: Option<i64>) -> HealthFacts {
    HealthFacts { score: Some(score), band: Some(band), change_7d, reasons: vec![] }
}

fn green() -> HealthFacts {
    health(Band::Green, 82, Some(1))
}

#[test]
fn the_window_is_the_smallest_that_holds_the_days_to_renewal() {
    let rules = RenewalRules::default();
    assert_eq!(rules.windows, [90, 60, 30]);
    let cases = [(91, None), (90, Some(90)), (61, Some(90)), (60, Some(60)), (31, Some(60)), (30, Some(30))];
    for (days, window) in cases {
        assert_eq!(window_for(&rules, days), window, "{days} days");
    }
    assert_eq!(window_for(&rules, 0), Some(30), "on the day");
    assert_eq!(window_for(&rules, -1), None, "passed");
}

#[test]
fn window_edges_by_the_clock() {
    let rules = RenewalRules::default();
    let at = |renewal: i64| renewal_signal(&record("active", renewal, &[]), &green(), &rules, NOW);
    // 90 days and 23 hours away is still "in 90 days" (whole days, as the lifecycle counts).
    assert_eq!(at(NOW + 90 * DAY + 23 * HOUR).map(|s| s.window), Some(90));
    assert_eq!(at(NOW + 91 * DAY), None, "91 days: outside every window");
    assert_eq!(at(NOW + 60 * DAY + HOUR).map(|s| (s.window, s.days)), Some((60, 60)));
    assert_eq!(at(NOW + 61 * DAY).map(|s| s.window), Some(90));
    assert_eq!(at(NOW + HOUR).map(|s| (s.window, s.days)), Some((30, 0)));
    assert_eq!(at(NOW - HOUR), None, "the date passed");
}

#[test]
fn episode_and_dedupe_key_name_the_window_and_the_renewal_day() {
    let rules = RenewalRules::default();
    let r = record("active", NOW + 60 * DAY + 2 * HOUR, &[]);
    let found = renewal_signal(&r, &green(), &rules, NOW).unwrap();
    assert_eq!(found.signal.kind, AlertKind::Renewal);
    assert_eq!(found.signal.episode, "60d/2027-01-19");
    assert_eq!(found.signal.local_key(), "renewal/60d/2027-01-19");
    let built = alert::alert(&r, &found.signal, &green(), &AlertRules::default(), "renewal-sweep", NOW);
    assert_eq!(built.dedupe_key, "acct_1/renewal/60d/2027-01-19");
    assert_eq!(built.tier.as_str(), "low_touch", "the alert carries the tier the dispatcher routes by");
    assert_eq!(
        found.signal.headline,
        "Renewal in 60 days (2027-01-19) — health green 82, up 1 in 7 days, MRR 4,000.00 USD: plan the renewal conversation"
    );
    assert!(!found.at_risk);
    assert_eq!(found.severity, Severity::Opportunity);

    // Raised once: the same window and date is never due again; the next window is.
    let mut raised = BTreeMap::new();
    raised.insert(found.signal.local_key(), NOW);
    assert!(alert::due(vec![found.signal.clone()], &raised, &AlertRules::default(), NOW + DAY).is_empty());
    let later = renewal_signal(&r, &green(), &rules, NOW + 31 * DAY).unwrap();
    assert_eq!(later.signal.local_key(), "renewal/30d/2027-01-19");
    assert_eq!(alert::due(vec![later.signal.clone()], &raised, &AlertRules::default(), NOW + 31 * DAY).len(), 1);
    // A renewal date that moved is a new episode.
    let moved = renewal_signal(&record("active", NOW + 59 * DAY, &[]), &green(), &rules, NOW).unwrap();
    assert_eq!(moved.signal.local_key(), "renewal/60d/2027-01-18");
}

#[test]
fn not_green_cancelling_or_failing_payments_escalate() {
    let rules = RenewalRules::default();
    let renewal = NOW + 30 * DAY + HOUR;
    let yellow =
        renewal_signal(&record("active", renewal, &[]), &health(Band::Yellow, 55, Some(-12)), &rules, NOW).unwrap();
    assert!(yellow.at_risk);
    assert_eq!(yellow.severity, Severity::Risk);
    assert_eq!(
        yellow.signal.headline,
        "Renewal in 30 days (2026-12-20) — health yellow 55, down 12 in 7 days, MRR 4,000.00 USD: at risk: escalate and prepare a QBR"
    );

    let cancelling = record("active", renewal, &[]);
    let mut cancelling_sub = cancelling.clone();
    cancelling_sub.billing.cancel_at_period_end = true;
    let found = renewal_signal(&cancelling_sub, &green(), &rules, NOW).unwrap();
    assert!(found.at_risk && found.signal.headline.contains("set to cancel at period end"), "{found:?}");

    let failing = record(
        "past_due",
        renewal,
        &[("pf#in_1#1", json!({"at": NOW - DAY, "amount": 400_000})), ("pf#in_1#2", json!({"at": NOW, "amount": 1}))],
    );
    let found = renewal_signal(&failing, &green(), &rules, NOW).unwrap();
    assert!(found.at_risk && found.signal.headline.contains("payment failed 2×"), "{found:?}");

    // Urgent tickets are context, not on their own an escalation; not scored yet is said so.
    let mut busy = record("active", renewal, &[]);
    busy.support.urgent_open_tickets = 2;
    let unscored = HealthFacts { score: None, band: None, change_7d: None, reasons: vec![] };
    let found = renewal_signal(&busy, &unscored, &rules, NOW).unwrap();
    assert!(!found.at_risk);
    assert!(
        found.signal.headline.contains("health not scored yet, 2 urgent tickets open"),
        "{}",
        found.signal.headline
    );
}

#[test]
fn only_paying_subscriptions_renew() {
    let rules = RenewalRules::default();
    for status in ["trialing", "paused", "canceled", "incomplete"] {
        assert_eq!(renewal_signal(&record(status, NOW + 30 * DAY, &[]), &green(), &rules, NOW), None, "{status}");
    }
    for status in ["active", "past_due", "unpaid"] {
        assert!(renewal_signal(&record(status, NOW + 30 * DAY, &[]), &green(), &rules, NOW).is_some(), "{status}");
    }
}

#[test]
fn index_ranges_cover_each_window_day_and_its_catch_up_without_overlap() {
    let rules = RenewalRules::default();
    let ranges = index_ranges(&rules, NOW);
    assert_eq!(
        ranges,
        [
            WindowRange { window: 90, from: NOW + 88 * DAY, to: NOW + 91 * DAY },
            WindowRange { window: 60, from: NOW + 58 * DAY, to: NOW + 61 * DAY },
            WindowRange { window: 30, from: NOW + 28 * DAY, to: NOW + 31 * DAY },
        ]
    );
    // Every renewal in a range is in that range's window.
    for r in &ranges {
        for t in [r.from, r.to - 1] {
            assert_eq!(window_for(&rules, renewal::days_until(t, NOW)), Some(r.window));
        }
    }
    // Daily runs read adjacent day ranges: nothing between two runs is missed.
    let tomorrow = index_ranges(&rules, NOW + DAY);
    assert_eq!(tomorrow[0].to - DAY, ranges[0].to);
    // Close windows: the catch-up stops at the next smaller window's range.
    let close = RenewalRules { windows: vec![10, 9, 1], catch_up_days: 5 };
    let ranges = index_ranges(&close, NOW);
    assert_eq!(ranges[0].from, NOW + 10 * DAY);
    assert_eq!(ranges[1].from, NOW + 4 * DAY);
    assert_eq!(ranges[2].from, NOW);
    let none = RenewalRules { windows: vec![30], catch_up_days: 0 };
    assert_eq!(index_ranges(&none, NOW), [WindowRange { window: 30, from: NOW + 30 * DAY, to: NOW + 31 * DAY }]);
}

#[test]
fn index_keys_sort_by_time_and_months_cover_a_range() {
    let (month, key) = index_keys("acct_1", NOW + 41 * DAY);
    assert_eq!((month.as_str(), key.as_str()), ("2026-12", "2026-12-31T12:00:00Z#acct_1"));
    assert!(index_keys("b", NOW).1 < index_keys("a", NOW + 1).1, "time first, then the account");
    assert_eq!(months_between(NOW + 40 * DAY, NOW + 43 * DAY), ["2026-12", "2027-01"]);
    assert_eq!(months_between(NOW, NOW + DAY), ["2026-11"]);
    assert!(months_between(NOW, NOW).is_empty());
    assert_eq!(rfc3339(NOW), "2026-11-20T12:00:00Z");
}

#[test]
fn the_health_sweep_keeps_renewal_marks_until_the_date_passes() {
    let rules = AlertRules::default();
    let mut raised = BTreeMap::new();
    raised.insert("renewal/30d/2026-12-20".to_owned(), NOW - 10 * DAY);
    raised.insert("renewal/90d/2026-11-19".to_owned(), NOW - 90 * DAY);
    // The health sweep never sees renewal signals; the mark of a date still ahead stays.
    assert_eq!(alert::expired_marks(&raised, &[], &rules, NOW), ["renewal/90d/2026-11-19"]);
}

#[test]
fn renewal_settings_are_validated_and_documented() {
    let s = Settings::parse(include_str!("../../foresight.example.toml"), "foresight.example.toml").unwrap();
    assert_eq!(s.renewal, RenewalRules::default());
    assert_eq!(s.alerts.cooldown_days.of(AlertKind::Renewal), 0);
}

#[test]
fn only_yearly_subscriptions_have_renewal_alerts_and_an_add_on_does_not_hide_the_contract() {
    let monthly = record("active", NOW + 30 * DAY, &[]);
    let mut monthly = monthly;
    monthly.billing.subscriptions[0].interval = Some("month".into());
    assert_eq!(renewal::contract_renewal_at(&monthly), None);
    assert!(renewal::renewal_signal(&monthly, &health(Band::Green, 80, None), &RenewalRules::default(), NOW).is_none());
    // An annual contract renewing in 60 days with a monthly add-on renewing in 10.
    let mut both = record("active", NOW + 60 * DAY, &[]);
    let mut add_on = both.billing.subscriptions[0].clone();
    add_on.id = "sub_addon".into();
    add_on.interval = Some("month".into());
    add_on.renewal_at = Some(time::at(NOW + 10 * DAY));
    both.billing.subscriptions.push(add_on);
    assert_eq!(renewal::contract_renewal_at(&both), Some(NOW + 60 * DAY));
    let signal = renewal::renewal_signal(&both, &health(Band::Green, 80, None), &RenewalRules::default(), NOW).unwrap();
    assert_eq!(signal.window, 60);
}
