//! Privacy (GDPR art. 15 and 17): which stored items belong to an account, the keyed hashes that
//! stand in for erased ids (tombstones, the audit record), and the data inventory an export
//! carries. Pure: the adapters find and delete the items, the use case in `app::privacy` decides.

use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeMap;

/// The key of the keyed hashes (HMAC-SHA256) that replace erased ids: `FORESIGHT_SIGNING_SECRET`.
/// A plain hash of a customer id or an email address could be reversed by hashing guesses; a
/// keyed one cannot without the key.
#[derive(Clone)]
pub struct ErasureKey(Vec<u8>);

impl std::fmt::Debug for ErasureKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ErasureKey(..)")
    }
}

impl ErasureKey {
    pub fn new(secret: &str) -> Option<Self> {
        (!secret.trim().is_empty()).then(|| ErasureKey(secret.as_bytes().to_vec()))
    }

    /// `hex(HMAC-SHA256(key, "<kind>:<id>"))`: the same id of the same kind always hashes alike,
    /// so a later event for an erased id finds its tombstone.
    pub fn hash(&self, kind: &str, id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(id.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// How erased ids are recognised: the key of their hashes, and whether a standing tombstone
/// blocks a later event (`block`, the default) or lets it start a fresh account (`fresh`).
#[derive(Clone, Debug)]
pub struct ErasureConfig {
    pub key: ErasureKey,
    pub block: bool,
}

/// The tombstone kind of an account id itself (beside the link sources' names).
pub const ACCOUNT_KIND: &str = "account";

/// Whether `text` names `needle` as a whole token: `ACCOUNT#acct_1` and `band_drop:acct_1:w40`
/// name `acct_1`; `acct_10` does not. Ids and addresses are made of letters, digits and
/// `_ - . @ +`; anything else separates them.
pub fn mentions(text: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let part_of_id = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@' | '+');
    let lower_text = text.to_lowercase();
    let lower_needle = needle.to_lowercase();
    let mut from = 0;
    while let Some(found) = lower_text[from..].find(&lower_needle) {
        let start = from + found;
        let end = start + lower_needle.len();
        let before = lower_text[..start].chars().next_back();
        let after = lower_text[end..].chars().next();
        if !before.is_some_and(part_of_id) && !after.is_some_and(part_of_id) {
            return true;
        }
        from = start + lower_needle.chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Whether any string in `value` (map keys included) names one of `needles`.
pub fn value_mentions(value: &Value, needles: &[String]) -> bool {
    match value {
        Value::String(s) => needles.iter().any(|n| mentions(s, n)),
        Value::Array(items) => items.iter().any(|v| value_mentions(v, needles)),
        Value::Object(map) => {
            map.iter().any(|(k, v)| needles.iter().any(|n| mentions(k, n)) || value_mentions(v, needles))
        }
        // Numbers are amounts, counts and times: an id is matched in its string form only.
        _ => false,
    }
}

/// What an erasure leaves behind: when, by whom, what kinds of items and how many — and the
/// account only as a keyed hash.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct ErasureAudit {
    /// `hex(HMAC(key, "account:<id>"))`: lets a DPO confirm "was account X erased?" with the
    /// key, and tells nobody else anything.
    pub subject: String,
    /// RFC 3339.
    pub erased_at: String,
    /// Who asked: `foresight dev`, the CLI user, the IAM principal of the invocation.
    pub actor: String,
    /// Items erased by kind (`account`, `usage`, `link`, `mrr_month`, `notification`, ...).
    pub erased: BTreeMap<String, u64>,
    /// Tombstones kept (keyed hashes of the erased ids).
    pub tombstones: u64,
}

/// One line of the data inventory: a kind of item, what it holds, where it comes from, how long
/// it is kept. The README's table says the same.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct InventoryEntry {
    pub kind: &'static str,
    pub table: &'static str,
    pub what: &'static str,
    pub source: &'static str,
    pub retention: &'static str,
}

/// Every kind of item Foresight keeps about an account.
pub const INVENTORY: [InventoryEntry; 9] = [
    InventoryEntry {
        kind: "account",
        table: "accounts",
        what: "the account record: name, billing state per subscription, ticket and CSAT state, health and its history, link ids, portfolio card",
        source: "Stripe, Zendesk and analytics webhooks; the health sweep",
        retention: "until the account is erased; inside it, the health sweep drops tickets solved, closed or deleted before the 30-day support window, ratings older than it, survey answers older than the 90-day NPS window and the facts of invoices settled over 90 days ago (keeping the newest ticket and answer, and the invoices paid and failed last), and the marks of emails sent over 365 days ago (the longest frequency cap); survey answers that named no account (held as unlinked:surveys, never scored) go after the same 90 days, the newest too",
    },
    InventoryEntry {
        kind: "usage",
        table: "accounts",
        what: "one day of product use: message-id fingerprints (then their count), user ids, features used, first-value and seen times, when usage was last added",
        source: "the usage fold, from usage the analytics webhooks held (Segment spec; written at once with UsageFoldSchedule=off)",
        retention: "TTL (expires_at): the day plus FORESIGHT_USAGE_RETENTION_DAYS (default 35: the longest window is 30 days); a day holding a first-value time is kept; the message-id fingerprints go 6 days after the day ends or after usage was last added to it, whichever is later (usage::FINGERPRINT_DAYS; the health sweep keeps their count)",
    },
    InventoryEntry {
        kind: "mrr_month",
        table: "accounts",
        what: "one month of the account's MRR ledger (start, end, movements)",
        source: "derived from the billing state",
        retention: "until the account is erased (rebuilt from the record)",
    },
    InventoryEntry {
        kind: "link",
        table: "accounts",
        what: "an external id (Stripe customer, Zendesk organization, analytics group or user, CRM record) mapped to the account",
        source: "webhooks carrying the account id; POST /links",
        retention: "until the account is erased; then a tombstone (keyed hash) stays",
    },
    InventoryEntry {
        kind: "notification",
        table: "outbox",
        what: "an alert about the account and each effect's delivery state (Slack ts, CRM task id)",
        source: "the sweeps and real-time signals",
        retention: "TTL (expires_at): FORESIGHT_OUTBOX_RETENTION_DAYS (default 90 days)",
    },
    InventoryEntry {
        kind: "report",
        table: "outbox",
        what: "a weekly portfolio digest naming accounts",
        source: "the weekly digest",
        retention: "TTL (expires_at): as notifications",
    },
    InventoryEntry {
        kind: "tombstone",
        table: "accounts",
        what: "a keyed hash of an erased id: stops a later event from silently re-creating the account",
        source: "erasure",
        retention: "until the id is linked again (POST /links)",
    },
    InventoryEntry {
        kind: "erasure",
        table: "accounts",
        what: "the audit record of an erasure: when, by whom, counts by kind, the account as a keyed hash",
        source: "erasure",
        retention: "kept (it holds no personal data)",
    },
    InventoryEntry {
        kind: "erasure_request",
        table: "accounts",
        what: "an erasure a Stripe customer.deleted asked for, not done yet: the account id and who asked",
        source: "the Stripe webhook (EraseOnStripeCustomerDeleted)",
        retention: "until the privacy function erases the account (within the hour), with it",
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The inventory a DPO reads says how long fingerprints are kept: the rule's own figure.
    #[test]
    fn the_usage_entry_states_the_fingerprint_window() {
        let usage = INVENTORY.iter().find(|e| e.kind == "usage").expect("usage is inventoried");
        let window = format!("fingerprints go {} days after the day ends", crate::domain::usage::FINGERPRINT_DAYS);
        assert!(usage.retention.contains(&window), "{}", usage.retention);
    }

    #[test]
    fn mentions_whole_tokens_only() {
        assert!(mentions("ACCOUNT#acct_1", "acct_1"));
        assert!(mentions("band_drop:acct_1:2026-W40", "acct_1"));
        assert!(mentions("LINK#stripe#cus_ABC", "cus_abc"));
        assert!(!mentions("ACCOUNT#acct_10", "acct_1"));
        assert!(!mentions("xacct_1", "acct_1"));
        assert!(mentions("mail ann@example.com now", "ann@example.com"));
        assert!(!mentions("jo.ann@example.com", "ann@example.com"));
        assert!(!mentions("anything", ""));
    }

    #[test]
    fn value_mentions_looks_into_keys_and_nested_values() {
        let needles = vec!["acct_1".to_owned()];
        assert!(value_mentions(&json!({"alert": {"account_id": "acct_1"}}), &needles));
        assert!(value_mentions(&json!({"sub#acct_1": 1}), &needles));
        assert!(value_mentions(&json!([{"x": ["acct_1"]}]), &needles));
        assert!(!value_mentions(&json!({"account_id": "acct_2", "n": 1}), &needles));
        assert!(!value_mentions(&json!({"mrr": 12345}), &["12345".to_owned()]));
    }

    #[test]
    fn keyed_hash_depends_on_key_kind_and_id() {
        let key = ErasureKey::new("k1").unwrap();
        let other = ErasureKey::new("k2").unwrap();
        assert_eq!(key.hash("stripe", "cus_1"), key.hash("stripe", "cus_1"));
        assert_ne!(key.hash("stripe", "cus_1"), key.hash("zendesk", "cus_1"));
        assert_ne!(key.hash("stripe", "cus_1"), other.hash("stripe", "cus_1"));
        assert_eq!(key.hash("stripe", "cus_1").len(), 64);
        assert!(ErasureKey::new(" ").is_none());
    }
}
