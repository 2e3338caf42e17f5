use serde::{Deserialize, Serialize};
use std::fmt;

/// Orders the events that set a field group: first the source's event time (`created`, Unix
/// seconds), then the event id to break ties. Stored as a zero-padded string so that DynamoDB's
/// byte-wise string comparison in a condition expression gives the same order as Rust's `Ord`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventVersion(String);

impl EventVersion {
    pub fn new(created: i64, event_id: &str) -> Self {
        EventVersion(format!("{:012}#{}", created.clamp(0, 999_999_999_999), event_id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The event time this version was built from.
    pub fn created(&self) -> i64 {
        self.0.split_once('#').and_then(|(t, _)| t.parse().ok()).unwrap_or(0)
    }

    /// The event id this version was built from.
    pub fn event_id(&self) -> &str {
        self.0.split_once('#').map(|(_, id)| id).unwrap_or("")
    }
}

/// Where a value came from: the event that last set it, and that event's time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub event_id: String,
    pub at: super::time::Timestamp,
}

impl From<&EventVersion> for Provenance {
    fn from(v: &EventVersion) -> Self {
        Provenance { event_id: v.event_id().to_owned(), at: super::time::at(v.created()) }
    }
}

impl EventVersion {
    /// Reads back a version stored as text (`<012 digits>#<event id>`).
    pub fn parse(stored: &str) -> Option<Self> {
        let (t, id) = stored.split_once('#')?;
        Some(EventVersion::new(t.parse().ok()?, id))
    }
}

impl fmt::Display for EventVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_id_and_string_order_matches() {
        let a = EventVersion::new(99, "evt_b");
        let b = EventVersion::new(1_000, "evt_a");
        let c = EventVersion::new(1_000, "evt_b");
        assert!(a < b && b < c);
        assert!(a.as_str() < b.as_str() && b.as_str() < c.as_str());
        assert_eq!(b.created(), 1_000);
        assert_eq!(c.event_id(), "evt_b");
    }
}
