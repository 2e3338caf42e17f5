#!/usr/bin/env bash
# Installs what the dashboard tests drive, pinned, on a fresh machine:
#   - Debian's Chromium (apt-get) when /usr/bin/chromium is missing;
#   - playwright-core (drives that Chromium; it downloads no browser of its own) and
#     oauth2-mock-server (a local OIDC issuer), from package-lock.json here, with `npm ci`
#     into .tools/dashboard-browser/ (git-ignored).
# Idempotent: a marker holding the hash of the pins skips npm once installed. Called by
# infra/test.sh and by the tests themselves (tests/dashboard_browser.rs, tests/dashboard_auth.rs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="$root/.tools/dashboard-browser"
marker="$dest/installed"

die() { echo "dashboard-browser: $*" >&2; exit 1; }
for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || die "missing: $tool (Node.js 20+ with npm)"
done
if [ ! -x /usr/bin/chromium ]; then
  echo "dashboard-browser: installing Debian's chromium (apt-get)"
  command -v apt-get >/dev/null 2>&1 || die "/usr/bin/chromium is missing and there is no apt-get: install Chromium"
  as_root=()
  [ "$(id -u)" = 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq chromium >/dev/null \
    || die "apt-get install chromium failed"
fi
pins="$(cat "$here/package.json" "$here/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$pins" ]; then
  exit 0
fi
mkdir -p "$dest"
rm -f "$marker"
echo "dashboard-browser: installing playwright-core and oauth2-mock-server (npm ci) into $dest"
cp "$here/package.json" "$here/package-lock.json" "$dest/"
(cd "$dest" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
  || die "npm ci failed (see npm's message above)"
echo "$pins" >"$marker"
echo "dashboard-browser: installed"
