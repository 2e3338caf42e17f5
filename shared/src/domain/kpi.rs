//! Portfolio KPIs, as the subscription-analytics tools define them (`../shared/domain.md`,
//! "Portfolio metrics", ChartMogul's definitions): pure functions, no I/O.
//!
//! The inputs are what the store keeps so that a month costs a bounded number of reads:
//! - the **ledger**: one [`LedgerMonth`] per account and month in which its MRR moved, made from
//!   the account's movements ([`ledger_months`]); dated when each change takes effect;
//! - **month totals** per month and currency: the net change of MRR and of customers that month
//!   ([`MonthTotal`], kept in step with the ledger by [`totals_delta`]), so the MRR and customer
//!   count at any month's start is a sum of a few small items, not a scan of every account;
//! - the **portfolio cards**: one small [`AccountCard`] per account (currency, MRR now, band,
//!   renewal, start and first value), for what is about the accounts as they are now (health
//!   distribution, renewals, onboarding).
//!
//! Money is summed per currency in minor units and converted once per currency at the end
//! ([`Reporting::convert`], rounded to the reporting currency's minor unit); an account whose
//! currency has no configured rate is left out of every figure and listed in `excluded`.
//! Rates are fractions (0.25 is 25%).

use super::billing::{MovementKind, MrrMovement};
use super::health::Band;
use super::money;
use super::time::{self, DAY};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A calendar month (UTC), `YYYY-MM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Option<Month> {
        let (y, m) = text.trim().split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let month = Month { year: y.parse().ok()?, month: m.parse().ok()? };
        (1..=12).contains(&month.month).then_some(month)
    }

    /// The month of a moment.
    pub fn of(unix: i64) -> Month {
        let d = time::date(unix);
        Month { year: d.year(), month: d.month() }
    }

    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }

    /// The month `n` months later (earlier when negative).
    pub fn plus(self, n: i32) -> Month {
        let index = self.year * 12 + self.month as i32 - 1 + n;
        Month { year: index.div_euclid(12), month: index.rem_euclid(12) as u32 + 1 }
    }

    /// Its first second (UTC).
    pub fn start(self) -> i64 {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).map_or(0, time::day_start)
    }

    /// The first second of the next month.
    pub fn end(self) -> i64 {
        self.plus(1).start()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key())
    }
}

/// One movement inside a [`LedgerMonth`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerMove {
    pub at: i64,
    pub kind: MovementKind,
    /// Signed change of the account's MRR, in its currency's minor unit.
    pub amount: i64,
}

/// An account's MRR movements of one month: what the ledger stores per account and month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerMonth {
    pub account_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Lower-case ISO code; `None` when the billing system named none.
    pub currency: Option<String>,
    /// MRR before the month's first movement, and after its last.
    pub mrr_start: i64,
    pub mrr_end: i64,
    pub moves: Vec<LedgerMove>,
}

impl LedgerMonth {
    /// A short, stable fingerprint of the content (the store's optimistic-concurrency token).
    pub fn fingerprint(&self) -> String {
        let text = serde_json::to_string(self).unwrap_or_default();
        let hash =
            text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        format!("{hash:016x}")
    }

    /// Net change of customers this month: new and reactivated count +1, churned −1.
    pub fn customers_delta(&self) -> i64 {
        self.moves
            .iter()
            .map(|m| match m.kind {
                MovementKind::New | MovementKind::Reactivation => 1,
                MovementKind::Churn => -1,
                _ => 0,
            })
            .sum()
    }
}

/// The currency key totals are kept under (`""` when unknown).
pub fn currency_key(currency: Option<&str>) -> String {
    currency.map(|c| c.trim().to_ascii_lowercase()).unwrap_or_default()
}

/// An account's movements grouped by the month they take effect in, oldest first.
pub fn ledger_months(account_id: &str, currency: Option<&str>, movements: &[MrrMovement]) -> Vec<LedgerMonth> {
    let currency = Some(currency_key(currency)).filter(|c| !c.is_empty());
    let mut by_month: BTreeMap<Month, LedgerMonth> = BTreeMap::new();
    for m in movements {
        let month = Month::of(m.at);
        let entry = by_month.entry(month).or_insert_with(|| LedgerMonth {
            account_id: account_id.to_owned(),
            month: month.key(),
            currency: currency.clone(),
            mrr_start: m.mrr_after - m.amount,
            mrr_end: 0,
            moves: Vec::new(),
        });
        entry.mrr_end = m.mrr_after;
        entry.moves.push(LedgerMove { at: m.at, kind: m.kind, amount: m.amount });
    }
    by_month.into_values().collect()
}

/// The net change of MRR and of customers in one month and currency (a month total).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTotal {
    pub month: String,
    pub currency: String,
    pub mrr: i64,
    pub customers: i64,
}

/// What replacing an account's ledger months `before` by `after` changes in the month totals:
/// only the non-zero changes. Applied with the replacement, atomically, it keeps the totals equal
/// to the sum of the ledger (and replacing a ledger by itself changes nothing).
pub fn totals_delta(before: &[LedgerMonth], after: &[LedgerMonth]) -> Vec<MonthTotal> {
    let mut delta: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for (months, sign) in [(before, -1), (after, 1)] {
        for m in months {
            let entry = delta.entry((m.month.clone(), currency_key(m.currency.as_deref()))).or_default();
            entry.0 += sign * (m.mrr_end - m.mrr_start);
            entry.1 += sign * m.customers_delta();
        }
    }
    delta
        .into_iter()
        .filter(|(_, (mrr, customers))| *mrr != 0 || *customers != 0)
        .map(|((month, currency), (mrr, customers))| MonthTotal { month, currency, mrr, customers })
        .collect()
}

/// One account as the portfolio sees it now: the few fields the KPIs and the digest read for
/// every account (kept small: a month's KPIs read one card per account).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountCard {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// MRR now (the ledger's latest), in the account's currency.
    #[serde(default)]
    pub mrr: i64,
    /// From the last health sweep; `None` until the account is scored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub band: Option<Band>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_7d: Option<i64>,
    /// When the customer started (earliest subscription start, trial or paid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_value_at: Option<i64>,
    /// The contract renewal (earliest yearly period end), as the renewal index has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renewal_at: Option<i64>,
    /// The lifecycle stage at the last sweep (`expansion`, `renewal`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<String>,
    /// The account's survey answers of the 90 days before the last sweep: `(at, 0–10 score)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nps_answers: Vec<(i64, u8)>,
}

/// The 0–10 answers of every card given in `month` (the month's NPS).
pub fn month_nps_answers(cards: &[AccountCard], month: Month) -> Vec<u8> {
    let (start, end) = (month.start(), month.plus(1).start());
    cards.iter().flat_map(|c| &c.nps_answers).filter(|(at, _)| (start..end).contains(at)).map(|(_, s)| *s).collect()
}

/// The reporting currency and the configured rates (`[portfolio]` in `foresight.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reporting {
    /// Lower-case ISO code, e.g. `usd`.
    pub currency: String,
    /// Units of the reporting currency per unit of another currency (`eur = 1.08`: 1 EUR is
    /// 1.08 USD), in major units; the minor units of each currency are taken care of.
    pub rates: BTreeMap<String, f64>,
}

impl Default for Reporting {
    fn default() -> Self {
        Reporting { currency: "usd".into(), rates: BTreeMap::new() }
    }
}

impl Reporting {
    /// The rate of a currency (1 for the reporting currency itself), `None` without one.
    pub fn rate(&self, currency: &str) -> Option<f64> {
        let code = currency_key(Some(currency));
        if code == currency_key(Some(&self.currency)) {
            return Some(1.0);
        }
        self.rates.get(&code).copied()
    }

    /// `amount` minor units of `currency` in the reporting currency's minor units, rounded to
    /// the nearest; `None` without a rate.
    pub fn convert(&self, amount: i64, currency: &str) -> Option<i64> {
        let rate = self.rate(currency)?;
        let from = money::minor_per_major(Some(currency)) as f64;
        let to = money::minor_per_major(Some(&self.currency)) as f64;
        Some((amount as f64 / from * rate * to).round() as i64)
    }

    /// Why an account in `currency` is left out, or `None` when it can be converted.
    pub fn exclusion(&self, currency: Option<&str>) -> Option<String> {
        match currency.map(|c| currency_key(Some(c))).filter(|c| !c.is_empty()) {
            None => Some("no currency on its subscriptions".into()),
            Some(code) if self.rate(&code).is_none() => Some(format!("no exchange rate for {code}")),
            Some(_) => None,
        }
    }
}

/// The `nps` block: promoters 9–10, passives 7–8, detractors 0–6; score = %promoters −
/// %detractors, rounded (−100..100); all zero without responses.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NpsBlock {
    pub score: i64,
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
}

/// The NPS of a set of 0–10 answers (answers above 10 are ignored).
pub fn nps(answers: &[u8]) -> NpsBlock {
    let mut b = NpsBlock::default();
    for &a in answers.iter().filter(|a| **a <= 10) {
        b.responses += 1;
        match a {
            9..=10 => b.promoters += 1,
            7..=8 => b.passives += 1,
            _ => b.detractors += 1,
        }
    }
    if b.responses > 0 {
        b.score = ((b.promoters as f64 - b.detractors as f64) * 100.0 / b.responses as f64).round() as i64;
    }
    b
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MrrBlock {
    pub start: i64,
    pub end: i64,
    pub new: i64,
    pub expansion: i64,
    /// Magnitudes (positive): end = start + new + expansion + reactivation − contraction − churn.
    pub contraction: i64,
    pub churn: i64,
    pub reactivation: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomersBlock {
    pub start: i64,
    pub end: i64,
    pub new: i64,
    pub churned: i64,
    pub reactivated: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BandBlock {
    pub accounts: i64,
    pub mrr: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HealthBlock {
    pub green: BandBlock,
    pub yellow: BandBlock,
    pub red: BandBlock,
    pub unscored: BandBlock,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Renewal {
    pub account_id: String,
    pub name: Option<String>,
    pub renewal_at: time::Timestamp,
    pub mrr: i64,
    pub band: Option<Band>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Excluded {
    pub account_id: String,
    pub reason: String,
}

/// One movement of `detail=accounts`: `mrr_delta` signed, in the reporting currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountMovement {
    pub account_id: String,
    pub kind: MovementKind,
    pub mrr_delta: i64,
    pub at: time::Timestamp,
}

/// `GET /kpis?month=` (the local-API contract's KPI JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Kpis {
    pub month: String,
    pub currency: String,
    pub mrr: MrrBlock,
    pub customers: CustomersBlock,
    pub logo_churn_rate: f64,
    pub gross_mrr_churn_rate: f64,
    pub net_mrr_churn_rate: f64,
    pub grr_12m: f64,
    pub nrr_12m: f64,
    pub arpa: i64,
    pub ltv: i64,
    pub nps: NpsBlock,
    pub onboarding_completion_rate: f64,
    pub expansion_rate: f64,
    pub health: HealthBlock,
    pub renewals_90d: Vec<Renewal>,
    pub excluded: Vec<Excluded>,
    /// Only with `detail=accounts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<AccountMovement>>,
}

/// What the KPIs of a month are computed from.
pub struct KpiInput<'a> {
    pub month: Month,
    /// Movements after `now` are not counted yet (month to date); renewals are the 90 days
    /// from `now`; the health distribution is as of the last sweep.
    pub now: i64,
    /// Month totals of every month up to `month` (older months: only their sums matter).
    pub totals: &'a [MonthTotal],
    /// Ledger months of the 12 months ending with `month` ([`window`]).
    pub ledger: &'a [LedgerMonth],
    pub cards: &'a [AccountCard],
    /// NPS answers (0–10) given during the month.
    pub nps_answers: &'a [u8],
    pub reporting: &'a Reporting,
    /// First value within this many days of the start completes onboarding.
    pub onboarding_days: i64,
    /// List each movement of the month (`detail=accounts`).
    pub detail: bool,
}

/// The months whose ledger the KPIs of `month` read: the 12 months ending with it (GRR and NRR
/// look back 12 months, LTV's churn 6).
pub fn window(month: Month) -> (Month, Month) {
    (month.plus(-11), month)
}

fn rate(numerator: f64, denominator: f64) -> f64 {
    if denominator > 0.0 {
        numerator / denominator
    } else {
        0.0
    }
}

/// Per-currency sums, converted once at the end.
#[derive(Default)]
struct PerCurrency(BTreeMap<String, i64>);

impl PerCurrency {
    fn add(&mut self, currency: &str, amount: i64) {
        *self.0.entry(currency.to_owned()).or_default() += amount;
    }
    fn total(&self, reporting: &Reporting) -> i64 {
        self.0.iter().filter_map(|(c, a)| reporting.convert(*a, c)).sum()
    }
}

/// A month's movements summed per kind (per currency), and its customer counts.
#[derive(Default)]
struct MonthFigures {
    new: PerCurrency,
    expansion: PerCurrency,
    contraction: PerCurrency,
    churn: PerCurrency,
    reactivation: PerCurrency,
    net: PerCurrency,
    new_customers: i64,
    churned: i64,
    reactivated: i64,
    expanded_accounts: BTreeSet<String>,
}

/// The KPIs of one month.
pub fn kpis(input: &KpiInput) -> Kpis {
    kpis_with_series(input).0
}

/// The KPIs of one month, and the MRR movements of each month of its window (the digest's
/// chart), oldest first.
pub fn kpis_with_series(input: &KpiInput) -> (Kpis, Vec<(String, MrrBlock)>) {
    let reporting = input.reporting;
    let month = input.month;
    let (first, last) = window(month);
    let convertible = |c: &str| reporting.rate(c).is_some();
    let mut excluded: BTreeMap<String, String> = BTreeMap::new();

    // MRR and customers at the window's start: the sum of every month total before it.
    let mut mrr_before_window = PerCurrency::default();
    let mut customers_before_window = 0_i64;
    for t in input.totals {
        let Some(m) = Month::parse(&t.month) else { continue };
        if m < first && convertible(&t.currency) {
            mrr_before_window.add(&t.currency, t.mrr);
            customers_before_window += t.customers;
        }
    }

    // The window's ledger, movements after `now` left out, per month.
    let mut per_month: BTreeMap<Month, MonthFigures> = BTreeMap::new();
    // Per account: MRR at the window's start (before its first movement in the window) and
    // after its last movement, in its currency.
    let mut spans: BTreeMap<&str, (String, i64, i64)> = BTreeMap::new();
    let mut detail = Vec::new();
    let mut ledger: Vec<&LedgerMonth> = input.ledger.iter().collect();
    ledger.sort_by(|a, b| (&a.month, &a.account_id).cmp(&(&b.month, &b.account_id)));
    for lm in ledger {
        let Some(m) = Month::parse(&lm.month).filter(|m| (first..=last).contains(m)) else { continue };
        let currency = currency_key(lm.currency.as_deref());
        if let Some(reason) = reporting.exclusion(lm.currency.as_deref()) {
            excluded.insert(lm.account_id.clone(), reason);
            continue;
        }
        let moves: Vec<&LedgerMove> = lm.moves.iter().filter(|mv| mv.at <= input.now).collect();
        if moves.is_empty() {
            continue;
        }
        let span = spans.entry(&lm.account_id).or_insert((currency.clone(), lm.mrr_start, lm.mrr_start));
        let f = per_month.entry(m).or_default();
        for mv in moves {
            span.2 += mv.amount;
            f.net.add(&currency, mv.amount);
            match mv.kind {
                MovementKind::New => {
                    f.new.add(&currency, mv.amount);
                    f.new_customers += 1;
                }
                MovementKind::Expansion => {
                    f.expansion.add(&currency, mv.amount);
                    f.expanded_accounts.insert(lm.account_id.clone());
                }
                MovementKind::Contraction => f.contraction.add(&currency, -mv.amount),
                MovementKind::Churn => {
                    f.churn.add(&currency, -mv.amount);
                    f.churned += 1;
                }
                MovementKind::Reactivation => {
                    f.reactivation.add(&currency, mv.amount);
                    f.reactivated += 1;
                }
            }
            if input.detail && m == month {
                detail.push(AccountMovement {
                    account_id: lm.account_id.clone(),
                    kind: mv.kind,
                    mrr_delta: reporting.convert(mv.amount, &currency).unwrap_or(0),
                    at: time::at(mv.at),
                });
            }
        }
    }

    // Walk the window month by month: each month starts where the last ended.
    let mut mrr_start = mrr_before_window.total(reporting);
    let mut customers_start = customers_before_window;
    let mut month_logo_churn = Vec::new();
    let mut this_month = (MrrBlock::default(), CustomersBlock::default(), 0_usize);
    let mut series = Vec::new();
    let empty = MonthFigures::default();
    for i in 0..12 {
        let m = first.plus(i);
        let f = per_month.get(&m).unwrap_or(&empty);
        let mrr_end = mrr_start + f.net.total(reporting);
        let customers_end = customers_start + f.new_customers + f.reactivated - f.churned;
        month_logo_churn.push(rate(f.churned as f64, customers_start as f64));
        let block = MrrBlock {
            start: mrr_start,
            end: mrr_end,
            new: f.new.total(reporting),
            expansion: f.expansion.total(reporting),
            contraction: f.contraction.total(reporting),
            churn: f.churn.total(reporting),
            reactivation: f.reactivation.total(reporting),
        };
        series.push((m.key(), block.clone()));
        if m == month {
            this_month = (
                block,
                CustomersBlock {
                    start: customers_start,
                    end: customers_end,
                    new: f.new_customers,
                    churned: f.churned,
                    reactivated: f.reactivated,
                },
                f.expanded_accounts.len(),
            );
        }
        mrr_start = mrr_end;
        customers_start = customers_end;
    }
    let (mrr, customers, expanded) = this_month;

    // GRR and NRR: the customers at the window's start, their MRR at the month's end over their
    // MRR then. Accounts without a movement in the window kept their MRR (in and out alike);
    // an account that moved contributes its change (GRR: capped at its starting MRR).
    let base = mrr_before_window.total(reporting) as f64;
    let (mut nrr_change, mut grr_change) = (PerCurrency::default(), PerCurrency::default());
    for (currency, then, now) in spans.values() {
        if *then > 0 {
            nrr_change.add(currency, now - then);
            grr_change.add(currency, (*now).min(*then) - then);
        }
    }
    let nrr_12m = if base > 0.0 { (base + nrr_change.total(reporting) as f64) / base } else { 1.0 };
    let grr_12m = if base > 0.0 { (base + grr_change.total(reporting) as f64) / base } else { 1.0 };

    let arpa = if customers.end > 0 { (mrr.end as f64 / customers.end as f64).round() as i64 } else { 0 };
    let last_six = &month_logo_churn[6..];
    let average_churn = last_six.iter().sum::<f64>() / last_six.len() as f64;
    let ltv = if average_churn > 0.0 { (arpa as f64 / average_churn).round() as i64 } else { 0 };

    // The accounts as they are now (cards).
    let mut health = HealthBlock::default();
    let mut renewals = Vec::new();
    let (mut started, mut completed) = (0_u64, 0_u64);
    for card in input.cards {
        if let Some(start) = card.started_at.filter(|s| Month::of(*s) == month) {
            started += 1;
            if card.first_value_at.is_some_and(|fv| fv >= start && fv - start <= input.onboarding_days * DAY) {
                completed += 1;
            }
        }
        let paying = card.mrr > 0;
        let renewing = card.renewal_at.filter(|r| *r >= input.now && *r < input.now + 90 * DAY);
        if !paying && renewing.is_none() {
            continue;
        }
        if let Some(reason) = reporting.exclusion(card.currency.as_deref()) {
            excluded.insert(card.account_id.clone(), reason);
            continue;
        }
        let converted = reporting.convert(card.mrr, &currency_key(card.currency.as_deref())).unwrap_or(0);
        if paying {
            let block = match card.band {
                Some(Band::Green) => &mut health.green,
                Some(Band::Yellow) => &mut health.yellow,
                Some(Band::Red) => &mut health.red,
                None => &mut health.unscored,
            };
            block.accounts += 1;
            block.mrr += converted;
        }
        if let Some(at) = renewing {
            renewals.push(Renewal {
                account_id: card.account_id.clone(),
                name: card.name.clone(),
                renewal_at: time::at(at),
                mrr: converted,
                band: card.band,
            });
        }
    }
    renewals.sort_by(|a, b| (a.renewal_at, &a.account_id).cmp(&(b.renewal_at, &b.account_id)));

    let customers_during = (customers.start + customers.new + customers.reactivated) as f64;
    let kpis = Kpis {
        month: month.key(),
        currency: currency_key(Some(&reporting.currency)),
        logo_churn_rate: rate(customers.churned as f64, customers.start as f64),
        gross_mrr_churn_rate: rate((mrr.churn + mrr.contraction) as f64, mrr.start as f64),
        net_mrr_churn_rate: rate(
            (mrr.churn + mrr.contraction - mrr.expansion - mrr.reactivation) as f64,
            mrr.start as f64,
        ),
        grr_12m,
        nrr_12m,
        arpa,
        ltv,
        nps: nps(input.nps_answers),
        onboarding_completion_rate: rate(completed as f64, started as f64),
        expansion_rate: rate(expanded as f64, customers_during),
        mrr,
        customers,
        health,
        renewals_90d: renewals,
        excluded: excluded.into_iter().map(|(account_id, reason)| Excluded { account_id, reason }).collect(),
        accounts: input.detail.then_some(detail),
    };
    (kpis, series)
}

/// Attribute names of an account's portfolio card, kept on the account item (a sparse index
/// reads them for every account without reading the record). Two writers, disjoint names: the
/// MRR ledger's refresh (currency, MRR, start) and the health sweep (band, score, trend, first
/// value, stage). Name and renewal come from the record's own `customer` and `renewal_key`.
pub mod card_attr {
    /// The index key: present (`card`) on every account with a card.
    pub const KEY: &str = "kpi";
    pub const CARD: &str = "card";
    pub const CURRENCY: &str = "kpi_cur";
    pub const MRR: &str = "kpi_mrr";
    pub const STARTED: &str = "kpi_start";
    pub const BAND: &str = "kpi_band";
    pub const SCORE: &str = "kpi_score";
    pub const CHANGE: &str = "kpi_change";
    pub const FIRST_VALUE: &str = "kpi_fv";
    pub const STAGE: &str = "kpi_stage";
    /// The survey answers of the last 90 days, `[[at, score], ...]`, for the portfolio's NPS.
    pub const NPS: &str = "kpi_nps";

    /// Whether an attribute belongs to the card (not to the record).
    pub fn is_card(name: &str) -> bool {
        name == KEY || name.starts_with("kpi_")
    }
}

/// An account's ledger and the card facts only the ledger knows (currency, MRR now, start), from
/// its record: what the store's refresh writes. A record with no billing has neither.
pub fn account_ledger(record: &super::account::AccountRecord) -> (Vec<LedgerMonth>, Vec<(String, serde_json::Value)>) {
    let billing = &record.billing;
    let movements: Vec<MrrMovement> = billing
        .mrr_movements
        .iter()
        .map(|m| MrrMovement {
            at: m.at.timestamp(),
            kind: m.kind,
            amount: m.amount,
            mrr_after: m.mrr_after,
            event_id: m.event_id.clone(),
        })
        .collect();
    let months = ledger_months(&record.account_id, billing.currency.as_deref(), &movements);
    if billing.subscriptions.is_empty() {
        return (months, Vec::new());
    }
    let mut facts = vec![
        (card_attr::KEY.to_owned(), serde_json::json!(card_attr::CARD)),
        (card_attr::MRR.to_owned(), serde_json::json!(billing.mrr)),
    ];
    if let Some(currency) = billing.currency.as_deref() {
        facts.push((card_attr::CURRENCY.to_owned(), serde_json::json!(currency_key(Some(currency)))));
    }
    if let Some(start) = super::lifecycle::started_at(billing) {
        facts.push((card_attr::STARTED.to_owned(), serde_json::json!(start)));
    }
    (months, facts)
}

/// `change` with the card facts the health sweep knows (band, score, 7-day change, first value,
/// stage). Without a score a week ago the trend is removed, or the card would go on showing the
/// last one computed.
pub fn with_sweep_card(
    mut change: super::change::AccountChange,
    record: &super::account::AccountRecord,
    band: Band,
    score: i64,
    change_7d: Option<i64>,
) -> super::change::AccountChange {
    let facts = &mut change.facts;
    facts.extend([
        (card_attr::KEY.to_owned(), serde_json::json!(card_attr::CARD)),
        (card_attr::BAND.to_owned(), serde_json::json!(band.as_str())),
        (card_attr::SCORE.to_owned(), serde_json::json!(score)),
        (card_attr::STAGE.to_owned(), serde_json::json!(record.lifecycle.as_str())),
    ]);
    match change_7d {
        Some(trend) => facts.push((card_attr::CHANGE.to_owned(), serde_json::json!(trend))),
        None => change.expired.push(card_attr::CHANGE.to_owned()),
    }
    if let Some(fv) = record.usage.first_value_at {
        facts.push((card_attr::FIRST_VALUE.to_owned(), serde_json::json!(fv.timestamp())));
    }
    let answers: Vec<(i64, u8)> = record.surveys.recent.iter().map(|r| (r.at, r.score)).collect();
    facts.push((card_attr::NPS.to_owned(), serde_json::json!(answers)));
    change
}

/// A card read back from the attributes the index holds (the card's, and the record's
/// `customer` and `renewal_key`).
pub fn card_from(account_id: &str, attributes: &BTreeMap<String, serde_json::Value>) -> AccountCard {
    let get = |name: &str| attributes.get(name);
    let int = |name: &str| get(name).and_then(serde_json::Value::as_i64);
    let text = |name: &str| get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    AccountCard {
        account_id: account_id.to_owned(),
        name: get(super::account::attr::CUSTOMER)
            .and_then(|c| c.get("name"))
            .and_then(serde_json::Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        currency: text(card_attr::CURRENCY),
        mrr: int(card_attr::MRR).unwrap_or(0),
        band: text(card_attr::BAND).and_then(|b| b.parse().ok()),
        score: int(card_attr::SCORE),
        change_7d: int(card_attr::CHANGE),
        started_at: int(card_attr::STARTED),
        first_value_at: int(card_attr::FIRST_VALUE),
        renewal_at: text("renewal_key").and_then(|k| time::parse(k.split('#').next()?)),
        lifecycle: text(card_attr::STAGE),
        nps_answers: get(card_attr::NPS).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default(),
    }
}
