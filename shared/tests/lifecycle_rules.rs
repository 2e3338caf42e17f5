//! Lifecycle stage, time-to-value and seat utilisation (`shared/src/domain/lifecycle.rs`), and the
//! `[alerts]` and `[tiers]` parts of `foresight.toml` (`shared/src/app/settings.rs`).

use foresight_shared::app::settings::{Settings, SettingsError};
use foresight_shared::domain::account::{AccountRecord, StoredAccount};
use foresight_shared::domain::alert::{AlertKind, AlertRules, CooldownDays};
use foresight_shared::domain::lifecycle::Lifecycle;
use foresight_shared::domain::lifecycle::{self, LifecycleRules};
use foresight_shared::domain::time::{self, rfc3339};
use foresight_shared::domain::Segment;
use serde_json::{json, Value};

/// 2026-11-20T12:00:00Z: a fixed clock.
const NOW: i64 = 1_795_176_000;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// A yearly subscription unless `extra` says otherwise (renewal stages follow the yearly
/// contract only).
fn subscription(id: &str, status: &str, extra: Value) -> (String, Value) {
    let mut v = json!({"id": id, "status": status, "mrr": 10_000, "quantity": 1, "interval": "year",
                       "v": format!("{:012}#evt_{id}", NOW - 40 * DAY)});
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), extra) {
        map.extend(extra);
    }
    (format!("sub#{id}"), v)
}

fn record(subscriptions: &[(String, Value)]) -> AccountRecord {
    let stored = StoredAccount {
        account_id: "acct_1".into(),
        attributes: subscriptions.iter().cloned().collect(),
        ..Default::default()
    };
    AccountRecord::from_stored(&stored, NOW)
}

fn active(extra: Value) -> AccountRecord {
    record(&[subscription("sub_1", "active", extra)])
}

/// The stage where first value is measurable (analytics knows the account, or the deployment
/// had analytics when it started).
fn measurable(r: &AccountRecord) -> Lifecycle {
    lifecycle::stage(&r.billing, &r.usage, &LifecycleRules::default(), true, NOW)
}

fn stage(r: &AccountRecord) -> Lifecycle {
    stage_by(r, &LifecycleRules::default(), NOW)
}

fn stage_by(r: &AccountRecord, rules: &LifecycleRules, now: i64) -> Lifecycle {
    lifecycle::stage(&r.billing, &r.usage, rules, false, now)
}

// ---------------------------------------------------------------- stage

#[test]
fn churned_when_no_live_subscription_is_left() {
    assert_eq!(stage(&record(&[subscription("sub_1", "canceled", json!({}))])), Lifecycle::Churned);
    let ended =
        record(&[subscription("sub_1", "canceled", json!({})), subscription("sub_2", "incomplete_expired", json!({}))]);
    assert_eq!(stage(&ended), Lifecycle::Churned);
    // One live subscription is enough to stay.
    let one_left =
        record(&[subscription("sub_1", "canceled", json!({})), subscription("sub_2", "past_due", json!({}))]);
    assert_ne!(stage(&one_left), Lifecycle::Churned);
    // No billing data at all is not churn.
    assert_eq!(stage(&record(&[])), Lifecycle::Adoption);
}

#[test]
fn churn_comes_before_every_other_stage() {
    let r = record(&[subscription(
        "sub_1",
        "canceled",
        json!({"started_at": NOW - 5 * DAY, "renewal_at": NOW + 5 * DAY, "quantity": 10}),
    )]);
    assert_eq!(measurable(&r), Lifecycle::Churned);
}

#[test]
fn onboarding_while_trialing() {
    let trial = record(&[subscription("sub_1", "trialing", json!({"trial_end": NOW + 7 * DAY}))]);
    assert_eq!(stage(&trial), Lifecycle::Onboarding);
    assert_eq!(trial.lifecycle, Lifecycle::Onboarding, "from_stored sets the stage by the default rules");
    // A trial beats renewal and expansion, and lasts even after first value.
    let mut busy = record(&[subscription(
        "sub_1",
        "trialing",
        json!({"renewal_at": NOW + 5 * DAY, "quantity": 10, "started_at": NOW - 10 * DAY}),
    )]);
    busy.usage.active_users_7d = 10;
    busy.usage.first_value_at = Some(time::at(NOW - DAY));
    assert_eq!(measurable(&busy), Lifecycle::Onboarding);
    assert_eq!(stage(&busy), Lifecycle::Onboarding);
    // Any trialing subscription next to a paid one.
    let mixed = record(&[subscription("sub_1", "active", json!({})), subscription("sub_2", "trialing", json!({}))]);
    assert_eq!(stage(&mixed), Lifecycle::Onboarding);
}

#[test]
fn onboarding_until_first_value_wherever_first_value_is_measurable() {
    let mut r = active(json!({"started_at": NOW - 30 * DAY}));
    assert_eq!(measurable(&r), Lifecycle::Onboarding);
    assert_eq!(stage(&r), Lifecycle::Adoption, "nothing could have seen first value: onboarding ended with the trial");
    r.usage.first_value_at = Some(time::at(NOW - 25 * DAY));
    assert_eq!(measurable(&r), Lifecycle::Adoption);
    // No start known: not onboarding.
    assert_eq!(measurable(&active(json!({}))), Lifecycle::Adoption);
    // Pending first value beats renewal and expansion.
    let mut r = active(json!({"started_at": NOW - 30 * DAY, "renewal_at": NOW + DAY, "quantity": 4}));
    r.usage.active_users_7d = 4;
    assert_eq!(measurable(&r), Lifecycle::Onboarding);
}

#[test]
fn first_value_is_measurable_when_analytics_knows_the_account_or_the_deployment_had_it_at_the_start() {
    use foresight_shared::domain::connection::Source;
    let start = NOW - 30 * DAY;
    let r = active(json!({"started_at": start}));
    assert!(!r.first_value_measurable(), "no analytics anywhere");
    let with = |since: i64| r.clone().with_deployment(Some([(Source::Analytics, since)].into()));
    assert!(with(start - 10 * DAY).first_value_measurable(), "analytics was on when the account started");
    assert!(with(start + DAY).first_value_measurable(), "on its first day");
    assert!(!with(start + 2 * DAY).first_value_measurable(), "connected later: its onboarding was never seen");
    assert_eq!(with(start - DAY).with_lifecycle(&LifecycleRules::default(), NOW).lifecycle, Lifecycle::Onboarding);
    let stored = StoredAccount {
        account_id: "acct_1".into(),
        attributes: [
            subscription("sub_1", "active", json!({"started_at": start})),
            ("link_analytics".to_owned(), json!("acct_1")),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    };
    let grouped = AccountRecord::from_stored(&stored, NOW);
    assert!(grouped.knows(Source::Analytics) && grouped.first_value_measurable(), "a group call is enough");
    assert_eq!(grouped.lifecycle, Lifecycle::Onboarding);
}

#[test]
fn a_monthly_plans_period_end_moves_neither_the_stage_nor_the_score() {
    use foresight_shared::domain::health::{self, HealthModel};
    // The same monthly customer the day after its period began and two days before it ends.
    let monthly =
        |renewal_at: i64| active(json!({"interval": "month", "renewal_at": renewal_at, "started_at": NOW - 200 * DAY}));
    let (early, late) = (monthly(NOW + 29 * DAY), monthly(NOW + 2 * DAY));
    assert_eq!((stage(&early), stage(&late)), (Lifecycle::Adoption, Lifecycle::Adoption));
    assert_eq!(lifecycle::days_to_renewal(&late.billing, NOW), None, "a monthly period end is not a renewal");
    let model = HealthModel::default();
    let (a, b) = (health::score(&early, &model, NOW), health::score(&late, &model, NOW));
    assert_eq!(a.score, b.score);
    assert!(b.missing.contains(&"renewal".to_owned()), "{b:?}");
    let why = b.missing_reasons.iter().find(|m| m.component == "renewal").unwrap();
    assert_eq!(why.reason, "no yearly contract to renew (monthly plans renew every month)");
    // A yearly add-on gives the account a contract: its renewal counts.
    let both = record(&[
        subscription("sub_m", "active", json!({"interval": "month", "renewal_at": NOW + 2 * DAY})),
        subscription("sub_y", "active", json!({"renewal_at": NOW + 40 * DAY})),
    ]);
    assert_eq!(lifecycle::days_to_renewal(&both.billing, NOW), Some(40));
    assert_eq!(stage(&both), Lifecycle::Renewal);
}

#[test]
fn renewal_inside_the_window() {
    for days in [0, 1, 30, 89, 90] {
        let r = active(json!({"renewal_at": NOW + days * DAY + HOUR}));
        assert_eq!(stage(&r), Lifecycle::Renewal, "{days} days");
    }
    let later_today = active(json!({"renewal_at": NOW + HOUR}));
    assert_eq!(stage(&later_today), Lifecycle::Renewal);
    let earlier_today = active(json!({"renewal_at": NOW - HOUR}));
    assert_eq!(stage(&earlier_today), Lifecycle::Renewal, "the renewal day, in calendar days");
    for at in [NOW + 91 * DAY, NOW + 365 * DAY, NOW - DAY, NOW - 10 * DAY] {
        let r = active(json!({"renewal_at": at}));
        assert_eq!(stage(&r), Lifecycle::Adoption, "renewal at {}", rfc3339(at));
    }
    // Configurable window.
    let short = LifecycleRules { renewal_window_days: 30, ..Default::default() };
    assert_eq!(stage_by(&active(json!({"renewal_at": NOW + 30 * DAY})), &short, NOW), Lifecycle::Renewal);
    assert_eq!(stage_by(&active(json!({"renewal_at": NOW + 31 * DAY})), &short, NOW), Lifecycle::Adoption);
    // The earliest renewal of the live subscriptions counts.
    let two = record(&[
        subscription("sub_1", "active", json!({"renewal_at": NOW + 200 * DAY})),
        subscription("sub_2", "active", json!({"renewal_at": NOW + 20 * DAY})),
        subscription("sub_3", "canceled", json!({"renewal_at": NOW + 2 * DAY})),
    ]);
    assert_eq!(lifecycle::days_to_renewal(&two.billing, NOW), Some(20));
    assert_eq!(stage(&two), Lifecycle::Renewal);
}

#[test]
fn days_to_renewal_counts_whole_days_and_goes_negative_once_passed() {
    // Calendar days (UTC; NOW is at noon): the same all day, whatever the renewal's hour.
    let days = |at: i64| lifecycle::days_to_renewal(&active(json!({"renewal_at": at})).billing, NOW);
    assert_eq!(days(NOW + 10 * DAY + 11 * HOUR), Some(10));
    assert_eq!(days(NOW + 10 * DAY + 13 * HOUR), Some(11));
    assert_eq!(days(NOW), Some(0));
    assert_eq!(days(NOW - HOUR), Some(0), "earlier today is still the renewal day");
    assert_eq!(days(NOW - 13 * HOUR), Some(-1), "yesterday");
    assert_eq!(lifecycle::days_to_renewal(&active(json!({})).billing, NOW), None);
}

#[test]
fn expansion_from_the_seat_utilisation_threshold() {
    let with_users = |quantity: u64, users: u32| {
        let mut r = active(json!({"quantity": quantity}));
        r.usage.active_users_7d = users;
        r
    };
    assert_eq!(stage(&with_users(10, 9)), Lifecycle::Expansion);
    assert_eq!(stage(&with_users(10, 12)), Lifecycle::Expansion);
    assert_eq!(stage(&with_users(10, 8)), Lifecycle::Adoption);
    assert_eq!(stage(&with_users(1, 1)), Lifecycle::Adoption, "single seat: no utilisation");
    let half = LifecycleRules { expansion_seat_utilisation: 0.5, ..Default::default() };
    assert_eq!(stage_by(&with_users(10, 5), &half, NOW), Lifecycle::Expansion);
    assert_eq!(stage_by(&with_users(10, 4), &half, NOW), Lifecycle::Adoption);
    // Renewal comes before expansion.
    let mut r = active(json!({"quantity": 10, "renewal_at": NOW + 10 * DAY}));
    r.usage.active_users_7d = 10;
    assert_eq!(stage(&r), Lifecycle::Renewal);
    // Only a paying, current account is expanding: not one past due or set to cancel.
    let mut owing = record(&[subscription("sub_1", "past_due", json!({"quantity": 10}))]);
    owing.usage.active_users_7d = 10;
    assert_eq!(stage(&owing), Lifecycle::Adoption);
    let mut leaving = active(json!({"quantity": 10, "cancel_at_period_end": true}));
    leaving.usage.active_users_7d = 10;
    assert_eq!(stage(&leaving), Lifecycle::Adoption);
}

#[test]
fn adoption_otherwise() {
    let mut r = active(json!({"quantity": 10, "renewal_at": NOW + 200 * DAY, "started_at": NOW - 100 * DAY}));
    r.usage.active_users_7d = 3;
    r.usage.first_value_at = Some(time::at(NOW - 90 * DAY));
    assert_eq!(measurable(&r), Lifecycle::Adoption);
    assert_eq!(r.lifecycle, Lifecycle::Adoption);
    assert_eq!(stage(&record(&[subscription("sub_1", "past_due", json!({}))])), Lifecycle::Adoption);
}

#[test]
fn with_lifecycle_applies_the_given_rules() {
    let r = active(json!({"renewal_at": NOW + 50 * DAY}));
    assert_eq!(r.lifecycle, Lifecycle::Renewal);
    let short = LifecycleRules { renewal_window_days: 30, ..Default::default() };
    assert_eq!(r.with_lifecycle(&short, NOW).lifecycle, Lifecycle::Adoption);
}

// ---------------------------------------------------------------- time to value, seats

#[test]
fn time_to_value_in_days_to_a_tenth() {
    let start = NOW - 30 * DAY;
    let with_value = |at: i64| {
        let mut r = active(json!({"started_at": start}));
        r.usage.first_value_at = Some(time::at(at));
        lifecycle::time_to_value_days(&r.billing, &r.usage)
    };
    assert_eq!(with_value(start + 2 * DAY + 12 * HOUR), Some(2.5));
    assert_eq!(with_value(start + DAY + HOUR), Some(1.0));
    assert_eq!(with_value(start + DAY + 3 * HOUR), Some(1.1));
    // Rounded to the nearest tenth, not cut: 1.06 → 1.1, 2.96 → 3.0.
    assert_eq!(with_value(start + DAY + 90 * 60), Some(1.1));
    assert_eq!(with_value(start + 2 * DAY + 23 * HOUR), Some(3.0));
    assert_eq!(with_value(start), Some(0.0));
    assert_eq!(with_value(start + 14 * DAY), Some(14.0));
    // A value event seen before the recorded start counts as immediate.
    assert_eq!(with_value(start - DAY), Some(0.0));
}

#[test]
fn time_to_value_needs_a_start_and_a_value() {
    assert_eq!(
        {
            let r = active(json!({"started_at": NOW - DAY}));
            lifecycle::time_to_value_days(&r.billing, &r.usage)
        },
        None
    );
    let mut r = active(json!({}));
    r.usage.first_value_at = Some(time::at(NOW));
    assert_eq!(lifecycle::time_to_value_days(&r.billing, &r.usage), None);
}

#[test]
fn time_to_value_measures_from_the_earliest_start() {
    let mut r = record(&[
        subscription("sub_paid", "active", json!({"started_at": NOW - 10 * DAY})),
        subscription("sub_trial", "canceled", json!({"started_at": NOW - 24 * DAY})),
    ]);
    assert_eq!(lifecycle::started_at(&r.billing), Some(NOW - 24 * DAY));
    r.usage.first_value_at = Some(time::at(NOW - 21 * DAY));
    assert_eq!(lifecycle::time_to_value_days(&r.billing, &r.usage), Some(3.0));
}

#[test]
fn seat_utilisation_is_active_users_per_paid_seat() {
    let with_users = |quantity: u64, users: u32| {
        let mut r = AccountRecord::from_stored(&StoredAccount::default(), NOW);
        r.billing.quantity = quantity;
        r.usage.active_users_7d = users;
        lifecycle::seat_utilisation(&r.billing, &r.usage)
    };
    assert_eq!(with_users(10, 9), Some(0.9));
    assert_eq!(with_users(10, 0), Some(0.0));
    assert_eq!(with_users(4, 6), Some(1.5));
    assert_eq!(with_users(2, 1), Some(0.5));
    assert_eq!(with_users(1, 1), None);
    assert_eq!(with_users(1, 7), None);
    assert_eq!(with_users(0, 7), None);
}

#[test]
fn seats_are_the_live_subscriptions_quantities() {
    let mut r = record(&[
        subscription("sub_1", "active", json!({"quantity": 5})),
        subscription("sub_2", "past_due", json!({"quantity": 5})),
        subscription("sub_3", "canceled", json!({"quantity": 50})),
    ]);
    r.usage.active_users_7d = 9;
    assert_eq!(r.billing.quantity, 10);
    assert_eq!(lifecycle::seat_utilisation(&r.billing, &r.usage), Some(0.9));
}

// ---------------------------------------------------------------- settings: [alerts]

fn parse(text: &str) -> Result<Settings, SettingsError> {
    Settings::parse(text, "f.toml")
}

fn error(text: &str) -> String {
    parse(text).expect_err(text).to_string()
}

fn invalid(field: &str, problem: &str) -> SettingsError {
    SettingsError::Invalid { path: "f.toml".into(), field: field.into(), problem: problem.into() }
}

#[test]
fn alerts_default_to_the_domain_notes() {
    let s = parse("").unwrap();
    // Onboarding stalls by default: no first-value event needed.
    assert_eq!(s.alerts, AlertRules::default());
    let a = &s.alerts;
    assert_eq!(
        (a.score_fall_points, a.usage_drop_percent, a.urgent_open_tickets, a.onboarding_days, a.usage_decline_percent),
        (15, 50, 2, 14, 30)
    );
    assert_eq!(a.expansion_seat_utilisation, 0.9);
    assert_eq!(a.account_url, "");
    assert_eq!(a.cooldown_days, CooldownDays::default());
    assert_eq!(s.lifecycle, LifecycleRules::default());
    assert_eq!(s, Settings::default());
}

#[test]
fn alerts_section_values_are_read() {
    let s = parse(
        "[alerts]
score_fall_points = 20
usage_drop_percent = 40
urgent_open_tickets = 3
onboarding_days = 21
usage_decline_percent = 40
expansion_seat_utilisation = 0.8
account_url = \"https://cs.example.com/accounts/{account_id}\"

[alerts.cooldown_days]
band_drop = 1
score_fall = 2
payment_failed = 3
cancel_at_period_end = 4
urgent_tickets = 5
usage_drop = 6
onboarding_stalled = 7
expansion = 8
renewal = 9
nps_detractor = 10
",
    )
    .unwrap();
    let expected = AlertRules {
        score_fall_points: 20,
        usage_drop_percent: 40,
        urgent_open_tickets: 3,
        onboarding_days: 21,
        usage_decline_percent: 40,
        expansion_seat_utilisation: 0.8,
        account_url: "https://cs.example.com/accounts/{account_id}".into(),
        cooldown_days: {
            let mut days = CooldownDays::default();
            for (i, kind) in AlertKind::all().enumerate() {
                days.set(kind, i as i64 + 1);
            }
            days
        },
        public_url: String::new(),
    };
    assert_eq!(s.alerts, expected);
    // The lifecycle shares the expansion threshold.
    assert_eq!(s.lifecycle.expansion_seat_utilisation, 0.8);
}

#[test]
fn a_partial_alerts_section_keeps_the_other_defaults() {
    let s = parse("[alerts]\nscore_fall_points = 25\n\n[alerts.cooldown_days]\nexpansion = 60\n").unwrap();
    assert_eq!(s.alerts.score_fall_points, 25);
    assert_eq!(s.alerts.usage_drop_percent, 50);
    assert_eq!(s.alerts.cooldown_days.of(AlertKind::Expansion), 60);
    assert_eq!(s.alerts.cooldown_days.of(AlertKind::BandDrop), 7);
    assert_eq!(s.alerts.cooldown_days.of(AlertKind::UrgentTickets), 3);
}

#[test]
fn alert_edges_that_are_valid() {
    for text in [
        "[alerts]\nscore_fall_points = 1\n",
        "[alerts]\nscore_fall_points = 100\n",
        "[alerts]\nusage_drop_percent = 1\n",
        "[alerts]\nusage_drop_percent = 100\n",
        "[alerts]\nexpansion_seat_utilisation = 10.0\n",
        "[alerts]\nexpansion_seat_utilisation = 0.01\n",
        "[alerts]\nonboarding_days = 0\n",
        "[alerts]\nonboarding_stalled_days = 0\n",
        "[alerts]\nusage_decline_percent = 0\n",
        "[alerts]\nurgent_open_tickets = 0\n",
        "[alerts.cooldown_days]\nband_drop = 0\nexpansion = 365\n",
    ] {
        assert!(parse(text).is_ok(), "{text}: {:?}", parse(text));
    }
}

#[test]
fn alert_mistakes_name_the_field() {
    let cases = [
        ("score_fall_points = 0", "alerts.score_fall_points", "must be between 1 and 100"),
        ("score_fall_points = 101", "alerts.score_fall_points", "must be between 1 and 100"),
        ("score_fall_points = -15", "alerts.score_fall_points", "must be between 1 and 100"),
        ("usage_drop_percent = 0", "alerts.usage_drop_percent", "must be between 1 and 100"),
        ("usage_drop_percent = 101", "alerts.usage_drop_percent", "must be between 1 and 100"),
        (
            "expansion_seat_utilisation = 0.0",
            "alerts.expansion_seat_utilisation",
            "must be above 0 (0.9 = 90% of seats)",
        ),
        (
            "expansion_seat_utilisation = -0.5",
            "alerts.expansion_seat_utilisation",
            "must be above 0 (0.9 = 90% of seats)",
        ),
        (
            "expansion_seat_utilisation = 10.5",
            "alerts.expansion_seat_utilisation",
            "must be above 0 (0.9 = 90% of seats)",
        ),
        (
            "expansion_seat_utilisation = nan",
            "alerts.expansion_seat_utilisation",
            "must be above 0 (0.9 = 90% of seats)",
        ),
        ("onboarding_days = -1", "alerts.onboarding_days", "must be between 0 and 365"),
        // Days are multiplied into seconds: a huge value would overflow.
        ("onboarding_days = 200000000000000", "alerts.onboarding_days", "must be between 0 and 365"),
        ("usage_decline_percent = -1", "alerts.usage_decline_percent", "must be between 0 and 100"),
    ];
    for (line, field, problem) in cases {
        let text = format!("[alerts]\n{line}\n");
        assert_eq!(parse(&text), Err(invalid(field, problem)), "{text}");
        assert_eq!(error(&text), format!("f.toml: {field} {problem}"));
    }
}

#[test]
fn every_cooldown_is_checked_by_name() {
    for kind in [
        "band_drop",
        "score_fall",
        "payment_failed",
        "cancel_at_period_end",
        "urgent_tickets",
        "usage_drop",
        "onboarding_stalled",
        "expansion",
        "nps_detractor",
    ] {
        for days in [-1, 366] {
            let text = format!("[alerts.cooldown_days]\n{kind} = {days}\n");
            assert_eq!(
                parse(&text),
                Err(invalid(&format!("alerts.cooldown_days.{kind}"), "must be between 0 and 365")),
                "{text}"
            );
        }
    }
    assert_eq!(
        error("[alerts.cooldown_days]\nexpansion = -1\n"),
        "f.toml: alerts.cooldown_days.expansion must be between 0 and 365"
    );
}

#[test]
fn unknown_or_mistyped_alert_fields_are_rejected() {
    let typo = error("[alerts]\nscore_fall_pts = 10\n");
    assert!(typo.starts_with("f.toml: ") && typo.contains("score_fall_pts"), "{typo}");
    let bogus = error("[alerts.cooldown_days]\nbogus = 1\n");
    assert!(bogus.contains("bogus"), "{bogus}");
    let wrong_type = error("[alerts]\nusage_drop_percent = \"half\"\n");
    assert!(wrong_type.contains("usage_drop_percent"), "{wrong_type}");
    let negative = error("[alerts]\nurgent_open_tickets = -1\n");
    assert!(negative.contains("urgent_open_tickets"), "{negative}");
    assert!(matches!(parse("[alerts]\nscore_fall_pts = 10\n"), Err(SettingsError::Toml { .. })));
}

#[test]
fn first_value_configuration_reaches_the_record() {
    use foresight_shared::domain::usage::FirstValueRule;
    let s = parse("[analytics]\nfirst_value_event = \"Report Exported\"\n").unwrap();
    assert_eq!(s.analytics.first_value_rule(), None, "the configured event alone is first value");
    let blank = parse("[analytics]\nfirst_value_event = \"  \"\n").unwrap();
    assert_eq!(blank.analytics.first_value_rule(), Some(FirstValueRule::default()));
    assert_eq!(
        parse("").unwrap().analytics.first_value_rule(),
        Some(FirstValueRule { active_users: 2, key_feature: true })
    );
    let s = parse("[health]\nrenewal_window_days = 60\n").unwrap();
    assert_eq!((s.lifecycle.renewal_window_days, s.health.renewal_window_days), (60, 60));
}

// ---------------------------------------------------------------- settings: tiers

#[test]
fn tiers_by_default_arr_thresholds() {
    let s = Settings::default();
    let cases = [
        (10_000_000, Segment::HighTouch),
        (5_000_000, Segment::HighTouch),
        (4_999_999, Segment::LowTouch),
        (500_000, Segment::LowTouch),
        (499_999, Segment::TechTouch),
        (0, Segment::TechTouch),
        (-1_000, Segment::TechTouch),
    ];
    for (arr, tier) in cases {
        assert_eq!(s.tier(arr), tier, "{arr}");
        assert_eq!(Segment::from_arr(arr), tier, "the record's default agrees at {arr}");
    }
}

#[test]
fn tiers_by_configured_arr_thresholds() {
    let s = parse("[tiers]\nhigh_touch_from = 1000000\nlow_touch_from = 100000\n").unwrap();
    assert_eq!((s.high_touch_from, s.low_touch_from), (1_000_000, 100_000));
    let cases = [
        (1_000_000, Segment::HighTouch),
        (999_999, Segment::LowTouch),
        (100_000, Segment::LowTouch),
        (99_999, Segment::TechTouch),
    ];
    for (arr, tier) in cases {
        assert_eq!(s.tier(arr), tier, "{arr}");
    }
    // Equal thresholds: no low-touch tier.
    let s = parse("[tiers]\nhigh_touch_from = 100000\nlow_touch_from = 100000\n").unwrap();
    assert_eq!((s.tier(100_000), s.tier(99_999)), (Segment::HighTouch, Segment::TechTouch));
    // Everyone high touch.
    let s = parse("[tiers]\nhigh_touch_from = 0\nlow_touch_from = 0\n").unwrap();
    assert_eq!(s.tier(0), Segment::HighTouch);
}

#[test]
fn tier_threshold_mistakes_name_the_fields() {
    let expected = || {
        invalid("tiers.high_touch_from / tiers.low_touch_from", "must satisfy 0 <= low_touch_from <= high_touch_from")
    };
    assert_eq!(parse("[tiers]\nhigh_touch_from = 100\nlow_touch_from = 200\n"), Err(expected()));
    assert_eq!(parse("[tiers]\nlow_touch_from = -1\n"), Err(expected()));
    let e = error("[tiers.weights.premium]\nusage = 1.0\n");
    assert!(
        e.contains("[tiers.weights.premium]") && e.contains("expected one of `high_touch`, `low_touch`, `tech_touch`"),
        "{e}"
    );
    let e = error("[tiers.weights.low_touch]\nusage = -0.1\n");
    assert!(e.contains("tiers.weights.low_touch.usage is -0.1"), "{e}");
}
