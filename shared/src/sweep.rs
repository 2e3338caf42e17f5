//! The health sweep: score every account at `now` and write the score, band, breakdown and a
//! daily history point back. (Issue 4, first part: one process; the SQS planner and segment
//! workers, and the alerts, follow.)

use crate::domain::account::{attr, AccountRecord, Segment};
use crate::domain::health::{self, HealthModel};
use crate::domain::{AccountChange, EventVersion, GuardedGroup};
use crate::settings::Settings;
use crate::store::{AccountLister, AccountStore, StoreError};
use serde_json::json;
use std::collections::BTreeMap;

const DAY: i64 = 86_400;

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct SweepSummary {
    pub scored: usize,
    pub bands: BTreeMap<String, usize>,
}

/// The model for an account's tier: the tier's own weights where configured.
fn model_for(settings: &Settings, segment: Segment) -> HealthModel {
    let mut model = settings.health.clone();
    if let Some(weights) = settings.tier_weights.get(segment.as_str()) {
        model.weights = weights.clone();
    }
    model
}

/// The change that records an account's health at `now`: the guarded `health` group (a second
/// sweep at the same `now` is a no-op) and the day's history point.
pub fn health_change(
    record: &AccountRecord,
    history: &BTreeMap<String, i64>,
    settings: &Settings,
    now: i64,
) -> AccountChange {
    let model = model_for(settings, record.segment);
    let scored = health::score(record, &model, now);
    let day = crate::sources::segment::day(now);
    let week_ago = crate::sources::segment::day(now - 7 * DAY);
    let change_7d = history.get(&week_ago).map(|before| scored.score - before);
    let value = json!({
        "score": scored.score,
        "band": scored.band,
        "scored_at": crate::domain::account::rfc3339(now),
        "change_7d": change_7d,
        "segment": record.segment,
        "components": scored.components,
        "missing": scored.missing,
    });
    AccountChange::new(record.account_id.clone())
        .with_guarded(GuardedGroup::new(attr::HEALTH, EventVersion::new(now, "health-sweep"), value))
        .with_fact(format!("{}{day}", attr::HEALTH_HISTORY), json!(scored.score))
}

/// Scores every account at `now`.
pub async fn run(
    lister: &dyn AccountLister,
    accounts: &dyn AccountStore,
    settings: &Settings,
    now: i64,
) -> Result<SweepSummary, StoreError> {
    let mut summary = SweepSummary::default();
    for stored in lister.list().await? {
        let record = AccountRecord::from_stored(&stored, now);
        let history: BTreeMap<String, i64> = stored
            .attributes
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(attr::HEALTH_HISTORY)?.to_owned(), v.as_i64()?)))
            .collect();
        let change = health_change(&record, &history, settings, now);
        let band = change.guarded.as_ref().and_then(|g| g.value["band"].as_str()).unwrap_or("?").to_owned();
        accounts.apply(&change).await?;
        summary.scored += 1;
        *summary.bands.entry(band).or_default() += 1;
    }
    Ok(summary)
}
