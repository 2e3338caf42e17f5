#!/usr/bin/env bash
# Benchmarks Stripe ingest: our verify + parse + normalise against the official stripe-node
# constructEvent (verify + JSON.parse) on the same payload, in the same run, and DynamoDB write
# cost per event against DynamoDB Local; analytics write cost per message; the health sweep
# (accounts scored per second per core, RCU per 1000 accounts against the scan floor, item
# sizes); the alert latency from a signed webhook to the Slack request at a mock (runner with
# moto SQS); GET /kpis over 10,000 accounts with a year of history (reads, RCU, time); each function binary's cold start (process start to its first request for an event
# at a mock Runtime API) and release binary size. Release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash infra/local-stack.sh start
eval "$(bash infra/local-stack.sh env)"
(cd tests/stripe-oracle && npm ci --no-audit --no-fund --loglevel=error)

payload="events/stripe/15-acme-004-customer-subscription-updated.json"
ours_out="$(cargo bench --locked -q -p foresight-shared --bench stripe_ingest)"
echo "$ours_out" | grep -v '^{'
node_out="$(node tests/stripe-oracle/bench.js "$payload" whsec_bench_secret)"
echo "stripe-node: $node_out"
cargo bench --locked -q -p foresight-shared --bench analytics_ingest | grep -v '^{'
python3 - "$ours_out" "$node_out" <<'PY'
import json, sys
ours = next(json.loads(l) for l in sys.argv[1].splitlines() if l.startswith('{"impl":"foresight"'))
node = json.loads(sys.argv[2].strip().splitlines()[-1])
print(f"ratio: stripe-node constructEvent {node['ns_per_event']/1000:.1f} µs / foresight verify+parse+normalise "
      f"{ours['ns_per_event']/1000:.1f} µs = {node['ns_per_event']/ours['ns_per_event']:.1f}x")
PY
cargo bench --locked -q -p foresight-shared --bench health_sweep | grep -v '^{'
cargo bench --locked -q -p foresight-shared --bench kpis | grep -v '^{'
cargo bench --locked -q -p foresight --bench alert_latency | grep -v '^{' | grep -v '^listening'
cargo build --release --locked -q -p stripe-webhook -p zendesk-webhook -p analytics-webhook -p health-sweep -p renewal-sweep -p dispatcher
cargo bench --locked -q -p foresight --bench cold_start | grep -v '^{'
