#!/usr/bin/env python3
"""Writes the sample Zendesk webhooks in events/zendesk/: event-subscription bodies (as Zendesk's
event webhooks send them, ids as strings) and trigger bodies in the shape the README recommends.
Acme's organization carries its external id (acct_acme) in a trigger, so it links itself; Globex's
organization (8201) is linked by the demo with `POST /links`, merging its provisional record."""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "zendesk"


def event(evt_id, kind, ticket, time, previous=None, current=None):
    return {"type": f"zen:event-type:ticket.{kind}", "account_id": 9001, "id": evt_id, "time": time,
            "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{ticket['id']}", "detail": ticket,
            "event": {"previous": previous, "current": current} if current else {}}


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


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    files = [
        ("01-acme-trigger-ticket-101-created", trigger(101, "open", "urgent", "8193", "acct_acme",
                                                        "2026-11-03T10:00:00Z", "2026-11-03T10:00:00Z")),
        ("02-acme-event-ticket-102-created", event("01JAC0000000000000000102A", "created",
            ticket(102, "NEW", "HIGH", "8193", "2026-11-04T08:30:00Z", "2026-11-04T08:30:00Z"), "2026-11-04T08:30:01Z")),
        ("03-globex-event-ticket-201-created", event("01JGX0000000000000000201A", "created",
            ticket(201, "OPEN", "URGENT", "8201", "2026-11-05T14:00:00Z", "2026-11-05T14:00:00Z"), "2026-11-05T14:00:01Z")),
        ("04-acme-event-ticket-101-solved", event("01JAC0000000000000000101B", "status_changed",
            ticket(101, "SOLVED", "URGENT", "8193", "2026-11-03T10:00:00Z", "2026-11-05T16:20:00Z"),
            "2026-11-05T16:20:01Z", previous="OPEN", current="SOLVED")),
        ("05-acme-trigger-ticket-101-rated-good", trigger(101, "solved", "urgent", "8193", "acct_acme",
            "2026-11-03T10:00:00Z", "2026-11-06T09:00:00Z", "Good")),
        ("06-globex-event-ticket-202-created", event("01JGX0000000000000000202A", "created",
            ticket(202, "OPEN", "HIGH", "8201", "2026-11-06T11:00:00Z", "2026-11-06T11:00:00Z"), "2026-11-06T11:00:01Z")),
        ("07-globex-trigger-ticket-201-rated-bad", trigger(201, "solved", "urgent", "8201", "",
            "2026-11-05T14:00:00Z", "2026-11-07T12:00:00Z", "Bad")),
    ]
    for name, body in files:
        (OUT / f"{name}.json").write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {len(files)} events to {OUT}")


if __name__ == "__main__":
    main()
