//! The clock: the webhooks' and the runner's notion of "now", in Unix seconds. The use cases
//! take `now` as an argument, so tests and `?now=` choose it.

/// The current time in Unix seconds.
pub fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
