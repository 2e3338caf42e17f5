//! Health on the CRM record: what is written to the account's HubSpot company and Salesforce
//! Account (score, band, top reasons), and when — only when one of them changed since the last
//! write that succeeded. Pure rules; the sweep marks, the CRM sync writes.

use super::health::{Band, HealthScore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Attribute names on the account item.
pub mod attr {
    /// What the CRM should show (`{score, band, reasons, fp}`), set by the sweep when it changed.
    pub const HEALTH: &str = "crm_health";
    /// Present (`pending`) while the CRM does not show `crm_health` yet: the sparse index the
    /// sync reads.
    pub const PENDING: &str = "crm_sync";
    pub const PENDING_VALUE: &str = "pending";
    /// The fingerprint of what the CRM shows (written by the sync after a successful write).
    pub const SYNCED: &str = "crm_synced";
}

/// How many reasons the CRM shows, and how long their text may be (HubSpot's single-line and
/// Salesforce's text fields hold 255).
pub const REASONS: usize = 3;
pub const MAX_REASONS_TEXT: usize = 255;

/// The health a CRM record shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmHealth {
    pub score: i64,
    pub band: Band,
    /// The top reasons, `; `-separated, cut to [`MAX_REASONS_TEXT`] characters.
    pub reasons: String,
    /// A fingerprint of the three: what "changed" compares.
    pub fp: String,
}

impl CrmHealth {
    pub fn new(score: i64, band: Band, reasons: &[String]) -> Self {
        let joined = reasons.iter().take(REASONS).map(|r| r.trim()).collect::<Vec<_>>().join("; ");
        let reasons: String = if joined.chars().count() > MAX_REASONS_TEXT {
            joined.chars().take(MAX_REASONS_TEXT - 1).chain(std::iter::once('…')).collect()
        } else {
            joined
        };
        let text = format!("{score}|{}|{reasons}", band.as_str());
        let hash =
            text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
        CrmHealth { score, band, reasons, fp: format!("{hash:016x}") }
    }

    /// From a sweep's score: its score, band and top reasons.
    pub fn of(score: &HealthScore) -> Self {
        CrmHealth::new(score.score, score.band, &super::alert::top_reasons(score, REASONS))
    }
}

/// The facts a sweep adds to its write: the health to show and the pending mark, when the
/// account has a CRM record and the CRM does not show this health yet; nothing otherwise (an
/// unchanged account costs nothing).
pub fn pending_facts(
    attributes: &BTreeMap<String, serde_json::Value>,
    has_crm_record: bool,
    health: &CrmHealth,
) -> Vec<(String, serde_json::Value)> {
    let synced = attributes.get(attr::SYNCED).and_then(|v| v.as_str());
    if !has_crm_record || synced == Some(health.fp.as_str()) {
        return Vec::new();
    }
    vec![
        (attr::HEALTH.to_owned(), serde_json::to_value(health).unwrap_or_default()),
        (attr::PENDING.to_owned(), serde_json::json!(attr::PENDING_VALUE)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_is_pending() {
        let health = CrmHealth::new(42, Band::Yellow, &["usage: no activity in 7 days".into()]);
        let mut attributes = BTreeMap::new();
        assert_eq!(pending_facts(&attributes, true, &health).len(), 2, "never synced");
        assert!(pending_facts(&attributes, false, &health).is_empty(), "no CRM record to write");
        attributes.insert(attr::SYNCED.to_owned(), serde_json::json!(health.fp));
        assert!(pending_facts(&attributes, true, &health).is_empty(), "the CRM shows it already");
        let moved = CrmHealth::new(43, Band::Yellow, &["usage: no activity in 7 days".into()]);
        assert_ne!(moved.fp, health.fp);
        assert_eq!(pending_facts(&attributes, true, &moved).len(), 2);
        let long = CrmHealth::new(1, Band::Red, &["x".repeat(300), "y".into()]);
        assert_eq!(long.reasons.chars().count(), MAX_REASONS_TEXT);
    }
}
