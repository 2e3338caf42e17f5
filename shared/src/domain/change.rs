use super::version::EventVersion;
use serde_json::{Map, Value};

/// Name of the version field inside every guarded group.
pub const VERSION_FIELD: &str = "v";

/// What one source event does to one account record, as plain data. A store applies it in a
/// single atomic write, so ingest never reads the record first and two concurrent events for
/// the same account cannot lose each other's update.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountChange {
    pub account_id: String,
    /// A field group replaced as a whole, only if this event is newer than the one that last set
    /// it. A redelivery (same version) or a late older event leaves it untouched.
    pub guarded: Option<GuardedGroup>,
    /// Facts: attributes whose name identifies the fact and whose value is fixed by the event, so
    /// writing one again is harmless and arrival order cannot matter (a payment attempt, a
    /// dispute, an MRR point). They are recorded even when the guarded group is stale.
    pub facts: Vec<(String, Value)>,
    /// Facts that no longer matter (a history point past its window, the mark of an alert whose
    /// condition cleared and whose cool-down ended), removed in the same write so the account
    /// item stays small. Only a write that applies removes them; removing twice is harmless.
    pub expired: Vec<String>,
}

/// A field group and the version of the event that produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct GuardedGroup {
    pub attribute: String,
    pub version: EventVersion,
    /// The group's fields; always carries [`VERSION_FIELD`].
    pub value: Value,
}

impl GuardedGroup {
    /// Builds a group from a serialisable state, stamping it with the version.
    pub fn new(attribute: impl Into<String>, version: EventVersion, state: Value) -> Self {
        let mut fields = match state {
            Value::Object(map) => map,
            other => {
                let mut map = Map::new();
                map.insert("value".into(), other);
                map
            }
        };
        fields.insert(VERSION_FIELD.into(), Value::String(version.as_str().to_owned()));
        GuardedGroup { attribute: attribute.into(), version, value: Value::Object(fields) }
    }
}

impl AccountChange {
    pub fn new(account_id: impl Into<String>) -> Self {
        AccountChange { account_id: account_id.into(), guarded: None, facts: Vec::new(), expired: Vec::new() }
    }

    pub fn with_guarded(mut self, group: GuardedGroup) -> Self {
        self.guarded = Some(group);
        self
    }

    pub fn with_fact(mut self, attribute: impl Into<String>, value: Value) -> Self {
        self.facts.push((attribute.into(), value));
        self
    }

    pub fn with_expired(mut self, attribute: impl Into<String>) -> Self {
        self.expired.push(attribute.into());
        self
    }

    /// The version stored in a guarded group's value, if any.
    pub fn stored_version(group_value: &Value) -> Option<&str> {
        group_value.get(VERSION_FIELD).and_then(Value::as_str)
    }
}
