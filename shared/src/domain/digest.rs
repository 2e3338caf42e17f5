//! The weekly portfolio digest: last month's and this month's KPIs, the week's MRR movements,
//! and 5 to 15 accounts that need someone, each with one next step. Pure: the use case reads,
//! this decides what is in it; the Slack adapter lays it out and draws the chart.

use super::billing::MovementKind;
use super::health::Band;
use super::kpi::{AccountCard, HealthBlock, Kpis, LedgerMonth, MrrBlock, Reporting};
use super::time::{self, Timestamp, DAY};
use chrono::Datelike;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// At most this many accounts, at least [`MIN_ACCOUNTS`] when the portfolio has them.
pub const MAX_ACCOUNTS: usize = 15;
pub const MIN_ACCOUNTS: usize = 5;
/// A health drop worth a look: this many points or more in 7 days.
pub const DROP_POINTS: i64 = 10;

/// The ISO week of a moment, `2026-W45` (the digest is once per ISO week).
pub fn iso_week(unix: i64) -> String {
    let week = time::date(unix).iso_week();
    format!("{}-W{:02}", week.year(), week.week())
}

/// Why an account is in the digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Section {
    /// Red or yellow, paying: someone should call.
    AtRisk,
    /// Health fell [`DROP_POINTS`] or more in 7 days.
    HealthDrop,
    /// In the expansion stage (seats nearly all used).
    Expansion,
    /// The lowest health of the rest, so the list has [`MIN_ACCOUNTS`].
    Watch,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// One account in the digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DigestAccount {
    pub section: Section,
    pub account_id: String,
    pub name: Option<String>,
    pub band: Option<Band>,
    pub score: Option<i64>,
    pub change_7d: Option<i64>,
    /// In the reporting currency.
    pub mrr: i64,
    pub renewal_at: Option<Timestamp>,
    pub owner: Option<String>,
    /// The top reason of its health score, when scored.
    pub reason: Option<String>,
    pub next_step: String,
}

/// One movement of the week.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeekMovement {
    pub account_id: String,
    pub name: Option<String>,
    pub kind: MovementKind,
    /// Signed, in the reporting currency.
    pub mrr_delta: i64,
    pub at: Timestamp,
}

/// The week's movements: sums per kind (contraction and churn as magnitudes) and each movement,
/// largest first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WeekMovements {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub totals: MrrBlock,
    pub movements: Vec<WeekMovement>,
}

/// What the chart shows: MRR movements per month for 12 months, and the health distribution.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartData {
    pub months: Vec<(String, MrrBlock)>,
    pub health: HealthBlock,
    pub currency: String,
}

/// The weekly digest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Digest {
    /// `2026-W45`.
    pub week: String,
    pub now: Timestamp,
    pub currency: String,
    pub last_month: Kpis,
    pub month_to_date: Kpis,
    pub week_movements: WeekMovements,
    pub accounts: Vec<DigestAccount>,
    pub chart: ChartData,
}

/// The week before `now`: movements in `[now − 7 days, now)`, named from the cards.
pub fn week_movements(ledger: &[LedgerMonth], cards: &[AccountCard], reporting: &Reporting, now: i64) -> WeekMovements {
    let from = now - 7 * DAY;
    let mut week = WeekMovements { from: Some(time::at(from)), to: Some(time::at(now)), ..Default::default() };
    for month in ledger {
        let Some(currency) = month.currency.as_deref().filter(|c| reporting.rate(c).is_some()) else { continue };
        for m in month.moves.iter().filter(|m| m.at >= from && m.at < now) {
            let delta = reporting.convert(m.amount, currency).unwrap_or(0);
            let t = &mut week.totals;
            match m.kind {
                MovementKind::New => t.new += delta,
                MovementKind::Expansion => t.expansion += delta,
                MovementKind::Contraction => t.contraction -= delta,
                MovementKind::Churn => t.churn -= delta,
                MovementKind::Reactivation => t.reactivation += delta,
            }
            week.movements.push(WeekMovement {
                account_id: month.account_id.clone(),
                name: cards.iter().find(|c| c.account_id == month.account_id).and_then(|c| c.name.clone()),
                kind: m.kind,
                mrr_delta: delta,
                at: time::at(m.at),
            });
        }
    }
    week.movements
        .sort_by(|a, b| (b.mrr_delta.abs(), &a.account_id, a.at).cmp(&(a.mrr_delta.abs(), &b.account_id, b.at)));
    week
}

/// The accounts the digest lists, before their reasons are known: paying accounts at risk
/// (red, then yellow; largest MRR first), the biggest health drops, the expansion candidates,
/// then the lowest health of the rest up to [`MIN_ACCOUNTS`]; [`MAX_ACCOUNTS`] in all. Accounts
/// whose currency has no rate are left out (the KPIs list them as excluded).
pub fn select(cards: &[AccountCard], reporting: &Reporting) -> Vec<(Section, AccountCard)> {
    let convertible = |c: &&AccountCard| reporting.exclusion(c.currency.as_deref()).is_none();
    let paying: Vec<&AccountCard> = cards.iter().filter(|c| c.mrr > 0).filter(convertible).collect();
    let mut chosen: Vec<(Section, AccountCard)> = Vec::new();
    let mut seen = BTreeSet::new();
    let mut take = |section: Section, list: Vec<&AccountCard>, max: usize, chosen: &mut Vec<(Section, AccountCard)>| {
        let mut taken = 0;
        for card in list {
            if taken == max || chosen.len() == MAX_ACCOUNTS {
                return;
            }
            if seen.insert(card.account_id.clone()) {
                chosen.push((section, card.clone()));
                taken += 1;
            }
        }
    };
    let mut at_risk: Vec<&AccountCard> =
        paying.iter().copied().filter(|c| matches!(c.band, Some(Band::Red | Band::Yellow))).collect();
    at_risk.sort_by(|a, b| (a.band, -a.mrr, &a.account_id).cmp(&(b.band, -b.mrr, &b.account_id)));
    take(Section::AtRisk, at_risk, 8, &mut chosen);
    let mut drops: Vec<&AccountCard> =
        paying.iter().copied().filter(|c| c.change_7d.is_some_and(|d| d <= -DROP_POINTS)).collect();
    drops.sort_by_key(|c| (c.change_7d, c.account_id.clone()));
    take(Section::HealthDrop, drops, 4, &mut chosen);
    let mut expansion: Vec<&AccountCard> =
        paying.iter().copied().filter(|c| c.lifecycle.as_deref() == Some("expansion")).collect();
    expansion.sort_by(|a, b| (-a.mrr, &a.account_id).cmp(&(-b.mrr, &b.account_id)));
    take(Section::Expansion, expansion, 4, &mut chosen);
    if chosen.len() < MIN_ACCOUNTS {
        let mut rest: Vec<&AccountCard> = paying.clone();
        rest.sort_by(|a, b| (a.score.unwrap_or(101), &a.account_id).cmp(&(b.score.unwrap_or(101), &b.account_id)));
        let missing = MIN_ACCOUNTS - chosen.len();
        take(Section::Watch, rest, missing, &mut chosen);
    }
    chosen
}

/// One next step for an account, from why it is listed and its top reason.
pub fn next_step(section: Section, card: &AccountCard, reason: Option<&str>, now: i64) -> String {
    let renewal_soon = card.renewal_at.filter(|r| *r >= now && *r - now <= 60 * DAY);
    match section {
        Section::AtRisk => {
            let component = reason.and_then(|r| r.split_once(':')).map(|(c, _)| c.trim());
            match (component, renewal_soon) {
                (Some("billing"), _) => "Sort out the failed payment with their billing contact".into(),
                (_, Some(at)) => format!("Prepare the renewal: call them before {}", time::day_key(at)),
                (Some("usage"), _) => "Book a call: find out why usage dropped".into(),
                (Some("adoption"), _) => "Offer a session on the key features they do not use".into(),
                (Some("support"), _) => "Go through their open tickets with support, then call".into(),
                (Some("sentiment"), _) => "Call the champion about their bad ratings".into(),
                (Some("renewal"), _) => "Start the renewal conversation now".into(),
                _ => "Call them this week".into(),
            }
        }
        Section::HealthDrop => {
            format!("Ask what changed: health fell {} points in 7 days", card.change_7d.map_or(0, |d| -d))
        }
        Section::Expansion => "Offer more seats: they use nearly all they pay for".into(),
        Section::Watch => "Check in: lowest health of the rest of the portfolio".into(),
    }
}
