#!/usr/bin/env bash
# The README's second command: install, then run the whole test suite — lint, unit tests, and
# the integration tests that bring the lab up on this machine and tear it down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The lab tests drive a real browser: Debian's chromium and its driver.
browser=()
for pkg in chromium chromium-driver; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || browser+=("$pkg")
done
if ((${#browser[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${browser[@]}"
fi
.venv/bin/ruff check cli tests roles bench
.venv/bin/ansible-lint --offline --profile production roles playbooks tests/roles
exec .venv/bin/pytest "$@"
