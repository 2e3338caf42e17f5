#!/usr/bin/env bash
# The main job on a fresh machine: builds the `foresight` runner and runs `foresight demo`, which
# starts the local runner, posts the signed sample events from events/ and prints the resulting
# account records. Uses the in-memory store: nothing else to install.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
exec cargo run --locked --quiet -p foresight -- demo "$@"
