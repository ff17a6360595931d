#!/usr/bin/env bash
# Installs what bastide needs on a Debian 12 controller (as root) into ./.venv.
# The lab's own system packages (systemd-container, debootstrap, ceph, pebble...) are installed
# by `bastide lab up` itself, which knows exactly which ones it uses.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# restic: the controller checks, prunes and rebuilds backup repositories (docs/backups.md).
# Arguments: more Debian packages the caller needs too (scripts/test.sh: the browser).
for pkg in python3 python3-venv python3-dev openssh-client git ca-certificates restic "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable '.[dev]'
echo "bastide installed: $(.venv/bin/bastide --version)"
