//! The judgement against the labelled portfolio (`foresight calibrate`): replayed day by day
//! through the webhooks and the sweeps, every account labelled at risk is flagged (recall 100%),
//! at least 90% of the flagged are (precision), no healthy account gets a risk alert, a repeated
//! sweep is silent, no opportunity goes to an account at risk, and each slow decliner is alerted
//! at least 21 days before it cancels. The report is printed (`cargo test -- --nocapture`).

use foresight::calibrate::{self, MIN_LEAD_DAYS, MIN_PRECISION};

#[tokio::test]
async fn the_labelled_portfolio_meets_the_targets() {
    let settings = calibrate::settings_from(None).expect("foresight.example.toml is valid");
    let report =
        calibrate::run(&calibrate::default_portfolio(), settings, calibrate::DEFAULT_DAYS).await.expect("replayed");
    println!("{}", calibrate::render(&report));
    assert_eq!(report.accounts, 68, "every account of the portfolio is labelled");
    assert_eq!(report.recall(), 1.0, "missed: {:?}", report.missed);
    assert!(report.precision() >= MIN_PRECISION, "false alarms: {:?}", report.false_alarms);
    assert!(report.healthy_alerted.is_empty(), "{:?}", report.healthy_alerted);
    assert!(report.repeated.is_empty(), "a repeated sweep raised {:?}", report.repeated);
    assert!(report.opportunities_at_risk.is_empty(), "{:?}", report.opportunities_at_risk);
    assert_eq!(report.lead_times.len(), 3, "three slow decliners");
    for lead in &report.lead_times {
        assert!(lead.days.is_some_and(|d| d >= MIN_LEAD_DAYS), "{lead:?}");
        assert_eq!(lead.first_alert.as_ref().map(|a| a.kind.as_str()), Some("usage_drop"), "{lead:?}");
    }
    assert!(report.missed_targets().is_empty(), "{:?}", report.missed_targets());
    // Every archetype the issue adds is in the portfolio and judged as labelled: the risky ones
    // alerted, the healthy ones (a holiday dip, a big account with many tickets) not.
    let alerted =
        |archetype: &str| report.alerts.iter().any(|a| a.account_id.starts_with(&format!("acct_{archetype}_")));
    for archetype in ["silent", "neveronboarded", "failedonly", "detractor", "decline"] {
        assert!(alerted(archetype), "{archetype} raised nothing");
    }
    for archetype in ["seasonal", "bigtickets"] {
        assert!(!alerted(archetype), "{archetype} was alerted");
    }
}
