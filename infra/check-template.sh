#!/usr/bin/env bash
# Lints template.yaml with cfn-lint and `sam validate --lint`, both pinned, installed into
# .tools/venv-cfn from PyPI on first use. Neither needs AWS credentials or network access to AWS.
set -euo pipefail
CFN_LINT_VERSION="1.58.0"
SAM_CLI_VERSION="1.170.0"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.tools/venv-cfn"
marker="$venv/versions"
wanted="cfn-lint=$CFN_LINT_VERSION aws-sam-cli=$SAM_CLI_VERSION"

if [ ! -f "$marker" ] || [ "$(cat "$marker")" != "$wanted" ]; then
  command -v python3 >/dev/null || { echo "check-template: python3 is missing" >&2; exit 1; }
  echo "check-template: installing cfn-lint==$CFN_LINT_VERSION and aws-sam-cli==$SAM_CLI_VERSION"
  python3 -m venv "$venv" || { echo "check-template: python3 -m venv failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "aws-sam-cli==$SAM_CLI_VERSION"
  echo "$wanted" >"$marker"
fi

cd "$root"
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export SAM_CLI_TELEMETRY=0 AWS_EC2_METADATA_DISABLED=true
"$venv/bin/cfn-lint" template.yaml
echo "check-template: cfn-lint passed"
"$venv/bin/sam" validate --lint --template template.yaml --region us-east-1
echo "check-template: sam validate --lint passed"
