#!/usr/bin/env python3
"""Writes a labelled portfolio of 68 customer accounts as sample events of every source, for the
end-to-end test of the health sweep (tests/portfolio_sweep.rs) and for `foresight calibrate`,
which replays it day by day and measures the judgement against the labels:

  events/portfolio/stripe/    Stripe events (same shapes as events/generate.py, which it reuses)
  events/portfolio/zendesk/   Zendesk webhooks, trigger and event-subscription bodies
  events/portfolio/segment/   Segment-spec batches (group calls, track/page messages, NPS answers)
  events/portfolio/typeform/  Typeform `form_response` webhooks (NPS answers)
  events/portfolio/labels.json  every account's label: at_risk, healthy or expansion, its
                              archetype, and for the slow decliners when they cancel
  events/portfolio/next-day/{stripe,zendesk}/  what arrives in the day after the first sweep

Bodies are unsigned: whoever posts them signs them at post time, as the sources do
(`foresight send events/portfolio/stripe events/portfolio/zendesk events/portfolio/segment` works).
Every time is relative to NOW = 2026-11-09T12:00:00Z (the sweep's `now` in the test). No randomness: variety
inside a cohort comes from the account's index, so the output is the same on every run.

The accounts come in cohorts with known outcomes (ids `acct_<cohort>_<NN>`):

  cohort      n   what it is                                                      alerts
  healthy    20   steady daily use by several users, key features, a solved        -
                  ticket rated good, payments in good standing
  hightouch   3   healthy, ARR over 50,000.00 (high touch)                         -
  expansion   4   healthy, (nearly) every paid seat active this week               expansion
  pastdue     4   the cycle invoice failed twice, subscription past_due           payment_failed
  cancel      4   set to cancel at period end                                     cancel_at_period_end
  urgent      4   two urgent/high tickets open (and a normal one)                 urgent_tickets
  usagedrop   4   events this week down about two thirds on the weeks before      usage_drop
  stalled     4   trialing or paid for 20+ days, no first-value event yet         onboarding_stalled
  nousage     3   subscribed a week ago, no product analytics at all              -
  churned     2   subscription canceled three weeks ago, no usage since           -
  atrisk      1   high touch, past due, urgent tickets and a usage drop           payment_failed,
                                                                                   urgent_tickets, usage_drop
  silent      3   pays, a group call at signup, not one event since               onboarding_stalled
  neveron..   2   21 days in, product analytics never saw it                      onboarding_stalled
  failedonly  2   one failed invoice, no subscription update (still active)       payment_failed
  detractor   2   healthy use, an NPS answer of 3 / 5 with a comment              nps_detractor
  decline     3   usage falls for 6 weeks, then the customer cancels              usage_drop (weeks
                                                                                   ahead), cancel_at_period_end
  seasonal    2   healthy, one week of usage down 40% (a holiday), then back      -
  bigtickets  1   high touch, healthy, 25 tickets a month solved fast             -

Some healthy accounts answer NPS too (promoters and a passive, by Typeform and by the Segment
`NPS Survey Responded` convention). Labels: at_risk for every cohort that alerts a risk (and
churned), expansion for the expansion cohort, healthy otherwise (the new accounts of `nousage`
are a week in: too early to be at risk).

Links, varied on purpose: most Stripe customers carry `metadata.account_id`; some only their
subscriptions do; two carry none and are linked by the Segment group call's `stripe_customer_id`
trait. Most Zendesk organizations name the account in trigger bodies (`organization_external_id`);
some send event-subscription bodies only and are linked by the group call's
`zendesk_organization_id` trait (their tickets wait under `zendesk:<org>` until then).
"""
import datetime
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.dont_write_bytecode = True  # no events/__pycache__ from importing the sample generator
import generate as g  # noqa: E402  (the Stripe object builders of the sample week)

OUT = ROOT / "portfolio"
DAY = 86400
HOUR = 3600
NOW = 1794225600  # 2026-11-09T12:00:00Z, a Monday
KEY_FEATURES = ["Report Exported", "Dashboard Shared", "Integration Connected"]
HISTORY_DAYS = 70  # product analytics was connected 10 weeks before NOW: every account's use since

NAMES = [
    "Abacus", "Birchwood", "Cobalt", "Dovetail", "Ember", "Fathom", "Granite", "Harbor", "Ironleaf", "Juniper",
    "Kestrel", "Lumen", "Meridian", "Nimbus", "Oakridge", "Pinnacle", "Quarry", "Redwood", "Summit", "Tidewater",
    "Umber", "Vantage", "Willow", "Xylem", "Yardley", "Zephyr", "Alder", "Beacon", "Cascade", "Delta",
    "Evergreen", "Foxglove", "Glacier", "Hollow", "Indigo", "Jasper", "Keystone", "Larkspur", "Mosaic", "Northstar",
    "Orchard", "Prairie", "Quill", "Ridgeway", "Sable", "Thistle", "Upland", "Verdant", "Wavecrest", "Yarrow",
    "Zenith", "Amber", "Bramble", "Cinder", "Driftwood", "Elm", "Fjord", "Gale", "Heath", "Ivy", "Jetty",
    "Kelp", "Loch", "Marlow", "Nettle", "Osprey", "Pike", "Quartz", "Rook", "Sorrel", "Tamarack",
]


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_start(offset):
    """The start (00:00 UTC) of NOW's day + offset days."""
    return NOW - NOW % DAY + offset * DAY


# ------------------------------------------------------------------------------------------ cohorts

class Account:
    def __init__(self, cohort, n, index):
        self.cohort = cohort
        self.n = n
        self.id = f"acct_{cohort}_{n:02d}"
        self.short = f"{cohort}_{n:02d}"
        self.name = f"{NAMES[index]} {['Labs', 'Systems', 'Group', 'Works', 'Analytics'][index % 5]}"
        self.cus = f"cus_{self.short}"
        self.sub = f"sub_{self.short}"
        self.org = str(70000 + index)
        # Billing.
        self.interval = "year"
        self.seats = 10
        self.unit_amount = 4000  # per seat per interval, cents
        self.started = NOW - 120 * DAY
        self.status = "active"
        self.trial_days = 0
        self.failed = False  # the latest cycle invoice failed twice; subscription past_due
        self.cancel = False
        self.canceled_at = None
        self.metadata_on = "customer"  # customer | subscription | none (linked by a group trait)
        # Support.
        self.zendesk = "trigger"  # trigger | events (linked by a group trait) | none
        self.tickets = []  # (id, priority, created offset, solved offset or None, rating or None)
        # Usage: per day offset (-29..0), the (user, event) messages.
        self.usage = {}
        self.group_only = False  # a group call at signup and nothing else (silent payer)
        self.fail_once = False  # the latest cycle invoice failed once; no subscription update
        self.cancel_requested = None  # when the customer set cancel at period end (decliners)
        self.nps = []  # (day offset, score, comment, via: typeform | segment | typeform-unlinked)
        self.label = "healthy"
        self.cancels_at = None


def start_day(a):
    """The account's first day as an offset from NOW's day."""
    return (a.started - day_start(0)) // DAY


def steady(a, users, per_user, events, first_day=None, last_day=0):
    """Each of `users` sends `per_user` messages a day, cycling through `events`: by default
    every day since analytics was connected (or since the account started, if later)."""
    if first_day is None:
        first_day = max(-(HISTORY_DAYS - 1), start_day(a) + 1)
    for d in range(first_day, last_day + 1):
        msgs = a.usage.setdefault(d, [])
        for u in range(users):
            for k in range(per_user):
                msgs.append((f"{a.short}-u{u}", events[(d + u + k) % len(events)]))


ALL_FEATURES = ["Logged In", "Report Exported", "Dashboard Shared", "Integration Connected"]
TWO_FEATURES = ["Logged In", "Report Exported", "Dashboard Shared"]
ONE_FEATURE = ["Logged In", "Report Exported"]
NO_FIRST_VALUE = ["Logged In", "Dashboard Viewed"]  # no key feature, no first value


def shaped(a, first_day, last_day, level, events, users=6, per_day=12):
    """`per_day` messages a day by up to `users` users, scaled by `level(day)` (0..1)."""
    for d in range(first_day, last_day + 1):
        f = level(d)
        n, active = max(1, round(per_day * f)), max(1, round(users * f))
        msgs = a.usage.setdefault(d, [])
        for k in range(n):
            msgs.append((f"{a.short}-u{k % active}", events[(d + k) % len(events)]))


def good_ticket(a, tid, created=-12):
    a.tickets.append((tid, "normal", created, created + 1, "Good"))


def portfolio():
    accounts = []

    def new(cohort, n):
        a = Account(cohort, n, len(accounts))
        accounts.append(a)
        return a

    for n in range(1, 21):
        a = new("healthy", n)
        a.interval = "month" if n % 3 == 0 else "year"
        a.unit_amount = 3000 if a.interval == "month" else 36000
        a.seats = 8 + n % 5 * 2
        a.started = NOW - (60 + 17 * n) * DAY - 4 * HOUR
        a.metadata_on = "none" if n in (16, 17) else "subscription" if n in (18, 19, 20) else "customer"
        a.zendesk = "events" if n in (11, 12, 13, 14, 15, 16, 17) else "trigger"
        steady(a, 3 + n % 4, 1, ALL_FEATURES)
        good_ticket(a, 1000 + n)
    for n in range(1, 4):
        a = new("hightouch", n)
        a.interval, a.unit_amount, a.seats = "year", 150000, 40 + 10 * n  # 1,500.00 a seat a year
        a.started = NOW - (150 + 30 * n) * DAY
        steady(a, 8, 1, ALL_FEATURES)
        good_ticket(a, 1100 + n)
    for n, (seats, users) in enumerate([(5, 5), (5, 5), (10, 9), (4, 5)], 1):
        a = new("expansion", n)
        a.interval, a.unit_amount, a.seats = "year", 36000, seats
        a.started = NOW - (100 + 20 * n) * DAY
        steady(a, users, 1, ALL_FEATURES)
        good_ticket(a, 1200 + n)
    for n in range(1, 5):
        a = new("pastdue", n)
        a.interval, a.unit_amount, a.seats = "month", 2500, 5 + n
        a.started = NOW - (96 + 30 * n) * DAY  # the latest cycle began 6 days ago
        a.failed = True
        a.metadata_on = "subscription" if n == 4 else "customer"
        steady(a, 3, 1, TWO_FEATURES)
        a.tickets += [(1300 + 10 * n, "normal", -20, -19, "Good"), (1301 + 10 * n, "normal", -15, -14, "Bad")]
    for n in range(1, 5):
        a = new("cancel", n)
        if n <= 2:
            a.interval, a.unit_amount, a.seats = "year", 30000, 6
            a.started = NOW - 325 * DAY  # renews (and ends) in 40 days
        else:
            a.interval, a.unit_amount, a.seats = "month", 2500, 6
            a.started = NOW - (48 + 30 * n) * DAY  # renews (and ends) in 12 days
        a.cancel = True
        steady(a, 3, 1, TWO_FEATURES)
        a.tickets.append((1400 + n, "normal", -9, -8, "Bad"))
    for n in range(1, 5):
        a = new("urgent", n)
        a.interval, a.unit_amount, a.seats = "year", 36000, 10
        a.started = NOW - 100 * DAY - n * DAY
        a.zendesk = "events" if n >= 3 else "trigger"
        steady(a, 4, 1, ONE_FEATURE)
        base = 1500 + 10 * n
        a.tickets += [
            (base, "normal", -20, -18, "Good"),
            (base + 1, "low", -6, None, None),
            (base + 2, "urgent", -2, None, None),
            (base + 3, "high", -1, None, None),
        ]
        a.tickets.append((base + 4, "normal", -25, -24, "Bad"))
    for n in range(1, 5):
        a = new("usagedrop", n)
        a.interval, a.unit_amount, a.seats = "year", 36000, 10
        a.started = NOW - 200 * DAY - n * DAY
        features = TWO_FEATURES if n <= 2 else ONE_FEATURE
        steady(a, 3, 4, features, last_day=-7)  # 12 a day until 2026-11-02
        steady(a, 2, 2, features, first_day=-6)  # 4 a day this week
        a.tickets += [(1600 + 10 * n, "normal", -16, -15, "Good"), (1601 + 10 * n, "normal", -10, -9, "Bad")]
    for n in range(1, 5):
        a = new("stalled", n)
        a.seats = 3
        a.zendesk = "none"
        if n <= 2:
            a.interval, a.unit_amount = "month", 4900
            a.status, a.trial_days = "trialing", 30
            a.started = NOW - 20 * DAY  # trial ends in 10 days
            steady(a, 1 + n % 2, 3, NO_FIRST_VALUE, first_day=-19)
        else:
            a.interval, a.unit_amount = "month", 4900
            a.started = NOW - 25 * DAY  # paid, renews in 5 days
            steady(a, 2, 2, NO_FIRST_VALUE, first_day=-24)
    for n in range(1, 4):
        a = new("nousage", n)
        a.interval, a.unit_amount, a.seats = "month", 2000, 5
        a.started = NOW - 8 * DAY
        if n == 1:
            good_ticket(a, 1801, created=-6)
        elif n == 2:
            a.tickets.append((1802, "normal", -2, None, None))
        else:
            a.zendesk = "none"
    for n in range(1, 3):
        a = new("churned", n)
        a.interval, a.unit_amount, a.seats = "month", 2000, 4
        a.started = NOW - 140 * DAY
        a.canceled_at = NOW - 20 * DAY - n * HOUR
        steady(a, 2, 1, TWO_FEATURES, last_day=-21)
        a.tickets.append((1900 + n, "normal", -25, -24, "Bad"))
    a = new("atrisk", 1)
    a.interval, a.unit_amount, a.seats = "month", 12500, 40  # 5,000.00 a month: high touch
    a.started = NOW - 186 * DAY
    a.failed = True
    steady(a, 10, 1, ONE_FEATURE, last_day=-7)  # 10 a day until 2026-11-02
    steady(a, 2, 2, ONE_FEATURE, first_day=-6)  # 4 a day this week
    a.tickets += [(1950, "urgent", -3, None, None), (1951, "high", -2, None, None), (1952, "normal", -14, -13, "Bad")]
    for cohort in ("pastdue", "cancel", "urgent", "usagedrop", "stalled", "churned", "atrisk"):
        for x in accounts:
            if x.cohort == cohort:
                x.label = "at_risk"
    for x in accounts:
        if x.cohort == "expansion":
            x.label = "expansion"
    # Promoters and a passive among the healthy: NPS maths on real answers, no alert.
    by_id = {x.id: x for x in accounts}
    by_id["acct_healthy_01"].nps = [(-4, 10, "We run every QBR off it", "typeform")]
    by_id["acct_healthy_02"].nps = [(-9, 9, None, "segment")]
    by_id["acct_healthy_03"].nps = [(-3, 8, "Good, a few reports are slow", "segment")]

    # ---- archetypes added for calibration (foresight calibrate)
    for n in range(1, 4):
        a = new("silent", n)  # pays, known to analytics by a group call at signup, never uses it
        a.interval = "month" if n == 2 else "year"
        a.unit_amount, a.seats = (3000, 5) if a.interval == "month" else (36000, 5)
        a.started = NOW - (30 + 10 * n) * DAY - 3 * HOUR
        a.group_only = True
        good_ticket(a, 2000 + n, created=-20)
        a.label = "at_risk"
    for n in range(1, 3):
        a = new("neveronboarded", n)  # 21 days in, no group call, no event: analytics never saw it
        a.interval, a.unit_amount, a.seats = "month", 4900, 3
        a.started = NOW - 21 * DAY - 2 * HOUR
        if n == 2:
            a.status, a.trial_days = "trialing", 30
        a.zendesk = "none"
        a.label = "at_risk"
    for n in range(1, 3):
        a = new("failedonly", n)  # healthy, but the latest invoice failed: the money is owed
        a.interval, a.unit_amount, a.seats = "month", 3000, 8
        a.started = NOW - (94 + 30 * n) * DAY  # the latest cycle began 4 days ago
        a.fail_once = True
        steady(a, 4, 1, ALL_FEATURES)
        good_ticket(a, 2100 + n)
        a.label = "at_risk"
    for n in range(1, 3):
        a = new("detractor", n)  # healthy use, but the person answering the survey is unhappy
        if n == 1:
            a.interval, a.unit_amount, a.seats = "year", 36000, 20  # low touch
            a.nps = [(-2, 3, "Reports take minutes to load and nobody has fixed it", "typeform")]
        else:
            a.interval, a.unit_amount, a.seats = "year", 150000, 40  # high touch
            a.nps = [(-1, 5, "The price went up, the value did not", "segment")]
        a.started = NOW - (130 + 20 * n) * DAY
        steady(a, 5, 1, ALL_FEATURES)
        good_ticket(a, 2200 + n)
        a.label = "at_risk"
    slopes = [0.85, 0.8, None]
    for n in range(1, 4):
        a = new("decline", n)  # six weeks of fading use, then the cancellation
        a.interval, a.unit_amount, a.seats = "year", 36000, 12
        a.started = NOW - (250 + 20 * n) * DAY
        slope = slopes[n - 1]
        if slope is None:  # users leaving: each week a seventh fewer events
            level = lambda d: 1.0 if d < -42 else 0.96 ** (d + 42)
        else:
            level = (lambda s: lambda d: 1.0 if d < -42 else 1.0 - s * (d + 42) / 42)(slope)
        shaped(a, -(HISTORY_DAYS - 1), 0, level, ALL_FEATURES)
        good_ticket(a, 2300 + n, created=-30)
        a.cancel_requested = NOW - 2 * HOUR - n * 600
        a.cancels_at = a.cancel_requested
        a.label = "at_risk"
    for n in range(1, 3):
        a = new("seasonal", n)  # a holiday week at 60%, then back: no risk
        a.interval, a.unit_amount, a.seats = "year", 36000, 10
        a.started = NOW - (200 + 15 * n) * DAY
        shaped(a, -(HISTORY_DAYS - 1), 0, lambda d: 0.6 if -20 <= d <= -14 else 1.0, ALL_FEATURES)
        good_ticket(a, 2400 + n)
    a = new("bigtickets", 1)  # a big account whose many users file many tickets, all handled
    a.interval, a.unit_amount, a.seats = "year", 150000, 45
    a.started = NOW - 240 * DAY
    steady(a, 9, 1, ALL_FEATURES)
    for k in range(25):
        created = -28 + k
        rating = "Bad" if k in (4, 17) else "Good"
        a.tickets.append((2500 + k, "high" if k % 9 == 0 else "normal", created, created + 1 if created < -1 else None,
                          rating if created < -1 else None))
    a.tickets += [(2530, "normal", -1, None, None), (2531, "normal", -1, None, None)]
    assert len(accounts) == 68, len(accounts)
    return accounts


# ------------------------------------------------------------------------------------------ Stripe

def stripe_events(a):
    events = []
    seq = [0]

    def add(kind, created, obj, previous=None):
        seq[0] += 1
        events.append(g.event(f"evt_{a.short}_{seq[0]:03d}", kind, created, obj, previous=previous))

    account_meta = a.id if a.metadata_on != "none" else None
    p = g.price(f"price_{a.short}", {"month": "Team (monthly)", "year": "Team (yearly)"}[a.interval],
                a.unit_amount, interval=a.interval)
    length = {"month": 30, "year": 365}[a.interval] * DAY

    def sub(period_start, period_end, **kw):
        s = g.subscription(a.sub, a.cus, p, a.seats, period_start=period_start,
                           account_id=a.id if a.metadata_on in ("customer", "subscription") else None, **kw)
        item = s["items"]["data"][0]
        item.update(created=a.started, current_period_start=period_start, current_period_end=period_end)
        s.update(created=a.started, start_date=a.started, billing_cycle_anchor=a.started, pause_collection=None)
        if a.trial_days:
            s.update(trial_start=a.started, trial_end=a.started + a.trial_days * DAY)
        return s

    def inv(n, amount, created, period_start, period_end, **kw):
        i = g.invoice(f"in_{a.short}_{n}", a.cus, a.sub, amount, account_id=account_meta, **kw)
        i.update(created=created, period_start=period_start, period_end=period_end, due_date=None,
                 effective_at=created, webhooks_delivered_at=created + 5, number=f"{a.short.upper()}-{n:04d}")
        for line in i["lines"]["data"]:
            line["period"] = {"start": period_start, "end": period_end}
        return i

    cust = g.customer(a.cus, a.name, a.id if a.metadata_on == "customer" else None, created=a.started - 600)
    cust["invoice_prefix"] = a.short.upper()[:8]
    add("customer.created", a.started - 600, cust)
    amount = a.unit_amount * a.seats
    if a.trial_days:
        trial_end = a.started + a.trial_days * DAY
        add("customer.subscription.created", a.started, sub(a.started, trial_end, status="trialing",
                                                           trial_end=trial_end))
        return events
    add("customer.subscription.created", a.started, sub(a.started, a.started + length))
    add("invoice.paid", a.started + 60, inv(1, amount, a.started + 30, a.started, a.started + length, paid=True))
    cycles = (NOW - a.started) // length if a.canceled_at is None else (a.canceled_at - a.started) // length
    period_start = a.started + cycles * length
    period_end = period_start + length
    if cycles:
        previous = {"items": {"data": [{"current_period_start": period_start - length,
                                        "current_period_end": period_start}]},
                    "latest_invoice": f"in_{a.short}_1"}
        s = sub(period_start, period_end)
        s["latest_invoice"] = f"in_{a.short}_{cycles + 1}"
        add("customer.subscription.updated", period_start, s, previous=previous)
        n = cycles + 1
        if a.fail_once:
            failed = inv(n, amount, period_start, period_start, period_end, paid=False, attempt_count=1,
                         next_attempt=period_start + 5 * DAY)
            add("charge.failed", period_start + 50, charge_failed(a, n, amount, period_start + 50))
            add("invoice.payment_failed", period_start + 60, failed)
        elif a.failed:
            add("invoice.payment_failed", period_start + 60,
                inv(n, amount, period_start, period_start, period_end, paid=False, attempt_count=1,
                    next_attempt=period_start + 3 * DAY))
            add("invoice.payment_failed", period_start + 3 * DAY,
                inv(n, amount, period_start, period_start, period_end, paid=False, attempt_count=2,
                    next_attempt=period_start + 8 * DAY))
            past_due = sub(period_start, period_end, status="past_due")
            past_due["latest_invoice"] = f"in_{a.short}_{n}"
            add("customer.subscription.updated", period_start + 3 * DAY + 10, past_due,
                previous={"status": "active"})
        else:
            add("invoice.paid", period_start + 60, inv(n, amount, period_start, period_start, period_end, paid=True))
    if a.cancel_requested is not None:
        s = sub(period_start, period_end, cancel_at_period_end=True)
        s.update(cancel_at=period_end, canceled_at=a.cancel_requested,
                 cancellation_details={"comment": None, "feedback": "unused", "reason": "cancellation_requested"})
        add("customer.subscription.updated", a.cancel_requested, s,
            previous={"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None})
    if a.cancel:
        s = sub(period_start, period_end, cancel_at_period_end=True)
        s.update(cancel_at=period_end, canceled_at=NOW - 5 * DAY,
                 cancellation_details={"comment": None, "feedback": "too_expensive", "reason": "cancellation_requested"})
        add("customer.subscription.updated", NOW - 5 * DAY, s,
            previous={"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None})
    if a.canceled_at is not None:
        s = sub(period_start, period_end, status="canceled")
        s.update(canceled_at=a.canceled_at, ended_at=a.canceled_at,
                 cancellation_details={"comment": None, "feedback": "unused", "reason": "cancellation_requested"})
        add("customer.subscription.deleted", a.canceled_at, s)
    return events


def charge_failed(a, n, amount, created):
    """The charge of a cycle invoice, declined (Stripe sends `charge.failed` with the reason)."""
    c = g.fixture("charge")
    c.update(id=f"ch_{a.short}_{n}", customer=a.cus, amount=amount, amount_captured=0, amount_refunded=0,
             captured=False, paid=False, status="failed", created=created, refunded=False, receipt_url=None,
             failure_code="card_declined", failure_message="Your card has insufficient funds.",
             billing_details=c["billing_details"] | {"name": None})
    c["outcome"] = {"advice_code": "try_again_later", "network_advice_code": None, "network_decline_code": "51",
                    "network_status": "declined_by_network", "reason": "insufficient_funds", "risk_level": "normal",
                    "seller_message": "The bank returned the decline code `insufficient_funds`.", "type": "issuer_declined"}
    c["refunds"]["url"] = f"/v1/charges/ch_{a.short}_{n}/refunds"
    return c


# ------------------------------------------------------------------------------------------ Zendesk

def zendesk_bodies(a):
    """(time, name, body) of every webhook the account's organization sends."""
    if a.zendesk == "none":
        return []
    out = []
    external = a.id if a.zendesk == "trigger" else ""
    for tid, priority, created, solved, rating in a.tickets:
        created_t = NOW + created * DAY - (tid % 7) * HOUR
        t_created = iso(created_t)
        if a.zendesk == "trigger":
            out.append((created_t, f"{a.short}-trigger-ticket-{tid}-created",
                        trigger(tid, "open", priority, a.org, external, t_created, t_created)))
        else:
            out.append((created_t, f"{a.short}-event-ticket-{tid}-created",
                        event(f"01P{tid:06d}CREATED{a.org}", "created",
                              ticket(tid, "NEW", priority.upper(), a.org, t_created, t_created),
                              iso(created_t + 1))))
        if solved is not None:
            solved_t = NOW + solved * DAY - (tid % 5) * HOUR
            out.append((solved_t, f"{a.short}-event-ticket-{tid}-solved",
                        event(f"01P{tid:06d}SOLVED{a.org}", "status_changed",
                              ticket(tid, "SOLVED", priority.upper(), a.org, t_created, iso(solved_t)),
                              iso(solved_t + 1), previous="OPEN", current="SOLVED")))
        if rating is not None:
            rated_t = NOW + (solved + 1) * DAY - 3 * HOUR
            out.append((rated_t, f"{a.short}-trigger-ticket-{tid}-rated-{rating.lower()}",
                        trigger(tid, "solved", priority, a.org, external, t_created, iso(rated_t), rating)))
    return out


def event(evt_id, kind, ticket_body, time, previous=None, current=None):
    return {"type": f"zen:event-type:ticket.{kind}", "account_id": 9001, "id": evt_id, "time": time,
            "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket_body['id']}",
            "detail": ticket_body, "event": {"previous": previous, "current": current} if current else {}}


def ticket(tid, status, priority, org, created, updated, requester="3941"):
    return {"id": str(tid), "status": status, "priority": priority, "organization_id": org,
            "requester_id": requester, "assignee_id": "1207", "group_id": "360", "brand_id": "1",
            "created_at": created, "updated_at": updated, "is_public": True, "type": "INCIDENT",
            "tags": ["customer-success"], "via": {"channel": "web_form"}, "form_id": "1", "external_id": None,
            "subject": "(omitted: Foresight never stores ticket text)", "description": "(omitted)"}


def trigger(tid, status, priority, org, external, created, updated, satisfaction="unoffered"):
    return {"ticket_id": str(tid), "status": status, "priority": priority, "organization_id": org,
            "organization_external_id": external, "requester_id": "3941", "created_at": created,
            "updated_at": updated, "satisfaction": satisfaction}


# ------------------------------------------------------------------------------------------ Segment

def track(mid, user, name, ts, group):
    return {"type": "track", "event": name, "userId": user, "messageId": mid, "timestamp": ts,
            "properties": {}, "context": {"library": {"name": "analytics.js", "version": "5.2.0"},
                                          "groupId": group}}


def page(mid, user, ts, group):
    return {"type": "page", "name": "Home", "userId": user, "messageId": mid, "timestamp": ts,
            "properties": {"path": "/home"}, "context": {"library": {"name": "analytics.js", "version": "5.2.0"},
                                                          "groupId": group}}


def segment_messages(a):
    """(time, message) of the account's analytics: a group call, then its usage."""
    if a.group_only:
        first_day = (a.started - day_start(0)) // DAY
    elif not a.usage:
        return []
    else:
        first_day = min(a.usage)
    traits = {"name": a.name, "plan": f"Team ({a.interval}ly)"}
    if a.metadata_on == "none":
        traits["stripe_customer_id"] = a.cus
    if a.zendesk == "events":
        traits["zendesk_organization_id"] = int(a.org)  # numbers arrive as numbers
    group_t = max(day_start(first_day) + 7 * HOUR, a.started + 600)
    out = [(group_t, {"type": "group", "userId": f"{a.short}-u0", "groupId": a.id,
                      "messageId": f"grp-{a.short}", "timestamp": iso(group_t), "traits": traits})]
    for d in sorted(a.usage):
        for k, (user, name) in enumerate(a.usage[d]):
            t = day_start(d) + 8 * HOUR + k * 97  # all before 12:00, so inside NOW's day
            mid = f"msg-{a.short}-{d + 100:03d}-{k:03d}"
            msg = page(mid, user, iso(t), a.id) if name == "Logged In" and k % 2 else \
                track(mid, user, name, iso(t), a.id)
            out.append((t, msg))
    for d, score, comment, via in a.nps:
        if via != "segment":
            continue
        t = day_start(d) + 11 * HOUR + 30 * 60
        properties = {"score": score, "survey": "Quarterly NPS"}
        if comment:
            properties["comment"] = comment
        out.append((t, {"type": "track", "event": "NPS Survey Responded", "userId": f"{a.short}-u0",
                        "messageId": f"nps-{a.short}-{d + 100:03d}", "timestamp": iso(t), "properties": properties,
                        "context": {"library": {"name": "analytics.js", "version": "5.2.0"}, "groupId": a.id}}))
    return out


# ------------------------------------------------------------------------------------------ Typeform

def typeform_bodies(a):
    """(time, name, body) of the account's Typeform answers (NPS form, hidden field account_id)."""
    out = []
    for d, score, comment, via in a.nps:
        if via != "typeform":
            continue
        t = day_start(d) + 10 * HOUR
        answers = [{"type": "number", "number": score, "field": {"id": "Q1nps", "type": "nps", "ref": "nps"}}]
        if comment:
            answers.append({"type": "text", "text": comment,
                            "field": {"id": "Q2why", "type": "long_text", "ref": "why"}})
        body = {"event_id": f"01TF{a.short.upper()}{d + 100:03d}", "event_type": "form_response",
                "form_response": {
                    "form_id": "nps2026", "token": f"tok{a.short}{d + 100:03d}", "landed_at": iso(t - 90),
                    "submitted_at": iso(t), "hidden": {"account_id": a.id},
                    "definition": {"id": "nps2026", "title": "Quarterly NPS", "fields": [
                        {"id": "Q1nps", "ref": "nps", "type": "nps",
                         "title": "How likely are you to recommend us to a colleague?", "properties": {}},
                        {"id": "Q2why", "ref": "why", "type": "long_text",
                         "title": "What is the main reason for your score?", "properties": {}}]},
                    "answers": answers}}
        out.append((t, f"{a.short}-nps", body))
    return out


# ------------------------------------------------------------------------------------------ next day

def next_day(accounts):
    """What arrives between the first sweep (NOW) and the next (NOW + 1 day)."""
    by_id = {a.id: a for a in accounts}
    stripe = []
    # A healthy account's one-off invoice (extra seats) fails: raised by the webhook at once.
    healthy = by_id["acct_healthy_05"]
    i = g.invoice("in_healthy_05_seats", healthy.cus, healthy.sub, 6000, paid=False, attempt_count=1,
                  account_id=healthy.id, next_attempt=NOW + 4 * DAY)
    i.update(created=NOW + 2 * HOUR, billing_reason="subscription_update", period_start=NOW, period_end=NOW,
             due_date=None, effective_at=NOW + 2 * HOUR, number="HEALTHY05-0099")
    stripe.append(g.event("evt_healthy_05_901", "invoice.payment_failed", NOW + 3 * HOUR, i))
    # A past-due account's other invoice (a one-off add-on) fails too: a new dunning episode.
    pastdue = by_id["acct_pastdue_01"]
    i = g.invoice("in_pastdue_01_addon", pastdue.cus, pastdue.sub, 9900, paid=False, attempt_count=1,
                  account_id=pastdue.id, next_attempt=NOW + 3 * DAY)
    i.update(created=NOW + 3 * HOUR, billing_reason="manual", period_start=NOW, period_end=NOW, due_date=None,
             effective_at=NOW + 3 * HOUR, number="PASTDUE01-0099")
    stripe.append(g.event("evt_pastdue_01_901", "invoice.payment_failed", NOW + 4 * HOUR, i))
    zendesk = []
    # Two urgent tickets for a healthy account: a new spike, found by the next sweep.
    h7 = by_id["acct_healthy_07"]
    for k, (tid, priority) in enumerate([(1071, "urgent"), (1072, "high")]):
        t = iso(NOW + (5 + k) * HOUR)
        zendesk.append((f"{h7.short}-trigger-ticket-{tid}-created",
                        trigger(tid, "open", priority, h7.org, h7.id, t, t)))
    # One more urgent ticket for an account that alerted on urgent tickets a day ago: cool-down.
    u1 = by_id["acct_urgent_01"]
    t = iso(NOW + 7 * HOUR)
    zendesk.append((f"{u1.short}-trigger-ticket-1519-created", trigger(1519, "open", "urgent", u1.org, u1.id, t, t)))
    return stripe, zendesk


# ------------------------------------------------------------------------------------------ output

def clean(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.json"):
        old.unlink()


def main():
    accounts = portfolio()
    for sub in ("stripe", "zendesk", "segment", "typeform", "next-day/stripe", "next-day/zendesk"):
        clean(OUT / sub)

    stripe = sorted((e for a in accounts for e in stripe_events(a)), key=lambda e: (e["created"], e["id"]))
    for n, e in enumerate(stripe, 1):
        name = f"{n:03d}-{e['id'][4:].replace('_', '-')}-{e['type'].replace('.', '-')}.json"
        (OUT / "stripe" / name).write_text(json.dumps(e, indent=2) + "\n")

    zendesk = sorted((z for a in accounts for z in zendesk_bodies(a)), key=lambda z: (z[0], z[1]))
    for n, (_, name, body) in enumerate(zendesk, 1):
        (OUT / "zendesk" / f"{n:03d}-{name.replace('_', '-')}.json").write_text(json.dumps(body, indent=2) + "\n")

    # Segment batches the way the destination sends them: in time order across accounts, up to
    # 1000 messages each, compact JSON.
    messages = sorted((m for a in accounts for m in segment_messages(a)), key=lambda m: (m[0], m[1]["messageId"]))
    batches = [messages[i:i + 1000] for i in range(0, len(messages), 1000)]
    for n, batch in enumerate(batches, 1):
        body = [m for _, m in batch]
        (OUT / "segment" / f"{n:02d}-batch.json").write_text(json.dumps(body, separators=(",", ":")) + "\n")

    typeform = sorted((t for a in accounts for t in typeform_bodies(a)), key=lambda t: (t[0], t[1]))
    for n, (_, name, body) in enumerate(typeform, 1):
        (OUT / "typeform" / f"{n:02d}-{name.replace('_', '-')}.json").write_text(json.dumps(body, indent=2) + "\n")

    labels = {a.id: {"label": a.label, "archetype": a.cohort} | ({"cancels_at": iso(a.cancels_at)} if a.cancels_at else {})
              for a in accounts}
    (OUT / "labels.json").write_text(json.dumps(labels, indent=2, sort_keys=True) + "\n")

    later_stripe, later_zendesk = next_day(accounts)
    for n, e in enumerate(later_stripe, 1):
        name = f"{n:02d}-{e['id'][4:].replace('_', '-')}-{e['type'].replace('.', '-')}.json"
        (OUT / "next-day" / "stripe" / name).write_text(json.dumps(e, indent=2) + "\n")
    for n, (name, body) in enumerate(later_zendesk, 1):
        (OUT / "next-day" / "zendesk" / f"{n:02d}-{name.replace('_', '-')}.json").write_text(
            json.dumps(body, indent=2) + "\n")

    print(f"wrote {len(accounts)} accounts: {len(stripe)} Stripe events, {len(zendesk)} Zendesk webhooks, "
          f"{len(messages)} analytics messages in {len(batches)} batches, {len(typeform)} Typeform answers, and "
          f"{len(later_stripe) + len(later_zendesk)} next-day events, to {OUT}")


if __name__ == "__main__":
    main()
