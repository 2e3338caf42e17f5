#!/usr/bin/env python3
"""Writes the sample product-analytics deliveries in events/segment/: Segment-spec messages as the
Webhooks (Actions) destination sends them, one message or a batch array. Group ids are the
product's account ids; one group call's traits link a Stripe customer and a Zendesk organization;
Initech's user is seen before their group call (kept under the user, merged when it arrives)."""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "segment"
FEATURES = ["Report Exported", "Dashboard Shared", "Integration Connected", "Logged In"]


def track(mid, user, event, ts, group=None):
    m = {"type": "track", "event": event, "userId": user, "messageId": mid, "timestamp": ts,
         "properties": {}, "context": {"library": {"name": "analytics.js", "version": "5.2.0"}}}
    if group:
        m["context"]["groupId"] = group
    return m


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    batch = []
    n = 0
    for day in range(2, 9):
        for account, users in [("acct_acme", 6), ("acct_globex", 3 if day < 6 else 1)]:
            for u in range(users):
                for f in FEATURES[: 4 if account == "acct_acme" else 1 + (day < 5)]:
                    n += 1
                    batch.append(track(f"msg-{n:05d}", f"{account}-u{u}", f, f"2026-11-{day:02d}T{9 + u:02d}:15:00Z",
                                       group=account))
    files = {
        "01-batch-acme-globex.json": batch,
        "03-group-initech.json": {"type": "group", "userId": "initech-u1", "groupId": "acct_initech",
                                   "messageId": "grp-initech-1", "timestamp": "2026-11-06T10:00:00Z",
                                   "traits": {"name": "Initech", "plan": "Starter",
                                              "stripe_customer_id": "cus_initech"}},
        "02-track-initech-before-group.json": track("msg-initech-0", "initech-u1", "Report Exported",
                                                     "2026-11-05T16:00:00Z"),
        "04-identify-ignored.json": {"type": "identify", "userId": "acct_acme-u0", "messageId": "idf-1",
                                     "timestamp": "2026-11-06T10:00:00Z", "traits": {"email": "never-stored@example.com"}},
    }
    for name, body in files.items():
        (OUT / name).write_text(json.dumps(body, indent=2 if not isinstance(body, list) else None) + "\n")
    print(f"wrote {len(files)} deliveries ({len(batch)} messages in the batch) to {OUT}")


if __name__ == "__main__":
    main()
