#!/usr/bin/env python3
"""Builds the sample Typeform webhooks in events/typeform/: answers to a quarterly NPS form whose
hidden field `account_id` names the account (Typeform's `form_response` shape: definition and
answers). Acme is a promoter; Globex, whose card was declined twice that week, is a detractor and
says why; one answer came from a link without the hidden field (kept as unlinked, never lost).
Bodies are unsigned: `foresight send` and the demo sign them with the Typeform secret.
"""
import datetime
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
OUT = ROOT / "typeform"
T0 = 1793610000  # 2026-11-02T09:00:00Z, the sample week's Monday (events/generate.py)
DAY = 86400


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def response(event_id, token, submitted, hidden, score, comment=None):
    answers = [{"type": "number", "number": score, "field": {"id": "Q1nps", "type": "nps", "ref": "nps"}}]
    if comment:
        answers.append({"type": "text", "text": comment, "field": {"id": "Q2why", "type": "long_text", "ref": "why"}})
    return {"event_id": event_id, "event_type": "form_response", "form_response": {
        "form_id": "nps2026", "token": token, "landed_at": iso(submitted - 75), "submitted_at": iso(submitted),
        "hidden": hidden, "definition": {"id": "nps2026", "title": "Quarterly NPS", "fields": [
            {"id": "Q1nps", "ref": "nps", "type": "nps", "title": "How likely are you to recommend us to a colleague?",
             "properties": {}},
            {"id": "Q2why", "ref": "why", "type": "long_text", "title": "What is the main reason for your score?",
             "properties": {}}]},
        "answers": answers}}


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    bodies = [
        ("01-acme-nps-promoter", response("01JDEMOACME0001", "tok_acme_1", T0 + 4 * DAY + 3600,
                                          {"account_id": "acct_acme"}, 9, "Exports save us a day a week")),
        ("02-globex-nps-detractor", response("01JDEMOGLOBEX01", "tok_globex_1", T0 + 6 * DAY + 7200,
                                             {"account_id": "acct_globex"}, 4,
                                             "Billing keeps failing and nobody has called us back")),
        ("03-unlinked-nps", response("01JDEMONOHIDDEN", "tok_anon_1", T0 + 6 * DAY + 9000, {}, 7)),
    ]
    for name, body in bodies:
        (OUT / f"{name}.json").write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {len(bodies)} Typeform webhooks to {OUT}")


if __name__ == "__main__":
    main()
