//! The KPIs of a month (`GET /kpis?month=`): a bounded number of reads whatever the length of
//! the history — the month totals before the 12-month window (one small item per month and
//! currency), the ledger months of the window (one item per account and month that moved), and
//! one card per account — then the pure maths of `domain::kpi`.

use crate::app::ports::portfolio::{MrrLedger, PortfolioCards};
use crate::app::ports::store::StoreError;
use crate::app::settings::Settings;
use crate::domain::kpi::{self, KpiInput, Kpis, Month};

/// What the KPIs read.
pub struct KpiPorts<'a> {
    pub ledger: &'a dyn MrrLedger,
    pub cards: &'a dyn PortfolioCards,
}

/// The KPIs of `month` as of `now` (movements after `now` are not counted); with `detail`, each
/// movement of the month is listed.
pub async fn month_kpis(
    ports: &KpiPorts<'_>,
    settings: &Settings,
    month: Month,
    now: i64,
    detail: bool,
) -> Result<Kpis, StoreError> {
    let (first, last) = kpi::window(month);
    let totals = ports.ledger.month_totals(&first.plus(-1).key()).await?;
    let ledger = ports.ledger.ledger_between(&first.key(), &last.key()).await?;
    let cards = ports.cards.cards().await?;
    let nps_answers = kpi::month_nps_answers(&cards, month);
    Ok(kpi::kpis(&KpiInput {
        month,
        now,
        totals: &totals,
        ledger: &ledger,
        cards: &cards,
        nps_answers: &nps_answers,
        reporting: &settings.portfolio.reporting,
        onboarding_days: onboarding_days(settings),
        detail,
    }))
}

/// The onboarding window: `[alerts] onboarding_days`, 14 when that alert is off.
pub fn onboarding_days(settings: &Settings) -> i64 {
    match settings.alerts.onboarding_days {
        0 => 14,
        days => days,
    }
}
