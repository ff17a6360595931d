"""The syndicat's directory on the deployed lab: it follows the inventory (people added, changed,
and removed ones disabled, not deleted; the next run changes nothing), one-time passwords
that must be changed at the first login, the password policy, and the lockout after failed
logins. Relies on the session's deployed lab (tests/lab_fixtures.py ``first_deploy``).

Logins are tried on the identity host itself, over LDAPS with its real certificate, by the
Debian python3-ldap a service would use; passwords reach it on standard input only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from bastide.core.inventory import load
from lab_fixtures import Deployed, Env, assert_no_secret_leaked, bastide, on_host

pytestmark = pytest.mark.lab

DISABLED = "000001010000Z"
COMMUNE = "ours-les-bains"

# Binds as argv[2] over argv[1] with the password on the first line of stdin and asks for the
# password policy control; with a second line, then changes the password to it (as the person
# does on the portal). Prints what happened.
_LOGIN = """
import json, sys
import ldap
from ldap.controls.ppolicy import PasswordPolicyControl
lines = sys.stdin.read().split("\\n")
uri, dn = sys.argv[1:3]
out = {}
conn = ldap.initialize(uri)
try:
    _t, _d, _m, controls = conn.simple_bind_s(dn, lines[0], serverctrls=[PasswordPolicyControl()])
    policy = [c for c in controls if c.controlType == PasswordPolicyControl.controlType]
    out["bind"] = "ok"
    out["must_change"] = bool(policy and policy[0].error == 2)
except ldap.LDAPError as error:
    out["bind"] = type(error).__name__
if out["bind"] == "ok":
    try:
        conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["mail"])
        out["search"] = "ok"
    except ldap.LDAPError as error:
        out["search"] = type(error).__name__
    if len(lines) > 1 and lines[1]:
        try:
            conn.passwd_s(dn, lines[0], lines[1])
            out["change"] = "ok"
        except ldap.LDAPError as error:
            out["change"] = type(error).__name__
print(json.dumps(out))
"""


def _inventory(env: Env) -> Any:
    return load(Path(env["BASTIDE_INVENTORY"]))


def _dn(env: Env, login: str, commune: str = COMMUNE) -> str:
    identity = _inventory(env).identity
    assert identity is not None
    return f"uid={login},ou=people,ou={commune},ou=communes,{identity.base_dn}"


def _login(env: Env, dn: str, password: str, new: str = "") -> dict[str, Any]:
    identity = _inventory(env).identity
    assert identity is not None
    done = on_host(
        env,
        identity.host,
        ["python3", "-c", _LOGIN, f"ldaps://{identity.directory}", dn],
        stdin=f"{password}\n{new}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def _entries(env: Env) -> dict[str, dict[str, list[str]]]:
    """Root's view of every person and group under ou=communes: {dn: {attribute: values}}."""
    from bastide.core.identity.state import parse_ldif

    identity = _inventory(env).identity
    assert identity is not None
    done = on_host(
        env,
        identity.host,
        ["sudo", "-n", "ldapsearch", "-LLL", "-o", "ldif-wrap=no", "-Q", "-Y", "EXTERNAL", "-H", "ldapi:///",
         "-b", f"ou=communes,{identity.base_dn}", "(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))",
         "*", "pwdAccountLockedTime", "pwdReset"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    entries = {}
    for entry in parse_ldif(done.stdout):
        dn = entry.pop("dn")[0]
        entries[dn] = {key: sorted(values) for key, values in entry.items()}
    return entries


def _one_time_password(env: Env, login: str, commune: str = COMMUNE) -> str:
    result = bastide("agent", "password", env["BASTIDE_INVENTORY"], commune, login, env=env)
    password = result.stdout.strip()
    assert len(password) == 19 and password.count("-") == 3, "one line: the password alone"
    assert password not in result.stderr
    return password


def _sync(env: Env) -> dict[str, Any]:
    """`bastide agent sync`: the directory role alone, on the identity host (what a deploy runs
    for the directory, without the rest of the platform)."""
    summary = json.loads(bastide("agent", "sync", env["BASTIDE_INVENTORY"], "--json", env=env).stdout)
    assert summary["ok"], summary["failures"]
    assert list(summary["hosts"]) == [_inventory(env).identity.host]  # type: ignore[union-attr]
    return summary


def _people(env: Env) -> dict[str, dict[str, Any]]:
    rows = json.loads(bastide("agent", "list", env["BASTIDE_INVENTORY"], COMMUNE, "--json", env=env).stdout)
    return {row["login"]: row for row in rows["people"]}


@pytest.fixture(scope="module", autouse=True)
def _commune_file_restored(deploy_env: Env) -> Any:
    """The modules after this one find the commune's people as the demo has them, in the file
    and in the directory: this module changes them."""
    path = Path(deploy_env["BASTIDE_INVENTORY"]) / "communes" / f"{COMMUNE}.yml"
    original = path.read_text(encoding="utf-8")
    yield
    if path.read_text(encoding="utf-8") != original:
        path.write_text(original, encoding="utf-8")
        _sync(deploy_env)


def test_the_directory_follows_the_inventory(first_deploy: Deployed, deploy_env: Env) -> None:
    """Added, changed and removed people: exactly those entries change; the removed person is
    disabled (entry kept, no login), not deleted; the next run changes nothing."""
    assert first_deploy["summary"]["ok"]
    sophie_password = _one_time_password(deploy_env, "sophie.lefevre")
    assert _login(deploy_env, _dn(deploy_env, "sophie.lefevre"), sophie_password)["bind"] == "ok"
    before = _entries(deploy_env)

    path = Path(deploy_env["BASTIDE_INVENTORY"]) / "communes" / f"{COMMUNE}.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["agents"] = [a for a in data["agents"] if a["email"].split("@")[0] != "sophie.lefevre"]
    for agent in data["agents"]:
        if agent["email"].startswith("karim.benali@"):
            agent["service"] = "Urbanisme"
    data["agents"].append(
        {"name": "Lucie Moreau", "email": f"lucie.moreau@{data['domain']}", "service": "Urbanisme"}
    )
    # A drive folder restricted to a service nobody is in any more is refused by validation (a
    # misspelt service would otherwise leave the real one open): the DSI drops it too.
    services = {a.get("service") for a in data["agents"]}
    if "drive" in data:
        data["drive"]["restricted"] = [s for s in data["drive"].get("restricted", []) if s in services]
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    _sync(deploy_env)
    after = _entries(deploy_env)

    base = _inventory(deploy_env).identity.base_dn  # type: ignore[union-attr]
    groups = f"ou=groups,ou={COMMUNE},ou=communes,{base}"
    lucie, karim, sophie = (
        _dn(deploy_env, login) for login in ("lucie.moreau", "karim.benali", "sophie.lefevre")
    )
    assert set(after) - set(before) == {lucie}
    assert set(before) - set(after) == {f"cn=service-etat-civil,{groups}"}, "a group left empty goes"
    changed = {dn for dn in set(before) & set(after) if before[dn] != after[dn]}
    assert changed == {karim, sophie, f"cn={COMMUNE},{groups}", f"cn=service-urbanisme,{groups}"}
    assert after[karim]["ou"] == ["Urbanisme"]
    assert after[lucie]["mail"] == [f"lucie.moreau@{data['domain']}"] and "userPassword" not in after[lucie]
    # Disabled, not deleted: the entry is as it was, with the permanent lock.
    assert after[sophie].pop("pwdAccountLockedTime") == [DISABLED]
    before[sophie].pop("pwdAccountLockedTime", None)
    assert after[sophie] == before[sophie]
    assert sophie not in after[f"cn={COMMUNE},{groups}"]["member"]
    assert lucie in after[f"cn=service-urbanisme,{groups}"]["member"]
    assert _login(deploy_env, sophie, sophie_password)["bind"] == "INVALID_CREDENTIALS"

    people = _people(deploy_env)
    assert people["sophie.lefevre"]["state"] == "disabled"
    assert people["lucie.moreau"]["state"] == "active" and people["karim.benali"]["role"] == "Urbanisme"
    shown = json.loads(
        bastide(
            "agent",
            "show",
            deploy_env["BASTIDE_INVENTORY"],
            COMMUNE,
            "lucie.moreau",
            "--json",
            env=deploy_env,
        ).stdout
    )
    assert shown["dn"] == lucie and shown["state"] == "active"
    assert set(shown["groups"]) == {COMMUNE, "service-urbanisme"}
    refused = bastide("agent", "password", deploy_env["BASTIDE_INVENTORY"], COMMUNE, "sophie.lefevre",
                      env=deploy_env, check=False)  # fmt: skip
    assert refused.returncode == 2 and "sophie.lefevre" in refused.stderr

    again = _sync(deploy_env)
    assert again["changes"] == [], "the directory converges with zero changes on a second run"


def test_a_one_time_password_must_be_changed_and_failures_lock_the_account(
    first_deploy: Deployed, deploy_env: Env, tmp_path: Path
) -> None:
    dn = _dn(deploy_env, "marie.dupont")
    first = _one_time_password(deploy_env, "marie.dupont")
    # Logged in, but for nothing else than choosing a password; too short a one is refused.
    tried = _login(deploy_env, dn, first)
    assert tried == {"bind": "ok", "must_change": True, "search": "INSUFFICIENT_ACCESS"}, tried
    assert _login(deploy_env, dn, first, "Court-1")["change"] == "CONSTRAINT_VIOLATION"
    chosen = "Marie-choisit-" + os.urandom(6).hex()
    assert _login(deploy_env, dn, first, chosen)["change"] == "ok"
    assert _login(deploy_env, dn, chosen) == {"bind": "ok", "must_change": False, "search": "ok"}
    # The same again is refused: the policy keeps a history.
    assert _login(deploy_env, dn, chosen, chosen)["change"] == "CONSTRAINT_VIOLATION"

    for _attempt in range(5):
        assert _login(deploy_env, dn, "not-her-password-123")["bind"] == "INVALID_CREDENTIALS"
    assert _login(deploy_env, dn, chosen)["bind"] == "INVALID_CREDENTIALS", "5 failures lock the account"
    assert _entries(deploy_env)[dn]["pwdAccountLockedTime"] != [DISABLED]
    assert _people(deploy_env)["marie.dupont"]["state"] == "locked"

    # The DSI hands out a new one-time password, on a printed sheet: the lock is lifted.
    sheet = tmp_path / "marie.txt"
    written = bastide("agent", "password", deploy_env["BASTIDE_INVENTORY"], COMMUNE, "marie.dupont",
                      "--sheet", str(sheet), env=deploy_env)  # fmt: skip
    assert sheet.stat().st_mode & 0o077 == 0
    text = sheet.read_text(encoding="utf-8")
    assert text.index("Identifiant") < text.index("Login"), "French first"
    second = next(line.split()[-1] for line in text.splitlines() if line.startswith("Mot de passe"))
    assert second not in written.stdout + written.stderr and "marie.dupont" in text
    assert f"https://{_inventory(deploy_env).identity.portal}/" in text  # type: ignore[union-attr]
    assert _login(deploy_env, dn, second)["must_change"] is True
    assert _people(deploy_env)["marie.dupont"]["state"] == "active"


def test_disable_and_enable_take_effect_at_once(first_deploy: Deployed, deploy_env: Env) -> None:
    """`agent disable`: marked in the commune's file (its comments kept) and locked in the
    directory without a deploy; `agent enable` undoes both."""
    dn = _dn(deploy_env, "paul.girard")
    password = _one_time_password(deploy_env, "paul.girard")
    assert _login(deploy_env, dn, password)["bind"] == "ok"
    path = Path(deploy_env["BASTIDE_INVENTORY"]) / "communes" / f"{COMMUNE}.yml"
    original = path.read_text(encoding="utf-8")

    bastide("agent", "disable", deploy_env["BASTIDE_INVENTORY"], COMMUNE, "paul.girard", env=deploy_env)
    marked = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert next(e for e in marked["elus"] if e["email"].startswith("paul.girard@"))["disabled"] is True
    assert _login(deploy_env, dn, password)["bind"] == "INVALID_CREDENTIALS"
    assert _people(deploy_env)["paul.girard"]["state"] == "disabled"
    council = (
        f"cn=conseil-municipal,ou=groups,ou={COMMUNE},ou=communes,{_inventory(deploy_env).identity.base_dn}"  # type: ignore[union-attr]
    )
    assert dn not in _entries(deploy_env)[council]["member"]
    refused = bastide("agent", "password", deploy_env["BASTIDE_INVENTORY"], COMMUNE, "paul.girard",
                      env=deploy_env, check=False)  # fmt: skip
    assert refused.returncode == 2 and "agent enable" in refused.stderr

    bastide("agent", "enable", deploy_env["BASTIDE_INVENTORY"], COMMUNE, "paul.girard", env=deploy_env)
    assert path.read_text(encoding="utf-8") == original
    assert _login(deploy_env, dn, password)["bind"] == "ok"
    assert dn in _entries(deploy_env)[council]["member"]


def test_no_secret_leaked_by_the_identity_runs(first_deploy: Deployed, deploy_env: Env) -> None:
    """The one-time passwords are in the keyring: none is in any run's log. Runs last."""
    assert_no_secret_leaked(deploy_env, [])
