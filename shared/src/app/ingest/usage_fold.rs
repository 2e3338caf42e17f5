//! The usage fold: writes the analytics usage the webhook held (`UsageWrites::Held`), merged per
//! (account, day), once per fold instead of once per batch. A batch of a product's backend holds
//! a message or two of most accounts, and DynamoDB bills each write by the whole day item, so
//! written batch by batch a day of usage costs hundreds of writes an account; folded once a day,
//! one or two (README, "What it costs"). Run by `functions/usage-fold` on its schedule.
//!
//! Nothing is lost on a failure: held batches are released only after their usage is written,
//! and a batch folded twice adds nothing the second time (every part of a usage day is a set).

use super::analytics::{absorb, added_at, resolve_usage, settle_provisional, write_each};
use crate::app::ports::queue::QueueError;
use crate::app::ports::store::{AccountStore, LinkStore, StoreError, UsageStore};
use crate::app::ports::usage_backlog::{HeldUsage, Taken, UsageBacklog, UsageBuffer};
use crate::domain::usage::UsageDay;
use crate::sources::segment::UsageDelta;
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Held batches merged in one round at most, and each round writes its (account, day) pairs
/// once: a day of 100 M messages a month in batches of 1,000 (3,333 batches) folds in one round.
/// Taking 20,000 (2,000 receives) stays well inside the 900 s the queue hides them for.
pub const BATCHES_PER_ROUND: usize = 20_000;
/// Held (group or user, day) pairs merged in one round at most: bounds the fold's memory (each
/// pair brings a message fingerprint or more; 5 M merged are ~400 MB of the fold's 1 GB).
pub const PAIRS_PER_ROUND: usize = 5_000_000;
/// Held batches taken at a time, merged before the next are taken.
const TAKEN_AT_A_TIME: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum FoldError {
    #[error("held usage not taken or released: {0}")]
    Backlog(#[from] QueueError),
    #[error("folded usage not written: {0}")]
    Store(#[from] StoreError),
}

/// What a fold did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FoldReport {
    /// Rounds that took something.
    pub rounds: usize,
    /// Held batches folded and released.
    pub batches: usize,
    /// Usage writes: one per (account, day) of each round.
    pub writes: usize,
    /// (account, day) pairs that could not be written: held again for the next fold.
    pub failed: usize,
    /// Whether it stopped with batches still held (out of time; the next run goes on).
    pub more_held: bool,
}

/// What the fold needs.
pub struct FoldPorts<'a> {
    pub backlog: &'a dyn UsageBacklog,
    /// Where what could not be written is held again (the backlog itself).
    pub buffer: &'a dyn UsageBuffer,
    pub accounts: &'a dyn AccountStore,
    pub links: &'a dyn LinkStore,
    pub usage: &'a dyn UsageStore,
}

/// Rounds of [`fold_round`] until nothing is held, `more_time` says stop (asked before each
/// take, so a round stops taking in time to write what it took) or a round could not write all
/// it took. `now` is when the fold runs: what it writes is stamped as added then.
pub async fn fold(
    ports: &FoldPorts<'_>,
    batches_per_round: usize,
    now: i64,
    more_time: impl Fn() -> bool + Sync,
) -> Result<FoldReport, FoldError> {
    let mut report = FoldReport::default();
    loop {
        if !more_time() {
            report.more_held = true;
            return Ok(report);
        }
        let round = fold_round(ports, batches_per_round, now, &more_time).await?;
        if round.batches == 0 {
            return Ok(report);
        }
        report.rounds += 1;
        report.batches += round.batches;
        report.writes += round.writes;
        report.failed += round.failed;
        // What a round could not write is held again and would be taken at once by the next
        // round, to fail the same way: it waits for the next run.
        report.more_held = round.more_held || round.failed > 0;
        if report.more_held {
            return Ok(report);
        }
    }
}

/// Takes up to `max_batches` held batches (while `more_time` says so), merges their usage per
/// (group or user, day), resolves each group and user once, writes each (account, day) once,
/// holds again what could not be written, then releases the batches taken.
pub async fn fold_round(
    ports: &FoldPorts<'_>,
    max_batches: usize,
    now: i64,
    more_time: &(dyn Fn() -> bool + Sync),
) -> Result<FoldReport, FoldError> {
    let (mut receipts, mut merged, mut pairs) = (Vec::new(), Merged::default(), 0);
    let mut out_of_time = false;
    while receipts.len() < max_batches && pairs < PAIRS_PER_ROUND {
        if !more_time() {
            out_of_time = true;
            break;
        }
        let taken = ports.backlog.take(TAKEN_AT_A_TIME.min(max_batches - receipts.len())).await?;
        if taken.is_empty() {
            break;
        }
        pairs += taken.iter().map(|t| t.usage.len()).sum::<usize>();
        receipts.extend(merged.absorb(taken));
    }
    if receipts.is_empty() {
        return Ok(FoldReport { more_held: out_of_time, ..FoldReport::default() });
    }
    let mut provisional_users = BTreeSet::new();
    let grouped = merged.grouped.iter().map(|((group, day), delta)| (group.as_str(), *day, delta)).collect();
    let ungrouped = merged.ungrouped.iter().map(|((user, day), delta)| (user.as_str(), *day, delta)).collect();
    let mut per_account = resolve_usage(ports.links, grouped, ungrouped, &mut provisional_users).await?;
    for ((account, day), delta) in &merged.resolved {
        absorb(per_account.entry((account.clone(), *day)).or_default(), delta);
    }
    added_at(&mut per_account, now);
    // A pair that cannot be written (an item past DynamoDB's 400 KB, a throttle the SDK's
    // retries did not ride out) must not hold back the others: it is held again, alone.
    let failed = write_each(ports.usage, &per_account).await;
    if !failed.is_empty() {
        let again = HeldUsage {
            resolved: failed
                .iter()
                .map(|((account, day), error)| {
                    tracing::error!(account_id = %account, %day, %error, "folded usage not written; held again");
                    (account.clone(), *day, delta_of(&per_account[&(account.clone(), *day)]))
                })
                .collect(),
            ..HeldUsage::default()
        };
        ports.buffer.hold(&again).await?;
    }
    settle_provisional(ports.accounts, ports.links, &provisional_users).await?;
    ports.backlog.release(&receipts).await?;
    let writes = per_account.len() - failed.len();
    tracing::info!(batches = receipts.len(), writes, failed = failed.len(), "usage folded");
    Ok(FoldReport { rounds: 1, batches: receipts.len(), writes, failed: failed.len(), more_held: out_of_time })
}

/// A usage day as the delta that adds it (its seen times reduced to the first and the last).
fn delta_of(day: &UsageDay) -> UsageDelta {
    UsageDelta {
        message_ids: day.message_ids.clone(),
        users: day.users.clone(),
        features: day.features.clone(),
        first_value_at: day.first_value_at.clone(),
        last_seen_at: day.seen_at.last().copied().unwrap_or(0),
        first_seen_at: day.seen_at.first().copied().unwrap_or(0),
    }
}

/// Held usage of several batches, merged per key and day.
#[derive(Debug, Default, PartialEq)]
pub struct Merged {
    pub grouped: BTreeMap<(String, NaiveDate), UsageDelta>,
    pub ungrouped: BTreeMap<(String, NaiveDate), UsageDelta>,
    pub resolved: BTreeMap<(String, NaiveDate), UsageDelta>,
}

impl Merged {
    /// Adds the usage of `taken`; returns their receipts.
    pub fn absorb(&mut self, taken: Vec<Taken>) -> Vec<String> {
        let mut receipts = Vec::with_capacity(taken.len());
        for Taken { receipt, usage } in taken {
            receipts.push(receipt);
            for (group, day, delta) in usage.grouped {
                self.grouped.entry((group, day)).or_default().absorb(delta);
            }
            for (user, day, delta) in usage.ungrouped {
                self.ungrouped.entry((user, day)).or_default().absorb(delta);
            }
            for (account, day, delta) in usage.resolved {
                self.resolved.entry((account, day)).or_default().absorb(delta);
            }
        }
        receipts
    }
}

/// The receipts of `taken` and their usage merged.
pub fn merge(taken: Vec<Taken>) -> (Vec<String>, Merged) {
    let mut merged = Merged::default();
    let receipts = merged.absorb(taken);
    (receipts, merged)
}
