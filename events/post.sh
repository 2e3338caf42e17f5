#!/usr/bin/env bash
# Signs the sample events as each source does and posts them to a running local runner.
#   bash events/post.sh [URL] [FILES OR FOLDERS...]
# URL defaults to http://127.0.0.1:8787; the Stripe secret comes from STRIPE_WEBHOOK_SECRET.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
url="${1:-http://127.0.0.1:8787}"
shift || true
[ "$#" -gt 0 ] || set -- "$root/events/stripe"
: "${STRIPE_WEBHOOK_SECRET:?set STRIPE_WEBHOOK_SECRET to the secret the runner was started with}"
cd "$root"
exec cargo run --locked --quiet -p foresight -- send --url "$url" "$@"
