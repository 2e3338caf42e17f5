//! Structured logging: JSON lines for CloudWatch, one field per fact (event id, account id), at
//! the level Lambda's advanced logging controls set (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`.

use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::EnvFilter;

/// The filter directive: `AWS_LAMBDA_LOG_LEVEL` (Lambda's log level setting: TRACE, DEBUG, INFO,
/// WARN, ERROR, FATAL) wins, then `RUST_LOG`, then `default`. Lambda's FATAL is tracing's error.
pub fn filter_directive(aws_lambda_log_level: Option<&str>, rust_log: Option<&str>, default: &str) -> String {
    let nonblank = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    match nonblank(aws_lambda_log_level) {
        Some(level) if level.eq_ignore_ascii_case("fatal") => "error".to_owned(),
        Some(level) => level.to_ascii_lowercase(),
        None => nonblank(rust_log).unwrap_or_else(|| default.to_owned()),
    }
}

fn filter(default: &str) -> EnvFilter {
    let directive = filter_directive(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
        default,
    );
    EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new(default))
}

/// JSON logs without ANSI colours or timestamps (Lambda stamps each line itself). Each line
/// carries the current span: inside a handler that is the invocation span (see
/// [`super::lambda`]), so every line has the Lambda `requestId` and `cold_start`.
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(true)
        .with_span_list(true)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Compact human-readable logs for the local runner, on standard error, at `default` level
/// unless `RUST_LOG` says otherwise.
pub fn init_local(default: &str) {
    let _ = tracing_subscriber::fmt()
        .compact()
        .with_env_filter(filter(default))
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Whether an invocation is the first of its execution environment (a cold start): true the
/// first time it is asked, false after. One per process, held by the Lambda glue.
#[derive(Debug)]
pub struct ColdStart(AtomicBool);

impl Default for ColdStart {
    fn default() -> Self {
        Self::new()
    }
}

impl ColdStart {
    pub const fn new() -> Self {
        ColdStart(AtomicBool::new(true))
    }

    /// True on the first call, false on every later one.
    pub fn take(&self) -> bool {
        self.0.swap(false, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_first_invocation_is_cold() {
        let cold = ColdStart::new();
        assert!(cold.take(), "the first invocation of an environment is cold");
        assert!(!cold.take());
        assert!(!cold.take());
    }

    #[test]
    fn lambda_log_level_wins_over_rust_log() {
        assert_eq!(filter_directive(Some("DEBUG"), Some("warn"), "info"), "debug");
        assert_eq!(filter_directive(Some("FATAL"), None, "info"), "error");
        assert_eq!(filter_directive(Some(" "), Some("foresight=trace"), "info"), "foresight=trace");
        assert_eq!(filter_directive(None, None, "info"), "info");
    }
}
