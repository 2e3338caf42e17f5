//! Playbooks: the touch model acted out (`../shared/domain.md`, "Touch model in practice"). A
//! playbook is a trigger, an audience and actions; this module holds their pure rules: when a
//! trigger is due for an account (its episode, so each fires once), who a role reaches, what the
//! safeguards allow (quiet hours in the account's time zone, the frequency cap, consent).
//!
//! What the account record keeps for playbooks (attribute names, [`attr`]):
//! - `ct#<contact key>`: a contact — address, role, locale, where it came from. Kept only for
//!   roles a playbook emails (data minimisation); the key is a hash of the address.
//! - `un#<contact key>`: unsubscribed at (Unix seconds). A separate fact, so no later `identify`
//!   can resubscribe the contact: honoured for good.
//! - `em#<contact key>#<unix>`: an email sent (or being sent) then: what the cap counts.
//! - `tz`: the account's IANA time zone (group trait `timezone`).

use super::account::{AccountRecord, StoredAccount};
use super::alert::{self, AlertKind};
pub use super::contact::{
    billing_contact, contact_fact, contacts, plausible_email, unsubscribed_at, Contact, ContactSource, ContactView,
    ContactsSummary, Role,
};
use super::health::Band;
use super::lifecycle::{self, Lifecycle};
use super::tier::Segment;
use super::time::{self, DAY};
use chrono::{NaiveTime, TimeZone, Timelike};
use serde::Serialize;
use std::collections::BTreeMap;

/// Attribute names of what playbooks keep on the account record.
pub mod attr {
    pub use crate::domain::contact::attr::{CONTACT, UNSUBSCRIBED};
    pub const EMAILED: &str = "em#";
    pub const TIME_ZONE: &str = "tz";
}

/// How long an alert or a time-based trigger stays actionable after its time: a playbook added
/// today does not greet customers who started a year ago, and an alert raised last month does
/// not start emailing now.
pub const CATCH_UP_DAYS: i64 = 7;

/// What starts a playbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// An alert of this kind was raised for the account.
    Alert(AlertKind),
    /// The account is in this lifecycle stage (once per subscription start).
    Lifecycle(Lifecycle),
    /// The renewal date is within this many days (once per renewal date).
    RenewalWindow(i64),
    /// This many days have passed since the subscription started (onboarding day 1, 3, 7).
    DaysSinceStart(i64),
}

/// Which accounts a playbook is for; an empty list means any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Audience {
    pub tiers: Vec<Segment>,
    pub lifecycle: Vec<Lifecycle>,
    pub bands: Vec<Band>,
}

/// Who an email goes to: one role, or every contact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipients {
    Role(Role),
    All,
}

impl Recipients {
    pub fn includes(self, role: Role) -> bool {
        matches!(self, Recipients::All) || self == Recipients::Role(role)
    }
}

/// One thing a playbook does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// An email from a template to the account's contacts of a role.
    Email { to: Recipients, template: String },
    /// A signed POST to the product (an in-app message).
    Webhook { url: String },
    /// The alert's Slack note (alert triggers only: delivered by the dispatcher).
    Slack,
    /// The alert's CRM task (alert triggers only: created by the dispatcher).
    CrmTask,
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Email { .. } => "email",
            Action::Webhook { .. } => "webhook",
            Action::Slack => "slack",
            Action::CrmTask => "crm_task",
        }
    }
}

/// A validated playbook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Playbook {
    pub name: String,
    pub trigger: Trigger,
    pub audience: Audience,
    pub actions: Vec<Action>,
    /// Records what would be sent, sends nothing.
    pub dry_run: bool,
}

impl Playbook {
    /// Whether the account is in the audience.
    pub fn applies_to(&self, record: &AccountRecord) -> bool {
        let a = &self.audience;
        (a.tiers.is_empty() || a.tiers.contains(&record.segment))
            && (a.lifecycle.is_empty() || a.lifecycle.contains(&record.lifecycle))
            && (a.bands.is_empty() || band_of(record).is_some_and(|b| a.bands.contains(&b)))
    }

    /// The trigger's episode due at `now` for this account, if any: a name that is the same
    /// for as long as the condition is the same one (so each episode acts once), and when it
    /// became due.
    pub fn due_episode(&self, stored: &StoredAccount, record: &AccountRecord, now: i64) -> Option<Episode> {
        let fresh = |at: i64| at <= now && now - at <= CATCH_UP_DAYS * DAY;
        let start = lifecycle::started_at(&record.billing);
        match &self.trigger {
            Trigger::Alert(kind) => {
                let prefix = format!("{}/", kind.as_str());
                alert::raised_alerts(&stored.attributes)
                    .into_iter()
                    .filter(|(key, at)| key.starts_with(&prefix) && fresh(*at))
                    .max_by_key(|(_, at)| *at)
                    .map(|(key, at)| Episode { key, due_at: at })
            }
            Trigger::Lifecycle(stage) => (record.lifecycle == *stage).then(|| Episode {
                key: format!("lifecycle/{stage}/{}", start.map_or("-".into(), time::day_key)),
                due_at: now,
            }),
            Trigger::RenewalWindow(days) => {
                let renewal = record.billing.renewal_at?.timestamp();
                let opens = renewal - days * DAY;
                (now >= opens && now < renewal)
                    .then(|| Episode { key: format!("renewal/{}/{days}", time::day_key(renewal)), due_at: opens })
            }
            Trigger::DaysSinceStart(days) => {
                let start = start?;
                let at = start + days * DAY;
                fresh(at).then(|| Episode { key: format!("start/{}/day{days}", time::day_key(start)), due_at: at })
            }
        }
    }
}

/// One occurrence of a trigger for one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Episode {
    pub key: String,
    pub due_at: i64,
}

/// The record's health band, once scored.
pub fn band_of(record: &AccountRecord) -> Option<Band> {
    record.health.as_ref()?.get("band")?.as_str()?.parse().ok()
}

/// Times of the emails sent to each contact (`em#` facts).
pub fn emails_sent(stored: &StoredAccount) -> Vec<(String, i64)> {
    stored
        .attributes
        .keys()
        .filter_map(|name| {
            let (key, at) = name.strip_prefix(attr::EMAILED)?.split_once('#')?;
            Some((key.to_owned(), at.parse().ok()?))
        })
        .collect()
}

/// The longest window a frequency cap may count (the settings refuse more): what the sent
/// emails' marks are kept for.
pub const LONGEST_CAP_DAYS: i64 = 365;

/// At most `max` emails in `days` days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Cap {
    pub max: u32,
    pub days: i64,
}

impl Cap {
    /// Whether one more email at `now` stays within the cap, given the times already sent.
    pub fn allows(&self, sent: impl Iterator<Item = i64>, now: i64) -> bool {
        let since = now - self.days * DAY;
        (sent.filter(|t| *t > since && *t <= now).count() as u32) < self.max
    }
}

/// The frequency caps: per contact and per account (each optional).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Caps {
    pub per_contact: Option<Cap>,
    pub per_account: Option<Cap>,
}

impl Caps {
    /// Whether an email to `contact_key` at `now` stays within both caps.
    pub fn allow(&self, stored: &StoredAccount, contact_key: &str, now: i64) -> bool {
        let sent = emails_sent(stored);
        let contact_ok = self
            .per_contact
            .is_none_or(|cap| cap.allows(sent.iter().filter(|(k, _)| k == contact_key).map(|(_, t)| *t), now));
        let account_ok = self.per_account.is_none_or(|cap| cap.allows(sent.iter().map(|(_, t)| *t), now));
        contact_ok && account_ok
    }
}

/// Hours when no email is sent, in the account's local time: `start` to `end`, across midnight
/// when `end` is earlier than `start` (20:00–08:00).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl QuietHours {
    /// Whether `now` falls in the quiet hours of time zone `tz`.
    pub fn is_quiet(&self, tz: chrono_tz::Tz, now: i64) -> bool {
        let Some(local) = tz.timestamp_opt(now, 0).single() else { return false };
        let t = NaiveTime::from_hms_opt(local.hour(), local.minute(), local.second()).unwrap_or_default();
        if self.start <= self.end {
            t >= self.start && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }
}

/// The account's time zone: `tz` on the record when it names an IANA zone, else UTC.
pub fn time_zone(stored: &StoredAccount) -> chrono_tz::Tz {
    stored
        .attributes
        .get(attr::TIME_ZONE)
        .and_then(|v| v.as_str())
        .and_then(|s| s.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// The locale of a contact: its own (`ja-JP` → `ja`) when templates exist for it, else `default`.
pub fn locale_for<'a>(contact: &Contact, available: &[&'a str], default: &'a str) -> &'a str {
    let own = contact.locale.as_deref().map(|l| l.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase());
    own.and_then(|l| available.iter().copied().find(|a| *a == l)).unwrap_or(default)
}

/// The contacts of each role among the contacts (who an email action reaches).
pub fn recipients(contacts: &[ContactView], to: Recipients) -> Vec<&ContactView> {
    let mut by_key: BTreeMap<&str, &ContactView> = BTreeMap::new();
    for c in contacts.iter().filter(|c| to.includes(c.contact.role)) {
        by_key.entry(c.key.as_str()).or_insert(c);
    }
    by_key.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        time::parse(s).unwrap()
    }

    #[test]
    fn quiet_hours_cross_midnight_in_the_account_zone() {
        let q = QuietHours {
            start: NaiveTime::from_hms_opt(20, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        let tokyo: chrono_tz::Tz = "Asia/Tokyo".parse().unwrap();
        // 12:00 UTC is 21:00 in Tokyo: quiet there, not in UTC.
        assert!(q.is_quiet(tokyo, at("2026-11-02T12:00:00Z")));
        assert!(!q.is_quiet(chrono_tz::UTC, at("2026-11-02T12:00:00Z")));
        assert!(q.is_quiet(chrono_tz::UTC, at("2026-11-02T07:59:59Z")));
        assert!(!q.is_quiet(chrono_tz::UTC, at("2026-11-02T08:00:00Z")));
        assert!(q.is_quiet(chrono_tz::UTC, at("2026-11-02T20:00:00Z")));
    }

    #[test]
    fn the_cap_counts_the_window_only() {
        let cap = Cap { max: 1, days: 3 };
        let now = at("2026-11-10T10:00:00Z");
        assert!(!cap.allows([now - 2 * DAY].into_iter(), now));
        assert!(cap.allows([now - 3 * DAY].into_iter(), now));
        assert!(cap.allows(std::iter::empty(), now));
    }

    #[test]
    fn roles_and_addresses() {
        assert_eq!(Role::of_trait(" Admin "), Role::Admin);
        assert_eq!(Role::of_trait("owner"), Role::Member);
        assert!(plausible_email("ana@acme.example"));
        assert!(!plausible_email("ana@acme"));
        assert!(!plausible_email("a b@acme.example"));
        assert!(!plausible_email("x@y.z\r\nBcc: e@v.il"));
        assert_eq!(Contact::key_of("Ana@Acme.example"), Contact::key_of("ana@acme.example"));
        let c = Contact {
            email: "a@b.c".into(),
            role: Role::Admin,
            locale: Some("ja-JP".into()),
            source: ContactSource::Analytics,
        };
        assert_eq!(locale_for(&c, &["en", "ja"], "en"), "ja");
        assert_eq!(locale_for(&Contact { locale: Some("fr".into()), ..c.clone() }, &["en", "ja"], "en"), "en");
    }
}
