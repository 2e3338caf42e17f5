//! The health sweep: score every account at `now`, write score, band, breakdown and a daily
//! history point back, and raise the alerts its signals call for.
//!
//! It scales by splitting the table into parallel-scan segments: a planner (the scheduled
//! invocation) sends one [`SegmentTask`] per segment through SQS, and each worker invocation
//! scans its segment page by page, reading every account once (its usage days are in the same
//! partition, so in the same page). After each page the worker saves its cursor, so a worker that
//! stops (timeout, crash, redelivery) resumes where it was; everything it writes is idempotent
//! (the `health` group is versioned by `now`, alerts by their dedupe keys), so a page done twice
//! changes nothing. The local runner's `POST /sweeps/health?now=` runs the same code in-process.

use crate::app::alerts::{self, AlertError};
use crate::app::ports::outbox::{Outbox, SegmentProgress, SweepProgressStore};
use crate::app::ports::queue::{NotificationQueue, QueueError, SegmentTask, SweepTaskQueue};
use crate::app::ports::store::{self, AccountScanner, AccountStore, SourceRegistry, StoreError, UsageStore};
use crate::app::settings::Settings;
use crate::domain::account::{self, attr, AccountRecord, StoredAccount};
use crate::domain::alert::{self, HealthFacts, SweepContext, RAISED};
use crate::domain::change::{AccountChange, GuardedGroup};
use crate::domain::connection::DeploymentSources;
use crate::domain::health::{self, Band, HealthScore};
use crate::domain::time::{self, DAY};
use crate::domain::version::EventVersion;
use crate::domain::{crm, kpi, lifecycle, renewal, retention, usage};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Who raised an alert found by the sweep.
pub const RAISED_BY: &str = "health-sweep";
/// Daily history points kept on the account: enough for the 7-day change and a month's trend,
/// few enough that the item stays small.
pub const HISTORY_DAYS: i64 = 35;

/// The field of the stored health that says when it was computed: not a change by itself.
const SCORED_AT: &str = "scored_at";

#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error("invalid sweep task: {0}")]
    Task(String),
}

impl From<AlertError> for SweepError {
    fn from(e: AlertError) -> Self {
        match e {
            AlertError::Store(e) => SweepError::Store(e),
            AlertError::Queue(e) => SweepError::Queue(e),
        }
    }
}

/// The id of the scheduled sweep at `now`: a retried schedule invocation plans the same sweep,
/// so its segments find their progress and are not swept twice.
pub fn scheduled_sweep_id(now: i64) -> String {
    format!("health@{}", time::rfc3339(now))
}

/// The tasks of a sweep at `now` over `segments` parallel-scan segments.
pub fn plan(sweep_id: &str, now: i64, segments: u32) -> Vec<SegmentTask> {
    let total = segments.clamp(1, 1_000_000);
    (0..total)
        .map(|segment| SegmentTask { sweep_id: sweep_id.to_owned(), now, segment, total_segments: total })
        .collect()
}

/// The planner: sends one task per segment of the scheduled sweep at `now`.
pub async fn send_plan(queue: &dyn SweepTaskQueue, now: i64, segments: u32) -> Result<usize, SweepError> {
    let tasks = plan(&scheduled_sweep_id(now), now, segments);
    for task in &tasks {
        queue.send_task(task).await?;
    }
    Ok(tasks.len())
}

/// What the sweep needs, each port asked for by the capability it gives.
pub struct SweepPorts<'a> {
    pub scanner: &'a dyn AccountScanner,
    pub accounts: &'a dyn AccountStore,
    /// Where the sweep settles usage days whose fingerprints are no longer needed.
    pub usage: &'a dyn UsageStore,
    pub outbox: &'a dyn Outbox,
    pub notifications: &'a dyn NotificationQueue,
    pub progress: &'a dyn SweepProgressStore,
    /// What the deployment has connected, read once per segment.
    pub sources: &'a dyn SourceRegistry,
}

/// The daily scores kept on the account (`hh#<day>` facts).
pub fn history(stored: &StoredAccount) -> BTreeMap<String, i64> {
    stored.health_history()
}

/// An account scored at `now`: the score, its 7-day change and the change that records it.
pub struct Scored {
    pub score: HealthScore,
    pub change_7d: Option<i64>,
    pub change: AccountChange,
}

/// Scores an account and builds the change that records it: the guarded `health` group (a
/// second sweep at the same `now` is a no-op) and the day's history point.
pub fn score_account(record: &AccountRecord, history: &BTreeMap<String, i64>, settings: &Settings, now: i64) -> Scored {
    let scored = health::score(record, &settings.model_for(record.segment), now);
    let day = time::day_key(now);
    let week_ago = time::day_key(now - 7 * DAY);
    let change_7d = history.get(&week_ago).map(|before| scored.score - before);
    let value = json!({
        "score": scored.score,
        "band": scored.band,
        SCORED_AT: time::rfc3339(now),
        "change_7d": change_7d,
        "segment": record.segment,
        "lifecycle": record.lifecycle,
        "time_to_value_days": lifecycle::time_to_value_days(&record.billing, &record.usage),
        "components": scored.components,
        "missing": scored.missing,
        "missing_reasons": scored.missing_reasons,
        "cap": scored.cap,
    });
    let change = AccountChange::new(record.account_id.clone())
        .with_guarded(GuardedGroup::new(attr::HEALTH, EventVersion::new(now, "health-sweep"), value))
        .with_fact(format!("{}{day}", attr::HEALTH_HISTORY), json!(scored.score));
    Scored { score: scored, change_7d, change }
}

/// What sweeping one account did.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountSwept {
    pub band: Band,
    /// Dedupe keys of the alerts this account raised now.
    pub alerts: Vec<String>,
}

/// Scores one account, raises its due alerts (outbox, then queue), then writes the score and
/// the raised keys back in one write. In that order, a crash anywhere leaves nothing lost and,
/// on the next attempt, nothing doubled.
pub async fn sweep_account(
    stored: &StoredAccount,
    ports: &SweepPorts<'_>,
    settings: &Settings,
    deployment: Option<&DeploymentSources>,
    now: i64,
) -> Result<AccountSwept, SweepError> {
    let record = settings.record_in(stored, now, deployment);
    let Scored { score, change_7d, mut change } = score_account(&record, &history(stored), settings, now);
    // The renewal index rides on this write: the sweep is what knows the account's contract
    // renewal date (the earliest yearly period end), daily (see `store::RENEWAL_KEY`).
    change = store::with_renewal_index(change, renewal::contract_renewal_at(&record));
    // The portfolio card (band, score, trend, first value, stage) rides on the same write.
    change = kpi::with_sweep_card(change, &record, score.band, score.score, change_7d);
    // Health on the CRM record: only marked here when it changed (no request of its own); the
    // CRM sync writes it, paced, and clears the mark.
    let has_crm_record = record.links.hubspot_company_id.is_some() || record.links.salesforce_account_id.is_some();
    change.facts.extend(crm::pending_facts(&stored.attributes, has_crm_record, &crm::CrmHealth::of(&score)));
    let previous_band = record.health.as_ref().and_then(|h| serde_json::from_value(h.get("band")?.clone()).ok());
    let context = SweepContext { scored: &score, previous_band, change_7d };
    let signals = alert::sweep_signals(&record, &context, &settings.alerts, now);
    let raised_before = alert::raised_alerts(&stored.attributes);
    for key in alert::expired_marks(&raised_before, &signals, &settings.alerts, now) {
        change = change.with_expired(format!("{RAISED}{key}"));
    }
    let oldest_kept = time::day_key(now - HISTORY_DAYS * DAY);
    for day in history(stored).into_keys().filter(|day| *day < oldest_kept) {
        change = change.with_expired(format!("{}{day}", attr::HEALTH_HISTORY));
    }
    // Tickets, ratings, answers and invoices past every window go on the write the sweep makes
    // anyway (the day's first, for its history point): the item, which every write is billed
    // by, stops growing with the account's age. Judged at the day's start, so that a fact
    // crossing its limit later in the day does not make a later hour write; at most
    // `MAX_DROPPED_PER_WRITE` a write (an old account's backlog goes over several sweeps).
    change.expired.extend(facts_past_their_windows(stored, now));
    let due = alert::consolidate(alert::due(signals, &raised_before, &settings.alerts, now), &raised_before, now);
    let mut raised = Vec::new();
    if !due.is_empty() {
        let facts = HealthFacts::scored(&score, change_7d);
        for signal in &due {
            let alert = alert::alert(&record, signal, &facts, &settings.alerts, RAISED_BY, now);
            alerts::raise(ports.outbox, ports.notifications, &alert, now).await?;
            change = change.with_fact(format!("{RAISED}{}", signal.local_key()), json!(now));
            raised.push(alert.dedupe_key);
        }
    }
    // An account whose score, breakdown, card, renewal index, history point and alert marks
    // are all as stored is only read: at an hourly schedule most sweeps write nothing.
    if stored.would_change(&change, &[SCORED_AT]) {
        ports.accounts.apply(&change).await?;
    }
    // Usage days past their redelivery window keep their count, not their message
    // fingerprints: every sweep reads every day an account keeps, and the fingerprints are most
    // of their bytes. A day a message reached since it was read is left to the next sweep, and
    // so is one whose write failed: settling only saves bytes, so it does not fail the sweep.
    for due in usage::days_to_settle(&stored.usage, now) {
        if let Err(error) = ports.usage.settle_day(&stored.account_id, &due).await {
            tracing::warn!(account_id = %stored.account_id, day = %due.day, %error, "usage day not settled; the next sweep tries again");
        }
    }
    Ok(AccountSwept { band: score.band, alerts: raised })
}

/// The facts of `stored` that no window reads any more (`retention`), judged at the start of
/// `now`'s day, at most [`retention::MAX_DROPPED_PER_WRITE`] of them.
fn facts_past_their_windows(stored: &StoredAccount, now: i64) -> impl Iterator<Item = String> {
    let day_start = now.div_euclid(DAY) * DAY;
    retention::expired_facts(&stored.attributes, day_start).into_iter().take(retention::MAX_DROPPED_PER_WRITE)
}

/// The holder of survey answers that named no account (`unlinked:surveys`) is no customer, so
/// it is not scored; its answers go once past the NPS window, the newest too. Kept for ever,
/// they would hold respondents' comments with no account to erase them by, and the item would
/// grow until DynamoDB refused the next answer (400 KB).
async fn tidy_unlinked_holder(stored: &StoredAccount, ports: &SweepPorts<'_>, now: i64) -> Result<(), SweepError> {
    let day_start = now.div_euclid(DAY) * DAY;
    let expired = retention::expired_unlinked_answers(&stored.attributes, day_start);
    if expired.is_empty() {
        return Ok(());
    }
    let mut change = AccountChange::new(stored.account_id.clone());
    change.expired.extend(expired.into_iter().take(retention::MAX_DROPPED_PER_WRITE));
    ports.accounts.apply(&change).await?;
    Ok(())
}

/// How a worker left its segment.
#[derive(Clone, Debug, PartialEq)]
pub enum SegmentOutcome {
    /// Finished now.
    Done(SegmentProgress),
    /// Finished by an earlier attempt: nothing was read.
    AlreadyDone(SegmentProgress),
    /// Stopped before the end (out of time): send the task again to go on from the cursor.
    Paused(SegmentProgress),
}

/// A worker's share of a sweep: scans `task`'s segment from its saved cursor, page by page,
/// while `keep_going()` says there is time for another page. Also returns the per-account
/// results when `collect` is given (the local runner's summary).
pub async fn run_segment(
    task: &SegmentTask,
    ports: &SweepPorts<'_>,
    settings: &Settings,
    page_items: Option<i32>,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
    mut collect: Option<&mut SweepSummary>,
) -> Result<SegmentOutcome, SweepError> {
    if task.total_segments == 0 || task.segment >= task.total_segments {
        return Err(SweepError::Task(format!("segment {} of {}", task.segment, task.total_segments)));
    }
    tracing::info!(sweep_id = %task.sweep_id, segment = task.segment, "segment started");
    let mut progress = ports.progress.load(&task.sweep_id, task.segment).await?.unwrap_or_default();
    if progress.done {
        return Ok(SegmentOutcome::AlreadyDone(progress));
    }
    let deployment = ports.sources.connected_sources().await?;
    loop {
        let page =
            ports.scanner.scan_segment(task.segment, task.total_segments, progress.cursor.as_ref(), page_items).await?;
        for stored in &page.accounts {
            if account::is_unlinked_holder(&stored.account_id) {
                tidy_unlinked_holder(stored, ports, task.now).await?;
                continue;
            }
            let swept = sweep_account(stored, ports, settings, Some(&deployment), task.now).await?;
            progress.accounts += 1;
            progress.alerts += swept.alerts.len() as u64;
            if let Some(summary) = collect.as_deref_mut() {
                summary.add(&swept);
            }
        }
        progress.pages += 1;
        progress.done = page.next.is_none();
        progress.cursor = page.next;
        ports.progress.save(&task.sweep_id, task.segment, &progress, task.now).await?;
        if progress.done {
            return Ok(SegmentOutcome::Done(progress));
        }
        if !keep_going() {
            return Ok(SegmentOutcome::Paused(progress));
        }
    }
}

/// What a sweep did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SweepSummary {
    pub scored: usize,
    pub bands: BTreeMap<String, usize>,
    /// Dedupe keys of the alerts raised by this sweep, sorted.
    pub alerts: Vec<String>,
    /// Dedupe keys of earlier alerts whose enqueue had failed, enqueued again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resent: Vec<String>,
}

impl SweepSummary {
    fn add(&mut self, swept: &AccountSwept) {
        self.scored += 1;
        *self.bands.entry(swept.band.as_str().to_owned()).or_default() += 1;
        self.alerts.extend(swept.alerts.iter().cloned());
    }
}

/// A whole sweep in one process (the local runner): enqueues again the alerts whose enqueue
/// failed (as the planner does), plans `segments` tasks and runs each to the end with the same
/// worker code. Each call is a new sweep (`sweep_id`), so calling it again at
/// the same `now` scores everything again, and shows that doing so raises nothing twice.
pub async fn run(
    ports: &SweepPorts<'_>,
    settings: &Settings,
    sweep_id: &str,
    now: i64,
    segments: u32,
) -> Result<SweepSummary, SweepError> {
    let mut summary = SweepSummary {
        resent: alerts::resend_unsent(ports.outbox, ports.notifications, now).await?,
        ..Default::default()
    };
    for task in plan(sweep_id, now, segments) {
        run_segment(&task, ports, settings, None, &|| true, Some(&mut summary)).await?;
    }
    summary.alerts.sort();
    Ok(summary)
}

/// The planner's invocation (EventBridge Scheduler): sweeps as of the schedule's
/// `scheduled_time` (the same on every retry of one schedule run), else `now`.
pub async fn plan_scheduled(
    invocation: &serde_json::Value,
    tasks: &dyn SweepTaskQueue,
    segments: u32,
    now: i64,
) -> Result<usize, SweepError> {
    let at = crate::app::schedule::scheduled_now(invocation, now).map_err(SweepError::Task)?;
    send_plan(tasks, at, segments).await
}

/// The planner's other duty, once per scheduled run: enqueue again the alerts whose enqueue
/// failed ([`alerts::resend_unsent`]). Returns how many.
pub async fn resend_unsent(
    outbox: &dyn Outbox,
    notifications: &dyn NotificationQueue,
    now: i64,
) -> Result<usize, SweepError> {
    Ok(alerts::resend_unsent(outbox, notifications, now).await?.len())
}

/// What one worker invocation did with its task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskWorked {
    pub outcome: SegmentOutcome,
    /// The accounts scored and alerts raised by this invocation alone.
    pub swept: SweepSummary,
}

/// A worker's invocation for one queued task: runs the segment while `keep_going()` allows
/// (pages of about `page_items` items; `None`: the store's natural page), and hands the rest on
/// as a new message when it runs out of time.
pub async fn work_task(
    body: &str,
    ports: &SweepPorts<'_>,
    tasks: &dyn SweepTaskQueue,
    settings: &Settings,
    page_items: Option<i32>,
    keep_going: &(dyn Fn() -> bool + Send + Sync),
) -> Result<TaskWorked, SweepError> {
    let task: SegmentTask = serde_json::from_str(body).map_err(|e| SweepError::Task(e.to_string()))?;
    let mut swept = SweepSummary::default();
    let outcome = run_segment(&task, ports, settings, page_items, keep_going, Some(&mut swept)).await?;
    if let SegmentOutcome::Paused(_) = &outcome {
        tasks.send_task(&task).await?;
    }
    Ok(TaskWorked { outcome, swept })
}
