//! The people of an account whom playbooks email: address, role (`admin`, `billing`,
//! `champion`, else member), locale, source, and consent. Stored as `ct#<key>` facts on the
//! account (the key a hash of the address) and `un#<key>` once unsubscribed — for good: no later
//! `identify` can remove that fact. Kept only for roles a playbook emails (data minimisation).

use super::time;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Attribute prefixes of contacts and their consent.
pub mod attr {
    pub const CONTACT: &str = "ct#";
    pub const UNSUBSCRIBED: &str = "un#";
}

/// A contact's role: a `role` trait of `admin`, `billing` or `champion`; anything else is a member.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Role {
    Admin,
    Billing,
    Champion,
    Member,
}

impl Role {
    /// The role of a trait value; unknown values are members.
    pub fn of_trait(value: &str) -> Role {
        value.trim().to_ascii_lowercase().parse().unwrap_or(Role::Member)
    }
}

/// Where a contact came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactSource {
    /// A Segment `identify` call (traits `email`, `role`), joined through `group`.
    Analytics,
    /// The Stripe customer's `email` (role billing).
    Stripe,
}

/// One person of an account, as stored in `ct#<key>`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub email: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    pub source: ContactSource,
}

impl Contact {
    /// The key of an address: 16 hex digits of SHA-256 of the lower-cased address. Stands in for
    /// the address in attribute names, outbox keys and unsubscribe tokens.
    pub fn key_of(email: &str) -> String {
        hex::encode(&Sha256::digest(email.trim().to_ascii_lowercase().as_bytes())[..8])
    }

    pub fn key(&self) -> String {
        Contact::key_of(&self.email)
    }
}

/// Whether an address looks deliverable enough to keep (one `@`, a dot in the domain, no spaces
/// or header-breaking characters).
pub fn plausible_email(email: &str) -> bool {
    let email = email.trim();
    let Some((local, domain)) = email.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && email.len() <= 254
        && !email.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'))
}

/// The `ct#` fact of a contact (attribute name, value), `None` for an implausible address.
pub fn contact_fact(contact: &Contact) -> Option<(String, Value)> {
    if !plausible_email(&contact.email) {
        return None;
    }
    let mut contact = contact.clone();
    contact.email = contact.email.trim().to_owned();
    Some((format!("{}{}", attr::CONTACT, contact.key()), serde_json::to_value(&contact).ok()?))
}

/// The `ct#` fact of a Stripe customer's billing address.
pub fn billing_contact(email: &str) -> Option<(String, Value)> {
    contact_fact(&Contact { email: email.into(), role: Role::Billing, locale: None, source: ContactSource::Stripe })
}

/// A contact with its consent as the record holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContactView {
    pub key: String,
    #[serde(flatten)]
    pub contact: Contact,
    /// `subscribed`, or `unsubscribed` (at `unsubscribed_at`).
    pub consent: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribed_at: Option<String>,
}

/// Every contact of the account, with its consent.
pub fn contacts(attributes: &BTreeMap<String, Value>) -> Vec<ContactView> {
    attributes
        .iter()
        .filter_map(|(name, value)| {
            let key = name.strip_prefix(attr::CONTACT)?;
            let contact: Contact = serde_json::from_value(value.clone()).ok()?;
            let unsubscribed = unsubscribed_at(attributes, key);
            Some(ContactView {
                key: key.to_owned(),
                contact,
                consent: if unsubscribed.is_some() { "unsubscribed" } else { "subscribed" },
                unsubscribed_at: unsubscribed.map(time::rfc3339),
            })
        })
        .collect()
}

/// The contacts as the account record shows them: a count, per role, and how many
/// unsubscribed; the addresses only in the export.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactsSummary {
    pub count: usize,
    pub roles: BTreeMap<Role, usize>,
    pub unsubscribed: usize,
}

impl ContactsSummary {
    pub fn of(attributes: &BTreeMap<String, Value>) -> Self {
        let all = contacts(attributes);
        let mut roles = BTreeMap::new();
        for c in &all {
            *roles.entry(c.contact.role).or_insert(0) += 1;
        }
        ContactsSummary {
            count: all.len(),
            roles,
            unsubscribed: all.iter().filter(|c| c.unsubscribed_at.is_some()).count(),
        }
    }
}

/// When the contact unsubscribed, if it did.
pub fn unsubscribed_at(attributes: &BTreeMap<String, Value>, contact_key: &str) -> Option<i64> {
    attributes.get(&format!("{}{contact_key}", attr::UNSUBSCRIBED)).and_then(|v| v.as_i64())
}
