//! Structured logging: JSON lines for CloudWatch, one field per fact (event id, account id).

use tracing_subscriber::EnvFilter;

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// JSON logs without ANSI colours or timestamps (Lambda stamps each line itself).
pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter("info"))
        .with_current_span(false)
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
