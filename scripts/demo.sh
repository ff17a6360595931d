#!/usr/bin/env bash
# The README's first command: install, start the lab, deploy the demo syndicat onto it, and
# print where each commune's services answer. `bastide lab down` stops the lab afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BASTIDE_IDENTITY="${BASTIDE_IDENTITY:-$PWD/.bastide/lab-operator.age}"
.venv/bin/bastide lab up --hosts "${BASTIDE_DEMO_HOSTS:-2}" --from inventories/demo --out inventories/lab
.venv/bin/bastide validate inventories/lab
.venv/bin/bastide deploy inventories/lab
.venv/bin/bastide verify inventories/lab
