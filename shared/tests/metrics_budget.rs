//! The metric budget: every custom metric the default set can publish, over every source,
//! sweep, outcome and channel, stays within `metrics::BUDGET` (each costs ~$0.30 a month).

use foresight_shared::app::dispatch::Dispatched;
use foresight_shared::app::ingest::IngestReport;
use foresight_shared::runtime::metrics::{self, Count, Level, BUDGET, INGEST_SOURCES};
use std::collections::BTreeSet;

/// Every count the code can produce, over every value each dimension can take.
fn every_count() -> Vec<Count> {
    let mut counts = Vec::new();
    let event_types = ["invoice.paid", "invoice.payment_failed", "customer.subscription.updated", "batch"];
    for source in INGEST_SOURCES {
        for event_type in event_types {
            let report = |rejected| IngestReport {
                source,
                event_type: event_type.into(),
                events: 1,
                duplicates: 1,
                alerts: 1,
                rejected_signature: rejected,
            };
            counts.extend(metrics::ingest_counts(&report(false)));
            counts.extend(metrics::ingest_counts(&report(true)));
        }
    }
    for sweep in ["health-sweep", "renewal-sweep"] {
        counts.extend(metrics::sweep_counts(sweep, 10, 1));
    }
    for channel in ["slack", "hubspot", "salesforce"] {
        let reason = format!("{channel}: boom");
        counts.extend(metrics::dispatch_counts(&Dispatched::Delivered { sent_now: vec![channel.into()] }));
        counts.extend(metrics::dispatch_counts(&Dispatched::DeadLettered { reason: reason.clone() }));
        counts.extend(metrics::dispatch_counts(&Dispatched::RetryLater { seconds: 10, reason }));
    }
    counts
}

/// The distinct custom metrics `counts` publish at `level` (name and dimension values).
fn published(counts: &[Count], level: Level) -> BTreeSet<String> {
    metrics::records(counts, level, 0)
        .iter()
        .flat_map(|record| {
            let directive = &record["_aws"]["CloudWatchMetrics"][0];
            let dims: Vec<String> = directive["Dimensions"][0]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|d| d.as_str())
                .map(|d| format!("{d}={}", record[d].as_str().unwrap_or("")))
                .collect();
            directive["Metrics"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |m| format!("{}{{{}}}", m["Name"].as_str().unwrap_or(""), dims.join(",")))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn metric_budget() {
    let default = published(&every_count(), Level::Default);
    assert!(default.len() <= BUDGET, "{} default metrics, budget {BUDGET}: {default:#?}", default.len());
    assert!(default.contains("EventsIngested{Source=stripe}") && default.contains("NotificationsFailed{}"));
    assert!(!default.iter().any(|m| m.contains("EventType")), "no breakdown by event type: {default:#?}");
    // The breakdowns are real and would break the budget: only the detailed level has them.
    let detailed = published(&every_count(), Level::Detailed);
    assert!(detailed.len() > BUDGET, "{detailed:#?}");
    assert!(detailed.is_superset(&default));
    println!(
        "default set: {} metrics; detailed: {} (over the event types sampled here)",
        default.len(),
        detailed.len()
    );
}
