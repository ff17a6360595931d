"""Redis is local only, its default user is off, and each commune service has an ACL user that
reaches its own keys and nobody else's.

Commune passwords come from the keyring through the ``with_secret`` fixture: they reach the
host on the standard input of the probe, so they never appear in a command line or in this
test's output.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

SOCKET = "/run/redis/redis-server.sock"
ADMIN = "bastide-admin"
ADMIN_SECRET = "/etc/redis/bastide-admin.secret"


def _users(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(user, keyring scope, secret name) of every commune service that needs Redis."""
    services = hostvars.get("bastide_services", {})
    return [
        (f"{c['slug']}-{s}", c["slug"], f"redis-{s}")
        for c in communes
        for s in c["services"]
        if "redis" in services.get(s, {}).get("needs", [])
    ]


def _admin(host: Any, *command: str) -> str:
    """redis-cli as the local administrator; its password stays in the root-only file."""
    line = " ".join(command)
    with host.sudo():
        return host.check_output(
            f'REDISCLI_AUTH="$(cat {ADMIN_SECRET})" '
            f"redis-cli --no-auth-warning --user {ADMIN} -s {SOCKET} {line}"
        )


# Reads each key named in argv over loopback TCP as a user with its keyring password (first line
# of stdin); prints {key: {"value": str|None, "exists": bool}} or {key: {"msg": error}}.
_READ_PROBE = """
import json, sys
import redis
password = sys.stdin.readline().rstrip("\\n")
client = redis.Redis(host="127.0.0.1", port=6379, username=sys.argv[1], password=password,
                     socket_timeout=10, decode_responses=True)
results = {}
for key in sys.argv[2:]:
    try:
        value = client.get(key)
        results[key] = {"value": value, "exists": value is not None}
    except redis.exceptions.RedisError as error:
        results[key] = {"msg": str(error)}
print(json.dumps(results))
"""


@pytest.fixture()
def users(hostvars: dict[str, Any], communes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    found = _users(hostvars, communes)
    assert found, "no commune service on this host needs Redis, yet the redis role ran here"
    return found


def test_service_running(host: Any) -> None:
    service = host.service("redis-server")
    assert service.is_running
    assert service.is_enabled


def test_listens_on_loopback_and_socket_only(host: Any, assert_loopback_only: Any) -> None:
    assert_loopback_only(6379, "Redis")
    assert host.socket(f"unix://{SOCKET}").is_listening


def test_default_user_off_and_one_user_per_commune_service(
    host: Any, users: list[tuple[str, str, str]]
) -> None:
    lines = _admin(host, "ACL", "LIST").splitlines()
    acl = {line.split()[1]: line for line in lines if line.startswith("user ")}
    assert " off " in f"{acl['default']} ", f"default user is not off: {acl['default']}"
    assert "nopass" not in acl["default"]
    for user, _scope, _secret in users:
        assert user in acl, f"no ACL user {user}"
        rule = acl[user]
        assert " on " in rule and "nopass" not in rule, rule
        assert f"~{user}:*" in rule.split(), f"{user} is not confined to its own keys: {rule}"
        assert "~*" not in rule.split() and "allkeys" not in rule.split(), rule
    assert set(acl) == {"default", ADMIN} | {u for u, _s, _n in users}, f"unexpected ACL users: {sorted(acl)}"


def test_default_user_refused(host: Any) -> None:
    result = host.run(f"redis-cli -s {SOCKET} GET probe")
    assert "NOAUTH" in result.stdout + result.stderr, result


def test_each_user_reads_its_own_keys_and_no_other(
    host: Any, users: list[tuple[str, str, str]], with_secret: Any
) -> None:
    token = secrets.token_hex(8)
    keys = {user: f"{user}:bastide-probe-{token}" for user, _s, _n in users}
    outsider = f"bastide-probe-{token}"
    for key in [*keys.values(), outsider]:
        _admin(host, "SET", key, token)
    try:
        for user, scope, secret in users:
            others = [outsider] + [k for u, k in keys.items() if u != user]
            read = with_secret(scope, secret, _READ_PROBE, user, keys[user], *others)
            own = read[keys[user]]
            assert "msg" not in own, f"{user} cannot read its own key: {own['msg']}"
            assert own["exists"] is True and own["value"] == token, own
            for key in others:
                foreign = read[key]
                # Redis answers NOPERM, which the client library words "no permissions".
                assert "value" not in foreign and "no permissions" in foreign.get("msg", ""), (
                    f"{user} reading {key}: {foreign}"
                )
    finally:
        _admin(host, "DEL", *keys.values(), outsider)


def test_dangerous_commands_refused(host: Any, users: list[tuple[str, str, str]]) -> None:
    acl = _admin(host, "ACL", "DRYRUN", users[0][0], "FLUSHALL")
    assert "no permissions" in acl.lower(), acl
    acl = _admin(host, "ACL", "DRYRUN", users[0][0], "SCAN", "0")
    assert "no permissions" in acl.lower(), acl


def test_memory_tuned(host: Any) -> None:
    maxmemory = int(_admin(host, "CONFIG", "GET", "maxmemory").split()[-1])
    assert 16 * 2**20 <= maxmemory <= 1024 * 2**20, maxmemory
