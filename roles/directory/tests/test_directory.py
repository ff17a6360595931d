"""The directory: slapd on LDAPS and the local socket only, no anonymous access, the password
policy, each service account confined to what it needs, and the people and groups of the
inventory (people removed from it disabled, not deleted).

Service account passwords come from the keyring through the ``with_secret`` fixture (on the
probe's standard input, never in a command line). Root's view of the data goes through the
local socket with SASL EXTERNAL, as the role's own tasks do."""

from __future__ import annotations

import json
from typing import Any

import pytest

DISABLED = "000001010000Z"

# The certificate is checked as /etc/ldap/ldap.conf says (the role's: TLS_REQCERT demand).
# Binds over LDAPS as argv[2] with the password on stdin, then searches each base in argv[3:]
# (subtree, every attribute and userPassword asked for); prints what each search returned.
_BIND_AND_SEARCH = """
import json, sys
import ldap
password = sys.stdin.readline().rstrip("\\n")
uri, dn, *bases = sys.argv[1:]
conn = ldap.initialize(uri)
conn.simple_bind_s(dn, password)
found = {}
for base in bases:
    try:
        entries = conn.search_s(base, ldap.SCOPE_SUBTREE, "(objectClass=*)", ["*", "userPassword"])
    except (ldap.NO_SUCH_OBJECT, ldap.INSUFFICIENT_ACCESS) as error:
        entries = []
    found[base] = {
        "dns": sorted(d for d, _a in entries if d),
        "with_password": sorted(d for d, a in entries if d and "userPassword" in a),
    }
try:
    conn.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"written by a check"])])
    found["_can_write_itself"] = True
except ldap.LDAPError:
    found["_can_write_itself"] = False
print(json.dumps(found))
"""

# Without credentials, over LDAPS: an anonymous bind, then a search without any bind.
_ANONYMOUS = """
import json, sys
import ldap
uri, base = sys.argv[1:]
out = {}
conn = ldap.initialize(uri)
try:
    conn.simple_bind_s("", "")
    out["bind"] = "accepted"
except ldap.LDAPError as error:
    out["bind"] = type(error).__name__
conn = ldap.initialize(uri)
try:
    out["search"] = len(conn.search_s(base, ldap.SCOPE_SUBTREE, "(objectClass=*)"))
except ldap.LDAPError as error:
    out["search"] = type(error).__name__
print(json.dumps(out))
"""


def _identity(hostvars: dict[str, Any]) -> dict[str, Any]:
    return dict(hostvars["bastide_identity"])


def _root_search(host: Any, base: str, filter_: str, *attrs: str, scope: str = "sub") -> list[dict[str, Any]]:
    """Root's view over the local socket: [{dn, attribute: [values]}]."""
    with host.sudo():
        out = host.check_output(
            "ldapsearch -LLL -o ldif-wrap=no -Q -Y EXTERNAL -H ldapi:/// -s %s -b %s %s" + " %s" * len(attrs),
            scope,
            base,
            filter_,
            *attrs,
        )
    from bastide.core.identity.state import parse_ldif

    # One dn per entry, as a string; every other attribute a list of values.
    return [{**entry, "dn": entry["dn"][0]} for entry in parse_ldif(out)]


def _branch(slug: str, base: str) -> str:
    return f"ou={slug},ou=communes,{base}"


def _person_dn(slug: str, login: str, base: str) -> str:
    return f"uid={login},ou=people,{_branch(slug, base)}"


@pytest.fixture()
def directory(hostvars: dict[str, Any]) -> dict[str, Any]:
    content = hostvars.get("bastide_directory")
    assert content is not None, "the directory role ran on a host that is not the identity host"
    return dict(content)


def test_slapd_running(host: Any) -> None:
    service = host.service("slapd")
    assert service.is_running and service.is_enabled


def test_ldaps_and_the_local_socket_only(host: Any) -> None:
    listening = host.socket.get_listening_sockets()
    assert any(s.endswith(":636") for s in listening), listening
    assert not any(s.endswith(":389") for s in listening), "plain LDAP is open"
    assert host.socket("unix:///var/run/slapd/ldapi").is_listening
    plain = host.run("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 389), 5)'")
    assert plain.rc != 0 and "Connection refused" in plain.stderr


def test_the_certificate_is_valid_for_the_directory_name(host: Any, hostvars: dict[str, Any]) -> None:
    name = _identity(hostvars)["directory"]
    with host.sudo():
        ca = host.check_output("sed -n 's/^TLS_CACERT //p' /etc/ldap/ldap.conf")
        result = host.run(
            "openssl s_client -connect 127.0.0.1:636 -servername %s -verify_hostname %s "
            "-CAfile %s -verify_return_error -brief < /dev/null",
            name,
            name,
            ca,
        )
        key = host.file("/etc/ldap/tls/privkey.pem")
        assert key.group == "openldap" and key.mode & 0o007 == 0, "the key is readable by others"
    assert result.rc == 0, result.stderr


def test_no_anonymous_access(host: Any, hostvars: dict[str, Any]) -> None:
    identity = _identity(hostvars)
    uri = f"ldaps://{identity['directory']}"
    out = json.loads(host.check_output("python3 -c %s %s %s", _ANONYMOUS, uri, identity["base_dn"]))
    assert out == {"bind": "INAPPROPRIATE_AUTH", "search": "UNWILLING_TO_PERFORM"}, out


def test_no_administrator_password(host: Any) -> None:
    entries = _root_search(host, "cn=config", "(olcRootDN=*)", "olcRootDN", "olcRootPW")
    assert entries, "no database has a root DN"
    for entry in entries:
        assert "olcRootPW" not in entry, f"{entry['dn']} has a root password"
        # root on the host, through the local socket: no password to steal anywhere.
        assert entry["olcRootDN"] == ["gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"], entry


def test_password_policy_follows_anssi(host: Any, hostvars: dict[str, Any]) -> None:
    base = _identity(hostvars)["base_dn"]
    [policy] = _root_search(
        host, f"cn=default,ou=policies,{base}", "(objectClass=pwdPolicy)", "*", scope="base"
    )
    assert int(policy["pwdMinLength"][0]) >= 12
    assert policy["pwdCheckQuality"] == ["2"], "a pre-hashed or unchecked password would pass"
    assert int(policy["pwdInHistory"][0]) >= 5
    assert 1 <= int(policy["pwdMaxFailure"][0]) <= 10 and policy["pwdLockout"] == ["TRUE"]
    assert int(policy["pwdLockoutDuration"][0]) >= 300
    assert policy["pwdMustChange"] == ["TRUE"], "a password set by an administrator must be changed"
    overlay = _root_search(
        host, "cn=config", "(objectClass=olcPPolicyConfig)", "olcPPolicyDefault", "olcPPolicyHashCleartext"
    )
    assert overlay and overlay[0]["olcPPolicyDefault"] == [policy["dn"]]
    assert overlay[0]["olcPPolicyHashCleartext"] == ["TRUE"]


def test_active_people_and_groups_are_the_inventorys(
    host: Any, hostvars: dict[str, Any], directory: dict[str, Any]
) -> None:
    base = _identity(hostvars)["base_dn"]
    people = _root_search(
        host, f"ou=communes,{base}", "(objectClass=inetOrgPerson)", "mail", "cn", "pwdAccountLockedTime"
    )
    active = {p["dn"]: p for p in people if p.get("pwdAccountLockedTime") != [DISABLED]}
    wanted = {
        _person_dn(c["slug"], p["login"], base): p
        for c in directory["communes"]
        for p in c["people"]
        if not p["disabled"]
    }
    assert set(active) == set(wanted), {
        "extra": set(active) - set(wanted),
        "missing": set(wanted) - set(active),
    }
    for dn, person in wanted.items():
        assert active[dn]["mail"] == [person["email"]] and active[dn]["cn"] == [person["name"]], dn
    groups = _root_search(host, f"ou=communes,{base}", "(objectClass=groupOfNames)", "member")
    found = {g["dn"]: set(g.get("member", [])) for g in groups}
    expected = {
        f"cn={g['name']},ou=groups,{_branch(c['slug'], base)}": {
            _person_dn(c["slug"], login, base) for login in g["members"]
        }
        for c in directory["communes"]
        for g in c["groups"]
    }
    assert found == expected


def test_people_removed_from_the_inventory_or_disabled_in_it_are_disabled_not_deleted(
    host: Any, hostvars: dict[str, Any], directory: dict[str, Any]
) -> None:
    base = _identity(hostvars)["base_dn"]
    wanted = {
        _person_dn(c["slug"], p["login"], base)
        for c in directory["communes"]
        for p in c["people"]
        if not p["disabled"]
    }
    people = _root_search(host, f"ou=communes,{base}", "(objectClass=inetOrgPerson)", "pwdAccountLockedTime")
    for person in people:
        if person["dn"] not in wanted:
            assert person.get("pwdAccountLockedTime") == [DISABLED], f"{person['dn']} is not disabled"


def test_each_reader_sees_its_own_commune_only_and_no_password(
    hostvars: dict[str, Any], directory: dict[str, Any], with_secret: Any
) -> None:
    identity = _identity(hostvars)
    base, uri = identity["base_dn"], f"ldaps://{identity['directory']}"
    slugs = [c["slug"] for c in directory["communes"]]
    assert slugs, "no commune in the directory"
    for slug in slugs:
        reader = f"cn=reader,{_branch(slug, base)}"
        found = with_secret(
            slug,
            "directory-reader",
            _BIND_AND_SEARCH,
            uri,
            reader,
            *map(lambda s: _branch(s, base), slugs),
            base,
        )
        own = found[_branch(slug, base)]
        assert f"ou=people,{_branch(slug, base)}" in own["dns"], f"{slug}'s reader cannot read its branch"
        assert own["with_password"] == [], f"{slug}'s reader reads passwords"
        for other in slugs:
            if other != slug:
                assert found[_branch(other, base)]["dns"] == [], f"{slug}'s reader reads {other}"
        assert found[base]["dns"] == [] or set(found[base]["dns"]) <= set(own["dns"]), found[base]
        assert found["_can_write_itself"] is False


def test_the_portal_reads_every_communes_people_and_no_password(
    hostvars: dict[str, Any], directory: dict[str, Any], with_secret: Any
) -> None:
    identity = _identity(hostvars)
    base, uri = identity["base_dn"], f"ldaps://{identity['directory']}"
    portal = f"cn=portal,ou=services,{base}"
    found = with_secret("_syndicat", "directory-portal", _BIND_AND_SEARCH, uri, portal, f"ou=communes,{base}")
    seen = set(found[f"ou=communes,{base}"]["dns"])
    for commune in directory["communes"]:
        for person in commune["people"]:
            assert _person_dn(commune["slug"], person["login"], base) in seen
        assert f"cn=reader,{_branch(commune['slug'], base)}" not in seen, "the portal reads a reader account"
    assert found[f"ou=communes,{base}"]["with_password"] == []
    assert found["_can_write_itself"] is False
