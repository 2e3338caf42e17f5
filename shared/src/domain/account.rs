//! The account record: one per customer account, merged from every source.
//!
//! It is stored as a flat set of named attributes (see [`attr`]) so that each event writes only
//! what it owns, in one atomic update, and is read back into [`AccountRecord`], the JSON shape
//! of `GET /accounts/{id}`.

use super::billing::{
    self, BillingView, DisputeMark, InvoiceMark, MrrPoint, PaymentFailure, RefundMark, SubscriptionState,
    SubscriptionView, Tally, UpcomingInvoice, UpcomingView,
};
use super::change::{AccountChange, VERSION_FIELD};
use super::lifecycle::{self, Lifecycle, LifecycleRules};
use super::support::{self, RatingMark, SupportView, TicketState};
use super::tier::Segment;
use super::time;
use super::usage::{self, UsageDay, UsageView};
use super::version::EventVersion;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

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
    /// Fact: the analytics group of this account (set by a link made by `POST /links`).
    pub const ANALYTICS_GROUP: &str = "link_analytics";
    /// Fact: the HubSpot company of this account (CRM tasks attach to it, health is synced to it).
    pub const HUBSPOT_COMPANY: &str = "link_hubspot";
    /// Fact: the Salesforce Account of this account.
    pub const SALESFORCE_ACCOUNT: &str = "link_salesforce";
    /// Guarded group: the latest health score, band and breakdown (written by the sweep).
    pub const HEALTH: &str = "health";
    /// Fact: `hh#<YYYY-MM-DD>`, the day's health score (trend).
    pub const HEALTH_HISTORY: &str = "hh#";
}

/// An account as the stores keep it: its id, its named attributes, and its usage per day.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredAccount {
    pub account_id: String,
    pub attributes: BTreeMap<String, Value>,
    pub usage: BTreeMap<NaiveDate, UsageDay>,
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
    /// Builds the record from what a store keeps, with windows ("in 30 days") ending at `now`.
    /// Attributes that do not parse are skipped (never a panic): a record written by a newer
    /// version stays readable.
    pub fn from_stored(stored: &StoredAccount, now: i64) -> Self {
        let mut customer = CustomerState::default();
        let mut subs: Vec<(SubscriptionState, EventVersion)> = Vec::new();
        let mut points = Vec::new();
        let mut failures: BTreeMap<&str, Vec<PaymentFailure>> = BTreeMap::new();
        let mut paid: BTreeMap<&str, InvoiceMark> = BTreeMap::new();
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

        let unpaid_failures = failures.iter().filter(|(inv, _)| !paid.contains_key(*inv));
        let failed_payments = unpaid_failures.clone().map(|(_, f)| f.len() as u32).sum();
        // The unpaid invoice that failed last, with its own attempt count.
        let failed_invoice = unpaid_failures
            .clone()
            .filter_map(|(inv, f)| Some((f.iter().map(|f| f.at).max()?, *inv, f.len() as u32)))
            .max();
        let last_failure = failures.values().flatten().map(|f| f.at).max();
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
            cancel_at_period_end: !live.is_empty() && live.iter().all(|s| s.cancel_at_period_end),
            trial_end: live.iter().filter_map(|s| s.trial_end).max().map(time::at),
            failed_payments,
            last_payment_failed_at: last_failure.map(time::at),
            failed_invoice: failed_invoice.map(|(_, inv, _)| inv.to_owned()),
            failed_invoice_attempts: failed_invoice.map_or(0, |(_, _, attempts)| attempts),
            payment_action_required: action.keys().any(|inv| !paid.contains_key(inv)),
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

        AccountRecord {
            account_id: stored.account_id.clone(),
            name: customer.name,
            segment: Segment::from_arr(billing.arr),
            lifecycle: Lifecycle::Adoption,
            links,
            billing,
            support: support::support_view(&tickets, ratings.iter().map(|(t, m)| (*t, m)), now),
            usage: usage::usage_view(&stored.usage, now),
            health,
            contacts: super::contact::ContactsSummary::of(&stored.attributes),
        }
        .with_lifecycle(&LifecycleRules::default(), now)
    }

    /// Sets the lifecycle stage by the given rules (the configured ones where a caller has them).
    pub fn with_lifecycle(mut self, rules: &LifecycleRules, now: i64) -> Self {
        self.lifecycle = lifecycle::stage(&self.billing, &self.usage, rules, now);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
