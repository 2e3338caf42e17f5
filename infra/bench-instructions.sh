#!/usr/bin/env bash
# Instructions per Stripe event under callgrind: a second figure for the Stripe benchmark that,
# unlike time, does not move with whatever else the machine runs. Each figure is run by the
# benchmark binary 1,000 times and not at all (shared/benches/stripe_ingest.rs,
# FORESIGHT_BENCH_CALLGRIND); the difference of the two counts, over 1,000, is per event.
#
#   bash infra/bench-instructions.sh
#
# Valgrind hides the CPU's SHA extensions from the program, so under callgrind the HMAC runs
# sha2's portable code: the verify figures here are the portable SHA-256's, and the parse +
# normalise figure is the one to compare across changes. Installs valgrind (apt) when missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if ! command -v valgrind >/dev/null; then
  echo "bench-instructions: installing valgrind (apt)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi
bench="$(cargo bench --locked -q -p foresight-shared --bench stripe_ingest --no-run --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "stripe_ingest" and m.get("executable"):
        print(m["executable"])')"
[ -x "$bench" ] || { echo "bench-instructions: no stripe_ingest benchmark binary" >&2; exit 1; }
echo "instructions per Stripe event (callgrind, 1,000 runs each; SHA-256 portable under valgrind):"
for figure in "verify + parse + normalise" "parse + normalise" "verify" "HMAC-SHA256" "serde_json skim"; do
  count() {
    FORESIGHT_BENCH_CALLGRIND="$figure" FORESIGHT_BENCH_CALLS="$1" valgrind --tool=callgrind \
      --callgrind-out-file=/dev/null "$bench" 2>&1 | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
  }
  with="$(count 1000)"; without="$(count 0000)"
  [ -n "$with" ] && [ -n "$without" ] || { echo "bench-instructions: callgrind gave no count for $figure" >&2; exit 1; }
  printf '  %-28s %8d instructions\n' "$figure" "$(((with - without) / 1000))"
done
