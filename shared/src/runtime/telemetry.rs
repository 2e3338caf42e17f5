//! Structured logging: JSON lines for CloudWatch, one field per fact (event id, account id), at
//! the level Lambda's advanced logging controls set (`AWS_LAMBDA_LOG_LEVEL`), else `RUST_LOG`.

use std::sync::atomic::{AtomicBool, Ordering};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, registry};

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

/// The filter of a directive: a level (`info`), or targets with levels
/// (`foresight_shared=debug,warn`). `Targets` rather than `EnvFilter`: no span or field
/// filters, and no regular-expression engine (~400 KB) in every Lambda binary. A directive it
/// cannot read falls back to `default`, then to `info`.
pub fn parse_filter(directive: &str, default: &str) -> Targets {
    directive.parse().or_else(|_| default.parse()).unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

fn filter(default: &str) -> Targets {
    let directive = filter_directive(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
        default,
    );
    parse_filter(&directive, default)
}

/// JSON logs without ANSI colours or timestamps (Lambda stamps each line itself). Each line
/// carries the current span: inside a handler that is the invocation span (see
/// [`super::lambda`]), so every line has the Lambda `requestId` and `cold_start`.
pub fn init_json() {
    let lines = fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_ansi(false)
        .without_time()
        .with_target(false);
    let _ = registry().with(lines).with(filter("info")).try_init();
}

/// Compact human-readable logs for the local runner, on standard error, at `default` level
/// unless `RUST_LOG` says otherwise.
pub fn init_local(default: &str) {
    let lines = fmt::layer().compact().with_writer(std::io::stderr).with_target(false);
    let _ = registry().with(lines).with(filter(default)).try_init();
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

    #[test]
    fn filters_read_levels_and_targets_and_fall_back_to_the_default() {
        use tracing::Level;
        let debug = parse_filter("debug", "info");
        assert!(debug.would_enable("foresight_shared::app", &Level::DEBUG));
        let targeted = parse_filter("foresight_shared=debug,warn", "info");
        assert!(targeted.would_enable("foresight_shared::app::ingest", &Level::DEBUG));
        assert!(!targeted.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(targeted.would_enable("aws_smithy_runtime", &Level::WARN));
        let unreadable = parse_filter("foresight[span{x=1}]=debug", "warn");
        assert!(!unreadable.would_enable("foresight_shared", &Level::INFO), "falls back to the default");
        assert!(unreadable.would_enable("foresight_shared", &Level::WARN));
    }
}
