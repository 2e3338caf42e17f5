#!/usr/bin/env python3
"""Builds the sample Stripe events in events/stripe/ from Stripe's own example objects.

Each event wraps a real object shape (shared/testdata/stripe-fixtures3-subset.json, taken from
stripe/openapi) in a real event envelope, with the example values replaced by a coherent story:
a week of billing activity for five customer accounts. Bodies are pretty-printed with two-space
indentation, as Stripe sends them. Run it again after changing the story; the output is stable.
"""
import copy
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
FIXTURES = json.loads((ROOT.parent / "shared/testdata/stripe-fixtures3-subset.json").read_text())
OUT = ROOT / "stripe"
API_CURRENT = "2025-09-30.clover"
API_OLD = "2024-06-20"
DAY = 86400
T0 = 1793610000  # 2026-11-02T09:00:00Z, a Monday


def fixture(name):
    return copy.deepcopy(FIXTURES[name])


def customer(cus_id, name, account_id=None, created=T0):
    c = fixture("customer")
    c.update(id=cus_id, name=name, created=created, email=None, discount=None, delinquent=False,
             metadata={"account_id": account_id} if account_id else {})
    return c


def price(price_id, nickname, unit_amount, interval="month", interval_count=1):
    p = fixture("price")
    p.update(id=price_id, nickname=nickname, unit_amount=unit_amount, unit_amount_decimal=str(unit_amount),
             created=T0 - 300 * DAY, transform_quantity=None, product="prod_" + price_id[6:])
    p["recurring"].update(interval=interval, interval_count=interval_count)
    return p


def coupon(coupon_id, percent_off=None, amount_off=None, duration="forever"):
    return {"id": coupon_id, "object": "coupon", "amount_off": amount_off, "currency": "usd" if amount_off else None,
            "duration": duration, "duration_in_months": None, "livemode": False, "metadata": {}, "name": coupon_id,
            "percent_off": percent_off, "valid": True}


def discount(disc_id, cus_id, sub_id, c):
    return {"id": disc_id, "object": "discount", "checkout_session": None, "customer": cus_id, "end": None,
            "invoice": None, "invoice_item": None, "promotion_code": None, "start": T0 - 30 * DAY,
            "subscription": sub_id, "subscription_item": None, "source": {"type": "coupon", "coupon": c}}


def subscription(sub_id, cus_id, p, quantity, status="active", period_start=T0, account_id=None,
                 discounts=(), cancel_at_period_end=False, trial_end=None):
    s = fixture("subscription")
    item = s["items"]["data"][0]
    interval = p["recurring"]["interval"]
    length = {"month": 30, "year": 365, "week": 7, "day": 1}[interval] * p["recurring"]["interval_count"] * DAY
    item.update(id="si_" + sub_id[4:], price=p, quantity=quantity, subscription=sub_id, created=period_start,
                current_period_start=period_start, current_period_end=period_start + length, discounts=[])
    item["plan"] = None  # the legacy plan mirror is not needed on current API versions
    s["items"]["url"] = f"/v1/subscription_items?subscription={sub_id}"
    s.update(id=sub_id, customer=cus_id, status=status, currency="usd", created=period_start,
             start_date=period_start, billing_cycle_anchor=period_start, cancel_at=None, canceled_at=None,
             ended_at=None, cancel_at_period_end=cancel_at_period_end, trial_start=None, trial_end=trial_end,
             pending_update=None, next_pending_invoice_item_invoice=None, discounts=list(discounts),
             metadata={"account_id": account_id} if account_id else {}, latest_invoice="in_" + sub_id[4:] + "_1")
    return s


def old_subscription(sub_id, cus_id, amount, quantity, account_id, status="active", period_start=T0):
    """An API 2024-06-20 subscription: plan and period dates on the subscription itself."""
    s = subscription(sub_id, cus_id, price("price_hooli_team", "Team", amount), quantity, status=status,
                     period_start=period_start, account_id=account_id)
    plan = fixture("plan")
    plan.update(id="plan_hooli_team", nickname="Team (legacy plan)", amount=amount, amount_decimal=str(amount),
                interval="month", interval_count=1, currency="usd", billing_scheme="per_unit", tiers_mode=None,
                transform_usage=None, usage_type="licensed")
    s["plan"] = plan
    s["quantity"] = quantity
    s["current_period_start"] = period_start
    s["current_period_end"] = period_start + 30 * DAY
    s["discount"] = None
    for item in s["items"]["data"]:
        item.pop("current_period_start")
        item.pop("current_period_end")
        item["plan"] = plan
    return s


def invoice(inv_id, cus_id, sub_id, amount, *, paid, attempt_count=1, account_id=None, next_attempt=None):
    i = fixture("invoice")
    i.update(id=inv_id, customer=cus_id, amount_due=amount, amount_paid=amount if paid else 0,
             amount_remaining=0 if paid else amount, attempt_count=attempt_count, attempted=True,
             status="paid" if paid else "open", billing_reason="subscription_cycle", created=T0,
             next_payment_attempt=next_attempt, last_finalization_error=None, from_invoice=None,
             customer_email=None, customer_name=None)
    i["parent"] = {"type": "subscription_details", "quote_details": None,
                   "subscription_details": {"subscription": sub_id,
                                            "metadata": {"account_id": account_id} if account_id else {}}}
    for line in i["lines"]["data"]:
        line.update(amount=amount, invoice=inv_id, subtotal=amount, description="Subscription")
    return i


def event(evt_id, kind, created, obj, previous=None, api_version=API_CURRENT):
    data = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    e = fixture("event")
    e.update(id=evt_id, type=kind, created=created, api_version=api_version, data=data, livemode=False,
             pending_webhooks=1, request={"id": None, "idempotency_key": None})
    return e


def story():
    events = []
    add = lambda *args, **kw: events.append(event(*args, **kw))

    # Acme: 10 seats of Pro monthly, paid, then expands to 12 seats.
    pro = price("price_acme_pro", "Pro", 4000)
    add("evt_acme_001", "customer.created", T0, customer("cus_acme", "Acme Corp", "acct_acme"))
    add("evt_acme_002", "customer.subscription.created", T0 + 60, subscription("sub_acme", "cus_acme", pro, 10))
    add("evt_acme_003", "invoice.paid", T0 + 120, invoice("in_acme_1", "cus_acme", "sub_acme", 40000, paid=True))
    expanded = subscription("sub_acme", "cus_acme", pro, 12)
    add("evt_acme_004", "customer.subscription.updated", T0 + 3 * DAY, expanded,
        previous={"items": {"data": [{"quantity": 10}]}, "quantity": 10})
    upcoming = invoice("in_acme_2", "cus_acme", "sub_acme", 48000, paid=False, attempt_count=0,
                       next_attempt=T0 + 30 * DAY)
    del upcoming["id"]  # invoice.upcoming carries an invoice that does not exist yet
    add("evt_acme_005", "invoice.upcoming", T0 + 27 * DAY, upcoming)

    # Globex: 3 seats of Enterprise yearly (12,000.00 each) with a 20% discount; card declines
    # (the charge fails for insufficient funds, then the invoice's payment fails, twice).
    ent = price("price_globex_ent", "Enterprise (yearly)", 1200000, interval="year")
    twenty = [discount("di_globex", "cus_globex", "sub_globex", coupon("LOYAL20", percent_off=20.0))]
    add("evt_globex_001", "customer.created", T0 + 200, customer("cus_globex", "Globex", "acct_globex"))
    add("evt_globex_002", "customer.subscription.created", T0 + 260,
        subscription("sub_globex", "cus_globex", ent, 3, discounts=twenty))
    declined = fixture("charge")
    declined.update(id="ch_globex_1", customer="cus_globex", amount=2880000, amount_captured=0, amount_refunded=0,
                    captured=False, paid=False, status="failed", created=T0 + 2 * DAY - 10, refunded=False,
                    receipt_url=None, failure_code="card_declined", failure_message="Your card has insufficient funds.",
                    billing_details=declined["billing_details"] | {"name": None})
    declined["outcome"] = {"advice_code": "try_again_later", "network_advice_code": None, "network_decline_code": "51",
                           "network_status": "declined_by_network", "reason": "insufficient_funds",
                           "risk_level": "normal", "seller_message": "The bank returned the decline code "
                           "`insufficient_funds`.", "type": "issuer_declined"}
    declined["refunds"]["url"] = "/v1/charges/ch_globex_1/refunds"
    add("evt_globex_006", "charge.failed", T0 + 2 * DAY - 10, declined)
    add("evt_globex_003", "invoice.payment_failed", T0 + 2 * DAY,
        invoice("in_globex_1", "cus_globex", "sub_globex", 2880000, paid=False, next_attempt=T0 + 5 * DAY))
    add("evt_globex_004", "invoice.payment_failed", T0 + 5 * DAY,
        invoice("in_globex_1", "cus_globex", "sub_globex", 2880000, paid=False, attempt_count=2,
                next_attempt=T0 + 8 * DAY))
    add("evt_globex_005", "customer.subscription.updated", T0 + 5 * DAY + 10,
        subscription("sub_globex", "cus_globex", ent, 3, status="past_due", discounts=twenty),
        previous={"status": "active"})

    # Initech: the account id arrives on the subscription's metadata only; trial converts to
    # paid, then the customer sets cancel at period end (a churn risk).
    starter = price("price_initech_starter", "Starter", 9900)
    add("evt_initech_001", "customer.created", T0 + 300, customer("cus_initech", "Initech"))
    add("evt_initech_002", "customer.subscription.created", T0 + 360,
        subscription("sub_initech", "cus_initech", starter, 1, status="trialing", account_id="acct_initech",
                     trial_end=T0 + 4 * DAY))
    add("evt_initech_003", "customer.subscription.updated", T0 + 4 * DAY,
        subscription("sub_initech", "cus_initech", starter, 1, account_id="acct_initech"),
        previous={"status": "trialing"})
    add("evt_initech_004", "customer.subscription.updated", T0 + 6 * DAY,
        subscription("sub_initech", "cus_initech", starter, 1, account_id="acct_initech",
                     cancel_at_period_end=True),
        previous={"cancel_at_period_end": False})

    # Umbrella: a partner on a 100% discount; a refund and a dispute on an older charge.
    biz = price("price_umbrella_biz", "Business", 25000)
    free = [discount("di_umbrella", "cus_umbrella", "sub_umbrella", coupon("PARTNER100", percent_off=100.0))]
    add("evt_umbrella_001", "customer.created", T0 + 400, customer("cus_umbrella", "Umbrella Corp", "acct_umbrella"))
    add("evt_umbrella_002", "customer.subscription.created", T0 + 460,
        subscription("sub_umbrella", "cus_umbrella", biz, 1, discounts=free))
    charge = fixture("charge")
    charge.update(id="ch_umbrella_1", customer="cus_umbrella", amount=25000, amount_captured=25000,
                  amount_refunded=5000, refunded=False, captured=True, created=T0 - 20 * DAY,
                  receipt_url=None, billing_details=charge["billing_details"] | {"name": None})
    charge["refunds"]["url"] = "/v1/charges/ch_umbrella_1/refunds"
    add("evt_umbrella_003", "charge.refunded", T0 + 1 * DAY, charge)
    dispute = fixture("dispute")
    dispute.update(id="dp_umbrella_1", charge="ch_umbrella_1", amount=20000, created=T0 + 2 * DAY,
                   reason="product_not_received", metadata={"account_id": "acct_umbrella"})
    add("evt_umbrella_004", "charge.dispute.created", T0 + 2 * DAY, dispute)

    # Hooli: an endpoint still pinned to an older API version; the subscription is canceled.
    add("evt_hooli_001", "customer.subscription.created", T0 + 500,
        old_subscription("sub_hooli", "cus_hooli", 2000, 5, "acct_hooli"), api_version=API_OLD)
    add("evt_hooli_002", "customer.subscription.deleted", T0 + 6 * DAY,
        old_subscription("sub_hooli", "cus_hooli", 2000, 5, "acct_hooli", status="canceled"), api_version=API_OLD)

    # A type Foresight does not use: acknowledged and ignored.
    pi = {"id": "pi_3demo", "object": "payment_intent", "amount": 40000, "currency": "usd", "customer": "cus_acme",
          "status": "succeeded", "metadata": {}}
    add("evt_other_001", "payment_intent.succeeded", T0 + 130, pi)
    return events


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    events = sorted(story(), key=lambda e: (e["created"], e["id"]))
    for n, e in enumerate(events, 1):
        name = f"{n:02d}-{e['id'][4:].replace('_', '-')}-{e['type'].replace('.', '-')}.json"
        (OUT / name).write_text(json.dumps(e, indent=2) + "\n")
    print(f"wrote {len(events)} events to {OUT}")


if __name__ == "__main__":
    main()
