#!/usr/bin/env bash
# Installs Segment's own server libraries, pinned, into .tools/segment-libraries/ (git-ignored):
#   - analytics-node (npm @segment/analytics-node, package-lock.json here) with `npm ci`;
#   - analytics-python (PyPI segment-analytics-python, requirements.txt here) in a venv.
# Idempotent: a marker holding the hash of the pins skips the work once installed. Called by
# infra/test.sh and by tests/segment_libraries.rs itself (so the test runs alone too).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="$root/.tools/segment-libraries"
marker="$dest/installed"

die() { echo "segment-libraries: $*" >&2; exit 1; }
for tool in node npm python3; do
  command -v "$tool" >/dev/null 2>&1 || die "missing: $tool (Node.js 20+ with npm, Python 3.9+ with venv)"
done
pins="$(cat "$here/package.json" "$here/package-lock.json" "$here/requirements.txt" | sha256sum | cut -d' ' -f1)"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$pins" ]; then
  exit 0
fi
mkdir -p "$dest/npm"
rm -f "$marker"
echo "segment-libraries: installing @segment/analytics-node (npm ci) and segment-analytics-python (pip) into $dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/npm/"
(cd "$dest/npm" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
  || die "npm ci of @segment/analytics-node failed (see npm's message above)"
if [ ! -x "$dest/venv/bin/python" ]; then
  python3 -m venv "$dest/venv" || { rm -rf "$dest/venv"; die "python3 -m venv failed (Debian: apt-get install python3-venv)"; }
fi
"$dest/venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" \
  || die "pip install -r requirements.txt failed (see pip's message above)"
echo "$pins" >"$marker"
echo "segment-libraries: installed"
