//! CloudWatch metrics in Embedded Metric Format: one JSON line on standard output per record,
//! which CloudWatch Logs turns into metrics with no API call and no extra permission. Emitted
//! only inside Lambda (`AWS_LAMBDA_FUNCTION_NAME` set), so the local runner's output stays clean.
//!
//! Metrics (namespace `Foresight`): `EventsIngested`, `Duplicates`, `RejectedSignatures` and
//! `AlertsRaised` by `Source` (stripe, zendesk, segment, health-sweep, renewal-sweep);
//! `NotificationsSent`, `NotificationsFailed` and `NotificationsRetried` by `Channel`;
//! `AccountsScored` by `Source`.

use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "Foresight";

/// One EMF record: the metrics (all counts) under one set of dimensions, with extra
/// properties (searchable in Logs Insights, not dimensions).
pub fn record(dimensions: &[(&str, &str)], counts: &[(&str, f64)], properties: &[(&str, Value)], now_ms: i64) -> Value {
    let mut root = Map::new();
    for (name, value) in properties {
        root.insert((*name).to_owned(), value.clone());
    }
    for (name, value) in dimensions {
        root.insert((*name).to_owned(), json!(value));
    }
    for (name, value) in counts {
        root.insert((*name).to_owned(), json!(value));
    }
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(name, _)| *name).collect::<Vec<_>>()],
                "Metrics": counts.iter().map(|(name, _)| json!({"Name": name, "Unit": "Count"})).collect::<Vec<_>>(),
            }],
        }),
    );
    Value::Object(root)
}

/// Prints a record inside Lambda; does nothing elsewhere. Zero counts are left out (no line if
/// none is left).
pub fn emit(dimensions: &[(&str, &str)], counts: &[(&str, f64)], properties: &[(&str, Value)]) {
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_none() {
        return;
    }
    let counts: Vec<(&str, f64)> = counts.iter().copied().filter(|(_, v)| *v != 0.0).collect();
    if counts.is_empty() {
        return;
    }
    let now_ms = chrono::Utc::now().timestamp_millis();
    println!("{}", record(dimensions, &counts, properties, now_ms));
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
}
