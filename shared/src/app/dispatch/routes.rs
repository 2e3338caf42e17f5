//! Where notifications go: `[delivery]` in `foresight.toml` (Slack channel by alert kind, then by
//! touch tier, then the default; which alerts also become CRM tasks).

use super::picklists::SalesforcePicklists;
use crate::domain::alert::{Alert, AlertKind};
use crate::domain::tier::Segment;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where notifications go (`[delivery]` in `foresight.toml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryRoutes {
    /// The Slack channel when no rule below names one.
    pub default_channel: String,
    /// Channel per touch tier (`high_touch`, `low_touch`, `tech_touch`).
    pub tier_channels: BTreeMap<Segment, String>,
    /// Channel per alert kind (e.g. `expansion = "#cs-expansion"`); wins over the tier.
    pub kind_channels: BTreeMap<AlertKind, String>,
    /// Alert kinds that also create a CRM task for high- and low-touch accounts.
    pub task_kinds: Vec<AlertKind>,
    /// Days from the alert to the task's due date.
    pub task_due_days: i64,
    /// `[delivery.salesforce]`: the org's Task picklist values.
    pub salesforce: SalesforcePicklists,
}

impl Default for DeliveryRoutes {
    fn default() -> Self {
        DeliveryRoutes {
            default_channel: "#customer-success".into(),
            tier_channels: BTreeMap::new(),
            kind_channels: BTreeMap::new(),
            task_kinds: [
                AlertKind::Renewal,
                AlertKind::PaymentFailed,
                AlertKind::CancelAtPeriodEnd,
                AlertKind::BandDrop,
                AlertKind::OnboardingStalled,
                AlertKind::Expansion,
            ]
            .to_vec(),
            task_due_days: 2,
            salesforce: SalesforcePicklists::default(),
        }
    }
}

impl DeliveryRoutes {
    /// The Slack channel of an alert: by kind, else by tier, else the default.
    pub fn channel(&self, alert: &Alert) -> &str {
        self.kind_channels
            .get(&alert.kind)
            .or_else(|| self.tier_channels.get(&alert.tier))
            .unwrap_or(&self.default_channel)
    }

    /// Whether the alert also becomes a CRM task: high- and low-touch accounts, listed kinds.
    pub fn wants_task(&self, alert: &Alert) -> bool {
        matches!(alert.tier, Segment::HighTouch | Segment::LowTouch) && self.task_kinds.contains(&alert.kind)
    }
}
