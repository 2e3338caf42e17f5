//! What the outbound HTTP adapters share: one client per process (rustls, timeouts) and the way
//! an HTTP failure is classified into a [`DeliveryError`].

use crate::app::ports::delivery::{truncate, DeliveryError};
use std::time::Duration;

/// Timeout of one HTTP request, connect included. Lambda's own timeout is longer, so a hung call
/// ends as [`DeliveryError::Transient`] instead of killing the invocation.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of the TCP + TLS connect.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Remote error bodies are cut to this many characters in error reasons and logs.
const MAX_REASON_CHARS: usize = 2_000;

/// One reusable HTTP client (rustls, [`REQUEST_TIMEOUT`], [`CONNECT_TIMEOUT`]).
pub fn http_client() -> Result<reqwest::Client, DeliveryError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("foresight/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| DeliveryError::Permanent(format!("cannot build the HTTP client: {e}")))
}

/// A remote body, cut for an error reason.
pub fn snippet(body: &str) -> String {
    truncate(body.trim(), MAX_REASON_CHARS)
}

/// A network-level failure. A request that could not even be built (a malformed base URL) will
/// never succeed as configured; everything else (connect, timeout, reset) is worth a retry.
pub fn network_error(what: &str, e: reqwest::Error) -> DeliveryError {
    if e.is_builder() {
        DeliveryError::Permanent(format!("{what}: invalid request: {e}"))
    } else {
        DeliveryError::Transient(format!("{what}: {e}"))
    }
}

/// The longest wait a `Retry-After` is taken at: 12 hours, SQS's longest visibility timeout
/// (a larger value, or a hostile one, would overflow a deadline computed from it).
pub const MAX_RETRY_AFTER_SECONDS: u64 = 12 * 3600;

/// `Retry-After` as whole seconds (Slack and HubSpot send seconds; an HTTP date is not expected),
/// at most [`MAX_RETRY_AFTER_SECONDS`].
pub fn retry_after_seconds(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let seconds = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok()?;
    Some(seconds.min(MAX_RETRY_AFTER_SECONDS))
}

/// The classification shared by HTTP APIs: 429 is handled by each adapter; 408, 423, 425 and 5xx
/// are transient; other 4xx permanent; anything else unexpected (1xx, 3xx) transient.
pub fn status_error(what: &str, status: reqwest::StatusCode, body: &str) -> DeliveryError {
    let reason = format!("{what}: HTTP {} {}", status.as_u16(), snippet(body));
    let code = status.as_u16();
    if status.is_server_error() || matches!(code, 408 | 423 | 425) {
        DeliveryError::Transient(reason)
    } else if status.is_client_error() {
        DeliveryError::Permanent(reason)
    } else {
        DeliveryError::Transient(reason)
    }
}

/// `base` without a trailing slash, so `{base}/path` never doubles it.
pub fn trim_base(base: impl Into<String>) -> String {
    let mut base = base.into();
    while base.ends_with('/') {
        base.pop();
    }
    base
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    fn retry_after(value: &str) -> Option<u64> {
        retry_after_seconds(&HeaderMap::from_iter([(RETRY_AFTER, HeaderValue::from_str(value).unwrap())]))
    }

    /// A wait past SQS's longest visibility timeout, or one that would overflow a deadline
    /// (the local runner adds it to an `Instant`), is taken at 12 hours.
    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        assert_eq!(retry_after(" 30 "), Some(30));
        assert_eq!(retry_after("10000000000000000000"), Some(MAX_RETRY_AFTER_SECONDS));
        assert_eq!(retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
        assert_eq!(retry_after_seconds(&HeaderMap::new()), None);
    }
}
