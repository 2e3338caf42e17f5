#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint`, both pinned, installed into
# .tools/venv-cfn from PyPI on first use (needs only python3 with the venv module and network
# access to PyPI). Neither check needs AWS credentials or network access to AWS: the dummy
# credentials below only keep botocore from looking for real ones.
#
#   bash infra/check-template.sh        # exit 0 only if both checks pass with no findings
#
# The install is skipped when .tools/venv-cfn/versions matches the pins below and both tools
# are present; `rm -rf .tools/venv-cfn` starts over.
set -euo pipefail
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv-cfn"
marker="$venv/versions"
wanted="cfn-lint=$CFN_LINT_VERSION aws-sam-cli=$SAM_CLI_VERSION"

die() { echo "check-template: $*" >&2; exit 1; }

installed() {
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$wanted" ] && [ -x "$venv/bin/cfn-lint" ] && [ -x "$venv/bin/sam" ]
}

install() {
  command -v python3 >/dev/null || die "python3 is missing"
  python3 -c 'import venv, ensurepip' 2>/dev/null \
    || die "python3's venv module (with ensurepip) is missing (Debian/Ubuntu: apt-get install python3-venv)"
  echo "check-template: installing cfn-lint==$CFN_LINT_VERSION and aws-sam-cli==$SAM_CLI_VERSION into $venv"
  rm -f "$marker"
  python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION" || die "pip install failed (see above)"
  # Check what pip actually installed before trusting the marker.
  local got_lint got_sam
  got_lint="$("$venv/bin/cfn-lint" --version)" || die "cfn-lint does not run"
  got_sam="$("$venv/bin/sam" --version)" || die "sam does not run"
  case "$got_lint" in *" $CFN_LINT_VERSION"*) ;; *) die "expected cfn-lint $CFN_LINT_VERSION, got: $got_lint" ;; esac
  case "$got_sam" in *" $SAM_CLI_VERSION"*) ;; *) die "expected sam $SAM_CLI_VERSION, got: $got_sam" ;; esac
  echo "$wanted" >"$marker"
}

if ! installed; then
  mkdir -p "$root/.tools"
  if command -v flock >/dev/null; then
    # Serialize concurrent first runs; the second one finds the finished install.
    exec 9>"$root/.tools/venv-cfn.lock"
    flock 9
  fi
  installed || install
fi

cd "$root"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true
# cfn-lint exits non-zero on any error, warning or informational finding it reports (by default
# errors and warnings); its output names each one.
"$venv/bin/cfn-lint" -- template.yaml || die "cfn-lint found problems in template.yaml (above)"
echo "check-template: cfn-lint $CFN_LINT_VERSION passed"
"$venv/bin/sam" validate --lint --template template.yaml --region us-east-1 \
  || die "sam validate --lint failed (above)"
echo "check-template: sam validate --lint ($SAM_CLI_VERSION) passed"
