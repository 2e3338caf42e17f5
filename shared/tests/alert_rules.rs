//! Signals → alerts as pure rules (`shared/src/domain/alert.rs`, `/work/shared/domain.md` "Signals and
//! alerts"): thresholds, dedupe keys, cool-downs and the alert a CSM reads.

use foresight_shared::app::settings::Settings;
use foresight_shared::domain::account::{AccountRecord, StoredAccount};
use foresight_shared::domain::alert::{
    self, AlertKind, AlertRules, CooldownDays, HealthFacts, Severity, Signal, SweepContext,
};
use foresight_shared::domain::billing::SubscriptionStatus;
use foresight_shared::domain::health::{self, Band, ComponentScore, HealthModel, HealthScore};
use foresight_shared::domain::lifecycle::Lifecycle;
use foresight_shared::domain::time::{self, rfc3339};
use foresight_shared::domain::usage::DailyUsage;
use foresight_shared::domain::Segment;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// 2026-11-20T12:00:00Z: a fixed clock.
const NOW: i64 = 1_795_176_000;
const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
const TODAY: &str = "2026-11-20";

fn day(ts: i64) -> String {
    rfc3339(ts)[..10].to_owned()
}

fn blank() -> AccountRecord {
    AccountRecord::from_stored(&StoredAccount { account_id: "acct_1".into(), ..Default::default() }, NOW)
}

fn stored(attributes: &[(String, Value)]) -> StoredAccount {
    StoredAccount {
        account_id: "acct_1".into(),
        attributes: attributes.iter().cloned().collect(),
        ..Default::default()
    }
}

fn attr(name: &str, value: Value) -> (String, Value) {
    (name.to_owned(), value)
}

fn subscription(id: &str, status: &str, extra: Value) -> (String, Value) {
    let mut v = json!({"id": id, "status": status, "mrr": 10_000, "quantity": 1, "currency": "usd",
                       "v": format!("{:012}#evt_{id}", NOW - 40 * DAY)});
    if let (Some(map), Value::Object(extra)) = (v.as_object_mut(), extra) {
        map.extend(extra);
    }
    (format!("sub#{id}"), v)
}

fn record_with(attributes: &[(String, Value)], now: i64) -> AccountRecord {
    AccountRecord::from_stored(&stored(attributes), now)
}

fn plain(score: i64) -> HealthScore {
    HealthScore {
        score,
        band: HealthModel::default().band(score),
        components: vec![],
        missing: vec![],
        missing_reasons: vec![],
        cap: None,
    }
}

fn signals_with(
    record: &AccountRecord,
    score: i64,
    previous: Option<Band>,
    change: Option<i64>,
    rules: &AlertRules,
) -> Vec<Signal> {
    let scored = plain(score);
    alert::sweep_signals(
        record,
        &SweepContext { scored: &scored, previous_band: previous, change_7d: change },
        rules,
        NOW,
    )
}

/// The defaults production runs with (onboarding stalls by default: no first-value event needed).
fn tracked() -> AlertRules {
    Settings::default().alerts
}

#[test]
fn the_default_rules_are_the_ones_production_runs_with() {
    assert_eq!(AlertRules::default(), Settings::default().alerts);
}

fn signals(record: &AccountRecord) -> Vec<Signal> {
    signals_with(record, 80, None, None, &tracked())
}

fn of_kind(signals: &[Signal], kind: AlertKind) -> Vec<Signal> {
    signals.iter().filter(|s| s.kind == kind).cloned().collect()
}

fn one(signals: &[Signal], kind: AlertKind) -> Signal {
    let found = of_kind(signals, kind);
    assert_eq!(found.len(), 1, "one {kind:?} expected in {signals:?}");
    found[0].clone()
}

fn none_of(signals: &[Signal], kind: AlertKind) {
    assert!(of_kind(signals, kind).is_empty(), "no {kind:?} expected in {signals:?}");
}

fn signal(kind: AlertKind, episode: &str) -> Signal {
    Signal { kind, episode: episode.into(), headline: format!("{} {episode}", kind.as_str()) }
}

fn raised(keys: &[(&str, i64)]) -> BTreeMap<String, i64> {
    keys.iter().map(|(k, at)| ((*k).to_owned(), *at)).collect()
}

fn local_keys(signals: &[Signal]) -> Vec<String> {
    signals.iter().map(Signal::local_key).collect()
}

// ---------------------------------------------------------------- score fall

#[test]
fn score_fall_alerts_from_15_points_in_7_days() {
    let r = blank();
    let fell = one(&signals_with(&r, 50, None, Some(-15), &tracked()), AlertKind::ScoreFall);
    assert_eq!(fell.episode, TODAY);
    assert_eq!(fell.headline, "health 50, down 15 in 7 days");
    assert_eq!(fell.local_key(), format!("score_fall/{TODAY}"));
    let fell = one(&signals_with(&r, 42, None, Some(-18), &tracked()), AlertKind::ScoreFall);
    assert_eq!(fell.headline, "health 42, down 18 in 7 days");
    for change in [Some(-14), Some(0), Some(20), None] {
        none_of(&signals_with(&r, 50, None, change, &tracked()), AlertKind::ScoreFall);
    }
    let rules = AlertRules { score_fall_points: 10, ..tracked() };
    one(&signals_with(&r, 50, None, Some(-10), &rules), AlertKind::ScoreFall);
    none_of(&signals_with(&r, 50, None, Some(-9), &rules), AlertKind::ScoreFall);
}

// ---------------------------------------------------------------- band drop

#[test]
fn band_drop_alerts_only_downwards() {
    let r = blank();
    let rules = AlertRules::default();
    let drop = one(&signals_with(&r, 55, Some(Band::Green), None, &rules), AlertKind::BandDrop);
    assert_eq!(drop.episode, format!("yellow/{TODAY}"));
    assert_eq!(drop.headline, "health dropped from green to yellow (55)");
    let drop = one(&signals_with(&r, 30, Some(Band::Yellow), None, &rules), AlertKind::BandDrop);
    assert_eq!(drop.episode, format!("red/{TODAY}"));
    assert_eq!(drop.headline, "health dropped from yellow to red (30)");
    let drop = one(&signals_with(&r, 12, Some(Band::Green), None, &rules), AlertKind::BandDrop);
    assert_eq!(drop.local_key(), format!("band_drop/red/{TODAY}"));
    assert_eq!(drop.headline, "health dropped from green to red (12)");
    // Up, level, or never scored before: nothing.
    for (score, previous) in [
        (80, Some(Band::Yellow)),
        (80, Some(Band::Red)),
        (50, Some(Band::Red)),
        (80, Some(Band::Green)),
        (50, Some(Band::Yellow)),
        (10, Some(Band::Red)),
        (10, None),
    ] {
        none_of(&signals_with(&r, score, previous, None, &rules), AlertKind::BandDrop);
    }
}

// ---------------------------------------------------------------- usage drop

fn with_weeks(this_week: u64, last_week: u64) -> AccountRecord {
    let mut r = blank();
    // Spread each week over several days: today and 6 days ago are this week, 7 and 13 days ago
    // the week before.
    let split = |n: u64| [n / 2, n - n / 2];
    let [a, b] = split(last_week);
    let [c, d] = split(this_week);
    r.usage.daily = vec![
        DailyUsage { day: time::date(NOW - 13 * DAY), events: a, active_users: 3 },
        DailyUsage { day: time::date(NOW - 7 * DAY), events: b, active_users: 3 },
        DailyUsage { day: time::date(NOW - 6 * DAY), events: c, active_users: 3 },
        DailyUsage { day: time::date(NOW), events: d, active_users: 3 },
    ];
    r
}

#[test]
fn usage_drop_percent_compares_this_week_with_the_week_before() {
    assert_eq!(alert::usage_drop_percent(&with_weeks(50, 100), NOW), Some(50));
    assert_eq!(alert::usage_drop_percent(&with_weeks(51, 100), NOW), Some(49));
    assert_eq!(alert::usage_drop_percent(&with_weeks(0, 100), NOW), Some(100));
    assert_eq!(alert::usage_drop_percent(&with_weeks(100, 100), NOW), Some(0));
    // Growth is no drop.
    assert_eq!(alert::usage_drop_percent(&with_weeks(300, 100), NOW), Some(0));
    assert_eq!(alert::usage_drop_percent(&with_weeks(1, 3), NOW), None);
    // Rounded to the nearest percent: 2 of 3 lost is 67%.
    assert_eq!(alert::usage_drop_percent(&with_weeks(10, 30), NOW), Some(67));
}

#[test]
fn usage_drop_needs_a_busy_week_before() {
    assert_eq!(alert::usage_drop_percent(&with_weeks(0, 9), NOW), None);
    assert_eq!(alert::usage_drop_percent(&with_weeks(5, 10), NOW), Some(50));
    none_of(&signals(&with_weeks(0, 9)), AlertKind::UsageDrop);
    one(&signals(&with_weeks(5, 10)), AlertKind::UsageDrop);
    assert_eq!(alert::usage_drop_percent(&blank(), NOW), None);
}

#[test]
fn usage_drop_weeks_are_whole_days() {
    let at = |offset_days: i64, events: u64| {
        let mut r = blank();
        r.usage.daily = vec![DailyUsage { day: time::date(NOW - offset_days * DAY), events, active_users: 1 }];
        alert::usage_drop_percent(&r, NOW)
    };
    // 7 to 13 days ago is the week before (everything lost this week).
    assert_eq!(at(7, 40), Some(100));
    assert_eq!(at(13, 40), Some(100));
    // 0 to 6 days ago is this week (no week before), 14 days ago is in neither.
    assert_eq!(at(6, 40), None);
    assert_eq!(at(0, 40), None);
    assert_eq!(at(14, 40), None);
}

#[test]
fn usage_drop_alerts_from_50_percent() {
    let drop = one(&signals(&with_weeks(50, 100)), AlertKind::UsageDrop);
    assert_eq!(drop.episode, TODAY);
    assert_eq!(drop.headline, "usage -50% week over week");
    none_of(&signals(&with_weeks(51, 100)), AlertKind::UsageDrop);
    let rules = AlertRules { usage_drop_percent: 30, ..tracked() };
    one(&signals_with(&with_weeks(70, 100), 80, None, None, &rules), AlertKind::UsageDrop);
    none_of(&signals_with(&with_weeks(71, 100), 80, None, None, &rules), AlertKind::UsageDrop);
}

// ---------------------------------------------------------------- urgent tickets

fn urgent(n: u32) -> AccountRecord {
    let mut r = blank();
    r.links.zendesk_organization_id = Some("org_1".into());
    r.support.open_tickets = n + 1;
    r.support.urgent_open_tickets = n;
    r
}

#[test]
fn urgent_tickets_alert_from_2() {
    let spike = one(&signals(&urgent(2)), AlertKind::UrgentTickets);
    assert_eq!(spike.episode, TODAY);
    assert_eq!(spike.headline, "2 urgent tickets open");
    assert_eq!(one(&signals(&urgent(5)), AlertKind::UrgentTickets).headline, "5 urgent tickets open");
    none_of(&signals(&urgent(1)), AlertKind::UrgentTickets);
    none_of(&signals(&urgent(0)), AlertKind::UrgentTickets);
    let rules = AlertRules { urgent_open_tickets: 1, ..tracked() };
    assert_eq!(
        one(&signals_with(&urgent(1), 80, None, None, &rules), AlertKind::UrgentTickets).headline,
        "1 urgent ticket open"
    );
    let off = AlertRules { urgent_open_tickets: 0, ..tracked() };
    none_of(&signals_with(&urgent(9), 80, None, None, &off), AlertKind::UrgentTickets);
}

// ---------------------------------------------------------------- onboarding stalled

/// An account product analytics knows (a `group` call) that never used the product.
fn started(days_ago_secs: i64) -> AccountRecord {
    record_with(
        &[
            subscription("sub_1", "active", json!({"started_at": NOW - days_ago_secs})),
            attr("link_analytics", json!("acct_1")),
        ],
        NOW,
    )
}

#[test]
fn onboarding_stalled_from_14_days_without_first_value() {
    let r = started(14 * DAY);
    let stalled = one(&signals(&r), AlertKind::OnboardingStalled);
    assert_eq!(stalled.episode, day(NOW - 14 * DAY));
    assert_eq!(stalled.headline, "no first value 14 days after the start, no product activity at all");
    assert_eq!(
        one(&signals(&started(40 * DAY)), AlertKind::OnboardingStalled).headline,
        "no first value 40 days after the start, no product activity at all"
    );
    // Some use, none of it real use yet.
    let mut r = started(20 * DAY);
    r.usage.first_seen_at = Some(time::at(NOW - 10 * DAY));
    assert_eq!(one(&signals(&r), AlertKind::OnboardingStalled).headline, "no first value 20 days after the start");
    // 13 days and 23 hours is 13 days.
    none_of(&signals(&started(14 * DAY - HOUR)), AlertKind::OnboardingStalled);
    none_of(&signals(&started(13 * DAY)), AlertKind::OnboardingStalled);
}

#[test]
fn onboarding_stalled_only_without_first_value() {
    let mut r = started(30 * DAY);
    r.usage.first_value_at = Some(time::at(NOW - 20 * DAY));
    none_of(&signals(&r), AlertKind::OnboardingStalled);
    // No subscription start known: nothing to measure from.
    none_of(&signals(&blank()), AlertKind::OnboardingStalled);
    // Turned off with 0 days.
    let off = AlertRules { onboarding_days: 0, ..tracked() };
    none_of(&signals_with(&started(30 * DAY), 80, None, None, &off), AlertKind::OnboardingStalled);
    // A churned account has no onboarding left to stall.
    let gone = record_with(
        &[subscription("sub_1", "canceled", json!({"started_at": NOW - 30 * DAY})), attr("link_analytics", json!("a"))],
        NOW,
    );
    none_of(&signals(&gone), AlertKind::OnboardingStalled);
    let week = AlertRules { onboarding_days: 7, ..tracked() };
    one(&signals_with(&started(7 * DAY), 80, None, None, &week), AlertKind::OnboardingStalled);
}

#[test]
fn onboarding_stalled_measures_from_the_earliest_start_and_keeps_its_episode() {
    let attrs = [
        subscription("sub_new", "active", json!({"started_at": NOW - 3 * DAY})),
        subscription("sub_old", "canceled", json!({"started_at": NOW - 20 * DAY})),
        attr("link_analytics", json!("acct_1")),
    ];
    let r = record_with(&attrs, NOW);
    let stalled = one(&signals(&r), AlertKind::OnboardingStalled);
    assert_eq!(stalled.episode, day(NOW - 20 * DAY));
    assert_eq!(stalled.headline, "no first value 20 days after the start, no product activity at all");
    // The next day: the same episode, so the same key.
    let later = record_with(&attrs, NOW + DAY);
    let scored = plain(80);
    let ctx = SweepContext { scored: &scored, previous_band: None, change_7d: None };
    let next = alert::sweep_signals(&later, &ctx, &tracked(), NOW + DAY);
    assert_eq!(one(&next, AlertKind::OnboardingStalled).local_key(), stalled.local_key());
}

#[test]
fn onboarding_stalls_by_default_where_first_value_is_measurable() {
    use foresight_shared::domain::connection::Source;
    // The customer: 21 days in, no use at all, default configuration (no first-value
    // event). Analytics never saw the account, but the deployment had analytics before it
    // started: its silence is the customer's.
    let settings = Settings::parse("", "f.toml").unwrap();
    let unseen = record_with(&[subscription("sub_1", "active", json!({"started_at": NOW - 21 * DAY}))], NOW);
    let deployment = [(Source::Analytics, NOW - 90 * DAY)].into();
    let r = unseen.clone().with_deployment(Some(deployment));
    let stalled = one(&signals_with(&r, 80, None, None, &settings.alerts), AlertKind::OnboardingStalled);
    assert_eq!(stalled.headline, "no first value 21 days after the start, no product activity at all");
    // A deployment without product analytics could never have seen first value: no alert for
    // every account older than 14 days.
    none_of(&signals_with(&unseen, 80, None, None, &settings.alerts), AlertKind::OnboardingStalled);
    let late = unseen.with_deployment(Some([(Source::Analytics, NOW - 5 * DAY)].into()));
    none_of(&signals_with(&late, 80, None, None, &settings.alerts), AlertKind::OnboardingStalled);
}

// ---------------------------------------------------------------- expansion

/// A paying, current account with `active` users on `quantity` seats.
fn seats(quantity: u64, active: u32) -> AccountRecord {
    let mut r = record_with(&[subscription("sub_1", "active", json!({}))], NOW);
    r.billing.quantity = quantity;
    r.usage.active_users_7d = active;
    r
}

#[test]
fn expansion_from_90_percent_seat_utilisation() {
    let grow = one(&signals(&seats(10, 9)), AlertKind::Expansion);
    assert_eq!(grow.episode, TODAY);
    assert_eq!(grow.headline, "9 of 10 seats active this week (90%)");
    assert_eq!(grow.kind.severity(), Severity::Opportunity);
    assert_eq!(one(&signals(&seats(2, 2)), AlertKind::Expansion).headline, "2 of 2 seats active this week (100%)");
    assert_eq!(one(&signals(&seats(10, 14)), AlertKind::Expansion).headline, "14 of 10 seats active this week (140%)");
    none_of(&signals(&seats(10, 8)), AlertKind::Expansion);
    none_of(&signals(&seats(100, 89)), AlertKind::Expansion);
    one(&signals(&seats(100, 90)), AlertKind::Expansion);
    let rules = AlertRules { expansion_seat_utilisation: 0.5, ..tracked() };
    one(&signals_with(&seats(10, 5), 80, None, None, &rules), AlertKind::Expansion);
    none_of(&signals_with(&seats(10, 4), 80, None, None, &rules), AlertKind::Expansion);
}

#[test]
fn an_opportunity_only_for_a_green_paying_current_account() {
    // The demo's finding: Globex, past due after two failed payments with a bad CSAT, was told
    // to expand. Not any more.
    let mut owing = failed_on(&[("in_1", NOW - 2 * DAY), ("in_1", NOW - DAY)], &[], "past_due", NOW);
    owing.billing.quantity = 3;
    owing.usage.active_users_7d = 3;
    none_of(&signals_with(&owing, 80, None, None, &tracked()), AlertKind::Expansion);
    let mut failed_once = failed_on(&[("in_1", NOW - DAY)], &[], "active", NOW);
    failed_once.billing.quantity = 3;
    failed_once.usage.active_users_7d = 3;
    none_of(&signals_with(&failed_once, 80, None, None, &tracked()), AlertKind::Expansion);
    let mut leaving = seats(10, 10);
    leaving.billing.cancel_at_period_end = true;
    none_of(&signals(&leaving), AlertKind::Expansion);
    // Not green: no opportunity, whatever the seats say.
    none_of(&signals_with(&seats(10, 10), 65, None, None, &tracked()), AlertKind::Expansion);
    let mut trial = seats(10, 10);
    trial.billing.status = Some(SubscriptionStatus::Trialing);
    none_of(&signals(&trial), AlertKind::Expansion);
    one(&signals_with(&seats(10, 10), 70, None, None, &tracked()), AlertKind::Expansion);
}

#[test]
fn no_expansion_for_single_seat_plans() {
    none_of(&signals(&seats(1, 1)), AlertKind::Expansion);
    none_of(&signals(&seats(1, 25)), AlertKind::Expansion);
    none_of(&signals(&seats(0, 25)), AlertKind::Expansion);
}

// ---------------------------------------------------------------- payment failed, cancel at period end

fn failed_on(invoices: &[(&str, i64)], paid: &[&str], status: &str, now: i64) -> AccountRecord {
    let mut attributes: Vec<(String, Value)> = vec![subscription("sub_1", status, json!({}))];
    for (i, (invoice, at)) in invoices.iter().enumerate() {
        attributes.push((format!("pf#{invoice}#{}", i + 1), json!({"at": at, "amount": 10_000})));
    }
    for invoice in paid {
        attributes.push((format!("pp#{invoice}"), json!({"at": now - HOUR, "amount": 10_000})));
    }
    record_with(&attributes, now)
}

#[test]
fn payment_failed_names_the_invoice_and_the_dunning_status() {
    let r = failed_on(&[("in_1", NOW - 2 * DAY), ("in_1", NOW - DAY)], &[], "past_due", NOW);
    let failed = one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed);
    assert_eq!(failed.episode, "in_1");
    let since = day(NOW - 2 * DAY);
    assert_eq!(failed.headline, format!("payment failed 2×: 100.00 USD owed since {since}"));
    let r = failed_on(&[("in_1", NOW - DAY)], &[], "unpaid", NOW);
    assert_eq!(
        one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed).headline,
        format!("payment failed 1×: 100.00 USD owed since {}, subscription unpaid", day(NOW - DAY))
    );
    let r = failed_on(&[("in_1", NOW - DAY)], &[], "active", NOW);
    assert_eq!(
        one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed).headline,
        format!("payment failed 1×: 100.00 USD owed since {}", day(NOW - DAY))
    );
    // The sweep finds the same signal.
    assert_eq!(
        one(&signals(&r), AlertKind::PaymentFailed),
        one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed)
    );
}

#[test]
fn payment_failed_clears_once_the_invoice_is_paid() {
    let r = failed_on(&[("in_1", NOW - DAY)], &["in_1"], "active", NOW);
    assert!(alert::event_signals(&r, NOW).is_empty(), "{:?}", alert::event_signals(&r, NOW));
    none_of(&signals(&r), AlertKind::PaymentFailed);
    assert!(alert::event_signals(&blank(), NOW).is_empty());
}

#[test]
fn payment_failed_keys_are_stable_per_invoice() {
    let key_on = |invoices: &[(&str, i64)], paid: &[&str], now: i64| {
        let r = failed_on(invoices, paid, "past_due", now);
        let s = one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed);
        alert::alert(&r, &s, &facts(None, None, vec![]), &tracked(), "health-sweep", now).dedupe_key
    };
    let first = key_on(&[("in_1", NOW - DAY)], &[], NOW);
    assert_eq!(first, "acct_1/payment_failed/in_1");
    // Another day, another retry of the same invoice: the same key.
    assert_eq!(key_on(&[("in_1", NOW - DAY), ("in_1", NOW + 2 * DAY)], &[], NOW + 3 * DAY), first);
    // A new invoice fails (the old one paid, or not): a new key, naming the latest failure.
    assert_eq!(
        key_on(&[("in_1", NOW - DAY), ("in_2", NOW + 30 * DAY)], &["in_1"], NOW + 31 * DAY),
        "acct_1/payment_failed/in_2"
    );
    assert_eq!(
        key_on(&[("in_1", NOW - DAY), ("in_2", NOW + 30 * DAY)], &[], NOW + 31 * DAY),
        "acct_1/payment_failed/in_2"
    );
}

#[test]
fn payment_failed_headline_says_what_is_owed_since_when_and_why() {
    // in_1 failed twice and is still unpaid; then in_2 failed once. The signal names in_2 (the
    // latest) as its episode; the headline says what the customer owes on both, since the first
    // failure, and the latest decline reason — never an invoice id.
    let r = record_with(
        &[
            subscription("sub_1", "past_due", json!({})),
            attr("pf#in_1#1", json!({"at": NOW - 20 * DAY, "amount": 10_000})),
            attr(
                "pf#in_1#2",
                json!({"at": NOW - 15 * DAY, "amount": 10_000, "reason": "card declined: insufficient funds"}),
            ),
            attr("pf#in_2#1", json!({"at": NOW - DAY, "amount": 2_500})),
        ],
        NOW,
    );
    assert_eq!(r.billing.failed_invoice.as_deref(), Some("in_2"));
    let failed = one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed);
    assert_eq!(failed.episode, "in_2");
    assert_eq!(
        failed.headline,
        format!("payment failed 3×: 125.00 USD owed since {} (card declined: insufficient funds)", day(NOW - 20 * DAY))
    );
    assert!(!failed.headline.contains("in_"), "{}", failed.headline);
    // A failed charge's reason reaches the episode when the invoice carries none.
    let r = record_with(
        &[
            subscription("sub_1", "active", json!({})),
            attr("pf#in_3#1", json!({"at": NOW - DAY, "amount": 4_000})),
            attr("cf#ch_3", json!({"at": NOW - DAY - 60, "amount": 4_000, "reason": "expired card"})),
            attr("cf#ch_old", json!({"at": NOW - 90 * DAY, "amount": 4_000, "reason": "not this episode"})),
        ],
        NOW,
    );
    assert_eq!(
        one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed).headline,
        format!("payment failed 1×: 40.00 USD owed since {} (expired card)", day(NOW - DAY))
    );
}

#[test]
fn past_due_alone_is_a_payment_risk() {
    // domain.md lists "payment failed or past_due" as a risk signal; a subscription that is
    // past_due (its `invoice.payment_failed` not received, or received before the link) raises nothing.
    let r = record_with(&[subscription("sub_1", "past_due", json!({}))], NOW);
    assert_eq!(r.billing.status, Some(SubscriptionStatus::PastDue));
    assert!(!of_kind(&signals(&r), AlertKind::PaymentFailed).is_empty(), "{:?}", signals(&r));
}

#[test]
fn cancel_at_period_end_names_the_subscription_and_its_end() {
    let ends = NOW + 30 * DAY;
    let r =
        record_with(&[subscription("sub_1", "active", json!({"cancel_at_period_end": true, "renewal_at": ends}))], NOW);
    let cancel = one(&alert::event_signals(&r, NOW), AlertKind::CancelAtPeriodEnd);
    assert_eq!(cancel.episode, format!("sub_1/{}", day(ends)));
    assert_eq!(cancel.headline, format!("set to cancel at period end ({})", day(ends)));
    assert_eq!(one(&signals(&r), AlertKind::CancelAtPeriodEnd), cancel);
    // Without a period end, the cancel-at date names it; without either, "unknown".
    let r = record_with(
        &[subscription("sub_2", "trialing", json!({"cancel_at_period_end": true, "cancel_at": ends + DAY}))],
        NOW,
    );
    assert_eq!(
        one(&alert::event_signals(&r, NOW), AlertKind::CancelAtPeriodEnd).episode,
        format!("sub_2/{}", day(ends + DAY))
    );
    let r = record_with(&[subscription("sub_3", "active", json!({"cancel_at_period_end": true}))], NOW);
    assert_eq!(one(&alert::event_signals(&r, NOW), AlertKind::CancelAtPeriodEnd).episode, "sub_3/unknown");
}

#[test]
fn cancel_at_period_end_only_for_live_subscriptions_set_to_cancel() {
    let r = record_with(
        &[
            subscription("sub_1", "canceled", json!({"cancel_at_period_end": true, "renewal_at": NOW})),
            subscription("sub_2", "active", json!({"cancel_at_period_end": false, "renewal_at": NOW + DAY})),
        ],
        NOW,
    );
    assert!(alert::event_signals(&r, NOW).is_empty(), "{:?}", alert::event_signals(&r, NOW));
    // One per subscription set to cancel.
    let r = record_with(
        &[
            subscription("sub_1", "active", json!({"cancel_at_period_end": true, "renewal_at": NOW + DAY})),
            subscription("sub_2", "active", json!({"cancel_at_period_end": true, "renewal_at": NOW + 2 * DAY})),
        ],
        NOW,
    );
    assert_eq!(of_kind(&alert::event_signals(&r, NOW), AlertKind::CancelAtPeriodEnd).len(), 2);
}

#[test]
fn a_healthy_account_has_no_signals() {
    let mut r = seats(10, 5);
    r.usage.daily = with_weeks(100, 100).usage.daily;
    r.usage.first_value_at = Some(time::at(NOW - 30 * DAY));
    r.support.urgent_open_tickets = 1;
    let all = signals_with(&r, 80, Some(Band::Green), Some(-5), &tracked());
    assert!(all.is_empty(), "{all:?}");
}

// ---------------------------------------------------------------- dedupe keys

#[test]
fn dedupe_keys_are_account_kind_episode() {
    let mut r = record_with(
        &[
            subscription(
                "sub_1",
                "past_due",
                json!({"cancel_at_period_end": true, "renewal_at": NOW + 10 * DAY,
                                                      "started_at": NOW - 20 * DAY, "quantity": 10}),
            ),
            attr("pf#in_9#1", json!({"at": NOW - DAY, "amount": 1})),
            attr("link_analytics", json!("acct_1")),
        ],
        NOW,
    );
    r.usage.active_users_7d = 10;
    r.usage.daily = with_weeks(0, 100).usage.daily;
    r.support.urgent_open_tickets = 3;
    let all = signals_with(&r, 20, Some(Band::Green), Some(-60), &tracked());
    let keys: Vec<String> = all
        .iter()
        .map(|s| alert::alert(&r, s, &facts(Some(20), Some(-60), vec![]), &tracked(), "t", NOW).dedupe_key)
        .collect();
    let renews = day(NOW + 10 * DAY);
    let started = day(NOW - 20 * DAY);
    // Still onboarding (no first value 20 days in): the fall of its score raises no band_drop or
    // score_fall of its own (their keys: `score_fall_alerts_from_15_points_in_7_days`,
    // `band_drop_alerts_only_downwards`).
    assert_eq!(
        keys,
        [
            "acct_1/payment_failed/in_9".to_owned(),
            format!("acct_1/cancel_at_period_end/sub_1/{renews}"),
            format!("acct_1/urgent_tickets/{TODAY}"),
            format!("acct_1/usage_drop/{TODAY}"),
            format!("acct_1/onboarding_stalled/{started}"),
        ]
    );
    for (s, key) in all.iter().zip(&keys) {
        assert_eq!(key, &format!("acct_1/{}", s.local_key()));
        assert!(s.local_key().starts_with(&format!("{}/", s.kind.as_str())));
    }
}

#[test]
fn the_same_condition_keeps_its_key_across_sweeps() {
    // Cancel at period end and a stalled onboarding keep their episode from day to day.
    let attrs = [
        subscription(
            "sub_1",
            "active",
            json!({"cancel_at_period_end": true, "renewal_at": NOW + 20 * DAY, "started_at": NOW - 30 * DAY}),
        ),
        attr("link_analytics", json!("acct_1")),
    ];
    let keys_at = |now: i64| {
        let r = record_with(&attrs, now);
        let scored = plain(80);
        let ctx = SweepContext { scored: &scored, previous_band: None, change_7d: None };
        local_keys(&alert::sweep_signals(&r, &ctx, &tracked(), now))
    };
    assert_eq!(keys_at(NOW), keys_at(NOW + 5 * DAY));
    assert_eq!(keys_at(NOW).len(), 2);
}

// ---------------------------------------------------------------- raised alerts and due

#[test]
fn raised_alerts_reads_the_al_facts() {
    let attributes: BTreeMap<String, Value> = [
        ("al#payment_failed/in_1", json!(NOW - DAY)),
        ("al#band_drop/red/2026-11-19", json!(NOW - 2 * DAY)),
        ("al#broken", json!("not a time")),
        ("pf#in_1#1", json!({"at": 1})),
        ("customer", json!({"name": "Acme"})),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(
        alert::raised_alerts(&attributes),
        raised(&[("payment_failed/in_1", NOW - DAY), ("band_drop/red/2026-11-19", NOW - 2 * DAY)])
    );
    assert!(alert::raised_alerts(&BTreeMap::new()).is_empty());
}

#[test]
fn due_drops_what_was_raised_already() {
    let rules = AlertRules::default();
    let s = vec![signal(AlertKind::PaymentFailed, "in_1"), signal(AlertKind::PaymentFailed, "in_2")];
    let due = alert::due(s.clone(), &raised(&[("payment_failed/in_1", NOW - 40 * DAY)]), &rules, NOW);
    assert_eq!(local_keys(&due), ["payment_failed/in_2"]);
    assert_eq!(alert::due(s.clone(), &BTreeMap::new(), &rules, NOW), s);
    // Raised long ago: still never again (the key is "ever").
    let old = alert::due(
        vec![signal(AlertKind::Expansion, "2026-01-01")],
        &raised(&[("expansion/2026-01-01", 0)]),
        &rules,
        NOW,
    );
    assert!(old.is_empty());
}

#[test]
fn due_holds_a_new_episode_back_inside_the_cooldown() {
    let rules = AlertRules::default(); // usage_drop: 7 days
    let new = || vec![signal(AlertKind::UsageDrop, TODAY)];
    let earlier = |at: i64| raised(&[(&format!("usage_drop/{}", day(at)), at)]);
    assert!(alert::due(new(), &earlier(NOW - DAY), &rules, NOW).is_empty());
    assert!(alert::due(new(), &earlier(NOW - 7 * DAY + 1), &rules, NOW).is_empty());
    assert_eq!(alert::due(new(), &earlier(NOW - 7 * DAY), &rules, NOW).len(), 1, "allowed once the 7 days are over");
    assert_eq!(alert::due(new(), &earlier(NOW - 30 * DAY), &rules, NOW).len(), 1);
    // Other kinds do not hold it back.
    let others = raised(&[("score_fall/2026-11-19", NOW - DAY), ("urgent_tickets/2026-11-19", NOW - DAY)]);
    assert_eq!(alert::due(new(), &others, &rules, NOW).len(), 1);
}

#[test]
fn cooldowns_per_kind_follow_the_rules() {
    let defaults = CooldownDays::default();
    let named: Vec<(&str, i64)> = defaults.iter().map(|(kind, days)| (kind.as_str(), days)).collect();
    assert_eq!(
        named,
        [
            ("band_drop", 7),
            ("score_fall", 7),
            ("payment_failed", 0),
            ("cancel_at_period_end", 0),
            ("urgent_tickets", 3),
            ("usage_drop", 7),
            ("onboarding_stalled", 0),
            ("expansion", 30),
            ("renewal", 0),
            ("nps_detractor", 0),
        ]
    );
    let rules = AlertRules::default();
    let held = |kind: AlertKind, ago: i64| {
        let prefix = kind.as_str();
        alert::due(vec![signal(kind, "new")], &raised(&[(&format!("{prefix}/old"), NOW - ago)]), &rules, NOW).is_empty()
    };
    assert!(held(AlertKind::Expansion, 29 * DAY));
    assert!(!held(AlertKind::Expansion, 30 * DAY));
    assert!(held(AlertKind::UrgentTickets, 3 * DAY - 1));
    assert!(!held(AlertKind::UrgentTickets, 3 * DAY));
    assert!(held(AlertKind::ScoreFall, 6 * DAY));
    assert!(!held(AlertKind::ScoreFall, 7 * DAY));
    // Cool-down 0: never held back, even a minute later.
    assert!(!held(AlertKind::PaymentFailed, 60));
    assert!(!held(AlertKind::CancelAtPeriodEnd, 60));
    assert!(!held(AlertKind::OnboardingStalled, 0));
    // Configured to 0: the same.
    let mut none = AlertRules::default();
    none.cooldown_days.set(AlertKind::UsageDrop, 0);
    let due = alert::due(
        vec![signal(AlertKind::UsageDrop, TODAY)],
        &raised(&[("usage_drop/2026-11-19", NOW - HOUR)]),
        &none,
        NOW,
    );
    assert_eq!(due.len(), 1);
    // And longer when configured.
    let mut long = AlertRules::default();
    long.cooldown_days.set(AlertKind::PaymentFailed, 10);
    let due = alert::due(
        vec![signal(AlertKind::PaymentFailed, "in_2")],
        &raised(&[("payment_failed/in_1", NOW - 9 * DAY)]),
        &long,
        NOW,
    );
    assert!(due.is_empty());
}

#[test]
fn band_drop_cooldown_is_per_band() {
    let rules = AlertRules::default();
    let yellow_yesterday = raised(&[("band_drop/yellow/2026-11-19", NOW - DAY)]);
    let to_red = vec![signal(AlertKind::BandDrop, &format!("red/{TODAY}"))];
    let to_yellow = vec![signal(AlertKind::BandDrop, &format!("yellow/{TODAY}"))];
    assert_eq!(alert::due(to_red.clone(), &yellow_yesterday, &rules, NOW), to_red, "red is not held back by yellow");
    assert!(alert::due(to_yellow.clone(), &yellow_yesterday, &rules, NOW).is_empty());
    let red_yesterday = raised(&[("band_drop/red/2026-11-19", NOW - DAY)]);
    assert!(alert::due(to_red.clone(), &red_yesterday, &rules, NOW).is_empty());
    assert_eq!(alert::due(to_yellow.clone(), &red_yesterday, &rules, NOW), to_yellow);
    let red_long_ago = raised(&[("band_drop/red/2026-11-01", NOW - 19 * DAY)]);
    assert_eq!(alert::due(to_red.clone(), &red_long_ago, &rules, NOW), to_red);
}

#[test]
fn due_over_a_real_sweep_sequence() {
    // Day 0: green → yellow raises; day 2: yellow → green → yellow again is held; day 3 → red raises.
    let rules = AlertRules::default();
    let r = blank();
    let mut raised_keys = BTreeMap::new();
    let sweep = |now: i64, score: i64, previous: Band, raised_keys: &BTreeMap<String, i64>| {
        let scored = plain(score);
        let ctx = SweepContext { scored: &scored, previous_band: Some(previous), change_7d: None };
        alert::due(alert::sweep_signals(&r, &ctx, &rules, now), raised_keys, &rules, now)
    };
    let day0 = sweep(NOW, 60, Band::Green, &raised_keys);
    assert_eq!(local_keys(&day0), [format!("band_drop/yellow/{TODAY}")]);
    raised_keys.insert(day0[0].local_key(), NOW);
    assert!(sweep(NOW, 60, Band::Green, &raised_keys).is_empty(), "a second sweep the same day");
    assert!(sweep(NOW + 2 * DAY, 60, Band::Green, &raised_keys).is_empty(), "inside the cool-down");
    let day3 = sweep(NOW + 3 * DAY, 30, Band::Yellow, &raised_keys);
    assert_eq!(local_keys(&day3), [format!("band_drop/red/{}", day(NOW + 3 * DAY))]);
    assert_eq!(sweep(NOW + 8 * DAY, 60, Band::Green, &raised_keys).len(), 1, "after the cool-down");
}

#[test]
fn a_lasting_urgent_ticket_spike_alerts_once() {
    // domain.md: "the same condition never alerts twice while it lasts; a cool-down applies after it
    // clears". The same two urgent tickets, open since day 0, alert again on day 3.
    let tickets = [
        attr(
            "tk#t1",
            json!({"status": "open", "priority": "urgent", "created_at": NOW - 4 * DAY, "v": "000000000001#e1"}),
        ),
        attr(
            "tk#t2",
            json!({"status": "open", "priority": "high", "created_at": NOW - 4 * DAY, "v": "000000000001#e2"}),
        ),
    ];
    let rules = AlertRules::default();
    let at = |now: i64, raised: &BTreeMap<String, i64>| {
        let r = record_with(&tickets, now);
        let scored = plain(80);
        let ctx = SweepContext { scored: &scored, previous_band: None, change_7d: None };
        alert::due(alert::sweep_signals(&r, &ctx, &rules, now), raised, &rules, now)
    };
    let first = at(NOW - 3 * DAY, &BTreeMap::new());
    assert_eq!(of_kind(&first, AlertKind::UrgentTickets).len(), 1);
    let raised_keys = raised(&[(&first[0].local_key(), NOW - 3 * DAY)]);
    let again = at(NOW, &raised_keys);
    none_of(&again, AlertKind::UrgentTickets);
}

// ---------------------------------------------------------------- the alert

fn facts(score: Option<i64>, change: Option<i64>, reasons: Vec<&str>) -> HealthFacts {
    HealthFacts {
        score,
        band: score.map(|s| HealthModel::default().band(s)),
        change_7d: change,
        reasons: reasons.into_iter().map(String::from).collect(),
    }
}

fn linked_record() -> AccountRecord {
    let mut r = record_with(
        &[
            attr("customer", json!({"name": "Acme", "v": "000000000100#evt_c"})),
            subscription(
                "sub_1",
                "past_due",
                json!({"mrr": 450_000, "quantity": 5, "interval": "year", "renewal_at": NOW + 60 * DAY}),
            ),
            attr("link_stripe", json!("cus_123")),
            attr("link_zendesk", json!("org_9")),
            attr("pf#in_7#1", json!({"at": NOW - DAY, "amount": 450_000})),
        ],
        NOW,
    );
    r.links.hubspot_company_id = Some("hs_1".into());
    r.links.salesforce_account_id = Some("sf_1".into());
    r
}

#[test]
fn the_alert_carries_everything_a_csm_needs() {
    let r = linked_record();
    assert_eq!(r.segment, Segment::HighTouch, "450,000 a month is high touch");
    let s = one(&alert::event_signals(&r, NOW), AlertKind::PaymentFailed);
    let health = facts(
        Some(42),
        Some(-18),
        vec!["usage: events -60% vs 30-day rhythm, 2 active users", "support: 3 urgent tickets open"],
    );
    let a = alert::alert(&r, &s, &health, &tracked(), "stripe-webhook", NOW);
    assert_eq!(a.dedupe_key, "acct_1/payment_failed/in_7");
    assert_eq!(a.kind, AlertKind::PaymentFailed);
    assert_eq!(a.severity, Severity::Risk);
    assert_eq!(a.account_id, "acct_1");
    assert_eq!(a.account_name.as_deref(), Some("Acme"));
    assert_eq!(a.tier, Segment::HighTouch);
    assert_eq!(a.lifecycle, r.lifecycle);
    assert_eq!((a.score, a.band, a.change_7d), (Some(42), Some(Band::Yellow), Some(-18)));
    assert_eq!((a.mrr, a.currency.as_deref()), (450_000, Some("usd")));
    let since = day(NOW - DAY);
    assert_eq!(a.headline, format!("payment failed 1×: 4,500.00 USD owed since {since}"));
    assert_eq!(a.reasons, health.reasons);
    assert_eq!(
        a.summary,
        format!(
            "health 42 (yellow), down 18 this week: payment failed 1×: 4,500.00 USD owed since {since}; \
             usage: events -60% vs 30-day rhythm, 2 active users; support: 3 urgent tickets open; renewal 2027-01-19"
        )
    );
    assert_eq!(a.renewal_at, Some(time::at(NOW + 60 * DAY)));
    assert_eq!(a.links.account, "", "no public URL, no template: no link (a bare path is not one)");
    let public = AlertRules { public_url: "https://cs.acme.example".into(), ..tracked() };
    let linked = alert::alert(&r, &s, &health, &public, "stripe-webhook", NOW);
    assert_eq!(linked.links.account, "https://cs.acme.example/accounts/acct_1");
    assert_eq!(a.links.stripe.as_deref(), Some("https://dashboard.stripe.com/customers/cus_123"));
    assert_eq!(a.links.hubspot_company_id.as_deref(), Some("hs_1"));
    assert_eq!(a.links.salesforce_account_id.as_deref(), Some("sf_1"));
    assert_eq!(a.links.zendesk_organization_id.as_deref(), Some("org_9"));
    assert_eq!(a.raised_at, time::at(NOW));
    assert_eq!(a.raised_by, "stripe-webhook");
}

#[test]
fn the_alert_links_the_account_by_the_configured_template() {
    let r = linked_record();
    let s = signal(AlertKind::Expansion, TODAY);
    let rules =
        AlertRules { account_url: "https://cs.example.com/a/{account_id}?tab=health".into(), ..Default::default() };
    let a = alert::alert(&r, &s, &facts(None, None, vec![]), &rules, "health-sweep", NOW);
    assert_eq!(a.links.account, "https://cs.example.com/a/acct_1?tab=health");
    assert_eq!(a.severity, Severity::Opportunity);
    // Without a Stripe customer there is no Stripe link.
    let a = alert::alert(&blank(), &s, &facts(None, None, vec![]), &tracked(), "health-sweep", NOW);
    assert_eq!(a.links.stripe, None);
    assert_eq!(a.links.account, "");
    assert_eq!(a.account_name, None);
}

#[test]
fn the_summary_says_the_trend_and_skips_a_reason_that_repeats_the_headline() {
    let r = blank();
    let s = Signal { kind: AlertKind::UrgentTickets, episode: TODAY.into(), headline: "3 urgent tickets open".into() };
    let summary = |health: HealthFacts| alert::alert(&r, &s, &health, &tracked(), "t", NOW).summary;
    assert_eq!(
        summary(facts(Some(55), Some(-3), vec!["support: 3 urgent tickets open", "billing: past due", "sentiment: CSAT 0 good / 2 bad in 30 days", "renewal: renewal in 10 days"])),
        "health 55 (yellow), down 3 this week: 3 urgent tickets open; billing: past due; sentiment: CSAT 0 good / 2 bad in 30 days"
    );
    assert_eq!(summary(facts(Some(81), Some(6), vec![])), "health 81 (green), up 6 this week: 3 urgent tickets open");
    assert_eq!(summary(facts(Some(81), Some(0), vec![])), "health 81 (green): 3 urgent tickets open");
    assert_eq!(summary(facts(Some(81), None, vec![])), "health 81 (green): 3 urgent tickets open");
    assert_eq!(summary(facts(None, None, vec![])), "not scored yet: 3 urgent tickets open");
}

// ---------------------------------------------------------------- top reasons

fn comp(name: &str, score: i64, weight: f64) -> ComponentScore {
    ComponentScore { name: name.into(), score, weight, points: 0, reason: format!("{name} reason") }
}

#[test]
fn top_reasons_are_the_costliest_weak_components_worst_first() {
    let h = HealthScore {
        score: 50,
        band: Band::Yellow,
        components: vec![
            comp("usage", 60, 0.3),     // costs 12
            comp("adoption", 25, 0.2),  // costs 15
            comp("support", 0, 0.14),   // costs 14
            comp("sentiment", 69, 0.1), // costs 3.1
            comp("billing", 70, 0.15),  // not weak
            comp("renewal", 100, 0.1),  // not weak
        ],
        missing: vec![],
        missing_reasons: vec![],
        cap: None,
    };
    assert_eq!(
        alert::top_reasons(&h, 3),
        ["adoption: adoption reason", "support: support reason", "usage: usage reason"]
    );
    assert_eq!(alert::top_reasons(&h, 10).len(), 4, "components at 70 or more are no reason");
    assert_eq!(alert::top_reasons(&h, 10)[3], "sentiment: sentiment reason");
    assert!(alert::top_reasons(&h, 0).is_empty());
    assert!(alert::top_reasons(&HealthScore { components: vec![comp("usage", 90, 1.0)], ..h.clone() }, 3).is_empty());
    // Weight matters: a light component at 0 costs less than a heavy one at 40.
    let h = HealthScore { components: vec![comp("sentiment", 0, 0.05), comp("usage", 40, 0.5)], ..h };
    assert_eq!(alert::top_reasons(&h, 2), ["usage: usage reason", "sentiment: sentiment reason"]);
}

#[test]
fn top_reasons_of_a_scored_record() {
    let mut r = blank();
    r.links.zendesk_organization_id = Some("org_1".into());
    r.support.open_tickets = 3;
    r.support.urgent_open_tickets = 3;
    r.billing.status = Some(SubscriptionStatus::PastDue);
    r.support.csat_good_30d = 9;
    r.support.csat_bad_30d = 1;
    let h = health::score(&r, &HealthModel::default(), NOW);
    assert_eq!(alert::top_reasons(&h, 3), ["support: 3 urgent tickets open", "billing: past due"]);
}

#[test]
fn stored_health_facts_feed_the_alert() {
    let mut r = blank();
    r.billing.status = Some(SubscriptionStatus::Unpaid);
    r.support.csat_bad_30d = 2;
    let scored = health::score(&r, &HealthModel::default(), NOW);
    r.health =
        Some(json!({"score": scored.score, "band": scored.band, "change_7d": -20, "components": scored.components}));
    let f = HealthFacts::stored(&r);
    assert_eq!((f.score, f.band, f.change_7d), (Some(scored.score), Some(scored.band), Some(-20)));
    assert_eq!(f.reasons, ["billing: unpaid", "sentiment: CSAT 0 good / 2 bad in 30 days"]);
    let empty = HealthFacts::stored(&blank());
    assert_eq!((empty.score, empty.band, empty.change_7d, empty.reasons.len()), (None, None, None, 0));
}

#[test]
fn alert_kinds_have_snake_case_names_and_only_expansion_is_an_opportunity() {
    let kinds = [
        (AlertKind::BandDrop, "band_drop"),
        (AlertKind::ScoreFall, "score_fall"),
        (AlertKind::PaymentFailed, "payment_failed"),
        (AlertKind::CancelAtPeriodEnd, "cancel_at_period_end"),
        (AlertKind::UrgentTickets, "urgent_tickets"),
        (AlertKind::UsageDrop, "usage_drop"),
        (AlertKind::OnboardingStalled, "onboarding_stalled"),
        (AlertKind::Expansion, "expansion"),
        (AlertKind::NpsDetractor, "nps_detractor"),
    ];
    for (kind, name) in kinds {
        assert_eq!(kind.as_str(), name);
        assert_eq!(serde_json::to_value(kind).unwrap(), json!(name));
        let expected = if kind == AlertKind::Expansion { Severity::Opportunity } else { Severity::Risk };
        assert_eq!(kind.severity(), expected);
    }
    // The lifecycle of a record is carried as is.
    let a =
        alert::alert(&blank(), &signal(AlertKind::ScoreFall, TODAY), &facts(None, None, vec![]), &tracked(), "t", NOW);
    assert_eq!(a.lifecycle, Lifecycle::Adoption);
    assert_eq!(a.tier, Segment::TechTouch);
}

// ---------------------------------------------------------------- expiry of raised marks

#[test]
fn raised_marks_expire_once_their_condition_is_gone_and_the_cool_down_passed() {
    let rules = AlertRules::default(); // cool-downs: score_fall 7 days, payment_failed none
    let marks = raised(&[
        ("score_fall/2026-10-01", NOW - 8 * DAY),
        ("score_fall/2026-11-08", NOW - DAY),
        ("payment_failed/in_1", NOW - 30 * DAY),
        ("payment_failed/in_2", NOW - 30 * DAY),
        ("mystery/x", NOW - 400 * DAY),
    ]);
    // in_1 is still failing: its mark stays however old, or it would alert again.
    let r = failed_on(&[("in_1", NOW - 30 * DAY)], &[], "past_due", NOW);
    let present = alert::event_signals(&r, NOW);
    assert_eq!(one(&present, AlertKind::PaymentFailed).local_key(), "payment_failed/in_1");
    let expired = alert::expired_marks(&marks, &present, &rules, NOW);
    assert_eq!(expired, ["payment_failed/in_2", "score_fall/2026-10-01"]);
}

// ---------------------------------------------------------------- detractors, slow decline, one alert per cause

fn answered(score: u8, days_ago: i64, mrr: i64) -> AccountRecord {
    record_with(
        &[
            subscription("sub_1", "active", json!({"mrr": mrr})),
            attr(
                "sv#tf-01HX",
                json!({"at": NOW - days_ago * DAY, "score": score, "comment": "Reports take minutes to load", "via": "typeform"}),
            ),
        ],
        NOW,
    )
}

#[test]
fn a_detractor_alerts_with_the_comment_for_high_and_low_touch() {
    // 1,000.00 a month is low touch.
    let r = answered(3, 1, 100_000);
    assert_eq!(r.segment, Segment::LowTouch);
    let s = one(&alert::event_signals(&r, NOW), AlertKind::NpsDetractor);
    assert_eq!(s.episode, "tf-01HX");
    assert_eq!(s.headline, "NPS 3 from a survey response: \u{201c}Reports take minutes to load\u{201d}");
    assert_eq!(s.kind.severity(), Severity::Risk);
    assert_eq!(one(&signals(&r), AlertKind::NpsDetractor), s, "the sweep finds the same episode");
    one(&alert::event_signals(&answered(6, 1, 500_000), NOW), AlertKind::NpsDetractor);
    // Passives and promoters do not alert; tech touch has no CSM to call; an old answer is history.
    none_of(&alert::event_signals(&answered(7, 1, 100_000), NOW), AlertKind::NpsDetractor);
    none_of(&alert::event_signals(&answered(3, 1, 10_000), NOW), AlertKind::NpsDetractor);
    none_of(&alert::event_signals(&answered(3, 8, 100_000), NOW), AlertKind::NpsDetractor);
}

/// Daily usage with `per_day(age in days)` events for the last 28 days.
fn daily(per_day: impl Fn(i64) -> u64) -> AccountRecord {
    let mut r = blank();
    r.usage.daily = (0..28)
        .map(|age| DailyUsage { day: time::date(NOW - age * DAY), events: per_day(age), active_users: 3 })
        .collect();
    r
}

#[test]
fn a_slow_decline_alerts_weeks_before_a_drop_would() {
    // Falling 2% of the starting level a day for three weeks: never 50% week over week.
    let declining = daily(|age| if age >= 21 { 50 } else { 50 - (21 - age as u64) });
    assert_eq!(alert::usage_drop_percent(&declining, NOW).map(|d| d < 50), Some(true));
    let decline = alert::usage_decline_percent(&declining, NOW).expect("a decline");
    assert!(decline >= 30, "{decline}");
    let s = one(&signals(&declining), AlertKind::UsageDrop);
    assert_eq!(s.headline, format!("usage -{decline}% in 3 weeks, down two weeks running"));
    // Off with 0; a smaller fall than the threshold does not alert.
    let off = AlertRules { usage_decline_percent: 0, ..tracked() };
    none_of(&signals_with(&declining, 80, None, None, &off), AlertKind::UsageDrop);
    let strict = AlertRules { usage_decline_percent: 90, ..tracked() };
    none_of(&signals_with(&declining, 80, None, None, &strict), AlertKind::UsageDrop);
}

#[test]
fn a_holiday_dip_is_not_a_decline() {
    // A week at 60% that ended two days ago, wherever the weeks fall: no decline on any day of it.
    for end in 0..10 {
        let dip = daily(|age| if (end..end + 7).contains(&age) { 7 } else { 12 });
        assert_eq!(alert::usage_decline_percent(&dip, NOW), None, "dip ending {end} days ago");
        none_of(&signals(&dip), AlertKind::UsageDrop);
    }
    // Flat use, and a quiet account, are no decline either.
    assert_eq!(alert::usage_decline_percent(&daily(|_| 12), NOW), None);
    assert_eq!(alert::usage_decline_percent(&daily(|age| if age < 21 { 0 } else { 1 }), NOW), None, "under 10 events");
}

#[test]
fn one_alert_per_cause() {
    let s = |kind: AlertKind, episode: &str| signal(kind, episode);
    let kinds = |v: Vec<Signal>| v.into_iter().map(|s| s.kind).collect::<Vec<_>>();
    let none = raised(&[]);
    // A band drop says what a score fall says.
    assert_eq!(
        kinds(alert::consolidate(vec![s(AlertKind::BandDrop, "yellow/d"), s(AlertKind::ScoreFall, "d")], &none, NOW)),
        [AlertKind::BandDrop]
    );
    // The cause says more than either.
    let due =
        vec![s(AlertKind::BandDrop, "yellow/d"), s(AlertKind::ScoreFall, "d"), s(AlertKind::PaymentFailed, "in_1")];
    assert_eq!(kinds(alert::consolidate(due, &none, NOW)), [AlertKind::PaymentFailed]);
    // ... also when the cause alerted in the 7 days before (the webhook raised it at once).
    let lately = raised(&[("payment_failed/in_1", NOW - 2 * DAY)]);
    let due = vec![s(AlertKind::BandDrop, "yellow/d"), s(AlertKind::ScoreFall, "d")];
    assert!(alert::consolidate(due.clone(), &lately, NOW).is_empty());
    let long_ago = raised(&[("payment_failed/in_1", NOW - 9 * DAY)]);
    assert_eq!(kinds(alert::consolidate(due, &long_ago, NOW)), [AlertKind::BandDrop]);
    // A fall to red is news, unless its cause alerts now.
    assert_eq!(kinds(alert::consolidate(vec![s(AlertKind::BandDrop, "red/d")], &lately, NOW)), [AlertKind::BandDrop]);
    let due = vec![s(AlertKind::BandDrop, "red/d"), s(AlertKind::UsageDrop, "d")];
    assert_eq!(kinds(alert::consolidate(due, &none, NOW)), [AlertKind::UsageDrop]);
    // A score fall after a band drop of the week: no news.
    let dropped = raised(&[("band_drop/yellow/2026-11-18", NOW - 2 * DAY)]);
    assert!(alert::consolidate(vec![s(AlertKind::ScoreFall, "d")], &dropped, NOW).is_empty());
    // Opportunities and renewals are never folded.
    let due = vec![s(AlertKind::Expansion, "d"), s(AlertKind::Renewal, "30d/x")];
    assert_eq!(alert::consolidate(due.clone(), &lately, NOW), due);
}

#[test]
fn onboarding_and_churned_accounts_get_no_health_swing_alerts() {
    let trial = record_with(&[subscription("sub_1", "trialing", json!({"started_at": NOW - 5 * DAY}))], NOW);
    assert_eq!(trial.lifecycle, Lifecycle::Onboarding);
    let found = signals_with(&trial, 30, Some(Band::Green), Some(-40), &tracked());
    none_of(&found, AlertKind::BandDrop);
    none_of(&found, AlertKind::ScoreFall);
    let mut gone = record_with(&[subscription("sub_1", "canceled", json!({}))], NOW);
    gone.usage.daily = with_weeks(0, 100).usage.daily;
    assert_eq!(gone.lifecycle, Lifecycle::Churned);
    let found = signals_with(&gone, 0, Some(Band::Green), Some(-60), &tracked());
    one(&found, AlertKind::BandDrop);
    none_of(&found, AlertKind::ScoreFall);
    none_of(&found, AlertKind::UsageDrop);
}

#[test]
fn recent_risks_escalate_a_renewal() {
    let marks = raised(&[
        ("usage_drop/2026-11-10", NOW - 10 * DAY),
        ("expansion/2026-11-18", NOW - 2 * DAY),
        ("score_fall/2026-09-01", NOW - 80 * DAY),
    ]);
    assert_eq!(alert::recent_risks(&marks, NOW), [AlertKind::UsageDrop]);
}

#[test]
fn list_reasons_put_the_billing_cap_first_then_the_costliest_then_what_is_missing() {
    let weak = HealthScore {
        score: 40,
        band: Band::Red,
        components: vec![comp("usage", 60, 0.3), comp("adoption", 25, 0.2), comp("billing", 90, 0.5)],
        missing: vec!["sentiment".into()],
        missing_reasons: vec![],
        cap: Some(health::Cap { band: Band::Red, at: 39, reason: "invoice unpaid".into() }),
    };
    assert_eq!(alert::list_reasons(&weak, 1), ["billing: invoice unpaid"]);
    assert_eq!(alert::list_reasons(&weak, 2), ["billing: invoice unpaid", "adoption: adoption reason"]);
    let uncapped = HealthScore { cap: None, ..weak.clone() };
    assert_eq!(alert::list_reasons(&uncapped, 1), ["adoption: adoption reason"]);
    // Nothing scored low: what is missing is the reason; nothing missing either: none.
    let strong = HealthScore { components: vec![comp("usage", 95, 1.0)], cap: None, ..weak.clone() };
    assert_eq!(alert::list_reasons(&strong, 2), ["missing: sentiment"]);
    assert!(alert::list_reasons(&HealthScore { missing: vec![], ..strong }, 2).is_empty());
    assert!(alert::list_reasons(&weak, 0).is_empty());
}

#[test]
fn a_stored_health_group_reads_back_as_the_score_it_was() {
    let scored = HealthScore {
        score: 40,
        band: Band::Red,
        components: vec![comp("usage", 60, 1.0)],
        missing: vec![],
        missing_reasons: vec![],
        cap: None,
    };
    let mut group = serde_json::to_value(&scored).unwrap();
    group["change_7d"] = json!(-12); // what a sweep adds beside the score
    let record = AccountRecord { health: Some(group), ..blank() };
    assert_eq!(alert::stored_health(&record), Some(scored));
    assert_eq!(alert::stored_health(&blank()), None);
}
