#!/usr/bin/env bash
# Sets up and runs every test on a fresh machine: installs and starts the local stack
# (DynamoDB Local, the moto SQS server), installs the official Stripe library used as a test
# oracle, checks formatting and clippy lints, lints the SAM template, runs the workspace tests
# (the layer check among them: shared/tests/layers.rs), then builds the functions for
# deployment as the README's deploy guide does (`sam build`, arm64) and checks their sizes.
# Tests that need the stack fail loudly without it: nothing is skipped.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is missing: install Node.js 18 or newer" >&2; exit 1; }

bash infra/local-stack.sh start
eval "$(bash infra/local-stack.sh env)"
if [ "${FORESIGHT_KEEP_STACK:-}" != "1" ]; then
  trap 'bash infra/local-stack.sh stop' EXIT
fi

echo "== official stripe library (test oracle)"
(cd tests/stripe-oracle && npm ci --no-audit --no-fund --loglevel=error)

echo "== Segment's server libraries (analytics-node, analytics-python) as test clients"
bash tests/segment-libraries/install.sh
bash tests/dashboard-browser/install.sh  # Chromium (apt), playwright-core, oauth2-mock-server

echo "== format and lints (cargo fmt, clippy with warnings as errors)"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== template checks"
bash infra/check-template.sh

echo "== workspace tests"
cargo test --workspace --locked

echo "== deploy build (sam build: arm64 functions, sizes against their budgets: 8 MB, playbooks 10 MB)"
bash infra/sam-build.sh
