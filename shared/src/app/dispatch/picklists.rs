//! `[delivery.salesforce]` in `foresight.toml`: the values of the Task's `Priority` and `Status`
//! picklists. They vary per org (an admin can rename `Normal` to `Medium`, or `Not Started` to
//! `Open`), and a value the org does not have fails every task with `INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`.

use serde::{Deserialize, Serialize};

/// A picklist value's API name holds at most 255 characters.
pub const MAX_PICKLIST_VALUE: usize = 255;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesforcePicklists {
    /// `Priority` of a high-, medium- and low-priority task.
    pub priority_high: String,
    pub priority_medium: String,
    pub priority_low: String,
    /// `Status` of a new task.
    pub status: String,
}

impl Default for SalesforcePicklists {
    /// The values of a new org.
    fn default() -> Self {
        SalesforcePicklists {
            priority_high: "High".into(),
            priority_medium: "Normal".into(),
            priority_low: "Low".into(),
            status: "Not Started".into(),
        }
    }
}

impl SalesforcePicklists {
    /// The first value that cannot be a picklist value: `(field, problem)`.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        let fields = [
            ("priority_high", &self.priority_high),
            ("priority_medium", &self.priority_medium),
            ("priority_low", &self.priority_low),
            ("status", &self.status),
        ];
        fields.into_iter().find_map(|(name, value)| {
            let n = value.chars().count();
            if value.trim().is_empty() {
                Some((name, "is empty".to_owned()))
            } else if n > MAX_PICKLIST_VALUE {
                Some((name, format!("has {n} characters, more than the {MAX_PICKLIST_VALUE} a picklist value may")))
            } else if value.trim() != value.as_str() {
                Some((name, format!("{value:?} has spaces at an end, which no picklist value has")))
            } else {
                None
            }
        })
    }
}
