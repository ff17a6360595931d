#!/usr/bin/env bash
# The README's second command: install, then run the whole test suite — lint, unit tests, and
# the integration tests that bring the lab up on this machine and tear it down at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
# The lab tests drive a real browser (Debian's chromium and its driver), mount the drive as a
# network drive (davfs2) and check Syncthing's device IDs against Syncthing itself.
bash scripts/setup.sh chromium chromium-driver davfs2 syncthing
.venv/bin/ruff check cli tests roles bench apps
.venv/bin/ansible-lint --offline --profile production roles playbooks tests/roles
# The booking application's own tests (apps/rdv: PostgreSQL, Radicale, chromium with axe-core).
bash apps/rdv/scripts/test.sh
exec .venv/bin/pytest "$@"
