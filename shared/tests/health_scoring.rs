//! The health score's pure rules (`shared/src/domain/health.rs`, `/work/shared/domain.md` "Health score"):
//! every component's value and one-line reason, band edges, missing inputs and the breakdown's points.

use foresight_shared::app::health_sweep as sweep;
use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::{AccountRecord, StoredAccount};
use foresight_shared::domain::billing::SubscriptionStatus;
use foresight_shared::domain::health::{self, Band, ComponentScore, HealthModel, HealthScore, Weights};
use foresight_shared::domain::time;
use foresight_shared::domain::Segment;
use std::collections::BTreeMap;

/// 2026-11-20T12:00:00Z: a fixed clock.
const NOW: i64 = 1_795_176_000;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

const NAMES: [&str; 6] = ["usage", "adoption", "support", "sentiment", "billing", "renewal"];

fn blank() -> AccountRecord {
    AccountRecord::from_stored(&StoredAccount { account_id: "acct_1".into(), ..Default::default() }, NOW)
}

fn model() -> HealthModel {
    HealthModel { key_features: 4, ..Default::default() }
}

fn features(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("Feature {i}")).collect()
}

/// Every component present, each at an integer value: usage 35 (-50%), adoption 50, support 88,
/// sentiment 75, billing 60, renewal 70 (45 days into a 90-day window).
fn mixed() -> AccountRecord {
    let mut r = blank();
    r.usage.last_seen_at = Some(time::at(NOW - HOUR));
    r.usage.events_30d = 300;
    r.usage.events_7d = 35;
    r.usage.active_users_7d = 4;
    r.usage.features_used_30d = features(2);
    r.links.zendesk_organization_id = Some("org_1".into());
    r.support.open_tickets = 1;
    r.support.tickets_30d = 1;
    r.support.csat_good_30d = 3;
    r.support.csat_bad_30d = 1;
    r.billing.status = Some(SubscriptionStatus::Active);
    r.billing.failed_payments = 2;
    r.billing.contract_renewal_at = Some(time::at(NOW + 45 * DAY));
    r
}

const MIXED_VALUES: [(&str, i64); 6] =
    [("usage", 35), ("adoption", 50), ("support", 88), ("sentiment", 75), ("billing", 60), ("renewal", 70)];

fn component<'a>(h: &'a HealthScore, name: &str) -> &'a ComponentScore {
    h.components.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} in {h:?}"))
}

fn names(h: &HealthScore) -> Vec<&str> {
    h.components.iter().map(|c| c.name.as_str()).collect()
}

/// Scores `r` with the test model and returns the named component's (value, reason).
fn value_of(r: &AccountRecord, name: &str) -> (i64, String) {
    let h = health::score(r, &model(), NOW);
    let c = component(&h, name);
    (c.score, c.reason.clone())
}

fn assert_consistent(h: &HealthScore, context: &str) {
    assert!((0..=100).contains(&h.score), "{context}: score out of range: {h:?}");
    assert_eq!(h.components.iter().map(|c| c.points).sum::<i64>(), h.score, "{context}: points must add up: {h:?}");
    if !h.components.is_empty() {
        let total: f64 = h.components.iter().map(|c| c.weight).sum();
        assert!((total - 1.0).abs() < 0.01, "{context}: weights sum to {total}: {h:?}");
    }
    // A billing cap scales every share down alike.
    let uncapped: f64 = h.components.iter().map(|c| c.weight * c.score as f64).sum();
    let factor = match &h.cap {
        Some(cap) => {
            assert_eq!(h.score, cap.at, "{context}: a cap sets the score: {h:?}");
            // Recomputed from the shown (rounded) weights and values: within a point of the score
            // the cap lowered, which was above the cap.
            assert!(uncapped + 1.0 > cap.at as f64, "{context}: a cap only lowers: {h:?}");
            cap.at as f64 / uncapped
        }
        None => 1.0,
    };
    for c in &h.components {
        assert!(c.points >= 0, "{context}: negative points: {c:?}");
        assert!((0..=100).contains(&c.score), "{context}: component out of range: {c:?}");
        // A component's points are its weighted value (capped), give or take the rounding.
        let share = c.weight * c.score as f64 * factor;
        assert!((c.points as f64 - share).abs() < 1.6, "{context}: {c:?} has points far from its share {share}");
    }
}

// ---------------------------------------------------------------- usage

fn usage_record(events_7d: u64, events_30d: u64, users: u32) -> AccountRecord {
    let mut r = blank();
    r.usage.last_seen_at = Some(time::at(NOW - HOUR));
    r.usage.events_7d = events_7d;
    r.usage.events_30d = events_30d;
    r.usage.active_users_7d = users;
    r
}

#[test]
fn usage_without_activity_in_7_days_is_zero() {
    assert_eq!(value_of(&usage_record(0, 300, 0), "usage"), (0, "no activity for 7 days".to_owned()));
    // Events but no identified active user count as no activity, and so do users without events.
    assert_eq!(value_of(&usage_record(40, 300, 0), "usage"), (0, "no activity for 7 days".to_owned()));
    assert_eq!(value_of(&usage_record(0, 300, 3), "usage"), (0, "no activity for 7 days".to_owned()));
    // Seen once, long ago: scored (0), not missing, and the reason says how long.
    let mut r = blank();
    r.usage.last_seen_at = Some(time::at(NOW - 90 * DAY));
    assert_eq!(value_of(&r, "usage"), (0, "no activity for 90 days".to_owned()));
    let mut r = blank();
    r.usage.last_seen_at = Some(time::at(NOW - 12 * DAY - HOUR));
    assert_eq!(value_of(&r, "usage"), (0, "no activity for 12 days".to_owned()));
}

#[test]
fn usage_steady_rhythm_scores_70() {
    // 300 events in 30 days is a 70-per-week rhythm.
    assert_eq!(
        value_of(&usage_record(70, 300, 5), "usage"),
        (70, "events +0% vs 30-day rhythm, 5 active users".to_owned())
    );
    assert_eq!(
        value_of(&usage_record(70, 300, 1), "usage"),
        (70, "events +0% vs 30-day rhythm, 1 active user".to_owned())
    );
}

#[test]
fn usage_at_plus_43_percent_or_more_scores_100() {
    // 3000 in 30 days = 700 a week.
    assert_eq!(
        value_of(&usage_record(1001, 3000, 9), "usage"),
        (100, "events +43% vs 30-day rhythm, 9 active users".to_owned())
    );
    assert_eq!(
        value_of(&usage_record(994, 3000, 9), "usage"),
        (99, "events +42% vs 30-day rhythm, 9 active users".to_owned())
    );
    // Far above the rhythm: capped at 100.
    assert_eq!(
        value_of(&usage_record(200, 300, 9), "usage"),
        (100, "events +186% vs 30-day rhythm, 9 active users".to_owned())
    );
    assert_eq!(value_of(&usage_record(300, 300, 9), "usage").0, 100);
}

#[test]
fn usage_below_the_rhythm_scales_down() {
    assert_eq!(
        value_of(&usage_record(35, 300, 4), "usage"),
        (35, "events -50% vs 30-day rhythm, 4 active users".to_owned())
    );
    assert_eq!(
        value_of(&usage_record(7, 300, 2), "usage"),
        (7, "events -90% vs 30-day rhythm, 2 active users".to_owned())
    );
    assert_eq!(
        value_of(&usage_record(56, 300, 2), "usage"),
        (56, "events -20% vs 30-day rhythm, 2 active users".to_owned())
    );
}

#[test]
fn usage_is_present_with_events_even_without_a_last_seen_time() {
    let mut r = usage_record(70, 300, 5);
    r.usage.last_seen_at = None;
    assert_eq!(value_of(&r, "usage").0, 70);
}

#[test]
fn usage_without_any_usage_data_is_missing() {
    let h = health::score(&blank(), &model(), NOW);
    assert!(h.missing.contains(&"usage".to_owned()), "{h:?}");
    assert!(!names(&h).contains(&"usage"));
}

// ---------------------------------------------------------------- adoption

#[test]
fn adoption_is_the_share_of_key_features_used() {
    for (used, value) in [(0, 0), (1, 25), (2, 50), (3, 75), (4, 100)] {
        let mut r = usage_record(70, 300, 5);
        r.usage.features_used_30d = features(used);
        assert_eq!(value_of(&r, "adoption"), (value, format!("{used} of 4 key features used in 30 days")), "{used}");
    }
    // Thirds round to the nearest point.
    let three = HealthModel { key_features: 3, ..Default::default() };
    for (used, value) in [(1, 33), (2, 67)] {
        let mut r = usage_record(70, 300, 5);
        r.usage.features_used_30d = features(used);
        let h = health::score(&r, &three, NOW);
        assert_eq!(component(&h, "adoption").score, value);
        assert_eq!(component(&h, "adoption").reason, format!("{used} of 3 key features used in 30 days"));
    }
}

#[test]
fn adoption_never_exceeds_all_key_features() {
    let mut r = usage_record(70, 300, 5);
    r.usage.features_used_30d = features(6);
    assert_eq!(value_of(&r, "adoption"), (100, "4 of 4 key features used in 30 days".to_owned()));
}

#[test]
fn adoption_is_missing_without_key_features_or_without_usage_data() {
    let r = usage_record(70, 300, 5);
    let h = health::score(&r, &HealthModel::default(), NOW);
    assert!(h.missing.contains(&"adoption".to_owned()), "no key features configured: {h:?}");
    assert!(!names(&h).contains(&"adoption"));
    let h = health::score(&blank(), &model(), NOW);
    assert!(h.missing.contains(&"adoption".to_owned()), "no usage data: {h:?}");
}

// ---------------------------------------------------------------- support

fn support_record(open: u32, urgent: u32, recent: u32) -> AccountRecord {
    let mut r = blank();
    r.links.zendesk_organization_id = Some("org_1".into());
    r.support.open_tickets = open;
    r.support.urgent_open_tickets = urgent;
    r.support.tickets_30d = recent;
    r
}

#[test]
fn support_without_tickets_is_full() {
    assert_eq!(value_of(&support_record(0, 0, 0), "support"), (100, "no open tickets (0 in 30 days)".to_owned()));
    // Recent volume costs 2 points a ticket even when all are solved.
    assert_eq!(value_of(&support_record(0, 0, 3), "support"), (94, "no open tickets (3 in 30 days)".to_owned()));
}

#[test]
fn support_open_tickets_cost_10_points_each() {
    assert_eq!(value_of(&support_record(1, 0, 1), "support"), (88, "1 open ticket".to_owned()));
    assert_eq!(value_of(&support_record(3, 0, 3), "support"), (64, "3 open tickets".to_owned()));
}

#[test]
fn support_urgent_tickets_cost_25_more_and_name_the_reason() {
    assert_eq!(value_of(&support_record(1, 1, 1), "support"), (63, "1 urgent ticket open".to_owned()));
    assert_eq!(value_of(&support_record(3, 2, 3), "support"), (14, "2 urgent tickets open".to_owned()));
    // Never below 0.
    assert_eq!(value_of(&support_record(3, 3, 10), "support"), (0, "3 urgent tickets open".to_owned()));
    assert_eq!(value_of(&support_record(0, 0, 60), "support").0, 0);
}

#[test]
fn support_is_present_with_tickets_even_without_an_organization_link() {
    let mut r = support_record(0, 0, 2);
    r.links.zendesk_organization_id = None;
    assert_eq!(value_of(&r, "support"), (96, "no open tickets (2 in 30 days)".to_owned()));
    let mut r = support_record(1, 0, 0);
    r.links.zendesk_organization_id = None;
    assert_eq!(value_of(&r, "support"), (90, "1 open ticket".to_owned()));
    let h = health::score(&blank(), &model(), NOW);
    assert!(h.missing.contains(&"support".to_owned()), "{h:?}");
}

// ---------------------------------------------------------------- sentiment

/// `m` with no weight on support, so that an account with ratings scores its sentiment alone.
fn sentiment_only(m: HealthModel) -> HealthModel {
    HealthModel { weights: Weights { support: 0.0, ..m.weights }, ..m }
}

fn csat(good: u32, bad: u32) -> AccountRecord {
    let mut r = blank();
    r.support.csat_good_30d = good;
    r.support.csat_bad_30d = bad;
    r
}

#[test]
fn sentiment_is_the_share_of_good_ratings() {
    assert_eq!(value_of(&csat(3, 0), "sentiment"), (100, "CSAT 3 good / 0 bad in 30 days".to_owned()));
    assert_eq!(value_of(&csat(0, 2), "sentiment"), (0, "CSAT 0 good / 2 bad in 30 days".to_owned()));
    assert_eq!(value_of(&csat(3, 1), "sentiment"), (75, "CSAT 3 good / 1 bad in 30 days".to_owned()));
    assert_eq!(value_of(&csat(1, 2), "sentiment"), (33, "CSAT 1 good / 2 bad in 30 days".to_owned()));
    assert_eq!(value_of(&csat(2, 1), "sentiment").0, 67);
}

#[test]
fn sentiment_without_ratings_is_missing() {
    let h = health::score(&csat(0, 0), &model(), NOW);
    assert!(h.missing.contains(&"sentiment".to_owned()), "{h:?}");
    assert!(!names(&h).contains(&"sentiment"));
}

// ---------------------------------------------------------------- billing

fn billing(status: SubscriptionStatus) -> AccountRecord {
    let mut r = blank();
    r.billing.status = Some(status);
    r
}

#[test]
fn billing_in_good_standing_is_full() {
    for status in [SubscriptionStatus::Active, SubscriptionStatus::Trialing] {
        assert_eq!(value_of(&billing(status), "billing"), (100, "payments in good standing".to_owned()), "{status:?}");
    }
}

#[test]
fn billing_past_due_and_unpaid_cap_at_20() {
    assert_eq!(value_of(&billing(SubscriptionStatus::PastDue), "billing"), (20, "past due".to_owned()));
    assert_eq!(value_of(&billing(SubscriptionStatus::Unpaid), "billing"), (20, "unpaid".to_owned()));
    let mut r = billing(SubscriptionStatus::PastDue);
    r.billing.failed_payments = 2;
    assert_eq!(value_of(&r, "billing"), (0, "past due, payment failed 2×".to_owned()));
}

#[test]
fn billing_ended_subscription_is_zero_whatever_else() {
    for status in [SubscriptionStatus::Canceled, SubscriptionStatus::IncompleteExpired] {
        assert_eq!(value_of(&billing(status), "billing"), (0, "subscription ended".to_owned()), "{status:?}");
        let mut r = billing(status);
        r.billing.failed_payments = 1;
        r.billing.cancel_at_period_end = true;
        r.billing.disputes.count = 1;
        assert_eq!(value_of(&r, "billing"), (0, "subscription ended".to_owned()), "{status:?}");
    }
}

#[test]
fn billing_failed_payments_cost_20_points_each() {
    for (failed, value) in [(1, 80), (2, 60), (4, 20), (5, 0), (9, 0)] {
        let mut r = billing(SubscriptionStatus::Active);
        r.billing.failed_payments = failed;
        assert_eq!(value_of(&r, "billing"), (value, format!("payment failed {failed}×")), "{failed}");
    }
}

#[test]
fn billing_cancel_at_period_end_caps_at_10() {
    let mut r = billing(SubscriptionStatus::Active);
    r.billing.cancel_at_period_end = true;
    assert_eq!(value_of(&r, "billing"), (10, "set to cancel at period end".to_owned()));
    r.billing.failed_payments = 1;
    assert_eq!(value_of(&r, "billing"), (10, "payment failed 1×, set to cancel at period end".to_owned()));
    let mut r = billing(SubscriptionStatus::PastDue);
    r.billing.cancel_at_period_end = true;
    assert_eq!(value_of(&r, "billing"), (10, "past due, set to cancel at period end".to_owned()));
    let mut r = billing(SubscriptionStatus::Active);
    r.billing.failed_payments = 5;
    r.billing.cancel_at_period_end = true;
    let (value, _) = value_of(&r, "billing");
    assert!(value <= 10, "{value}");
}

#[test]
fn billing_disputes_cost_30_points() {
    let mut r = billing(SubscriptionStatus::Active);
    r.billing.disputes.count = 1;
    assert_eq!(value_of(&r, "billing"), (70, "1 dispute".to_owned()));
    r.billing.disputes.count = 2;
    assert_eq!(value_of(&r, "billing"), (70, "2 disputes".to_owned()));
    let mut all = billing(SubscriptionStatus::PastDue);
    all.billing.failed_payments = 1;
    all.billing.cancel_at_period_end = true;
    all.billing.disputes.count = 1;
    assert_eq!(
        value_of(&all, "billing"),
        (0, "past due, payment failed 1×, set to cancel at period end, 1 dispute".to_owned())
    );
}

#[test]
fn billing_without_a_subscription_status_is_missing() {
    let mut r = blank();
    r.billing.failed_payments = 3;
    let h = health::score(&r, &model(), NOW);
    assert!(h.missing.contains(&"billing".to_owned()), "{h:?}");
    assert!(!names(&h).contains(&"billing"));
}

// ---------------------------------------------------------------- renewal

fn renewing_at(at: i64) -> AccountRecord {
    let mut r = blank();
    r.billing.contract_renewal_at = Some(time::at(at));
    r
}

#[test]
fn renewal_outside_the_window_is_full() {
    assert_eq!(value_of(&renewing_at(NOW + 200 * DAY), "renewal"), (100, "renewal in 200 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW + 91 * DAY), "renewal"), (100, "renewal in 91 days".to_owned()));
}

#[test]
fn renewal_inside_the_window_runs_from_100_at_the_edge_to_40_on_the_day() {
    assert_eq!(value_of(&renewing_at(NOW + 90 * DAY), "renewal"), (100, "renewal in 90 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW + 45 * DAY), "renewal"), (70, "renewal in 45 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW + 30 * DAY), "renewal"), (60, "renewal in 30 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW + 15 * DAY), "renewal"), (50, "renewal in 15 days".to_owned()));
    // Calendar days (UTC), the same at every hour of today: later on the 45th day is 45 days,
    // early on the next one 46 (NOW is at noon).
    assert_eq!(value_of(&renewing_at(NOW + 45 * DAY + 11 * HOUR), "renewal"), (70, "renewal in 45 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW + 45 * DAY + 13 * HOUR), "renewal").1, "renewal in 46 days");
    // On the day (later today) and once passed.
    assert_eq!(value_of(&renewing_at(NOW + 3 * HOUR), "renewal"), (40, "renewal in 0 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW), "renewal"), (40, "renewal in 0 days".to_owned()));
    assert_eq!(value_of(&renewing_at(NOW - 2 * DAY), "renewal"), (40, "renewal in 0 days".to_owned()));
}

#[test]
fn renewal_window_is_configurable() {
    let short = HealthModel { renewal_window_days: 30, ..model() };
    let at = |days: i64| {
        let h = health::score(&renewing_at(NOW + days * DAY), &short, NOW);
        (component(&h, "renewal").score, component(&h, "renewal").reason.clone())
    };
    assert_eq!(at(31), (100, "renewal in 31 days".to_owned()));
    assert_eq!(at(30), (100, "renewal in 30 days".to_owned()));
    assert_eq!(at(15), (70, "renewal in 15 days".to_owned()));
    assert_eq!(at(0), (40, "renewal in 0 days".to_owned()));
}

#[test]
fn renewal_without_a_date_is_missing() {
    // A date that does not parse never reaches the record: the stored subscription is skipped
    // (times are typed from the store on), so "no date" is the one case left.
    let h = health::score(&blank(), &model(), NOW);
    assert!(h.missing.contains(&"renewal".to_owned()), "{h:?}");
    assert!(!names(&h).contains(&"renewal"));
}

// ---------------------------------------------------------------- whole score

#[test]
fn every_component_present_in_a_fixed_order_with_the_expected_weighted_score() {
    let h = health::score(&mixed(), &model(), NOW);
    assert!(h.missing.is_empty(), "{h:?}");
    assert_eq!(names(&h), NAMES);
    for (name, value) in MIXED_VALUES {
        assert_eq!(component(&h, name).score, value, "{name}");
    }
    let w = Weights::default();
    for (name, weight) in w.named() {
        assert!((component(&h, name).weight - weight).abs() < 1e-9, "{name}");
    }
    // 0.30·35 + 0.20·50 + 0.15·88 + 0.10·75 + 0.15·60 + 0.10·70 = 57.2
    assert_eq!(h.score, 57);
    assert_eq!(h.band, Band::Yellow);
    assert_consistent(&h, "mixed");
}

#[test]
fn a_healthy_account_is_green_and_a_troubled_one_red() {
    let mut good = mixed();
    good.usage.events_7d = 70;
    good.usage.features_used_30d = features(4);
    good.support.open_tickets = 0;
    good.support.csat_bad_30d = 0;
    good.billing.failed_payments = 0;
    good.billing.contract_renewal_at = Some(time::at(NOW + 200 * DAY));
    let h = health::score(&good, &model(), NOW);
    assert_eq!(h.band, Band::Green, "{h:?}");
    assert_consistent(&h, "good");

    let mut bad = mixed();
    bad.usage.events_7d = 0;
    bad.support.urgent_open_tickets = 2;
    bad.support.open_tickets = 2;
    bad.billing.status = Some(SubscriptionStatus::PastDue);
    let h = health::score(&bad, &model(), NOW);
    assert_eq!(h.band, Band::Red, "{h:?}");
    assert_consistent(&h, "bad");
}

// ---------------------------------------------------------------- bands

#[test]
fn default_band_edges() {
    let m = HealthModel::default();
    let cases = [
        (0, Band::Red),
        (39, Band::Red),
        (40, Band::Yellow),
        (69, Band::Yellow),
        (70, Band::Green),
        (100, Band::Green),
    ];
    for (score, band) in cases {
        assert_eq!(m.band(score), band, "{score}");
    }
}

#[test]
fn band_edges_of_scored_accounts() {
    // Sentiment alone counts (ratings make Zendesk a connected source, whose support component,
    // no tickets, is given no weight here): the score is the share of good ratings.
    for (good, band) in [(39, Band::Red), (40, Band::Yellow), (69, Band::Yellow), (70, Band::Green)] {
        let h = health::score(&csat(good, 100 - good), &sentiment_only(model()), NOW);
        assert_eq!((h.score, h.band), (i64::from(good), band), "{h:?}");
        assert_consistent(&h, "csat");
    }
}

#[test]
fn configurable_band_edges() {
    let m = sentiment_only(HealthModel { red_below: 50, green_from: 80, ..model() });
    let cases = [(49, Band::Red), (50, Band::Yellow), (79, Band::Yellow), (80, Band::Green)];
    for (score, band) in cases {
        assert_eq!(m.band(score), band, "{score}");
        let good = score as u32;
        let h = health::score(&csat(good, 100 - good), &m, NOW);
        assert_eq!((h.score, h.band), (score, band), "{h:?}");
    }
    // Equal edges leave no yellow band.
    let m = HealthModel { red_below: 60, green_from: 60, ..model() };
    assert_eq!((m.band(59), m.band(60)), (Band::Red, Band::Green));
    // Configured through foresight.toml.
    let s = Settings::parse("[health]\nred_below = 30\ngreen_from = 90\n", "f.toml").unwrap();
    assert_eq!(
        [s.health.band(29), s.health.band(30), s.health.band(89), s.health.band(90)],
        [Band::Red, Band::Yellow, Band::Yellow, Band::Green]
    );
}

// ---------------------------------------------------------------- missing inputs

fn without(name: &str) -> AccountRecord {
    let mut r = mixed();
    match name {
        "usage" => {
            r.usage.last_seen_at = None;
            r.usage.events_7d = 0;
            r.usage.events_30d = 0;
            r.usage.active_users_7d = 0;
        }
        "adoption" => unreachable!("adoption goes missing through the model"),
        // Zendesk gone altogether: its ratings (sentiment) go with its tickets.
        "support" => {
            r.links.zendesk_organization_id = None;
            r.support.open_tickets = 0;
            r.support.urgent_open_tickets = 0;
            r.support.tickets_30d = 0;
            r.support.csat_good_30d = 0;
            r.support.csat_bad_30d = 0;
        }
        "sentiment" => {
            r.support.csat_good_30d = 0;
            r.support.csat_bad_30d = 0;
        }
        "billing" => {
            r.billing.status = None;
            r.billing.failed_payments = 0;
        }
        "renewal" => r.billing.contract_renewal_at = None,
        _ => panic!("{name}"),
    }
    r
}

/// The expected score with `absent` left out: the weighted mean of the others.
fn expected_without(absent: &[&str], weights: &Weights) -> i64 {
    let present: Vec<(f64, f64)> = weights
        .named()
        .iter()
        .filter(|(n, w)| !absent.contains(n) && *w > 0.0)
        .map(|(n, w)| (*w, MIXED_VALUES.iter().find(|(m, _)| m == n).unwrap().1 as f64))
        .collect();
    let total: f64 = present.iter().map(|(w, _)| w).sum();
    present.iter().map(|(w, v)| w / total * v).sum::<f64>().round() as i64
}

#[test]
fn each_component_missing_alone_spreads_its_weight_over_the_rest() {
    let defaults = Weights::default();
    for name in NAMES {
        let (record, model, absent): (AccountRecord, HealthModel, Vec<&str>) = match name {
            "adoption" => (mixed(), HealthModel { key_features: 0, ..Default::default() }, vec!["adoption"]),
            // Usage data also feeds adoption: give adoption no weight to see usage missing alone.
            "usage" => (
                without("usage"),
                HealthModel {
                    key_features: 4,
                    weights: Weights { adoption: 0.0, ..Weights::default() },
                    ..Default::default()
                },
                vec!["usage", "adoption"],
            ),
            // A source never connected leaves out everything it feeds.
            "support" => (without("support"), model(), vec!["support", "sentiment"]),
            other => (without(other), model(), vec![other]),
        };
        let h = health::score(&record, &model, NOW);
        let expected_missing: Vec<&str> = if name == "usage" { vec![name] } else { absent.clone() };
        assert_eq!(h.missing, expected_missing, "{name}: {h:?}");
        assert_eq!(h.components.len(), 6 - absent.len(), "{name}: {h:?}");
        assert!(!names(&h).contains(&name), "{name}");
        assert_eq!(h.score, expected_without(&absent, &model.weights), "{name}: {h:?}");
        // The others keep their proportions: each weight is its default over what is left.
        let left: f64 = model.weights.named().iter().filter(|(n, _)| !absent.contains(n)).map(|(_, w)| w).sum();
        for c in &h.components {
            let original = defaults.named().iter().find(|(n, _)| *n == c.name).unwrap().1;
            assert!((c.weight - original / left).abs() < 0.0006, "{name}: {c:?} vs {}", original / left);
            assert!(c.weight > original, "{name}: {c:?} gained no weight");
        }
        assert_consistent(&h, name);
    }
}

#[test]
fn missing_usage_takes_adoption_with_it() {
    let h = health::score(&without("usage"), &model(), NOW);
    assert_eq!(h.missing, ["usage", "adoption"], "{h:?}");
    assert_eq!(names(&h), ["support", "sentiment", "billing", "renewal"]);
    assert_eq!(h.score, expected_without(&["usage", "adoption"], &Weights::default()));
    assert_consistent(&h, "no usage");
}

#[test]
fn several_components_missing() {
    let mut r = without("renewal");
    r.support.csat_good_30d = 0;
    r.support.csat_bad_30d = 0;
    r.billing.status = None;
    let h = health::score(&r, &model(), NOW);
    assert_eq!(h.missing, ["sentiment", "billing", "renewal"]);
    assert_eq!(names(&h), ["usage", "adoption", "support"]);
    assert_eq!(h.score, expected_without(&["sentiment", "billing", "renewal"], &Weights::default()));
    assert_consistent(&h, "three missing");
}

#[test]
fn one_component_left_takes_all_the_weight() {
    let h = health::score(&billing(SubscriptionStatus::PastDue), &model(), NOW);
    assert_eq!(h.components.len(), 1);
    assert_eq!(h.components[0].weight, 1.0);
    assert_eq!((h.score, h.band, h.components[0].points), (20, Band::Red, 20));
    assert_eq!(h.missing, ["usage", "adoption", "support", "sentiment", "renewal"]);
}

#[test]
fn everything_missing_scores_0_without_components() {
    let h = health::score(&blank(), &model(), NOW);
    assert_eq!(h.score, 0);
    assert_eq!(h.band, Band::Red);
    assert!(h.components.is_empty());
    assert_eq!(h.missing, NAMES);
}

#[test]
fn a_zero_weight_component_is_neither_scored_nor_missing() {
    let m = HealthModel { weights: Weights { support: 0.0, ..Weights::default() }, ..model() };
    // Present but weightless: not scored.
    let h = health::score(&mixed(), &m, NOW);
    assert!(!names(&h).contains(&"support"), "{h:?}");
    assert!(h.missing.is_empty(), "{h:?}");
    assert_eq!(h.score, expected_without(&["support"], &m.weights));
    assert_consistent(&h, "zero support weight");
    // Absent and weightless: not named missing either (Zendesk gone takes its ratings along:
    // sentiment, which has weight, is named).
    let h = health::score(&without("support"), &m, NOW);
    assert_eq!(h.missing, ["sentiment"], "{h:?}");
    assert_eq!(h.components.len(), 4);
    // Without key features and without weight, adoption is silent.
    let m = HealthModel { weights: Weights { adoption: 0.0, ..Weights::default() }, key_features: 0, ..model() };
    let h = health::score(&mixed(), &m, NOW);
    assert!(h.missing.is_empty(), "{h:?}");
    assert!(!names(&h).contains(&"adoption"));
}

#[test]
fn all_weights_zero_scores_nothing() {
    let zero = Weights { usage: 0.0, adoption: 0.0, support: 0.0, sentiment: 0.0, billing: 0.0, renewal: 0.0 };
    let h = health::score(&mixed(), &HealthModel { weights: zero, ..model() }, NOW);
    assert_eq!((h.score, h.components.len(), h.missing.len()), (0, 0, 0), "{h:?}");
}

#[test]
fn weights_need_not_sum_to_one() {
    let doubled = Weights { usage: 0.6, adoption: 0.4, support: 0.3, sentiment: 0.2, billing: 0.3, renewal: 0.2 };
    let a = health::score(&mixed(), &model(), NOW);
    let b = health::score(&mixed(), &HealthModel { weights: doubled, ..model() }, NOW);
    let view = |h: &HealthScore| -> Vec<(String, i64, f64)> {
        h.components.iter().map(|c| (c.name.clone(), c.score, c.weight)).collect()
    };
    assert_eq!((a.score, a.band, view(&a)), (b.score, b.band, view(&b)));
    assert_consistent(&b, "doubled weights");
}

// ---------------------------------------------------------------- points

#[test]
fn points_add_up_exactly_for_the_reference_mix() {
    let h = health::score(&mixed(), &model(), NOW);
    let points: BTreeMap<&str, i64> = h.components.iter().map(|c| (c.name.as_str(), c.points)).collect();
    // Raw shares 10.5, 10, 13.2, 7.5, 9, 7 = 57.2: floors give 56, the largest remainder (usage
    // or sentiment at .5) gets the missing point.
    assert_eq!(points.values().sum::<i64>(), 57);
    assert_eq!((points["adoption"], points["support"], points["billing"], points["renewal"]), (10, 13, 9, 7));
    assert_eq!(points["usage"] + points["sentiment"], 18);
    assert!([10, 11].contains(&points["usage"]) && [7, 8].contains(&points["sentiment"]), "{points:?}");
}

/// A small deterministic generator, so the mixes are the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % below
    }
}

fn random_record(g: &mut Lcg) -> AccountRecord {
    let mut r = blank();
    if g.next(5) > 0 {
        r.usage.last_seen_at = Some(time::at(NOW - HOUR));
        r.usage.events_30d = 1 + g.next(2000);
        r.usage.events_7d = g.next(r.usage.events_30d + 1);
        r.usage.active_users_7d = g.next(30) as u32;
        r.usage.features_used_30d = features(g.next(7) as usize);
    }
    if g.next(4) > 0 {
        r.links.zendesk_organization_id = Some("org".into());
        r.support.open_tickets = g.next(6) as u32;
        r.support.urgent_open_tickets = g.next(u64::from(r.support.open_tickets) + 1) as u32;
        r.support.tickets_30d = r.support.open_tickets + g.next(20) as u32;
    }
    if g.next(3) > 0 {
        r.support.csat_good_30d = g.next(40) as u32;
        r.support.csat_bad_30d = g.next(15) as u32;
    }
    if g.next(6) > 0 {
        let statuses = [
            SubscriptionStatus::Active,
            SubscriptionStatus::Trialing,
            SubscriptionStatus::PastDue,
            SubscriptionStatus::Unpaid,
            SubscriptionStatus::Canceled,
        ];
        r.billing.status = Some(statuses[g.next(statuses.len() as u64) as usize]);
        r.billing.failed_payments = g.next(4) as u32;
        r.billing.cancel_at_period_end = g.next(5) == 0;
        r.billing.disputes.count = u32::from(g.next(8) == 0);
    }
    if g.next(4) > 0 {
        r.billing.contract_renewal_at =
            Some(time::at(NOW + g.next(400) as i64 * DAY + g.next(86_400) as i64 - 2 * DAY));
    }
    r
}

fn random_weights(g: &mut Lcg) -> Weights {
    let mut w = || if g.next(6) == 0 { 0.0 } else { g.next(1000) as f64 / 1000.0 };
    Weights { usage: w(), adoption: w(), support: w(), sentiment: w(), billing: w(), renewal: w() }
}

#[test]
fn points_add_up_for_many_mixes_with_default_weights() {
    let mut g = Lcg(7);
    for i in 0..2_000 {
        let r = random_record(&mut g);
        let h = health::score(&r, &model(), NOW);
        assert_consistent(&h, &format!("mix {i}"));
        assert_eq!(h.band, model().band(h.score));
        assert_eq!(h.components.len() + h.missing.len(), 6, "mix {i}: {h:?}");
    }
}

#[test]
fn points_add_up_for_many_mixes_with_any_weights() {
    let mut g = Lcg(42);
    for i in 0..2_000 {
        let r = random_record(&mut g);
        let m = HealthModel { weights: random_weights(&mut g), key_features: 1 + g.next(5) as usize, ..model() };
        let h = health::score(&r, &m, NOW);
        if h.components.is_empty() {
            assert_eq!(h.score, 0);
            continue;
        }
        assert_consistent(&h, &format!("mix {i} {m:?}"));
    }
}

const TIERS_TOML: &str = "
[tiers.weights.tech_touch]
usage = 0.40
adoption = 0.30
support = 0.05
sentiment = 0.05
billing = 0.15
renewal = 0.05

[tiers.weights.high_touch]
usage = 0.1
adoption = 0.1
support = 0.3
sentiment = 0.3
billing = 0.1
renewal = 0.1

[analytics]
key_features = [\"Feature 0\", \"Feature 1\", \"Feature 2\", \"Feature 3\"]
";

#[test]
fn tier_weight_overrides_are_used_and_points_still_add_up() {
    let settings = Settings::parse(TIERS_TOML, "f.toml").unwrap();
    let tech = HealthModel { weights: settings.tier_weights[&Segment::TechTouch].clone(), ..settings.health.clone() };
    let h = health::score(&mixed(), &tech, NOW);
    for (name, weight) in [("usage", 0.40), ("adoption", 0.30), ("support", 0.05), ("billing", 0.15)] {
        assert!((component(&h, name).weight - weight).abs() < 1e-9, "{name}: {h:?}");
    }
    // 0.40·35 + 0.30·50 + 0.05·88 + 0.05·75 + 0.15·60 + 0.05·70 = 49.65
    assert_eq!(h.score, 50);
    assert_consistent(&h, "tech touch");
    let mut g = Lcg(99);
    for tier in [Segment::TechTouch, Segment::HighTouch] {
        let m = HealthModel { weights: settings.tier_weights[&tier].clone(), ..settings.health.clone() };
        for i in 0..1_000 {
            let h = health::score(&random_record(&mut g), &m, NOW);
            assert_consistent(&h, &format!("{tier} mix {i}"));
        }
    }
}

#[test]
fn the_sweep_scores_each_tier_with_its_own_weights() {
    let settings = Settings::parse(TIERS_TOML, "f.toml").unwrap();
    let mut tech = mixed();
    tech.segment = Segment::TechTouch;
    let scored = sweep::score_account(&tech, &BTreeMap::new(), &settings, NOW).score;
    assert_eq!(scored.score, 50, "{scored:?}");
    assert!((component(&scored, "usage").weight - 0.40).abs() < 1e-9);
    let mut high = mixed();
    high.segment = Segment::HighTouch;
    let scored = sweep::score_account(&high, &BTreeMap::new(), &settings, NOW).score;
    // 0.1·35 + 0.1·50 + 0.3·88 + 0.3·75 + 0.1·60 + 0.1·70 = 70.4
    assert_eq!((scored.score, scored.band), (70, Band::Green), "{scored:?}");
    assert_consistent(&scored, "high touch");
    // Low touch has no override: the [health.weights] (defaults).
    let mut low = mixed();
    low.segment = Segment::LowTouch;
    let scored = sweep::score_account(&low, &BTreeMap::new(), &settings, NOW).score;
    assert_eq!(scored.score, 57);
}

// ---------------------------------------------------------------- silence is data, payment risk, NPS

fn stored(attributes: &[(&str, serde_json::Value)]) -> StoredAccount {
    StoredAccount {
        account_id: "acct_1".into(),
        attributes: attributes.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        ..Default::default()
    }
}

/// A yearly subscription, started 21 days ago, 200 days before its renewal.
fn paying() -> (&'static str, serde_json::Value) {
    let v = serde_json::json!({"id": "sub_1", "status": "active", "mrr": 40_000, "quantity": 5, "currency": "usd",
        "interval": "year", "started_at": NOW - 21 * DAY, "renewal_at": NOW + 200 * DAY,
        "v": format!("{:012}#evt_s", NOW - 21 * DAY)});
    ("sub#sub_1", v)
}

fn missing_reason(h: &HealthScore, component: &str) -> String {
    h.missing_reasons
        .iter()
        .find(|m| m.component == component)
        .unwrap_or_else(|| panic!("{component} is not missing: {h:?}"))
        .reason
        .clone()
}

#[test]
fn connected_but_silent_scores_zero_and_never_connected_is_missing_with_why() {
    use foresight_shared::domain::connection::Source;
    // Pays, known to analytics by a group call, not one event: the clearest churn risk there is.
    let silent = AccountRecord::from_stored(&stored(&[paying(), ("link_analytics", serde_json::json!("acct_1"))]), NOW);
    let h = health::score(&silent, &model(), NOW);
    assert_eq!(value_of(&silent, "usage"), (0, "no product activity in 21 days since signup".to_owned()));
    assert_eq!(value_of(&silent, "adoption"), (0, "0 of 4 key features used in 30 days".to_owned()));
    assert_ne!(h.band, Band::Green, "an account that pays and never uses the product is not green: {h:?}");
    assert_eq!(h.missing, ["support", "sentiment"]);
    assert_eq!(missing_reason(&h, "support"), "no Zendesk organization linked to this account");
    assert_consistent(&h, "silent payer");

    // The same account, never seen by analytics: usage and adoption missing, and the breakdown says
    // whether the account or the whole deployment never connected it.
    let unseen = AccountRecord::from_stored(&stored(&[paying()]), NOW);
    let h = health::score(&unseen, &model(), NOW);
    assert_eq!(h.missing, ["usage", "adoption", "support", "sentiment"]);
    assert_eq!(missing_reason(&h, "usage"), "product analytics has never seen this account (no group call or event)");
    let here = unseen.clone().with_deployment(Some([(Source::Stripe, NOW - 400 * DAY)].into()));
    let h = health::score(&here, &model(), NOW);
    assert_eq!(missing_reason(&h, "usage"), "product analytics is not connected to this deployment");
    assert_eq!(missing_reason(&h, "support"), "Zendesk is not connected to this deployment");
    assert_eq!(
        missing_reason(&h, "sentiment"),
        "Zendesk is not connected to this deployment; surveys is not connected to this deployment"
    );
    let h = health::score(&unseen, &HealthModel { key_features: 0, ..model() }, NOW);
    assert_eq!(missing_reason(&h, "adoption"), "no key features configured ([analytics] key_features)");

    // A Zendesk organization linked before any ticket: support is scored (and full), not missing.
    let linked = AccountRecord::from_stored(&stored(&[paying(), ("link_zendesk", serde_json::json!("9"))]), NOW);
    assert_eq!(value_of(&linked, "support"), (100, "no open tickets (0 in 30 days)".to_owned()));
    // Used once, then nothing: how long it has been.
    let mut stopped = silent.clone();
    stopped.usage.last_seen_at = Some(time::at(NOW - 12 * DAY));
    assert_eq!(value_of(&stopped, "usage"), (0, "no activity for 12 days".to_owned()));
}

/// Every component present and perfect, on a paying account.
fn healthy() -> AccountRecord {
    let mut r = mixed();
    r.usage.events_7d = 100;
    r.usage.features_used_30d = features(4);
    r.support.open_tickets = 0;
    r.support.csat_bad_30d = 0;
    r.billing.failed_payments = 0;
    r.billing.currency = Some("usd".into());
    r.billing.contract_renewal_at = Some(time::at(NOW + 200 * DAY));
    r
}

#[test]
fn payment_risk_caps_the_band_and_says_what_is_owed_since_when() {
    use foresight_shared::domain::billing::PastDue;
    let h = health::score(&healthy(), &model(), NOW);
    assert_eq!((h.band, h.cap.is_none()), (Band::Green, true), "{h:?}");

    // A failed invoice alone (no past_due subscription yet): the money is owed, not green.
    let mut owed = healthy();
    owed.billing.failed_payments = 1;
    owed.billing.past_due = Some(PastDue { amount: 48_000, since: time::at(NOW - 3 * DAY), invoices: 1, reason: None });
    let h = health::score(&owed, &model(), NOW);
    assert_eq!((h.score, h.band), (69, Band::Yellow), "{h:?}");
    let cap = h.cap.clone().expect("capped");
    assert_eq!((cap.band, cap.at), (Band::Yellow, 69));
    assert_eq!(cap.reason, format!("past due: 480.00 USD owed since {}", time::day_key(NOW - 3 * DAY)));
    assert_eq!(
        component(&h, "billing").reason,
        format!("past due: 480.00 USD owed since {}, payment failed 1×", time::day_key(NOW - 3 * DAY))
    );
    assert_eq!(component(&h, "billing").score, 0);
    assert_consistent(&h, "past due");

    // Unpaid, a recent dispute, an ended subscription: red.
    let mut unpaid = healthy();
    unpaid.billing.status = Some(SubscriptionStatus::Unpaid);
    let h = health::score(&unpaid, &model(), NOW);
    assert_eq!((h.band, h.cap.as_ref().map(|c| c.reason.as_str())), (Band::Red, Some("unpaid")), "{h:?}");
    assert_consistent(&h, "unpaid");
    let mut disputed = healthy();
    disputed.billing.disputes.count = 1;
    disputed.billing.disputes.total = 20_000;
    disputed.billing.disputes.last_at = Some(time::at(NOW - 10 * DAY));
    let h = health::score(&disputed, &model(), NOW);
    assert_eq!(h.band, Band::Red, "{h:?}");
    assert_eq!(h.cap.unwrap().reason, format!("payment disputed on {} (200.00 USD)", time::day_key(NOW - 10 * DAY)));
    // A dispute long settled no longer caps (the billing component still counts it).
    disputed.billing.disputes.last_at = Some(time::at(NOW - 200 * DAY));
    assert_eq!(health::score(&disputed, &model(), NOW).cap, None);
    // Below the cap already: no cap recorded.
    let mut owing_and_idle = owed.clone();
    owing_and_idle.usage.events_7d = 0;
    owing_and_idle.usage.features_used_30d.clear();
    let h = health::score(&owing_and_idle, &model(), NOW);
    assert!(h.score < 69 && h.cap.is_none(), "{h:?}");
}

#[test]
fn nps_joins_csat_in_sentiment() {
    let mut r = blank();
    r.surveys.nps_last = Some(2);
    r.surveys.nps_90d = Some(-100);
    r.surveys.nps_responses_90d = 1;
    assert_eq!(value_of(&r, "sentiment"), (0, "NPS -100 (1 response in 90 days)".to_owned()));
    let mut both = csat(3, 1);
    both.surveys.nps_last = Some(10);
    both.surveys.nps_90d = Some(50);
    both.surveys.nps_responses_90d = 4;
    assert_eq!(
        value_of(&both, "sentiment"),
        (75, "CSAT 3 good / 1 bad in 30 days; NPS +50 (4 responses in 90 days)".to_owned())
    );
    both.surveys.nps_90d = Some(100);
    assert_eq!(value_of(&both, "sentiment").0, 88, "(75 + 100) / 2");
}
