//! CloudWatch metrics in Embedded Metric Format: one JSON line on standard output per record,
//! which CloudWatch Logs turns into metrics with no API call and no extra permission. Emitted
//! only inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set), so the local runner's output stays clean.
//!
//! Metrics (namespace `Foresight`): `EventsIngested` by `Source` and by `Source` and `EventType`;
//! `Duplicates`, `RejectedSignatures` and `AlertsRaised` by `Source` (stripe, zendesk, segment, health-sweep, renewal-sweep);
//! `NotificationsSent`, `NotificationsFailed` and `NotificationsRetried` by `Channel`;
//! `AccountsScored` by `Source`.

use crate::app::dispatch::Dispatched;
use crate::app::ingest::IngestReport;
use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "Foresight";

/// Some of a record's counts broken down by further dimensions (as well as by the record's own).
/// Each distinct value is one more CloudWatch custom metric, so only low-cardinality dimensions.
pub struct Breakdown<'a> {
    pub dimensions: &'a [(&'a str, &'a str)],
    pub metrics: &'a [&'a str],
}

/// One EMF record: the metrics (all counts) under one set of dimensions, with extra
/// properties (searchable in Logs Insights, not dimensions).
pub fn record(dimensions: &[(&str, &str)], counts: &[(&str, f64)], properties: &[(&str, Value)], now_ms: i64) -> Value {
    record_with(dimensions, counts, &[], properties, now_ms)
}

fn dimension_names<'a>(dimensions: &[(&'a str, &str)]) -> Vec<&'a str> {
    dimensions.iter().map(|(name, _)| *name).collect()
}

fn count_metrics<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Value> {
    names.map(|name| json!({"Name": name, "Unit": "Count"})).collect()
}

/// [`record`] plus breakdowns: one metric directive per breakdown, over the record's dimensions
/// and the breakdown's, for the breakdown's metrics among `counts`.
pub fn record_with(
    dimensions: &[(&str, &str)],
    counts: &[(&str, f64)],
    breakdowns: &[Breakdown<'_>],
    properties: &[(&str, Value)],
    now_ms: i64,
) -> Value {
    let mut root = Map::new();
    for (name, value) in properties {
        root.insert((*name).to_owned(), value.clone());
    }
    let extra = breakdowns.iter().flat_map(|b| b.dimensions.iter());
    for (name, value) in dimensions.iter().chain(extra) {
        root.insert((*name).to_owned(), json!(value));
    }
    for (name, value) in counts {
        root.insert((*name).to_owned(), json!(value));
    }
    let all = counts.iter().map(|(name, _)| *name);
    let mut directives = vec![
        json!({"Namespace": NAMESPACE, "Dimensions": [dimension_names(dimensions)], "Metrics": count_metrics(all)}),
    ];
    for breakdown in breakdowns {
        let mut dims = dimension_names(dimensions);
        dims.extend(dimension_names(breakdown.dimensions));
        let wanted =
            count_metrics(counts.iter().map(|(name, _)| *name).filter(|name| breakdown.metrics.contains(name)));
        if !wanted.is_empty() {
            directives.push(json!({"Namespace": NAMESPACE, "Dimensions": [dims], "Metrics": wanted}));
        }
    }
    root.insert("_aws".into(), json!({"Timestamp": now_ms, "CloudWatchMetrics": directives}));
    Value::Object(root)
}

/// Prints a record inside Lambda; does nothing elsewhere. Zero counts are left out (no line if
/// none is left).
pub fn emit(dimensions: &[(&str, &str)], counts: &[(&str, f64)], properties: &[(&str, Value)]) {
    emit_with(dimensions, counts, &[], properties)
}

/// [`emit`] with breakdowns (see [`record_with`]).
pub fn emit_with(
    dimensions: &[(&str, &str)],
    counts: &[(&str, f64)],
    breakdowns: &[Breakdown<'_>],
    properties: &[(&str, Value)],
) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    let counts: Vec<(&str, f64)> = counts.iter().copied().filter(|(_, v)| *v != 0.0).collect();
    if counts.is_empty() {
        return;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    println!("{}", record_with(dimensions, &counts, breakdowns, properties, now_ms));
}

/// What one webhook delivery counts: events ingested (also by event type: a source's types are
/// few, the ones subscribed to), duplicates, alerts raised, rejected signatures.
pub fn ingested(report: &IngestReport) {
    if report.rejected_signature {
        emit(&[("Source", report.source)], &[("RejectedSignatures", 1.0)], &[]);
        return;
    }
    let by_type = Breakdown { dimensions: &[("EventType", &report.event_type)], metrics: &["EventsIngested"] };
    emit_with(
        &[("Source", report.source)],
        &[
            ("EventsIngested", report.events as f64),
            ("Duplicates", report.duplicates as f64),
            ("AlertsRaised", report.alerts as f64),
        ],
        &[by_type],
        &[],
    );
}

/// What a sweep invocation counts: accounts scored and alerts raised, by the sweep's name.
pub fn swept(source: &str, accounts_scored: u64, alerts_raised: u64) {
    emit(
        &[("Source", source)],
        &[("AccountsScored", accounts_scored as f64), ("AlertsRaised", alerts_raised as f64)],
        &[],
    );
}

/// What a dispatched notification counts, by channel (`slack`, `hubspot`, `salesforce`).
pub fn dispatched(outcome: &Dispatched) {
    let channel_of = |reason: &str| reason.split(':').next().unwrap_or("unknown").to_owned();
    let (channels, metric) = match outcome {
        Dispatched::Delivered { sent_now } => (sent_now.clone(), "NotificationsSent"),
        Dispatched::DeadLettered { reason } => (vec![channel_of(reason)], "NotificationsFailed"),
        Dispatched::RetryLater { reason, .. } => (vec![channel_of(reason)], "NotificationsRetried"),
        Dispatched::AlreadySent => (Vec::new(), ""),
    };
    for channel in channels {
        emit(&[("Channel", &channel)], &[(metric, 1.0)], &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_follows_the_embedded_metric_format() {
        let r = record(
            &[("Source", "stripe")],
            &[("EventsIngested", 1.0), ("AlertsRaised", 2.0)],
            &[("event_id", json!("evt_1"))],
            1_794_830_400_000,
        );
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
        assert_eq!(r["event_id"], "evt_1");
    }

    #[test]
    fn a_breakdown_is_a_second_directive_for_its_metrics_only() {
        let by_type = Breakdown { dimensions: &[("EventType", "invoice.paid")], metrics: &["EventsIngested"] };
        let r = record_with(
            &[("Source", "stripe")],
            &[("EventsIngested", 1.0), ("Duplicates", 1.0)],
            &[by_type],
            &[],
            1_794_830_400_000,
        );
        let directives = r["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(directives.len(), 2);
        assert_eq!(directives[0]["Dimensions"], json!([["Source"]]));
        assert_eq!(directives[0]["Metrics"].as_array().unwrap().len(), 2);
        assert_eq!(directives[1]["Dimensions"], json!([["Source", "EventType"]]));
        assert_eq!(directives[1]["Metrics"], json!([{"Name": "EventsIngested", "Unit": "Count"}]));
        assert_eq!((r["Source"].as_str(), r["EventType"].as_str()), (Some("stripe"), Some("invoice.paid")));
        // A breakdown of metrics the record does not carry adds no directive.
        let none = Breakdown { dimensions: &[("EventType", "x")], metrics: &["AlertsRaised"] };
        let r = record_with(&[("Source", "stripe")], &[("EventsIngested", 1.0)], &[none], &[], 0);
        assert_eq!(r["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(), 1);
    }
}
