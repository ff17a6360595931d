"""PostgreSQL is local only, uses scram-sha-256 without trust lines, and gives each commune
service its own database and role.

Commune passwords come from the keyring through the ``with_secret`` fixture: they reach the
host on the standard input of the probe, so they never appear in a command line or in this
test's output.
"""

from __future__ import annotations

import json
from typing import Any


def _psql(host: Any, sql: str) -> str:
    with host.sudo("postgres"):
        out = host.check_output(f"psql -XAtq -d postgres -c {json.dumps(sql)}")
    return out.strip()


def _expected(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> list[str]:
    services = hostvars.get("bastide_services", {})
    return [
        f"{c['slug']}_{s}".replace("-", "_")
        for c in communes
        for s in c["services"]
        if "postgresql" in services.get(s, {}).get("needs", [])
    ]


# Connects over loopback TCP as a role with its keyring password (first line of stdin) to each
# database named in argv; prints {database: {"is_available": bool, "conn_err_msg": str}}.
_LOGIN_PROBE = """
import json, sys
import psycopg2
password = sys.stdin.readline().rstrip("\\n")
role, results = sys.argv[1], {}
for database in sys.argv[2:]:
    try:
        psycopg2.connect(host="127.0.0.1", user=role, dbname=database, password=password,
                         connect_timeout=10).close()
        results[database] = {"is_available": True, "conn_err_msg": ""}
    except psycopg2.OperationalError as error:
        results[database] = {"is_available": False, "conn_err_msg": str(error)}
print(json.dumps(results))
"""


def _logins(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(role and database, keyring scope, secret name) of every commune service needing PostgreSQL."""
    services = hostvars.get("bastide_services", {})
    return [
        (f"{c['slug']}_{s}".replace("-", "_"), c["slug"], f"postgresql-{s}")
        for c in communes
        for s in c["services"]
        if "postgresql" in services.get(s, {}).get("needs", [])
    ]


def test_service_running(host: Any) -> None:
    service = host.service("postgresql@15-main")
    assert service.is_running
    assert service.is_enabled


def test_password_encryption_is_scram(host: Any) -> None:
    assert _psql(host, "SHOW password_encryption") == "scram-sha-256"


def test_listens_on_loopback_only(assert_loopback_only: Any) -> None:
    assert_loopback_only(5432, "PostgreSQL")


def test_no_trust_and_scram_for_communes(host: Any) -> None:
    rules = json.loads(
        _psql(
            host,
            "SELECT coalesce(json_agg(row_to_json(r)), '[]') FROM "
            "(SELECT type, database, user_name, auth_method, error FROM pg_hba_file_rules) r",
        )
    )
    assert rules
    for rule in rules:
        assert rule["error"] is None, rule
        assert rule["auth_method"] != "trust", rule
        if rule["user_name"] != ["postgres"]:
            assert rule["auth_method"] == "scram-sha-256", rule
            # a commune's role reaches its own database only
            assert rule["database"] == rule["user_name"], rule


def test_one_database_and_role_per_commune_service(
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    for name in _expected(hostvars, communes):
        owner = _psql(host, f"SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '{name}'")
        assert owner == name, f"database {name} missing or not owned by its role"
        flags = _psql(
            host,
            "SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, "
            f"rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = '{name}'",
        )
        assert flags == "t|f|f|f|t", f"role {name}: login|super|createdb|createrole|scram = {flags}"
        public_connect = _psql(host, f"SELECT has_database_privilege('public', '{name}', 'CONNECT')")
        assert public_connect == "f", f"PUBLIC may connect to {name}"


def test_each_role_logs_in_to_its_own_database_only(
    hostvars: dict[str, Any], communes: list[dict[str, Any]], with_secret: Any
) -> None:
    logins = _logins(hostvars, communes)
    assert logins, "no commune service on this host needs PostgreSQL, yet the postgresql role ran here"
    databases = [name for name, _scope, _secret in logins] + ["postgres"]
    for role, scope, secret in logins:
        tried = with_secret(scope, secret, _LOGIN_PROBE, role, *databases)
        own = tried[role]
        assert own["is_available"] is True, f"{role} cannot log in to {role}: {own['conn_err_msg']}"
        for other in databases:
            if other == role:
                continue
            foreign = tried[other]
            assert foreign["is_available"] is False, f"{role} logged in to {other}"
            assert "no pg_hba.conf entry" in foreign["conn_err_msg"], foreign["conn_err_msg"]
