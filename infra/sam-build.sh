#!/usr/bin/env bash
# The deploy build, exactly as the README's deploy guide runs it (step 3): `sam build
# --beta-features`, which cross-builds every function for arm64 with cargo-lambda (Zig links;
# no Docker) into .aws-sam/build/, then each function's bootstrap size against its budget (a
# larger one exits non-zero, naming it): 8 MB for every function, which keeps cold starts short
# on the request path, except the playbooks function (once a day, and the in-app queue), which
# carries the IANA time-zone database of quiet hours (~1.5 MB of tables, chrono-tz) and the
# email template engine: 10 MB.
#
#   bash infra/sam-build.sh
#
# Installs on first use, pinned: cargo-lambda (PyPI, brings Zig) into .tools/venv-lambda, the
# SAM CLI through infra/check-template.sh, and Rust's aarch64-unknown-linux-gnu target.
set -euo pipefail
CARGO_LAMBDA_VERSION="1.9.2"
SIZE_BUDGET_BYTES=8000000
declare -A SIZE_BUDGET_OVERRIDES=([PlaybooksFunction]=10000000)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv-lambda"
sam="$root/.tools/venv-cfn/bin/sam"
die() { echo "sam-build: $*" >&2; exit 1; }

if ! [ -x "$venv/bin/cargo-lambda" ] || [ "$(cat "$venv/versions" 2>/dev/null)" != "$CARGO_LAMBDA_VERSION" ]; then
  echo "sam-build: installing cargo-lambda==$CARGO_LAMBDA_VERSION into $venv"
  python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" \
    || die "pip install cargo-lambda failed (see above)"
  echo "$CARGO_LAMBDA_VERSION" >"$venv/versions"
fi
[ -x "$sam" ] || bash "$root/infra/check-template.sh" >/dev/null || die "installing the SAM CLI failed"
rustup target list --installed | grep -qx aarch64-unknown-linux-gnu \
  || rustup target add aarch64-unknown-linux-gnu || die "rustup target add aarch64-unknown-linux-gnu failed"

cd "$root"
export PATH="$venv/bin:$PATH" SAM_CLI_TELEMETRY=0
# `sam build` needs no AWS access; a region keeps it from asking for one.
export AWS_REGION="${AWS_REGION:-us-east-1}" AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-us-east-1}"
started=$(date +%s)
# `sam build` runs `cargo lambda build --release --arm64 --bin <Binary>` once per function, one
# after the other: each waits for the previous one's whole-program (LTO) link, a single-threaded
# minutes-long step. One cargo invocation for every function first links two at a time (cargo's
# jobs), with the same command line, features and profile, so sam's own builds then find each
# binary fresh and only copy it. The binaries are the ones the template names.
mapfile -t binaries < <(sed -n 's/^ *Binary: *\([a-z0-9-]*\) *$/\1/p' template.yaml)
[ "${#binaries[@]}" -gt 0 ] || die "no BuildProperties Binary in template.yaml"
cargo lambda build --release --arm64 $(printf -- '--bin %s ' "${binaries[@]}") \
  || die "cargo lambda build failed (above)"
echo "sam-build: ${#binaries[@]} functions compiled in $(( $(date +%s) - started )) s"
"$sam" build --beta-features || die "sam build failed (above)"
echo "sam-build: built in $(( $(date +%s) - started )) s"

over=()
for bootstrap in .aws-sam/build/*/bootstrap; do
  size=$(stat -c %s "$bootstrap")
  function_name=$(basename "$(dirname "$bootstrap")")
  budget=${SIZE_BUDGET_OVERRIDES[$function_name]:-$SIZE_BUDGET_BYTES}
  awk -v n="$function_name" -v s="$size" -v b="$budget" \
    'BEGIN { printf "sam-build: %-26s %5.2f MB (%d bytes; budget %d MB)\n", n, s / 1e6, s, b / 1e6 }'
  [ "$size" -lt "$budget" ] || over+=("$function_name")
done
[ "${#over[@]}" -eq 0 ] || die "over their budget: ${over[*]}"
