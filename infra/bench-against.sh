#!/usr/bin/env bash
# Compares this tree's benchmarks with an earlier commit's, on the same machine at the same time:
# the Stripe webhook's CPU per event, the health sweep (accounts/s on one core, RCU per 1,000
# accounts) and each function's cold start and release size. The two trees' benchmarks run
# alternately, a few rounds, so the machine's load falls on both alike.
#
#   bash infra/bench-against.sh 134bba7        # the tree before the re-layering (issue 12)
#
# The earlier tree is checked out in a temporary worktree and built into this tree's target
# directory (the dependencies they share are built once). Each tree runs its own benchmarks, so
# a figure is compared only where both print it. Needs the local stack (started here).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
base="${1:?usage: bash infra/bench-against.sh <commit>}"
rounds="${FORESIGHT_BENCH_ROUNDS:-3}"
bash infra/local-stack.sh start
eval "$(bash infra/local-stack.sh env)"
(cd tests/stripe-oracle && npm ci --no-audit --no-fund --loglevel=error)

other="$(mktemp -d)/base"
git worktree add --detach -q "$other" "$base"
trap 'git worktree remove --force "$other"' EXIT
export CARGO_TARGET_DIR="$root/target"
functions=(-p stripe-webhook -p zendesk-webhook -p analytics-webhook -p health-sweep -p renewal-sweep -p dispatcher)

build() {
  (cd "$1" && cargo bench --locked -q -p foresight-shared --bench stripe_ingest --bench health_sweep --no-run \
    && cargo bench --locked -q -p foresight --bench cold_start --no-run)
}
# Release binaries of the six functions the cold-start bench starts, each tree's own: copied
# aside, since both trees build into the same target/release.
functions_of() {
  (cd "$1" && cargo build --release --locked -q "${functions[@]}")
  mkdir -p "$2"
  for f in stripe-webhook zendesk-webhook analytics-webhook health-sweep renewal-sweep dispatcher; do
    cp "$CARGO_TARGET_DIR/release/$f" "$2/"
  done
}
echo "== building $base and this tree (release)"
build "$other"
build "$root"
functions_of "$other" "$other/.bins"
functions_of "$root" "$root/target/bench-against/bins"

machine() { echo "   load average $(cut -d' ' -f1-3 /proc/loadavg)"; }
for round in $(seq 1 "$rounds"); do
  for tree in "$other" "$root"; do
    name="$([ "$tree" = "$root" ] && echo "this tree" || echo "$base")"
    echo "== round $round, $name: Stripe verify + parse + normalise"
    machine
    (cd "$tree" && cargo bench --locked -q -p foresight-shared --bench stripe_ingest 2>/dev/null | grep -v '^{' \
      | grep -v '^repetition')
  done
done
for tree in "$other" "$root"; do
  name="$([ "$tree" = "$root" ] && echo "this tree" || echo "$base")"
  echo "== $name: health sweep"
  machine
  (cd "$tree" && cargo bench --locked -q -p foresight-shared --bench health_sweep | grep -v '^{')
done
for tree in "$other" "$root"; do
  name="$([ "$tree" = "$root" ] && echo "this tree" || echo "$base")"
  bins="$([ "$tree" = "$root" ] && echo "$root/target/bench-against/bins" || echo "$other/.bins")"
  echo "== $name: cold start and release size of six functions"
  machine
  for f in stripe-webhook zendesk-webhook analytics-webhook health-sweep renewal-sweep dispatcher; do
    cp "$bins/$f" "$CARGO_TARGET_DIR/release/$f"
  done
  (cd "$tree" && cargo bench --locked -q -p foresight --bench cold_start | grep -v '^{')
done
