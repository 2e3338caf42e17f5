//! The weekly digest (`POST /reports/weekly?now=`, and the `weekly-digest` function on its
//! Monday schedule): built from the KPIs of the last full month and of the month to date, the
//! week's movements and the accounts that need someone; recorded in the outbox once per ISO
//! week of `now` (`weekly-digest/<year>-W<week>`), then delivered to Slack effect by effect
//! (the message, the chart), each recorded as sent so that a second run in the same week sends
//! nothing and a run that failed half-way sends only what is missing.

use crate::app::kpis::{self, KpiPorts};
use crate::app::ports::delivery::DeliveryError;
use crate::app::ports::outbox::{EffectState, EffectStatus, NotificationStatus};
use crate::app::ports::portfolio::{DigestSlack, MrrLedger, PortfolioCards, ReportOutbox};
use crate::app::ports::store::{AccountStore, StoreError};
use crate::app::settings::Settings;
use crate::domain::alert::HealthFacts;
use crate::domain::digest::{self, ChartData, Digest, DigestAccount};
use crate::domain::kpi::{self, currency_key, KpiInput, Month};
use crate::domain::time;
use serde::Serialize;

/// The digest's effects in the outbox.
pub const MESSAGE_EFFECT: &str = "slack_message";
pub const CHART_EFFECT: &str = "slack_chart";

#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("digest not delivered, retry later: {0}")]
    Delivery(DeliveryError),
}

/// What the digest reads and where it goes.
pub struct DigestPorts<'a> {
    pub ledger: &'a dyn MrrLedger,
    pub cards: &'a dyn PortfolioCards,
    pub accounts: &'a dyn AccountStore,
    pub reports: &'a dyn ReportOutbox,
    /// Slack with a bot token and the digest channel (`SLACK_DIGEST_CHANNEL`); without them the
    /// digest stays in the outbox.
    pub slack: Option<(&'a dyn DigestSlack, &'a str)>,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct DigestRun {
    /// `weekly-digest/2026-W45`.
    pub key: String,
    /// `pending` (kept in the outbox), `sent`, or `failed`.
    pub status: NotificationStatus,
    /// Effects delivered by this run (none when the week's digest was sent before).
    pub delivered: Vec<String>,
    pub digest: Digest,
}

/// The outbox key of the digest of `now`'s ISO week.
pub fn key(now: i64) -> String {
    format!("weekly-digest/{}", digest::iso_week(now))
}

/// Builds the digest as of `now` (no delivery).
pub async fn build(ports: &DigestPorts<'_>, settings: &Settings, now: i64) -> Result<Digest, StoreError> {
    let reporting = &settings.portfolio.reporting;
    let this_month = Month::of(now);
    let kpi_ports = KpiPorts { ledger: ports.ledger, cards: ports.cards };
    let last_month = kpis::month_kpis(&kpi_ports, settings, this_month.plus(-1), now, false).await?;
    // The month to date, with the 12 months of movements the chart draws.
    let (first, last) = kpi::window(this_month);
    let totals = ports.ledger.month_totals(&first.plus(-1).key()).await?;
    let ledger = ports.ledger.ledger_between(&first.key(), &last.key()).await?;
    let cards = ports.cards.cards().await?;
    let nps_answers = kpi::month_nps_answers(&cards, this_month);
    let (month_to_date, series) = kpi::kpis_with_series(&KpiInput {
        month: this_month,
        now,
        totals: &totals,
        ledger: &ledger,
        cards: &cards,
        nps_answers: &nps_answers,
        reporting,
        onboarding_days: kpis::onboarding_days(settings),
        detail: false,
    });
    let week_movements = digest::week_movements(&ledger, &cards, reporting, now);
    let mut accounts = Vec::new();
    for (section, card) in digest::select(&cards, reporting) {
        // The top reason needs the health breakdown: read on the few accounts listed only.
        let record = ports.accounts.get(&card.account_id).await?.map(|stored| settings.record(&stored, now));
        let reason = record.as_ref().and_then(|r| HealthFacts::stored(r).reasons.into_iter().next());
        let tier = record.as_ref().map(|r| r.segment);
        accounts.push(DigestAccount {
            section,
            account_id: card.account_id.clone(),
            name: card.name.clone(),
            band: card.band,
            score: card.score,
            change_7d: card.change_7d,
            mrr: reporting.convert(card.mrr, &currency_key(card.currency.as_deref())).unwrap_or(0),
            renewal_at: card.renewal_at.map(time::at),
            owner: tier.and_then(|t| settings.portfolio.owners.get(&t).cloned()),
            next_step: digest::next_step(section, &card, reason.as_deref(), now),
            reason,
        });
    }
    Ok(Digest {
        week: digest::iso_week(now),
        now: time::at(now),
        currency: currency_key(Some(&reporting.currency)),
        chart: ChartData {
            months: series,
            health: month_to_date.health.clone(),
            currency: currency_key(Some(&reporting.currency)),
        },
        last_month,
        month_to_date,
        week_movements,
        accounts,
    })
}

fn effect(
    status: EffectStatus,
    remote_id: Option<String>,
    attempts: u32,
    reason: Option<String>,
    now: i64,
) -> EffectState {
    EffectState { status, remote_id, attempts, reason, at: time::at(now) }
}

/// The weekly run: records the week's digest once, then delivers what is not delivered yet.
pub async fn weekly(ports: &DigestPorts<'_>, settings: &Settings, now: i64) -> Result<DigestRun, DigestError> {
    let key = key(now);
    let built = build(ports, settings, now).await?;
    let value = serde_json::to_value(&built).unwrap_or_default();
    let record = ports.reports.record_report(&key, &value, now).await?;
    // The week's digest is the one recorded first: a retry delivers that, not a rebuilt one.
    let digest: Digest = serde_json::from_value(record.report.clone()).unwrap_or(built);
    let mut run = DigestRun { key: key.clone(), status: record.status, delivered: Vec::new(), digest };
    if record.status.is_done() {
        return Ok(run);
    }
    let Some((slack, channel)) = ports.slack else {
        tracing::info!(%key, "no Slack bot token or SLACK_DIGEST_CHANNEL: the digest stays in the outbox");
        return Ok(run);
    };
    for name in [MESSAGE_EFFECT, CHART_EFFECT] {
        let before = record.effects.get(name);
        if before.is_some_and(EffectState::is_sent) {
            continue;
        }
        let attempts = before.map_or(0, |e| e.attempts) + 1;
        ports
            .reports
            .record_report_effect(&key, name, &effect(EffectStatus::Attempting, None, attempts, None, now))
            .await?;
        let sent = match name {
            MESSAGE_EFFECT => slack.post_digest(channel, &run.digest).await,
            _ => slack.upload_chart(channel, &run.digest).await,
        };
        match sent {
            Ok(done) => {
                let state = effect(EffectStatus::Sent, Some(done.remote_id), attempts, None, now);
                ports.reports.record_report_effect(&key, name, &state).await?;
                run.delivered.push(name.to_owned());
            }
            Err(e) => {
                let status = if e.is_retryable() { EffectStatus::Attempting } else { EffectStatus::Failed };
                ports
                    .reports
                    .record_report_effect(&key, name, &effect(status, None, attempts, Some(e.to_string()), now))
                    .await?;
                if !e.is_retryable() {
                    ports.reports.finish_report(&key, NotificationStatus::Failed).await?;
                    run.status = NotificationStatus::Failed;
                    tracing::error!(%key, effect = name, error = %e, "digest refused by Slack");
                    return Ok(run);
                }
                return Err(DigestError::Delivery(e));
            }
        }
    }
    ports.reports.finish_report(&key, NotificationStatus::Sent).await?;
    run.status = NotificationStatus::Sent;
    Ok(run)
}
