//! Structured logging: JSON lines for CloudWatch, one field per fact (event id, account id).

use tracing_subscriber::EnvFilter;

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// JSON logs without ANSI colours or timestamps (Lambda stamps each line itself). Each line
/// carries the current span: inside a handler that is the runtime's invoke span, so every line
/// has the Lambda `requestId`.
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(true)
        .with_span_list(false)
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

static COLD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// True the first time it is asked in this process (the cold start's first invocation), false
/// after: logged as `cold_start` on each function's per-invocation line.
pub fn cold_start() -> bool {
    COLD.swap(false, std::sync::atomic::Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_first_invocation_is_cold() {
        // Other tests in this process may have asked already; after one call it is warm.
        let _ = super::cold_start();
        assert!(!super::cold_start());
    }
}
