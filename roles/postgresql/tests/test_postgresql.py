"""PostgreSQL is local only, uses scram-sha-256 without trust lines, and gives each commune
service its own database and role.

Commune passwords are read through the ``bastide_secret`` lookup inside the Ansible module's
arguments, on the controller, so they never appear in a command line or in this test's output.
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


def _login(host: Any, role: str, scope: str, secret: str, database: str) -> dict[str, Any]:
    """Connect over loopback TCP as ``role`` with its keyring password; postgresql_ping's result."""
    args = (
        f"login_host=127.0.0.1 login_user={role} login_db={database} "
        f"login_password=\"{{{{ lookup('bastide_secret', '{scope}', '{secret}') }}}}\""
    )
    return dict(host.ansible("community.postgresql.postgresql_ping", args, check=False))


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
    host: Any, hostvars: dict[str, Any], communes: list[dict[str, Any]]
) -> None:
    logins = _logins(hostvars, communes)
    assert logins, "no commune service on this host needs PostgreSQL, yet the postgresql role ran here"
    databases = [name for name, _scope, _secret in logins] + ["postgres"]
    for role, scope, secret in logins:
        own = _login(host, role, scope, secret, role)
        assert own.get("is_available") is True, f"{role} cannot log in to {role}: {own.get('conn_err_msg')}"
        for other in databases:
            if other == role:
                continue
            foreign = _login(host, role, scope, secret, other)
            assert foreign.get("is_available") is False, f"{role} logged in to {other}"
            assert "no pg_hba.conf entry" in str(foreign.get("conn_err_msg")), foreign.get("conn_err_msg")
