//! `foresight cost`: a deployment's monthly AWS bill, service by service, from the per-operation
//! figures the benchmarks and tests measure (each [`Figures`] field names the one that produced
//! it) and the region's list prices ([`Prices`], us-east-1 on-demand and arm64 by default).
//!
//! Free tiers are left out of the total (an account's free tier is often used by something
//! else); the line that would fall inside the always-free tier says so.

use foresight_shared::app::ingest::usage_fold::{BATCHES_PER_ROUND, PAIRS_PER_ROUND};
use std::fmt::Write as _;

/// What the deployment handles in a month.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub accounts: u64,
    /// Billing and support webhooks (Stripe, Zendesk, Typeform), one request each.
    pub events: u64,
    /// Product-analytics messages (Segment spec).
    pub analytics_events: u64,
    /// Messages per analytics request (Segment's batching; 1 without it).
    pub batch_size: u64,
    /// Distinct (account, day) pairs in one analytics batch; `None`: the messages of a batch
    /// come from the accounts as at random ([`Scenario::accounts_per_batch`]).
    pub accounts_per_batch: Option<u64>,
    /// How often the usage fold writes the held analytics usage (`UsageFoldSchedule`): 1 a
    /// day by default; 0 when usage is written at once, batch by batch ("off").
    pub usage_folds_per_day: u64,
    pub sweeps_per_day: u64,
    /// The share of accounts whose health changes between two sweeps of the same day.
    pub changed_per_sweep: f64,
    /// Alerts raised a day (Slack messages, CRM tasks).
    pub alerts_per_day: f64,
    /// Sources that deliver (each is one `EventsIngested` metric).
    pub sources: u64,
    /// CloudWatch alarms the stack creates: [`ALARMS_BY_DEFAULT`], plus [`PER_FUNCTION_ALARMS`]
    /// with the template's `PerFunctionAlarms` parameter.
    pub alarms: u64,
    /// `DetailedMetrics` on.
    pub detailed_metrics: bool,
    /// A CRM connected (HubSpot or Salesforce): the CRM sync clears the mark of each account
    /// whose CRM health changed, one more write.
    pub crm: bool,
    /// The share of billing and support events that change an account's card in the
    /// `portfolio` index (`customer.*` events, subscription events that move MRR; a ticket,
    /// an invoice or a charge does not). An estimate: the event mix is the deployment's.
    pub card_event_share: f64,
}

impl Default for Scenario {
    /// The scenario: 10,000 accounts, 1 M billing and support events and 100 M
    /// analytics messages a month in batches of 1000, hourly sweeps.
    fn default() -> Self {
        Scenario {
            accounts: 10_000,
            events: 1_000_000,
            analytics_events: 100_000_000,
            batch_size: 1000,
            accounts_per_batch: None,
            usage_folds_per_day: 1,
            sweeps_per_day: 24,
            changed_per_sweep: 0.05,
            alerts_per_day: 30.0,
            sources: 3,
            alarms: ALARMS_BY_DEFAULT,
            detailed_metrics: false,
            crm: true,
            card_event_share: 0.1,
        }
    }
}

impl Scenario {
    /// Accounts in one analytics batch: as given, else the number a batch of `batch_size`
    /// messages drawn at random from `accounts` equally active accounts holds on average,
    /// N (1 − (1 − 1/N)^B): 952 for 1,000 messages over 10,000 accounts. A sender that batches
    /// one account's messages together (or a few very active accounts) has far fewer.
    pub fn accounts_per_batch(&self) -> f64 {
        let batch = self.batch_size.max(1) as f64;
        match self.accounts_per_batch {
            Some(given) => (given.max(1) as f64).min(batch).min(self.accounts.max(1) as f64),
            None => {
                let n = self.accounts.max(1) as f64;
                (n * (1.0 - (1.0 - 1.0 / n).powf(batch))).clamp(1.0, batch)
            }
        }
    }

    /// An account's analytics messages a day.
    pub fn messages_per_account_day(&self) -> f64 {
        self.analytics_events as f64 / DAYS / self.accounts.max(1) as f64
    }
}

/// The alarms `template.yaml` always creates: the HTTP API's 5xx, the three dead-letter queues
/// and the age of the held usage (`tests/template_checks.rs` counts them).
pub const ALARMS_BY_DEFAULT: u64 = 5;
/// The alarms its `PerFunctionAlarms` parameter adds: Errors and Throttles of each function.
pub const PER_FUNCTION_ALARMS: u64 = 24;

/// Per-operation figures, measured unless marked as an estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// The account item's size, which DynamoDB bills every write of it by (the larger of the
    /// item before and after, in 1 KB units: each billing or support event is one such write,
    /// and so are the sweep's and the CRM sync's). It grows with what the account's events
    /// leave on it, which the sweep drops once no window reads it (`domain/retention.rs`): a
    /// month's tickets and ratings, three months of invoices. `cargo bench --bench
    /// account_growth` (a year of one account through the real normalisers, DynamoDB Local):
    /// 1,675 bytes for an account with no tickets (billing events and an NPS answer a quarter,
    /// its health and 35 days of history) ...
    pub quiet_item_bytes: f64,
    /// ... and 4,186 at most from the fourth month on for 88 events a month (18 tickets each
    /// created, opened, solved, closed and rated, a paid invoice a month): 5 WCU an event.
    /// Without the sweep's retention the same account's item reached 30,364 bytes by month 12
    /// (28.5 WCU an event). Between and beyond, the model takes the item as growing in step
    /// with the events a month.
    pub busy_item_bytes: f64,
    pub busy_events_a_month: f64,
    /// Read units per event: the link `GetItem` that resolves the customer (0.5 RCU).
    pub event_read_units: f64,
    /// Analytics WCU per message by the messages of one account in a batch, for a day of 333
    /// messages an account (`cargo bench --bench analytics_ingest`, "spread over the accounts":
    /// 3.607 at 1, 0.293 at 10, 0.015 at 333). A batch writes each of its accounts' day items
    /// once, and DynamoDB bills each write by the larger of the item before and after, 1 KB
    /// units: the item grows through the day with its message ids and users (7 WCU by the
    /// day's end), so an account's message sent alone in a batch costs the item's size.
    pub analytics_wcu_per_message: [(f64, f64); 3],
    /// The messages an account-day those figures were measured at (the scenario's 100 M a
    /// month over 10,000 accounts); other volumes use them as they are (a smaller day's item
    /// is smaller: the figures are high for it, low for a larger one), and the bill says so.
    pub analytics_measured_day: f64,
    /// Analytics WCU per message when usage is held and folded, by folds a day, for the same
    /// day of 333 messages an account sent one message of an account a batch (`cargo bench
    /// --bench analytics_ingest`, "held for the usage fold"): each fold writes each account's
    /// day once, billed by the item's size then.
    pub folded_wcu_per_message: [(f64, f64); 3],
    /// SQS message bytes of one held batch per (account, day) pair it holds: gzipped JSON of
    /// the pair's message fingerprints and users, base64 (`cargo bench --bench
    /// analytics_ingest`, "held usage of a batch"). SQS bills each 64 KB of a message as a
    /// request, to send and to receive.
    pub held_bytes_per_pair: f64,
    /// Estimate: seconds of the fold (1 GB) per held batch taken, merged and written.
    pub fold_seconds_per_batch: f64,
    /// RCU per 1,000 accounts per steady-state sweep (`tests/sweep_scale.rs`, 10,000 accounts in
    /// 4 segments once scored, with their health, card and history: 2,577 RCU), measured with
    /// [`Self::sweep_measured_bytes_per_account`] scanned an account (its 1,166-byte item and two
    /// small usage days): the floor of an eventually consistent scan, 0.5 RCU per 4 KB. A scan
    /// reads by the bytes, so the model bills the bytes an account holds: its item and every
    /// usage day it keeps.
    pub sweep_rcu_per_1000: f64,
    pub sweep_measured_bytes_per_account: f64,
    /// A usage day's item at the analytics figures' day of [`Self::analytics_measured_day`]
    /// messages (`cargo bench --bench analytics_ingest`, folded once a day: 4,195 bytes, mostly
    /// the 12-byte message fingerprints); other days in proportion to their messages.
    pub usage_day_bytes: f64,
    /// Usage days an account keeps, which every sweep reads again (`FORESIGHT_USAGE_RETENTION_DAYS`).
    pub usage_days_kept: f64,
    /// Of those, the days that still hold their message fingerprints: today and the
    /// `usage::FINGERPRINT_DAYS` (6) before it. The sweep settles an older day (one write, billed
    /// by the day's size then) and from then on it weighs [`Self::settled_day_bytes`].
    pub fingerprinted_days: f64,
    /// A settled usage day (`cargo bench --bench analytics_ingest`: 206 bytes, its users,
    /// features and times without the fingerprints).
    pub settled_day_bytes: f64,
    /// The share of the first sweep of a day's writes that also change the account's card in
    /// the `portfolio` index, one more WCU each (`tests/sweep_scale.rs`, DynamoDB Local: 374 of
    /// 10,000; the item itself measured 2 WCU there, its 1,166 bytes). A later hour's sweep
    /// writes an account because its health moved, which moves its card: the item and the
    /// index, as the CRM sync's clearing of a mark (the index copy carries the mark).
    pub first_sweep_card_share: f64,
    /// Write units of the `portfolio` index per event write that changes an account's card:
    /// the card is about 100 bytes (README "Portfolio KPIs": 10,000 cards in ~1 MB), 1 WCU
    /// with the index's overhead (`tests/sweep_scale.rs` measures 1 a changed card).
    pub index_wcu_per_card_write: f64,
    /// RCU per 1,000 accounts of one CRM sync run: it reads every card of the index for the
    /// marked ones (a filtered `Query`, eventually consistent: 0.5 RCU per 4 KB of ~100-byte
    /// cards).
    pub crm_sync_rcu_per_1000: f64,
    /// Estimate (not measurable locally): billed milliseconds of a webhook invocation at 128 MB
    /// (a verify and parse of ~20 µs, one or two DynamoDB round trips of a few ms).
    pub webhook_ms: f64,
    /// Estimate: accounts a sweep worker scores per second of billed time, at 512 MB (the
    /// scan's pages dominate; `cargo bench --bench health_sweep` scores far faster on CPU).
    pub sweep_accounts_per_second: f64,
    /// Estimate: log bytes per invocation, the function's one JSON line (Lambda's platform lines
    /// are off: `SystemLogLevel: WARN` in the template).
    pub log_bytes_per_invocation: f64,
    /// Estimate: SQS requests a month of one queue's event source mapping polling it (five
    /// pollers long-polling every 20 s: 15 empty receives a minute, which is what users report
    /// seeing on idle Lambda-polled queues, e.g. getlift/lift#132).
    pub sqs_polls_per_queue: f64,
    /// Queues polled by Lambda (the sweep's, the notifications', the in-app messages').
    pub polled_queues: f64,
    /// Stored bytes per analytics message kept in a usage day (a 12-byte id); the account
    /// items are [`Self::item_bytes`].
    pub bytes_per_message: f64,
}

impl Default for Figures {
    fn default() -> Self {
        Figures {
            quiet_item_bytes: 1675.0,
            busy_item_bytes: 4186.0,
            busy_events_a_month: 88.0,
            event_read_units: 0.5,
            analytics_wcu_per_message: [(1.0, 3.607), (10.0, 0.293), (333.0, 0.015)],
            analytics_measured_day: 333.0,
            folded_wcu_per_message: [(1.0, 0.01502), (4.0, 0.04204), (24.0, 0.2087)],
            held_bytes_per_pair: 29.1,
            fold_seconds_per_batch: 0.05,
            sweep_rcu_per_1000: 258.0,
            sweep_measured_bytes_per_account: 2113.0,
            usage_day_bytes: 4202.0,
            usage_days_kept: 35.0,
            fingerprinted_days: 7.0,
            settled_day_bytes: 206.0,
            first_sweep_card_share: 0.0374,
            index_wcu_per_card_write: 1.0,
            crm_sync_rcu_per_1000: 100.0 * 1000.0 / 4096.0 * 0.5,
            webhook_ms: 20.0,
            sweep_accounts_per_second: 1000.0,
            log_bytes_per_invocation: 400.0,
            sqs_polls_per_queue: 5.0 * 3.0 * 60.0 * 24.0 * 30.0,
            polled_queues: 3.0,
            bytes_per_message: 12.0,
        }
    }
}

impl Figures {
    /// An account item's bytes at `events_a_month` billing and support events an account.
    pub fn item_bytes(&self, events_a_month: f64) -> f64 {
        let per_event = (self.busy_item_bytes - self.quiet_item_bytes) / self.busy_events_a_month;
        self.quiet_item_bytes + per_event * events_a_month.max(0.0)
    }

    /// The write units of one write of that item: 1 KB units, rounded up.
    pub fn item_wcu(&self, events_a_month: f64) -> f64 {
        (self.item_bytes(events_a_month) / 1024.0).ceil().max(1.0)
    }

    /// WCU per message when a batch holds `per_account` messages of each of its accounts:
    /// between two measured points, on a straight line of their logarithms (the figures fall
    /// about as 1/messages, one write shared by them); outside them, the nearest.
    fn analytics_wcu(&self, per_account: f64) -> f64 {
        let measured = self.analytics_wcu_per_message;
        // No write costs less than 1 WCU, however small the item: `per_account` messages share
        // at least that.
        let floor = 1.0 / per_account.max(1.0);
        interpolate(&measured, per_account).max(floor)
    }

    /// WCU per message folded `folds` times a day, between the measured points on a line of
    /// their logarithms; outside them, the nearest.
    fn folded_wcu(&self, folds: f64) -> f64 {
        interpolate(&self.folded_wcu_per_message, folds)
    }

    /// Whether a day of `messages` an account is far (over twice, or under half) from the day
    /// the analytics figures were measured at.
    pub fn analytics_day_differs(&self, messages: f64) -> bool {
        let ratio = messages / self.analytics_measured_day;
        !(0.5..=2.0).contains(&ratio)
    }
}

/// `x`'s value between measured `(x, y)` points, on a straight line of their logarithms; outside
/// them, the nearest point's.
fn interpolate(measured: &[(f64, f64); 3], x: f64) -> f64 {
    let m = x.clamp(measured[0].0, measured[measured.len() - 1].0);
    let i = measured.windows(2).position(|w| m <= w[1].0).unwrap_or(0);
    let ((m0, w0), (m1, w1)) = (measured[i], measured[i + 1]);
    let t = (m.ln() - m0.ln()) / (m1.ln() - m0.ln());
    (w0.ln() + t * (w1.ln() - w0.ln())).exp()
}

/// List prices in USD (us-east-1, on-demand, arm64).
#[derive(Clone, Debug, PartialEq)]
pub struct Prices {
    pub api_per_million: f64,
    pub lambda_per_million: f64,
    pub lambda_gb_second: f64,
    pub dynamodb_write_per_million: f64,
    pub dynamodb_read_per_million: f64,
    pub dynamodb_gb_month: f64,
    pub sqs_per_million: f64,
    pub logs_ingest_gb: f64,
    pub metric_month: f64,
    pub alarm_month: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Prices {
            api_per_million: 1.00,
            lambda_per_million: 0.20,
            lambda_gb_second: 0.000_013_333_4,
            dynamodb_write_per_million: 0.625,
            dynamodb_read_per_million: 0.125,
            dynamodb_gb_month: 0.25,
            sqs_per_million: 0.40,
            logs_ingest_gb: 0.50,
            metric_month: 0.30,
            alarm_month: 0.10,
        }
    }
}

/// One line of the bill.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    pub service: &'static str,
    pub usage: String,
    pub usd: f64,
    /// The part AWS's always-free tier would cover, were it unused by anything else.
    pub free_usd: f64,
    /// Where the figures behind it come from.
    pub basis: &'static str,
}

const DAYS: f64 = 30.0;

/// The month's bill of `s`.
pub fn bill(s: &Scenario, f: &Figures, p: &Prices) -> Vec<Line> {
    let million = 1_000_000.0;
    let analytics_requests = (s.analytics_events as f64 / s.batch_size.max(1) as f64).ceil();
    let requests = s.events as f64 + analytics_requests;
    let sweeps = s.sweeps_per_day as f64 * DAYS;
    let accounts = s.accounts as f64;

    // Writes: events, analytics usage days, and the sweeps (each account once a day for its
    // history point, then only those whose health changed).
    let events_a_month = s.events as f64 / accounts.max(1.0);
    let item_wcu = f.item_wcu(events_a_month);
    let item_bytes = f.item_bytes(events_a_month);
    let event_wcu = s.events as f64 * item_wcu;
    let accounts_per_batch = s.accounts_per_batch();
    let folds = s.usage_folds_per_day as f64 * DAYS;
    // Held and folded: each round of a fold writes each active account's day once (all of them
    // here: the figures are of accounts active all day), a fold is one round unless it takes
    // more batches than a round holds; written at once: each batch its accounts' days.
    let batches_per_fold = analytics_requests / folds.max(1.0);
    let rounds = (batches_per_fold / BATCHES_PER_ROUND as f64)
        .max(batches_per_fold * accounts_per_batch / PAIRS_PER_ROUND as f64)
        .ceil()
        .max(1.0);
    let analytics_wcu = if s.usage_folds_per_day > 0 {
        s.analytics_events as f64 * f.folded_wcu(s.usage_folds_per_day as f64) * rounds
    } else {
        s.analytics_events as f64 * f.analytics_wcu(s.batch_size.max(1) as f64 / accounts_per_batch)
    };
    // Held batches in SQS: each 64 KB of a message is a request to send it; ReceiveMessage
    // returns ten messages at a time, each 64 KB of them billed as a request; a delete per ten
    // messages; an empty receive at the end of each fold.
    let (held_requests, fold_seconds) = if s.usage_folds_per_day > 0 && s.analytics_events > 0 {
        let kb64 = accounts_per_batch * f.held_bytes_per_pair / 65_536.0;
        (
            analytics_requests * (kb64.ceil().max(1.0) + kb64.max(0.1) + 0.1) + folds,
            analytics_requests * f.fold_seconds_per_batch,
        )
    } else {
        (0.0, 0.0)
    };
    let changed_writes = DAYS * accounts * s.changed_per_sweep * (s.sweeps_per_day.saturating_sub(1)) as f64;
    // A usage day of each active account a day settled: one write, billed by the day's size.
    let usage_day_bytes = f.usage_day_bytes * s.messages_per_account_day() / f.analytics_measured_day;
    let active_accounts = accounts.min(s.analytics_events as f64 / DAYS);
    let settle_writes = DAYS * active_accounts;
    let settle_wcu = settle_writes * (usage_day_bytes / 1024.0).ceil().max(1.0);
    let sweep_writes = DAYS * accounts + changed_writes + settle_writes;
    let sweep_wcu = DAYS * accounts * (item_wcu + f.first_sweep_card_share * f.index_wcu_per_card_write)
        + changed_writes * (item_wcu + f.index_wcu_per_card_write)
        + settle_wcu;
    // The CRM sync (hourly by default, `CrmSyncSchedule`): one write clearing the mark of each
    // account whose CRM health changed, bounded by the accounts each sweep changed.
    let crm_writes = if s.crm { DAYS * s.sweeps_per_day as f64 * accounts * s.changed_per_sweep } else { 0.0 };
    let crm_wcu = crm_writes * (item_wcu + f.index_wcu_per_card_write);
    let crm_rcu = if s.crm { DAYS * 24.0 * accounts / 1000.0 * f.crm_sync_rcu_per_1000 } else { 0.0 };
    // Events that change a card also rewrite its copy in the `portfolio` index.
    let card_event_writes = s.events as f64 * s.card_event_share;
    let event_wcu = event_wcu + card_event_writes * f.index_wcu_per_card_write;
    // Reads: the link per event, per batch account (per account a fold, when folded), and the
    // sweeps' scans.
    let analytics_link_reads = if s.usage_folds_per_day > 0 {
        folds * rounds * accounts.min(s.analytics_events as f64 / folds.max(1.0))
    } else {
        analytics_requests * accounts_per_batch
    };
    let reads = (s.events as f64 + analytics_link_reads) * f.event_read_units;
    // Every sweep scans each account's item and all its kept usage days: the last few with their
    // fingerprints, the others settled.
    let fingerprinted = f.fingerprinted_days.min(f.usage_days_kept);
    let settled_day_bytes = f.settled_day_bytes.min(usage_day_bytes);
    let scanned_bytes =
        item_bytes + fingerprinted * usage_day_bytes + (f.usage_days_kept - fingerprinted) * settled_day_bytes;
    let sweep_rcu = sweeps * accounts / 1000.0 * f.sweep_rcu_per_1000 * scanned_bytes
        / f.sweep_measured_bytes_per_account
        + crm_rcu;
    // Storage: the accounts, the fingerprints of the last days, and the settled usage days.
    let stored_gb = (accounts * item_bytes
        + s.analytics_events as f64 / DAYS * fingerprinted * f.bytes_per_message
        + active_accounts * (f.usage_days_kept - fingerprinted) * settled_day_bytes)
        / 1e9;

    let sweep_seconds = sweeps * accounts / f.sweep_accounts_per_second;
    let lambda_gb_s = requests * f.webhook_ms / 1000.0 * 0.125 + sweep_seconds * 0.5 + fold_seconds * 1.0;
    let invocations = requests + sweeps * 5.0 + s.alerts_per_day * DAYS + folds;

    let sqs =
        f.sqs_polls_per_queue * f.polled_queues + s.alerts_per_day * DAYS * 3.0 + sweeps * 4.0 * 3.0 + held_requests;
    let log_gb = invocations * f.log_bytes_per_invocation / 1e9;

    // Metrics: each (name, dimensions) published in an hour is billed for that hour, and zero
    // counts are not published. The default set: EventsIngested by source (every hour),
    // AlertsRaised in the hours an alert is raised (Poisson); NotificationsFailed and
    // RejectedSignatures are rare and left out.
    let alert_hours = 1.0 - (-(s.alerts_per_day / 24.0)).exp();
    let mut metrics = s.sources as f64 + alert_hours;
    if s.detailed_metrics {
        metrics += DETAILED_EXTRA_METRICS;
    }

    vec![
        Line {
            service: "API Gateway (HTTP API)",
            usage: format!("{:.2} M requests", requests / million),
            usd: requests / million * p.api_per_million,
            free_usd: 0.0,
            basis: "one request per event and per analytics batch",
        },
        Line {
            service: "Lambda",
            usage: format!("{:.2} M invocations, {:.0} GB-s", invocations / million, lambda_gb_s),
            usd: invocations / million * p.lambda_per_million + lambda_gb_s * p.lambda_gb_second,
            free_usd: (invocations.min(million) / million * p.lambda_per_million
                + lambda_gb_s.min(400_000.0) * p.lambda_gb_second),
            basis: "estimates: 20 ms a webhook at 128 MB, 1,000 accounts/s a sweep worker at 512 MB",
        },
        Line {
            service: "DynamoDB writes (events)",
            usage: format!("{:.2} M WRU ({item_bytes:.0}-byte items)", event_wcu / million),
            usd: event_wcu / million * p.dynamodb_write_per_million,
            free_usd: 0.0,
            basis: "bench account_growth: 1 write per event, billed by the account item's size at the scenario's events an account (kept bounded by the sweep's retention), +1 for the card's index copy (share estimated)",
        },
        Line {
            service: "DynamoDB writes (analytics)",
            usage: if s.usage_folds_per_day > 0 {
                format!("{:.2} M WRU (folded {} a day)", analytics_wcu / million, s.usage_folds_per_day)
            } else {
                format!("{:.2} M WRU ({:.0} accounts a batch)", analytics_wcu / million, accounts_per_batch)
            },
            usd: analytics_wcu / million * p.dynamodb_write_per_million,
            free_usd: 0.0,
            basis: if s.usage_folds_per_day > 0 {
                "bench analytics_ingest, held for the usage fold: each fold writes each account's day once, billed by the item's size"
            } else {
                "bench analytics_ingest: one write per account of a batch, billed by the day item's size (3.6 WCU a message sent alone, 0.015 a day's messages in one batch)"
            },
        },
        Line {
            service: "DynamoDB writes (sweeps)",
            usage: format!("{:.2} M WRU ({:.0} account writes)", sweep_wcu / million, sweep_writes),
            usd: sweep_wcu / million * p.dynamodb_write_per_million,
            free_usd: 0.0,
            basis: "tests/sweep_scale.rs: 0 writes an unchanged hour, the changed ones (the item and the card's index copy), each account once a day; bench account_growth: the item's size; a usage day settled an active account a day (bench analytics_ingest: 5 WCU at 333 messages)",
        },
        Line {
            service: "DynamoDB writes (CRM sync)",
            usage: format!("{:.2} M WRU ({:.0} marks cleared)", crm_wcu / million, crm_writes),
            usd: crm_wcu / million * p.dynamodb_write_per_million,
            free_usd: 0.0,
            basis: "bound: each account a sweep changed is pushed to the CRM, its mark cleared: the item and its index copy",
        },
        Line {
            service: "DynamoDB reads",
            usage: format!("{:.2} M RRU ({:.0} KB scanned an account a sweep)", (reads + sweep_rcu) / million, scanned_bytes / 1000.0),
            usd: (reads + sweep_rcu) / million * p.dynamodb_read_per_million,
            free_usd: 0.0,
            basis: "tests/sweep_scale.rs: a sweep's scan at 0.5 RCU per 4 KB of each account's item and kept usage days (bench analytics_ingest: a usage day's size, 7 with their fingerprints, the others settled); 0.5 RCU per link read; the CRM sync's card reads",
        },
        Line {
            service: "DynamoDB storage",
            usage: format!("{stored_gb:.2} GB"),
            usd: stored_gb * p.dynamodb_gb_month,
            free_usd: stored_gb.min(25.0) * p.dynamodb_gb_month,
            basis: "bench account_growth's item size; 12 bytes per message id for 7 days, settled usage days of 206 bytes (25 GB always free)",
        },
        Line {
            service: "SQS",
            usage: format!("{:.2} M requests", sqs / million),
            usd: sqs / million * p.sqs_per_million,
            free_usd: sqs.min(million) / million * p.sqs_per_million,
            basis: "estimate: Lambda's pollers on 3 queues, 3 requests per message; held usage: bench analytics_ingest's message size, 64 KB a request to send and to receive (1 M always free)",
        },
        Line {
            service: "CloudWatch Logs",
            usage: format!("{log_gb:.2} GB"),
            usd: log_gb * p.logs_ingest_gb,
            free_usd: log_gb.min(5.0) * p.logs_ingest_gb,
            basis: "estimate: one 400-byte JSON line per invocation (5 GB always free)",
        },
        Line {
            service: "CloudWatch metrics",
            usage: format!("{metrics:.1} metric-months"),
            usd: metrics * p.metric_month,
            free_usd: metrics.min(10.0) * p.metric_month,
            basis: "runtime/metrics.rs default set (shared/tests/metrics_budget.rs), billed by the hours published",
        },
        Line {
            service: "CloudWatch alarms",
            usage: format!("{} alarms", s.alarms),
            usd: s.alarms as f64 * p.alarm_month,
            free_usd: (s.alarms.min(10)) as f64 * p.alarm_month,
            basis: "template.yaml: the API's 5xx, the 3 DLQs, the held usage's age; PerFunctionAlarms adds 24 (10 always free)",
        },
    ]
}

/// What `DetailedMetrics` adds to the default set (`shared/tests/metrics_budget.rs` prints the
/// count over the event types it samples; about 40 with every Stripe type subscribed).
pub const DETAILED_EXTRA_METRICS: f64 = 40.0;

pub fn total(lines: &[Line]) -> f64 {
    lines.iter().map(|l| l.usd).sum()
}

/// The total less what the always-free tier covers.
pub fn total_after_free_tier(lines: &[Line]) -> f64 {
    lines.iter().map(|l| l.usd - l.free_usd).sum()
}

/// The bill as a table.
pub fn render(s: &Scenario, f: &Figures, lines: &[Line]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} accounts, {} billing and support events, {} analytics messages in batches of {} ({:.0} accounts a batch{}, {:.0} messages an account-day), usage {}, {} sweeps a day",
        s.accounts,
        s.events,
        s.analytics_events,
        s.batch_size,
        s.accounts_per_batch(),
        if s.accounts_per_batch.is_none() { ": messages from the accounts as at random, --accounts-per-batch to say" } else { "" },
        s.messages_per_account_day(),
        match s.usage_folds_per_day {
            0 => "written at once (--usage-folds-per-day 0)".to_owned(),
            n => format!("held and folded {n} a day (--usage-folds-per-day)"),
        },
        s.sweeps_per_day
    );
    for l in lines {
        let _ = writeln!(out, "  {:<26} {:>8}  {:<34} {}", l.service, format!("${:.2}", l.usd), l.usage, l.basis);
    }
    let _ =
        writeln!(out, "  {:<26} {:>8}  a month (list prices, no free tier)", "total", format!("${:.2}", total(lines)));
    let after = format!("${:.2}", total_after_free_tier(lines));
    let _ =
        writeln!(out, "  {:<26} {after:>8}  a month if the AWS account's always-free tier is not used elsewhere", "");
    let day = s.messages_per_account_day();
    if s.analytics_events > 0 && f.analytics_day_differs(day) {
        let _ = writeln!(
            out,
            "  note: the analytics figures were measured at {:.0} messages an account-day, this scenario has {day:.0}: \
             its day items are {}, so the analytics writes are billed {} here",
            f.analytics_measured_day,
            if day < f.analytics_measured_day { "smaller" } else { "larger" },
            if day < f.analytics_measured_day { "too high" } else { "too low" },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(lines: &'a [Line], service: &str) -> &'a Line {
        lines.iter().find(|l| l.service == service).unwrap()
    }

    /// A small case computed by hand: 1,000 accounts, 100,000 events, 1,000,000 messages in
    /// batches of 100 for 4 accounts each written at once, 2 sweeps a day, 10% changed, no
    /// alerts, 1 source, 10 alarms.
    fn hand_case() -> Scenario {
        Scenario {
            accounts: 1_000,
            events: 100_000,
            analytics_events: 1_000_000,
            batch_size: 100,
            accounts_per_batch: Some(4),
            usage_folds_per_day: 0,
            sweeps_per_day: 2,
            changed_per_sweep: 0.1,
            alerts_per_day: 0.0,
            sources: 1,
            alarms: 10,
            detailed_metrics: false,
            crm: true,
            card_event_share: 0.1,
        }
    }

    #[test]
    fn the_bill_of_a_hand_computed_case() {
        let s = hand_case();
        let lines = bill(&s, &Figures::default(), &Prices::default());
        let usd = |service: &str| line(&lines, service).usd;
        let assert_usd = |service: &str, expected: f64| {
            assert!((usd(service) - expected).abs() < 1e-9, "{service}: {} against {expected}", usd(service));
        };
        // 100,000 events + 10,000 batches = 110,000 requests at $1 per million.
        assert_usd("API Gateway (HTTP API)", 0.11);
        // 100 events an account a month: an item of 1,675 + (4,186 − 1,675) × 100 / 88 =
        // 4,528.4 bytes, 5 WCU a write. 100,000 × 5 WCU + 10% of them × 1 (the card's index
        // copy) = 510,000 WRU at $0.625 per million.
        assert!((Figures::default().item_bytes(100.0) - (1675.0 + 2511.0 * 100.0 / 88.0)).abs() < 1e-9);
        assert_eq!(Figures::default().item_wcu(100.0), 5.0);
        assert_usd("DynamoDB writes (events)", 510_000.0 * 0.625 / 1e6);
        // 25 messages of an account a batch: between the figures at 10 (0.293) and 333 (0.015),
        // on the line of their logarithms: 0.293 × (0.015/0.293)^(ln 2.5 / ln 33.3).
        let per_message = 0.293 * (0.015f64 / 0.293).powf(2.5f64.ln() / 33.3f64.ln());
        assert_usd("DynamoDB writes (analytics)", 1_000_000.0 * per_message * 0.625 / 1e6);
        // 30 days × 1,000 first writes of 5 WCU and 3.74% of an index copy = 151,122, and
        // 30 × 1,000 × 0.1 × 1 later writes of 5 + 1 = 18,000; and a usage day settled for
        // each of the 1,000 accounts (33,333 messages a day reach all of them) a day, 30,000
        // writes of 1 WCU (a day of 33.3 messages, 420.2 bytes): 199,122 WRU.
        assert_usd("DynamoDB writes (sweeps)", 199_122.0 * 0.625 / 1e6);
        // CRM sync: 30 days × 2 sweeps × 1,000 × 0.1 = 6,000 marks cleared, 5 + 1 WCU each.
        assert_usd("DynamoDB writes (CRM sync)", 36_000.0 * 0.625 / 1e6);
        // Reads: (100,000 + 10,000 × 4) × 0.5 = 70,000; sweeps 60 × 1 × 258 RCU scaled from the
        // 2,113 bytes an account measured to what an account holds here: its 4,528.4-byte item
        // and 35 usage days of 33.3 messages (4,202 bytes at 333: 420.2 each), the last 7 with
        // their fingerprints and 28 settled (206 bytes); the CRM sync 720 runs × 1 × 12.2 (1,000
        // cards of 100 bytes: 24.4 4-KB units, halved); at $0.125 per million.
        let scanned =
            (1675.0 + 2511.0 * 100.0 / 88.0) + 7.0 * 4202.0 * (1_000_000.0 / 30.0 / 1000.0) / 333.0 + 28.0 * 206.0;
        let sweep_reads = 60.0 * 258.0 * scanned / 2113.0;
        assert_usd("DynamoDB reads", (70_000.0 + sweep_reads + 720.0 * 100_000.0 / 4096.0 * 0.5) * 0.125 / 1e6);
        // Metrics: 1 source every hour, no alerts: $0.30.
        assert_usd("CloudWatch metrics", 0.30);
        assert_usd("CloudWatch alarms", 1.0);
        // Lambda: 110,000 + 60 × 5 invocations = 110,300 → $0.02206; GB-s: 110,000 × 0.02 ×
        // 0.125 = 275, plus 60 sweeps × 1 s × 0.5 = 30 → 305 × $0.0000133334 = $0.004067.
        assert_usd("Lambda", 0.022_06 + 305.0 * 0.000_013_333_4);
        let sum: f64 = lines.iter().map(|l| l.usd).sum();
        assert_eq!(total(&lines), sum);
        // The always-free tier covers the 10 alarms, the metric, the logs and all of Lambda here.
        assert_usd("CloudWatch alarms", line(&lines, "CloudWatch alarms").free_usd);
        let free: f64 = lines.iter().map(|l| l.free_usd).sum();
        assert!((total(&lines) - total_after_free_tier(&lines) - free).abs() < 1e-12);
    }

    /// The same case with usage held and folded twice a day: only the analytics lines, SQS,
    /// Lambda and the reads change.
    #[test]
    fn the_bill_of_a_hand_computed_case_folded() {
        let written = Scenario { crm: false, ..hand_case() };
        let folded = Scenario { usage_folds_per_day: 2, ..written.clone() };
        let f = Figures {
            folded_wcu_per_message: [(1.0, 0.01), (2.0, 0.02), (24.0, 0.2)],
            held_bytes_per_pair: 20_000.0,
            fold_seconds_per_batch: 0.1,
            ..Figures::default()
        };
        let p = Prices::default();
        let (a, b) = (bill(&written, &f, &p), bill(&folded, &f, &p));
        let usd = |lines: &[Line], service: &str| line(lines, service).usd;
        // 1,000,000 messages × 0.02 WCU (the figure at 2 folds a day) = 20,000 WRU.
        assert!((usd(&b, "DynamoDB writes (analytics)") - 20_000.0 * 0.625 / 1e6).abs() < 1e-12);
        // SQS: 10,000 held batches of 4 pairs × 20,000 bytes = 80,000 bytes: 2 requests to send
        // (64 KB each), 80,000 / 65,536 = 1.2207 to receive (ten messages a receive, billed by
        // the 64 KB), a tenth of a delete; 60 folds' empty receives: 33,267.03 requests more.
        assert!((usd(&b, "SQS") - usd(&a, "SQS") - 33_267.031_25 * 0.40 / 1e6).abs() < 1e-12);
        // Reads: the analytics links once per account a fold (60 × 1,000) instead of once per
        // account of each batch (10,000 × 4): 20,000 more at 0.5 RCU.
        assert!((usd(&b, "DynamoDB reads") - usd(&a, "DynamoDB reads") - 10_000.0 * 0.125 / 1e6).abs() < 1e-12);
        // Lambda: 60 more invocations, 10,000 batches × 0.1 s at 1 GB = 1,000 GB-s.
        assert!(
            (usd(&b, "Lambda") - usd(&a, "Lambda") - (60.0 * 0.20 / 1e6 + 1_000.0 * 0.000_013_333_4)).abs() < 1e-12
        );
        for service in
            ["API Gateway (HTTP API)", "DynamoDB writes (events)", "DynamoDB writes (sweeps)", "DynamoDB storage"]
        {
            assert_eq!(usd(&a, service), usd(&b, service), "{service}");
        }
    }

    #[test]
    fn analytics_writes_follow_the_measured_figures() {
        let f = Figures::default();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        // The measured points themselves, and the nearest beyond them.
        assert!(close(f.analytics_wcu(1.0), 3.607) && close(f.analytics_wcu(10.0), 0.293));
        assert!(close(f.analytics_wcu(333.0), 0.015) && close(f.analytics_wcu(5000.0), 0.015));
        assert!(close(f.analytics_wcu(0.5), 3.607));
        // Beyond the last point, its figure (above the floor of 1 WCU a write shared by 1,000);
        // where a curve would fall under the floor, the floor.
        assert!(close(f.analytics_wcu(1000.0), 0.015));
        assert!(close(
            Figures { analytics_wcu_per_message: [(1.0, 1.0), (10.0, 0.05), (333.0, 0.003)], ..f.clone() }
                .analytics_wcu(10.0),
            0.1
        ));
        // Between them, falling.
        assert!(f.analytics_wcu(3.0) < 3.607 && f.analytics_wcu(3.0) > 0.293);
    }

    #[test]
    fn a_batch_spreads_over_the_accounts_unless_told() {
        let spread = Scenario::default();
        // 10,000 × (1 − 0.9999^1000) = 951.6.
        assert!((spread.accounts_per_batch() - 951.6).abs() < 0.1, "{}", spread.accounts_per_batch());
        assert!((spread.messages_per_account_day() - 333.3).abs() < 0.1);
        let small = Scenario { accounts: 3, batch_size: 1000, ..Scenario::default() };
        assert!((small.accounts_per_batch() - 3.0).abs() < 1e-9);
        let more_than_there_are = Scenario { accounts: 3, accounts_per_batch: Some(500), ..Scenario::default() };
        assert_eq!(more_than_there_are.accounts_per_batch(), 3.0);
        let told = Scenario { accounts_per_batch: Some(5), ..Scenario::default() };
        assert_eq!(told.accounts_per_batch(), 5.0);
        let prices = Prices::default();
        let analytics = |s: &Scenario| line(&bill(s, &Figures::default(), &prices), "DynamoDB writes (analytics)").usd;
        // Written at once: 1.05 messages of an account a batch: ~3.5 WCU a message, 100 M of them.
        let at_once = |s: &Scenario| Scenario { usage_folds_per_day: 0, ..s.clone() };
        assert!(analytics(&at_once(&spread)) > 200.0, "{}", analytics(&at_once(&spread)));
        // 200 messages of an account a batch: ~0.02 WCU a message.
        assert!(analytics(&at_once(&told)) < 2.0, "{}", analytics(&at_once(&told)));
        // Held and folded once a day (the default), the spread does not matter: 0.015 a message.
        assert!((analytics(&spread) - 100e6 * 0.01502 * 0.625 / 1e6).abs() < 1e-9, "{}", analytics(&spread));
        assert_eq!(analytics(&spread), analytics(&told));
        // The bill says when the figures were measured at another volume.
        let f = Figures::default();
        assert!(!render(&spread, &f, &[]).contains("note:"));
        let small_days = Scenario { analytics_events: 1_000_000, ..Scenario::default() };
        assert!(render(&small_days, &f, &[]).contains("billed too high"), "{}", render(&small_days, &f, &[]));
    }
}
