#!/usr/bin/env bash
# Signs the sample events as each source does and posts them to a running local runner.
#   bash events/post.sh [URL] [FILES OR FOLDERS...]
# URL defaults to http://127.0.0.1:8787.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
url="${1:-http://127.0.0.1:8787}"
shift || true
[ "$#" -gt 0 ] || set -- "$root/events/stripe" "$root/events/zendesk" "$root/events/segment"
# Secrets: STRIPE_WEBHOOK_SECRET, ZENDESK_WEBHOOK_SECRET, SEGMENT_SHARED_SECRET, as the runner has.
cd "$root"
exec cargo run --locked --quiet -p foresight -- send --url "$url" "$@"
