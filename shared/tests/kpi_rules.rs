//! The KPIs of a hand-computed portfolio, every field checked against numbers worked out by hand
//! (below), from MRR points through movements, the ledger and the month totals, exactly as the
//! store keeps them. October 2026, `now` 2026-11-05; reporting in USD with EUR at 1.10; JPY has
//! no rate.
//!
//! | account  | story (USD cents unless noted) |
//! |----------|--------------------------------|
//! | acme     | new 2025-09-10 at 10,000; upgrade 2026-10-05 to 15,000 (expansion +5,000) |
//! | globex   | annual plan 1,200,000 a year → 100,000 a month, new 2024-12-01, renews 2026-12-01 |
//! | initech  | new 2025-08-01 at 50,000; downgrade 2026-10-12 to 30,000 (contraction −20,000) |
//! | hooli    | new 2025-07-01 at 20,000; set to cancel 2026-09-20 (no movement), ends at the period end 2026-10-01 (churn −20,000) |
//! | umbrella | new 2025-05-01 at 30,000; churn 2026-03-15; reactivation 2026-10-20 at 25,000 |
//! | vandelay | trial from 2026-10-02 (MRR 0), converts 2026-10-16 at 8,000 (new); first value 2026-10-05 |
//! | soylent  | active with a 100% discount: MRR 0 all along, never a customer |
//! | stark    | EUR: new 2026-02-01 at 40,000 (44,000 USD); expansion 2026-10-15 to 50,000 (+10,000 EUR = +11,000 USD) |
//! | nakatomi | JPY: new 2025-12-01 at 50,000 JPY, renews 2027-01-10: no rate, excluded |
//! | tyrell   | trial from 2026-10-20, no first value yet |
//!
//! By hand: customers of 2025-10's end: acme, globex, initech, hooli, umbrella = 5, MRR 210,000.
//! In the window: stark new (Feb, +44,000), umbrella churn (Mar, −30,000) → October starts at
//! MRR 224,000 with 5 customers (acme, globex, initech, hooli, stark). October: new 8,000,
//! expansion 16,000, contraction 20,000, churn 20,000, reactivation 25,000 → end 233,000; 6
//! customers. Logo churn 1/5; gross MRR churn 40,000/224,000; net −1,000/224,000. NRR: the 5 of
//! 12 months ago were 210,000 and are now 15,000 + 100,000 + 30,000 + 0 + 25,000 = 170,000;
//! GRR caps acme at 10,000: 165,000. ARPA 233,000/6 = 38,833; LTV = 38,833 / (0.2/6) =
//! 1,164,990. Expansion: acme and stark of 7 customers during the month (5 + 1 new + 1
//! reactivated).

use foresight_shared::domain::billing::{
    monthly_recurring_revenue, mrr_movements, BillingInterval, Discount, MovementKind, MrrPoint, PriceLine,
    SubscriptionStatus,
};
use foresight_shared::domain::health::Band;
use foresight_shared::domain::kpi::{
    self, kpis, ledger_months, month_nps_answers, nps, totals_delta, AccountCard, KpiInput, LedgerMonth, Month,
    MonthTotal, Reporting,
};
use foresight_shared::domain::time;
use foresight_shared::domain::version::EventVersion;
use std::collections::BTreeMap;

fn t(text: &str) -> i64 {
    time::parse(text).unwrap_or_else(|| panic!("bad time {text}"))
}

fn point(sub: &str, at: &str, mrr: i64) -> MrrPoint {
    let created = t(at);
    MrrPoint {
        subscription_id: sub.into(),
        version: EventVersion::new(created, &format!("evt_{sub}_{created}")),
        mrr,
        effective_at: None,
    }
}

fn line(amount: f64, interval: BillingInterval) -> PriceLine {
    PriceLine {
        unit_amount: Some(amount),
        quantity: 1,
        interval,
        interval_count: 1,
        metered: false,
        transform_quantity: None,
    }
}

/// Each account's MRR points and currency.
fn portfolio() -> Vec<(&'static str, &'static str, Vec<MrrPoint>)> {
    let active = SubscriptionStatus::Active;
    let annual = monthly_recurring_revenue(active, &[(line(1_200_000.0, BillingInterval::Year), vec![])], &[]).0;
    assert_eq!(annual, 100_000, "an annual plan is spread per month");
    let full_discount = Discount { percent_off: Some(100.0), amount_off: None, once: false };
    let discounted =
        monthly_recurring_revenue(active, &[(line(9_900.0, BillingInterval::Month), vec![])], &[full_discount]).0;
    assert_eq!(discounted, 0, "a 100% discount carries no MRR");
    let trial = monthly_recurring_revenue(
        SubscriptionStatus::Trialing,
        &[(line(8_000.0, BillingInterval::Month), vec![])],
        &[],
    )
    .0;
    assert_eq!(trial, 0, "a trial carries no MRR");
    // The cancel requested on 2026-09-20 moves nothing (the subscription stays active until its
    // period end); the subscription's end, dated `ended_at`, is the churn.
    let mut hooli_end = point("sub_hooli", "2026-10-01T00:00:09Z", 0);
    hooli_end.effective_at = Some(t("2026-10-01T00:00:00Z"));
    vec![
        (
            "acme",
            "usd",
            vec![point("sub_acme", "2025-09-10T10:00:00Z", 10_000), point("sub_acme", "2026-10-05T10:00:00Z", 15_000)],
        ),
        ("globex", "usd", vec![point("sub_globex", "2024-12-01T00:00:00Z", annual)]),
        (
            "initech",
            "usd",
            vec![
                point("sub_initech", "2025-08-01T00:00:00Z", 50_000),
                point("sub_initech", "2026-10-12T00:00:00Z", 30_000),
            ],
        ),
        ("hooli", "usd", vec![point("sub_hooli", "2025-07-01T00:00:00Z", 20_000), hooli_end]),
        (
            "umbrella",
            "usd",
            vec![
                point("sub_umbrella", "2025-05-01T00:00:00Z", 30_000),
                point("sub_umbrella", "2026-03-15T00:00:00Z", 0),
                point("sub_umbrella2", "2026-10-20T00:00:00Z", 25_000),
            ],
        ),
        (
            "vandelay",
            "usd",
            vec![
                point("sub_vandelay", "2026-10-02T00:00:00Z", trial),
                point("sub_vandelay", "2026-10-16T00:00:00Z", 8_000),
            ],
        ),
        ("soylent", "usd", vec![point("sub_soylent", "2026-01-10T00:00:00Z", discounted)]),
        (
            "stark",
            "eur",
            vec![
                point("sub_stark", "2026-02-01T00:00:00Z", 40_000),
                point("sub_stark", "2026-10-15T00:00:00Z", 50_000),
            ],
        ),
        ("nakatomi", "jpy", vec![point("sub_nakatomi", "2025-12-01T00:00:00Z", 50_000)]),
    ]
}

/// The ledger of every account and the month totals, as the store keeps them.
fn ledger() -> (Vec<LedgerMonth>, Vec<MonthTotal>) {
    let mut months = Vec::new();
    for (account, currency, points) in portfolio() {
        months.extend(ledger_months(account, Some(currency), &mrr_movements(&points)));
    }
    let totals = totals_delta(&[], &months);
    (months, totals)
}

fn card(id: &str, currency: &str, mrr: i64, band: Option<Band>) -> AccountCard {
    AccountCard {
        account_id: id.into(),
        name: Some(id[..1].to_uppercase() + &id[1..]),
        currency: Some(currency.into()),
        mrr,
        band,
        ..Default::default()
    }
}

fn cards() -> Vec<AccountCard> {
    let mut globex = card("globex", "usd", 100_000, Some(Band::Yellow));
    globex.renewal_at = Some(t("2026-12-01T00:00:00Z"));
    let mut vandelay = card("vandelay", "usd", 8_000, None);
    vandelay.started_at = Some(t("2026-10-02T00:00:00Z"));
    vandelay.first_value_at = Some(t("2026-10-05T00:00:00Z"));
    let mut tyrell = card("tyrell", "usd", 0, None);
    tyrell.started_at = Some(t("2026-10-20T00:00:00Z"));
    let mut nakatomi = card("nakatomi", "jpy", 50_000, Some(Band::Green));
    nakatomi.renewal_at = Some(t("2027-01-10T00:00:00Z"));
    let mut umbrella = card("umbrella", "usd", 25_000, Some(Band::Red));
    umbrella.started_at = Some(t("2025-05-01T00:00:00Z"));
    vec![
        card("acme", "usd", 15_000, Some(Band::Green)),
        globex,
        card("initech", "usd", 30_000, Some(Band::Red)),
        card("hooli", "usd", 0, Some(Band::Red)),
        umbrella,
        vandelay,
        card("soylent", "usd", 0, Some(Band::Green)),
        card("stark", "eur", 50_000, Some(Band::Green)),
        nakatomi,
        tyrell,
    ]
}

fn reporting() -> Reporting {
    Reporting { currency: "usd".into(), rates: BTreeMap::from([("eur".to_owned(), 1.10)]) }
}

fn october(ledger: &[LedgerMonth], totals: &[MonthTotal], detail: bool) -> kpi::Kpis {
    let cards = cards();
    let reporting = reporting();
    kpis(&KpiInput {
        month: Month::parse("2026-10").unwrap(),
        now: t("2026-11-05T00:00:00Z"),
        totals,
        ledger,
        cards: &cards,
        nps_answers: &[10, 9, 9, 7, 3],
        reporting: &reporting,
        onboarding_days: 14,
        detail,
    })
}

#[test]
fn every_field_of_a_hand_computed_month() {
    let (ledger, totals) = ledger();
    let k = october(&ledger, &totals, false);
    assert_eq!((k.month.as_str(), k.currency.as_str()), ("2026-10", "usd"));
    assert_eq!(
        (k.mrr.start, k.mrr.end, k.mrr.new, k.mrr.expansion, k.mrr.contraction, k.mrr.churn, k.mrr.reactivation),
        (224_000, 233_000, 8_000, 16_000, 20_000, 20_000, 25_000)
    );
    assert_eq!(
        (k.customers.start, k.customers.end, k.customers.new, k.customers.churned, k.customers.reactivated),
        (5, 6, 1, 1, 1)
    );
    assert_eq!(k.logo_churn_rate, 0.2);
    assert_eq!(k.gross_mrr_churn_rate, 40_000.0 / 224_000.0);
    assert_eq!(k.net_mrr_churn_rate, -1_000.0 / 224_000.0);
    assert_eq!(k.nrr_12m, 170_000.0 / 210_000.0);
    assert_eq!(k.grr_12m, 165_000.0 / 210_000.0);
    assert_eq!(k.arpa, 38_833);
    assert_eq!(k.ltv, 1_164_990);
    assert_eq!((k.nps.score, k.nps.responses, k.nps.promoters, k.nps.passives, k.nps.detractors), (40, 5, 3, 1, 1));
    assert_eq!(k.onboarding_completion_rate, 0.5, "vandelay reached first value in 3 days, tyrell not yet");
    assert_eq!(k.expansion_rate, 2.0 / 7.0);
    let h = &k.health;
    assert_eq!((h.green.accounts, h.green.mrr), (2, 15_000 + 55_000), "acme and stark (50,000 EUR)");
    assert_eq!((h.yellow.accounts, h.yellow.mrr), (1, 100_000));
    assert_eq!((h.red.accounts, h.red.mrr), (2, 30_000 + 25_000), "initech and umbrella; hooli pays nothing");
    assert_eq!((h.unscored.accounts, h.unscored.mrr), (1, 8_000));
    assert_eq!(h.green.mrr + h.yellow.mrr + h.red.mrr + h.unscored.mrr, k.mrr.end, "the distribution is all of MRR");
    let renewals: Vec<_> = k.renewals_90d.iter().map(|r| (r.account_id.as_str(), r.mrr, r.band)).collect();
    assert_eq!(renewals, [("globex", 100_000, Some(Band::Yellow))], "nakatomi renews too but has no rate");
    assert_eq!(k.renewals_90d[0].renewal_at, time::at(t("2026-12-01T00:00:00Z")));
    assert_eq!(k.renewals_90d[0].name.as_deref(), Some("Globex"));
    let excluded: Vec<_> = k.excluded.iter().map(|e| (e.account_id.as_str(), e.reason.as_str())).collect();
    assert_eq!(excluded, [("nakatomi", "no exchange rate for jpy")]);
    assert!(k.accounts.is_none());

    // The contract's JSON names.
    let json = serde_json::to_value(&k).unwrap();
    for key in [
        "month",
        "currency",
        "mrr",
        "customers",
        "logo_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "grr_12m",
        "nrr_12m",
        "arpa",
        "ltv",
        "nps",
        "onboarding_completion_rate",
        "expansion_rate",
        "health",
        "renewals_90d",
        "excluded",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    assert_eq!(json["health"]["unscored"], serde_json::json!({"accounts": 1, "mrr": 8000}));
}

#[test]
fn detail_lists_each_movement_of_the_month_signed_in_the_reporting_currency() {
    let (ledger, totals) = ledger();
    let k = october(&ledger, &totals, true);
    let got: Vec<_> = k
        .accounts
        .unwrap()
        .iter()
        .map(|m| (m.account_id.clone(), m.kind, m.mrr_delta, time::rfc3339(m.at.timestamp())))
        .collect();
    let expected = [
        ("acme", MovementKind::Expansion, 5_000, "2026-10-05T10:00:00Z"),
        ("hooli", MovementKind::Churn, -20_000, "2026-10-01T00:00:00Z"),
        ("initech", MovementKind::Contraction, -20_000, "2026-10-12T00:00:00Z"),
        ("stark", MovementKind::Expansion, 11_000, "2026-10-15T00:00:00Z"),
        ("umbrella", MovementKind::Reactivation, 25_000, "2026-10-20T00:00:00Z"),
        ("vandelay", MovementKind::New, 8_000, "2026-10-16T00:00:00Z"),
    ]
    .map(|(a, k, d, at)| (a.to_owned(), k, d, at.to_owned()));
    assert_eq!(got, expected);
}

#[test]
fn out_of_order_and_redelivered_points_give_the_same_ledger() {
    let (expected, _) = ledger();
    let mut months = Vec::new();
    for (account, currency, mut points) in portfolio() {
        points.reverse();
        let again = points.clone();
        points.extend(again);
        months.extend(ledger_months(account, Some(currency), &mrr_movements(&points)));
    }
    assert_eq!(months, expected);
}

#[test]
fn totals_follow_a_ledger_rewritten_by_a_late_event() {
    // Umbrella's churn arrives after its reactivation was recorded as new business.
    let early =
        [point("sub_umbrella", "2025-05-01T00:00:00Z", 30_000), point("sub_umbrella2", "2026-10-20T00:00:00Z", 25_000)];
    let before = ledger_months("umbrella", Some("usd"), &mrr_movements(&early));
    let mut all = early.to_vec();
    all.push(point("sub_umbrella", "2026-03-15T00:00:00Z", 0));
    let after = ledger_months("umbrella", Some("usd"), &mrr_movements(&all));
    assert_eq!(after.iter().map(|m| m.month.as_str()).collect::<Vec<_>>(), ["2025-05", "2026-03", "2026-10"]);
    assert_eq!(after[2].moves[0].kind, MovementKind::Reactivation);
    let mut totals = totals_delta(&[], &before);
    let delta = totals_delta(&before, &after);
    // March loses 30,000 MRR and a customer; October's expansion of 25,000 (onto 30,000) becomes
    // a reactivation of 25,000 from 0: the same MRR change, one more customer.
    let got: Vec<_> = delta.iter().map(|d| (d.month.as_str(), d.mrr, d.customers)).collect();
    assert_eq!(got, [("2026-03", -30_000, -1), ("2026-10", 0, 1)]);
    totals.extend(delta);
    fn sum(totals: &[MonthTotal], month: &str) -> (i64, i64) {
        let of_month = totals.iter().filter(|t| t.month == month);
        of_month.fold((0, 0), |a, t| (a.0 + t.mrr, a.1 + t.customers))
    }
    assert_eq!(sum(&totals, "2026-03"), (-30_000, -1));
    assert_eq!(sum(&totals, "2026-10"), (25_000, 1));
    assert!(totals_delta(&after, &after).is_empty(), "rewriting a ledger with itself changes nothing");
    totals.extend(totals_delta(&after, &[]));
    for month in ["2025-05", "2026-03", "2026-10"] {
        assert_eq!(sum(&totals, month), (0, 0), "erasing the ledger takes its contribution away ({month})");
    }
}

#[test]
fn month_to_date_counts_movements_up_to_now() {
    let (ledger, totals) = ledger();
    let cards = cards();
    let reporting = reporting();
    let k = kpis(&KpiInput {
        month: Month::parse("2026-10").unwrap(),
        now: t("2026-10-13T00:00:00Z"),
        totals: &totals,
        ledger: &ledger,
        cards: &cards,
        nps_answers: &[],
        reporting: &reporting,
        onboarding_days: 14,
        detail: false,
    });
    // Hooli's churn, acme's expansion and initech's contraction so far.
    assert_eq!((k.mrr.start, k.mrr.end), (224_000, 224_000 - 20_000 + 5_000 - 20_000));
    assert_eq!((k.customers.end, k.nps.responses, k.nps.score), (4, 0, 0));
}

#[test]
fn rates_months_and_nps_edges() {
    let r = reporting();
    assert_eq!(r.convert(12_345, "usd"), Some(12_345));
    assert_eq!(r.convert(10_000, "EUR"), Some(11_000));
    assert_eq!(r.convert(1, "jpy"), None);
    let with_yen = Reporting { currency: "usd".into(), rates: BTreeMap::from([("jpy".to_owned(), 0.0067)]) };
    assert_eq!(with_yen.convert(50_000, "jpy"), Some(33_500), "yen have no minor unit: 50,000 JPY = 335.00 USD");
    assert_eq!(r.exclusion(None).as_deref(), Some("no currency on its subscriptions"));
    let m = Month::parse("2026-01").unwrap();
    assert_eq!(
        (m.plus(-1).key(), m.plus(11).key(), m.plus(-13).key()),
        ("2025-12".into(), "2026-12".into(), "2024-12".into())
    );
    assert_eq!((m.start(), m.end()), (t("2026-01-01T00:00:00Z"), t("2026-02-01T00:00:00Z")));
    assert_eq!(Month::parse("2026-13"), None);
    assert_eq!(Month::parse("26-01"), None);
    assert_eq!(nps(&[]).score, 0);
    assert_eq!(nps(&[0, 6]).score, -100);
    assert_eq!(nps(&[9, 10, 11]).responses, 2, "an answer above 10 is no answer");
    assert_eq!(nps(&[9, 8, 7]).score, 33);
    // No customers a year ago and nothing churned: the ratios have nothing to divide by.
    let empty = kpis(&KpiInput {
        month: m,
        now: t("2026-02-01T00:00:00Z"),
        totals: &[],
        ledger: &[],
        cards: &[],
        nps_answers: &[],
        reporting: &r,
        onboarding_days: 14,
        detail: true,
    });
    assert_eq!((empty.grr_12m, empty.nrr_12m, empty.ltv, empty.arpa, empty.logo_churn_rate), (1.0, 1.0, 0, 0, 0.0));
    assert_eq!(empty.accounts, Some(vec![]));
}

#[test]
fn the_month_nps_counts_the_answers_given_in_that_month_only() {
    let mut a = card("acme", "usd", 1_000, Some(Band::Green));
    a.nps_answers =
        vec![(t("2026-09-30T23:59:59Z"), 0), (t("2026-10-01T00:00:00Z"), 10), (t("2026-10-31T23:00:00Z"), 6)];
    let mut b = card("bramble", "usd", 1_000, Some(Band::Green));
    b.nps_answers = vec![(t("2026-10-15T12:00:00Z"), 9), (t("2026-11-01T00:00:00Z"), 0)];
    let october = month_nps_answers(&[a, b], Month::of(t("2026-10-10T00:00:00Z")));
    assert_eq!(october, vec![10, 6, 9]);
    let block = nps(&october);
    assert_eq!((block.score, block.promoters, block.detractors, block.responses), (33, 2, 1, 3));
}
