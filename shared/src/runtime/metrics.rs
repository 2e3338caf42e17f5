//! CloudWatch metrics in Embedded Metric Format: one JSON line on standard output per dimension
//! set, which CloudWatch Logs turns into metrics with no API call and no extra permission.
//! Emitted only inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set), so the local runner's output stays
//! clean.
//!
//! Every distinct (metric name, dimension values) CloudWatch receives is a custom metric billed
//! about $0.30 a month (billed by the hours it is published), so what is published is a budget.
//! The **default set** ([`BUDGET`] at most) answers "is it working": `EventsIngested` by `Source`
//! (stripe, zendesk, segment, segment-tracking, typeform: a sender that stopped shows), and with
//! no dimension `RejectedSignatures`, `AlertsRaised` and `NotificationsFailed`. Zero counts are
//! not published, so the rare ones cost only the hours they happen. The **detailed set** (`FORESIGHT_DETAILED_METRICS=true`, the
//! template's `DetailedMetrics` parameter; its price in the README) adds the breakdowns:
//! `EventsIngested` by `Source` and `EventType`, `Duplicates`, `RejectedSignatures` and
//! `AlertsRaised` by `Source`, `AccountsScored` (in all and by sweep), and `NotificationsSent`,
//! `NotificationsFailed` and `NotificationsRetried` by `Channel`. Every breakdown is also in the JSON logs (Logs Insights
//! queries in the README), free of metric charges.

use super::env;
use crate::app::dispatch::Dispatched;
use crate::app::ingest::IngestReport;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const NAMESPACE: &str = "Foresight";

/// The most custom metrics the default set may publish (`metric_budget` in
/// `shared/tests/metrics_budget.rs` fails past it).
pub const BUDGET: usize = 10;

/// The sources whose deliveries are counted by `Source` in the default set (the names the
/// ingest use cases report: `segment-tracking` is Segment's HTTP Tracking API).
pub const INGEST_SOURCES: [&str; 5] = ["stripe", "zendesk", "segment", "segment-tracking", "typeform"];

/// The variable that turns the detailed set on (`true`).
pub const DETAILED_VAR: &str = "FORESIGHT_DETAILED_METRICS";

/// Which counts a deployment publishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// The default set, within [`BUDGET`].
    Default,
    /// The default set and every breakdown.
    Detailed,
}

impl Level {
    /// From `FORESIGHT_DETAILED_METRICS` (default: the budgeted set).
    pub fn from_env() -> Self {
        match env::non_empty(DETAILED_VAR) {
            Some(v) if v.trim().eq_ignore_ascii_case("true") => Level::Detailed,
            _ => Level::Default,
        }
    }
}

/// One count: a metric, its dimensions, its value, and whether only the detailed set has it.
#[derive(Clone, Debug, PartialEq)]
pub struct Count {
    pub name: &'static str,
    pub dimensions: Vec<(&'static str, String)>,
    pub value: f64,
    pub detailed: bool,
}

fn count(name: &'static str, dimensions: &[(&'static str, &str)], value: f64, detailed: bool) -> Count {
    Count { name, dimensions: dimensions.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(), value, detailed }
}

/// What one webhook delivery counts.
pub fn ingest_counts(report: &IngestReport) -> Vec<Count> {
    let source = [("Source", report.source)];
    if report.rejected_signature {
        return vec![count("RejectedSignatures", &[], 1.0, false), count("RejectedSignatures", &source, 1.0, true)];
    }
    let by_type = [("Source", report.source), ("EventType", report.event_type.as_str())];
    vec![
        count("EventsIngested", &source, report.events as f64, false),
        count("AlertsRaised", &[], report.alerts as f64, false),
        count("EventsIngested", &by_type, report.events as f64, true),
        count("Duplicates", &source, report.duplicates as f64, true),
        count("AlertsRaised", &source, report.alerts as f64, true),
    ]
}

/// What a sweep invocation counts (`source`: the sweep's name).
pub fn sweep_counts(source: &str, accounts_scored: u64, alerts_raised: u64) -> Vec<Count> {
    let by = [("Source", source)];
    vec![
        count("AlertsRaised", &[], alerts_raised as f64, false),
        count("AccountsScored", &[], accounts_scored as f64, true),
        count("AccountsScored", &by, accounts_scored as f64, true),
        count("AlertsRaised", &by, alerts_raised as f64, true),
    ]
}

/// What one dispatched notification counts: sent or failed (default), and each by channel
/// (`slack`, `hubspot`, `salesforce`) with the retries (detailed).
pub fn dispatch_counts(outcome: &Dispatched) -> Vec<Count> {
    let channel_of = |reason: &str| reason.split(':').next().unwrap_or("unknown").to_owned();
    let (channels, metric) = match outcome {
        Dispatched::Delivered { sent_now } => (sent_now.clone(), "NotificationsSent"),
        Dispatched::DeadLettered { reason } => (vec![channel_of(reason)], "NotificationsFailed"),
        Dispatched::RetryLater { reason, .. } => (vec![channel_of(reason)], "NotificationsRetried"),
        Dispatched::AlreadySent => return Vec::new(),
    };
    let mut counts = Vec::new();
    // Failures are what someone acts on; deliveries and retries are breakdowns.
    if metric == "NotificationsFailed" {
        counts.push(count(metric, &[], channels.len() as f64, false));
    }
    counts.extend(channels.iter().map(|c| count(metric, &[("Channel", c)], 1.0, true)));
    counts
}

/// A dimension set: (name, value) pairs.
type Dimensions<'a> = Vec<(&'a str, &'a str)>;

/// The EMF records of `counts` at `level`: one per dimension set, zero counts left out.
pub fn records(counts: &[Count], level: Level, now_ms: i64) -> Vec<Value> {
    let mut by_dimensions: BTreeMap<Dimensions<'_>, Vec<(&str, f64)>> = BTreeMap::new();
    for c in counts.iter().filter(|c| c.value != 0.0 && (level == Level::Detailed || !c.detailed)) {
        let dims = c.dimensions.iter().map(|(k, v)| (*k, v.as_str())).collect();
        by_dimensions.entry(dims).or_default().push((c.name, c.value));
    }
    by_dimensions.into_iter().map(|(dims, values)| record(&dims, &values, now_ms)).collect()
}

/// One EMF record: the metrics (all counts) under one set of dimensions.
pub fn record(dimensions: &[(&str, &str)], counts: &[(&str, f64)], now_ms: i64) -> Value {
    let mut root = Map::new();
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), json!(value));
    }
    for (name, value) in counts {
        root.insert((*name).to_owned(), json!(value));
    }
    let names: Vec<&str> = dimensions.iter().map(|(name, _)| *name).collect();
    let metrics: Vec<Value> = counts.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect();
    root.insert(
        "_aws".into(),
        json!({"Timestamp": now_ms, "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [names], "Metrics": metrics}]}),
    );
    Value::Object(root)
}

/// Prints the records of `counts` inside Lambda, at the configured level; nothing elsewhere.
pub fn emit(counts: &[Count]) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    for record in records(counts, Level::from_env(), chrono::Utc::now().timestamp_millis()) {
        println!("{record}");
    }
}

/// Counts one webhook delivery.
pub fn ingested(report: &IngestReport) {
    emit(&ingest_counts(report));
}

/// Counts one sweep invocation.
pub fn swept(source: &str, accounts_scored: u64, alerts_raised: u64) {
    emit(&sweep_counts(source, accounts_scored, alerts_raised));
}

/// Counts one dispatched notification.
pub fn dispatched(outcome: &Dispatched) {
    emit(&dispatch_counts(outcome));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_follows_the_embedded_metric_format() {
        let r = record(&[("Source", "stripe")], &[("EventsIngested", 1.0), ("AlertsRaised", 2.0)], 1_794_830_400_000);
        assert_eq!(r["_aws"]["Timestamp"], 1_794_830_400_000i64);
        let directive = &r["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Foresight");
        assert_eq!(directive["Dimensions"], json!([["Source"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "EventsIngested", "Unit": "Count"}, {"Name": "AlertsRaised", "Unit": "Count"}])
        );
        // Every dimension and metric named in the directive is a top-level member.
        assert_eq!(
            (r["Source"].as_str(), r["EventsIngested"].as_f64(), r["AlertsRaised"].as_f64()),
            (Some("stripe"), Some(1.0), Some(2.0))
        );
        let none = record(&[], &[("AccountsScored", 3.0)], 0);
        assert_eq!(none["_aws"]["CloudWatchMetrics"][0]["Dimensions"], json!([[]]));
    }

    #[test]
    fn the_default_level_leaves_out_breakdowns_and_zeros() {
        let report = IngestReport {
            source: "stripe",
            event_type: "invoice.paid".into(),
            events: 1,
            duplicates: 0,
            alerts: 0,
            rejected_signature: false,
        };
        let default = records(&ingest_counts(&report), Level::Default, 0);
        assert_eq!(default.len(), 1);
        assert_eq!(default[0]["EventsIngested"], 1.0);
        assert!(default[0].get("AlertsRaised").is_none(), "a zero count is not published");
        let detailed = records(&ingest_counts(&report), Level::Detailed, 0);
        assert!(detailed.iter().any(|r| r["EventType"] == "invoice.paid"), "{detailed:?}");
    }
}
