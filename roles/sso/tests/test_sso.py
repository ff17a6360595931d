"""The single sign-on: the handler's pool runs on every host with sites, within its memory
limit; on the identity host the portal answers over HTTPS, in French first; LemonLDAP::NG's
configuration holds exactly the syndicat's sites, is not stuck behind a stale lock, and the
directory's password is only where the portal runs."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from typing import Any

CONF = "/var/lib/lemonldap-ng/conf"
_READ_LATIN1 = 'import sys; sys.stdout.write(open(sys.argv[1], "rb").read().decode("latin-1"))'


def _portal_here(hostvars: dict[str, Any]) -> bool:
    return hostvars.get("bastide_identity", {}).get("host") == hostvars["inventory_hostname"]


def _configuration(host: Any) -> dict[str, Any]:
    with host.sudo():
        latest = host.check_output(f"ls -1v {CONF}/lmConf-*.json | tail -n 1")
        # LemonLDAP::NG writes its configuration's accented letters in Latin-1.
        raw = host.check_output(f"python3 -c {shlex.quote(_READ_LATIN1)} {latest}")
    return json.loads(raw)


def test_the_handler_runs_within_its_memory_limit(host: Any) -> None:
    shown = dict(
        line.split("=", 1)
        for line in host.check_output(
            "systemctl show -p ActiveState -p MemoryMax lemonldap-ng-fastcgi-server"
        ).splitlines()
    )
    assert shown["ActiveState"] == "active"
    assert shown["MemoryMax"] != "infinity"
    assert host.socket("unix:///run/llng-fastcgi-server/llng-fastcgi.sock").is_listening


def test_the_portal_is_up_in_french(host: Any, hostvars: dict[str, Any], web_get: Callable[..., Any]) -> None:
    if not _portal_here(hostvars):
        return
    portal = hostvars["bastide_identity"]["portal"]
    page = web_get(portal)
    assert page["status"] == 200, page["status"]
    assert 'id="userfield"' in page["body"] and 'id="passwordfield"' in page["body"]
    constants = web_get(portal, path="/index.psgi/psgi.js")
    assert 'availableLanguages="fr, en"' in constants["body"].replace("'", '"'), constants["body"][:300]
    assert host.service("bastide-sso-portal").is_running


def test_the_configuration_holds_the_syndicat_sites(host: Any, hostvars: dict[str, Any]) -> None:
    assert not host.file(f"{CONF}/lmConf.lock").exists, "a stale lock stops every configuration change"
    conf = _configuration(host)
    sites = {site["fqdn"] for site in hostvars.get("bastide_sites", [])}
    assert set(conf["locationRules"]) == sites | {hostvars["bastide_identity"]["portal"]}
    for site in hostvars.get("bastide_sites", []):
        assert conf["locationRules"][site["fqdn"]]["default"] == f"inGroup('{site['commune']}')"
    assert conf["portal"] == f"https://{hostvars['bastide_identity']['portal']}/"
    if _portal_here(hostvars):
        assert conf["authentication"] == "LDAP" and conf["ldapServer"].startswith("ldaps://")
        assert conf["managerPassword"], "the portal reads the directory with its own account"
    else:
        # lemonldap-ng-cli writes the key with its empty default.
        assert not conf.get("managerPassword"), "only the portal's host holds the directory's password"
        assert not conf.get("oidcServicePrivateKeySig"), "only the portal's host holds the signing key"
        assert conf["globalStorage"].endswith("Session::REST")
