//! What an account item keeps, and for how long.
//!
//! Facts accumulate on the account item as events arrive (a ticket, a rating, a paid invoice,
//! a survey answer), and DynamoDB bills every write of the item by its whole size, in 1 KB
//! units: after a year of a busy account's tickets each event cost 28.5 write units (`cargo
//! bench --bench account_growth`; 5 with this module), and an item cannot pass 400 KB. The record reads these facts only inside windows (tickets and CSAT
//! of 30 days, NPS of 90 days, open invoices), so a fact past every window that reads it is
//! dropped — by the health sweep, on the write it makes anyway (see
//! [`crate::app::health_sweep`]). Data minimisation asks the same (domain notes, Privacy: raw
//! data goes once no window needs it).
//!
//! The rule: dropping facts never changes the record the account reads as
//! ([`super::account::AccountRecord`], at the same time or later). That is why the newest
//! ticket, survey answer, paid and failed invoice are kept whatever their age: they name the
//! account's last contact with a source ("connected"), its last NPS, when it last paid and when a
//! payment last failed. Facts the record counts over the account's whole life are kept:
//! subscriptions, MRR points (the KPI ledger), refunds, disputes, charge failures (rare). The
//! marks of emails sent go once no frequency cap can count them.

use super::account::attr;
use super::billing::{InvoiceMark, InvoiceSettlement, PaymentFailure};
use super::change::AccountChange;
use super::playbook::{self, LONGEST_CAP_DAYS};
use super::support::{RatingMark, TicketState, SUPPORT_WINDOW_DAYS};
use super::survey::{SurveyResponse, NPS_WINDOW_DAYS};
use super::time::DAY;
use super::version::EventVersion;
use serde_json::Value;
use std::collections::BTreeMap;

/// At most this many facts are dropped by one write: DynamoDB refuses an update expression over
/// 4 KB, and each `REMOVE`d name takes about seven bytes of it (about 550 failed on DynamoDB
/// Local). An account with more (its first sweep after this rule shipped) sheds them over
/// several sweeps.
pub const MAX_DROPPED_PER_WRITE: usize = 200;

/// A settled invoice's facts (paid or written off, with its failed attempts) are kept this
/// long after the last of them.
pub const SETTLED_INVOICE_DAYS: i64 = 90;

/// The facts of `attributes` that no window reads any more at `now`, and that no later time
/// can read again (every window ends at its `now`).
pub fn expired_facts(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    let mut expired = Vec::new();
    expired.extend(closed_tickets(attributes, now));
    expired.extend(old_ratings(attributes, now));
    expired.extend(old_survey_answers(attributes, now));
    expired.extend(settled_invoices(attributes, now));
    expired.extend(old_email_marks(attributes, now));
    expired
}

fn with_prefix<'a>(
    attributes: &'a BTreeMap<String, Value>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a str, &'a String, &'a Value)> + 'a {
    attributes
        .range(prefix.to_owned()..)
        .take_while(move |(name, _)| name.starts_with(prefix))
        .map(move |(name, value)| (&name[prefix.len()..], name, value))
}

/// A fact as the record reads it (`AccountRecord::build`): one it cannot read is never dropped,
/// nor taken as the newest of its kind.
/// Read in place (a `&Value` is a deserializer): the sweep runs this for every account every
/// hour, so no fact is copied to be read.
fn read<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(value).ok()
}

/// Tickets that are no longer open and were last updated before the support window (created
/// before it too, so "tickets in 30 days" cannot change). Zendesk closes a solved ticket 28
/// days after it is solved whatever its rules say, and a closed ticket is never reopened: no
/// later update can make such a ticket open again. The most recently updated ticket stays.
fn closed_tickets(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    let since = now - SUPPORT_WINDOW_DAYS * DAY;
    let mut tickets: Vec<(EventVersion, &String, bool)> = with_prefix(attributes, attr::TICKET)
        .filter_map(|(_, name, value)| {
            let version = EventVersion::parse(AccountChange::stored_version(value)?)?;
            let state: TicketState = read(value)?;
            let done =
                !state.is_open() && version.created() < since && state.created_at.is_none_or(|created| created < since);
            Some((version, name, done))
        })
        .collect();
    tickets.sort();
    tickets.pop();
    tickets.into_iter().filter(|(_, _, done)| *done).map(|(_, name, _)| name.clone()).collect()
}

/// Ratings given before the CSAT window: a ticket's latest rating counts only inside it, and an
/// older one can never be the latest again.
fn old_ratings(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    let since = now - SUPPORT_WINDOW_DAYS * DAY;
    with_prefix(attributes, attr::RATING)
        .filter(|(_, _, value)| read::<RatingMark>(value).is_some_and(|mark| mark.at < since))
        .map(|(_, name, _)| name.clone())
        .collect()
}

/// The facts of the holder of survey answers that named no account (`unlinked:surveys`) that
/// no window reads: every answer older than the NPS window, the newest too (the holder is no
/// account, so nothing reads its last NPS, and a respondent's comment is not kept for ever).
pub fn expired_unlinked_answers(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    survey_answers(attributes)
        .filter(|(at, _)| now - at >= NPS_WINDOW_DAYS * DAY)
        .map(|(_, name)| name.clone())
        .collect()
}

/// Each survey answer the record can read: when it was given, and its fact's name.
fn survey_answers(attributes: &BTreeMap<String, Value>) -> impl Iterator<Item = (i64, &String)> {
    with_prefix(attributes, attr::SURVEY_RESPONSE)
        .filter_map(|(_, name, value)| Some((read::<SurveyResponse>(value)?.at, name)))
}

/// Survey answers older than the NPS window, but the newest (the account's last NPS).
fn old_survey_answers(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    let mut answers: Vec<(i64, &String)> = survey_answers(attributes).collect();
    answers.sort();
    // The record names the newest answer not in the future as the last one.
    if let Some(newest) = answers.iter().rposition(|(at, _)| *at <= now + DAY) {
        answers.remove(newest);
    }
    answers.into_iter().filter(|(at, _)| now - at >= NPS_WINDOW_DAYS * DAY).map(|(_, name)| name.clone()).collect()
}

/// The facts of invoices that were paid, voided or written off, once the last of them is
/// [`SETTLED_INVOICE_DAYS`] old: only open invoices are owed. The invoice paid last and the one
/// whose payment failed last stay (the record's last payment and last failure).
fn settled_invoices(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    #[derive(Default)]
    struct Invoice<'a> {
        facts: Vec<&'a String>,
        settled: bool,
        last_at: i64,
        paid_at: Option<i64>,
        failed_at: Option<i64>,
    }
    let mut invoices: BTreeMap<&str, Invoice> = BTreeMap::new();
    let families = [attr::INVOICE_PAID, attr::INVOICE_SETTLED, attr::PAYMENT_ACTION_REQUIRED, attr::PAYMENT_FAILED];
    for prefix in families {
        for (key, name, value) in with_prefix(attributes, prefix) {
            let id = if prefix == attr::PAYMENT_FAILED { key.rsplit_once('#').map_or(key, |(id, _)| id) } else { key };
            let invoice = invoices.entry(id).or_default();
            let at = match prefix {
                p if p == attr::INVOICE_SETTLED => read::<InvoiceSettlement>(value).map(|s| s.at),
                p if p == attr::PAYMENT_FAILED => read::<PaymentFailure>(value).map(|f| f.at),
                _ => read::<InvoiceMark>(value).map(|m| m.at),
            };
            let Some(at) = at else {
                // A fact that does not read is never dropped, nor its invoice's others.
                invoice.last_at = i64::MAX;
                continue;
            };
            invoice.facts.push(name);
            invoice.last_at = invoice.last_at.max(at);
            match prefix {
                p if p == attr::INVOICE_PAID => {
                    invoice.settled = true;
                    invoice.paid_at = Some(at);
                }
                p if p == attr::INVOICE_SETTLED => invoice.settled = true,
                p if p == attr::PAYMENT_FAILED => invoice.failed_at = invoice.failed_at.max(Some(at)),
                _ => {}
            }
        }
    }
    let newest = |of: fn(&Invoice) -> Option<i64>| {
        invoices.iter().filter_map(|(id, i)| Some((of(i)?, *id))).max().map(|(_, id)| id)
    };
    let (last_paid, last_failed) = (newest(|i| i.paid_at), newest(|i| i.failed_at));
    let oldest_kept = now - SETTLED_INVOICE_DAYS * DAY;
    invoices
        .iter()
        .filter(|(id, i)| i.settled && i.last_at < oldest_kept && Some(**id) != last_paid && Some(**id) != last_failed)
        .flat_map(|(_, i)| i.facts.iter().map(|name| (*name).clone()))
        .collect()
}

/// The marks of emails sent longer ago than any frequency cap may count (`em#<contact>#<unix>`).
fn old_email_marks(attributes: &BTreeMap<String, Value>, now: i64) -> Vec<String> {
    with_prefix(attributes, playbook::attr::EMAILED)
        .filter(|(key, _, _)| {
            let sent = key.rsplit_once('#').and_then(|(_, at)| at.parse::<i64>().ok());
            sent.is_some_and(|at| now - at > LONGEST_CAP_DAYS * DAY)
        })
        .map(|(_, name, _)| name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::account::{AccountRecord, StoredAccount};
    use serde_json::json;

    const NOW: i64 = 1_795_176_000;

    fn version(at: i64, id: &str) -> String {
        EventVersion::new(at, id).as_str().to_owned()
    }

    fn ticket(status: &str, created_days_ago: i64, updated_days_ago: i64) -> Value {
        json!({"status": status, "priority": "normal", "created_at": NOW - created_days_ago * DAY,
               "v": version(NOW - updated_days_ago * DAY, "zd")})
    }

    fn attributes(facts: &[(&str, Value)]) -> BTreeMap<String, Value> {
        facts.iter().map(|(name, value)| (name.to_string(), value.clone())).collect()
    }

    #[test]
    fn tickets_go_once_closed_before_the_window_but_the_latest_stays() {
        let a = attributes(&[
            ("tk#1", ticket("closed", 60, 40)),
            ("tk#2", ticket("solved", 50, 31)),
            ("tk#3", ticket("open", 90, 80)),
            ("tk#4", ticket("solved", 29, 29)),
            ("tk#5", ticket("closed", 20, 35)), // created inside the window (by a clock skew)
            ("tk#6", json!({"status": "closed"})), // no version: not read, kept
        ]);
        assert_eq!(expired_facts(&a, NOW), ["tk#1", "tk#2"]);
        let only_old = attributes(&[("tk#1", ticket("closed", 60, 40)), ("tk#2", ticket("closed", 70, 50))]);
        assert_eq!(expired_facts(&only_old, NOW), ["tk#2"], "the last updated ticket stays: Zendesk knows the account");
    }

    #[test]
    fn ratings_go_after_the_csat_window_and_answers_after_the_nps_window_but_the_last() {
        let rating = |days: i64| json!({"rating": "good", "at": NOW - days * DAY});
        let answer = |days: i64| json!({"at": NOW - days * DAY, "score": 9, "via": "typeform"});
        let a = attributes(&[
            ("cs#1#a", rating(31)),
            ("cs#1#b", rating(29)),
            ("sv#tf-a", answer(200)),
            ("sv#tf-b", answer(95)),
            ("sv#tf-c", answer(30)),
        ]);
        assert_eq!(expired_facts(&a, NOW), ["cs#1#a", "sv#tf-a", "sv#tf-b"]);
        let old = attributes(&[("sv#tf-a", answer(200)), ("sv#tf-b", answer(95))]);
        assert_eq!(expired_facts(&old, NOW), ["sv#tf-a"], "the last answer is the account's last NPS");
    }

    /// A fact the record cannot read (a newer version's shape) is never dropped, and never
    /// counts as the newest of its kind.
    #[test]
    fn what_the_record_cannot_read_stays() {
        let a = attributes(&[
            ("sv#tf-a", json!({"at": NOW - 100 * DAY, "score": 9, "via": "typeform"})),
            ("sv#tf-b", json!({"at": NOW - 95 * DAY, "score": 9})),
            ("is#in_x", json!({"at": NOW - 200 * DAY, "how": "refunded_somehow"})),
            ("pf#in_x#1", json!({"at": NOW - 201 * DAY, "amount": 5})),
            ("cs#1#a", json!({"rating": "meh", "at": NOW - 40 * DAY})),
        ]);
        assert!(expired_facts(&a, NOW).is_empty(), "{:?}", expired_facts(&a, NOW));
    }

    #[test]
    fn email_marks_go_when_no_cap_can_count_them() {
        let sent = |days: i64| (format!("em#c1#{}", NOW - days * DAY), json!(1));
        let a: BTreeMap<String, Value> = [sent(366), sent(365), sent(2)].into_iter().collect();
        assert_eq!(expired_facts(&a, NOW), [format!("em#c1#{}", NOW - 366 * DAY)]);
        let cap = playbook::Cap { max: 1, days: LONGEST_CAP_DAYS };
        assert!(cap.allows([NOW - 366 * DAY].into_iter(), NOW), "the longest cap no longer counts the one dropped");
        assert!(!cap.allows([NOW - 364 * DAY].into_iter(), NOW));
    }

    #[test]
    fn settled_invoices_go_with_their_failures_and_open_ones_stay() {
        let mark = |days: i64| json!({"at": NOW - days * DAY, "amount": 100});
        let a = attributes(&[
            ("pf#in_old#1", mark(130)),
            ("pp#in_old", mark(120)),
            ("is#in_void", json!({"at": NOW - 200 * DAY, "how": "voided"})),
            ("pf#in_open#1", mark(300)),
            ("pa#in_open", mark(300)),
            ("pp#in_recent", mark(60)),
            ("pf#in_failed_last#1", mark(100)),
            ("pp#in_failed_last", mark(95)),
            ("pp#in_last", mark(10)),
        ]);
        let mut expired = expired_facts(&a, NOW);
        expired.sort();
        assert_eq!(expired, ["is#in_void", "pf#in_old#1", "pp#in_old"]);
    }

    /// A synthetic account: tickets (some created after their last update, as a skewed clock
    /// would have it), ratings, invoices open, voided and paid, survey answers, from
    /// `newest_day` days before `NOW` back to 400 days.
    fn history(newest_day: i64) -> BTreeMap<String, Value> {
        let mut facts = BTreeMap::new();
        for day in newest_day..400_i64 {
            let t = NOW - day * DAY;
            if day % 3 == 0 || day == 29 || day == 31 {
                let status = ["closed", "solved", "open", "pending"][(day % 4) as usize];
                let created = if day % 7 == 0 { NOW - 5 * DAY } else { t - (day % 9) * DAY };
                facts.insert(
                    format!("tk#{day}"),
                    json!({"status": status, "priority": if day % 5 == 0 { "urgent" } else { "normal" },
                           "created_at": created, "v": version(t, "zd")}),
                );
                facts.insert(
                    format!("cs#{day}#{t}"),
                    json!({"rating": if day % 2 == 0 { "good" } else { "bad" }, "at": t}),
                );
            }
            if day % 30 == 0 {
                let inv = format!("in_{day}");
                match (day / 30) % 4 {
                    0 => drop(facts.insert(format!("pf#{inv}#1"), json!({"at": t - DAY, "amount": 500}))),
                    1 => {
                        // Failed after the paid invoices around it, then voided.
                        facts.insert(format!("pf#{inv}#1"), json!({"at": t + 20 * DAY, "amount": 500}));
                        facts.insert(format!("is#{inv}"), json!({"at": t + 21 * DAY, "how": "voided"}));
                    }
                    _ => drop(facts.insert(format!("pp#{inv}"), json!({"at": t, "amount": 500}))),
                }
            }
            if day % 45 == 0 || day % 45 == 44 {
                facts.insert(format!("sv#tf-{day}"), json!({"at": t, "score": (day % 11), "via": "typeform"}));
            }
        }
        facts
    }

    /// The rule of the module: at any later time, the record reads the same with the expired
    /// facts as without them — for accounts whose newest facts are recent and for accounts
    /// silent for months.
    #[test]
    fn dropping_them_never_changes_the_record() {
        let record = |attributes: &BTreeMap<String, Value>, at: i64| {
            let stored = StoredAccount { account_id: "a".into(), attributes: attributes.clone(), ..Default::default() };
            serde_json::to_value(AccountRecord::from_stored(&stored, at)).unwrap()
        };
        for newest_day in (0..=240).step_by(10) {
            let facts = history(newest_day);
            let expired = expired_facts(&facts, NOW);
            assert!(expired.len() > 50, "a year of facts has much to drop: {}", expired.len());
            let mut kept = facts.clone();
            for name in &expired {
                kept.remove(name);
            }
            for later in [0, 1, 7, 30, 200] {
                let at = NOW + later * DAY;
                assert_eq!(record(&kept, at), record(&facts, at), "newest {newest_day} days old, {later} days later");
            }
            assert!(expired_facts(&kept, NOW).is_empty(), "a second pass drops nothing");
        }
    }
}
