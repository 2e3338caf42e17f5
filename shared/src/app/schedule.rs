//! Scheduled invocations (EventBridge Scheduler): the time a run is "as of".

use crate::domain::time;

/// The run's `now` for a scheduled invocation: the schedule's `scheduled_time` (the same on every
/// retry of one run, so a retry is the same run), else `now`. An unreadable time is an error.
pub fn scheduled_now(invocation: &serde_json::Value, now: i64) -> Result<i64, String> {
    match invocation.get("scheduled_time").and_then(|v| v.as_str()) {
        Some(t) => time::parse(t).ok_or_else(|| format!("scheduled_time {t:?} is not an RFC 3339 time")),
        None => Ok(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_of_one_run_is_the_same_run() {
        let invocation = serde_json::json!({"scheduled_time": "2026-11-09T12:00:00Z"});
        assert_eq!(scheduled_now(&invocation, 5), Ok(1_794_225_600));
        assert_eq!(scheduled_now(&serde_json::json!({}), 5), Ok(5));
        assert!(scheduled_now(&serde_json::json!({"scheduled_time": "soon"}), 5).is_err());
    }
}
