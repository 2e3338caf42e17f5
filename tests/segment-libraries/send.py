"""Sends identify, group and track calls with Segment's own analytics-python, configured only
with the host and the write key, and prints what the library reported. Input (stdin, JSON):
{"host", "writeKey", "userId", "groupId", "traits", "events": [{"event", "properties"}]}.
Output (stdout, JSON): {"errors": ["<status> <the library's error>", ...]}."""
import json
import sys

import segment.analytics as analytics

config = json.load(sys.stdin)
analytics.write_key = config["writeKey"]
analytics.host = config["host"]
errors = []


def on_error(error, items):
    # Observing the library's own report of a batch it gave up on (a 401 is not retried).
    errors.append(f"{getattr(error, 'status', '?')} {error}")


analytics.on_error = on_error

analytics.identify(config["userId"], {"plan": "pro"})
analytics.group(config["userId"], config["groupId"], config["traits"])
for call in config["events"]:
    analytics.track(config["userId"], call["event"], call["properties"])
analytics.flush()
analytics.shutdown()
print(json.dumps({"errors": errors}))
