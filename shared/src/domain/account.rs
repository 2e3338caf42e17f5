//! The account record: one per customer account, merged from every source.
//!
//! It is stored as a flat set of named attributes (see [`attr`]) so that each event writes only
//! what it owns, in one atomic update, and is read back into [`AccountRecord`], the JSON shape
//! of `GET /accounts/{id}`.

use super::billing::{
    self, BillingView, ChargeFailure, DisputeMark, InvoiceMark, InvoiceSettlement, MrrPoint, PastDue, PaymentFailure,
    RefundMark, SubscriptionState, SubscriptionView, Tally, UpcomingInvoice, UpcomingView,
};
use super::change::{AccountChange, VERSION_FIELD};
use super::connection::{DeploymentSources, Source};
use super::lifecycle::{self, Lifecycle, LifecycleRules};
use super::support::{self, RatingMark, SupportView, TicketState};
use super::survey::{self, SurveyResponse, SurveysView};
use super::tier::Segment;
use super::time::{self, DAY};
use super::usage::{self, FirstValueRule, UsageDay, UsageView};
use super::version::EventVersion;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Attribute names of the stored record. Prefixed names carry a key after the `#`.
pub mod attr {
    /// Guarded group: the billing customer (name, deletion, delinquency).
    pub const CUSTOMER: &str = "customer";
    /// Guarded group per subscription: `sub#<subscription id>`.
    pub const SUBSCRIPTION: &str = "sub#";
    /// Guarded group: the next invoice announced by the billing system.
    pub const UPCOMING: &str = "upcoming";
    /// Fact: `mrr#<subscription id>#<event version>`.
    pub const MRR_POINT: &str = "mrr#";
    /// Fact: `pf#<invoice id>#<attempt>`.
    pub const PAYMENT_FAILED: &str = "pf#";
    /// Fact: `pa#<invoice id>`.
    pub const PAYMENT_ACTION_REQUIRED: &str = "pa#";
    /// Fact: `pp#<invoice id>`.
    pub const INVOICE_PAID: &str = "pp#";
    /// Fact: `is#<invoice id>`, an invoice voided or marked uncollectible (settled unpaid).
    pub const INVOICE_SETTLED: &str = "is#";
    /// Fact: `cf#<charge id>`, a failed charge with its decline reason.
    pub const CHARGE_FAILED: &str = "cf#";
    /// Fact: `rf#<charge id>#<refunded total>`.
    pub const REFUND: &str = "rf#";
    /// Fact: `dp#<dispute id>`.
    pub const DISPUTE: &str = "dp#";
    /// Fact: the Stripe customer this account is billed as.
    pub const STRIPE_CUSTOMER: &str = "link_stripe";
    /// Guarded group per support ticket: `tk#<ticket id>`.
    pub const TICKET: &str = "tk#";
    /// Fact: `cs#<ticket id>#<time>`, a satisfaction rating.
    pub const RATING: &str = "cs#";
    /// Fact: the Zendesk organization of this account.
    pub const ZENDESK_ORGANIZATION: &str = "link_zendesk";
    /// Fact: the analytics group of this account (set by a link made by `POST /links` or written
    /// when a `group` call names it, so an account analytics knows but that never sends an event
    /// is known to be silent).
    pub const ANALYTICS_GROUP: &str = "link_analytics";
    /// Fact: the HubSpot company of this account (CRM tasks attach to it, health is synced to it).
    pub const HUBSPOT_COMPANY: &str = "link_hubspot";
    /// Fact: the Salesforce Account of this account.
    pub const SALESFORCE_ACCOUNT: &str = "link_salesforce";
    /// Fact: `sv#<response id>`, a survey answer (NPS).
    pub const SURVEY_RESPONSE: &str = "sv#";
    /// Guarded group: the latest health score, band and breakdown (written by the sweep).
    pub const HEALTH: &str = "health";
    /// Fact: `hh#<YYYY-MM-DD>`, the day's health score (trend).
    pub const HEALTH_HISTORY: &str = "hh#";
}

/// JSON equality with numbers compared by value: a store may give back `30.0` as `30` (DynamoDB's
/// numbers have no type), which is no change.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_value(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_value(v, w)))
        }
        _ => a == b,
    }
}

/// An account as the stores keep it: its id, its named attributes, and its usage per day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredAccount {
    pub account_id: String,
    pub attributes: BTreeMap<String, Value>,
    pub usage: BTreeMap<NaiveDate, UsageDay>,
    /// What the sweep derives and stores beside the record (the renewal index keys, the
    /// portfolio card): not part of the record, read back so that a sweep can tell whether
    /// anything it would write has changed.
    pub derived: BTreeMap<String, Value>,
}

impl StoredAccount {
    /// Whether applying `change` would change anything here, ignoring the fields of its guarded
    /// group named in `volatile` (a timestamp of when it was computed) and its version: a fact
    /// with a new value, a guarded group with new content, an expired fact still there.
    pub fn would_change(&self, change: &AccountChange, volatile: &[&str]) -> bool {
        let current = |name: &str| self.attributes.get(name).or_else(|| self.derived.get(name));
        let content = |value: &Value| {
            let mut value = value.clone();
            if let Some(fields) = value.as_object_mut() {
                fields.remove(VERSION_FIELD);
                for name in volatile {
                    fields.remove(*name);
                }
            }
            value
        };
        let group_changes = change.guarded.as_ref().is_some_and(|group| {
            current(&group.attribute).is_none_or(|before| !same_value(&content(before), &content(&group.value)))
        });
        group_changes
            || change.facts.iter().any(|(name, value)| current(name).is_none_or(|before| !same_value(before, value)))
            || change.expired.iter().any(|name| current(name).is_some())
    }

    /// Whether a source event's `change` would alter this record as a store applies it: its
    /// guarded group only when newer than the stored group's version, and any fact missing or
    /// different (expired facts go only with a write that applies). An event the record
    /// already reflects alters nothing: a replay (backfill) then writes nothing at all.
    pub fn is_altered_by(&self, change: &AccountChange) -> bool {
        let newer_group = change.guarded.as_ref().is_some_and(|group| {
            let stored = self.attributes.get(&group.attribute).and_then(AccountChange::stored_version);
            stored.is_none_or(|stored| stored < group.version.as_str())
        });
        newer_group
            || change
                .facts
                .iter()
                .any(|(name, value)| self.attributes.get(name).is_none_or(|before| !same_value(before, value)))
    }

    /// The daily scores kept on the account (`hh#<YYYY-MM-DD>` facts), by day.
    pub fn health_history(&self) -> BTreeMap<String, i64> {
        self.attributes
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(attr::HEALTH_HISTORY)?.to_owned(), v.as_i64()?)))
            .collect()
    }

    /// The score `days` before `now`'s day, if one was kept.
    pub fn score_days_before(&self, now: i64, days: i64) -> Option<i64> {
        let key = format!("{}{}", attr::HEALTH_HISTORY, time::day_key(now - days * DAY));
        self.attributes.get(&key).and_then(Value::as_i64)
    }
}

/// The id under which survey responses that name no account are kept rather than refused, for
/// the NPS window (`retention::expired_unlinked_answers`): a record of its own that the sweep
/// does not score.
pub const UNLINKED_SURVEYS: &str = "unlinked:surveys";

/// Whether an account id is a holder of data that names no account (not a customer).
pub fn is_unlinked_holder(account_id: &str) -> bool {
    account_id.starts_with("unlinked:")
}

/// Guarded group `customer`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub deleted: bool,
    #[serde(default)]
    pub delinquent: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stripe_customer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zendesk_organization_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analytics_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hubspot_company_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub salesforce_account_id: Option<String>,
}

/// The account record as users, tests and the sweeps see it (`GET /accounts/{id}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: String,
    pub name: Option<String>,
    pub segment: Segment,
    pub lifecycle: Lifecycle,
    pub links: Links,
    pub billing: BillingView,
    pub support: SupportView,
    pub usage: UsageView,
    pub surveys: SurveysView,
    /// The sources that know this account (`stripe`, `zendesk`, `analytics`, `surveys`): a
    /// connected source with no activity is silence, and scores as such.
    pub connected: BTreeSet<Source>,
    /// What this deployment has connected, when the caller knows it (the sweep does): it tells
    /// "never connected here" from "not for this account", and whether first value is measurable.
    #[serde(skip)]
    pub deployment: Option<DeploymentSources>,
    /// Filled by the health sweep.
    pub health: Option<Value>,
    /// The playbook contacts: how many, their roles, how many unsubscribed (no addresses).
    #[serde(default)]
    pub contacts: super::contact::ContactsSummary,
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Option<T> {
    serde_json::from_value(value.clone()).ok()
}

fn version_of(value: &Value) -> Option<EventVersion> {
    EventVersion::parse(AccountChange::stored_version(value)?)
}

impl AccountRecord {
    /// Builds the record from what a store keeps, with windows ("in 30 days") ending at `now`,
    /// first value by the default rule (no first-value event configured).
    pub fn from_stored(stored: &StoredAccount, now: i64) -> Self {
        Self::build(stored, now, Some(FirstValueRule::default()))
    }

    /// Builds the record; `first_value` decides first value from daily use (`None`: a
    /// first-value event is configured and only it counts). Attributes that do not parse are
    /// skipped (never a panic): a record written by a newer version stays readable.
    pub fn build(stored: &StoredAccount, now: i64, first_value: Option<FirstValueRule>) -> Self {
        let mut customer = CustomerState::default();
        let mut subs: Vec<(SubscriptionState, EventVersion)> = Vec::new();
        let mut points = Vec::new();
        let mut failures: BTreeMap<&str, Vec<PaymentFailure>> = BTreeMap::new();
        let mut paid: BTreeMap<&str, InvoiceMark> = BTreeMap::new();
        let mut settled: BTreeMap<&str, InvoiceSettlement> = BTreeMap::new();
        let mut charge_failures: Vec<ChargeFailure> = Vec::new();
        let mut responses: Vec<(&str, SurveyResponse)> = Vec::new();
        let mut action: BTreeMap<&str, InvoiceMark> = BTreeMap::new();
        let mut refunds: BTreeMap<&str, RefundMark> = BTreeMap::new();
        let mut disputes = Vec::<DisputeMark>::new();
        let mut upcoming = None;
        let mut links = Links::default();
        let mut tickets: Vec<TicketState> = Vec::new();
        let mut ratings: Vec<(&str, RatingMark)> = Vec::new();
        let mut health = None;

        for (name, value) in &stored.attributes {
            let (prefix, key) = match name.find('#') {
                Some(i) => name.split_at(i + 1),
                None => (name.as_str(), ""),
            };
            match prefix {
                attr::CUSTOMER => customer = parse(value).unwrap_or_default(),
                attr::UPCOMING => upcoming = parse(value),
                attr::STRIPE_CUSTOMER => links.stripe_customer_id = value.as_str().map(Into::into),
                attr::SUBSCRIPTION => {
                    if let (Some(state), Some(v)) = (parse::<SubscriptionState>(value), version_of(value)) {
                        subs.push((state, v));
                    }
                }
                attr::MRR_POINT => {
                    // key = <subscription>#<created>#<event id>
                    let mut parts = key.splitn(3, '#');
                    if let (Some(sub), Some(t), Some(id), Some((mrr, effective_at))) =
                        (parts.next(), parts.next(), parts.next(), MrrPoint::parse_value(value))
                    {
                        if let Ok(t) = t.parse() {
                            points.push(MrrPoint {
                                subscription_id: sub.into(),
                                version: EventVersion::new(t, id),
                                mrr,
                                effective_at,
                            });
                        }
                    }
                }
                attr::PAYMENT_FAILED => {
                    let invoice = key.rsplit_once('#').map(|(i, _)| i).unwrap_or(key);
                    if let Some(f) = parse(value) {
                        failures.entry(invoice).or_default().push(f);
                    }
                }
                attr::INVOICE_PAID => {
                    if let Some(m) = parse(value) {
                        paid.insert(key, m);
                    }
                }
                attr::INVOICE_SETTLED => {
                    if let Some(m) = parse(value) {
                        settled.insert(key, m);
                    }
                }
                attr::CHARGE_FAILED => charge_failures.extend(parse(value)),
                attr::SURVEY_RESPONSE => responses.extend(parse(value).map(|r| (key, r))),
                attr::PAYMENT_ACTION_REQUIRED => {
                    if let Some(m) = parse(value) {
                        action.insert(key, m);
                    }
                }
                attr::REFUND => {
                    let charge = key.rsplit_once('#').map(|(c, _)| c).unwrap_or(key);
                    if let Some(r) = parse::<RefundMark>(value) {
                        let entry = refunds.entry(charge).or_insert_with(|| r.clone());
                        if r.amount > entry.amount {
                            *entry = r;
                        }
                    }
                }
                attr::DISPUTE => disputes.extend(parse(value)),
                attr::TICKET => tickets.extend(parse(value)),
                attr::RATING => {
                    let ticket = key.rsplit_once('#').map(|(t, _)| t).unwrap_or(key);
                    ratings.extend(parse(value).map(|m| (ticket, m)));
                }
                attr::ZENDESK_ORGANIZATION => links.zendesk_organization_id = value.as_str().map(Into::into),
                attr::ANALYTICS_GROUP => links.analytics_group_id = value.as_str().map(Into::into),
                attr::HUBSPOT_COMPANY => links.hubspot_company_id = value.as_str().map(Into::into),
                attr::SALESFORCE_ACCOUNT => links.salesforce_account_id = value.as_str().map(Into::into),
                attr::HEALTH => {
                    let mut shown = value.clone();
                    if let Some(map) = shown.as_object_mut() {
                        map.remove(VERSION_FIELD);
                    }
                    health = Some(shown);
                }
                _ => {}
            }
        }

        // Live subscriptions first, most recently set first: the first one names the plan.
        subs.sort_by(|(a, va), (b, vb)| (b.status.is_live(), vb, &b.id).cmp(&(a.status.is_live(), va, &a.id)));
        let states: Vec<SubscriptionState> = subs.iter().map(|(s, _)| s.clone()).collect();
        let live: Vec<&SubscriptionState> = states.iter().filter(|s| s.status.is_live()).collect();
        let mrr: i64 = states.iter().map(|s| s.mrr).sum();

        // A failed invoice is owed until it is paid, voided or written off: facts, so whatever
        // order Stripe delivered them in.
        let is_open = |inv: &str| !paid.contains_key(inv) && !settled.contains_key(inv);
        let unpaid_failures = failures.iter().filter(|(inv, _)| is_open(inv));
        let failed_payments = unpaid_failures.clone().map(|(_, f)| f.len() as u32).sum();
        // The unpaid invoice that failed last, with its own attempt count.
        let failed_invoice = unpaid_failures
            .clone()
            .filter_map(|(inv, f)| Some((f.iter().map(|f| f.at).max()?, *inv, f.len() as u32)))
            .max();
        let last_failure = failures.values().flatten().map(|f| f.at).max();
        let past_due = past_due(unpaid_failures.clone().map(|(_, f)| f.as_slice()), &charge_failures);
        let refund_tally = Tally {
            count: refunds.len() as u32,
            total: refunds.values().map(|r| r.amount).sum(),
            last_at: refunds.values().map(|r| r.at).max().map(time::at),
        };
        let dispute_tally = Tally {
            count: disputes.len() as u32,
            total: disputes.iter().map(|d| d.amount).sum(),
            last_at: disputes.iter().map(|d| d.at).max().map(time::at),
        };

        let billing = BillingView {
            status: billing::account_status(&states),
            mrr,
            arr: mrr * 12,
            currency: states.iter().find_map(|s| s.currency.clone()),
            plan: live.first().and_then(|s| s.plan.clone()),
            quantity: live.iter().map(|s| s.quantity).sum(),
            renewal_at: live.iter().filter_map(|s| s.renewal_at).min().map(time::at),
            contract_renewal_at: None,
            cancel_at_period_end: !live.is_empty() && live.iter().all(|s| s.cancel_at_period_end),
            trial_end: live.iter().filter_map(|s| s.trial_end).max().map(time::at),
            failed_payments,
            last_payment_failed_at: last_failure.map(time::at),
            failed_invoice: failed_invoice.map(|(_, inv, _)| inv.to_owned()),
            failed_invoice_attempts: failed_invoice.map_or(0, |(_, _, attempts)| attempts),
            payment_action_required: action.keys().any(|inv| is_open(inv)),
            past_due,
            last_paid_at: paid.values().map(|m| m.at).max().map(time::at),
            upcoming_invoice: upcoming
                .map(|u: UpcomingInvoice| UpcomingView { amount: u.amount, at: u.at.map(time::at) }),
            refunds: refund_tally,
            disputes: dispute_tally,
            customer_deleted: customer.deleted,
            delinquent: customer.delinquent,
            subscriptions: subs.iter().map(|(s, v)| SubscriptionView::new(s, v)).collect(),
            mrr_movements: billing::mrr_movements(&points).into_iter().map(Into::into).collect(),
        };

        let mut billing = billing;
        billing.contract_renewal_at = billing::contract_renewal_at(&billing.subscriptions).map(time::at);
        let mut connected = BTreeSet::new();
        if billing.status.is_some() || links.stripe_customer_id.is_some() {
            connected.insert(Source::Stripe);
        }
        if links.zendesk_organization_id.is_some() || !tickets.is_empty() || !ratings.is_empty() {
            connected.insert(Source::Zendesk);
        }
        if links.analytics_group_id.is_some() || !stored.usage.is_empty() {
            connected.insert(Source::Analytics);
        }
        if !responses.is_empty() {
            connected.insert(Source::Surveys);
        }

        AccountRecord {
            account_id: stored.account_id.clone(),
            name: customer.name,
            segment: Segment::from_arr(billing.arr),
            lifecycle: Lifecycle::Adoption,
            links,
            billing,
            support: support::support_view(&tickets, ratings.iter().map(|(t, m)| (*t, m)), now),
            usage: usage::usage_view(&stored.usage, now, first_value),
            surveys: survey::surveys_view(responses.iter().map(|(id, r)| (*id, r)), now),
            connected,
            deployment: None,
            health,
            contacts: super::contact::ContactsSummary::of(&stored.attributes),
        }
        .with_lifecycle(&LifecycleRules::default(), now)
    }

    /// Sets what the deployment has connected (the sweep reads it once per run).
    pub fn with_deployment(mut self, deployment: Option<DeploymentSources>) -> Self {
        self.deployment = deployment;
        self
    }

    /// Sets the lifecycle stage by the given rules (the configured ones where a caller has them).
    pub fn with_lifecycle(mut self, rules: &LifecycleRules, now: i64) -> Self {
        self.lifecycle = lifecycle::stage(&self.billing, &self.usage, rules, self.first_value_measurable(), now);
        self
    }

    /// Whether "no first value yet" means anything for this account: product analytics knows
    /// the account, or this deployment received product analytics by the time the account
    /// started (so its absence is the customer's, not the integration's). Without either, an
    /// account is never "onboarding stalled" for want of data we could never have had.
    pub fn first_value_measurable(&self) -> bool {
        if self.knows(Source::Analytics) {
            return true;
        }
        let since = self.deployment.as_ref().and_then(|d| d.get(&Source::Analytics));
        match (since, lifecycle::started_at(&self.billing)) {
            (Some(since), Some(start)) => *since <= start + DAY,
            _ => false,
        }
    }

    /// Whether `source` knows this account: it is connected, or the record holds its data.
    pub fn knows(&self, source: Source) -> bool {
        self.connected.contains(&source)
            || match source {
                Source::Stripe => self.billing.status.is_some() || self.links.stripe_customer_id.is_some(),
                Source::Zendesk => {
                    let s = &self.support;
                    self.links.zendesk_organization_id.is_some()
                        || s.open_tickets + s.tickets_30d + s.csat_good_30d + s.csat_bad_30d > 0
                }
                Source::Analytics => {
                    let u = &self.usage;
                    self.links.analytics_group_id.is_some() || u.last_seen_at.is_some() || u.events_30d > 0
                }
                Source::Surveys => self.surveys.nps_last.is_some(),
            }
    }
}

/// What is owed on the unsettled failed invoices (each with its attempts): the amount due at
/// each one's latest attempt, since the earliest failure, with the latest decline reason (from
/// the invoices' attempts or, when they carry none, the charges that failed in that time).
fn past_due<'a>(
    open_invoices: impl Iterator<Item = &'a [PaymentFailure]>,
    charge_failures: &[ChargeFailure],
) -> Option<PastDue> {
    let (mut amount, mut since, mut invoices) = (0_i64, i64::MAX, 0_u32);
    let mut reasons: Vec<(i64, &str)> = Vec::new();
    for attempts in open_invoices {
        let Some(latest) = attempts.iter().max_by_key(|f| f.at) else { continue };
        invoices += 1;
        amount += latest.amount;
        since = since.min(attempts.iter().map(|f| f.at).min().unwrap_or(latest.at));
        reasons.extend(attempts.iter().filter_map(|f| Some((f.at, f.reason.as_deref()?))));
    }
    if invoices == 0 {
        return None;
    }
    // A charge that failed up to a day before the first failed invoice belongs to the episode.
    reasons.extend(
        charge_failures.iter().filter(|c| c.at >= since - DAY).filter_map(|c| Some((c.at, c.reason.as_deref()?))),
    );
    let reason = reasons.into_iter().max().map(|(_, r)| r.to_owned());
    Some(PastDue { amount, since: time::at(since), invoices, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_read_back_without_its_fraction_is_no_change() {
        // DynamoDB gives 198.0 back as 198: the same health, no write.
        let before = StoredAccount {
            account_id: "a".into(),
            attributes: [("health".to_owned(), serde_json::json!({"ttv": 198, "v": "1", "scored_at": "x"}))].into(),
            ..Default::default()
        };
        let same = AccountChange::new("a").with_guarded(crate::domain::change::GuardedGroup::new(
            "health",
            EventVersion::new(2, "s"),
            serde_json::json!({"ttv": 198.0, "scored_at": "y"}),
        ));
        assert!(!before.would_change(&same, &["scored_at"]));
        let moved = AccountChange::new("a").with_guarded(crate::domain::change::GuardedGroup::new(
            "health",
            EventVersion::new(2, "s"),
            serde_json::json!({"ttv": 198.5, "scored_at": "y"}),
        ));
        assert!(before.would_change(&moved, &["scored_at"]));
        assert!(before.would_change(&AccountChange::new("a").with_fact("hh#2026-11-09", serde_json::json!(90)), &[]));
        assert!(!before.would_change(&AccountChange::new("a").with_expired("hh#2026-10-01"), &[]));
    }

    #[test]
    fn a_replayed_event_alters_the_record_only_when_newer_or_with_a_new_fact() {
        use crate::domain::change::GuardedGroup;
        let event = |created: i64| {
            AccountChange::new("a")
                .with_guarded(GuardedGroup::new("subscription", EventVersion::new(created, "evt"), json!({"mrr": 300})))
                .with_fact("pay#in_1", json!({"amount": 30}))
        };
        let empty = StoredAccount { account_id: "a".into(), ..Default::default() };
        assert!(empty.is_altered_by(&event(100)), "a record that lacks it");
        let group = event(100).guarded.unwrap();
        let stored = StoredAccount {
            account_id: "a".into(),
            attributes: [
                (group.attribute.clone(), group.value.clone()),
                // Read back from DynamoDB: 30.0 is 30.
                ("pay#in_1".to_owned(), json!({"amount": 30.0})),
            ]
            .into(),
            ..Default::default()
        };
        assert!(!stored.is_altered_by(&event(100)), "the same event again");
        assert!(!stored.is_altered_by(&event(99)), "an older event");
        assert!(stored.is_altered_by(&event(101)), "a newer event");
        assert!(stored.is_altered_by(&event(100).with_fact("pay#in_2", json!({"amount": 5}))), "a new fact");
        assert!(!stored.is_altered_by(&AccountChange::new("a").with_expired("pay#in_1")), "expiry alone");
    }
    use serde_json::json;

    #[test]
    fn builds_billing_from_groups_and_facts() {
        let mut stored = StoredAccount { account_id: "acct_1".into(), ..Default::default() };
        let a = &mut stored.attributes;
        a.insert("customer".into(), json!({"name": "Acme", "v": "000000000100#evt_c"}));
        a.insert(
            "sub#sub_1".into(),
            json!({"id": "sub_1", "status": "past_due", "mrr": 4000, "currency": "usd",
                   "plan": "Pro", "quantity": 4, "renewal_at": 1_800_000_000,
                   "v": "000000000200#evt_s"}),
        );
        a.insert("mrr#sub_1#000000000200#evt_s".into(), json!(4000));
        a.insert("pf#in_1#1".into(), json!({"at": 300, "amount": 4000}));
        a.insert("pf#in_1#2".into(), json!({"at": 400, "amount": 4000}));
        a.insert("pf#in_0#1".into(), json!({"at": 100, "amount": 4000}));
        a.insert("pp#in_0".into(), json!({"at": 150, "amount": 4000}));
        a.insert("rf#ch_1#500".into(), json!({"at": 10, "amount": 500}));
        a.insert("rf#ch_1#900".into(), json!({"at": 20, "amount": 900}));
        a.insert("dp#dp_1".into(), json!({"at": 30, "amount": 900, "reason": "fraudulent"}));
        a.insert("link_stripe".into(), json!("cus_1"));
        a.insert("junk#x".into(), json!("ignored"));
        a.insert("sub#broken".into(), json!({"no": "shape"}));

        let r = AccountRecord::from_stored(&stored, 0);
        assert_eq!(r.name.as_deref(), Some("Acme"));
        assert_eq!(r.billing.status, Some(billing::SubscriptionStatus::PastDue));
        assert_eq!(r.billing.mrr, 4000);
        assert_eq!(r.billing.failed_payments, 2);
        assert_eq!(r.billing.last_payment_failed_at, Some(time::at(400)));
        assert_eq!(r.billing.refunds.count, 1);
        assert_eq!(r.billing.refunds.total, 900);
        assert_eq!(r.billing.disputes.count, 1);
        assert_eq!(r.billing.renewal_at.map(|t| t.to_rfc3339()), Some("2027-01-15T08:00:00+00:00".into()));
        assert_eq!(r.billing.subscriptions[0].source.event_id, "evt_s");
        assert_eq!(r.billing.subscriptions[0].renewal_at, r.billing.renewal_at);
        assert_eq!(r.billing.mrr_movements.len(), 1);
        assert_eq!(r.links.stripe_customer_id.as_deref(), Some("cus_1"));
        assert_eq!(r.segment, Segment::TechTouch);
        assert_eq!(r.lifecycle, Lifecycle::Adoption);
    }
}
