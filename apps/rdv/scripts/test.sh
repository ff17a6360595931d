#!/bin/sh
# Run the rdv tests against a throwaway PostgreSQL 15 cluster (pg_virtualenv), a real
# Radicale and Debian's headless chromium. Usage: apps/rdv/scripts/test.sh [pytest args]
set -eu
APP=$(cd "$(dirname "$0")/.." && pwd)
VENV=${RDV_TEST_VENV:-$APP/.venv}

if ! [ -x /usr/lib/postgresql/15/bin/postgres ] || ! command -v chromedriver >/dev/null \
   || ! command -v msgfmt >/dev/null || ! command -v npm >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq postgresql-15 postgresql-common chromium chromium-driver gettext npm >/dev/null
fi
[ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV" || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q -r "$APP/requirements.txt"
"$VENV/bin/pip" install -q --no-deps "$APP"  # the wheel builds and installs
"$VENV/bin/pip" install -q pytest==9.2.0 pytest-django==4.14.0 selenium==4.51.0 Radicale==3.9.0
(cd "$APP/tests" && npm install --no-audit --no-fund --silent)
# The catalogue committed is the one tested: recompile to catch a .po/.mo mismatch.
msgfmt --check -o /dev/null "$APP/rdv/locale/en/LC_MESSAGES/django.po"

cd "$APP"
exec pg_virtualenv -v 15 env PYTHONPATH="$APP" "$VENV/bin/pytest" "$@"
