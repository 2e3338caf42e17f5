//! Time, in one place. Inside the domain a moment is Unix seconds (`i64`: what the sources send,
//! what the stores keep, cheap to compare); at the edges (the record's JSON, the renewal index,
//! day keys) it is a [`Timestamp`] (`DateTime<Utc>`) or a [`NaiveDate`], converted here and only
//! here, so no rule formats a time to text and parses it back.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

/// Seconds in a day (UTC days: no leap seconds, no time zones).
pub const DAY: i64 = 86_400;

/// A moment as the record shows it. Serialises as RFC 3339 in UTC with whole seconds
/// (`2026-11-09T12:00:00Z`).
pub type Timestamp = DateTime<Utc>;

/// The moment `unix` seconds after the epoch (the epoch itself for a value chrono cannot hold).
pub fn at(unix: i64) -> Timestamp {
    DateTime::<Utc>::from_timestamp(unix, 0).unwrap_or_default()
}

/// `unix` as RFC 3339 text in UTC with whole seconds: `2026-11-09T12:00:00Z`.
pub fn rfc3339(unix: i64) -> String {
    at(unix).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an ISO 8601 / RFC 3339 time with an offset into Unix seconds. Also takes the
/// minute-precision form Zendesk's placeholders can render (`2013-12-12T05:35Z`,
/// `2013-12-12T05:35+01:00`), which RFC 3339 itself does not allow.
pub fn parse(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp());
    }
    // `YYYY-MM-DDTHH:MM` then an offset: insert `:00` seconds and try again.
    let (head, offset) = text.split_at_checked(16)?;
    if head.as_bytes().get(13) != Some(&b':') || !(offset.starts_with(['Z', 'z', '+', '-'])) {
        return None;
    }
    DateTime::parse_from_rfc3339(&format!("{head}:00{offset}")).ok().map(|t| t.timestamp())
}

/// The UTC day of a moment.
pub fn date(unix: i64) -> NaiveDate {
    at(unix).date_naive()
}

/// The day key of a moment: `YYYY-MM-DD` (UTC), the format of usage items and history points.
pub fn day_key(unix: i64) -> String {
    date(unix).format("%Y-%m-%d").to_string()
}

/// Parses a day key (`YYYY-MM-DD`).
pub fn parse_day(key: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()
}

/// The first second of a UTC day.
pub fn day_start(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp())
}

/// The month key of a moment: `YYYY-MM` (UTC).
pub fn month_key(unix: i64) -> String {
    at(unix).format("%Y-%m").to_string()
}

/// Whole days from `from` to `to`, rounded down (negative when `to` is earlier): on the renewal
/// day itself 0, the day before 1.
pub fn days_between(from: i64, to: i64) -> i64 {
    (to - from).div_euclid(DAY)
}

/// Calendar days (UTC) from `from`'s day to `to`'s day: what "renewal in 22 days" means to a
/// reader, and the same all day long (an hourly sweep does not see it tick at the renewal's
/// own hour).
pub fn calendar_days_between(from: i64, to: i64) -> i64 {
    (date(to) - date(from)).num_days()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_at_the_edges() {
        assert_eq!(rfc3339(1_794_225_600), "2026-11-09T12:00:00Z");
        assert_eq!(serde_json::to_value(at(1_794_225_600)).unwrap(), "2026-11-09T12:00:00Z");
        assert_eq!(parse("2026-11-09T12:00:00Z"), Some(1_794_225_600));
        assert_eq!(parse("2026-11-09T13:00:00+01:00"), Some(1_794_225_600));
        assert_eq!(parse("2013-12-12T05:35Z"), Some(1_386_826_500));
        assert_eq!(parse("2013-12-12T06:35+01:00"), Some(1_386_826_500));
        assert_eq!(parse("2013-12-12T05:35"), None, "a time without an offset is ambiguous");
        assert_eq!(parse("12/12/2013"), None);
        assert_eq!(parse(""), None);
        assert_eq!(parse("2013-12-12T05:3é5Z"), None, "never a panic on a char boundary");
        assert_eq!(day_key(1_794_225_600), "2026-11-09");
        assert_eq!(month_key(1_794_225_600), "2026-11");
        let day = parse_day("2026-11-09").unwrap();
        assert_eq!(day_start(day), 1_794_225_600 - 12 * 3600);
        assert_eq!(date(1_794_225_600), day);
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!((days_between(0, DAY - 1), days_between(0, DAY), days_between(0, -1)), (0, 1, -1));
    }
}
