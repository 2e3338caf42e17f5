//! Parsing and normalisation on Stripe's own example objects (shared/testdata), wrapped in
//! event envelopes, in the current and the older API shapes.

use super::*;
use crate::domain::account::{AccountRecord, StoredAccount};
use serde_json::{json, Value};

fn ts(text: &str) -> Option<crate::domain::time::Timestamp> {
    crate::domain::time::parse(text).map(crate::domain::time::at)
}

fn fixture(name: &str) -> Value {
    let all: Value = serde_json::from_str(include_str!("../../../testdata/stripe-fixtures3-subset.json")).unwrap();
    all[name].clone()
}

fn envelope(kind: &str, object: Value) -> Vec<u8> {
    let mut e = fixture("event");
    e["id"] = json!("evt_1");
    e["type"] = json!(kind);
    e["created"] = json!(1_800_000_000);
    e["data"] = json!({ "object": object });
    serde_json::to_vec(&e).unwrap()
}

fn parse(kind: &str, object: Value) -> StripeUpdate {
    parse_event(&envelope(kind, object), "account_id").unwrap()
}

/// The record a single update produces on an empty account.
fn record(update: &StripeUpdate) -> AccountRecord {
    let change = update.change.clone().expect("a change");
    let mut stored = StoredAccount { account_id: "acct".into(), ..Default::default() };
    if let Some(g) = change.guarded {
        stored.attributes.insert(g.attribute, g.value);
    }
    stored.attributes.extend(change.facts);
    AccountRecord::from_stored(&stored, 1_800_000_000)
}

/// The fixture subscription with its example values made coherent: one monthly item of
/// 20.00 per seat and no package transform (the fixture's `transform_quantity` is an example
/// value dividing by 1,592,560,163).
fn subscription() -> Value {
    let mut s = fixture("subscription");
    let item = &mut s["items"]["data"][0];
    item["price"]["transform_quantity"] = Value::Null;
    item["current_period_end"] = json!(1_802_592_000);
    s["cancel_at_period_end"] = json!(false);
    s
}

fn set_price(s: &mut Value, unit_amount: i64, interval: &str, quantity: u64) {
    let item = &mut s["items"]["data"][0];
    item["price"]["unit_amount"] = json!(unit_amount);
    item["price"]["unit_amount_decimal"] = json!(unit_amount.to_string());
    item["price"]["recurring"]["interval"] = json!(interval);
    item["quantity"] = json!(quantity);
}

fn coupon_discount(percent_off: f64) -> Value {
    let mut d = fixture("customer")["discount"].clone();
    d["source"]["coupon"] =
        json!({"id": "C", "object": "coupon", "percent_off": percent_off, "amount_off": null, "duration": "forever"});
    d
}

#[test]
fn fixture_subscription_monthly() {
    let u = parse("customer.subscription.updated", subscription());
    assert_eq!(u.identity.customer_id.as_deref(), Some("cus_QXg1o8vcGmoR32"));
    let r = record(&u);
    let b = &r.billing;
    assert_eq!(b.status, Some(billing::SubscriptionStatus::Active));
    assert_eq!(b.mrr, 2000);
    assert_eq!(b.currency.as_deref(), Some("usd"));
    assert_eq!(b.renewal_at, ts("2027-02-14T08:00:00Z"), "period end from the subscription item");
    assert_eq!(b.quantity, 1);
    assert_eq!(b.subscriptions[0].plan.as_deref(), Some("price_1PgafmB7WZ01zgkW6dKueIc5"));
}

#[test]
fn fixture_subscription_as_published_applies_its_package_transform() {
    // Unchanged fixture: quantity 1 divided by 1,592,560,163 rounded down bills 0 units.
    let u = parse("customer.subscription.updated", fixture("subscription"));
    let r = record(&u);
    assert_eq!(r.billing.mrr, 0);
    assert!(r.billing.cancel_at_period_end);
    assert_eq!(r.billing.renewal_at, ts("2000-12-08T15:02:53Z"));
}

#[test]
fn yearly_with_quantity_three() {
    let mut s = subscription();
    set_price(&mut s, 120_000, "year", 3);
    assert_eq!(record(&parse("customer.subscription.created", s)).billing.mrr, 30_000);
}

#[test]
fn hundred_and_twenty_percent_discounts_current_shape() {
    let mut s = subscription();
    set_price(&mut s, 5000, "month", 2);
    s["discounts"] = json!([coupon_discount(100.0)]);
    assert_eq!(record(&parse("customer.subscription.updated", s.clone())).billing.mrr, 0);
    s["discounts"] = json!([coupon_discount(20.0)]);
    assert_eq!(record(&parse("customer.subscription.updated", s)).billing.mrr, 8000);
}

#[test]
fn legacy_discount_and_unexpanded_ids() {
    let mut s = subscription();
    set_price(&mut s, 5000, "month", 2);
    s["discount"] = json!({"coupon": {"id": "OLD20", "percent_off": 20.0, "duration": "repeating"}, "end": null});
    assert_eq!(record(&parse("customer.subscription.updated", s.clone())).billing.mrr, 8000);
    // Expired discount: no longer lowers MRR.
    s["discount"]["end"] = json!(1_700_000_000);
    assert_eq!(record(&parse("customer.subscription.updated", s.clone())).billing.mrr, 10_000);
    // Discount ids alone cannot be priced: full price (webhooks do not expand them).
    s["discount"] = Value::Null;
    s["discounts"] = json!(["di_123"]);
    assert_eq!(record(&parse("customer.subscription.updated", s)).billing.mrr, 10_000);
}

#[test]
fn older_api_shape_period_and_plan_on_subscription() {
    let mut s = subscription();
    let item = &mut s["items"]["data"][0];
    item.as_object_mut().unwrap().remove("current_period_end");
    item.as_object_mut().unwrap().remove("price");
    item["plan"] = json!({"id": "gold", "nickname": "Gold", "amount": 9900, "interval": "month", "interval_count": 1, "usage_type": "licensed", "currency": "usd"});
    item["quantity"] = json!(2);
    s["current_period_end"] = json!(1_802_592_000);
    let r = record(&parse("customer.subscription.updated", s));
    assert_eq!(r.billing.mrr, 19_800);
    assert_eq!(r.billing.plan.as_deref(), Some("Gold"));
    assert_eq!(r.billing.renewal_at, ts("2027-02-14T08:00:00Z"));
}

#[test]
fn canceled_subscription_has_no_mrr() {
    let mut s = subscription();
    s["status"] = json!("canceled");
    let u = parse("customer.subscription.deleted", s);
    let r = record(&u);
    assert_eq!(r.billing.mrr, 0);
    assert_eq!(r.billing.renewal_at, None, "an ended subscription does not renew");
}

#[test]
fn mrr_points_only_when_pricing_may_have_changed() {
    let points =
        |u: &StripeUpdate| u.change.as_ref().unwrap().facts.iter().filter(|(n, _)| n.starts_with("mrr#")).count();
    let with_previous = |previous: Value| {
        let mut e: Value = serde_json::from_slice(&envelope("customer.subscription.updated", subscription())).unwrap();
        e["data"]["previous_attributes"] = previous;
        parse_event(&serde_json::to_vec(&e).unwrap(), "account_id").unwrap()
    };
    assert_eq!(points(&with_previous(json!({"cancel_at_period_end": false}))), 0);
    assert_eq!(points(&with_previous(json!({"quantity": 3}))), 1);
    assert_eq!(points(&parse("customer.subscription.created", subscription())), 1);
}

#[test]
fn metadata_names_the_account() {
    let mut s = subscription();
    s["metadata"] = json!({"account_id": "acct_42", "other": "x"});
    assert_eq!(parse("customer.subscription.created", s.clone()).identity.account_id.as_deref(), Some("acct_42"));
    let custom = parse_event(&envelope("customer.subscription.created", s), "other").unwrap();
    assert_eq!(custom.identity.account_id.as_deref(), Some("x"));
    let mut c = fixture("customer");
    c["metadata"] = json!({"account_id": "acct_7"});
    let u = parse("customer.created", c);
    assert_eq!(
        (u.identity.customer_id.as_deref(), u.identity.account_id.as_deref()),
        (Some("cus_QXg1o8vcGmoR32"), Some("acct_7"))
    );
}

#[test]
fn invoices_become_payment_facts() {
    let failed = parse("invoice.payment_failed", fixture("invoice"));
    let r = record(&failed);
    assert_eq!(r.billing.failed_payments, 1);
    assert_eq!(r.billing.last_payment_failed_at, ts("2027-01-15T08:00:00Z"));
    let mut inv = fixture("invoice");
    inv["parent"] = json!({"subscription_details": {"subscription": "sub_1", "metadata": {"account_id": "acct_9"}}});
    assert_eq!(parse("invoice.paid", inv).identity.account_id.as_deref(), Some("acct_9"));
    let action = record(&parse("invoice.payment_action_required", fixture("invoice")));
    assert!(action.billing.payment_action_required);
    let mut upcoming = fixture("invoice");
    upcoming.as_object_mut().unwrap().remove("id");
    let r = record(&parse("invoice.upcoming", upcoming));
    assert_eq!(r.billing.upcoming_invoice.map(|u| u.amount), Some(1000));
}

#[test]
fn charges_and_disputes() {
    let mut ch = fixture("charge");
    ch["customer"] = json!("cus_1");
    ch["amount_refunded"] = json!(40);
    let r = record(&parse("charge.refunded", ch));
    assert_eq!((r.billing.refunds.count, r.billing.refunds.total), (1, 40));
    // The fixture charge has no customer: nothing to attribute it to.
    assert_eq!(parse("charge.refunded", fixture("charge")).identity, Identity::default());
    let d = parse("charge.dispute.created", fixture("dispute"));
    assert_eq!(d.identity.fallback_id.as_deref(), Some("ch_1PgafuB7WZ01zgkWXYmPNZs8"));
    assert_eq!(record(&d).billing.disputes.count, 1);
}

#[test]
fn unknown_types_are_ignored_and_bad_shapes_rejected() {
    let ignored = parse_event(&serde_json::to_vec(&fixture("event")).unwrap(), "account_id").unwrap();
    assert_eq!((ignored.event_type.as_str(), ignored.change), ("plan.created", None));
    assert!(matches!(parse_event(b"{not json", "account_id"), Err(ParseError::Envelope(_))));
    assert!(matches!(parse_event(b"[]", "account_id"), Err(ParseError::Envelope(_))));
    let mut s = subscription();
    s["status"] = json!(42);
    let err = parse_event(&envelope("customer.subscription.updated", s), "account_id").unwrap_err();
    assert!(err.to_string().contains("customer.subscription.updated"), "{err}");
    let mut s = subscription();
    s["status"] = json!("some_future_status");
    assert_eq!(record(&parse("customer.subscription.updated", s)).billing.mrr, 0);
}

/// The record several updates produce together, applied in the given order (facts only here, so
/// the order cannot matter: the test applies both orders).
fn record_of(updates: &[&StripeUpdate], now: i64) -> AccountRecord {
    let mut stored = StoredAccount { account_id: "acct".into(), ..Default::default() };
    for u in updates {
        let change = u.change.clone().expect("a change");
        if let Some(g) = change.guarded {
            stored.attributes.insert(g.attribute, g.value);
        }
        stored.attributes.extend(change.facts);
    }
    AccountRecord::from_stored(&stored, now)
}

fn at(kind: &str, object: Value, created: i64, id: &str) -> StripeUpdate {
    let mut e: Value = serde_json::from_slice(&envelope(kind, object)).unwrap();
    e["created"] = json!(created);
    e["id"] = json!(id);
    parse_event(&serde_json::to_vec(&e).unwrap(), "account_id").unwrap()
}

#[test]
fn a_failed_invoice_is_owed_until_paid_voided_or_written_off_in_any_order() {
    let mut inv = fixture("invoice");
    inv["customer"] = json!("cus_1");
    inv["currency"] = json!("usd");
    inv["amount_due"] = json!(48_000);
    inv["amount_remaining"] = json!(48_000);
    inv["attempt_count"] = json!(1);
    let failed = at("invoice.payment_failed", inv.clone(), 1_800_000_000, "evt_f");
    let owed = record_of(&[&failed], 1_800_000_100);
    let pd = owed.billing.past_due.clone().expect("owed");
    assert_eq!((pd.amount, pd.invoices, pd.since.timestamp()), (48_000, 1, 1_800_000_000));
    assert_eq!(owed.billing.failed_payments, 1);
    for (kind, settled_by) in
        [("invoice.paid", "paid"), ("invoice.voided", "voided"), ("invoice.marked_uncollectible", "written off")]
    {
        let settle = at(kind, inv.clone(), 1_800_100_000, "evt_s");
        assert!(settle.change.is_some(), "{kind} is handled");
        for order in [[&failed, &settle], [&settle, &failed]] {
            let r = record_of(&order, 1_800_200_000);
            assert_eq!(r.billing.past_due, None, "{settled_by}, whatever the order");
            assert_eq!(r.billing.failed_payments, 0, "{settled_by}");
            assert_eq!(r.billing.failed_invoice, None, "{settled_by}");
        }
    }
    // A second failed invoice keeps the account past due after the first is paid.
    let mut other = inv.clone();
    other["id"] = json!("in_other");
    other["amount_remaining"] = json!(1_500);
    let failed_other = at("invoice.payment_failed", other, 1_800_300_000, "evt_f2");
    let paid = at("invoice.paid", inv, 1_800_100_000, "evt_p");
    let r = record_of(&[&failed_other, &paid, &failed], 1_800_400_000);
    let pd = r.billing.past_due.expect("still owed");
    assert_eq!((pd.amount, pd.invoices, pd.since.timestamp()), (1_500, 1, 1_800_300_000));
}

#[test]
fn a_decline_says_why_from_the_charge_or_the_invoice() {
    let mut ch = fixture("charge");
    ch["customer"] = json!("cus_1");
    ch["amount"] = json!(48_000);
    ch["failure_code"] = json!("card_declined");
    ch["failure_message"] = json!("Your card has insufficient funds.");
    ch["outcome"]["reason"] = json!("insufficient_funds");
    let charge = at("charge.failed", ch.clone(), 1_800_000_000 - 10, "evt_c");
    assert_eq!(charge.identity.customer_id.as_deref(), Some("cus_1"));
    let mut inv = fixture("invoice");
    inv["customer"] = json!("cus_1");
    let failed = at("invoice.payment_failed", inv.clone(), 1_800_000_000, "evt_f");
    let r = record_of(&[&failed, &charge], 1_800_000_100);
    assert_eq!(r.billing.past_due.unwrap().reason.as_deref(), Some("card declined: insufficient funds"));
    // Only a message: the message.
    ch["failure_code"] = Value::Null;
    ch["outcome"]["reason"] = Value::Null;
    let r = record_of(&[&failed, &at("charge.failed", ch, 1_800_000_000 - 10, "evt_c")], 1_800_000_100);
    assert_eq!(r.billing.past_due.unwrap().reason.as_deref(), Some("Your card has insufficient funds."));
    // The invoice's own error, when it carries one.
    inv["last_finalization_error"] =
        json!({"type": "card_error", "code": "expired_card", "message": "Your card has expired."});
    let r = record_of(&[&at("invoice.payment_failed", inv, 1_800_000_000, "evt_g")], 1_800_000_100);
    assert_eq!(r.billing.past_due.unwrap().reason.as_deref(), Some("expired card"));
}
