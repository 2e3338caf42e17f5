#!/usr/bin/env bash
# Benchmarks Stripe ingest: our verify + parse + normalise against its floor (the HMAC alone)
# and the official stripe-node constructEvent (verify + JSON.parse) on the same payload, timed
# in the same repetitions, and DynamoDB write cost per event against DynamoDB Local; Zendesk and
# Segment verify + parse against their HMAC floor; instruction counts under callgrind (a figure
# that does not move with the machine's load); analytics write cost per message; the health sweep
# (accounts scored per second per core, RCU per 1000 accounts against the scan floor, item
# sizes); the account item's growth over a year of events with and without the sweep's retention; the alert latency from a signed webhook to the Slack request at a mock (runner with
# moto SQS); GET /kpis over 10,000 accounts with a year of history (reads, RCU, time); each function binary's cold start (process start to its first request for an event
# at a mock Runtime API) and release binary size. Release build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash infra/local-stack.sh start
eval "$(bash infra/local-stack.sh env)"
(cd tests/stripe-oracle && npm ci --no-audit --no-fund --loglevel=error)

# CPU figures (see shared/benches/common/mod.rs for the method): the Stripe event against its
# HMAC floor and stripe-node in the same repetitions, then Zendesk and Segment against theirs.
echo "== machine: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores), $(node --version)"
cargo bench --locked -q -p foresight-shared --bench stripe_ingest | grep -v '^{'
cargo bench --locked -q -p foresight-shared --bench webhook_parsing | grep -v '^{'
cargo bench --locked -q -p foresight-shared --bench analytics_ingest | grep -v '^{'
cargo bench --locked -q -p foresight-shared --bench account_growth | grep -v '^{'
bash infra/bench-instructions.sh
cargo bench --locked -q -p foresight-shared --bench health_sweep | grep -v '^{'
cargo bench --locked -q -p foresight-shared --bench kpis | grep -v '^{'
cargo bench --locked -q -p foresight --bench alert_latency | grep -v '^{' | grep -v '^listening'
cargo build --release --locked -q -p stripe-webhook -p zendesk-webhook -p analytics-webhook -p health-sweep -p renewal-sweep -p dispatcher
cargo bench --locked -q -p foresight --bench cold_start | grep -v '^{'
